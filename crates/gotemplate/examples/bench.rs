//! Times parse+execute and execute-only over a cases file, the way
//! `gotmpl-oracle -batch CASES -bench N` times Go, for a side-by-side figure.
//!
//! `cargo run --release -p gotemplate --example bench -- CASES_JSON N`

use std::sync::Arc;
use std::time::Instant;

use gotemplate::{FuncMap, Limits, Template, Value};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(n)) = (args.get(1), args.get(2).and_then(|n| n.parse::<u64>().ok()))
    else {
        eprintln!("usage: bench CASES_JSON N");
        std::process::exit(2);
    };
    let raw = std::fs::read_to_string(path).expect("cases file");
    let cases: Vec<serde_json::Value> = serde_json::from_str(&raw).expect("cases JSON");
    let funcs = Arc::new(FuncMap::new());
    let limits = Limits::default();
    let data: Vec<(String, Value)> = cases
        .iter()
        .map(|c| {
            (
                c["template"].as_str().unwrap_or("").to_string(),
                Value::from(c["data"].clone()),
            )
        })
        .collect();
    let ops = data.len() as u64 * n;
    let start = Instant::now();
    let mut bytes = 0usize;
    for (src, d) in &data {
        for _ in 0..n {
            if let Ok(t) = Template::parse("t", src, &funcs) {
                let mut out = String::new();
                let _ = t.execute(d, &mut out, &limits);
                bytes += out.len();
            }
        }
    }
    let pe = start.elapsed().as_nanos() as u64 / ops;
    let parsed: Vec<Option<Template>> = data
        .iter()
        .map(|(src, _)| Template::parse("t", src, &funcs).ok())
        .collect();
    let start = Instant::now();
    for (t, (_, d)) in parsed.iter().zip(&data) {
        let Some(t) = t else { continue };
        for _ in 0..n {
            let mut out = String::new();
            let _ = t.execute(d, &mut out, &limits);
            bytes += out.len();
        }
    }
    let eo = start.elapsed().as_nanos() as u64 / ops;
    println!(
        "{{\"cases\": {}, \"iterations\": {n}, \"parse_and_execute_ns\": {pe}, \"execute_only_ns\": {eo}, \"bytes\": {bytes}}}",
        data.len()
    );
}
