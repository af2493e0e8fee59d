//! A manifests-mode driver on its socket in a temp directory (the quick
//! start, a token file holding `file-token-s3cr3t`), driven as kubelet
//! does, and restartable on the same state directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use connectors_csi::csi::proto::NodeUnpublishVolumeRequest;

use super::driver::{publish_request, start, Clients, DriverHandle, Options};

pub struct Node {
    pub dir: super::mounts::NodeDir,
    pub clients: Clients,
    pub handle: DriverHandle,
}

impl Node {
    pub async fn start() -> Node {
        let dir = super::mounts::NodeDir::new();
        Node::start_in(dir).await
    }

    pub async fn start_in(dir: super::mounts::NodeDir) -> Node {
        let options = Options::new(dir.path());
        std::fs::write(options.token_file(), "file-token-s3cr3t").unwrap();
        let (clients, handle) = start(options).await;
        Node {
            dir,
            clients,
            handle,
        }
    }

    pub async fn restart(self) -> Node {
        self.handle.stop().await;
        Node::start_in(self.dir).await
    }

    pub fn target(&self, name: &str) -> PathBuf {
        self.dir
            .path()
            .join("pods/6a3c1d2e/volumes/kubernetes.io~csi")
            .join(name)
            .join("mount")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub async fn publish(
        &self,
        volume_id: &str,
        target: &Path,
        context: HashMap<String, String>,
    ) -> Result<(), tonic::Status> {
        let request = publish_request(volume_id, target, context);
        self.clients
            .node
            .clone()
            .node_publish_volume(request)
            .await
            .map(|_| ())
    }

    pub async fn unpublish(&self, volume_id: &str, target: &Path) -> Result<(), tonic::Status> {
        let request = NodeUnpublishVolumeRequest {
            volume_id: volume_id.to_owned(),
            target_path: target.display().to_string(),
        };
        self.clients
            .node
            .clone()
            .node_unpublish_volume(request)
            .await
            .map(|_| ())
    }
}
