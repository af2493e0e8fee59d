//! End to end in cluster mode: the driver's gRPC socket, real tmpfs mounts,
//! and the fake API server reached through a kubeconfig, as in a cluster.
//! Needs root (mounts), as the other integration tests do here.

#![allow(clippy::unwrap_used)] // test code: a failed step is a failed test

mod support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use connectors_csi::catalog::Catalog;
use connectors_csi::csi::proto::node_client::NodeClient;
use connectors_csi::csi::proto::NodeUnpublishVolumeRequest;
use connectors_csi::tokens::Tokens;
use support::apiserver::{FakeApiServer, Fault, Kind};
use support::attributes::{team_a_pod, with_kubelet_token};
use support::cluster::{self, git_class, git_connector};
use support::driver::{self, Clients, DriverHandle};
use support::logs::CapturedLogs;
use support::mounts::mount_at;
use support::process::ServeProcess;
use support::{eventually, http, needs_root, AUDIENCE, DRIVER_NAMESPACE};
use tonic::Code;

/// A driver in cluster mode on its socket, and the fake cluster it reads.
struct ClusterDriver {
    server: FakeApiServer,
    clients: Clients,
    handle: Option<DriverHandle>,
    dir: support::mounts::NodeDir,
}

/// `--token-source`.
#[derive(Clone, Copy)]
enum TokenMode {
    Kubelet,
    Request,
}

impl ClusterDriver {
    async fn start(mode: TokenMode) -> ClusterDriver {
        let server = FakeApiServer::start().await;
        server.apply(git_class(
            "[http]\n\tproxy = {{ .connector.status.proxyAddress }}\n# {{ .connector.spec.address }}\n",
        ));
        server.apply(git_connector("github", "https://github.com"));
        server.allow("team-a", "builder", "team-a", "*");

        let dir = support::mounts::NodeDir::new();
        let parts = cluster::parts(&server, &cluster::settings()).await;
        let mut options = driver::Options::new(dir.path());
        options.parts = Some((
            parts.catalog as Arc<dyn Catalog>,
            parts.access as _,
            match mode {
                TokenMode::Kubelet => Tokens::kubelet(AUDIENCE),
                TokenMode::Request => Tokens::requested(AUDIENCE, parts.tokens),
            },
        ));
        let (clients, handle) = driver::start(options).await;
        ClusterDriver {
            server,
            clients,
            handle: Some(handle),
            dir,
        }
    }

    async fn stop(mut self) {
        if let Some(handle) = self.handle.take() {
            handle.stop().await;
        }
    }

    fn target(&self, pod: &str) -> PathBuf {
        self.dir.path().join("pods").join(pod).join("volume")
    }

    async fn publish(
        &self,
        pod: &str,
        connector: &str,
        kubelet_token: Option<&str>,
    ) -> Result<(), tonic::Status> {
        let mut context = volume_context(pod, connector);
        if let Some(token) = kubelet_token {
            context = with_kubelet_token(context, token);
        }
        let request = driver::publish_request(&format!("csi-{pod}"), &self.target(pod), context);
        let mut node = self.clients.node.clone();
        node.node_publish_volume(request).await.map(|_| ())
    }

    fn file(&self, pod: &str, name: &str) -> String {
        std::fs::read_to_string(self.target(pod).join(name)).unwrap()
    }

    fn is_mounted(&self, pod: &str) -> bool {
        mount_at(&self.target(pod)).is_some()
    }
}

fn volume_context(pod: &str, connector: &str) -> HashMap<String, String> {
    team_a_pod(
        pod,
        &[
            ("connector.name", connector),
            ("configuration.names", "gitconfig"),
            ("token.expiration", "20m"),
        ],
    )
}

#[tokio::test]
async fn a_publish_with_a_kubelet_token_mounts_files_holding_it() {
    if !needs_root() {
        return;
    }
    let driver = ClusterDriver::start(TokenMode::Kubelet).await;

    driver
        .publish("web-0", "github", Some("kubelet-token-abc"))
        .await
        .unwrap();

    assert_eq!(driver.file("web-0", "context.token"), "kubelet-token-abc");
    assert!(driver
        .file("web-0", ".gitconfig")
        .contains("proxy = http://github.team-a.proxy"));
    assert!(driver.is_mounted("web-0"));
    assert!(driver.server.issued_tokens().is_empty());
    driver.stop().await;
}

#[tokio::test]
async fn a_publish_without_a_kubelet_token_mounts_a_pod_bound_requested_token() {
    if !needs_root() {
        return;
    }
    let driver = ClusterDriver::start(TokenMode::Request).await;

    driver.publish("web-1", "github", None).await.unwrap();

    let issued = driver.server.issued_tokens();
    assert_eq!(issued.len(), 1);
    assert_eq!(driver.file("web-1", "context.token"), issued[0].token);
    assert_eq!(issued[0].bound_kind.as_deref(), Some("Pod"));
    assert_eq!(issued[0].bound_name.as_deref(), Some("web-1"));
    assert_eq!(issued[0].bound_uid.as_deref(), Some("uid-of-web-1"));
    assert_eq!(issued[0].expiration_seconds, Some(20 * 60));
    assert_eq!(issued[0].audiences, [AUDIENCE]);
    driver.stop().await;
}

#[tokio::test]
async fn a_connector_created_after_the_driver_started_is_found() {
    if !needs_root() {
        return;
    }
    let driver = ClusterDriver::start(TokenMode::Request).await;

    driver
        .server
        .apply(git_connector("gitlab", "https://gitlab.example.com"));
    driver.publish("web-2", "gitlab", None).await.unwrap();

    assert!(driver
        .file("web-2", ".gitconfig")
        .contains("gitlab.example.com"));
    driver.stop().await;
}

#[tokio::test]
async fn an_updated_connector_shows_in_the_next_publish() {
    if !needs_root() {
        return;
    }
    let driver = ClusterDriver::start(TokenMode::Request).await;
    driver.publish("web-3", "github", None).await.unwrap();

    driver
        .server
        .apply(git_connector("github", "https://github.example.org"));

    eventually(
        "the updated connector reached the pod's files",
        async || {
            driver.publish("web-3", "github", None).await.unwrap();
            driver
                .file("web-3", ".gitconfig")
                .contains("github.example.org")
        },
    )
    .await;
    driver.stop().await;
}

#[tokio::test]
async fn a_deleted_connector_is_not_found_and_nothing_is_mounted() {
    if !needs_root() {
        return;
    }
    let driver = ClusterDriver::start(TokenMode::Request).await;
    let target = driver.target("web-4");

    driver.server.delete(Kind::Connector, "team-a", "github");

    // The watch may take a moment to drop it from the cache; unpublish
    // whatever an early publish mounted, then expect NotFound.
    let mut outcome = driver.publish("web-4", "github", None).await;
    for _ in 0..200 {
        if outcome.is_err() {
            break;
        }
        let mut node = driver.clients.node.clone();
        node.node_unpublish_volume(NodeUnpublishVolumeRequest {
            volume_id: "csi-web-4".into(),
            target_path: target.display().to_string(),
        })
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        outcome = driver.publish("web-4", "github", None).await;
    }
    let status = outcome.unwrap_err();

    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert!(status.message().contains("team-a/github"), "{status:?}");
    assert!(!driver.is_mounted("web-4"));
    driver.stop().await;
}

#[tokio::test]
async fn a_denied_service_account_gets_permission_denied_and_nothing_is_mounted() {
    if !needs_root() {
        return;
    }
    let driver = ClusterDriver::start(TokenMode::Request).await;
    driver.server.revoke_all();

    let status = driver.publish("web-5", "github", None).await.unwrap_err();

    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(status.message().contains("team-a/builder"), "{status:?}");
    assert!(!driver.is_mounted("web-5"));
    assert!(
        driver.server.issued_tokens().is_empty(),
        "no token is minted for a pod that may not use the connector"
    );
    driver.stop().await;
}

#[tokio::test]
async fn an_unreachable_api_server_is_unavailable_then_ok_once_back() {
    if !needs_root() {
        return;
    }
    let driver = ClusterDriver::start(TokenMode::Request).await;
    driver.server.fail(Fault::ServerError);

    let status = driver.publish("web-6", "github", None).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(!driver.is_mounted("web-6"));

    driver.server.heal();
    driver.publish("web-6", "github", None).await.unwrap();
    assert!(driver.is_mounted("web-6"));
    driver.stop().await;
}

// Current-thread runtime: the capturing subscriber is thread-local, and every
// task (gRPC server, API client, watchers) then runs on this thread.
#[tokio::test(flavor = "current_thread")]
async fn no_token_reaches_the_logs_during_publishes_and_failures() {
    if !needs_root() {
        return;
    }
    let (logs, _capturing) = CapturedLogs::start();
    let requesting = ClusterDriver::start(TokenMode::Request).await;
    let kubelet = ClusterDriver::start(TokenMode::Kubelet).await;

    requesting.publish("web-8", "github", None).await.unwrap();
    kubelet
        .publish("web-9", "github", Some("kubelet-secret-xyz"))
        .await
        .unwrap();
    requesting.server.revoke_all();
    kubelet.server.revoke_all();
    let denied = kubelet
        .publish("web-10", "github", Some("kubelet-secret-xyz"))
        .await;
    assert!(denied.is_err());
    assert!(requesting.publish("web-11", "github", None).await.is_err());

    let text = logs.text();
    assert!(
        text.len() > 1000,
        "logging was captured ({} bytes)",
        text.len()
    );
    let requested = requesting.server.issued_tokens()[0].token.clone();
    assert!(
        !text.contains(requested.as_str()),
        "the requested token was logged"
    );
    assert!(
        !text.contains("kubelet-secret-xyz"),
        "the kubelet token was logged"
    );
    requesting.stop().await;
    kubelet.stop().await;
}

#[tokio::test]
async fn the_serve_binary_requesting_tokens_publishes_and_re_renders_on_a_connector_change() {
    if !needs_root() {
        return;
    }
    let server = cluster::github_cluster().await;
    let dir = support::mounts::NodeDir::new();
    let socket = dir.path().join("csi.sock");
    let port = http::free_port();
    let mut command = ServeProcess::on_node(dir.path());
    command
        .arg("--kubeconfig")
        .arg(server.kubeconfig_path())
        .args(["--token-audience", AUDIENCE, "--token-source", "request"])
        .arg(format!("--health-addr=127.0.0.1:{port}"))
        .env("POD_NAMESPACE", DRIVER_NAMESPACE);
    let mut child = ServeProcess::spawn(&mut command, false);

    eventually("the driver is ready (caches synced)", async || {
        http::get(port, "/readyz").await.0 == 200
    })
    .await;
    let configmap_watch = server.requests().into_iter().find(|r| {
        r.is_watch() && r.path == format!("/api/v1/namespaces/{DRIVER_NAMESPACE}/configmaps")
    });
    assert!(
        configmap_watch.is_some(),
        "templates watched in POD_NAMESPACE"
    );

    let target = dir.path().join("pods/web/volume");
    let mut node = NodeClient::new(driver::connect(&socket).await);
    let context = volume_context("web", "github");
    node.node_publish_volume(driver::publish_request("csi-web", &target, context))
        .await
        .unwrap();
    let issued = server.issued_tokens();
    assert_eq!(issued.len(), 1);
    assert_eq!(
        std::fs::read_to_string(target.join("context.token")).unwrap(),
        issued[0].token
    );

    server.apply(git_connector("github", "https://moved.example.com"));
    let gitconfig = target.join(".gitconfig");
    eventually("the refresher re-rendered the volume", async || {
        std::fs::read_to_string(&gitconfig).is_ok_and(|t| t.contains("moved.example.com"))
    })
    .await;

    node.node_unpublish_volume(NodeUnpublishVolumeRequest {
        volume_id: "csi-web".into(),
        target_path: target.display().to_string(),
    })
    .await
    .unwrap();
    let status = child.terminate().await;
    assert!(status.success(), "{status:?}");
}
