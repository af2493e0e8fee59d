//! The driver's metrics: one registry, encoded as the Prometheus text format
//! (version 0.0.4) or as OpenMetrics. Every series whose labels are known up
//! front exists from startup at zero, so a rate or an absence alert works
//! before the first call.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use super::api::{ApiMetrics, ReviewResult, TokenResult};
use super::client::{ApiCall, ApiResult};
use super::process::ProcessCollector;

/// The prefix of every metric of the driver's own (not the `process_` ones).
const PREFIX: &str = "connectors_csi";

/// The commit the binary was built from: the Dockerfile and CI set
/// `CONNECTORS_CSI_COMMIT` at build time; a plain `cargo build` does not.
const COMMIT: &str = match option_env!("CONNECTORS_CSI_COMMIT") {
    Some(commit) if !commit.is_empty() => commit,
    _ => "unknown",
};

/// The CSI calls that are counted and timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    Publish,
    Republish,
    Unpublish,
    Refresh,
}

impl Operation {
    const ALL: [Operation; 4] = [
        Operation::Publish,
        Operation::Republish,
        Operation::Unpublish,
        Operation::Refresh,
    ];

    pub(crate) fn label(self) -> &'static str {
        match self {
            Operation::Publish => "publish",
            Operation::Republish => "republish",
            Operation::Unpublish => "unpublish",
            Operation::Refresh => "refresh",
        }
    }

    /// The results a call of this kind can be counted with: `ok` and the
    /// gRPC codes the driver answers failures with; a republish that fails
    /// is counted as a failed publish, a refresh is `ok`, `skipped` (waits
    /// for kubelet's token) or `failed`.
    fn results(self) -> &'static [&'static str] {
        const CALL_RESULTS: &[&str] = &[
            "ok",
            "InvalidArgument",
            "NotFound",
            "PermissionDenied",
            "FailedPrecondition",
            "Unavailable",
            "ResourceExhausted",
            "Internal",
        ];
        match self {
            Operation::Publish | Operation::Unpublish => CALL_RESULTS,
            Operation::Republish => &["ok"],
            Operation::Refresh => &["ok", "skipped", "failed"],
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    operation: &'static str,
    /// `ok`, or the gRPC code name of the failure.
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    commit: &'static str,
}

/// The driver's metrics, registered once and shared.
pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    latency: Family<OperationLabel, Histogram>,
    render_failures: Family<OperationLabel, Counter>,
    mounted_volumes: Gauge,
    template_cache_entries: Gauge,
    api: ApiMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(ProcessCollector));
        let driver = registry.sub_registry_with_prefix(PREFIX);
        let build_info = Family::<BuildLabels, Gauge>::default();
        build_info
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
                commit: COMMIT,
            })
            .set(1);
        driver.register(
            "build_info",
            "The driver's version and commit, as labels; always 1",
            build_info,
        );
        let calls = Family::<CallLabels, Counter>::default();
        let latency = Family::<OperationLabel, Histogram>::new_with_constructor(|| {
            // 100 µs .. ~3 s: a publish is sub-millisecond when cached, seconds
            // when the API server is slow.
            Histogram::new(exponential_buckets(0.0001, 2.5, 12))
        });
        let render_failures = Family::<OperationLabel, Counter>::default();
        let mounted_volumes = Gauge::default();
        let template_cache_entries = Gauge::default();
        driver.register(
            "calls",
            "CSI node calls by operation and result (ok or the gRPC code)",
            calls.clone(),
        );
        driver.register(
            "call_duration_seconds",
            "Latency of CSI node calls by operation",
            latency.clone(),
        );
        driver.register(
            "render_failures",
            "Renders that failed; for a republish or refresh the old files were kept",
            render_failures.clone(),
        );
        driver.register(
            "mounted_volumes",
            "Volumes currently published on this node",
            mounted_volumes.clone(),
        );
        driver.register(
            "template_cache_entries",
            "Parsed templates held in the parse cache",
            template_cache_entries.clone(),
        );
        let api = ApiMetrics::register(driver);
        let metrics = Metrics {
            registry,
            calls,
            latency,
            render_failures,
            mounted_volumes,
            template_cache_entries,
            api,
        };
        metrics.start_at_zero();
        metrics
    }

    /// Creates every series whose labels are known now, at zero.
    fn start_at_zero(&self) {
        for operation in Operation::ALL {
            for result in operation.results() {
                self.calls.get_or_create_owned(&CallLabels {
                    operation: operation.label(),
                    result,
                });
            }
            self.latency.get_or_create_owned(&OperationLabel {
                operation: operation.label(),
            });
        }
        for operation in [Operation::Republish, Operation::Refresh] {
            self.render_failures.get_or_create_owned(&OperationLabel {
                operation: operation.label(),
            });
        }
        self.api.start_at_zero();
    }

    /// Counts and times one call; `result` is `ok` or a gRPC code name.
    pub(crate) fn observe(&self, operation: Operation, result: &'static str, elapsed: Duration) {
        let operation = operation.label();
        self.calls
            .get_or_create(&CallLabels { operation, result })
            .inc();
        self.latency
            .get_or_create(&OperationLabel { operation })
            .observe(elapsed.as_secs_f64());
    }

    pub(crate) fn render_failed(&self, operation: Operation) {
        self.render_failures
            .get_or_create(&OperationLabel {
                operation: operation.label(),
            })
            .inc();
    }

    pub(crate) fn set_mounted_volumes(&self, count: usize) {
        self.mounted_volumes
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    pub(crate) fn set_template_cache_entries(&self, count: usize) {
        self.template_cache_entries
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// One request to the API server, answered or not.
    pub(crate) fn observe_api_call(&self, call: &ApiCall, result: ApiResult, elapsed: Duration) {
        self.api.observe_call(call, result, elapsed);
    }

    /// One SubjectAccessReview sent (a cached decision is not one).
    pub(crate) fn observe_access_review(&self, result: ReviewResult, elapsed: Duration) {
        self.api.observe_review(result, elapsed);
    }

    /// One TokenRequest sent.
    pub(crate) fn observe_token_request(&self, result: TokenResult, elapsed: Duration) {
        self.api.observe_token_request(result, elapsed);
    }

    /// The Prometheus text exposition format, version 0.0.4.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }

    /// The OpenMetrics text exposition format, version 1.0.0.
    pub fn encode_openmetrics(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observed_calls_appear_in_the_exposition_by_operation_and_result() {
        let metrics = Metrics::new();
        metrics.observe(Operation::Publish, "ok", Duration::from_millis(2));
        metrics.observe(Operation::Publish, "NotFound", Duration::from_millis(1));
        metrics.render_failed(Operation::Republish);
        metrics.set_mounted_volumes(3);
        let text = metrics.encode();
        assert!(text.contains(r#"connectors_csi_calls_total{operation="publish",result="ok"} 1"#));
        assert!(
            text.contains(r#"connectors_csi_calls_total{operation="publish",result="NotFound"} 1"#)
        );
        assert!(text.contains(r#"connectors_csi_render_failures_total{operation="republish"} 1"#));
        assert!(text.contains("connectors_csi_mounted_volumes 3"));
        assert!(
            text.contains("connectors_csi_call_duration_seconds_count{operation=\"publish\"} 2")
        );
    }

    #[test]
    fn the_text_format_names_counter_families_by_their_total_samples() {
        let text = Metrics::new().encode();
        assert!(text.contains("# TYPE connectors_csi_calls_total counter\n"));
        assert!(text.contains("# HELP connectors_csi_calls_total CSI node calls"));
        assert!(!text.contains("# EOF"));
        let open = Metrics::new().encode_openmetrics();
        assert!(open.contains("# TYPE connectors_csi_calls counter\n"));
        assert!(open.ends_with("# EOF\n"));
    }

    #[test]
    fn known_series_exist_at_zero_before_any_call() {
        let text = Metrics::new().encode();
        for series in [
            r#"connectors_csi_calls_total{operation="publish",result="ok"} 0"#,
            r#"connectors_csi_calls_total{operation="unpublish",result="Internal"} 0"#,
            r#"connectors_csi_calls_total{operation="refresh",result="skipped"} 0"#,
            r#"connectors_csi_render_failures_total{operation="refresh"} 0"#,
            r#"connectors_csi_call_duration_seconds_count{operation="republish"} 0"#,
        ] {
            assert!(text.contains(series), "{series} missing from\n{text}");
        }
    }

    #[test]
    fn build_info_is_one_with_the_version_and_a_commit() {
        let text = Metrics::new().encode();
        let line = text
            .lines()
            .find(|line| line.starts_with("connectors_csi_build_info{"))
            .unwrap_or_default();
        assert!(
            line.starts_with(&format!(
                "connectors_csi_build_info{{version=\"{}\",commit=\"",
                env!("CARGO_PKG_VERSION")
            )),
            "{text}"
        );
        assert!(line.ends_with("\"} 1"), "{line}");
    }
}
