//! Renders a cases file (`[{name, template, data}]`) with Go builtins only
//! and prints the results as the oracle does (`[{name, output, error}]`),
//! to diff against `gotmpl-oracle -batch`.
//!
//! `cargo run -p gotemplate --example compare -- CASES_JSON`

use std::sync::Arc;

use gotemplate::{FuncMap, Limits, Template, Value};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: compare CASES_JSON");
        std::process::exit(2);
    };
    let raw = std::fs::read_to_string(path).expect("cases file");
    let cases: Vec<serde_json::Value> = serde_json::from_str(&raw).expect("cases JSON");
    let funcs = Arc::new(FuncMap::new());
    let mut results = Vec::new();
    for c in &cases {
        let data = Value::from(c["data"].clone());
        let (output, error) =
            match Template::parse("t", c["template"].as_str().unwrap_or(""), &funcs) {
                Err(e) => (String::new(), format!("parse: {e}")),
                Ok(t) => {
                    let mut out = String::new();
                    match t.execute(&data, &mut out, &Limits::default()) {
                        Ok(()) => (out, String::new()),
                        Err(e) => (out, format!("exec: {e}")),
                    }
                }
            };
        results.push(serde_json::json!({"name": c["name"], "output": output, "error": error}));
    }
    println!("{}", serde_json::Value::Array(results));
}
