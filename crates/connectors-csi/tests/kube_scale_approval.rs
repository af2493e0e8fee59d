//! What a pod waiting for approval costs the API server: its AccessRequest
//! is found by labels (or filed) once, then each retry kubelet makes reads
//! that one object by name. Over the real socket, with real tmpfs and the
//! fake API server; needs root (mounts).

#![allow(clippy::unwrap_used)] // test code: a failed step is a failed test

mod support;

use serde_json::json;
use support::apiserver::{FakeApiServer, Kind, RecordedRequest};
use support::needs_root;
use support::permissions::{proxy_grant, Cluster};

const APPROVAL_ON: &[(&str, &str)] = &[
    ("enable-connector-proxy-permissions", "true"),
    ("enable-connectors-approval", "true"),
];

const REQUESTS: &str = "/apis/connectors.alauda.io/v1alpha1/namespaces/team-a/accessrequests";

fn access_request_reads(server: &FakeApiServer) -> Vec<RecordedRequest> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.starts_with(REQUESTS))
        .collect()
}

#[tokio::test]
async fn a_retried_publish_reads_its_access_request_by_name_not_by_listing() {
    if !needs_root() {
        return;
    }
    let cluster = Cluster::start(APPROVAL_ON).await;
    cluster.publish("build-1").await.unwrap_err();
    let requests = cluster.server.objects(Kind::AccessRequest);
    assert_eq!(requests.len(), 1);
    let name = requests[0]["metadata"]["name"].as_str().unwrap().to_owned();
    let lists = access_request_reads(&cluster.server);
    assert_eq!(
        lists.len(),
        1,
        "the first publish looks by labels: {lists:?}"
    );
    assert!(lists[0].query.contains("labelSelector"), "{lists:?}");

    cluster.publish("build-1").await.unwrap_err();
    cluster.publish("build-1").await.unwrap_err();
    cluster
        .server
        .grant(proxy_grant("proxy/v1/pod/team-a/build-1"));
    cluster.server.set_access_request_conditions(
        "team-a",
        &name,
        json!([{"type": "Ready", "status": "True"}]),
    );
    cluster.publish("build-1").await.unwrap();

    assert!(cluster.is_mounted("build-1"));
    let retries: Vec<RecordedRequest> = access_request_reads(&cluster.server)
        .into_iter()
        .skip(1)
        .collect();
    let by_name = format!("{REQUESTS}/{name}");
    assert!(
        !retries.is_empty() && retries.iter().all(|r| r.path == by_name),
        "each retry reads the one request by name: {retries:?}"
    );
    assert_eq!(cluster.server.objects(Kind::AccessRequest).len(), 1);
    cluster.stop().await;
}

#[tokio::test]
async fn a_deleted_access_request_is_filed_again_on_the_next_retry() {
    if !needs_root() {
        return;
    }
    let cluster = Cluster::start(APPROVAL_ON).await;
    cluster.publish("build-1").await.unwrap_err();
    let first = cluster.server.objects(Kind::AccessRequest)[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_owned();

    assert!(cluster.server.delete(Kind::AccessRequest, "team-a", &first));
    let status = cluster.publish("build-1").await.unwrap_err();

    let requests = cluster.server.objects(Kind::AccessRequest);
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let second = requests[0]["metadata"]["name"].as_str().unwrap();
    assert_ne!(second, first);
    assert!(status.message().contains(second), "{}", status.message());
    cluster.stop().await;
}
