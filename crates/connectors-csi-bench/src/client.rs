//! The load generator's CSI client: a real tonic channel over the driver's
//! unix socket, publishing the way kubelet does for an inline volume.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::Context;
use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, Endpoint, Uri};

use connectors_csi::csi::proto::identity_client::IdentityClient;
use connectors_csi::csi::proto::node_client::NodeClient;
use connectors_csi::csi::proto::volume_capability::{
    access_mode::Mode, AccessMode, AccessType, MountVolume,
};
use connectors_csi::csi::proto::{
    NodeGetCapabilitiesRequest, NodePublishVolumeRequest, NodeUnpublishVolumeRequest, ProbeRequest,
    VolumeCapability,
};

/// A cheap-to-clone client (tonic channels multiplex).
#[derive(Clone)]
pub struct CsiClient {
    node: NodeClient<Channel>,
}

impl CsiClient {
    pub async fn connect(socket: &Path) -> anyhow::Result<CsiClient> {
        Ok(CsiClient {
            node: NodeClient::new(channel(socket).await?),
        })
    }

    /// NodePublishVolume for a read-only inline volume of the bench pod.
    pub async fn publish(
        &self,
        volume_id: &str,
        target: &Path,
        attributes: &BTreeMap<String, String>,
    ) -> anyhow::Result<()> {
        let mut volume_context: HashMap<String, String> = attributes.clone().into_iter().collect();
        for (key, value) in [
            ("csi.storage.k8s.io/pod.name", volume_id),
            ("csi.storage.k8s.io/pod.namespace", "bench"),
            ("csi.storage.k8s.io/pod.uid", volume_id),
            ("csi.storage.k8s.io/serviceAccount.name", "default"),
            ("csi.storage.k8s.io/ephemeral", "true"),
        ] {
            volume_context.insert(key.to_string(), value.to_string());
        }
        let request = NodePublishVolumeRequest {
            volume_id: volume_id.to_string(),
            target_path: target.display().to_string(),
            volume_capability: Some(mount_capability()),
            readonly: true,
            volume_context,
            ..Default::default()
        };
        self.node.clone().node_publish_volume(request).await?;
        Ok(())
    }

    pub async fn unpublish(&self, volume_id: &str, target: &Path) -> anyhow::Result<()> {
        let request = NodeUnpublishVolumeRequest {
            volume_id: volume_id.to_string(),
            target_path: target.display().to_string(),
        };
        self.node.clone().node_unpublish_volume(request).await?;
        Ok(())
    }

    /// NodeGetCapabilities: a call the driver answers without any work, so
    /// its latency is the gRPC round trip alone.
    pub async fn capabilities(&self) -> anyhow::Result<()> {
        self.node
            .clone()
            .node_get_capabilities(NodeGetCapabilitiesRequest {})
            .await?;
        Ok(())
    }
}

fn mount_capability() -> VolumeCapability {
    VolumeCapability {
        access_type: Some(AccessType::Mount(MountVolume::default())),
        access_mode: Some(AccessMode {
            mode: Mode::SingleNodeReaderOnly as i32,
        }),
    }
}

/// True once the driver at `socket` answers Probe with ready.
pub async fn probe(socket: PathBuf) -> bool {
    let Ok(channel) = channel(&socket).await else {
        return false;
    };
    match IdentityClient::new(channel).probe(ProbeRequest {}).await {
        Ok(response) => response.into_inner().ready.unwrap_or(true),
        Err(_) => false,
    }
}

async fn channel(socket: &Path) -> anyhow::Result<Channel> {
    let socket = socket.to_path_buf();
    // The URI is required by tonic but unused: the connector dials the socket.
    Endpoint::try_from("http://connectors-csi.invalid")?
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let socket = socket.clone();
            async move {
                Ok::<_, std::io::Error>(TokioIo::new(
                    tokio::net::UnixStream::connect(socket).await?,
                ))
            }
        }))
        .await
        .context("connecting to the driver's socket")
}
