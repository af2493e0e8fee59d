//! Approval gating over the real socket, with real tmpfs and the fake API
//! server: with both flags on, a pod the proxy check denies files one
//! AccessRequest and waits; approval mounts its files, rejection mounts only
//! `.error.json`.

#![allow(clippy::unwrap_used)] // test code: a failed step is a failed test

mod support;

use serde_json::{json, Value as Json};
use support::apiserver::Kind;
use support::permissions::{proxy_grant, Cluster, TOKEN};
use support::{eventually, needs_root};
use tonic::Code;

const APPROVAL_ON: &[(&str, &str)] = &[
    ("enable-connector-proxy-permissions", "true"),
    ("enable-connectors-approval", "true"),
];

/// The one AccessRequest the fake holds, and its `namespace/name`.
fn the_access_request(cluster: &Cluster) -> (Json, String) {
    let requests = cluster.server.objects(Kind::AccessRequest);
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let request = requests[0].clone();
    let name = format!(
        "{}/{}",
        request["metadata"]["namespace"].as_str().unwrap(),
        request["metadata"]["name"].as_str().unwrap()
    );
    (request, name)
}

/// Pod `build-1` files its AccessRequest (the publish is refused), then the
/// approval controller sets the request's `conditions`; returns the
/// request's `namespace/name`.
async fn decide(cluster: &Cluster, conditions: Json) -> String {
    cluster.publish("build-1").await.unwrap_err();
    let (request, full_name) = the_access_request(cluster);
    let name = request["metadata"]["name"].as_str().unwrap();
    cluster
        .server
        .set_access_request_conditions("team-a", name, conditions);
    full_name
}

/// The files a pod sees (not the `..data` bookkeeping).
fn visible_files(cluster: &Cluster, pod: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(cluster.target(pod))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with(".."))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn with_approval_on_a_denied_pod_files_one_access_request_and_waits_unavailable() {
    if !needs_root() {
        return;
    }
    let cluster = Cluster::start(APPROVAL_ON).await;

    let status = cluster.publish("build-1").await.unwrap_err();

    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    let (request, name) = the_access_request(&cluster);
    assert!(
        status.message().contains(&format!("\"{name}\"")),
        "{}",
        status.message()
    );
    assert!(
        status.message().contains("awaits approval"),
        "{}",
        status.message()
    );
    assert_eq!(request["metadata"]["namespace"], "team-a");
    assert_eq!(
        request["metadata"]["labels"],
        json!({
            "connectors.cpaas.io/connector": "github",
            "connectors.cpaas.io/contextObjectKind": "Pod",
            "connectors.cpaas.io/contextObjectName": "build-1",
            "connectors.cpaas.io/contextObjectNamespace": "team-a",
        })
    );
    assert_eq!(
        request["spec"],
        json!({
            "subject": {"kind": "ServiceAccount", "name": "builder", "namespace": "team-a"},
            "connectorRef": {"name": "github"},
            "context": {"objectRef": {"apiVersion": "v1", "kind": "Pod", "name": "build-1", "namespace": "team-a"}},
        })
    );
    assert!(!request.to_string().contains(TOKEN));
    assert!(!cluster.is_mounted("build-1"));

    cluster.publish("build-1").await.unwrap_err();
    the_access_request(&cluster);
    eventually("the pending approval is an Event", async || {
        cluster
            .server
            .events_with_reason("ConnectorAccessPending")
            .iter()
            .any(|e| e.event["note"].as_str().unwrap_or_default().contains(&name))
    })
    .await;
    cluster.stop().await;
}

#[tokio::test]
async fn ten_concurrent_publishes_of_one_pod_file_one_access_request() {
    if !needs_root() {
        return;
    }
    let cluster = Cluster::start(APPROVAL_ON).await;

    let volumes: Vec<String> = (0..10).map(|i| format!("volume-{i}")).collect();
    let publishes = volumes.iter().map(|v| cluster.publish_volume("build-1", v));
    let outcomes = futures::future::join_all(publishes).await;

    for outcome in outcomes {
        assert_eq!(outcome.unwrap_err().code(), Code::Unavailable);
    }
    the_access_request(&cluster);
    cluster.stop().await;
}

#[tokio::test]
async fn an_approved_request_mounts_the_files() {
    if !needs_root() {
        return;
    }
    let cluster = Cluster::start(APPROVAL_ON).await;
    // What the approval controller does: Ready, and a Role for this pod.
    decide(&cluster, json!([{"type": "Ready", "status": "True"}])).await;
    cluster
        .server
        .grant(proxy_grant("proxy/v1/pod/team-a/build-1"));
    cluster.publish("build-1").await.unwrap();

    assert!(cluster.is_mounted("build-1"));
    assert!(visible_files(&cluster, "build-1").contains(&".gitconfig".to_owned()));
    the_access_request(&cluster);
    cluster.stop().await;
}

#[tokio::test]
async fn a_rejected_request_mounts_only_an_error_file() {
    if !needs_root() {
        return;
    }
    let cluster = Cluster::start(APPROVAL_ON).await;
    let full_name = decide(
        &cluster,
        json!([
            {"type": "AccessCheckReady", "status": "False", "reason": "Rejected"},
            {"type": "Ready", "status": "False", "reason": "Rejected"}
        ]),
    )
    .await;
    cluster.publish("build-1").await.unwrap();

    assert!(cluster.is_mounted("build-1"));
    assert_eq!(visible_files(&cluster, "build-1"), [".error.json"]);
    let text = std::fs::read_to_string(cluster.target("build-1").join(".error.json")).unwrap();
    let status: Json = serde_json::from_str(&text).unwrap();
    assert_eq!(status["code"], 7);
    assert_eq!(status["details"], json!([]));
    let message = status["message"].as_str().unwrap();
    assert!(message.contains("\"team-a/github\""), "{message}");
    assert!(message.contains(&full_name), "{message}");
    assert!(!text.contains(TOKEN));
    cluster.stop().await;
}

#[tokio::test]
async fn a_request_final_without_the_grant_mounts_only_an_error_file() {
    if !needs_root() {
        return;
    }
    let cluster = Cluster::start(APPROVAL_ON).await;
    // Final (`Ready=False`) for a reason other than a rejection.
    let conditions = json!([{"type": "Ready", "status": "False", "reason": "Expired"}]);
    decide(&cluster, conditions).await;
    cluster.publish("build-1").await.unwrap();

    assert_eq!(visible_files(&cluster, "build-1"), [".error.json"]);
    cluster.stop().await;
}

#[tokio::test]
async fn a_request_the_controller_is_still_deciding_keeps_the_pod_waiting() {
    if !needs_root() {
        return;
    }
    let cluster = Cluster::start(APPROVAL_ON).await;
    let conditions = json!([{"type": "Ready", "status": "Unknown", "reason": "Checking"}]);
    decide(&cluster, conditions).await;
    let status = cluster.publish("build-1").await.unwrap_err();

    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(!cluster.is_mounted("build-1"));
    cluster.stop().await;
}
