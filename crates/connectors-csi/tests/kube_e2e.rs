//! End to end in cluster mode: the driver's gRPC socket, real tmpfs mounts,
//! and the fake API server reached through a kubeconfig, as in a cluster.
//! Needs root (mounts), as the other integration tests do here.

#![allow(clippy::unwrap_used)] // test code: a failed step is a failed test

mod support;

#[path = "support/apiserver.rs"]
mod apiserver;

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiserver::{FakeApiServer, Fault, Kind};
use connectors_csi::access::{Access, DecisionCacheConfig};
use connectors_csi::catalog::Catalog;
use connectors_csi::cluster::{connect, ClusterParts, ClusterSettings};
use connectors_csi::csi::proto::NodeUnpublishVolumeRequest;
use connectors_csi::mount::{Mounter, SystemMounter};
use connectors_csi::tokens::Tokens;
use serde_json::json;
use support::driver::{self, Clients, DriverHandle, AUDIENCE};
use tonic::Code;

const DRIVER_NAMESPACE: &str = "connectors-system";

/// A driver in cluster mode on its socket, and the fake cluster it reads.
struct ClusterDriver {
    server: FakeApiServer,
    clients: Clients,
    handle: Option<DriverHandle>,
    dir: tempfile::TempDir,
}

impl Drop for ClusterDriver {
    /// Leaves no tmpfs behind, even when a test failed half-way.
    fn drop(&mut self) {
        let Ok(pods) = std::fs::read_dir(self.dir.path().join("pods")) else {
            return;
        };
        for pod in pods.flatten() {
            let target = pod.path().join("volume");
            if SystemMounter.is_mounted(&target).unwrap_or(false) {
                let _ = SystemMounter.unmount(&target);
            }
        }
    }
}

impl ClusterDriver {
    async fn start() -> ClusterDriver {
        let server = FakeApiServer::start().await;
        server.apply(json!({
            "kind": "ConnectorClass", "metadata": {"name": "git"},
            "spec": {"configurations": [{"name": "gitconfig", "data": {
                ".gitconfig": "[http]\n\tproxy = {{ .connector.status.proxyAddress }}\n# {{ .connector.spec.address }}\n"
            }}]},
            "status": {"proxy": {"httpAddress": {"url": "http://forward.proxy:3128"}}}
        }));
        server.apply(git_connector("github", "https://github.com"));
        server.allow("team-a", "builder", "team-a", "*");

        let dir = tempfile::tempdir().unwrap();
        let client = connect(Some(server.kubeconfig_path())).await.unwrap();
        let settings = ClusterSettings {
            namespace: DRIVER_NAMESPACE.into(),
            // Every check asks the API server, so rule changes apply at once.
            decisions: DecisionCacheConfig {
                capacity: 0,
                ..DecisionCacheConfig::default()
            },
            request_timeout: Duration::from_secs(2),
        };
        let parts = ClusterParts::build(client, &settings);
        let mut options = driver::Options::new(dir.path());
        options.parts = Some((
            parts.catalog as Arc<dyn Catalog>,
            parts.access as Arc<dyn Access>,
            Tokens::new(AUDIENCE, Some(parts.tokens)),
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
            let (key, value) = driver::kubelet_tokens(token);
            context.insert(key, value);
        }
        let request = driver::publish_request(&format!("csi-{pod}"), &self.target(pod), context);
        let mut node = self.clients.node.clone();
        node.node_publish_volume(request).await.map(|_| ())
    }

    fn file(&self, pod: &str, name: &str) -> String {
        std::fs::read_to_string(self.target(pod).join(name)).unwrap()
    }

    fn is_mounted(&self, pod: &str) -> bool {
        driver::mount_at(&self.target(pod)).is_some()
    }
}

fn volume_context(pod: &str, connector: &str) -> HashMap<String, String> {
    [
        ("connector.name", connector),
        ("configuration.names", "gitconfig"),
        ("token.expiration", "20m"),
        ("csi.storage.k8s.io/pod.name", pod),
        ("csi.storage.k8s.io/pod.namespace", "team-a"),
        ("csi.storage.k8s.io/pod.uid", &format!("uid-of-{pod}")),
        ("csi.storage.k8s.io/serviceAccount.name", "builder"),
        ("csi.storage.k8s.io/ephemeral", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Mounting tmpfs needs root: without it these tests say so and pass.
fn can_mount() -> bool {
    if !driver::is_root() {
        eprintln!("skipped: mounting tmpfs needs root");
        return false;
    }
    true
}

fn git_connector(name: &str, address: &str) -> serde_json::Value {
    json!({
        "kind": "Connector", "metadata": {"name": name, "namespace": "team-a"},
        "spec": {"connectorClassName": "git", "address": address},
        "status": {"proxy": {"httpAddress": {"url": format!("http://{name}.team-a.proxy")}}}
    })
}

#[tokio::test]
async fn a_publish_with_a_kubelet_token_mounts_files_holding_it() {
    if !can_mount() {
        return;
    }
    let driver = ClusterDriver::start().await;

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
    if !can_mount() {
        return;
    }
    let driver = ClusterDriver::start().await;

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
    if !can_mount() {
        return;
    }
    let driver = ClusterDriver::start().await;

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
    if !can_mount() {
        return;
    }
    let driver = ClusterDriver::start().await;
    driver.publish("web-3", "github", None).await.unwrap();

    driver
        .server
        .apply(git_connector("github", "https://github.example.org"));

    let mut updated = false;
    for _ in 0..200 {
        driver.publish("web-3", "github", None).await.unwrap();
        if driver
            .file("web-3", ".gitconfig")
            .contains("github.example.org")
        {
            updated = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        updated,
        "the updated connector never reached the pod's files"
    );
    driver.stop().await;
}

#[tokio::test]
async fn a_deleted_connector_is_not_found_and_nothing_is_mounted() {
    if !can_mount() {
        return;
    }
    let driver = ClusterDriver::start().await;
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
    if !can_mount() {
        return;
    }
    let driver = ClusterDriver::start().await;
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
    if !can_mount() {
        return;
    }
    let driver = ClusterDriver::start().await;
    driver.server.fail(Fault::ServerError);

    let status = driver.publish("web-6", "github", None).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(!driver.is_mounted("web-6"));

    driver.server.heal();
    driver.publish("web-6", "github", None).await.unwrap();
    assert!(driver.is_mounted("web-6"));
    driver.stop().await;
}

/// Everything logged at any level, kept for inspection.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// Current-thread runtime: the capturing subscriber is thread-local, and every
// task (gRPC server, API client, watchers) then runs on this thread.
#[tokio::test(flavor = "current_thread")]
async fn no_token_reaches_the_logs_during_publishes_and_failures() {
    if !can_mount() {
        return;
    }
    let logs = CapturedLogs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let driver = ClusterDriver::start().await;

    driver.publish("web-8", "github", None).await.unwrap();
    driver
        .publish("web-9", "github", Some("kubelet-secret-xyz"))
        .await
        .unwrap();
    driver.server.revoke_all();
    let denied = driver
        .publish("web-10", "github", Some("kubelet-secret-xyz"))
        .await;
    assert!(denied.is_err());

    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        text.len() > 1000,
        "logging was captured ({} bytes)",
        text.len()
    );
    let requested = driver.server.issued_tokens()[0].token.clone();
    assert!(
        !text.contains(requested.as_str()),
        "the requested token was logged"
    );
    assert!(
        !text.contains("kubelet-secret-xyz"),
        "the kubelet token was logged"
    );
    driver.stop().await;
}

/// The driver process, killed if a failed assertion leaves it running.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` on 127.0.0.1:port: the status code (0 while nothing listens).
async fn http_status(port: u16, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return 0;
    };
    let request = format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return 0;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response).await;
    response
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// Polls `condition` every 20 ms for up to 10 s.
async fn eventually(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    for _ in 0..500 {
        if condition().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test]
async fn the_serve_binary_in_cluster_mode_publishes_and_re_renders_on_a_connector_change() {
    if !can_mount() {
        return;
    }
    let server = FakeApiServer::start().await;
    server.apply(json!({
        "kind": "ConnectorClass", "metadata": {"name": "git"},
        "spec": {"configurations": [{"name": "gitconfig", "data": {
            ".gitconfig": "# {{ .connector.spec.address }}\n"
        }}]}
    }));
    server.apply(git_connector("github", "https://github.com"));
    server.allow("team-a", "builder", "team-a", "github");
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("csi.sock");
    let port = free_port();
    let mut child = KillOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_connectors-csi"))
            .arg("serve")
            .arg(format!("--endpoint=unix://{}", socket.display()))
            .args(["--node-id", "node-a"])
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .arg("--kubeconfig")
            .arg(server.kubeconfig_path())
            .args(["--token-audience", AUDIENCE])
            .arg(format!("--health-addr=127.0.0.1:{port}"))
            .env("POD_NAMESPACE", DRIVER_NAMESPACE)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );

    eventually("the driver is ready (caches synced)", async || {
        http_status(port, "/readyz").await == 200
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
    let mut node =
        connectors_csi::csi::proto::node_client::NodeClient::new(driver::connect(&socket).await);
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
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status();
    eventually("the driver exited", async || {
        child.0.try_wait().ok().flatten().is_some()
    })
    .await;
}
