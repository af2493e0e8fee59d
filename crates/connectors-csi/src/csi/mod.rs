//! The CSI gRPC services: thin adapters between proto messages and the domain.

mod proto_debug;

/// The generated CSI v1 messages, servers and clients (`proto/csi.proto`).
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod proto {
    tonic::include_proto!("csi.v1");
}
