//! What the driver may touch, over the socket with real tmpfs: only its own
//! mounts, only below the kubelet root, only the directories it created;
//! its state is private. Each test is what a confused or hostile caller
//! would send.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use connectors_csi::csi::proto::NodeUnpublishVolumeRequest;
use connectors_csi::mount::{mount_source, MountOptions, Mounter, SystemMounter};
use support::attributes::{quickstart_context, with_kubelet_token};
use support::driver::{publish_request, start, Clients, DriverHandle, Options};
use support::mounts::{is_read_only_tmpfs, mount_at};
use support::needs_root;
use tonic::Code;

const TOKEN: &str = "ownership-token-s3cr3t";

struct Node {
    dir: support::mounts::NodeDir,
    clients: Clients,
    handle: DriverHandle,
}

impl Node {
    async fn start() -> Node {
        Node::start_in(support::mounts::NodeDir::new()).await
    }

    async fn start_in(dir: support::mounts::NodeDir) -> Node {
        let (clients, handle) = start(Options::new(dir.path())).await;
        Node {
            dir,
            clients,
            handle,
        }
    }

    async fn restart(self) -> Node {
        self.handle.stop().await;
        Node::start_in(self.dir).await
    }

    fn target(&self, pod: &str) -> PathBuf {
        self.dir
            .path()
            .join("pods")
            .join(pod)
            .join("volumes/kubernetes.io~csi/connectors/mount")
    }

    async fn publish_raw(
        &self,
        volume_id: &str,
        target: &str,
        context: HashMap<String, String>,
    ) -> Result<(), tonic::Status> {
        let mut request = publish_request(volume_id, Path::new("/"), context);
        request.target_path = target.to_owned();
        let mut node = self.clients.node.clone();
        node.node_publish_volume(request).await.map(|_| ())
    }

    async fn publish(&self, volume_id: &str, target: &Path) -> Result<(), tonic::Status> {
        let context = with_kubelet_token(quickstart_context(), TOKEN);
        self.publish_raw(volume_id, &target.display().to_string(), context)
            .await
    }

    async fn unpublish_raw(&self, volume_id: &str, target: &str) -> Result<(), tonic::Status> {
        let request = NodeUnpublishVolumeRequest {
            volume_id: volume_id.to_owned(),
            target_path: target.to_owned(),
        };
        let mut node = self.clients.node.clone();
        node.node_unpublish_volume(request).await.map(|_| ())
    }

    async fn unpublish(&self, volume_id: &str, target: &Path) -> Result<(), tonic::Status> {
        self.unpublish_raw(volume_id, &target.display().to_string())
            .await
    }
}

fn write_user_files(dir: &Path) {
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    std::fs::write(dir.join("sub/deep.txt"), "also mine").unwrap();
}

fn assert_user_files(dir: &Path) {
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("sub/deep.txt")).unwrap(),
        "also mine"
    );
}

fn assert_code(result: Result<(), tonic::Status>, code: Code, mentions: &str) {
    let status = result.expect_err("expected a refusal, got OK");
    assert_eq!(status.code(), code, "{}", status.message());
    assert!(
        status.message().contains(mentions),
        "{:?} should mention {mentions:?}",
        status.message()
    );
    assert!(!status.message().contains(TOKEN), "{}", status.message());
}

#[tokio::test]
async fn unpublish_of_a_foreign_directory_with_files_keeps_them_and_is_not_ok() {
    let node = Node::start().await;
    let target = node.target("plain");
    write_user_files(&target);
    assert_code(
        node.unpublish("vol-a", &target).await,
        Code::FailedPrecondition,
        "left untouched",
    );
    assert_user_files(&target);
    // Its parent, spelled with `..`, is refused before anything is looked at.
    let parent = format!("{}/..", target.display());
    assert_code(
        node.unpublish_raw("vol-a", &parent).await,
        Code::InvalidArgument,
        "normalised",
    );
    assert_user_files(&target);
    node.handle.stop().await;
}

#[tokio::test]
async fn unpublish_removes_an_empty_directory_and_a_missing_target_is_success() {
    let node = Node::start().await;
    let target = node.target("empty");
    std::fs::create_dir_all(&target).unwrap();
    node.unpublish("vol-a", &target).await.unwrap();
    assert!(!target.exists());
    node.unpublish("vol-a", &target).await.unwrap();
    node.handle.stop().await;
}

#[tokio::test]
async fn unpublish_of_a_foreign_tmpfs_leaves_it_mounted_with_its_files() {
    if !needs_root() {
        return;
    }
    let node = Node::start().await;
    let target = node.target("foreign");
    std::fs::create_dir_all(&target).unwrap();
    SystemMounter
        .mount_tmpfs(&target, "someone-else", 1 << 20, &MountOptions::default())
        .unwrap();
    write_user_files(&target);
    assert_code(
        node.unpublish("vol-a", &target).await,
        Code::FailedPrecondition,
        "someone-else",
    );
    assert_user_files(&target);
    assert_code(
        node.publish("vol-a", &target).await,
        Code::FailedPrecondition,
        "tmpfs",
    );
    assert_user_files(&target);
    SystemMounter.unmount(&target).unwrap();
    node.handle.stop().await;
}

#[tokio::test]
async fn a_foreign_tmpfs_mounted_over_a_published_volume_is_never_taken_for_it() {
    if !needs_root() {
        return;
    }
    let node = Node::start().await;
    let target = node.target("stacked");
    node.publish("vol-a", &target).await.unwrap();
    SystemMounter
        .mount_tmpfs(&target, "someone-else", 1 << 20, &MountOptions::default())
        .unwrap();
    write_user_files(&target);

    assert_code(
        node.publish("vol-a", &target).await,
        Code::FailedPrecondition,
        "someone-else",
    );
    assert_code(
        node.unpublish("vol-a", &target).await,
        Code::FailedPrecondition,
        "someone-else",
    );
    // Still on top: its files are what the target shows.
    assert_user_files(&target);

    // Once it is gone, the volume underneath is found and unpublished.
    SystemMounter.unmount(&target).unwrap();
    assert!(is_read_only_tmpfs(&target));
    node.unpublish("vol-a", &target).await.unwrap();
    assert!(mount_at(&target).is_none());
    assert!(!target.exists());
    node.handle.stop().await;
}

#[tokio::test]
async fn another_volume_id_on_a_mounted_target_is_refused_and_both_calls_leave_its_files() {
    if !needs_root() {
        return;
    }
    let node = Node::start().await;
    let target = node.target("a");
    node.publish("vol-a", &target).await.unwrap();
    let before = std::fs::read_link(target.join("..data")).unwrap();
    // Even with a connector that does not exist: never a false OK.
    let mut context = quickstart_context();
    context.insert("connector.name".into(), "no-such-connector".into());
    let other = node
        .publish_raw("vol-b", &target.display().to_string(), context)
        .await;
    assert_code(other, Code::FailedPrecondition, "another volume");
    assert_code(
        node.publish("vol-b", &target).await,
        Code::FailedPrecondition,
        "another volume",
    );
    assert_code(
        node.unpublish("vol-b", &target).await,
        Code::FailedPrecondition,
        "another volume",
    );
    assert!(is_read_only_tmpfs(&target));
    assert_eq!(std::fs::read_link(target.join("..data")).unwrap(), before);
    node.unpublish("vol-a", &target).await.unwrap();
    assert!(!target.exists());
    node.handle.stop().await;
}

#[tokio::test]
async fn a_failing_publish_over_an_empty_leftover_tmpfs_is_not_ok_and_leaves_nothing() {
    if !needs_root() {
        return;
    }
    let node = Node::start().await;
    let target = node.target("leftover");
    // What a crash between mount and record leaves: our tmpfs, writable,
    // empty, no record.
    std::fs::create_dir_all(&target).unwrap();
    SystemMounter
        .mount_tmpfs(
            &target,
            &mount_source("vol-a"),
            1 << 20,
            &MountOptions::default(),
        )
        .unwrap();
    let mut context = with_kubelet_token(quickstart_context(), TOKEN);
    context.insert("connector.name".into(), "no-such-connector".into());
    let failed = node
        .publish_raw("vol-a", &target.display().to_string(), context)
        .await;
    assert_code(failed, Code::NotFound, "no-such-connector");
    assert!(mount_at(&target).is_none(), "{:?}", mount_at(&target));
    // The retry with a good request publishes afresh.
    std::fs::create_dir_all(&target).unwrap();
    SystemMounter
        .mount_tmpfs(
            &target,
            &mount_source("vol-a"),
            1 << 20,
            &MountOptions::default(),
        )
        .unwrap();
    node.publish("vol-a", &target).await.unwrap();
    assert!(is_read_only_tmpfs(&target));
    assert!(target.join("..data").exists());
    node.unpublish("vol-a", &target).await.unwrap();
    node.handle.stop().await;
}

#[tokio::test]
async fn a_restart_removes_a_leftover_tmpfs_without_a_record() {
    if !needs_root() {
        return;
    }
    let node = Node::start().await;
    let target = node.target("crashed");
    std::fs::create_dir_all(&target).unwrap();
    SystemMounter
        .mount_tmpfs(
            &target,
            &mount_source("vol-c"),
            1 << 20,
            &MountOptions::default(),
        )
        .unwrap();
    let node = node.restart().await;
    assert!(mount_at(&target).is_none());
    assert!(!target.exists());
    node.handle.stop().await;
}

#[tokio::test]
async fn relative_dotted_symlinked_and_outside_targets_are_refused_with_nothing_mounted() {
    let node = Node::start().await;
    let root = node.dir.path().display().to_string();
    let elsewhere = support::mounts::NodeDir::new();
    std::fs::create_dir_all(node.dir.path().join("pods")).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), node.dir.path().join("pods/linked")).unwrap();
    let cases = [
        ("pods/x/mount".to_owned(), "absolute"),
        (format!("{root}/pods/x/../../escaped/mount"), "normalised"),
        (format!("{root}/pods/./x/mount"), "normalised"),
        (format!("{root}//pods/x/mount"), "normalised"),
        (format!("{root}/pods/x/mount/"), "normalised"),
        (format!("{root}/pods/linked/mount"), "symlink"),
        (format!("{root}/pods/linked"), "symlink"),
        (
            "/tmp/outside-the-kubelet-root/mount".to_owned(),
            "kubelet root",
        ),
    ];
    for (target, rule) in cases {
        let context = with_kubelet_token(quickstart_context(), TOKEN);
        assert_code(
            node.publish_raw("vol-a", &target, context).await,
            Code::InvalidArgument,
            rule,
        );
    }
    assert!(std::fs::read_dir(elsewhere.path())
        .unwrap()
        .next()
        .is_none());
    assert!(!node.dir.path().join("escaped").exists());
    assert!(!Path::new("/tmp/outside-the-kubelet-root").exists());
    node.handle.stop().await;
}

#[tokio::test]
async fn a_target_inside_or_above_another_volume_is_refused() {
    if !needs_root() {
        return;
    }
    let node = Node::start().await;
    let a = node.target("a");
    node.publish("vol-a", &a).await.unwrap();
    let inside = a.join("nested");
    assert_code(
        node.publish("vol-b", &inside).await,
        Code::InvalidArgument,
        "inside the volume",
    );
    let above = a.parent().unwrap();
    assert_code(
        node.publish("vol-b", above).await,
        Code::InvalidArgument,
        "below it",
    );
    assert!(is_read_only_tmpfs(&a));
    node.unpublish("vol-a", &a).await.unwrap();
    node.handle.stop().await;
}

#[tokio::test]
async fn state_is_private_and_a_long_volume_id_publishes() {
    if !needs_root() {
        return;
    }
    let node = Node::start().await;
    let target = node.target("long-id");
    let long_id = "csi-".to_owned() + &"0123456789abcdef".repeat(20);
    node.publish(&long_id, &target).await.unwrap();
    let state = node.dir.path().join("state");
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700);
    let records: Vec<PathBuf> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(records.len(), 1);
    assert_eq!(mode(&records[0]), 0o600);
    let node = node.restart().await;
    node.unpublish(&long_id, &target).await.unwrap();
    assert!(!target.exists());
    assert!(std::fs::read_dir(&state).unwrap().next().is_none());
    node.handle.stop().await;
}
