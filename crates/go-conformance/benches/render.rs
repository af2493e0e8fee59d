//! Render timings over the golden corpus and the reference ConnectorClasses
//! with criterion's statistics: parse + execute (no template cache) and
//! execute of pre-parsed templates (with a cache), the two numbers the Go
//! oracle's `-bench` reports, over the same [`Workload`] loop.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use go_conformance::bench::Workload;
use go_conformance::corpus::{load_corpus, load_reference, timed_cases, Case};
use go_conformance::runner::Renderer;

fn bench_set(c: &mut Criterion, group_name: &str, cases: Vec<Case>) {
    let workload = Workload::new(Renderer::new(), cases);
    let mut group = c.benchmark_group(group_name);
    group.throughput(Throughput::Elements(workload.len() as u64));
    group.bench_function("parse_and_execute", |b| {
        b.iter(|| (0..workload.len()).for_each(|i| workload.parse_and_execute(i)))
    });
    group.bench_function("execute_only", |b| {
        b.iter(|| (0..workload.len()).for_each(|i| workload.execute(i)))
    });
    group.finish();
}

fn corpus(c: &mut Criterion) {
    let suites = load_corpus().expect("golden corpus");
    bench_set(c, "corpus", timed_cases(&suites));
}

fn reference(c: &mut Criterion) {
    let suites = load_reference().expect("reference cases");
    bench_set(c, "reference_classes", timed_cases(&suites));
}

criterion_group!(benches, corpus, reference);
criterion_main!(benches);
