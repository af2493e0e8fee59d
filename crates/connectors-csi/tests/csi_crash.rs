//! Crash safety: the real `serve` binary is killed with SIGKILL at random
//! moments of publish, update (a new token) and unpublish of a 150-file
//! volume, restarted on the same state directory, and kubelet's retry of the
//! interrupted call is replayed, as kubelet would. After every restart and
//! retry, each target is either fully published (every file of the last
//! token, a read-only tmpfs, a state record, no other generation) or absent
//! (no mount, no directory, no record), and nothing else of ours is mounted.
//!
//! `CRASH_SEED=N` replays one run; the seed is printed on failure.

#![allow(clippy::unwrap_used)] // test code: a failed step is a failed test

mod support;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use connectors_csi::csi::proto::node_client::NodeClient;
use connectors_csi::csi::proto::NodeUnpublishVolumeRequest;
use support::attributes::with_kubelet_token;
use support::driver::{connect, publish_request};
use support::mounts::{is_read_only_tmpfs, mount_at};
use support::needs_root;
use support::process::{wait_for_socket, ServeProcess};
use support::AUDIENCE;
use tonic::transport::Channel;

const FILES: usize = 150;
const TARGETS: usize = 3;
const ITERATIONS: usize = 200;

/// A class whose one configuration holds [`FILES`] files, each naming the
/// token, so that a new token rewrites all of them.
fn write_manifests(dir: &Path) -> PathBuf {
    let manifests = dir.join("manifests");
    fs::create_dir_all(&manifests).unwrap();
    let mut class = String::from(
        "apiVersion: connectors.alauda.io/v1alpha1\nkind: ConnectorClass\n\
         metadata:\n  name: many\nspec:\n  address:\n    type: string\n  \
         configurations:\n  - name: many\n    data:\n",
    );
    for i in 0..FILES {
        class.push_str(&format!(
            "      file-{i:03}: \"{{{{ .context.token }}}} {i} {}\"\n",
            "x".repeat(200)
        ));
    }
    fs::write(manifests.join("class.yaml"), class).unwrap();
    fs::write(
        manifests.join("connector.yaml"),
        "apiVersion: connectors.alauda.io/v1alpha1\nkind: Connector\n\
         metadata:\n  name: many\n  namespace: default\n\
         spec:\n  address: https://example.com\n  connectorClassName: many\n",
    )
    .unwrap();
    manifests
}

/// Deterministic randomness, replayable from the printed seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// What the test expects at one target once its last call completed.
#[derive(Clone, Debug, PartialEq)]
enum Expected {
    Absent,
    Published { token: String },
}

struct Node {
    dir: PathBuf,
    manifests: PathBuf,
}

impl Node {
    fn root(&self) -> PathBuf {
        self.dir.join("kubelet")
    }

    fn target(&self, i: usize) -> PathBuf {
        self.root()
            .join(format!("pods/pod-{i}/volumes/kubernetes.io~csi/v/mount"))
    }

    fn volume_id(i: usize) -> String {
        format!("csi-crash-{i}")
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("csi.sock")
    }

    fn state_dir(&self) -> PathBuf {
        self.dir.join("state")
    }

    async fn start(&self) -> (ServeProcess, NodeClient<Channel>) {
        let _ = fs::remove_file(self.socket());
        let mut command = ServeProcess::command();
        command
            .arg("--endpoint")
            .arg(format!("unix://{}", self.socket().display()))
            .args(["--node-id", "crash-node", "--token-audience", AUDIENCE])
            .arg("--kubelet-root-dir")
            .arg(self.root())
            .arg("--state-dir")
            .arg(self.state_dir())
            .arg("--manifests")
            .arg(&self.manifests);
        let process = ServeProcess::spawn(&mut command, false);
        wait_for_socket(&self.socket()).await;
        let client = NodeClient::new(connect(&self.socket()).await);
        (process, client)
    }

    async fn publish(
        &self,
        client: &mut NodeClient<Channel>,
        i: usize,
        token: &str,
    ) -> Result<(), tonic::Status> {
        let context: HashMap<String, String> = [
            ("connector.name", "many"),
            ("configuration.names", "many"),
            ("csi.storage.k8s.io/pod.name", "app"),
            ("csi.storage.k8s.io/pod.namespace", "default"),
            ("csi.storage.k8s.io/pod.uid", "uid-app"),
            ("csi.storage.k8s.io/serviceAccount.name", "default"),
            ("csi.storage.k8s.io/ephemeral", "true"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let request = publish_request(
            &Node::volume_id(i),
            &self.target(i),
            with_kubelet_token(context, token),
        );
        client.node_publish_volume(request).await.map(|_| ())
    }

    async fn unpublish(
        &self,
        client: &mut NodeClient<Channel>,
        i: usize,
    ) -> Result<(), tonic::Status> {
        let request = NodeUnpublishVolumeRequest {
            volume_id: Node::volume_id(i),
            target_path: self.target(i).display().to_string(),
        };
        client.node_unpublish_volume(request).await.map(|_| ())
    }

    /// Kubelet's side: the call, retried until it succeeds.
    async fn settle(&self, client: &mut NodeClient<Channel>, i: usize, expected: &Expected) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let done = match expected {
                Expected::Absent => self.unpublish(client, i).await,
                Expected::Published { token } => self.publish(client, i, token).await,
            };
            match done {
                Ok(()) => return,
                Err(status) => {
                    assert!(
                        Instant::now() < deadline,
                        "retries keep failing: {status:?}"
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn records(&self) -> Vec<String> {
        fs::read_dir(self.state_dir())
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| fs::read_to_string(e.path()).unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every tmpfs mounted below the kubelet root.
    fn mounts_below_root(&self) -> Vec<PathBuf> {
        let root = self.root();
        let text = fs::read_to_string("/proc/self/mountinfo").unwrap();
        text.lines()
            .filter_map(|line| line.split(' ').nth(4).map(PathBuf::from))
            .filter(|point| point.starts_with(&root))
            .collect()
    }

    fn check(&self, i: usize, expected: &Expected, context: &str) {
        let target = self.target(i);
        let id = Node::volume_id(i);
        let recorded = self.records().iter().any(|r| r.contains(&id));
        match expected {
            Expected::Absent => {
                assert!(mount_at(&target).is_none(), "{context}: {id} still mounted");
                assert!(!target.exists(), "{context}: {id}'s directory left");
                assert!(!recorded, "{context}: a record of {id} without a volume");
            }
            Expected::Published { token } => {
                assert!(
                    is_read_only_tmpfs(&target),
                    "{context}: {id} not a sealed tmpfs"
                );
                assert!(recorded, "{context}: {id} mounted without a record");
                let generations: Vec<_> = fs::read_dir(&target)
                    .unwrap()
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with("..") && n != "..data")
                    .collect();
                assert_eq!(
                    generations.len(),
                    1,
                    "{context}: {id} holds {generations:?}"
                );
                for f in 0..FILES {
                    let text = fs::read_to_string(target.join(format!("file-{f:03}")))
                        .unwrap_or_else(|e| panic!("{context}: {id} file-{f:03}: {e}"));
                    assert!(
                        text.starts_with(&format!("{token} {f} ")),
                        "{context}: {id} file-{f:03} is not of the last token"
                    );
                }
            }
        }
    }

    /// Nothing of ours mounted that the test does not expect.
    fn check_no_leak(&self, expected: &[Expected], context: &str) {
        let wanted: Vec<PathBuf> = (0..TARGETS)
            .filter(|&i| expected[i] != Expected::Absent)
            .map(|i| self.target(i))
            .collect();
        for mount in self.mounts_below_root() {
            assert!(
                wanted.contains(&mount),
                "{context}: leaked mount {}",
                mount.display()
            );
        }
    }
}

/// A SIGKILL, as the OOM killer or a node drain's force would send it.
fn kill(process: &mut ServeProcess) {
    let pid = process.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .unwrap()
        .success());
    let _ = process.child.wait();
}

#[tokio::test]
async fn a_driver_killed_mid_call_leaves_every_target_whole_or_absent_after_restart() {
    if !needs_root() {
        return;
    }
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let dir = support::mounts::NodeDir::new();
    let node = Node {
        dir: dir.path().to_owned(),
        manifests: write_manifests(dir.path()),
    };
    fs::create_dir_all(node.root()).unwrap();
    let _cleanup = Unmount(node.root());
    let mut expected = vec![Expected::Absent; TARGETS];

    // How long one uninterrupted publish takes: kills land within it.
    let (mut process, mut client) = node.start().await;
    let started = Instant::now();
    node.publish(&mut client, 0, "token-0").await.unwrap();
    let span = started.elapsed().as_micros() as u64 + 1;
    expected[0] = Expected::Published {
        token: "token-0".into(),
    };

    let mut mid_flight = 0;
    for iteration in 1..=ITERATIONS {
        let i = rng.below(TARGETS as u64) as usize;
        let next = match (&expected[i], rng.below(3)) {
            (Expected::Published { .. }, 0) => Expected::Absent,
            _ => Expected::Published {
                token: format!("token-{iteration}"),
            },
        };
        let delay = Duration::from_micros(rng.below(span));
        let call = async {
            match &next {
                Expected::Absent => node.unpublish(&mut client, i).await,
                Expected::Published { token } => node.publish(&mut client, i, token).await,
            }
        };
        if tokio::time::timeout(delay, call).await.is_err() {
            mid_flight += 1;
        }
        kill(&mut process);
        expected[i] = next;
        let context = format!("seed {seed}, iteration {iteration}, target {i}");

        (process, client) = node.start().await;
        // The restart alone: no record without its mount, no mount of ours
        // without a record.
        for j in 0..TARGETS {
            let id = Node::volume_id(j);
            let mounted = mount_at(&node.target(j)).is_some();
            let recorded = node.records().iter().any(|r| r.contains(&id));
            assert_eq!(
                mounted, recorded,
                "{context}: after restart, {id} mounted={mounted} recorded={recorded}"
            );
        }
        node.settle(&mut client, i, &expected[i]).await;
        node.check(i, &expected[i], &context);
        node.check_no_leak(&expected, &context);
    }
    kill(&mut process);
    eprintln!("{mid_flight} of {ITERATIONS} kills landed while the call was in flight");
    // The kills are spread over one publish's duration: a good part must
    // land mid-call (about half do on an idle machine), or the test would
    // not be testing crashes.
    assert!(
        mid_flight * 5 >= ITERATIONS,
        "only {mid_flight} kills mid-call"
    );
}

/// Unmounts whatever is left below the kubelet root, even after a panic.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut points: Vec<PathBuf> = text
            .lines()
            .filter_map(|line| line.split(' ').nth(4).map(PathBuf::from))
            .filter(|point| point.starts_with(&self.0))
            .collect();
        points.reverse();
        for point in points {
            let _ = Command::new("umount").arg(&point).status();
        }
    }
}
