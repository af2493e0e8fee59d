//! Render timings over the golden corpus and the reference ConnectorClasses:
//! parse + execute (no template cache) and execute of pre-parsed templates
//! (with a cache), the two numbers the Go oracle's `-bench` reports.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use go_conformance::corpus::{load_corpus, load_reference, timed_cases, Case};
use go_conformance::runner::Renderer;
use gotemplate::Value;

fn bench_set(c: &mut Criterion, group_name: &str, cases: &[Case]) {
    let renderer = Renderer::new();
    let data: Vec<Value> = cases
        .iter()
        .map(|case| Value::from(case.data.clone()))
        .collect();
    let parsed: Vec<_> = cases
        .iter()
        .map(|case| renderer.parse(&case.template).ok())
        .collect();

    let mut group = c.benchmark_group(group_name);
    group.throughput(Throughput::Elements(cases.len() as u64));
    group.bench_function("parse_and_execute", |b| {
        b.iter(|| {
            for (case, data) in cases.iter().zip(&data) {
                std::hint::black_box(renderer.render_value(&case.name, &case.template, data));
            }
        })
    });
    group.bench_function("execute_only", |b| {
        b.iter(|| {
            for (template, data) in parsed.iter().zip(&data) {
                if let Some(template) = template {
                    std::hint::black_box(renderer.execute(template, data));
                }
            }
        })
    });
    group.finish();
}

fn corpus(c: &mut Criterion) {
    let suites = load_corpus().expect("golden corpus");
    bench_set(c, "corpus", &timed_cases(&suites));
}

fn reference(c: &mut Criterion) {
    let suites = load_reference().expect("reference cases");
    bench_set(c, "reference_classes", &timed_cases(&suites));
}

criterion_group!(benches, corpus, reference);
criterion_main!(benches);
