//! The failure codes kubelet sees, over the socket: refusals, outages, size
//! bounds and template errors each arrive with their own gRPC code and a
//! message that names the cause, and none of them leaves a mount behind.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use connectors_csi::access::{Access, AccessError, AccessOutcome, AllowAll};
use connectors_csi::catalog::{Catalog, CatalogError, ManifestsCatalog, ResolvedConnector};
use connectors_csi::csi::proto::ProbeRequest;
use connectors_csi::tokens::Tokens;
use connectors_csi::volume::{ConnectorRef, PodInfo};
use support::attributes::{quickstart_context, with_kubelet_token};
use support::driver::{publish_request, quickstart, start, Clients, DriverHandle, Options, Seams};
use support::mounts::mount_at;
use support::{needs_root, AUDIENCE};
use tonic::Code;

/// Refuses every pod, as a SubjectAccessReview would without a RoleBinding.
struct DenyAll;

#[async_trait]
impl Access for DenyAll {
    async fn check(
        &self,
        pod: &PodInfo,
        connectors: &[ConnectorRef],
    ) -> Result<AccessOutcome, AccessError> {
        Err(AccessError::Denied {
            connector: connectors[0].clone(),
            service_account: format!("{}/{}", pod.namespace, pod.service_account),
            reason: "no RoleBinding".into(),
        })
    }
}

/// An API server that cannot be reached.
struct Unreachable;

#[async_trait]
impl Catalog for Unreachable {
    async fn resolve(
        &self,
        _refs: &[ConnectorRef],
    ) -> Result<Vec<ResolvedConnector>, CatalogError> {
        Err(CatalogError::Unavailable {
            reason: "connection refused".into(),
        })
    }

    async fn builtin_templates(
        &self,
    ) -> Result<Option<Arc<BTreeMap<String, String>>>, CatalogError> {
        Ok(None)
    }

    fn is_ready(&self) -> bool {
        false
    }
}

async fn start_with(root: &Path, seams: Seams) -> (Clients, DriverHandle) {
    let mut options = Options::new(root);
    options.parts = Some(seams);
    // Targets are below the test's directory, which may hold the root.
    if root.ends_with("node") {
        options.kubelet_root = root.parent().unwrap().to_owned();
    }
    start(options).await
}

fn quickstart_seams(access: Arc<dyn Access>) -> Seams {
    let catalog = ManifestsCatalog::load(&[quickstart()]).unwrap();
    (Arc::new(catalog), access, Tokens::kubelet(AUDIENCE))
}

fn context() -> std::collections::HashMap<String, String> {
    with_kubelet_token(quickstart_context(), "errors-token-s3cr3t")
}

async fn publish_status(
    clients: &Clients,
    target: &Path,
    context: std::collections::HashMap<String, String>,
) -> tonic::Status {
    clients
        .node
        .clone()
        .node_publish_volume(publish_request("csi-errors", target, context))
        .await
        .unwrap_err()
}

fn assert_failed_cleanly(status: &tonic::Status, target: &Path) {
    assert!(
        !status.message().contains("errors-token-s3cr3t"),
        "{status:?}"
    );
    assert!(
        mount_at(target).is_none(),
        "{} is mounted",
        target.display()
    );
    assert!(!target.join("..data").exists());
}

#[tokio::test]
async fn a_pod_without_rights_on_the_connector_is_permission_denied() {
    if !needs_root() {
        return;
    }
    let dir = support::mounts::NodeDir::new();
    let (clients, handle) = start_with(dir.path(), quickstart_seams(Arc::new(DenyAll))).await;
    let target = dir.path().join("pods/a/volumes/v/mount");
    let status = publish_status(&clients, &target, context()).await;
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(
        status.message().contains("default/git-connector"),
        "{status:?}"
    );
    assert_failed_cleanly(&status, &target);
    handle.stop().await;
}

#[tokio::test]
async fn an_unreachable_api_server_is_unavailable_and_not_ready() {
    if !needs_root() {
        return;
    }
    let dir = support::mounts::NodeDir::new();
    let seams: Seams = (
        Arc::new(Unreachable),
        Arc::new(AllowAll),
        Tokens::kubelet(AUDIENCE),
    );
    let (clients, handle) = start_with(dir.path(), seams).await;
    let probe = clients
        .identity
        .clone()
        .probe(ProbeRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(probe.ready, Some(false));
    let target = dir.path().join("pods/a/volumes/v/mount");
    let status = publish_status(&clients, &target, context()).await;
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        status.message().contains("connection refused"),
        "{status:?}"
    );
    assert_failed_cleanly(&status, &target);
    handle.stop().await;
}

#[tokio::test]
async fn a_volume_without_any_token_source_fails_without_mounting() {
    if !needs_root() {
        return;
    }
    let dir = support::mounts::NodeDir::new();
    let (clients, handle) = start_with(dir.path(), quickstart_seams(Arc::new(AllowAll))).await;
    let target = dir.path().join("pods/a/volumes/v/mount");
    let status = publish_status(&clients, &target, quickstart_context()).await;
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains(AUDIENCE), "{status:?}");
    assert_failed_cleanly(&status, &target);
    handle.stop().await;
}

/// A class whose templates are too big or broken, beside the quick start.
fn write_bad_classes(dir: &Path) -> std::path::PathBuf {
    let manifests = dir.join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    std::fs::write(
        manifests.join("bad.yaml"),
        r#"apiVersion: connectors.alauda.io/v1alpha1
kind: ConnectorClass
metadata: {name: bad}
spec:
  configurations:
  - name: huge
    data:
      big.txt: '{{ repeat 3000000 "x" }}'
  - name: broken
    data:
      broken.txt: "line one\n{{ .connector.spec.address | nosuchfunction }}"
---
apiVersion: connectors.alauda.io/v1alpha1
kind: Connector
metadata: {name: bad-connector, namespace: default}
spec: {address: 'https://example.com', connectorClassName: bad}
"#,
    )
    .unwrap();
    manifests
}

#[tokio::test]
async fn size_bounds_and_template_errors_have_their_own_codes() {
    if !needs_root() {
        return;
    }
    let dir = support::mounts::NodeDir::new();
    let catalog = ManifestsCatalog::load(&[write_bad_classes(dir.path())]).unwrap();
    let seams: Seams = (
        Arc::new(catalog),
        Arc::new(AllowAll),
        Tokens::kubelet(AUDIENCE),
    );
    let (clients, handle) = start_with(&dir.path().join("node"), seams).await;
    let target = dir.path().join("pods/a/volumes/v/mount");

    let mut huge = context();
    huge.insert("connector.name".into(), "bad-connector".into());
    huge.insert("configuration.names".into(), "huge".into());
    let status = publish_status(&clients, &target, huge).await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("big.txt"), "{status:?}");
    assert_failed_cleanly(&status, &target);

    let mut broken = context();
    broken.insert("connector.name".into(), "bad-connector".into());
    broken.insert("configuration.names".into(), "broken".into());
    let status = publish_status(&clients, &target, broken).await;
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    for part in ["\"bad\"", "\"broken\"", "broken.txt", "nosuchfunction"] {
        assert!(status.message().contains(part), "{part} in {status:?}");
    }
    assert_failed_cleanly(&status, &target);
    handle.stop().await;
}

#[tokio::test]
async fn concurrent_publishes_of_one_volume_mount_it_once() {
    if !needs_root() {
        return;
    }
    let dir = support::mounts::NodeDir::new();
    let (clients, handle) = start_with(dir.path(), quickstart_seams(Arc::new(AllowAll))).await;
    let target = dir.path().join("pods/a/volumes/v/mount");
    let calls = (0..8).map(|_| {
        let mut node = clients.node.clone();
        let request = publish_request("csi-race", &target, context());
        async move { node.node_publish_volume(request).await }
    });
    for result in futures::future::join_all(calls).await {
        result.unwrap();
    }
    let canonical = std::fs::canonicalize(&target).unwrap();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let stacked = mounts
        .lines()
        .filter(|line| line.split(' ').nth(4) == Some(canonical.to_str().unwrap()))
        .count();
    assert_eq!(stacked, 1);
    assert_eq!(handle.publisher.volumes().len(), 1);
    clients
        .node
        .clone()
        .node_unpublish_volume(connectors_csi::csi::proto::NodeUnpublishVolumeRequest {
            volume_id: "csi-race".into(),
            target_path: target.display().to_string(),
        })
        .await
        .unwrap();
    assert!(mount_at(&target).is_none());
    handle.stop().await;
}
