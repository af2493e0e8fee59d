//! Every golden case rendered by gotemplate + sprig must match what Go's
//! text/template + sprig produced for it (the committed `*.expected.json`).
//!
//! Set `GO_CONFORMANCE_REPORT=/path/file.txt` to also write the summary and
//! every mismatch to that file (`scripts/conformance-report.sh` does).

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::Duration;

use go_conformance::corpus::{load_corpus, load_reference, Suite};
use go_conformance::runner::{compare, describe, Disagreement, Mismatch, Renderer};
use gotemplate::Limits;

struct AreaResult {
    area: String,
    reference: bool,
    total: usize,
    mismatches: Vec<Mismatch>,
}

fn run(renderer: &Renderer, suite: &Suite, reference: bool) -> AreaResult {
    let mismatches = suite
        .cases
        .iter()
        .filter_map(|golden| {
            let got = renderer.render_catching_panics(&golden.case);
            compare(&golden.expected, &got).map(|kind| Mismatch {
                kind,
                template: golden.case.template.clone(),
                expected: golden.expected.clone(),
                got,
            })
        })
        .collect();
    AreaResult {
        area: suite.area.clone(),
        reference,
        total: suite.cases.len(),
        mismatches,
    }
}

fn results() -> &'static [AreaResult] {
    static RESULTS: OnceLock<Vec<AreaResult>> = OnceLock::new();
    RESULTS.get_or_init(|| {
        // Go has no time limit, and a debug build generates RSA keys for
        // seconds: the corpus checks what is rendered, with every other
        // bound at the engine's default.
        let renderer = Renderer::with_limits(Limits {
            timeout: Duration::from_secs(600),
            ..Limits::default()
        });
        let corpus = load_corpus().expect("golden corpus");
        let reference = load_reference().expect("reference cases");
        let results: Vec<AreaResult> = corpus
            .iter()
            .map(|suite| run(&renderer, suite, false))
            .chain(reference.iter().map(|suite| run(&renderer, suite, true)))
            .collect();
        if let Ok(path) = std::env::var("GO_CONFORMANCE_REPORT") {
            std::fs::write(&path, report(&results)).expect("writing GO_CONFORMANCE_REPORT");
        }
        results
    })
}

fn count(results: &[AreaResult], kind: Disagreement) -> usize {
    results
        .iter()
        .flat_map(|r| &r.mismatches)
        .filter(|m| m.kind == kind)
        .count()
}

fn report(results: &[AreaResult]) -> String {
    let total: usize = results.iter().map(|r| r.total).sum();
    let failed: usize = results.iter().map(|r| r.mismatches.len()).sum();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "go-conformance: {} of {total} cases match Go byte for byte ({failed} mismatches: {} outcome, {} output, {} message)",
        total - failed,
        count(results, Disagreement::Outcome),
        count(results, Disagreement::Output),
        count(results, Disagreement::Message),
    );
    let _ = writeln!(
        text,
        "regenerate: scripts/conformance-report.sh (cargo test -p go-conformance --test golden)"
    );
    let _ = writeln!(text, "kinds: outcome = success/parse/exec disagree; output = bytes differ; message = same failure, other words\n");
    for r in results {
        let _ = writeln!(
            text,
            "{:<20} {:>4}/{:<4} pass",
            r.area,
            r.total - r.mismatches.len(),
            r.total
        );
    }
    text.push('\n');
    for r in results {
        for m in &r.mismatches {
            let _ = writeln!(text, "{}", describe(m));
        }
    }
    text
}

fn check(selected: Vec<&Mismatch>, what: &str) {
    for m in &selected {
        println!("{}", describe(m));
    }
    assert!(selected.is_empty(), "{} cases {what}", selected.len());
}

#[test]
fn the_corpus_renders_the_same_bytes_and_succeeds_or_fails_as_go_does() {
    let selected = results()
        .iter()
        .filter(|r| !r.reference)
        .flat_map(|r| &r.mismatches)
        .filter(|m| m.kind != Disagreement::Message)
        .collect();
    check(selected, "differ from Go in output or outcome");
}

#[test]
fn error_messages_are_worded_as_gos() {
    let selected = results()
        .iter()
        .filter(|r| !r.reference)
        .flat_map(|r| &r.mismatches)
        .filter(|m| m.kind == Disagreement::Message)
        .collect();
    check(selected, "fail as Go does but with other words");
}

#[test]
fn the_reference_connector_classes_render_as_go_does() {
    let selected = results()
        .iter()
        .filter(|r| r.reference)
        .flat_map(|r| &r.mismatches)
        .collect();
    check(selected, "of the reference ConnectorClasses differ from Go");
}
