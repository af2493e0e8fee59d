//! `connectors-csi template`: render a raw Go template with JSON data, or a
//! batch of cases in the Go oracle's format, so outputs and timings of the
//! Rust engine and of Go's diff directly.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use gotemplate::{ErrorKind, FuncMap, Limits, Template, Value};

/// The name the oracle gives every template, so error messages match.
const TEMPLATE_NAME: &str = "t";

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

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    template: String,
    #[serde(default)]
    data: serde_json::Value,
}

struct Outcome {
    output: String,
    error: Option<gotemplate::Error>,
}

/// The engine as the driver sets it up: sprig's functions, default limits.
struct Engine {
    funcs: Arc<FuncMap>,
    limits: Limits,
}

impl Engine {
    fn new() -> Engine {
        Engine {
            funcs: Arc::new(sprig::functions()),
            limits: Limits::default(),
        }
    }

    fn parse(&self, source: &str) -> Result<Template, gotemplate::Error> {
        Template::parse(TEMPLATE_NAME, source, &self.funcs)
    }

    fn execute(&self, template: &Template, data: &Value) -> Outcome {
        let mut output = String::new();
        let error = template.execute(data, &mut output, &self.limits).err();
        Outcome { output, error }
    }

    fn render(&self, source: &str, data: &Value) -> Outcome {
        match self.parse(source) {
            Ok(template) => self.execute(&template, data),
            Err(error) => Outcome {
                output: String::new(),
                error: Some(error),
            },
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let engine = Engine::new();
    match (args.batch, args.template) {
        (Some(batch), _) => {
            let cases = read_cases(&batch)?;
            let text = match args.bench {
                Some(iterations) => bench(&engine, &cases, iterations),
                None => batch_json(&engine, &cases),
            };
            std::io::stdout().write_all(text.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        (None, Some(template)) => render_one(&engine, &template, args.data.as_deref()),
        (None, None) => anyhow::bail!("a TEMPLATE_FILE or --batch CASES.json is required"),
    }
}

fn render_one(engine: &Engine, template: &Path, data: Option<&Path>) -> anyhow::Result<ExitCode> {
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
    let outcome = engine.render(&source, &Value::from(data));
    std::io::stdout().write_all(outcome.output.as_bytes())?;
    match outcome.error {
        Some(error) => {
            eprintln!("{}", prefixed_error(&error));
            Ok(ExitCode::FAILURE)
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

fn read_cases(path: &Path) -> anyhow::Result<Vec<Case>> {
    let raw = fs::read(path).with_context(|| format!("reading cases {}", path.display()))?;
    serde_json::from_slice(&raw).with_context(|| format!("decoding cases {}", path.display()))
}

/// The oracle's `parse: ` / `exec: ` prefix. Go has no output or time
/// limit: hitting ours counts as an execution failure.
fn prefixed_error(error: &gotemplate::Error) -> String {
    let stage = match error.kind() {
        ErrorKind::Parse => "parse",
        ErrorKind::Exec | ErrorKind::OutputLimit | ErrorKind::Timeout => "exec",
    };
    format!("{stage}: {error}")
}

/// `[{name, output, error}]` laid out as Go's `json.Encoder` with a two-space
/// indent and HTML escaping off, so it diffs byte for byte with the oracle.
fn batch_json(engine: &Engine, cases: &[Case]) -> String {
    if cases.is_empty() {
        return "[]\n".to_string();
    }
    let mut text = String::from("[\n");
    for (i, case) in cases.iter().enumerate() {
        let outcome = engine.render(&case.template, &Value::from(case.data.clone()));
        let error = outcome
            .error
            .as_ref()
            .map(prefixed_error)
            .unwrap_or_default();
        text.push_str("  {\n    \"name\": ");
        sprig::write_json_string(&mut text, &case.name, false);
        text.push_str(",\n    \"output\": ");
        sprig::write_json_string(&mut text, &outcome.output, false);
        text.push_str(",\n    \"error\": ");
        sprig::write_json_string(&mut text, &error, false);
        text.push_str(if i + 1 == cases.len() {
            "\n  }\n"
        } else {
            "\n  },\n"
        });
    }
    text.push_str("]\n");
    text
}

/// Times renders as the oracle's `-bench` does: every case `iterations`
/// times parsed and executed, then every case that parses executed
/// `iterations` times from one parse; both totals divided by
/// cases × iterations. Data is decoded once, before timing, as in Go.
fn bench(engine: &Engine, cases: &[Case], iterations: u64) -> String {
    let data: Vec<Value> = cases
        .iter()
        .map(|case| Value::from(case.data.clone()))
        .collect();
    let ops = (cases.len() as u128 * u128::from(iterations)).max(1);

    let start = Instant::now();
    for (case, data) in cases.iter().zip(&data) {
        for _ in 0..iterations {
            std::hint::black_box(engine.render(&case.template, data));
        }
    }
    let parse_and_execute = start.elapsed().as_nanos() / ops;

    let parsed: Vec<Option<Template>> = cases
        .iter()
        .map(|case| engine.parse(&case.template).ok())
        .collect();
    let start = Instant::now();
    for (template, data) in parsed.iter().zip(&data) {
        let Some(template) = template else { continue };
        for _ in 0..iterations {
            std::hint::black_box(engine.execute(template, data));
        }
    }
    let execute_only = start.elapsed().as_nanos() / ops;

    format!(
        "{{\"cases\": {}, \"iterations\": {iterations}, \"parse_and_execute_ns\": {parse_and_execute}, \"execute_only_ns\": {execute_only}}}\n",
        cases.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped_as_go_1_19_escapes_them() {
        let mut out = String::new();
        sprig::write_json_string(
            &mut out,
            "a\"b\\c\n\r\t\u{8}\u{c}\u{1}<>&\u{2028}é\u{7f}",
            false,
        );
        assert_eq!(
            out,
            "\"a\\\"b\\\\c\\n\\r\\t\\u0008\\u000c\\u0001<>&\\u2028é\u{7f}\""
        );
    }

    #[test]
    fn an_empty_batch_prints_an_empty_array() {
        assert_eq!(batch_json(&Engine::new(), &[]), "[]\n");
    }

    #[test]
    fn batch_output_is_laid_out_as_the_oracle_lays_it_out() {
        let cases = vec![
            Case {
                name: "ok".into(),
                template: "{{ .x }}".into(),
                data: serde_json::json!({"x": "y"}),
            },
            Case {
                name: "bad".into(),
                template: "{{ .x ".into(),
                data: serde_json::Value::Null,
            },
        ];
        let text = batch_json(&Engine::new(), &cases);
        let expected = "[\n  {\n    \"name\": \"ok\",\n    \"output\": \"y\",\n    \"error\": \"\"\n  },\n  {\n    \"name\": \"bad\",\n    \"output\": \"\",\n    \"error\": \"parse: template: t:1: unclosed action\"\n  }\n]\n";
        assert_eq!(text, expected);
    }
}
