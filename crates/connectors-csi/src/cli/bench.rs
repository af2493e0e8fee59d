//! `connectors-csi bench`: load, floor and memory figures in one run.

use std::path::PathBuf;
use std::process::ExitCode;

use connectors_csi::bench::{self, BenchOptions};

#[derive(clap::Args)]
pub struct Args {
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
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let options = BenchOptions {
        concurrency: args.concurrency,
        cycles: args.cycles,
        classes: args.classes,
        memory: args.memory,
        large_catalog_connectors: args.large_catalog_connectors,
        large_catalog_classes: args.large_catalog_classes,
        mounted_volumes: args.mounted_volumes,
    };
    let report = tokio::runtime::Runtime::new()?.block_on(bench::run(&options))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", bench::render_text(&report));
    }
    Ok(if report.driver.errors == 0 && report.floor.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
