//! Upstream's permission model over the real socket, with real tmpfs and the
//! fake API server: the feature flags in `connectors-config`, the `get`
//! check, and the proxy check in its two grant shapes.

#![allow(clippy::unwrap_used)] // test code: a failed step is a failed test

mod support;

use std::path::PathBuf;
use std::sync::Arc;

use connectors_csi::access::DecisionCacheConfig;
use connectors_csi::catalog::Catalog;
use connectors_csi::cluster::ClusterSettings;
use connectors_csi::mount::{Mounter, SystemMounter};
use connectors_csi::tokens::Tokens;
use serde_json::{json, Value as Json};
use support::apiserver::{FakeApiServer, Grant, Kind};
use support::attributes::{team_a_pod, with_kubelet_token};
use support::cluster::{self, git_class, git_connector};
use support::driver::{self, Clients, DriverHandle};
use support::mounts::mount_at;
use support::{eventually, needs_root, AUDIENCE, DRIVER_NAMESPACE};
use tonic::Code;

const TOKEN: &str = "kubelet-token-of-the-pod";

/// A cluster-mode driver on its socket; the service account `team-a/builder`
/// may `get` every connector of `team-a`.
struct Cluster {
    server: FakeApiServer,
    clients: Clients,
    handle: Option<DriverHandle>,
    dir: tempfile::TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let Ok(pods) = std::fs::read_dir(self.dir.path().join("pods")) else {
            return;
        };
        for pod in pods.flatten() {
            for volume in std::fs::read_dir(pod.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let target = volume.path();
                if SystemMounter.is_mounted(&target).unwrap_or(false) {
                    let _ = SystemMounter.unmount(&target);
                }
            }
        }
    }
}

impl Cluster {
    /// Every access check asks the API server (no decision cache).
    async fn start(flags: &[(&str, &str)]) -> Cluster {
        Cluster::start_with(flags, cluster::settings()).await
    }

    async fn start_with(flags: &[(&str, &str)], settings: ClusterSettings) -> Cluster {
        let server = FakeApiServer::start().await;
        server.apply(git_class("# {{ .connector.spec.address }}\n"));
        server.apply(git_connector("github", "https://github.com"));
        server.allow("team-a", "builder", "team-a", "*");
        if !flags.is_empty() {
            server.apply(flags_configmap(flags));
        }
        let dir = tempfile::tempdir().unwrap();
        let parts = cluster::parts(&server, &settings).await;
        let mut options = driver::Options::new(dir.path());
        options.parts = Some((
            parts.catalog as Arc<dyn Catalog>,
            parts.access as _,
            Tokens::kubelet_or(AUDIENCE, parts.tokens),
        ));
        let (clients, handle) = driver::start(options).await;
        Cluster {
            server,
            clients,
            handle: Some(handle),
            dir,
        }
    }

    async fn stop(mut self) {
        if let Some(handle) = self.handle.take() {
            handle.stop().await;
        }
    }

    fn target(&self, pod: &str) -> PathBuf {
        self.dir.path().join("pods").join(pod).join("volume")
    }

    async fn publish(&self, pod: &str) -> Result<(), tonic::Status> {
        self.publish_volume(pod, "volume").await
    }

    /// Publishes the volume `volume` of `pod` at its own target.
    async fn publish_volume(&self, pod: &str, volume: &str) -> Result<(), tonic::Status> {
        let context = with_kubelet_token(
            team_a_pod(
                pod,
                &[
                    ("connector.name", "github"),
                    ("configuration.names", "gitconfig"),
                ],
            ),
            TOKEN,
        );
        let target = self.dir.path().join("pods").join(pod).join(volume);
        let request = driver::publish_request(&format!("csi-{pod}-{volume}"), &target, context);
        let mut node = self.clients.node.clone();
        node.node_publish_volume(request).await.map(|_| ())
    }

    fn is_mounted(&self, pod: &str) -> bool {
        mount_at(&self.target(pod)).is_some()
    }

    fn proxy_reviews(&self) -> usize {
        self.server
            .reviews()
            .iter()
            .filter(|r| {
                let attributes = r.spec.resource_attributes.clone().unwrap_or_default();
                attributes
                    .subresource
                    .is_some_and(|s| s.starts_with("proxy"))
            })
            .count()
    }
}

fn flags_configmap(flags: &[(&str, &str)]) -> Json {
    let data: serde_json::Map<String, Json> = flags
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "connectors-config", "namespace": DRIVER_NAMESPACE},
        "data": data,
    })
}

const PROXY_ON: &[(&str, &str)] = &[("enable-connector-proxy-permissions", "true")];

/// `*` on `connectors/<subresource>` of `team-a/github` for `team-a/builder`.
fn proxy_grant(subresource: &str) -> Grant {
    Grant::service_account("team-a", "builder")
        .in_namespace("team-a")
        .verbs(&["*"])
        .resources(&[&format!("connectors/{subresource}")])
        .names(&["github"])
}

#[tokio::test]
async fn with_the_flags_off_get_on_the_connector_is_enough() {
    if !needs_root() {
        return;
    }
    let cluster = Cluster::start(&[]).await;

    cluster.publish("web-0").await.unwrap();

    assert!(cluster.is_mounted("web-0"));
    assert_eq!(
        cluster.proxy_reviews(),
        0,
        "no proxy check with the flag off"
    );
    cluster.stop().await;
}

#[tokio::test]
async fn with_proxy_permissions_on_get_alone_is_denied_and_nothing_is_mounted() {
    if !needs_root() {
        return;
    }
    let cluster = Cluster::start(PROXY_ON).await;

    let status = cluster.publish("web-0").await.unwrap_err();

    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let message = status.message();
    assert!(message.contains("\"team-a/github\""), "{message}");
    assert!(message.contains("\"team-a/builder\""), "{message}");
    assert!(message.contains("connectors/proxy"), "{message}");
    assert!(!message.contains(TOKEN));
    assert!(!cluster.is_mounted("web-0"));
    assert!(!cluster.target("web-0").join("context.token").exists());
    assert_eq!(cluster.proxy_reviews(), 2, "both grant shapes were asked");
    assert!(
        cluster.server.objects(Kind::AccessRequest).is_empty(),
        "no AccessRequest without enable-connectors-approval"
    );
    cluster.stop().await;
}

#[tokio::test]
async fn a_grant_on_connectors_proxy_lets_every_pod_of_the_service_account_mount() {
    if !needs_root() {
        return;
    }
    let cluster = Cluster::start(PROXY_ON).await;
    cluster.server.grant(proxy_grant("proxy"));

    cluster.publish("web-0").await.unwrap();
    cluster.publish("web-1").await.unwrap();

    assert!(cluster.is_mounted("web-0"));
    assert!(cluster.is_mounted("web-1"));
    cluster.stop().await;
}

#[tokio::test]
async fn a_pod_scoped_grant_covers_only_its_pod() {
    if !needs_root() {
        return;
    }
    let cluster = Cluster::start(PROXY_ON).await;
    cluster
        .server
        .grant(proxy_grant("proxy/v1/pod/team-a/web-0"));

    cluster.publish("web-0").await.unwrap();
    let other = cluster.publish("web-1").await.unwrap_err();

    assert!(cluster.is_mounted("web-0"));
    assert_eq!(other.code(), Code::PermissionDenied, "{other:?}");
    assert!(
        other
            .message()
            .contains("connectors/proxy/v1/pod/team-a/web-1"),
        "{}",
        other.message()
    );
    assert!(!cluster.is_mounted("web-1"));
    cluster.stop().await;
}

#[tokio::test]
async fn a_proxy_grant_to_the_namespaces_service_account_group_counts() {
    if !needs_root() {
        return;
    }
    let cluster = Cluster::start(PROXY_ON).await;
    cluster.server.grant(
        Grant::group("system:serviceaccounts:team-a")
            .in_namespace("team-a")
            .verbs(&["*"])
            .resources(&["connectors/proxy"]),
    );

    cluster.publish("web-0").await.unwrap();

    assert!(cluster.is_mounted("web-0"));
    cluster.stop().await;
}

#[tokio::test]
async fn a_grant_on_connectors_alone_does_not_cover_the_proxy_subresource() {
    if !needs_root() {
        return;
    }
    let cluster = Cluster::start(PROXY_ON).await;
    cluster.server.grant(
        Grant::service_account("team-a", "builder")
            .in_namespace("team-a")
            .verbs(&["*"])
            .resources(&["connectors"]),
    );

    let status = cluster.publish("web-0").await.unwrap_err();

    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    cluster.stop().await;
}

#[tokio::test]
async fn a_flag_flipped_in_the_configmap_changes_the_next_publish_without_a_restart() {
    if !needs_root() {
        return;
    }
    let cluster = Cluster::start(&[]).await;
    cluster.publish("web-0").await.unwrap();

    cluster.server.apply(flags_configmap(PROXY_ON));
    let mut pod = 0;
    eventually("the proxy flag applies to a new publish", async || {
        pod += 1;
        cluster
            .publish(&format!("on-{pod}"))
            .await
            .is_err_and(|s| s.code() == Code::PermissionDenied)
    })
    .await;

    cluster.server.apply(flags_configmap(&[(
        "enable-connector-proxy-permissions",
        "false",
    )]));
    eventually("the flag turned off applies again", async || {
        pod += 1;
        cluster.publish(&format!("off-{pod}")).await.is_ok()
    })
    .await;
    cluster.stop().await;
}

#[tokio::test]
async fn a_malformed_flag_value_reads_as_false() {
    if !needs_root() {
        return;
    }
    let cluster = Cluster::start(&[("enable-connector-proxy-permissions", "yes")]).await;

    cluster.publish("web-0").await.unwrap();

    assert_eq!(cluster.proxy_reviews(), 0);
    cluster.stop().await;
}

#[tokio::test]
async fn a_denial_is_one_event_on_the_pod_even_when_kubelet_retries() {
    if !needs_root() {
        return;
    }
    let cluster = Cluster::start(PROXY_ON).await;

    for _ in 0..5 {
        let status = cluster.publish("web-0").await.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
    }

    eventually("the denial is an Event", async || {
        !cluster
            .server
            .events_with_reason("ConnectorAccessDenied")
            .is_empty()
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let events = cluster.server.events_with_reason("ConnectorAccessDenied");
    assert_eq!(events.len(), 1, "rate-limited: {events:#?}");
    let event = &events[0];
    assert_eq!(event.method, "POST");
    assert_eq!(event.namespace, "team-a");
    assert_eq!(event.event["type"], "Warning");
    assert_eq!(event.event["regarding"]["kind"], "Pod");
    assert_eq!(event.event["regarding"]["name"], "web-0");
    assert_eq!(event.event["regarding"]["uid"], "uid-of-web-0");
    assert_eq!(event.event["related"]["kind"], "Connector");
    assert_eq!(event.event["related"]["name"], "github");
    let note = event.event["note"].as_str().unwrap();
    assert!(
        note.contains("\"team-a/github\"") && note.contains("team-a/builder"),
        "{note}"
    );
    assert!(!event.event.to_string().contains(TOKEN));
    cluster.stop().await;
}

#[tokio::test]
async fn a_denial_for_another_pod_is_its_own_event() {
    if !needs_root() {
        return;
    }
    let cluster = Cluster::start(PROXY_ON).await;

    cluster.publish("web-0").await.unwrap_err();
    cluster.publish("web-1").await.unwrap_err();

    eventually("each pod has its Event", async || {
        cluster
            .server
            .events_with_reason("ConnectorAccessDenied")
            .len()
            == 2
    })
    .await;
    cluster.stop().await;
}

/// Not a pass/fail test: prints kubelet-republish latency with both flags on
/// and decisions cached, against the flags off, measured in one run.
/// `cargo nextest run -p connectors-csi --run-ignored only -E
/// 'test(publish_latency_with_both_flags_on)' --no-capture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run it on purpose"]
async fn publish_latency_with_both_flags_on_and_decisions_cached_against_flags_off() {
    if !needs_root() {
        return;
    }
    let cached = ClusterSettings {
        decisions: DecisionCacheConfig::default(),
        ..cluster::settings()
    };
    let both_on = [
        ("enable-connector-proxy-permissions", "true"),
        ("enable-connectors-approval", "true"),
    ];
    let off = Cluster::start_with(&[], cached.clone()).await;
    let on = Cluster::start_with(&both_on, cached).await;
    on.server.grant(proxy_grant("proxy"));
    const PODS: usize = 10;
    const ROUNDS: usize = 40;
    for pod in 0..PODS {
        off.publish(&format!("web-{pod}")).await.unwrap();
        on.publish(&format!("web-{pod}")).await.unwrap();
    }
    let reviews_before = on.server.reviews().len();
    let (mut off_times, mut on_times) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let pod = format!("web-{}", round % PODS);
        for (cluster, times) in [(&off, &mut off_times), (&on, &mut on_times)] {
            let started = std::time::Instant::now();
            cluster.publish(&pod).await.unwrap();
            times.push(started.elapsed());
        }
    }
    assert_eq!(
        on.server.reviews().len(),
        reviews_before,
        "every decision came from the cache"
    );
    let median = |times: &mut Vec<std::time::Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let (off_median, on_median) = (median(&mut off_times), median(&mut on_times));
    println!(
        "republish median: flags off {off_median:?}, both flags on (cached) {on_median:?}, ratio {:.2}",
        on_median.as_secs_f64() / off_median.as_secs_f64()
    );
    off.stop().await;
    on.stop().await;
}

const APPROVAL_ON: &[(&str, &str)] = &[
    ("enable-connector-proxy-permissions", "true"),
    ("enable-connectors-approval", "true"),
];

/// The one AccessRequest the fake holds, and its `namespace/name`.
fn the_access_request(cluster: &Cluster) -> (Json, String) {
    let requests = cluster.server.objects(Kind::AccessRequest);
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let request = requests[0].clone();
    let name = format!(
        "{}/{}",
        request["metadata"]["namespace"].as_str().unwrap(),
        request["metadata"]["name"].as_str().unwrap()
    );
    (request, name)
}

/// The files a pod sees (not the `..data` bookkeeping).
fn visible_files(cluster: &Cluster, pod: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(cluster.target(pod))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with(".."))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn with_approval_on_a_denied_pod_files_one_access_request_and_waits_unavailable() {
    if !needs_root() {
        return;
    }
    let cluster = Cluster::start(APPROVAL_ON).await;

    let status = cluster.publish("build-1").await.unwrap_err();

    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    let (request, name) = the_access_request(&cluster);
    assert!(
        status.message().contains(&format!("\"{name}\"")),
        "{}",
        status.message()
    );
    assert!(
        status.message().contains("awaits approval"),
        "{}",
        status.message()
    );
    assert_eq!(request["metadata"]["namespace"], "team-a");
    assert_eq!(
        request["metadata"]["labels"],
        json!({
            "connectors.cpaas.io/connector": "github",
            "connectors.cpaas.io/contextObjectKind": "Pod",
            "connectors.cpaas.io/contextObjectName": "build-1",
            "connectors.cpaas.io/contextObjectNamespace": "team-a",
        })
    );
    assert_eq!(
        request["spec"],
        json!({
            "subject": {"kind": "ServiceAccount", "name": "builder", "namespace": "team-a"},
            "connectorRef": {"name": "github"},
            "context": {"objectRef": {"apiVersion": "v1", "kind": "Pod", "name": "build-1", "namespace": "team-a"}},
        })
    );
    assert!(!request.to_string().contains(TOKEN));
    assert!(!cluster.is_mounted("build-1"));

    cluster.publish("build-1").await.unwrap_err();
    the_access_request(&cluster);
    eventually("the pending approval is an Event", async || {
        cluster
            .server
            .events_with_reason("ConnectorAccessPending")
            .iter()
            .any(|e| e.event["note"].as_str().unwrap_or_default().contains(&name))
    })
    .await;
    cluster.stop().await;
}

#[tokio::test]
async fn ten_concurrent_publishes_of_one_pod_file_one_access_request() {
    if !needs_root() {
        return;
    }
    let cluster = Cluster::start(APPROVAL_ON).await;

    let volumes: Vec<String> = (0..10).map(|i| format!("volume-{i}")).collect();
    let publishes = volumes.iter().map(|v| cluster.publish_volume("build-1", v));
    let outcomes = futures::future::join_all(publishes).await;

    for outcome in outcomes {
        assert_eq!(outcome.unwrap_err().code(), Code::Unavailable);
    }
    the_access_request(&cluster);
    cluster.stop().await;
}

#[tokio::test]
async fn an_approved_request_mounts_the_files() {
    if !needs_root() {
        return;
    }
    let cluster = Cluster::start(APPROVAL_ON).await;
    cluster.publish("build-1").await.unwrap_err();
    let (request, _) = the_access_request(&cluster);
    let name = request["metadata"]["name"].as_str().unwrap();

    // What the approval controller does: a Role for this pod, then Ready.
    cluster
        .server
        .grant(proxy_grant("proxy/v1/pod/team-a/build-1"));
    cluster.server.set_access_request_conditions(
        "team-a",
        name,
        json!([{"type": "Ready", "status": "True"}]),
    );
    cluster.publish("build-1").await.unwrap();

    assert!(cluster.is_mounted("build-1"));
    assert!(visible_files(&cluster, "build-1").contains(&".gitconfig".to_owned()));
    the_access_request(&cluster);
    cluster.stop().await;
}

#[tokio::test]
async fn a_rejected_request_mounts_only_an_error_file() {
    if !needs_root() {
        return;
    }
    let cluster = Cluster::start(APPROVAL_ON).await;
    cluster.publish("build-1").await.unwrap_err();
    let (request, full_name) = the_access_request(&cluster);
    let name = request["metadata"]["name"].as_str().unwrap();

    cluster.server.set_access_request_conditions(
        "team-a",
        name,
        json!([
            {"type": "AccessCheckReady", "status": "False", "reason": "Rejected"},
            {"type": "Ready", "status": "False", "reason": "Rejected"}
        ]),
    );
    cluster.publish("build-1").await.unwrap();

    assert!(cluster.is_mounted("build-1"));
    assert_eq!(visible_files(&cluster, "build-1"), [".error.json"]);
    let text = std::fs::read_to_string(cluster.target("build-1").join(".error.json")).unwrap();
    let status: Json = serde_json::from_str(&text).unwrap();
    assert_eq!(status["code"], 7);
    assert_eq!(status["details"], json!([]));
    let message = status["message"].as_str().unwrap();
    assert!(message.contains("\"team-a/github\""), "{message}");
    assert!(message.contains(&full_name), "{message}");
    assert!(!text.contains(TOKEN));
    cluster.stop().await;
}
