//! The CSI gRPC services: thin adapters between proto messages and the domain.
//!
//! [`identity`] and [`node`] each check a request, call the
//! [`Publisher`](crate::publish::Publisher) and map its error; [`controller`]
//! only answers ControllerGetCapabilities; [`status`] is the one place errors
//! become gRPC codes; [`serve`] runs the services on a bound unix socket
//! until told to stop.

use std::future::Future;
use std::sync::Arc;

use tokio_stream::wrappers::UnixListenerStream;

use crate::publish::Publisher;

pub(crate) mod controller;
pub(crate) mod identity;
pub(crate) mod node;
mod proto_debug;
pub(crate) mod status;

pub(crate) use controller::ControllerService;
pub(crate) use identity::IdentityService;
pub(crate) use node::NodeService;

/// The generated CSI v1 messages, servers and clients (`proto/csi.proto`).
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod proto {
    tonic::include_proto!("csi.v1");
}

/// What the CSI services need: the pipeline and how the node names itself.
#[derive(Clone)]
pub struct Driver {
    pub publisher: Arc<Publisher>,
    /// Reported by NodeGetInfo; kubelet matches it to the Node object.
    pub node_id: String,
    /// Reported by GetPluginInfo; must equal the CSIDriver object's name.
    pub driver_name: String,
}

/// Serves Identity, Controller and Node on `listener` until `shutdown` completes; calls
/// in flight finish first. Tests bind a temporary socket and pass it here.
pub async fn serve(
    listener: tokio::net::UnixListener,
    driver: Driver,
    shutdown: impl Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    let identity = IdentityService::new(driver.driver_name, driver.publisher.clone());
    let node = NodeService::new(driver.node_id, driver.publisher);
    tonic::transport::Server::builder()
        .add_service(proto::identity_server::IdentityServer::new(identity))
        .add_service(proto::controller_server::ControllerServer::new(
            ControllerService,
        ))
        .add_service(proto::node_server::NodeServer::new(node))
        .serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown)
        .await
}
