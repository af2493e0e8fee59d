//! One bench run: publish/unpublish load over the real socket against a
//! driver process, the syscall floor at the same concurrency, and the
//! driver's memory, reported as figures and ratios.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

use crate::client::{self, CsiClient};
use crate::floor::{self, FileShape};
use crate::load::{self, Load};
use crate::process::{CatalogSource, DriverProcess, DriverSetup};
use crate::stats::{Ratios, RunSummary, Samples};
use crate::workload;

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// The `connectors-csi` binary to start.
    pub driver: PathBuf,
    pub concurrency: usize,
    pub cycles: usize,
    /// ConnectorClass files; empty = the upstream git and nexus classes.
    pub classes: Vec<PathBuf>,
    /// Also measure memory with a large catalog and many mounted volumes.
    pub memory: bool,
    pub large_catalog_connectors: usize,
    pub large_catalog_classes: usize,
    pub mounted_volumes: usize,
    /// Each cycle also republishes the volume unchanged once.
    pub republish: bool,
}

/// Everything one invocation measured.
#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub concurrency: usize,
    pub files_per_volume: usize,
    pub bytes_per_volume: usize,
    pub start_to_ready_ms: f64,
    pub driver_idle_rss_kib: u64,
    pub driver_peak_rss_kib: u64,
    /// NodeGetCapabilities p50 over the same client: the part of every
    /// call that is the gRPC round trip, not the driver's work.
    pub rpc_round_trip_p50_us: u64,
    /// Share of CPU time the host took from this VM during the driver's
    /// load (`steal` in `/proc/stat`): the noise under the figures.
    pub host_steal_percent: f64,
    #[serde(flatten)]
    pub driver: RunSummary,
    pub floor: RunSummary,
    /// ours / floor
    pub ratios: Ratios,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryReport>,
}

#[derive(Debug, Serialize)]
pub struct MemoryReport {
    pub large_catalog_connectors: usize,
    pub large_catalog_classes: usize,
    pub rss_with_large_catalog_kib: u64,
    pub mounted_volumes: usize,
    pub rss_with_mounted_volumes_kib: u64,
}

const TOKEN: &str = "bench-token.eyJhbGciOiJSUzI1NiJ9.payload.signature";
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn run(options: &BenchOptions) -> anyhow::Result<BenchReport> {
    let dir = tempfile::Builder::new()
        .prefix("connectors-csi-bench-")
        .tempdir()
        .context("creating the bench directory")?;
    let workload = workload::prepare(dir.path(), &options.classes)?;
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, TOKEN)?;
    let driver = DriverProcess::start(
        &DriverSetup {
            binary: &options.driver,
            dir: dir.path(),
            source: CatalogSource::Manifests {
                manifests: &workload.manifests,
                token_file: &token_file,
            },
        },
        START_TIMEOUT,
        client::probe,
    )
    .await?;
    let idle_rss = driver.rss_kib()?;
    let client = CsiClient::connect(&driver.socket).await?;
    let targets = dir.path().join("targets");
    std::fs::create_dir_all(&targets)?;
    let shapes = file_shapes(&client, &workload.attributes, &targets).await?;

    let steal_before = CpuTimes::now();
    let started = Instant::now();
    let samples = load::drive(
        &client,
        vec![workload.attributes.clone()],
        &targets,
        Load {
            concurrency: options.concurrency,
            cycles: options.cycles,
            republish: options.republish,
        },
    )
    .await;
    let driver_summary = samples.summarize(started.elapsed());
    let host_steal_percent = steal_percent_since(steal_before);
    let peak_rss = driver.peak_rss_kib()?;
    let rpc_round_trip_p50_us = rpc_round_trip_p50_us(&client, options.cycles.min(1000)).await?;

    let floor_summary = run_floor(&targets, &shapes, options).await?;
    let memory = if options.memory {
        Some(
            measure_memory(
                dir.path(),
                &driver,
                &client,
                &workload,
                &token_file,
                options,
            )
            .await?,
        )
    } else {
        None
    };
    Ok(BenchReport {
        concurrency: options.concurrency,
        files_per_volume: shapes.len(),
        bytes_per_volume: shapes.iter().map(|s| s.size).sum(),
        start_to_ready_ms: driver.start_to_ready.as_secs_f64() * 1000.0,
        driver_idle_rss_kib: idle_rss,
        driver_peak_rss_kib: peak_rss,
        rpc_round_trip_p50_us,
        host_steal_percent,
        ratios: Ratios::of(&driver_summary, &floor_summary),
        driver: driver_summary,
        floor: floor_summary,
        memory,
    })
}

/// `calls` NodeGetCapabilities one after another; their p50.
async fn rpc_round_trip_p50_us(client: &CsiClient, calls: usize) -> anyhow::Result<u64> {
    let mut times = Vec::with_capacity(calls);
    for _ in 0..calls {
        let start = Instant::now();
        client.capabilities().await?;
        times.push(start.elapsed());
    }
    times.sort_unstable();
    Ok(crate::stats::percentile_us(&times, 50.0))
}

/// The machine's CPU time so far, in `/proc/stat` ticks.
struct CpuTimes {
    total: u64,
    steal: u64,
}

impl CpuTimes {
    fn now() -> Option<CpuTimes> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        parse_cpu_line(stat.lines().next()?)
    }
}

/// Percent of the CPU time since `before` that was stolen; 0 where
/// `/proc/stat` cannot tell.
fn steal_percent_since(before: Option<CpuTimes>) -> f64 {
    match (before, CpuTimes::now()) {
        (Some(before), Some(after)) if after.total > before.total => {
            100.0 * (after.steal - before.steal) as f64 / (after.total - before.total) as f64
        }
        _ => 0.0,
    }
}

/// `cpu  user nice system idle iowait irq softirq steal ...`
fn parse_cpu_line(line: &str) -> Option<CpuTimes> {
    let mut fields = line.strip_prefix("cpu ")?.split_whitespace();
    let ticks: Vec<u64> = fields
        .by_ref()
        .take(8)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let steal = *ticks.get(7)?;
    Some(CpuTimes {
        total: ticks.iter().sum(),
        steal,
    })
}

/// One publish to learn what a volume holds, so the floor writes the same.
async fn file_shapes(
    client: &CsiClient,
    attributes: &std::collections::BTreeMap<String, String>,
    targets: &Path,
) -> anyhow::Result<Vec<FileShape>> {
    let target = targets.join("shape-probe");
    client
        .publish("shape-probe", &target, attributes)
        .await
        .context("the first publish failed")?;
    let mut shapes = Vec::new();
    for entry in std::fs::read_dir(target.join("..data"))? {
        let entry = entry?;
        shapes.push(FileShape {
            name: entry.file_name().to_string_lossy().into_owned(),
            size: usize::try_from(entry.metadata()?.len())?,
        });
    }
    client.unpublish("shape-probe", &target).await?;
    Ok(shapes)
}

/// The floor at the same concurrency and cycle count, on blocking threads.
async fn run_floor(
    targets: &Path,
    shapes: &[FileShape],
    options: &BenchOptions,
) -> anyhow::Result<RunSummary> {
    let files = Arc::new(floor::contents(shapes));
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..options.concurrency.max(1))
        .map(|_| {
            let (files, next) = (files.clone(), next.clone());
            let (targets, cycles) = (targets.to_path_buf(), options.cycles);
            tokio::task::spawn_blocking(move || {
                let mut samples = Samples::default();
                loop {
                    let cycle = next.fetch_add(1, Ordering::Relaxed);
                    if cycle >= cycles {
                        return samples;
                    }
                    match floor::cycle(&targets.join(format!("floor-{cycle}")), &files) {
                        Ok(times) => {
                            samples.publish.push(times.publish);
                            samples.unpublish.push(times.unpublish);
                        }
                        Err(_) => samples.errors += 1,
                    }
                }
            })
        })
        .collect();
    let mut all = Samples::default();
    for worker in workers {
        all.merge(worker.await?);
    }
    Ok(all.summarize(started.elapsed()))
}

/// RSS with many volumes mounted on the running driver, then of a second
/// driver holding a large catalog.
async fn measure_memory(
    dir: &Path,
    driver: &DriverProcess,
    client: &CsiClient,
    workload: &workload::Workload,
    token_file: &Path,
    options: &BenchOptions,
) -> anyhow::Result<MemoryReport> {
    let targets = dir.join("mounted");
    std::fs::create_dir_all(&targets)?;
    for index in 0..options.mounted_volumes {
        let id = format!("held-{index}");
        client
            .publish(&id, &targets.join(&id), &workload.attributes)
            .await?;
    }
    let rss_with_mounted_volumes_kib = driver.rss_kib()?;
    for index in 0..options.mounted_volumes {
        let id = format!("held-{index}");
        client.unpublish(&id, &targets.join(&id)).await?;
    }

    let large = workload::prepare_large_catalog(
        dir,
        &options.classes,
        options.large_catalog_classes,
        options.large_catalog_connectors,
    )?;
    let large_dir = dir.join("large-driver");
    std::fs::create_dir_all(&large_dir)?;
    let large_driver = DriverProcess::start(
        &DriverSetup {
            binary: &options.driver,
            dir: &large_dir,
            source: CatalogSource::Manifests {
                manifests: &large,
                token_file,
            },
        },
        START_TIMEOUT,
        client::probe,
    )
    .await?;
    Ok(MemoryReport {
        large_catalog_connectors: options.large_catalog_connectors,
        large_catalog_classes: options.large_catalog_classes,
        rss_with_large_catalog_kib: large_driver.rss_kib()?,
        mounted_volumes: options.mounted_volumes,
        rss_with_mounted_volumes_kib,
    })
}

/// The report for a person.
pub fn render_text(report: &BenchReport) -> String {
    let row = |name: &str, s: &RunSummary| {
        format!(
            "{name:<7} {:>9.0} cycles/s  publish p50 {:>6} p90 {:>6} p99 {:>6} max {:>7} µs  unpublish p50 {:>6} p99 {:>6} µs  errors {}\n",
            s.cycles_per_s, s.publish_p50_us, s.publish_p90_us, s.publish_p99_us, s.publish_max_us,
            s.unpublish_p50_us, s.unpublish_p99_us, s.errors
        )
    };
    let r = &report.ratios;
    let mut text = format!(
        "concurrency {}, {} cycles, {} files ({} bytes) per volume\n",
        report.concurrency, report.driver.cycles, report.files_per_volume, report.bytes_per_volume
    );
    text += &row("driver", &report.driver);
    text += &row("floor", &report.floor);
    text += &format!(
        "driver/floor: publish p50 {:.2}x p99 {:.2}x, unpublish p50 {:.2}x p99 {:.2}x, throughput {:.0}%\n",
        r.publish_p50, r.publish_p99, r.unpublish_p50, r.unpublish_p99, r.throughput * 100.0
    );
    text += &format!(
        "gRPC round trip (NodeGetCapabilities) p50 {} µs; host steal {:.0}% during the driver's load\n",
        report.rpc_round_trip_p50_us, report.host_steal_percent
    );
    text += &format!(
        "driver start to ready {:.1} ms, RSS idle {} KiB, peak {} KiB\n",
        report.start_to_ready_ms, report.driver_idle_rss_kib, report.driver_peak_rss_kib
    );
    if let (Some(p50), Some(p99)) = (
        report.driver.republish_p50_us,
        report.driver.republish_p99_us,
    ) {
        text += &format!(
            "unchanged republish p50 {p50} p99 {p99} µs: {:.2}x the first publish's p50\n",
            p50 as f64 / report.driver.publish_p50_us.max(1) as f64
        );
    }
    if let Some(m) = &report.memory {
        text += &format!(
            "RSS with {} mounted volumes {} KiB; with {} Connectors / {} ConnectorClasses {} KiB\n",
            m.mounted_volumes,
            m.rss_with_mounted_volumes_kib,
            m.large_catalog_connectors,
            m.large_catalog_classes,
            m.rss_with_large_catalog_kib
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steal_is_the_eighth_field_of_the_cpu_line() {
        let times = parse_cpu_line("cpu  100 0 50 800 10 0 5 35 0 0").unwrap();
        assert_eq!((times.total, times.steal), (1000, 35));
        assert!(parse_cpu_line("cpu0 1 2 3").is_none());
        assert!(CpuTimes::now().is_some(), "this machine has /proc/stat");
    }
}
