//! Shared test support, included by every integration test as `mod support;`:
//! the fake API server, the in-process driver harness, cluster wiring,
//! volume attributes, log capture, HTTP, polling and the root check.

#![allow(dead_code, clippy::unwrap_used)]

pub mod attributes;
pub mod cluster;
pub mod driver;
pub mod http;
pub mod install;
pub mod logs;
pub mod mounts;
pub mod node;
pub mod permissions;
pub mod process;
pub mod tools;

use std::time::Duration;

/// The in-process fake API server (its own crate, shared with the bench).
pub use fake_apiserver as apiserver;

/// The audience the test drivers take and ask tokens for.
pub const AUDIENCE: &str = "connectors-proxy";

/// The driver's own namespace in the cluster tests.
pub const DRIVER_NAMESPACE: &str = "connectors-system";

/// Tests that mount real tmpfs start with `if !needs_root() { return; }`:
/// without root they say so on stderr, and under `CI=true` they fail
/// instead, so CI never passes a suite that did not run.
pub fn needs_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if root {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "this test mounts tmpfs and needs root; CI=true, so it fails instead of skipping"
    );
    eprintln!("skipped: needs root");
    false
}

/// Polls `condition` every 10 ms for up to 10 s.
pub async fn eventually(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    for _ in 0..1000 {
        if condition().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}");
}
