//! Kubelet's `volume_capability.mount.mount_flags` over the socket: a
//! SELinux label reaches the tmpfs mount, a flag the volume cannot take is
//! InvalidArgument naming it, with nothing mounted and nothing recorded.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use connectors_csi::csi::proto::volume_capability::{AccessType, MountVolume};
use connectors_csi::csi::proto::NodePublishVolumeRequest;
use connectors_csi::mount::RecordingMounter;
use support::attributes::{kubelet_tokens, quickstart_context};
use support::driver::{publish_request, start, Options};
use support::mounts::mount_at;
use tonic::Code;

const SELINUX_CONTEXT: &str = r#"context="system_u:object_r:container_file_t:s0:c15,c25""#;

fn target(root: &Path) -> PathBuf {
    root.join("pods/6a3c1d2e/volumes/kubernetes.io~csi/config/mount")
}

/// The quick-start publish with kubelet's token and these mount flags.
fn publish_with_flags(target: &Path, flags: &[&str]) -> NodePublishVolumeRequest {
    let mut context = quickstart_context();
    let (key, tokens) = kubelet_tokens("kubelet-s3cr3t");
    context.insert(key, tokens);
    let mut request = publish_request("csi-flags", target, context);
    let capability = request.volume_capability.as_mut().unwrap();
    capability.access_type = Some(AccessType::Mount(MountVolume {
        mount_flags: flags.iter().map(|f| (*f).to_owned()).collect(),
        ..Default::default()
    }));
    request
}

#[tokio::test]
async fn a_selinux_context_flag_is_passed_to_the_tmpfs_mount() {
    let dir = support::mounts::NodeDir::new();
    let mounter = Arc::new(RecordingMounter::default());
    let mut options = Options::new(dir.path());
    options.mounter = mounter.clone();
    let (mut clients, driver) = start(options).await;
    let target = target(dir.path());
    clients
        .node
        .node_publish_volume(publish_with_flags(&target, &["ro", SELINUX_CONTEXT]))
        .await
        .unwrap();
    let data = mounter.mount_data(&target).unwrap();
    assert!(data.ends_with(&format!(",{SELINUX_CONTEXT}")), "{data}");
    assert!(data.starts_with("size="), "{data}");
    assert_eq!(
        data.matches(',').count(),
        3,
        "size, mode, the label (its one comma): {data}"
    );
    assert_eq!(mounter.read_only(&target), Some(true));
    driver.stop().await;
}

#[tokio::test]
async fn a_mount_flag_the_volume_cannot_take_is_invalid_and_mounts_nothing() {
    let dir = support::mounts::NodeDir::new();
    let (mut clients, driver) = start(Options::new(dir.path())).await;
    let target = target(dir.path());
    for flag in [
        "exec",
        "rw",
        "size=10G",
        "mode=0777",
        "noatime",
        "defcontext=a:b:c:s0",
    ] {
        let status = clients
            .node
            .node_publish_volume(publish_with_flags(&target, &["ro", flag]))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{flag}: {status:?}");
        assert!(
            status.message().contains(&format!("{flag:?}")),
            "{flag}: {}",
            status.message()
        );
        assert!(
            status.message().contains("mount_flags"),
            "{}",
            status.message()
        );
        assert!(!target.exists(), "{flag}: the target was created");
        assert_eq!(mount_at(&target), None, "{flag}: something was mounted");
    }
    assert!(
        driver.publisher.volumes().is_empty(),
        "a volume was recorded"
    );
    let states = std::fs::read_dir(dir.path().join("state")).unwrap().count();
    assert_eq!(states, 0, "a state file was written");
    driver.stop().await;
}
