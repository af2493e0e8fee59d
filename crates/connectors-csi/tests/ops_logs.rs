//! The driver's log lines as a log pipeline reads them: the real `serve`
//! binary with `--log-format json`, kubelet's calls over the socket, and
//! every stderr line parsed as JSON. A failed publish's line must let an
//! operator go from a pod's FailedMount to the driver's reason: the pod,
//! its namespace, the volume and the gRPC code, at the top level.

#![allow(clippy::unwrap_used)] // test code: a failed step is a failed test

mod support;

use std::collections::HashMap;
use std::path::Path;

use connectors_csi::csi::proto::node_client::NodeClient;
use connectors_csi::csi::proto::NodeUnpublishVolumeRequest;
use serde_json::{Map, Value};
use support::attributes::{quickstart_context, with_kubelet_token};
use support::driver::{connect, publish_request, quickstart};
use support::logs::json_lines;
use support::process::{wait_for_socket, ServeProcess};
use support::{needs_root, AUDIENCE};
use tonic::transport::Channel;

const TOKEN: &str = "kubelet-s3cr3t-for-logs";

/// `serve` in manifests mode (the quick start) logging `format` at info.
async fn serve(dir: &Path, format: &str) -> (ServeProcess, NodeClient<Channel>) {
    let socket = dir.join("csi.sock");
    let mut command = ServeProcess::on_node(dir);
    command
        .args(["--token-audience", AUDIENCE])
        .arg("--manifests")
        .arg(quickstart())
        .args(["--log-format", format])
        .env("RUST_LOG", "info");
    let process = ServeProcess::spawn(&mut command, true);
    wait_for_socket(&socket).await;
    let client = NodeClient::new(connect(&socket).await);
    (process, client)
}

/// The quick start's pod `default/app-0`, asking for a connector that does
/// not exist, with kubelet's token.
fn missing_connector() -> HashMap<String, String> {
    let mut context = with_kubelet_token(quickstart_context(), TOKEN);
    context.insert("connector.name".into(), "no-such-connector".into());
    context
}

/// Stops the driver and returns what it logged.
async fn logs_of(mut process: ServeProcess, client: NodeClient<Channel>) -> String {
    drop(client);
    let status = process.terminate().await;
    assert!(status.success(), "{status:?}");
    process.stderr()
}

fn line_with<'a>(lines: &'a [Map<String, Value>], message: &str) -> &'a Map<String, Value> {
    lines
        .iter()
        .find(|line| line["message"] == message)
        .unwrap_or_else(|| panic!("no {message:?} line in {lines:#?}"))
}

#[tokio::test]
async fn a_failed_publishs_json_line_names_the_pod_namespace_volume_and_code() {
    let dir = support::mounts::NodeDir::new();
    let (process, mut client) = serve(dir.path(), "json").await;
    let target = dir.path().join("pods/app-0/volumes/config/mount");

    let status = client
        .node_publish_volume(publish_request("csi-app-0", &target, missing_connector()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");

    let text = logs_of(process, client).await;
    assert!(!text.contains(TOKEN), "a token in the logs:\n{text}");
    let lines = json_lines(&text);
    for line in &lines {
        for key in ["timestamp", "level", "target", "message"] {
            assert!(line[key].is_string(), "no top-level {key} in {line:?}");
        }
        assert!(!line.contains_key("fields"), "{line:?}");
    }
    let failed = line_with(&lines, "publish failed");
    assert_eq!(failed["level"], "WARN");
    assert_eq!(failed["pod"], "app-0");
    assert_eq!(failed["namespace"], "default");
    assert_eq!(failed["volume_id"], "csi-app-0");
    assert_eq!(failed["code"], "NotFound");
    assert_eq!(failed["span"], "publish");
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("no-such-connector"), "{error}");
    let timestamp = failed["timestamp"].as_str().unwrap();
    assert!(
        timestamp.len() >= 20 && timestamp.contains('T') && timestamp.ends_with('Z'),
        "{timestamp}"
    );
    // Lines outside any call carry no call's fields.
    let started = line_with(&lines, "serving CSI");
    assert!(!started.contains_key("pod"), "{started:?}");
}

#[tokio::test]
async fn every_line_of_a_publish_and_its_unpublish_carries_the_pod_and_volume() {
    if !needs_root() {
        return;
    }
    let dir = support::mounts::NodeDir::new();
    let (process, mut client) = serve(dir.path(), "json").await;
    let target = dir.path().join("pods/app-0/volumes/config/mount");
    let context = with_kubelet_token(quickstart_context(), TOKEN);
    client
        .node_publish_volume(publish_request("csi-app-0", &target, context))
        .await
        .unwrap();
    client
        .node_unpublish_volume(NodeUnpublishVolumeRequest {
            volume_id: "csi-app-0".into(),
            target_path: target.display().to_string(),
        })
        .await
        .unwrap();

    let text = logs_of(process, client).await;
    assert!(!text.contains(TOKEN), "a token in the logs:\n{text}");
    let lines = json_lines(&text);
    for (message, span) in [
        ("volume published", "publish"),
        ("volume unpublished", "unpublish"),
    ] {
        let line = line_with(&lines, message);
        assert_eq!(line["span"], span, "{line:?}");
        assert_eq!(line["pod"], "app-0", "{line:?}");
        assert_eq!(line["namespace"], "default", "{line:?}");
        assert_eq!(line["volume_id"], "csi-app-0", "{line:?}");
        assert!(!line.contains_key("code"), "{line:?}");
    }
}

#[tokio::test]
async fn text_logs_on_a_pipe_have_no_colour_codes_and_name_the_pod() {
    let dir = support::mounts::NodeDir::new();
    let (process, mut client) = serve(dir.path(), "text").await;
    let target = dir.path().join("pods/app-0/volumes/config/mount");
    let _ = client
        .node_publish_volume(publish_request("csi-app-0", &target, missing_connector()))
        .await
        .unwrap_err();

    let text = logs_of(process, client).await;
    assert!(
        !text.contains('\u{1b}'),
        "ANSI escape codes on a pipe:\n{text}"
    );
    let failed = text
        .lines()
        .find(|line| line.contains("publish failed"))
        .unwrap_or_else(|| panic!("no failure line in\n{text}"));
    for field in [
        "pod=app-0",
        "namespace=default",
        "volume_id=csi-app-0",
        "NotFound",
    ] {
        assert!(failed.contains(field), "{field} missing from {failed}");
    }
    assert!(!text.contains(TOKEN), "a token in the logs:\n{text}");
}
