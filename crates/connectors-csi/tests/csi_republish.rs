//! Kubelet republishes every volume about once a minute: an identical one
//! leaves the files alone (file watchers see nothing), a new token swaps.

#![allow(clippy::unwrap_used)]

mod support;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use support::attributes::{quickstart_context, with_kubelet_token};
use support::driver::Options;
use support::driver::{publish_request, start, Clients};
use support::mounts::is_read_only_tmpfs;
use support::needs_root;

async fn publish(clients: &Clients, target: &Path, token: &str) {
    let request = publish_request(
        "vol-quiet",
        target,
        with_kubelet_token(quickstart_context(), token),
    );
    clients
        .node
        .clone()
        .node_publish_volume(request)
        .await
        .unwrap();
}

/// `..data`'s target and each visible file's inode.
fn snapshot(target: &Path) -> (PathBuf, Vec<(String, u64)>) {
    let mut inodes: Vec<(String, u64)> = std::fs::read_dir(target)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with(".."))
        .map(|name| {
            let ino = std::fs::metadata(target.join(&name)).unwrap().ino();
            (name, ino)
        })
        .collect();
    inodes.sort();
    (std::fs::read_link(target.join("..data")).unwrap(), inodes)
}

#[tokio::test]
async fn an_identical_republish_changes_nothing_and_a_new_token_swaps() {
    if !needs_root() {
        return;
    }
    let dir = support::mounts::NodeDir::new();
    let (clients, handle) = start(Options::new(dir.path())).await;
    let target = dir.path().join("pods/q/volumes/v/mount");
    publish(&clients, &target, "quiet-token-one").await;
    let first = snapshot(&target);
    assert!(!first.1.is_empty());
    let state_file = std::fs::read_dir(dir.path().join("state"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let state_written = std::fs::metadata(&state_file).unwrap().mtime_nsec();
    for _ in 0..3 {
        publish(&clients, &target, "quiet-token-one").await;
        assert_eq!(snapshot(&target), first);
        assert!(is_read_only_tmpfs(&target));
    }
    assert_eq!(
        std::fs::metadata(&state_file).unwrap().mtime_nsec(),
        state_written,
        "the record was rewritten"
    );
    publish(&clients, &target, "quiet-token-two").await;
    let second = snapshot(&target);
    assert_ne!(second.0, first.0, "a new token must swap ..data");
    assert!(is_read_only_tmpfs(&target));
    handle.stop().await;
}
