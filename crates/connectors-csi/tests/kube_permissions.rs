//! Upstream's permission model over the real socket, with real tmpfs and the
//! fake API server: the feature flags in `connectors-config`, the `get`
//! check, and the proxy check in its two grant shapes.

#![allow(clippy::unwrap_used)] // test code: a failed step is a failed test

mod support;

use connectors_csi::access::DecisionCacheConfig;
use connectors_csi::cluster::ClusterSettings;
use support::apiserver::{Grant, Kind};
use support::cluster::{self, git_class};
use support::permissions::{flags_configmap, proxy_grant, Cluster, PROXY_ON, TOKEN};
use support::{eventually, needs_root};
use tonic::Code;

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

#[tokio::test]
async fn a_republish_that_cannot_render_keeps_the_files_and_is_one_event() {
    if !needs_root() {
        return;
    }
    let cluster = Cluster::start(&[]).await;
    cluster.publish("web-0").await.unwrap();
    let gitconfig = cluster.target("web-0").join(".gitconfig");
    let before = std::fs::read_to_string(&gitconfig).unwrap();

    cluster
        .server
        .apply(git_class("{{ fail \"the class is broken\" }}\n"));
    eventually("the failed render is an Event on the pod", async || {
        // Kubelet's periodic republish: it must keep succeeding.
        cluster.publish("web-0").await.unwrap();
        !cluster
            .server
            .events_with_reason("ConnectorRenderFailed")
            .is_empty()
    })
    .await;
    for _ in 0..5 {
        cluster.publish("web-0").await.unwrap();
    }

    assert_eq!(std::fs::read_to_string(&gitconfig).unwrap(), before);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let events = cluster.server.events_with_reason("ConnectorRenderFailed");
    assert_eq!(events.len(), 1, "rate-limited: {events:#?}");
    let event = &events[0].event;
    assert_eq!(event["type"], "Warning");
    assert_eq!(event["regarding"]["kind"], "Pod");
    assert_eq!(event["regarding"]["name"], "web-0");
    let note = event["note"].as_str().unwrap();
    assert!(
        note.contains("the class is broken") && note.contains("previous"),
        "{note}"
    );
    assert!(!event.to_string().contains(TOKEN));
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
