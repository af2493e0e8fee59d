//! The API-server families: every request the driver's client sends (see
//! [`client`](super::client), which counts them), and the outcome of
//! SubjectAccessReviews and TokenRequests.
//!
//! Labels come from the request line only (method, resource path), never
//! from headers or bodies: no token can reach a label, and object names and
//! namespaces are left out so the series stay few.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::client::{ApiCall, ApiResult};

/// 1 ms .. 10 s: an API call is a few milliseconds on a healthy cluster;
/// the driver gives up after its request timeout.
const API_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The requests the driver makes, as (verb, resource): their series exist
/// at zero from startup. Others are counted when they happen.
const KNOWN_CALLS: [(&str, &str); 15] = [
    ("list", "connectors"),
    ("watch", "connectors"),
    ("get", "connectors"),
    ("list", "connectorclasses"),
    ("watch", "connectorclasses"),
    ("get", "connectorclasses"),
    ("list", "configmaps"),
    ("watch", "configmaps"),
    ("get", "configmaps"),
    ("create", "subjectaccessreviews"),
    ("create", "serviceaccounts/token"),
    ("list", "accessrequests"),
    ("create", "accessrequests"),
    ("create", "events"),
    ("patch", "events"),
];

/// A SubjectAccessReview's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReviewResult {
    Allowed,
    Denied,
    /// No usable answer: the review could not be sent or timed out.
    Error,
}

impl ReviewResult {
    const ALL: [ReviewResult; 3] = [
        ReviewResult::Allowed,
        ReviewResult::Denied,
        ReviewResult::Error,
    ];

    fn label(self) -> &'static str {
        match self {
            ReviewResult::Allowed => "allowed",
            ReviewResult::Denied => "denied",
            ReviewResult::Error => "error",
        }
    }
}

/// A TokenRequest's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenResult {
    Issued,
    /// A 4xx decision: no such service account, or not allowed.
    Refused,
    /// No token: no answer, a 5xx, or an answer without a token.
    Error,
}

impl TokenResult {
    const ALL: [TokenResult; 3] = [
        TokenResult::Issued,
        TokenResult::Refused,
        TokenResult::Error,
    ];

    fn label(self) -> &'static str {
        match self {
            TokenResult::Issued => "issued",
            TokenResult::Refused => "refused",
            TokenResult::Error => "error",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiCallLabels {
    verb: &'static str,
    resource: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

fn api_histogram() -> Histogram {
    Histogram::new(API_BUCKETS)
}

/// The API-server families.
pub(super) struct ApiMetrics {
    requests: Family<ApiCallLabels, Counter>,
    request_latency: Family<ApiCall, Histogram, fn() -> Histogram>,
    reviews: ByResult,
    tokens: ByResult,
}

/// A counter and a latency histogram of one kind of request, by result.
struct ByResult {
    count: Family<ResultLabel, Counter>,
    latency: Family<ResultLabel, Histogram, fn() -> Histogram>,
}

impl ByResult {
    /// `names` and `helps`: the counter's, then the histogram's.
    fn register(registry: &mut Registry, names: [&str; 2], helps: [&str; 2]) -> ByResult {
        let by_result = ByResult {
            count: Family::default(),
            latency: Family::new_with_constructor(api_histogram as fn() -> Histogram),
        };
        registry.register(names[0], helps[0], by_result.count.clone());
        registry.register(names[1], helps[1], by_result.latency.clone());
        by_result
    }

    fn start_at_zero(&self, results: impl IntoIterator<Item = &'static str>) {
        for result in results {
            let label = ResultLabel { result };
            self.count.get_or_create_owned(&label);
            self.latency.get_or_create_owned(&label);
        }
    }

    fn observe(&self, result: &'static str, elapsed: Duration) {
        let label = ResultLabel { result };
        self.count.get_or_create(&label).inc();
        self.latency
            .get_or_create(&label)
            .observe(elapsed.as_secs_f64());
    }
}

impl ApiMetrics {
    pub(super) fn register(registry: &mut Registry) -> ApiMetrics {
        let requests = Family::default();
        let request_latency = Family::new_with_constructor(api_histogram as fn() -> Histogram);
        registry.register(
            "api_requests",
            "Requests to the Kubernetes API server by verb, resource and result",
            requests.clone(),
        );
        registry.register(
            "api_request_duration_seconds",
            "Time until the API server answered (for a watch: started the stream), by verb and resource",
            request_latency.clone(),
        );
        let reviews = ByResult::register(
            registry,
            [
                "subject_access_reviews",
                "subject_access_review_duration_seconds",
            ],
            [
                "SubjectAccessReviews sent, by result (allowed, denied, error); cached decisions are not counted",
                "Latency of SubjectAccessReviews by result",
            ],
        );
        let tokens = ByResult::register(
            registry,
            ["token_requests", "token_request_duration_seconds"],
            [
                "TokenRequests sent for pods' service accounts, by result (issued, refused, error)",
                "Latency of TokenRequests by result",
            ],
        );
        ApiMetrics {
            requests,
            request_latency,
            reviews,
            tokens,
        }
    }

    pub(super) fn start_at_zero(&self) {
        for (verb, resource) in KNOWN_CALLS {
            let resource = resource.to_owned();
            for result in ApiResult::ALL {
                self.requests.get_or_create_owned(&ApiCallLabels {
                    verb,
                    resource: resource.clone(),
                    result: result.label(),
                });
            }
            self.request_latency
                .get_or_create_owned(&ApiCall { verb, resource });
        }
        self.reviews
            .start_at_zero(ReviewResult::ALL.map(ReviewResult::label));
        self.tokens
            .start_at_zero(TokenResult::ALL.map(TokenResult::label));
    }

    pub(super) fn observe_call(&self, call: &ApiCall, result: ApiResult, elapsed: Duration) {
        self.requests
            .get_or_create(&ApiCallLabels {
                verb: call.verb,
                resource: call.resource.clone(),
                result: result.label(),
            })
            .inc();
        self.request_latency
            .get_or_create(call)
            .observe(elapsed.as_secs_f64());
    }

    pub(super) fn observe_review(&self, result: ReviewResult, elapsed: Duration) {
        self.reviews.observe(result.label(), elapsed);
    }

    pub(super) fn observe_token_request(&self, result: TokenResult, elapsed: Duration) {
        self.tokens.observe(result.label(), elapsed);
    }
}
