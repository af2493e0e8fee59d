//! `connectors-csi template`: render a raw Go template with JSON data, or a
//! batch of cases in the Go oracle's format, so outputs and timings of the
//! Rust engine and of Go's diff directly. The rendering, the batch layout
//! and the timing loop are go-conformance's, the same the golden tests use.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use go_conformance::bench::Workload;
use go_conformance::corpus::{oracle_json, read_cases};
use go_conformance::runner::{Renderer, TEMPLATE_NAME};
use gotemplate::Value;

#[derive(clap::Args)]
pub struct Args {
    /// JSON file with the data the template sees as `.` (default: null).
    #[arg(long, value_name = "DATA.json", conflicts_with = "batch")]
    data: Option<PathBuf>,
    /// JSON array of `{name, template, data}`; prints `[{name, output, error}]`.
    #[arg(long, value_name = "CASES.json")]
    batch: Option<PathBuf>,
    /// With --batch: render every case N times and print ns per render.
    #[arg(long, value_name = "N", requires = "batch")]
    bench: Option<u64>,
    /// The template file.
    #[arg(
        value_name = "TEMPLATE_FILE",
        required_unless_present = "batch",
        conflicts_with = "batch"
    )]
    template: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let renderer = Renderer::new();
    match (args.batch, args.template) {
        (Some(batch), _) => {
            let cases = read_cases(&batch)?;
            let text = match args.bench {
                Some(iterations) => Workload::new(renderer, cases).time(iterations).to_json(),
                None => {
                    let outcomes: Vec<_> = cases.iter().map(|case| renderer.render(case)).collect();
                    oracle_json(&outcomes)
                }
            };
            std::io::stdout().write_all(text.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        (None, Some(template)) => render_one(&renderer, &template, args.data.as_deref()),
        (None, None) => anyhow::bail!("a TEMPLATE_FILE or --batch CASES.json is required"),
    }
}

fn render_one(
    renderer: &Renderer,
    template: &Path,
    data: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let source = fs::read_to_string(template)
        .with_context(|| format!("reading template {}", template.display()))?;
    let data = match data {
        Some(path) => {
            let raw = fs::read(path).with_context(|| format!("reading data {}", path.display()))?;
            serde_json::from_slice(&raw)
                .with_context(|| format!("decoding data {}", path.display()))?
        }
        None => serde_json::Value::Null,
    };
    let outcome = renderer.render_value(TEMPLATE_NAME, &source, &Value::from(data));
    std::io::stdout().write_all(outcome.output.as_bytes())?;
    if outcome.error.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("{}", outcome.error);
        Ok(ExitCode::FAILURE)
    }
}
