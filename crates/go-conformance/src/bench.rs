//! The one benchmark loop: what the oracle's `-bench N` times, timed the
//! same way for our engine. `connectors-csi template --batch --bench`,
//! `scripts/bench-vs-go.sh` and the criterion bench all run it.

use gotemplate::{Template, Value};

use crate::corpus::Case;
use crate::runner::Renderer;

/// Cases ready to time: data decoded and templates parsed once, before any
/// timing, as the oracle does.
pub struct Workload {
    renderer: Renderer,
    cases: Vec<Case>,
    data: Vec<Value>,
    parsed: Vec<Option<Template>>,
}

/// Nanoseconds per render, as the oracle prints them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    pub cases: usize,
    pub iterations: u64,
    /// Parse and execute every time (a renderer without a template cache).
    pub parse_and_execute_ns: u128,
    /// Execute templates parsed once (a renderer with a cache).
    pub execute_only_ns: u128,
}

impl Timing {
    /// The oracle's one-line JSON, so scripts read both alike.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"cases\": {}, \"iterations\": {}, \"parse_and_execute_ns\": {}, \"execute_only_ns\": {}}}\n",
            self.cases, self.iterations, self.parse_and_execute_ns, self.execute_only_ns
        )
    }
}

impl Workload {
    pub fn new(renderer: Renderer, cases: Vec<Case>) -> Workload {
        let data = cases
            .iter()
            .map(|case| Value::from(case.data.clone()))
            .collect();
        let parsed = cases
            .iter()
            .map(|case| renderer.parse(&case.template).ok())
            .collect();
        Workload {
            renderer,
            cases,
            data,
            parsed,
        }
    }

    pub fn len(&self) -> usize {
        self.cases.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }

    /// Parses and executes case `i`.
    pub fn parse_and_execute(&self, i: usize) {
        if let (Some(case), Some(data)) = (self.cases.get(i), self.data.get(i)) {
            std::hint::black_box(self.renderer.render_value(&case.name, &case.template, data));
        }
    }

    /// Executes the pre-parsed case `i` (nothing when it does not parse).
    pub fn execute(&self, i: usize) {
        if let (Some(Some(template)), Some(data)) = (self.parsed.get(i), self.data.get(i)) {
            std::hint::black_box(self.renderer.execute(template, data));
        }
    }

    /// The oracle's `-bench`: every case `iterations` times parsed and
    /// executed, then `iterations` times executed from one parse; each total
    /// divided by cases × iterations.
    pub fn time(&self, iterations: u64) -> Timing {
        let ops = (self.len() as u128 * u128::from(iterations)).max(1);
        let per_op = |run: &dyn Fn(usize)| {
            let start = std::time::Instant::now();
            for i in 0..self.len() {
                for _ in 0..iterations {
                    run(i);
                }
            }
            start.elapsed().as_nanos() / ops
        };
        Timing {
            cases: self.len(),
            iterations,
            parse_and_execute_ns: per_op(&|i| self.parse_and_execute(i)),
            execute_only_ns: per_op(&|i| self.execute(i)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_prints_as_the_oracle_prints_it() {
        let workload = Workload::new(
            Renderer::new(),
            vec![Case {
                name: "x".into(),
                template: "{{ . }}".into(),
                data: serde_json::json!(1),
            }],
        );
        let timing = workload.time(3);
        assert_eq!((timing.cases, timing.iterations), (1, 3));
        let json: serde_json::Value = serde_json::from_str(&timing.to_json()).unwrap();
        assert_eq!(json["cases"], 1);
        assert!(json["execute_only_ns"].is_u64());
    }
}
