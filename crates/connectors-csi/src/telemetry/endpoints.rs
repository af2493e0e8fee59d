//! `/metrics`, `/healthz` and `/readyz`. `/metrics` answers in the
//! Prometheus text format (0.0.4) unless the scraper's `Accept` header asks
//! for OpenMetrics, as Prometheus itself does when it prefers it.

use std::future::Future;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use super::Metrics;

const TEXT_CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

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

async fn metrics_page(State(state): State<HttpState>, headers: HeaderMap) -> impl IntoResponse {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    if wants_openmetrics(&accept) {
        (
            [(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)],
            state.metrics.encode_openmetrics(),
        )
    } else {
        (
            [(header::CONTENT_TYPE, TEXT_CONTENT_TYPE)],
            state.metrics.encode(),
        )
    }
}

/// True when `accept` lists `application/openmetrics-text` with a non-zero
/// quality; anything else (`text/plain`, `*/*`, nothing) gets text 0.0.4.
fn wants_openmetrics(accept: &str) -> bool {
    accept.split(',').any(|range| {
        let mut parts = range.split(';').map(str::trim);
        let media_type = parts.next().unwrap_or_default();
        let refused = parts.any(|param| {
            param
                .strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        media_type.eq_ignore_ascii_case("application/openmetrics-text") && !refused
    })
}

async fn readiness(State(state): State<HttpState>) -> impl IntoResponse {
    if (state.ready)() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "catalog not synced")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_openmetrics_accept_header_gets_openmetrics() {
        assert!(wants_openmetrics(
            "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
        ));
        assert!(wants_openmetrics("application/openmetrics-text"));
        assert!(!wants_openmetrics("text/plain"));
        assert!(!wants_openmetrics("*/*"));
        assert!(!wants_openmetrics(""));
        assert!(!wants_openmetrics(
            "application/openmetrics-text; q=0, text/plain"
        ));
    }

    #[tokio::test]
    async fn readyz_follows_the_catalog_and_metrics_answers_in_the_asked_format() {
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
        assert_eq!(&get(addr, "/healthz", "").await[9..12], "200");
        assert_eq!(&get(addr, "/readyz", "").await[9..12], "503");
        ready.store(true, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(&get(addr, "/readyz", "").await[9..12], "200");
        let text = get(addr, "/metrics", "Accept: text/plain\r\n").await;
        assert!(
            text.contains("content-type: text/plain; version=0.0.4; charset=utf-8\r\n"),
            "{text}"
        );
        let open = get(addr, "/metrics", "Accept: application/openmetrics-text\r\n").await;
        assert!(
            open.contains("content-type: application/openmetrics-text; version=1.0.0"),
            "{open}"
        );
        assert!(open.ends_with("# EOF\n"), "{open}");
        let _ = stop.send(());
        server.await.unwrap().unwrap();
    }

    /// A bare HTTP/1.0 GET, to test the endpoints without an HTTP client
    /// crate: the whole response, headers included.
    async fn get(addr: std::net::SocketAddr, path: &str, headers: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n{headers}\r\n").as_bytes())
            .await
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }
}
