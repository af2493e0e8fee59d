//! The CSI surface end to end, as kubelet drives it: gRPC over a unix
//! socket, real tmpfs mounts (the tests run as root), the quick-start
//! manifests, the state directory across a restart.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use connectors_csi::catalog::{Catalog, ManifestsCatalog};
use connectors_csi::csi::proto::volume_capability::{AccessType, BlockVolume};
use connectors_csi::csi::proto::{
    GetPluginInfoRequest, NodeGetCapabilitiesRequest, NodeGetInfoRequest, NodeStageVolumeRequest,
    NodeUnpublishVolumeRequest, ProbeRequest,
};
use connectors_csi::render::Renderer;
use connectors_csi::tokens::Token;
use connectors_csi::volume::VolumeRequest;
use support::attributes::{quickstart_context, with_kubelet_token};
use support::driver::{publish_request, quickstart, start, Options};
use support::mounts::{assert_nothing_mounted, data_link, hidden_entries, mount_at, state_text};
use support::needs_root;
use support::node::Node;
use tonic::Code;

const TOKEN: &str = "first-token-s3cr3t";

fn context_with_token(token: &str) -> HashMap<String, String> {
    with_kubelet_token(quickstart_context(), token)
}

/// What the offline renderer plans for the same volume: the files the
/// mount must show, byte for byte.
async fn expected_files(context: &HashMap<String, String>, token: &str) -> Vec<(String, Vec<u8>)> {
    let catalog = ManifestsCatalog::load(&[quickstart()]).unwrap();
    let request = VolumeRequest::parse(context).unwrap();
    let connectors = catalog.resolve(&request.connectors).await.unwrap();
    let plan = Renderer::default()
        .plan(&request, &connectors, None, &Token::new(token, None), "")
        .unwrap();
    plan.files
        .into_iter()
        .map(|file| (file.name, file.content))
        .collect()
}

#[tokio::test]
async fn identity_reports_the_driver_name_version_and_readiness() {
    let node = Node::start().await;
    let mut identity = node.clients.identity.clone();
    let info = identity
        .get_plugin_info(GetPluginInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.name, "connectors-csi");
    assert_eq!(info.vendor_version, env!("CARGO_PKG_VERSION"));
    let probe = identity.probe(ProbeRequest {}).await.unwrap().into_inner();
    assert_eq!(probe.ready, Some(true));
    node.handle.stop().await;
}

#[tokio::test]
async fn node_reports_its_id_and_leaves_stage_unimplemented() {
    let node = Node::start().await;
    let mut client = node.clients.node.clone();
    let info = client
        .node_get_info(NodeGetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.node_id, support::driver::NODE_ID);
    let capabilities = client
        .node_get_capabilities(NodeGetCapabilitiesRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(capabilities.capabilities.is_empty());
    let stage = client
        .node_stage_volume(NodeStageVolumeRequest::default())
        .await
        .unwrap_err();
    assert_eq!(stage.code(), Code::Unimplemented);
    node.handle.stop().await;
}

#[tokio::test]
async fn publish_mounts_a_read_only_tmpfs_with_every_quickstart_file() {
    if !needs_root() {
        return;
    }
    let node = Node::start().await;
    let target = node.target("git-config");
    let context = context_with_token(TOKEN);
    node.publish("csi-quickstart", &target, context.clone())
        .await
        .unwrap();

    let (fs_type, options) = mount_at(&target).expect("target is a mount");
    assert_eq!(fs_type, "tmpfs");
    for flag in ["ro", "nosuid", "nodev", "noexec"] {
        assert!(options.iter().any(|o| o == flag), "{flag} in {options:?}");
    }
    let expected = expected_files(&context, TOKEN).await;
    assert!(expected.iter().any(|(name, _)| name == ".gitconfig"));
    for (name, content) in &expected {
        assert_eq!(
            &std::fs::read(target.join(name)).unwrap(),
            content,
            "{name}"
        );
        let link = std::fs::read_link(target.join(name)).unwrap();
        assert_eq!(link, Path::new("..data").join(name));
    }
    assert_eq!(
        std::fs::read_to_string(target.join(".gitconfig")).unwrap(),
        "this is git config\n"
    );
    assert_eq!(
        std::fs::read_to_string(target.join("context.token")).unwrap(),
        TOKEN
    );
    let visible: BTreeSet<String> = std::fs::read_dir(&target)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with(".."))
        .collect();
    let planned: BTreeSet<String> = expected
        .iter()
        .map(|(name, _)| name.clone())
        .filter(|name| !name.starts_with(".."))
        .collect();
    assert_eq!(visible, planned);
    assert!(std::fs::write(target.join("new-file"), "x").is_err());

    node.unpublish("csi-quickstart", &target).await.unwrap();
    node.handle.stop().await;
}

#[tokio::test]
async fn publish_is_idempotent_for_the_same_target() {
    if !needs_root() {
        return;
    }
    let node = Node::start().await;
    let target = node.target("idem");
    node.publish("csi-idem", &target, context_with_token(TOKEN))
        .await
        .unwrap();
    node.publish("csi-idem", &target, context_with_token(TOKEN))
        .await
        .unwrap();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let canonical = std::fs::canonicalize(&target).unwrap();
    let stacked = mounts
        .lines()
        .filter(|line| line.split(' ').nth(4) == Some(canonical.to_str().unwrap()))
        .count();
    assert_eq!(stacked, 1, "one mount at the target, not one per call");
    assert_eq!(
        std::fs::read_to_string(target.join("context.token")).unwrap(),
        TOKEN
    );
    assert_eq!(node.handle.publisher.volumes().len(), 1);
    node.unpublish("csi-idem", &target).await.unwrap();
    node.handle.stop().await;
}

#[tokio::test]
async fn an_update_swaps_the_data_directory_atomically() {
    if !needs_root() {
        return;
    }
    let node = Node::start().await;
    let target = node.target("update");
    node.publish("csi-update", &target, context_with_token(TOKEN))
        .await
        .unwrap();
    let before = data_link(&target);
    assert!(target.join(&before).is_dir());

    node.publish(
        "csi-update",
        &target,
        context_with_token("second-token-s3cr3t"),
    )
    .await
    .unwrap();
    let after = data_link(&target);
    assert_ne!(before, after);
    assert!(!target.join(&before).exists(), "old generation removed");
    assert_eq!(
        std::fs::read_to_string(target.join("context.token")).unwrap(),
        "second-token-s3cr3t"
    );
    let expected = expected_files(&context_with_token("x"), "second-token-s3cr3t").await;
    for (name, content) in &expected {
        assert_eq!(
            &std::fs::read(target.join(name)).unwrap(),
            content,
            "{name}"
        );
    }
    // Only the current generation and its link remain besides the files.
    let hidden = hidden_entries(&target);
    assert_eq!(
        hidden,
        BTreeSet::from(["..data".to_owned(), after.display().to_string()])
    );
    let (_, options) = mount_at(&target).unwrap();
    assert!(options.iter().any(|o| o == "ro"), "{options:?}");
    node.unpublish("csi-update", &target).await.unwrap();
    node.handle.stop().await;
}

#[tokio::test]
async fn unpublish_leaves_nothing_and_succeeds_again() {
    if !needs_root() {
        return;
    }
    let node = Node::start().await;
    let target = node.target("gone");
    node.publish("csi-gone", &target, context_with_token(TOKEN))
        .await
        .unwrap();
    node.unpublish("csi-gone", &target).await.unwrap();
    assert!(mount_at(&target).is_none());
    assert!(!target.exists());
    assert_eq!(state_text(&node.state_dir()), "");
    node.unpublish("csi-gone", &target).await.unwrap();
    node.handle.stop().await;
}

#[tokio::test]
async fn a_restarted_driver_still_unpublishes_what_it_mounted() {
    if !needs_root() {
        return;
    }
    let node = Node::start().await;
    let target = node.target("restart");
    node.publish("csi-restart", &target, context_with_token(TOKEN))
        .await
        .unwrap();
    let node = node.restart().await;
    let volumes = node.handle.publisher.volumes();
    assert_eq!(volumes.len(), 1);
    assert_eq!(volumes[0].volume_id, "csi-restart");
    assert!(mount_at(&target).is_some());
    node.unpublish("csi-restart", &target).await.unwrap();
    assert!(mount_at(&target).is_none());
    assert!(!target.exists());
    assert!(node.handle.publisher.volumes().is_empty());
    node.handle.stop().await;
}

#[tokio::test]
async fn the_state_file_never_holds_the_token() {
    if !needs_root() {
        return;
    }
    let node = Node::start().await;
    let target = node.target("secret");
    node.publish("csi-secret", &target, context_with_token(TOKEN))
        .await
        .unwrap();
    let state = state_text(&node.state_dir());
    assert!(state.contains("csi-secret"), "{state}");
    assert!(state.contains("git-connector"), "{state}");
    assert!(!state.contains(TOKEN), "{state}");
    assert!(!state.contains("serviceAccount.tokens"), "{state}");
    node.unpublish("csi-secret", &target).await.unwrap();
    node.handle.stop().await;
}

#[tokio::test]
async fn a_republish_whose_render_fails_keeps_the_old_files() {
    if !needs_root() {
        return;
    }
    let node = Node::start().await;
    let target = node.target("keep");
    node.publish("csi-keep", &target, context_with_token(TOKEN))
        .await
        .unwrap();
    let before = data_link(&target);
    let mut broken = context_with_token("second-token-s3cr3t");
    broken.insert("configuration.names".into(), "no-such-configuration".into());
    node.publish("csi-keep", &target, broken).await.unwrap();
    assert_eq!(data_link(&target), before);
    assert_eq!(
        std::fs::read_to_string(target.join("context.token")).unwrap(),
        TOKEN
    );
    assert!(mount_at(&target).is_some());
    assert!(node
        .handle
        .metrics()
        .encode()
        .contains(r#"connectors_csi_render_failures_total{operation="republish"} 1"#));
    node.unpublish("csi-keep", &target).await.unwrap();
    node.handle.stop().await;
}

#[tokio::test]
async fn malformed_requests_are_invalid_arguments_naming_the_field() {
    if !needs_root() {
        return;
    }
    let node = Node::start().await;
    let target = node.target("invalid");
    let mut client = node.clients.node.clone();
    let good = || support::driver::publish_request("csi-bad", &target, quickstart_context());

    let mut cases = Vec::new();
    let mut request = good();
    request.readonly = false;
    cases.push(("readonly", request));
    let mut request = good();
    request.volume_capability = Some(connectors_csi::csi::proto::VolumeCapability {
        access_type: Some(AccessType::Block(BlockVolume {})),
        ..support::driver::mount_capability()
    });
    cases.push(("block", request));
    let mut request = good();
    request.volume_capability = None;
    cases.push(("volume_capability", request));
    let mut request = good();
    request.volume_id.clear();
    cases.push(("volume_id", request));
    let mut request = good();
    request.target_path.clear();
    cases.push(("target_path", request));
    let mut request = good();
    request
        .volume_context
        .insert("token.expiration".into(), "forever".into());
    cases.push(("token.expiration", request));
    let mut request = good();
    request.volume_context.remove("connector.name");
    cases.push(("connector", request));
    let mut request = good();
    request
        .volume_context
        .insert("configuration.params".into(), "{not json".into());
    cases.push(("configuration.params", request));

    for (field, request) in cases {
        let status = client.node_publish_volume(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        assert!(
            status.message().contains(field),
            "{field} not named in {:?}",
            status.message()
        );
        assert_nothing_mounted(&target);
    }
    let unpublish = client
        .node_unpublish_volume(NodeUnpublishVolumeRequest {
            volume_id: String::new(),
            target_path: target.display().to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(unpublish.code(), Code::InvalidArgument);
    node.handle.stop().await;
}

#[tokio::test]
async fn missing_objects_are_not_found_naming_them() {
    if !needs_root() {
        return;
    }
    let dir = support::mounts::NodeDir::new();
    let manifests = dir.path().join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    for file in ["connector.yaml", "connectorclass.yaml"] {
        std::fs::copy(quickstart().join(file), manifests.join(file)).unwrap();
    }
    std::fs::write(
        manifests.join("orphan.yaml"),
        "apiVersion: connectors.alauda.io/v1alpha1\nkind: Connector\n\
         metadata: {name: orphan, namespace: default}\n\
         spec: {address: 'https://x', connectorClassName: no-such-class}\n",
    )
    .unwrap();
    let mut options = Options::new(&dir.path().join("node"));
    options.kubelet_root = dir.path().to_owned();
    options.manifests = vec![manifests];
    std::fs::create_dir_all(&options.root).unwrap();
    std::fs::write(options.token_file(), "file-token-s3cr3t").unwrap();
    let (clients, handle) = start(options).await;
    let target = dir.path().join("pods/x/volumes/missing/mount");

    let mut missing_connector = quickstart_context();
    missing_connector.insert("connector.name".into(), "nope".into());
    let mut missing_class = quickstart_context();
    missing_class.insert("connector.name".into(), "orphan".into());
    let mut missing_configuration = quickstart_context();
    missing_configuration.insert("configuration.names".into(), "npmrc".into());
    let cases = [
        (missing_connector, "connector \"default/nope\" not found"),
        (missing_class, "connectorclass \"no-such-class\" not found"),
        (missing_configuration, "configuration \"npmrc\""),
    ];
    for (context, message) in cases {
        let status = clients
            .node
            .clone()
            .node_publish_volume(publish_request("csi-missing", &target, context))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
        assert!(
            status.message().contains(message),
            "{message:?} not in {:?}",
            status.message()
        );
        assert_nothing_mounted(&target);
    }
    assert!(handle.publisher.volumes().is_empty());
    handle.stop().await;
}

#[tokio::test]
async fn a_restarted_driver_refreshes_a_volume_from_its_state() {
    if !needs_root() {
        return;
    }
    let node = Node::start().await;
    let target = node.target("refresh");
    // No kubelet token: the token comes from the driver's token file.
    node.publish("csi-refresh", &target, quickstart_context())
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(target.join("context.token")).unwrap(),
        "file-token-s3cr3t"
    );
    let before = data_link(&target);
    let node = node.restart().await;
    std::fs::write(node.dir.path().join("token"), "rotated-token-s3cr3t").unwrap();
    let volume = node.handle.publisher.volumes().remove(0);
    node.handle.publisher.refresh(&volume).await.unwrap();
    assert_ne!(data_link(&target), before);
    assert_eq!(
        std::fs::read_to_string(target.join("context.token")).unwrap(),
        "rotated-token-s3cr3t"
    );
    let (_, options) = mount_at(&target).unwrap();
    assert!(options.iter().any(|o| o == "ro"), "{options:?}");
    assert!(!state_text(&node.state_dir()).contains("rotated-token-s3cr3t"));
    node.unpublish("csi-refresh", &target).await.unwrap();
    node.handle.stop().await;
}
