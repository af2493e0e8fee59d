//! What a ConnectorClass author's templates can do to the node, over the
//! socket of the real `serve` binary (a child process, so its own memory is
//! what is measured): templates that double what they build fail with
//! ResourceExhausted in a few seconds while the driver's peak RSS stays
//! small; key generation stops at the render's time limit while Probe and
//! other publishes answer; values nested past what a stack can follow
//! neither crash the driver nor differ from Go.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use connectors_csi::csi::proto::identity_client::IdentityClient;
use connectors_csi::csi::proto::node_client::NodeClient;
use connectors_csi::csi::proto::{NodeUnpublishVolumeRequest, ProbeRequest};
use support::attributes::{quickstart_context, with_kubelet_token};
use support::driver::{class_manifests, connect, publish_request, quickstart};
use support::mounts::mount_at;
use support::needs_root;
use support::process::{wait_for_socket, ServeProcess};
use tonic::transport::Channel;
use tonic::Code;

const TOKEN: &str = "budget-token-s3cr3t";

/// The render budget's default bound on bytes built, as errors name it.
const BUILT_LIMIT: &str = "limit of 16777216 bytes";

/// The render budget's default time bound, as errors name it.
const TIME_LIMIT: &str = "took longer than the limit of 2s";

/// Each doubles what it builds 40 times (a terabyte at the end).
const DOUBLING: &[(&str, &str)] = &[
    (
        "printf",
        r#"{{ $s := "x" }}{{ range until 40 }}{{ $s = printf "%s%s" $s $s }}{{ end }}{{ len $s }}"#,
    ),
    (
        "cat",
        r#"{{ $s := "x" }}{{ range until 40 }}{{ $s = cat $s $s }}{{ end }}{{ len $s }}"#,
    ),
    (
        "concat",
        r#"{{ $l := list "x" }}{{ range until 40 }}{{ $l = concat $l $l }}{{ end }}{{ len $l }}"#,
    ),
    (
        "tojson",
        r#"{{ $s := "x" }}{{ range until 40 }}{{ $s = toJson (list $s $s) }}{{ end }}{{ len $s }}"#,
    ),
];

/// A ConnectorClass `budget` with one configuration per `(name, template)`,
/// each rendering the file `NAME.txt`, and a Connector `budget` of it.
fn budget_class(dir: &Path, configurations: &[(&str, &str)]) -> PathBuf {
    let files: Vec<String> = configurations
        .iter()
        .map(|(name, _)| format!("{name}.txt"))
        .collect();
    let entries: Vec<(&str, &str, &str)> = configurations
        .iter()
        .zip(&files)
        .map(|((name, template), file)| (*name, file.as_str(), *template))
        .collect();
    class_manifests(dir, "budget", &entries)
}

/// `serve` as the DaemonSet runs it, on the quick start and `class`.
struct Served {
    process: ServeProcess,
    identity: IdentityClient<Channel>,
    node: NodeClient<Channel>,
}

async fn serve(dir: &Path, class: &Path) -> Served {
    let socket = dir.join("csi.sock");
    let mut command = ServeProcess::command();
    command
        .arg("--endpoint")
        .arg(format!("unix://{}", socket.display()))
        .args(["--node-id", "node-budget", "--render-concurrency", "2"])
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--kubelet-root-dir")
        .arg(dir)
        .arg("--manifests")
        .arg(quickstart())
        .arg("--manifests")
        .arg(class)
        .args(["--token-audience", support::AUDIENCE]);
    let process = ServeProcess::spawn(&mut command, false);
    wait_for_socket(&socket).await;
    let channel = connect(&socket).await;
    Served {
        process,
        identity: IdentityClient::new(channel.clone()),
        node: NodeClient::new(channel),
    }
}

impl Served {
    /// A line of the driver's `/proc/PID/status`, in KiB (`VmRSS`, `VmHWM`).
    fn memory_kib(&self, field: &str) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.process.child.id())).unwrap();
        let line = status
            .lines()
            .find(|line| line.starts_with(&format!("{field}:")))
            .unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// Publishes configuration `configuration` of the `budget` class (or the
    /// quick start's built-in files, for `None`) at `target`.
    async fn publish(
        &self,
        volume: &str,
        target: &Path,
        configuration: Option<&str>,
    ) -> Result<(), tonic::Status> {
        let mut context: HashMap<String, String> = with_kubelet_token(quickstart_context(), TOKEN);
        if let Some(configuration) = configuration {
            context.insert("connector.name".into(), "budget".into());
            context.insert("configuration.names".into(), configuration.into());
        }
        let request = publish_request(volume, target, context);
        self.node
            .clone()
            .node_publish_volume(request)
            .await
            .map(|_| ())
    }

    async fn probe(&self) -> Duration {
        let started = Instant::now();
        self.identity.clone().probe(ProbeRequest {}).await.unwrap();
        started.elapsed()
    }
}

/// The message a budget failure of `configuration` gives: it names the
/// class, the configuration, the file and the bound.
fn assert_names_the_file(status: &tonic::Status, configuration: &str) {
    let message = status.message();
    for part in [
        "connectorclass \"budget\"".to_owned(),
        format!("configuration \"{configuration}\""),
        format!("file \"{configuration}.txt\""),
        "limit of".to_owned(),
    ] {
        assert!(message.contains(&part), "{part} missing: {message}");
    }
}

#[tokio::test]
async fn doubling_templates_fail_fast_and_the_driver_stays_small() {
    if !needs_root() {
        return;
    }
    let dir = support::mounts::NodeDir::new();
    let served = serve(dir.path(), &budget_class(dir.path(), DOUBLING)).await;
    served.probe().await;
    let idle = served.memory_kib("VmRSS");
    for (configuration, _) in DOUBLING {
        let target = dir.path().join(format!("pods/{configuration}/mount"));
        let started = Instant::now();
        let status = served
            .publish(
                &format!("vol-{configuration}"),
                &target,
                Some(configuration),
            )
            .await
            .unwrap_err();
        let took = started.elapsed();
        eprintln!("{configuration}: {took:?}: {}", status.message());
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert_names_the_file(&status, configuration);
        // The byte bound, or on a loaded machine running this debug build
        // the time bound first: either stops the doubling long before it
        // costs memory.
        let message = status.message();
        assert!(
            message.contains(BUILT_LIMIT) || message.contains(TIME_LIMIT),
            "{status:?}"
        );
        assert!(
            took < Duration::from_secs(3),
            "{configuration} took {took:?}"
        );
        assert!(mount_at(&target).is_none(), "{configuration}");
        assert!(!target.exists(), "{configuration}");
    }
    let peak = served.memory_kib("VmHWM");
    eprintln!("idle RSS {idle} KiB, peak RSS {peak} KiB");
    assert!(peak < 96 * 1024, "peak RSS {peak} KiB");
    assert!(
        peak - idle < 64 * 1024,
        "peak RSS {peak} KiB, {idle} KiB idle"
    );
    // The driver is still whole and publishes a normal volume.
    let target = dir.path().join("pods/normal/mount");
    served.publish("vol-normal", &target, None).await.unwrap();
    assert!(target.join("context.token").is_file());
}

#[tokio::test]
async fn thirty_rsa_keys_stop_at_the_time_limit_while_probe_and_another_publish_answer() {
    if !needs_root() {
        return;
    }
    let dir = support::mounts::NodeDir::new();
    let keys = r#"{{ range until 30 }}{{ genPrivateKey "rsa" }}{{ end }}"#;
    let served = serve(dir.path(), &budget_class(dir.path(), &[("keys", keys)])).await;
    let served = std::sync::Arc::new(served);
    let slow = {
        let served = served.clone();
        let target = dir.path().join("pods/keys/mount");
        tokio::spawn(async move {
            let started = Instant::now();
            let result = served.publish("vol-keys", &target, Some("keys")).await;
            (result, started.elapsed(), Instant::now())
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;

    let probe = served.probe().await;
    let target = dir.path().join("pods/normal/mount");
    let started = Instant::now();
    served.publish("vol-normal", &target, None).await.unwrap();
    let publish = started.elapsed();
    let normal_done = Instant::now();

    let (result, took, keys_done) = slow.await.unwrap();
    let status = result.unwrap_err();
    eprintln!(
        "keys: {took:?}: {}; probe {probe:?}, publish {publish:?}",
        status.message()
    );
    assert!(
        keys_done > normal_done,
        "the key render ended too soon to show anything"
    );
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_names_the_file(&status, "keys");
    assert!(status.message().contains(TIME_LIMIT), "{status:?}");
    assert!(
        took < Duration::from_secs(4),
        "the key render took {took:?}"
    );
    assert!(probe < Duration::from_millis(500), "Probe took {probe:?}");
    assert!(publish < Duration::from_secs(1), "publish took {publish:?}");
    assert!(target.join("context.token").is_file());
}

#[tokio::test]
async fn values_nested_past_what_a_stack_follows_render_as_go_does_and_the_driver_survives() {
    if !needs_root() {
        return;
    }
    let dir = support::mounts::NodeDir::new();
    let configurations = [
        // Go's encoding/json accepts 10000 levels and refuses 10001.
        (
            "json-deepest",
            r#"{{ $s := printf "%s%s" (repeat 10000 "[") (repeat 10000 "]") }}{{ mustFromJson $s | len }}"#,
        ),
        (
            "json-too-deep",
            r#"{{ $s := printf "%s%s" (repeat 10001 "[") (repeat 10001 "]") }}{{ mustFromJson $s }}"#,
        ),
        // A list wrapped in a list 100,000 times, within the budget.
        (
            "wrapped",
            r#"{{ $l := list }}{{ range until 100000 }}{{ $l = list $l }}{{ end }}{{ len $l }}"#,
        ),
    ];
    let served = serve(dir.path(), &budget_class(dir.path(), &configurations)).await;

    let target = dir.path().join("pods/deepest/mount");
    served
        .publish("vol-deepest", &target, Some("json-deepest"))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(target.join("json-deepest.txt")).unwrap(),
        "1"
    );
    served
        .node
        .clone()
        .node_unpublish_volume(NodeUnpublishVolumeRequest {
            volume_id: "vol-deepest".into(),
            target_path: target.display().to_string(),
        })
        .await
        .unwrap();

    let target = dir.path().join("pods/too-deep/mount");
    let status = served
        .publish("vol-too-deep", &target, Some("json-too-deep"))
        .await
        .unwrap_err();
    eprintln!("json-too-deep: {}", status.message());
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status
            .message()
            .contains("error calling mustFromJson: invalid character '[' exceeded max depth"),
        "{status:?}"
    );
    assert!(!target.exists());

    let target = dir.path().join("pods/wrapped/mount");
    served
        .publish("vol-wrapped", &target, Some("wrapped"))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(target.join("wrapped.txt")).unwrap(),
        "1"
    );
    served.probe().await;
}
