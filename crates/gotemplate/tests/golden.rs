//! Golden test: Go builtins only, expected outputs recorded from the Go
//! oracle (`tests/golden/regen.sh`). Outputs must be byte-equal, and errors
//! must agree with Go's, message included.

use std::sync::Arc;

use gotemplate::{FuncMap, Limits, Template, Value};

fn render(src: &str, data: &Value) -> (String, String) {
    let funcs = Arc::new(FuncMap::new());
    let t = match Template::parse("t", src, &funcs) {
        Ok(t) => t,
        Err(e) => return (String::new(), format!("parse: {e}")),
    };
    let mut out = String::new();
    match t.execute(data, &mut out, &Limits::default()) {
        Ok(()) => (out, String::new()),
        Err(e) => (out, format!("exec: {e}")),
    }
}

#[test]
fn go_builtin_templates_render_exactly_as_go_does() {
    let raw = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/builtins.json"
    ))
    .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let shared = Value::from(doc["shared_data"].clone());
    let mut failures = Vec::new();
    let cases = doc["cases"].as_array().unwrap();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let data = match case.get("data") {
            Some(d) => Value::from(d.clone()),
            None => shared.clone(),
        };
        let (out, err) = render(case["template"].as_str().unwrap(), &data);
        let want_out = case["output"].as_str().unwrap();
        let want_err = case["error"].as_str().unwrap();
        if out != want_out || err != want_err {
            failures.push(format!(
                "{name}:\n  out  {out:?}\n  want {want_out:?}\n  err  {err:?}\n  want {want_err:?}"
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
