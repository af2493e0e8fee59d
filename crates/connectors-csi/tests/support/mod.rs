//! Shared test support: the driver harness (DRIVER-CSI). The fake API server
//! (`apiserver.rs`, KUBE) is included by its tests with `#[path]`.

pub mod driver;
