//! What an operator sees: Prometheus metrics, `/healthz` and `/readyz`, and
//! structured logs. Nothing here ever receives a token.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The CSI calls that are counted and timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    Publish,
    Republish,
    Unpublish,
    Refresh,
}

impl Operation {
    fn label(self) -> &'static str {
        match self {
            Operation::Publish => "publish",
            Operation::Republish => "republish",
            Operation::Unpublish => "unpublish",
            Operation::Refresh => "refresh",
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

/// The driver's metrics, registered once and shared.
pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    latency: Family<OperationLabel, Histogram>,
    render_failures: Family<OperationLabel, Counter>,
    mounted_volumes: Gauge,
    template_cache_entries: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("connectors_csi");
        let calls = Family::<CallLabels, Counter>::default();
        let latency = Family::<OperationLabel, Histogram>::new_with_constructor(|| {
            // 100 µs .. ~3 s: a publish is sub-millisecond when cached, seconds
            // when the API server is slow.
            Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
                0.0001, 2.5, 12,
            ))
        });
        let render_failures = Family::<OperationLabel, Counter>::default();
        let mounted_volumes = Gauge::default();
        let template_cache_entries = Gauge::default();
        registry.register(
            "calls",
            "CSI node calls by operation and result",
            calls.clone(),
        );
        registry.register(
            "call_duration_seconds",
            "Latency of CSI node calls",
            latency.clone(),
        );
        registry.register(
            "render_failures",
            "Renders that failed; for a republish or refresh the old files were kept",
            render_failures.clone(),
        );
        registry.register(
            "mounted_volumes",
            "Volumes currently published on this node",
            mounted_volumes.clone(),
        );
        registry.register(
            "template_cache_entries",
            "Parsed templates held in the parse cache",
            template_cache_entries.clone(),
        );
        Metrics {
            registry,
            calls,
            latency,
            render_failures,
            mounted_volumes,
            template_cache_entries,
        }
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

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// What `/readyz` asks: ready once the catalog can answer.
pub type Readiness = Arc<dyn Fn() -> bool + Send + Sync>;

#[derive(Clone)]
struct HttpState {
    metrics: Arc<Metrics>,
    ready: Readiness,
}

/// Serves `/metrics`, `/healthz` and `/readyz` until `shutdown` completes.
pub async fn serve_http(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    ready: Readiness,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(metrics_page))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readiness))
        .with_state(HttpState { metrics, ready });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn metrics_page(State(state): State<HttpState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
}

async fn readiness(State(state): State<HttpState>) -> impl IntoResponse {
    if (state.ready)() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "catalog not synced")
    }
}

/// Log line format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Installs the global subscriber; `RUST_LOG` filters (default `info`).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
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

    #[tokio::test]
    async fn readyz_follows_the_catalog_and_healthz_is_always_ok() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let ready = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = ready.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve_http(
            listener,
            Arc::new(Metrics::new()),
            Arc::new(move || flag.load(std::sync::atomic::Ordering::SeqCst)),
            async {
                let _ = stopped.await;
            },
        ));
        assert_eq!(http_status(addr, "/healthz").await, 200);
        assert_eq!(http_status(addr, "/readyz").await, 503);
        ready.store(true, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(http_status(addr, "/readyz").await, 200);
        assert_eq!(http_status(addr, "/metrics").await, 200);
        let _ = stop.send(());
        server.await.unwrap().unwrap();
    }

    /// A bare HTTP/1.0 GET, to test the endpoints without an HTTP client crate.
    async fn http_status(addr: std::net::SocketAddr, path: &str) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response[9..12].parse().unwrap()
    }
}
