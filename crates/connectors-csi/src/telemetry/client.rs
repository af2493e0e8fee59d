//! The API client's requests, counted and timed by a tower layer on kube's
//! client stack ([`ApiCallLayer`]), so watches, reads, reviews, token and
//! Event writes are all seen in one place, whoever sends them.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::future::BoxFuture;
use http::{Method, Request, Response, StatusCode, Uri};
use prometheus_client::encoding::EncodeLabelSet;

use super::Metrics;

/// What became of one request to the API server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ApiResult {
    /// Any answer below 400.
    Ok,
    /// 404: for a read-through GET, the object does not exist.
    NotFound,
    /// 401 or 403: the driver's credentials or RBAC.
    Forbidden,
    /// Any other 4xx (conflict, invalid, throttled).
    ClientError,
    /// 5xx.
    ServerError,
    /// No HTTP answer at all: connection refused, TLS, reset.
    Unreachable,
    /// The driver stopped waiting (its request timeout) before an answer.
    Timeout,
}

impl ApiResult {
    pub(super) const ALL: [ApiResult; 7] = [
        ApiResult::Ok,
        ApiResult::NotFound,
        ApiResult::Forbidden,
        ApiResult::ClientError,
        ApiResult::ServerError,
        ApiResult::Unreachable,
        ApiResult::Timeout,
    ];

    pub(super) fn label(self) -> &'static str {
        match self {
            ApiResult::Ok => "ok",
            ApiResult::NotFound => "not_found",
            ApiResult::Forbidden => "forbidden",
            ApiResult::ClientError => "client_error",
            ApiResult::ServerError => "server_error",
            ApiResult::Unreachable => "unreachable",
            ApiResult::Timeout => "timeout",
        }
    }

    fn of_status(status: StatusCode) -> ApiResult {
        match status.as_u16() {
            ..400 => ApiResult::Ok,
            404 => ApiResult::NotFound,
            401 | 403 => ApiResult::Forbidden,
            400..500 => ApiResult::ClientError,
            _ => ApiResult::ServerError,
        }
    }
}

/// One request to the API server as the metrics name it: the verb as RBAC
/// and the API server's own metrics spell it, and the resource (with its
/// subresource, `serviceaccounts/token`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ApiCall {
    pub(super) verb: &'static str,
    pub(super) resource: String,
}

impl ApiCall {
    pub(crate) fn of(method: &Method, uri: &Uri) -> ApiCall {
        let (resource, named) = resource_of(uri.path());
        let watching = uri.query().is_some_and(|query| {
            query
                .split('&')
                .any(|kv| kv == "watch=true" || kv == "watch=1")
        });
        let verb = match *method {
            Method::GET if watching => "watch",
            Method::GET if named => "get",
            Method::GET => "list",
            Method::POST => "create",
            Method::PUT => "update",
            Method::PATCH => "patch",
            Method::DELETE if named => "delete",
            Method::DELETE => "deletecollection",
            _ => "other",
        };
        ApiCall { verb, resource }
    }
}

/// `/api/v1/namespaces/NS/serviceaccounts/NAME/token` → (`serviceaccounts/token`,
/// named); `/apis/GROUP/VERSION/connectors` → (`connectors`, not named). A
/// path that names no resource (discovery, `/version`) is `other`.
fn resource_of(path: &str) -> (String, bool) {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest = match segments.first() {
        Some(&"api") => segments.get(2..),
        Some(&"apis") => segments.get(3..),
        _ => None,
    };
    let Some(mut rest) = rest.filter(|rest| !rest.is_empty()) else {
        return ("other".to_owned(), false);
    };
    if rest.len() >= 3 && rest[0] == "namespaces" {
        rest = &rest[2..];
    }
    let resource = match rest.get(2) {
        Some(subresource) => format!("{}/{subresource}", rest[0]),
        None => rest[0].to_owned(),
    };
    (resource, rest.len() >= 2)
}

/// Counts and times every request of the kube client it wraps
/// (`ClientBuilder::with_layer`).
#[derive(Clone, Debug)]
pub struct ApiCallLayer {
    metrics: Arc<Metrics>,
}

impl ApiCallLayer {
    pub fn new(metrics: Arc<Metrics>) -> ApiCallLayer {
        ApiCallLayer { metrics }
    }
}

impl<S> tower::Layer<S> for ApiCallLayer {
    type Service = ApiCallService<S>;

    fn layer(&self, inner: S) -> ApiCallService<S> {
        ApiCallService {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// The service [`ApiCallLayer`] wraps around the client's stack.
#[derive(Clone, Debug)]
pub struct ApiCallService<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S, B, R> tower::Service<Request<B>> for ApiCallService<S>
where
    S: tower::Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<R>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let in_flight = InFlight {
            call: Some(ApiCall::of(request.method(), request.uri())),
            metrics: self.metrics.clone(),
            started: Instant::now(),
        };
        let answer = self.inner.call(request);
        Box::pin(async move {
            let answer = answer.await;
            in_flight.finish(match &answer {
                Ok(response) => ApiResult::of_status(response.status()),
                Err(_) => ApiResult::Unreachable,
            });
            answer
        })
    }
}

/// A request sent and not yet answered: dropped unanswered (the caller's
/// timeout gave up on it), it counts as a timeout.
struct InFlight {
    call: Option<ApiCall>,
    metrics: Arc<Metrics>,
    started: Instant,
}

impl InFlight {
    fn finish(mut self, result: ApiResult) {
        self.record(result);
    }

    fn record(&mut self, result: ApiResult) {
        if let Some(call) = self.call.take() {
            self.metrics
                .observe_api_call(&call, result, self.started.elapsed());
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.record(ApiResult::Timeout);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn call(method: Method, uri: &str) -> (&'static str, String) {
        let call = ApiCall::of(&method, &uri.parse().unwrap());
        (call.verb, call.resource)
    }

    #[test]
    fn a_request_line_gives_the_verb_and_resource_as_rbac_names_them() {
        let cases = [
            (
                Method::GET,
                "/apis/connectors.alauda.io/v1alpha1/connectors?watch=true&resourceVersion=5",
                "watch",
                "connectors",
            ),
            (
                Method::GET,
                "/apis/connectors.alauda.io/v1alpha1/connectors?limit=500",
                "list",
                "connectors",
            ),
            (
                Method::GET,
                "/apis/connectors.alauda.io/v1alpha1/namespaces/team-a/connectors/git",
                "get",
                "connectors",
            ),
            (
                Method::GET,
                "/apis/connectors.alauda.io/v1alpha1/connectorclasses/git",
                "get",
                "connectorclasses",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/connectors-system/configmaps?fieldSelector=metadata.name%3Dx",
                "list",
                "configmaps",
            ),
            (
                Method::POST,
                "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                "create",
                "subjectaccessreviews",
            ),
            (
                Method::POST,
                "/api/v1/namespaces/team-a/serviceaccounts/builder/token",
                "create",
                "serviceaccounts/token",
            ),
            (
                Method::PATCH,
                "/apis/events.k8s.io/v1/namespaces/team-a/events/web.1",
                "patch",
                "events",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/team-a",
                "get",
                "namespaces",
            ),
            (
                Method::DELETE,
                "/api/v1/namespaces/a/pods",
                "deletecollection",
                "pods",
            ),
            (Method::GET, "/version", "list", "other"),
            (Method::GET, "/apis", "list", "other"),
        ];
        for (method, uri, verb, resource) in cases {
            let got = call(method.clone(), uri);
            assert_eq!(got, (verb, resource.to_owned()), "{method} {uri}");
        }
    }

    #[test]
    fn an_answer_is_classified_by_its_status() {
        assert_eq!(ApiResult::of_status(StatusCode::CREATED), ApiResult::Ok);
        assert_eq!(
            ApiResult::of_status(StatusCode::NOT_FOUND),
            ApiResult::NotFound
        );
        assert_eq!(
            ApiResult::of_status(StatusCode::FORBIDDEN),
            ApiResult::Forbidden
        );
        assert_eq!(
            ApiResult::of_status(StatusCode::UNAUTHORIZED),
            ApiResult::Forbidden
        );
        assert_eq!(
            ApiResult::of_status(StatusCode::CONFLICT),
            ApiResult::ClientError
        );
        assert_eq!(
            ApiResult::of_status(StatusCode::TOO_MANY_REQUESTS),
            ApiResult::ClientError
        );
        assert_eq!(
            ApiResult::of_status(StatusCode::BAD_GATEWAY),
            ApiResult::ServerError
        );
    }

    #[tokio::test]
    async fn an_answered_request_and_an_abandoned_one_are_both_counted() {
        use tower::{Layer, Service, ServiceExt};
        let metrics = Arc::new(Metrics::new());
        let answering = tower::service_fn(|_: Request<()>| async {
            Ok::<_, std::convert::Infallible>(Response::builder().status(403).body(()).unwrap())
        });
        let mut service = ApiCallLayer::new(metrics.clone()).layer(answering);
        let request = || {
            Request::post("/apis/authorization.k8s.io/v1/subjectaccessreviews")
                .body(())
                .unwrap()
        };
        service
            .ready()
            .await
            .unwrap()
            .call(request())
            .await
            .unwrap();
        let hanging = tower::service_fn(|_: Request<()>| {
            std::future::pending::<Result<Response<()>, std::convert::Infallible>>()
        });
        let mut service = ApiCallLayer::new(metrics.clone()).layer(hanging);
        let pending = service.ready().await.unwrap().call(request());
        let _ = tokio::time::timeout(Duration::from_millis(10), pending).await;
        let text = metrics.encode();
        for outcome in ["forbidden", "timeout"] {
            let series = format!(
                r#"connectors_csi_api_requests_total{{verb="create",resource="subjectaccessreviews",result="{outcome}"}} 1"#
            );
            assert!(text.contains(&series), "{series} missing from\n{text}");
        }
    }
}
