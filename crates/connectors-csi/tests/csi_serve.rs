//! The `serve` command as a DaemonSet runs it: the real binary in manifests
//! mode, a stale socket replaced, CSI over the socket, `/metrics` and
//! `/readyz`, and a clean exit on SIGTERM that removes the socket.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use connectors_csi::csi::proto::identity_client::IdentityClient;
use connectors_csi::csi::proto::node_client::NodeClient;
use connectors_csi::csi::proto::{
    GetPluginInfoRequest, NodeGetInfoRequest, NodeUnpublishVolumeRequest, ProbeRequest,
};
use support::attributes::{quickstart_context, with_kubelet_token};
use support::driver::{connect, publish_request, quickstart};
use support::http::{free_port, get as http_get};
use support::process::{wait_for_socket, ServeProcess};
use support::{needs_root, AUDIENCE};

fn spawn_serve(dir: &Path, port: u16) -> ServeProcess {
    let mut command = ServeProcess::on_node(dir);
    command
        .args(["--driver-name", "connectors-csi"])
        .arg("--manifests")
        .arg(quickstart())
        .args(["--token-audience", AUDIENCE])
        .args(["--log-format", "json"])
        .arg("--metrics-addr")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--health-addr")
        .arg(format!("127.0.0.1:{port}"));
    ServeProcess::spawn(&mut command, true)
}

#[tokio::test]
async fn serve_answers_csi_and_http_then_exits_cleanly_on_sigterm() {
    if !needs_root() {
        return;
    }
    let dir = support::mounts::NodeDir::new();
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
    let context = with_kubelet_token(quickstart_context(), "serve-token-s3cr3t");
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

    let status = child.terminate().await;
    assert!(status.success(), "{status:?}");
    assert!(!socket.exists(), "socket removed on shutdown");
    let logs = child.stderr();
    assert!(!logs.contains("serve-token-s3cr3t"), "{logs}");
    assert!(logs.contains("volume published"), "{logs}");
}

#[test]
fn requested_tokens_need_the_api_server_and_a_token_file_needs_manifests() {
    let dir = support::mounts::NodeDir::new();
    let endpoint = format!("unix://{}", dir.path().join("csi.sock").display());
    let serve = |args: &[&str]| {
        let output = ServeProcess::command()
            .args(["--endpoint", &endpoint, "--node-id", "n"])
            .args(args)
            .env_remove("TOKEN_SOURCE")
            .output()
            .unwrap();
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let quickstart = quickstart().display().to_string();

    let stderr = serve(&["--manifests", &quickstart, "--token-source", "request"]);
    assert!(
        stderr.contains("--token-source request needs the API server"),
        "{stderr}"
    );
    let stderr = serve(&["--token-file", "/dev/null"]);
    assert!(stderr.contains("--manifests"), "{stderr}");
}
