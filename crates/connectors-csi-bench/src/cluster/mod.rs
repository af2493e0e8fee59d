//! `--cluster`: the driver in cluster mode against the in-process fake API
//! server holding N Connectors, of which the node's volumes use M. Measures
//! what a node pays for the cluster's size: the driver's RSS, the objects
//! the API server sent it, publish latency on used connectors, and how long
//! a change to a used Connector takes to reach its volume.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use fake_apiserver::{FakeApiServer, Kind, Served};
use serde::Serialize;

use crate::client::{self, CsiClient};
use crate::load::{self, Load};
use crate::process::{CatalogSource, DriverProcess, DriverSetup};
use crate::stats::RunSummary;
use crate::workload;

mod objects;

use objects::UsedConnector;

/// What to run.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    pub driver: PathBuf,
    pub connectors: usize,
    pub namespaces: usize,
    pub used: usize,
    pub concurrency: usize,
    pub cycles: usize,
    pub classes: Vec<PathBuf>,
}

/// Everything one `--cluster` run measured.
#[derive(Debug, Serialize)]
pub struct ClusterReport {
    pub connectors: usize,
    pub namespaces: usize,
    pub used: usize,
    pub start_to_ready_ms: f64,
    /// Once the driver answers Probe ready (its caches synced).
    pub ready: Snapshot,
    /// With one mounted volume per used connector.
    pub with_used_volumes: Snapshot,
    /// After the publish load and the change check, volumes still mounted.
    pub after_load: Snapshot,
    pub peak_rss_kib: u64,
    /// All objects sent (every kind) per used connector, after the load.
    pub objects_per_used_connector: f64,
    /// Publish + unpublish cycles on volumes of the used connectors.
    pub publish: RunSummary,
    /// From the Connector's update to its volume's files showing it.
    pub change_to_volume_ms: f64,
}

/// The driver's memory and what it had received at one point of the run.
#[derive(Debug, Serialize)]
pub struct Snapshot {
    pub rss_kib: u64,
    /// Every object the fake sent, all kinds.
    pub objects_received: u64,
    pub connectors_listed: u64,
    pub connector_watch_events: u64,
    pub connector_gets: u64,
    pub open_watches: usize,
}

const START_TIMEOUT: Duration = Duration::from_secs(300);
const CHANGE_TIMEOUT: Duration = Duration::from_secs(60);
const DRIVER_NAMESPACE: &str = "connectors-system";

pub async fn run(options: &ClusterOptions) -> anyhow::Result<ClusterReport> {
    let dir = tempfile::Builder::new()
        .prefix("connectors-csi-bench-cluster-")
        .tempdir()
        .context("creating the bench directory")?;
    let server = FakeApiServer::start().await;
    let classes = workload::load_classes(&options.classes)?;
    let used = objects::populate(
        &server,
        &classes,
        options.connectors,
        options.namespaces,
        options.used,
    )?;
    let driver = DriverProcess::start(
        &DriverSetup {
            binary: &options.driver,
            dir: dir.path(),
            source: CatalogSource::Cluster {
                kubeconfig: server.kubeconfig_path(),
                namespace: DRIVER_NAMESPACE,
                audience: objects::AUDIENCE,
            },
        },
        START_TIMEOUT,
        client::probe,
    )
    .await?;
    let ready = snapshot(&driver, &server)?;
    let client = CsiClient::connect(&driver.socket).await?;
    let held = dir.path().join("held");
    for (index, connector) in used.iter().enumerate() {
        let id = format!("held-{index}");
        client
            .publish(&id, &held.join(&id), &connector.attributes)
            .await
            .with_context(|| {
                format!(
                    "publishing a volume of {}/{}",
                    connector.namespace, connector.name
                )
            })?;
    }
    let with_used_volumes = snapshot(&driver, &server)?;

    let started = Instant::now();
    let samples = load::drive(
        &client,
        used.iter().map(|u| u.attributes.clone()).collect(),
        &dir.path().join("load"),
        Load {
            concurrency: options.concurrency,
            cycles: options.cycles,
            republish: false,
        },
    )
    .await;
    let publish = samples.summarize(started.elapsed());
    let change_to_volume = change_reaches_volume(&server, &used, &held).await?;
    let after_load = snapshot(&driver, &server)?;
    let peak_rss_kib = driver.peak_rss_kib()?;
    for index in 0..used.len() {
        let id = format!("held-{index}");
        client.unpublish(&id, &held.join(&id)).await?;
    }
    Ok(ClusterReport {
        connectors: options.connectors,
        namespaces: options.namespaces,
        used: used.len(),
        start_to_ready_ms: driver.start_to_ready.as_secs_f64() * 1000.0,
        objects_per_used_connector: after_load.objects_received as f64 / used.len().max(1) as f64,
        ready,
        with_used_volumes,
        after_load,
        peak_rss_kib,
        publish,
        change_to_volume_ms: change_to_volume.as_secs_f64() * 1000.0,
    })
}

fn snapshot(driver: &DriverProcess, server: &FakeApiServer) -> anyhow::Result<Snapshot> {
    let connectors: Served = server.served(Kind::Connector);
    Ok(Snapshot {
        rss_kib: driver.rss_kib()?,
        objects_received: server.served_total().objects(),
        connectors_listed: connectors.list_items,
        connector_watch_events: connectors.watch_events,
        connector_gets: connectors.gets,
        open_watches: server.open_watches(),
    })
}

/// Moves the first used Connector to a new address and waits until its
/// mounted volume's files name it.
async fn change_reaches_volume(
    server: &FakeApiServer,
    used: &[UsedConnector],
    held: &Path,
) -> anyhow::Result<Duration> {
    let Some(first) = used.first() else {
        return Ok(Duration::ZERO);
    };
    let moved = "https://moved.bench.example.com";
    let mut object = first.object.clone();
    object["spec"]["address"] = serde_json::json!(moved);
    let data = held.join("held-0").join("..data");
    let started = Instant::now();
    server.apply(object);
    while started.elapsed() < CHANGE_TIMEOUT {
        if files_mention(&data, moved) {
            return Ok(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    anyhow::bail!(
        "the change to {}/{} did not reach its volume within {CHANGE_TIMEOUT:?}",
        first.namespace,
        first.name
    )
}

fn files_mention(dir: &Path, text: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries
        .flatten()
        .any(|entry| std::fs::read_to_string(entry.path()).is_ok_and(|t| t.contains(text)))
}

/// The report for a person.
pub fn render_text(report: &ClusterReport) -> String {
    let row = |name: &str, s: &Snapshot| {
        format!(
            "{name:<18} RSS {:>7} KiB  objects received {:>6} (Connectors: listed {}, watch events {}, GETs {})  open watches {}\n",
            s.rss_kib, s.objects_received, s.connectors_listed, s.connector_watch_events, s.connector_gets, s.open_watches
        )
    };
    let p = &report.publish;
    let mut text = format!(
        "cluster: {} Connectors in {} namespaces, {} used; driver ready in {:.0} ms\n",
        report.connectors, report.namespaces, report.used, report.start_to_ready_ms
    );
    text += &row("ready", &report.ready);
    text += &row("used volumes", &report.with_used_volumes);
    text += &row("after load", &report.after_load);
    text += &format!(
        "peak RSS {} KiB; objects per used connector {:.1}\n",
        report.peak_rss_kib, report.objects_per_used_connector
    );
    text += &format!(
        "publish ({} cycles): p50 {} p90 {} p99 {} max {} µs, {:.0} cycles/s, errors {}\n",
        p.cycles,
        p.publish_p50_us,
        p.publish_p90_us,
        p.publish_p99_us,
        p.publish_max_us,
        p.cycles_per_s,
        p.errors
    );
    text += &format!(
        "a change to a used Connector reached its volume in {:.0} ms\n",
        report.change_to_volume_ms
    );
    text
}
