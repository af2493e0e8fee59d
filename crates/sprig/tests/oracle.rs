//! Renders `tests/oracle/cases.json` through gotemplate with sprig's
//! functions and compares with `cases.expected.json`, the output of real
//! Go text/template + sprig v3.2.3 for the same cases (regenerate with
//! `/tmp/gotmpl-oracle -batch cases.json > cases.expected.json`).

use std::sync::Arc;

use gotemplate::{Limits, Template, Value};

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    template: String,
    data: serde_json::Value,
}

#[derive(serde::Deserialize)]
struct Expected {
    name: String,
    output: String,
    error: String,
}

/// The function's own message: what follows `error calling NAME: `, so the
/// comparison does not depend on the engine's context wording.
fn function_message(error: &str) -> &str {
    match error.rfind("error calling ") {
        Some(i) => error
            .get(i..)
            .and_then(|s| s.find(": ").map(|j| &s[j + 2..]))
            .unwrap_or(error),
        None => error,
    }
}

fn render(funcs: &Arc<gotemplate::FuncMap>, case: &Case) -> (String, String) {
    let template = match Template::parse("t", &case.template, funcs) {
        Ok(t) => t,
        Err(e) => return (String::new(), format!("parse: {e}")),
    };
    let mut out = String::new();
    let data = Value::from(case.data.clone());
    match template.execute(&data, &mut out, &Limits::default()) {
        Ok(()) => (out, String::new()),
        Err(e) => (out, format!("exec: {e}")),
    }
}

#[test]
fn sprig_functions_render_what_go_and_sprig_render() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracle");
    let cases: Vec<Case> =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/cases.json")).unwrap())
            .unwrap();
    let expected: Vec<Expected> = serde_json::from_str(
        &std::fs::read_to_string(format!("{dir}/cases.expected.json")).unwrap(),
    )
    .unwrap();
    let funcs = Arc::new(sprig::functions());
    let mut failures = Vec::new();
    for (case, want) in cases.iter().zip(&expected) {
        assert_eq!(case.name, want.name);
        let (output, error) = render(&funcs, case);
        let same_error = function_message(&error) == function_message(&want.error);
        if output != want.output
            || same_error.eq(&false)
            || error.is_empty() != want.error.is_empty()
        {
            failures.push(format!(
                "{}: {}\n   want output={:?} error={:?}\n   got  output={:?} error={:?}",
                case.name, case.template, want.output, want.error, output, error
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Go:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
