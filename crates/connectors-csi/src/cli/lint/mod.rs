//! `connectors-csi lint CLASS.yaml…`: checks ConnectorClasses as their
//! authors write them, before any pod mounts one. Every template of every
//! configuration (and of the built-in overrides ConfigMap, when one is
//! given) is parsed, file names and param declarations are checked, each
//! configuration is rendered once with sample data, and each problem is
//! printed as `FILE:LINE:COL: message`. Exits 1 on any problem.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use connectors_csi::catalog::manifests::manifest_files;
use serde::Deserialize;
use serde_json::Value as Json;

mod class;
mod document;
mod param_reads;
mod params;
mod positions;
mod sample;

use document::{Document, Problem};
use positions::{DocumentPositions, Position};

#[derive(clap::Args)]
pub struct Args {
    /// ConnectorClass YAML files (and the built-in overrides ConfigMap), or
    /// directories of them.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    for path in &args.files {
        files.extend(manifest_files(path)?);
    }
    let mut sources = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        sources.push((file, text));
    }
    let problems = lint(&sources);
    for problem in &problems {
        println!("{problem}");
    }
    eprintln!(
        "lint: {} file(s), {} problem(s)",
        sources.len(),
        problems.len()
    );
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Every problem of the files `(path, text)`, each file's in file order.
/// The `name` a configuration or param declares, if it is a non-empty string.
fn declared_name(json: &Json) -> Option<&str> {
    json.get("name")
        .and_then(Json::as_str)
        .filter(|n| !n.is_empty())
}

pub fn lint(sources: &[(PathBuf, String)]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut indexes = Vec::new();
    for (file, text) in sources {
        match read_documents(file, text) {
            Ok((values, positions)) => {
                indexes.push((file.as_path(), text.as_str(), values, positions))
            }
            Err(problem) => problems.push(problem),
        }
    }
    let documents: Vec<Document<'_>> = indexes
        .iter()
        .flat_map(|(file, text, values, positions)| {
            values
                .iter()
                .zip(positions)
                .map(|(json, positions)| Document {
                    file,
                    text,
                    positions,
                    json: json.clone(),
                })
        })
        .collect();
    let overrides = documents
        .iter()
        .rev()
        .find(|doc| class::is_overrides_configmap(&doc.json))
        .map(|doc| class::check_overrides(doc, &mut problems));
    for doc in &documents {
        if doc.json.get("kind").and_then(Json::as_str) == Some("ConnectorClass") {
            class::check_class(doc, overrides.as_ref(), &mut problems);
        }
    }
    let order = |file: &Path| sources.iter().position(|(f, _)| f == file);
    problems.sort_by(|a, b| {
        (order(&a.file), a.position, &a.message).cmp(&(order(&b.file), b.position, &b.message))
    });
    problems.dedup();
    problems
}

/// The file's documents as values, and their positions; a YAML error is
/// the file's one problem.
fn read_documents(file: &Path, text: &str) -> Result<(Vec<Json>, Vec<DocumentPositions>), Problem> {
    let mut values = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(text) {
        match Json::deserialize(document) {
            Ok(json) => values.push(json),
            Err(err) => {
                let position = err
                    .location()
                    .map_or(Position { line: 1, col: 1 }, |at| Position {
                        line: at.line(),
                        col: at.column(),
                    });
                return Err(Problem {
                    file: file.to_owned(),
                    position,
                    message: format!("not valid YAML: {err}"),
                });
            }
        }
    }
    let positions = positions::index(text).map_err(|err| Problem {
        file: file.to_owned(),
        position: err.position,
        message: format!("not valid YAML: {}", err.message),
    })?;
    if positions.len() != values.len() {
        // The two readers disagree on where documents are: keep the values,
        // place problems at the start of the file.
        let fallback = values
            .iter()
            .map(|_| DocumentPositions::default())
            .collect();
        return Ok((values, fallback));
    }
    Ok((values, positions))
}
