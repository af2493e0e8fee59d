//! `connectors-csi-bench`: the driver's publish path measured against the
//! syscall floor in one run, plus its memory and start time; with
//! `--cluster`, what a node pays for a large cluster (the driver against an
//! in-process fake API server). A tool apart from the driver, so the load
//! generator and its dependencies never ship in the node binary.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

mod client;
mod cluster;
mod floor;
mod load;
mod process;
mod run;
mod stats;
mod workload;

use run::BenchOptions;

#[derive(Parser)]
#[command(name = "connectors-csi-bench", version, about)]
struct Args {
    /// The `connectors-csi` binary to measure (default: the one beside this
    /// program, as `cargo build` places them).
    #[arg(long)]
    driver: Option<PathBuf>,
    /// Concurrent clients, each running publish + unpublish cycles.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Publish + unpublish cycles in all (the floor runs as many).
    #[arg(long, default_value_t = 500)]
    cycles: usize,
    /// ConnectorClass YAML to publish (repeatable); default: upstream git and nexus.
    #[arg(long = "class")]
    classes: Vec<PathBuf>,
    /// Also measure RSS with a large catalog and many mounted volumes.
    #[arg(long)]
    memory: bool,
    #[arg(long, default_value_t = 10_000)]
    large_catalog_connectors: usize,
    #[arg(long, default_value_t = 200)]
    large_catalog_classes: usize,
    #[arg(long, default_value_t = 1_000)]
    mounted_volumes: usize,
    /// Run the driver in cluster mode against an in-process fake API server
    /// holding many Connectors, of which the node's volumes use a few.
    #[arg(long)]
    cluster: bool,
    /// `--cluster`: Connectors in the cluster.
    #[arg(long, default_value_t = 20_000)]
    cluster_connectors: usize,
    /// `--cluster`: namespaces they are spread over.
    #[arg(long, default_value_t = 200)]
    cluster_namespaces: usize,
    /// `--cluster`: Connectors the node's volumes use (one mounted volume each).
    #[arg(long, default_value_t = 30)]
    used: usize,
    /// Each cycle also republishes its volume unchanged once (kubelet's
    /// periodic republish), reported as republish p50/p99.
    #[arg(long)]
    republish: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    match bench(Args::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn bench(args: Args) -> anyhow::Result<ExitCode> {
    let driver = match args.driver.clone() {
        Some(driver) => driver,
        None => beside_this_program("connectors-csi")?,
    };
    if args.cluster {
        return bench_cluster(&args, driver);
    }
    let options = BenchOptions {
        driver,
        concurrency: args.concurrency,
        cycles: args.cycles,
        classes: args.classes,
        memory: args.memory,
        large_catalog_connectors: args.large_catalog_connectors,
        large_catalog_classes: args.large_catalog_classes,
        mounted_volumes: args.mounted_volumes,
        republish: args.republish,
    };
    let report = tokio::runtime::Runtime::new()?.block_on(run::run(&options))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", run::render_text(&report));
    }
    Ok(if report.driver.errors == 0 && report.floor.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn bench_cluster(args: &Args, driver: PathBuf) -> anyhow::Result<ExitCode> {
    let options = cluster::ClusterOptions {
        driver,
        connectors: args.cluster_connectors,
        namespaces: args.cluster_namespaces,
        used: args.used,
        concurrency: args.concurrency,
        cycles: args.cycles,
        classes: args.classes.clone(),
    };
    let report = tokio::runtime::Runtime::new()?.block_on(cluster::run(&options))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", cluster::render_text(&report));
    }
    Ok(if report.publish.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn beside_this_program(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating this program")?;
    let path = exe.with_file_name(name);
    anyhow::ensure!(
        path.is_file(),
        "{} not found (build it, or pass --driver)",
        path.display()
    );
    Ok(path)
}
