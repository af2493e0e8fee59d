//! The token modes as an operator runs them: the real `serve` binary in
//! cluster mode against the fake API server (which records every
//! TokenRequest), kubelet's calls over the socket, real tmpfs.
//!
//! Kubelet mode (the default): the token comes only from kubelet, the driver
//! never asks for one, refreshes reuse kubelet's last token, and a restarted
//! driver waits for kubelet's next republish. Request mode: the driver asks
//! TokenRequest, and a tokens attribute can only be the pod author's, so it
//! is ignored.

#![allow(clippy::unwrap_used)] // test code: a failed step is a failed test

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use connectors_csi::csi::proto::node_client::NodeClient;
use connectors_csi::csi::proto::NodeUnpublishVolumeRequest;
use support::apiserver::FakeApiServer;
use support::attributes::{kubelet_tokens, team_a_pod, with_kubelet_token};
use support::cluster::{self, git_connector};
use support::driver::{connect, publish_request};
use support::mounts::{is_read_only_tmpfs, mount_at, state_text};
use support::process::{wait_for_socket, ServeProcess};
use support::{eventually, http, needs_root, AUDIENCE, DRIVER_NAMESPACE};
use tonic::transport::Channel;
use tonic::Code;

/// The cluster the driver reads, the driver's directory, and whatever it
/// left mounted there (unmounted on drop, even when a test fails).
struct Node {
    server: FakeApiServer,
    dir: support::mounts::NodeDir,
}

/// A running `connectors-csi serve` and a kubelet-like client of it.
struct Driver {
    process: ServeProcess,
    node: NodeClient<Channel>,
    port: u16,
}

impl Node {
    async fn new() -> Node {
        let server = cluster::github_cluster().await;
        Node {
            server,
            dir: support::mounts::NodeDir::new(),
        }
    }

    /// `serve` in cluster mode with `flags`, ready (caches synced).
    async fn serve(&self, flags: &[&str]) -> Driver {
        let socket = self.dir.path().join("csi.sock");
        let port = http::free_port();
        let mut command = ServeProcess::command();
        command
            .arg(format!("--endpoint=unix://{}", socket.display()))
            .args(["--node-id", "node-a", "--token-audience", AUDIENCE])
            .arg("--state-dir")
            .arg(self.dir.path().join("state"))
            .arg("--kubelet-root-dir")
            .arg(self.dir.path())
            .arg("--kubeconfig")
            .arg(self.server.kubeconfig_path())
            .arg(format!("--metrics-addr=127.0.0.1:{port}"))
            .arg(format!("--health-addr=127.0.0.1:{port}"))
            .args(flags)
            .env("POD_NAMESPACE", DRIVER_NAMESPACE)
            .env_remove("TOKEN_SOURCE");
        let process = ServeProcess::spawn(&mut command, false);
        eventually("the driver is ready (caches synced)", async || {
            http::get(port, "/readyz").await.0 == 200
        })
        .await;
        wait_for_socket(&socket).await;
        let node = NodeClient::new(connect(&socket).await);
        Driver {
            process,
            node,
            port,
        }
    }

    fn target(&self) -> PathBuf {
        self.dir.path().join("pods/web/volumes/git/mount")
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.target().join(name)).unwrap()
    }

    fn token_requests(&self) -> usize {
        let requests = self.server.requests();
        requests
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/token"))
            .count()
    }
}

/// Pod `team-a/web`'s volume of connector `github`.
fn context() -> HashMap<String, String> {
    team_a_pod(
        "web",
        &[
            ("connector.name", "github"),
            ("configuration.names", "gitconfig"),
        ],
    )
}

impl Driver {
    /// Kubelet's NodePublishVolume, with its token in `secrets` when given
    /// (`serviceAccountTokenInSecrets`), plus `context`.
    async fn publish(
        &mut self,
        target: &Path,
        context: HashMap<String, String>,
        kubelet_token: Option<&str>,
    ) -> Result<(), tonic::Status> {
        let mut request = publish_request("csi-web", target, context);
        if let Some(token) = kubelet_token {
            request.secrets.extend([kubelet_tokens(token)]);
        }
        self.node.node_publish_volume(request).await.map(|_| ())
    }

    async fn unpublish(&mut self, target: &Path) {
        self.node
            .node_unpublish_volume(NodeUnpublishVolumeRequest {
                volume_id: "csi-web".into(),
                target_path: target.display().to_string(),
            })
            .await
            .unwrap();
    }

    async fn metrics(&self) -> String {
        http::get(self.port, "/metrics").await.1
    }

    async fn stop(mut self) {
        drop(self.node);
        let status = self.process.terminate().await;
        assert!(status.success(), "{status:?}");
    }
}

#[tokio::test]
async fn a_kubelet_volume_whose_connector_changes_is_re_rendered_with_kubelets_token() {
    if !needs_root() {
        return;
    }
    let node = Node::new().await;
    let mut driver = node.serve(&[]).await;
    let target = node.target();
    driver
        .publish(&target, context(), Some("kubelet-token-1"))
        .await
        .unwrap();
    assert_eq!(node.file("context.token"), "kubelet-token-1");

    node.server
        .apply(git_connector("github", "https://moved.example.com"));

    eventually("the volume was re-rendered", async || {
        node.file(".gitconfig").contains("moved.example.com")
    })
    .await;
    assert_eq!(node.file("context.token"), "kubelet-token-1");
    assert!(is_read_only_tmpfs(&target));
    assert_eq!(node.token_requests(), 0, "no TokenRequest in kubelet mode");
    assert!(!state_text(&node.dir.path().join("state")).contains("kubelet-token-1"));
    driver.unpublish(&target).await;
    driver.stop().await;
}

#[tokio::test]
async fn in_kubelet_mode_a_volume_without_kubelets_token_is_refused_naming_the_audience() {
    if !needs_root() {
        return;
    }
    let node = Node::new().await;
    let mut driver = node.serve(&["--token-source", "kubelet"]).await;
    let target = node.target();

    let status = driver.publish(&target, context(), None).await.unwrap_err();

    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("tokenRequests"), "{status:?}");
    assert!(
        status.message().contains(&format!("{AUDIENCE:?}")),
        "{status:?}"
    );
    assert!(!target.join("..data").exists());
    assert!(mount_at(&target).is_none());
    assert_eq!(node.token_requests(), 0);
    driver.stop().await;
}

#[tokio::test]
async fn in_request_mode_a_pod_authors_tokens_attribute_is_ignored() {
    if !needs_root() {
        return;
    }
    let node = Node::new().await;
    let mut driver = node.serve(&["--token-source", "request"]).await;
    let target = node.target();
    let forged = with_kubelet_token(context(), "forged-by-the-pod-author");

    driver.publish(&target, forged, None).await.unwrap();

    let issued = node.server.issued_tokens();
    assert_eq!(issued.len(), 1);
    assert_eq!(node.file("context.token"), issued[0].token);
    assert_eq!(issued[0].bound_name.as_deref(), Some("web"));
    driver.unpublish(&target).await;

    let mut malformed = context();
    malformed.insert(
        "csi.storage.k8s.io/serviceAccount.tokens".into(),
        "{not json".into(),
    );
    driver.publish(&target, malformed, None).await.unwrap();
    assert_eq!(node.server.issued_tokens().len(), 2);
    driver.unpublish(&target).await;
    driver.stop().await;
}

#[tokio::test]
async fn a_restarted_driver_does_not_mint_for_a_kubelet_volume() {
    if !needs_root() {
        return;
    }
    let node = Node::new().await;
    let target = node.target();
    let mut driver = node.serve(&[]).await;
    driver
        .publish(&target, context(), Some("kubelet-token-1"))
        .await
        .unwrap();
    driver.stop().await;

    let mut driver = node.serve(&[]).await;
    let skipped = |n: u32| {
        format!(r#"connectors_csi_calls_total{{operation="refresh",result="skipped"}} {n}"#)
    };
    // A restarted driver looks afresh at what its volumes use.
    eventually(
        "the refresher checked the recorded volume and waited for kubelet",
        async || driver.metrics().await.contains(&skipped(1)),
    )
    .await;
    node.server
        .apply(git_connector("github", "https://moved.example.com"));
    eventually(
        "the refresher saw the change and waited for kubelet",
        async || driver.metrics().await.contains(&skipped(2)),
    )
    .await;
    assert!(node.file(".gitconfig").contains("github.com"));
    assert_eq!(node.file("context.token"), "kubelet-token-1");
    assert!(is_read_only_tmpfs(&target));

    // Kubelet's next republish brings a token; refreshes then use it.
    driver
        .publish(&target, context(), Some("kubelet-token-2"))
        .await
        .unwrap();
    assert!(node.file(".gitconfig").contains("moved.example.com"));
    node.server
        .apply(git_connector("github", "https://moved-again.example.com"));
    eventually("the volume was re-rendered", async || {
        node.file(".gitconfig").contains("moved-again.example.com")
    })
    .await;
    assert_eq!(node.file("context.token"), "kubelet-token-2");
    assert_eq!(node.token_requests(), 0, "nothing was minted");
    driver.unpublish(&target).await;
    driver.stop().await;
}
