//! The `serve` command as a DaemonSet runs it: the real binary in manifests
//! mode, a stale socket replaced, CSI over the socket, `/metrics` and
//! `/readyz`, and a clean exit on SIGTERM that removes the socket.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use connectors_csi::csi::proto::identity_client::IdentityClient;
use connectors_csi::csi::proto::node_client::NodeClient;
use connectors_csi::csi::proto::{
    GetPluginInfoRequest, NodeGetInfoRequest, NodeUnpublishVolumeRequest, ProbeRequest,
};
use support::driver::{
    connect, is_root, kubelet_tokens, publish_request, quickstart, quickstart_context,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn_serve(dir: &Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_connectors-csi"))
        .arg("serve")
        .arg("--endpoint")
        .arg(format!("unix://{}", dir.join("csi.sock").display()))
        .args(["--node-id", "node-a", "--driver-name", "connectors-csi"])
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--manifests")
        .arg(quickstart())
        .args(["--token-audience", support::driver::AUDIENCE])
        .args(["--log-format", "json"])
        .arg("--metrics-addr")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--health-addr")
        .arg(format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

async fn wait_for_socket(socket: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::UnixStream::connect(socket).await.is_err() {
        assert!(Instant::now() < deadline, "driver did not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A bare HTTP/1.0 GET: status code and body.
async fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let code = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (code, body)
}

async fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "driver ignored SIGTERM");
        // Yield to the runtime: the client's connection must see the GOAWAY.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn serve_answers_csi_and_http_then_exits_cleanly_on_sigterm() {
    if !is_root() {
        eprintln!("skipped: mounting tmpfs needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("csi.sock");
    std::fs::write(&socket, "left by a crashed driver").unwrap();
    let port = free_port();
    let mut child = spawn_serve(dir.path(), port);
    wait_for_socket(&socket).await;

    let channel = connect(&socket).await;
    let mut identity = IdentityClient::new(channel.clone());
    let mut node = NodeClient::new(channel);
    let info = identity
        .get_plugin_info(GetPluginInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.name, "connectors-csi");
    let probe = identity.probe(ProbeRequest {}).await.unwrap().into_inner();
    assert_eq!(probe.ready, Some(true));
    let node_info = node
        .node_get_info(NodeGetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(node_info.node_id, "node-a");

    let target = dir.path().join("pods/p/volumes/v/mount");
    let mut context = quickstart_context();
    let (key, value) = kubelet_tokens("serve-token-s3cr3t");
    context.insert(key, value);
    node.node_publish_volume(publish_request("csi-serve", &target, context))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(target.join("context.token")).unwrap(),
        "serve-token-s3cr3t"
    );
    node.node_unpublish_volume(NodeUnpublishVolumeRequest {
        volume_id: "csi-serve".into(),
        target_path: target.display().to_string(),
    })
    .await
    .unwrap();
    assert!(!target.exists());

    assert_eq!(http_get(port, "/healthz").await.0, 200);
    assert_eq!(http_get(port, "/readyz").await.0, 200);
    let (code, metrics) = http_get(port, "/metrics").await;
    assert_eq!(code, 200);
    assert!(
        metrics.contains(r#"connectors_csi_calls_total{operation="publish",result="ok"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"connectors_csi_calls_total{operation="unpublish",result="ok"} 1"#),
        "{metrics}"
    );

    let status = terminate(&mut child).await;
    assert!(status.success(), "{status:?}");
    assert!(!socket.exists(), "socket removed on shutdown");
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut logs).unwrap();
    assert!(!logs.contains("serve-token-s3cr3t"), "{logs}");
    assert!(logs.contains("volume published"), "{logs}");
}
