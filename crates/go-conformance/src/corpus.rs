//! The golden corpus on disk: cases (`AREA.json`) and what Go produced for
//! them (`AREA.expected.json`), paired by name in file order.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One template with its data, as the oracle reads it.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Case {
    pub name: String,
    pub template: String,
    /// `null` when absent.
    #[serde(default)]
    pub data: serde_json::Value,
}

/// What a render produced, as the oracle prints it: `error` is empty on
/// success, else starts with `parse: ` or `exec: `.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct Outcome {
    pub name: String,
    pub output: String,
    pub error: String,
}

/// A case and Go's outcome for it.
#[derive(Clone, Debug)]
pub struct GoldenCase {
    pub case: Case,
    pub expected: Outcome,
}

/// The cases of one file.
#[derive(Clone, Debug)]
pub struct Suite {
    /// The file stem (`builtins`, `sprig_strings`, `connectorclasses`).
    pub area: String,
    pub cases: Vec<GoldenCase>,
}

#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("decoding {path}: {source}")]
    Decode {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: {cases} cases but {expected} expected outcomes; run scripts/golden-regen.sh")]
    CountMismatch {
        path: PathBuf,
        cases: usize,
        expected: usize,
    },
    #[error("{path}: case {case:?} is paired with expected outcome {expected:?}; run scripts/golden-regen.sh")]
    NameMismatch {
        path: PathBuf,
        case: String,
        expected: String,
    },
}

/// `crates/go-conformance/golden`.
pub fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden")
}

/// The hand-written corpus: every `golden/*.json` but the expectations.
pub fn load_corpus() -> Result<Vec<Suite>, CorpusError> {
    load_dir(&golden_dir())
}

/// The cases made from the reference ConnectorClass manifests.
pub fn load_reference() -> Result<Vec<Suite>, CorpusError> {
    load_dir(&golden_dir().join("reference"))
}

/// Every suite of a directory, sorted by file name so runs are reproducible.
pub fn load_dir(dir: &Path) -> Result<Vec<Suite>, CorpusError> {
    let entries = fs::read_dir(dir).map_err(|source| CorpusError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| is_case_file(path))
        .collect();
    paths.sort();
    paths.iter().map(|path| load_suite(path)).collect()
}

fn is_case_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(".json") && !name.ends_with(".expected.json")
}

/// One `AREA.json` with its `AREA.expected.json`.
pub fn load_suite(path: &Path) -> Result<Suite, CorpusError> {
    let cases: Vec<Case> = read_json(path)?;
    let expected_path = path.with_extension("expected.json");
    let expected: Vec<Outcome> = read_json(&expected_path)?;
    if cases.len() != expected.len() {
        return Err(CorpusError::CountMismatch {
            path: expected_path,
            cases: cases.len(),
            expected: expected.len(),
        });
    }
    let mut paired = Vec::with_capacity(cases.len());
    for (case, expected) in cases.into_iter().zip(expected) {
        if case.name != expected.name {
            return Err(CorpusError::NameMismatch {
                path: expected_path,
                case: case.name,
                expected: expected.name,
            });
        }
        paired.push(GoldenCase { case, expected });
    }
    let area = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    Ok(Suite {
        area,
        cases: paired,
    })
}

/// Reads a JSON array of cases (the `--batch` input format).
pub fn read_cases(path: &Path) -> Result<Vec<Case>, CorpusError> {
    read_json(path)
}

/// Outcomes laid out as the oracle's `-batch` prints them (Go's
/// `json.Encoder` with a two-space indent and HTML escaping off), so the
/// two diff byte for byte.
pub fn oracle_json(outcomes: &[Outcome]) -> String {
    if outcomes.is_empty() {
        return "[]\n".to_string();
    }
    let mut text = String::from("[\n");
    for (i, outcome) in outcomes.iter().enumerate() {
        text.push_str("  {\n    \"name\": ");
        sprig::write_json_string(&mut text, &outcome.name, false);
        text.push_str(",\n    \"output\": ");
        sprig::write_json_string(&mut text, &outcome.output, false);
        text.push_str(",\n    \"error\": ");
        sprig::write_json_string(&mut text, &outcome.error, false);
        text.push_str(if i + 1 == outcomes.len() {
            "\n  }\n"
        } else {
            "\n  },\n"
        });
    }
    text.push_str("]\n");
    text
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, CorpusError> {
    let raw = fs::read(path).map_err(|source| CorpusError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&raw).map_err(|source| CorpusError::Decode {
        path: path.to_path_buf(),
        source,
    })
}

/// Areas left out of timings: key generation and bcrypt take milliseconds
/// per call and would drown the engine's own cost, and the rune-boundary
/// cases time one regex class after another, not templates.
pub const UNTIMED_AREAS: &[&str] = &["sprig_crypto", "runes"];

/// The cases worth timing: those Go renders without error, outside
/// [`UNTIMED_AREAS`] (`scripts/bench-vs-go.sh` selects the same ones).
pub fn timed_cases(suites: &[Suite]) -> Vec<Case> {
    suites
        .iter()
        .filter(|suite| !UNTIMED_AREAS.contains(&suite.area.as_str()))
        .flat_map(|suite| &suite.cases)
        .filter(|golden| golden.expected.error.is_empty())
        .map(|golden| golden.case.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(name: &str, output: &str, error: &str) -> Outcome {
        Outcome {
            name: name.into(),
            output: output.into(),
            error: error.into(),
        }
    }

    #[test]
    fn an_empty_batch_prints_an_empty_array() {
        assert_eq!(oracle_json(&[]), "[]\n");
    }

    #[test]
    fn outcomes_are_laid_out_as_the_oracle_lays_them_out() {
        let text = oracle_json(&[
            outcome("ok", "y", ""),
            outcome("bad", "", "parse: template: t:1: unclosed action"),
        ]);
        let expected = "[\n  {\n    \"name\": \"ok\",\n    \"output\": \"y\",\n    \"error\": \"\"\n  },\n  {\n    \"name\": \"bad\",\n    \"output\": \"\",\n    \"error\": \"parse: template: t:1: unclosed action\"\n  }\n]\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn json_strings_are_escaped_as_go_1_19_escapes_them() {
        let text = oracle_json(&[outcome(
            "a\"b\\c\n\r\t\u{8}\u{c}\u{1}<>&\u{2028}é\u{7f}",
            "",
            "",
        )]);
        assert!(text
            .contains("\"name\": \"a\\\"b\\\\c\\n\\r\\t\\u0008\\u000c\\u0001<>&\\u2028é\u{7f}\","));
    }
}
