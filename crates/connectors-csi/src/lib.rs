//! connectors-csi: a CSI node driver that mounts rendered Connector
//! configuration files into pods.
//!
//! One request, end to end: [`csi`] adapts the gRPC call, [`publish`] runs the
//! pipeline: [`volume`] parses the attributes, [`catalog`] resolves the
//! Connectors and ConnectorClasses, [`access`] authorises, [`tokens`] gets the
//! token, [`render`] plans the files, [`mount`] writes them.

pub mod access;
pub mod bench;
pub mod catalog;
pub mod csi;
pub mod model;
pub mod mount;
pub mod publish;
pub mod refresh;
pub mod render;
pub mod telemetry;
pub mod tokens;
pub mod volume;
