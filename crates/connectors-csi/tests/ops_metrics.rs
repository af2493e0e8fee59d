//! `/metrics` as Prometheus scrapes it: the real `serve` binary in cluster
//! mode against the fake API server, a plain HTTP GET with
//! `Accept: text/plain`, and the page piped into the real
//! `promtool check metrics`, which must find nothing to say, before any
//! call and after kubelet's calls moved the counters.

#![allow(clippy::unwrap_used)] // test code: a failed step is a failed test

mod support;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use connectors_csi::csi::proto::node_client::NodeClient;
use connectors_csi::csi::proto::NodeUnpublishVolumeRequest;
use support::apiserver::FakeApiServer;
use support::attributes::team_a_pod;
use support::cluster;
use support::driver::{connect, publish_request};
use support::process::{wait_for_socket, ServeProcess};
use support::tools::tool;
use support::{eventually, http, needs_root, AUDIENCE, DRIVER_NAMESPACE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::transport::Channel;

/// The kubeconfig's bearer token: the driver's own credential.
const DRIVER_CREDENTIAL: &str = "driver-credential";

/// A cluster, a `serve --token-source request` on it, and a kubelet-like client.
struct Node {
    server: FakeApiServer,
    dir: support::mounts::NodeDir,
    process: ServeProcess,
    client: NodeClient<Channel>,
    port: u16,
}

impl Node {
    /// Connector `team-a/github`, readable by `team-a/builder` only.
    async fn start() -> Node {
        let server = cluster::github_cluster().await;
        let dir = support::mounts::NodeDir::new();
        let socket = dir.path().join("csi.sock");
        let port = http::free_port();
        let mut command = ServeProcess::on_node(dir.path());
        command
            .args(["--token-audience", AUDIENCE])
            .args(["--token-source", "request"])
            .arg("--kubeconfig")
            .arg(server.kubeconfig_path())
            .arg(format!("--metrics-addr=127.0.0.1:{port}"))
            .env("POD_NAMESPACE", DRIVER_NAMESPACE);
        let process = ServeProcess::spawn(&mut command, false);
        eventually("the driver is ready (caches synced)", async || {
            http::get(port, "/readyz").await.0 == 200
        })
        .await;
        wait_for_socket(&socket).await;
        let client = NodeClient::new(connect(&socket).await);
        Node {
            server,
            dir,
            process,
            client,
            port,
        }
    }

    fn target(&self) -> PathBuf {
        self.dir.path().join("pods/web/volumes/git/mount")
    }

    async fn publish(&mut self, context: HashMap<String, String>) -> Result<(), tonic::Status> {
        let request = publish_request("csi-web", &self.target(), context);
        self.client.node_publish_volume(request).await.map(|_| ())
    }

    /// `GET /metrics` with `accept`: the Content-Type and the page.
    async fn scrape(&self, accept: &str) -> (String, String) {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .unwrap();
        let request = format!("GET /metrics HTTP/1.0\r\nHost: x\r\nAccept: {accept}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(
            head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
            "{head}"
        );
        let content_type = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-type")
                    .then(|| value.trim().to_owned())
            })
            .unwrap_or_default();
        (content_type, body.to_owned())
    }

    async fn stop(mut self) {
        let status = self.process.terminate().await;
        assert!(status.success(), "{status:?}");
    }
}

/// `promtool check metrics < page` exits 0 and reports no problem.
fn assert_promtool_accepts(promtool: &Path, page: &str) {
    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let output = check.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && said.trim().is_empty(),
        "promtool check metrics: {:?}\n{said}\n--- page ---\n{page}",
        output.status
    );
}

/// The value of the sample `series` (name and labels exactly as exposed).
fn value(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

fn assert_value(page: &str, series: &str, expected: f64) {
    assert_eq!(value(page, series), Some(expected), "{series} in\n{page}");
}

/// Every family has a HELP line and a TYPE line, named as its samples are.
fn assert_every_family_is_described(page: &str) {
    let typed: Vec<&str> = page
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split(' ').next())
        .collect();
    assert!(typed.len() > 10, "{page}");
    for family in typed {
        assert!(
            page.contains(&format!("# HELP {family} ")),
            "{family} has no HELP in\n{page}"
        );
        assert!(
            page.lines().any(|line| line.starts_with(family)),
            "{family} has no sample named after it in\n{page}"
        );
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

const PUBLISH_OK: &str = r#"connectors_csi_calls_total{operation="publish",result="ok"}"#;
const REVIEWS_ALLOWED: &str = r#"connectors_csi_subject_access_reviews_total{result="allowed"}"#;
const REVIEWS_DENIED: &str = r#"connectors_csi_subject_access_reviews_total{result="denied"}"#;
const TOKENS_ISSUED: &str = r#"connectors_csi_token_requests_total{result="issued"}"#;
const API_REVIEWS_OK: &str = r#"connectors_csi_api_requests_total{verb="create",resource="subjectaccessreviews",result="ok"}"#;
const API_TOKENS_OK: &str = r#"connectors_csi_api_requests_total{verb="create",resource="serviceaccounts/token",result="ok"}"#;

#[tokio::test]
async fn the_text_page_passes_promtool_before_and_after_calls_and_the_counters_move() {
    if !needs_root() {
        return;
    }
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let mut node = Node::start().await;

    let (content_type, before) = node.scrape("text/plain").await;
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_promtool_accepts(&promtool, &before);
    assert_every_family_is_described(&before);
    assert!(
        before.contains(&format!(
            "connectors_csi_build_info{{version=\"{}\",commit=\"",
            env!("CARGO_PKG_VERSION")
        )),
        "{before}"
    );
    assert!(value(&before, "process_resident_memory_bytes").unwrap() > 1e6);
    assert!(value(&before, "process_open_fds").unwrap() > 0.0);
    assert!(value(&before, "process_start_time_seconds").unwrap() > 1.6e9);
    for series in [
        PUBLISH_OK,
        r#"connectors_csi_calls_total{operation="publish",result="PermissionDenied"}"#,
        r#"connectors_csi_calls_total{operation="refresh",result="failed"}"#,
        REVIEWS_ALLOWED,
        REVIEWS_DENIED,
        r#"connectors_csi_subject_access_reviews_total{result="error"}"#,
        TOKENS_ISSUED,
        r#"connectors_csi_token_requests_total{result="refused"}"#,
        API_REVIEWS_OK,
        API_TOKENS_OK,
        r#"connectors_csi_api_requests_total{verb="get",resource="connectors",result="timeout"}"#,
    ] {
        assert_value(&before, series, 0.0);
    }
    // The class watch cache's initial listing went through the counted
    // client (Connectors are read only when a volume uses one).
    assert!(
        value(
            &before,
            r#"connectors_csi_api_requests_total{verb="list",resource="connectorclasses",result="ok"}"#
        )
        .unwrap()
            >= 1.0,
        "{before}"
    );

    node.publish(context()).await.unwrap();

    let (_, after) = node.scrape("text/plain").await;
    assert_promtool_accepts(&promtool, &after);
    assert_value(&after, PUBLISH_OK, 1.0);
    assert_value(&after, TOKENS_ISSUED, 1.0);
    assert_value(&after, API_TOKENS_OK, 1.0);
    assert!(value(&after, REVIEWS_ALLOWED).unwrap() >= 1.0, "{after}");
    assert!(value(&after, API_REVIEWS_OK).unwrap() >= 1.0, "{after}");
    assert_value(
        &after,
        r#"connectors_csi_token_request_duration_seconds_count{result="issued"}"#,
        1.0,
    );
    let issued = node.server.issued_tokens();
    assert_eq!(issued.len(), 1);
    assert!(!after.contains(&issued[0].token), "a token in the metrics");
    assert!(
        !after.contains(DRIVER_CREDENTIAL),
        "a credential in the metrics"
    );

    let (content_type, open) = node
        .scrape("application/openmetrics-text;version=1.0.0;q=0.5,text/plain;q=0.3")
        .await;
    assert!(
        content_type.starts_with("application/openmetrics-text; version=1.0.0"),
        "{content_type}"
    );
    assert!(open.ends_with("# EOF\n"), "{open}");
    assert!(
        open.contains("# TYPE connectors_csi_calls counter"),
        "{open}"
    );

    let target = node.target().display().to_string();
    node.client
        .node_unpublish_volume(NodeUnpublishVolumeRequest {
            volume_id: "csi-web".into(),
            target_path: target,
        })
        .await
        .unwrap();
    node.stop().await;
}

#[tokio::test]
async fn a_denied_review_is_counted_as_denied_and_the_publish_by_its_code() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let mut node = Node::start().await;
    let mut stranger = context();
    stranger.insert(
        "csi.storage.k8s.io/serviceAccount.name".into(),
        "stranger".into(),
    );

    let status = node.publish(stranger).await.unwrap_err();

    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    let (_, page) = node.scrape("text/plain").await;
    assert_promtool_accepts(&promtool, &page);
    assert_value(&page, REVIEWS_DENIED, 1.0);
    assert_value(&page, REVIEWS_ALLOWED, 0.0);
    assert_value(
        &page,
        r#"connectors_csi_calls_total{operation="publish",result="PermissionDenied"}"#,
        1.0,
    );
    assert_value(&page, TOKENS_ISSUED, 0.0);
    node.stop().await;
}
