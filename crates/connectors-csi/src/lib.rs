//! connectors-csi: a CSI node driver that mounts rendered Connector
//! configuration files into pods.
//!
//! One request, end to end: [`csi`] adapts the gRPC call, [`publish`] runs the
//! pipeline: [`volume`] parses the attributes, [`catalog`] resolves the
//! Connectors and ConnectorClasses, [`access`] authorises, [`tokens`] gets the
//! token, [`render`] plans the files, [`mount`] writes them. [`refresh`]
//! re-runs it for mounted volumes; [`cluster`] wires the cluster-mode parts.

pub mod access;
pub mod apiserver;
pub mod catalog;
pub mod cluster;
pub mod csi;
pub mod events;
pub mod model;
pub mod mount;
pub mod publish;
pub mod refresh;
pub mod render;
pub mod telemetry;
pub mod tokens;
pub mod volume;
