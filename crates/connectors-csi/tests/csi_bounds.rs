//! What a pod author can send, over the socket: the attribute caps answer
//! at once, quote little, and never stall the driver.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use connectors_csi::csi::proto::ProbeRequest;
use support::attributes::{quickstart_context, with_kubelet_token};
use support::driver::{publish_request, start, Clients, Options};
use support::mounts::mount_at;
use support::needs_root;
use tonic::Code;

async fn publish(
    clients: &Clients,
    target: &Path,
    context: HashMap<String, String>,
) -> tonic::Status {
    let request = publish_request("vol-bounds", target, context);
    let mut node = clients.node.clone();
    node.node_publish_volume(request)
        .await
        .expect_err("expected a refusal")
}

#[tokio::test]
async fn two_hundred_thousand_connectors_are_refused_within_a_second_and_probe_answers() {
    let dir = support::mounts::NodeDir::new();
    let (clients, handle) = start(Options::new(dir.path())).await;
    let target = dir.path().join("pods/p/volumes/v/mount");
    let names: Vec<String> = (0..200_000).map(|i| format!("connector-{i}")).collect();
    let mut context = with_kubelet_token(quickstart_context(), "bounds-token-s3cr3t");
    context.insert("connectors".into(), names.join(","));
    let started = Instant::now();
    let status = publish(&clients, &target, context).await;
    // Generous: the work is a length check; the bound is the issue's.
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("connectors"), "{status:?}");
    assert!(
        status.message().len() < 200,
        "{} bytes",
        status.message().len()
    );
    let mut identity = clients.identity.clone();
    identity.probe(ProbeRequest {}).await.unwrap();
    assert!(mount_at(&target).is_none());
    handle.stop().await;
}

#[tokio::test]
async fn a_megabyte_attribute_value_is_refused_with_a_short_message() {
    let dir = support::mounts::NodeDir::new();
    let (clients, handle) = start(Options::new(dir.path())).await;
    let target = dir.path().join("pods/p/volumes/v/mount");
    for key in ["connector.name", "configuration.params", "my.own.attribute"] {
        let mut context = with_kubelet_token(quickstart_context(), "bounds-token-s3cr3t");
        context.insert(key.into(), "y".repeat(1024 * 1024));
        let status = publish(&clients, &target, context).await;
        assert_eq!(status.code(), Code::InvalidArgument, "{key}");
        assert!(status.message().len() < 200, "{key}: {}", status.message());
        assert!(status.message().contains("limit"), "{}", status.message());
    }
    assert!(!target.exists());
    handle.stop().await;
}

#[tokio::test]
async fn a_class_with_ten_thousand_files_is_resource_exhausted_naming_the_bound() {
    if !needs_root() {
        return;
    }
    let dir = support::mounts::NodeDir::new();
    let mut data = String::new();
    for i in 0..10_000 {
        data.push_str(&format!("      f{i}.txt: 'x'\n"));
    }
    let manifests = dir.path().join("many.yaml");
    std::fs::write(
        &manifests,
        format!(
            "apiVersion: connectors.alauda.io/v1alpha1\n\
             kind: ConnectorClass\n\
             metadata: {{name: many}}\n\
             spec:\n  configurations:\n  - name: many\n    data:\n{data}\
             ---\n\
             apiVersion: connectors.alauda.io/v1alpha1\n\
             kind: Connector\n\
             metadata: {{name: many-files, namespace: default}}\n\
             spec: {{address: 'https://x', connectorClassName: many}}\n"
        ),
    )
    .unwrap();
    let mut options = Options::new(dir.path());
    options.manifests = vec![manifests];
    let (clients, handle) = start(options).await;
    let target = dir.path().join("pods/p/volumes/v/mount");
    let mut context = with_kubelet_token(quickstart_context(), "bounds-token-s3cr3t");
    context.insert("connector.name".into(), "many-files".into());
    context.insert("configuration.names".into(), "many".into());
    let status = publish(&clients, &target, context).await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("limit of 1024"), "{status:?}");
    assert!(mount_at(&target).is_none());
    assert!(!target.exists());
    handle.stop().await;
}

#[tokio::test]
async fn probe_and_another_publish_answer_while_a_slow_template_renders() {
    if !needs_root() {
        return;
    }
    let dir = support::mounts::NodeDir::new();
    let manifests = dir.path().join("slow.yaml");
    std::fs::write(
        &manifests,
        "apiVersion: connectors.alauda.io/v1alpha1\n\
         kind: ConnectorClass\n\
         metadata: {name: slow}\n\
         spec:\n  configurations:\n  - name: keys\n    data:\n\
         \x20     keys.pem: '{{ genPrivateKey \"rsa\" }}'\n\
         ---\n\
         apiVersion: connectors.alauda.io/v1alpha1\n\
         kind: Connector\n\
         metadata: {name: slow, namespace: default}\n\
         spec: {address: 'https://x', connectorClassName: slow}\n",
    )
    .unwrap();
    let mut options = Options::new(dir.path());
    options.manifests = vec![support::driver::quickstart(), manifests];
    let (clients, handle) = start(options).await;
    let mut slow = with_kubelet_token(quickstart_context(), "bounds-token-s3cr3t");
    slow.insert("connector.name".into(), "slow".into());
    slow.insert("configuration.names".into(), "keys".into());
    let slow_request = publish_request("vol-slow", &dir.path().join("pods/slow/mount"), slow);
    let mut node = clients.node.clone();
    let slow_call = tokio::spawn(async move {
        let _ = node.node_publish_volume(slow_request).await;
        Instant::now()
    });
    tokio::time::sleep(Duration::from_millis(200)).await;

    let started = Instant::now();
    let mut identity = clients.identity.clone();
    identity.probe(ProbeRequest {}).await.unwrap();
    let probe = started.elapsed();
    let fast_target = dir.path().join("pods/fast/mount");
    let fast = publish_request(
        "vol-fast",
        &fast_target,
        with_kubelet_token(quickstart_context(), "bounds-token-s3cr3t"),
    );
    let started = Instant::now();
    clients
        .node
        .clone()
        .node_publish_volume(fast)
        .await
        .unwrap();
    let publish = started.elapsed();
    let fast_done = Instant::now();
    let slow_done = slow_call.await.unwrap();
    assert!(
        slow_done > fast_done,
        "the slow render ended too soon to show anything"
    );
    // Generous bounds (debug build, shared CI machine): the point is that
    // neither waits for the render.
    assert!(probe < Duration::from_millis(500), "Probe took {probe:?}");
    assert!(publish < Duration::from_secs(1), "publish took {publish:?}");
    handle.stop().await;
}
