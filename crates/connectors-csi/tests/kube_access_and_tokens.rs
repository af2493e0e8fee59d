//! SubjectAccessReview authorisation and the two token modes (kubelet's
//! tokens only; the driver's own TokenRequests), against the fake API server.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use connectors_csi::access::{Access, AccessError, DecisionCacheConfig, SubjectAccessReviewAccess};
use connectors_csi::apiserver::REQUEST_TIMEOUT;
use connectors_csi::tokens::{Token, TokenError, TokenRequester, Tokens};
use connectors_csi::volume::{ConnectorRef, PodInfo, VolumeRequest};
use support::apiserver::{FakeApiServer, Fault};
use support::attributes::team_a_pod;
use support::logs::CapturedLogs;
use support::AUDIENCE;

fn pod(namespace: &str, service_account: &str) -> PodInfo {
    PodInfo {
        name: "web-0".into(),
        namespace: namespace.into(),
        uid: "uid-of-web-0".into(),
        service_account: service_account.into(),
    }
}

fn connector(namespace: &str, name: &str) -> ConnectorRef {
    ConnectorRef {
        namespace: namespace.into(),
        name: name.into(),
    }
}

async fn access(server: &FakeApiServer, cache: DecisionCacheConfig) -> SubjectAccessReviewAccess {
    SubjectAccessReviewAccess::new(server.client().await, cache, REQUEST_TIMEOUT)
}

/// `--token-source request`: the driver's own TokenRequests.
async fn requested(server: &FakeApiServer, timeout: Duration) -> Tokens {
    let requester = TokenRequester::new(server.client().await, timeout);
    Tokens::requested(AUDIENCE, Arc::new(requester))
}

const KUBELET_TOKENS: &str = r#"{"connectors-proxy": {"token": "kubelet-made", "expirationTimestamp": "2030-01-01T00:00:00Z"}}"#;

/// The token for the volume [`volume_context`] describes.
async fn token_for(
    tokens: &Tokens,
    kubelet_tokens: Option<&str>,
    expiration: &str,
) -> Result<Token, TokenError> {
    let context = volume_context(kubelet_tokens, expiration);
    let request = VolumeRequest::parse(&context).expect("valid volume attributes");
    let kubelet = tokens
        .from_kubelet(&HashMap::new(), &context)
        .expect("valid kubelet tokens");
    tokens
        .token(&request.pod, request.token_expiration, kubelet)
        .await
}

fn no_cache() -> DecisionCacheConfig {
    DecisionCacheConfig {
        capacity: 0,
        ..DecisionCacheConfig::default()
    }
}

#[tokio::test]
async fn a_service_account_with_get_on_the_connector_is_allowed() {
    let server = FakeApiServer::start().await;
    server.allow("team-a", "builder", "team-a", "github");
    let access = access(&server, no_cache()).await;

    access
        .check(&pod("team-a", "builder"), &[connector("team-a", "github")])
        .await
        .unwrap();

    let reviews = server.reviews();
    assert_eq!(reviews.len(), 1);
    let spec = &reviews[0].spec;
    assert_eq!(
        spec.user.as_deref(),
        Some("system:serviceaccount:team-a:builder")
    );
    let groups = spec.groups.clone().unwrap_or_default();
    assert!(
        groups.iter().any(|g| g == "system:serviceaccounts:team-a"),
        "{groups:?}"
    );
    let attributes = spec.resource_attributes.clone().unwrap_or_default();
    assert_eq!(attributes.verb.as_deref(), Some("get"));
    assert_eq!(attributes.group.as_deref(), Some("connectors.alauda.io"));
    assert_eq!(attributes.resource.as_deref(), Some("connectors"));
    assert_eq!(attributes.namespace.as_deref(), Some("team-a"));
    assert_eq!(attributes.name.as_deref(), Some("github"));
}

#[tokio::test]
async fn a_service_account_without_get_is_denied_naming_connector_and_account() {
    let server = FakeApiServer::start().await;
    let access = access(&server, no_cache()).await;

    let err = access
        .check(&pod("team-a", "builder"), &[connector("team-a", "github")])
        .await
        .unwrap_err();

    assert!(matches!(err, AccessError::Denied { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("\"team-a/github\""), "{message}");
    assert!(message.contains("\"team-a/builder\""), "{message}");
}

#[tokio::test]
async fn a_pod_cannot_use_another_namespaces_connector_without_a_grant_there() {
    let server = FakeApiServer::start().await;
    server.allow("team-a", "builder", "team-a", "*");
    let access = access(&server, no_cache()).await;
    let builder = pod("team-a", "builder");

    let err = access
        .check(&builder, &[connector("team-b", "github")])
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::Denied { .. }), "{err:?}");

    server.allow("team-a", "builder", "team-b", "github");
    access
        .check(&builder, &[connector("team-b", "github")])
        .await
        .unwrap();
}

#[tokio::test]
async fn every_connector_of_the_volume_is_checked_and_the_denied_one_is_named() {
    let server = FakeApiServer::start().await;
    server.allow("team-a", "builder", "team-a", "github");
    let access = access(&server, no_cache()).await;

    let err = access
        .check(
            &pod("team-a", "builder"),
            &[connector("team-a", "github"), connector("shared", "nexus")],
        )
        .await
        .unwrap_err();

    assert!(err.to_string().contains("\"shared/nexus\""), "{err}");
    assert_eq!(server.reviews().len(), 2);
}

#[tokio::test]
async fn a_decision_is_reused_from_the_cache_until_it_expires() {
    let server = FakeApiServer::start().await;
    server.allow("team-a", "builder", "team-a", "github");
    let cache = DecisionCacheConfig {
        capacity: 16,
        allowed_ttl: Duration::from_millis(300),
        denied_ttl: Duration::from_millis(300),
    };
    let access = access(&server, cache).await;
    let builder = pod("team-a", "builder");
    let github = [connector("team-a", "github")];

    access.check(&builder, &github).await.unwrap();
    server.revoke_all();
    access.check(&builder, &github).await.unwrap();
    assert_eq!(
        server.reviews().len(),
        1,
        "the second check was served from the cache"
    );

    tokio::time::sleep(Duration::from_millis(400)).await;
    let err = access.check(&builder, &github).await.unwrap_err();
    assert!(matches!(err, AccessError::Denied { .. }), "{err:?}");
    assert_eq!(server.reviews().len(), 2);
}

#[tokio::test]
async fn a_failing_api_server_makes_the_check_unavailable_not_denied() {
    let server = FakeApiServer::start().await;
    server.allow("team-a", "builder", "team-a", "github");
    let access = access(&server, DecisionCacheConfig::default()).await;
    server.fail(Fault::ServerError);

    let err = access
        .check(&pod("team-a", "builder"), &[connector("team-a", "github")])
        .await
        .unwrap_err();

    assert!(matches!(err, AccessError::Unavailable { .. }), "{err:?}");
    server.heal();
    access
        .check(&pod("team-a", "builder"), &[connector("team-a", "github")])
        .await
        .unwrap();
}

#[tokio::test]
async fn a_pod_without_a_service_account_name_is_not_checked() {
    let server = FakeApiServer::start().await;
    let access = access(&server, no_cache()).await;

    let err = access
        .check(&pod("team-a", ""), &[connector("team-a", "github")])
        .await
        .unwrap_err();

    assert!(matches!(err, AccessError::UnknownServiceAccount), "{err:?}");
    assert!(server.reviews().is_empty());
}

/// Pod `team-a/web-0`'s volume of connector `github`, with kubelet's
/// `serviceAccount.tokens` attribute when given.
fn volume_context(kubelet_tokens: Option<&str>, expiration: &str) -> HashMap<String, String> {
    let mut context = team_a_pod(
        "web-0",
        &[
            ("connector.name", "github"),
            ("token.expiration", expiration),
        ],
    );
    if let Some(tokens) = kubelet_tokens {
        context.insert(
            "csi.storage.k8s.io/serviceAccount.tokens".into(),
            tokens.into(),
        );
    }
    context
}

#[tokio::test]
async fn in_kubelet_mode_the_kubelet_token_for_the_audience_is_used_and_nothing_is_requested() {
    let server = FakeApiServer::start().await;
    let tokens = Tokens::kubelet(AUDIENCE);

    let token = token_for(&tokens, Some(KUBELET_TOKENS), "30m")
        .await
        .unwrap();
    let missing = token_for(
        &tokens,
        Some(r#"{"another-audience": {"token": "x"}}"#),
        "30m",
    )
    .await
    .unwrap_err();

    assert_eq!(token.secret(), "kubelet-made");
    assert!(token.expires_at.is_some());
    assert!(
        matches!(missing, TokenError::NoKubeletToken { .. }),
        "{missing}"
    );
    assert!(missing.to_string().contains("tokenRequests"), "{missing}");
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[tokio::test]
async fn in_request_mode_a_pod_bound_token_is_requested_for_the_asked_lifetime() {
    let server = FakeApiServer::start().await;
    let tokens = requested(&server, REQUEST_TIMEOUT).await;

    // A tokens attribute here can only come from the pod author.
    let token = token_for(&tokens, Some(KUBELET_TOKENS), "45m")
        .await
        .unwrap();

    let issued = server.issued_tokens();
    assert_eq!(issued.len(), 1);
    let issued = &issued[0];
    assert_eq!(token.secret(), issued.token);
    assert_eq!(
        (issued.namespace.as_str(), issued.service_account.as_str()),
        ("team-a", "builder")
    );
    assert_eq!(issued.audiences, [AUDIENCE]);
    assert_eq!(issued.expiration_seconds, Some(45 * 60));
    assert_eq!(issued.bound_kind.as_deref(), Some("Pod"));
    assert_eq!(issued.bound_name.as_deref(), Some("web-0"));
    assert_eq!(issued.bound_uid.as_deref(), Some("uid-of-web-0"));
    let expires_at = token.expires_at.unwrap();
    let drift = match expires_at.duration_since(issued.expires_at) {
        Ok(later) => later,
        Err(earlier) => earlier.duration(),
    };
    assert!(
        drift < Duration::from_secs(1),
        "expiry {expires_at:?} vs {:?}",
        issued.expires_at
    );
    let lifetime = expires_at.duration_since(SystemTime::now()).unwrap();
    assert!(lifetime > Duration::from_secs(44 * 60), "{lifetime:?}");
}

#[tokio::test]
async fn a_token_request_against_a_failing_api_server_is_unavailable() {
    let server = FakeApiServer::start().await;
    let tokens = requested(&server, REQUEST_TIMEOUT).await;
    server.fail(Fault::ServerError);

    let err = token_for(&tokens, None, "30m").await.unwrap_err();

    assert!(matches!(err, TokenError::Unavailable { .. }), "{err:?}");
}

// A current-thread runtime: the capturing subscriber is thread-local, and
// every task (the client's connections too) then runs on this thread.
#[tokio::test(flavor = "current_thread")]
async fn no_token_reaches_the_logs_even_at_trace_level() {
    let (logs, _capturing) = CapturedLogs::start();
    let server = FakeApiServer::start().await;
    let tokens = requested(&server, REQUEST_TIMEOUT).await;

    let requested = token_for(&tokens, None, "30m").await.unwrap();
    let from_kubelet = token_for(
        &Tokens::kubelet(AUDIENCE),
        Some(r#"{"connectors-proxy": {"token": "kubelet-secret-value"}}"#),
        "30m",
    )
    .await
    .unwrap();
    server.fail(Fault::ServerError);
    let failure = token_for(&tokens, None, "30m").await.unwrap_err();
    tracing::error!(error = %failure, ?requested, ?from_kubelet, "what a caller might log");

    let text = logs.text();
    assert!(
        text.contains("issued a pod-bound service-account token"),
        "logging was captured: {text}"
    );
    assert!(!text.contains(requested.secret()), "{text}");
    assert!(!text.contains("kubelet-secret-value"), "{text}");
    assert!(
        !text.contains("driver-credential"),
        "the driver's own credential: {text}"
    );
    assert!(!failure.to_string().contains(requested.secret()));
}

#[tokio::test]
async fn a_hanging_api_server_makes_review_and_token_request_unavailable_in_time() {
    let server = FakeApiServer::start().await;
    let timeout = Duration::from_millis(300);
    let access = SubjectAccessReviewAccess::new(server.client().await, no_cache(), timeout);
    let tokens = requested(&server, timeout).await;
    server.fail(Fault::Hang);
    let started = std::time::Instant::now();

    let denied = access
        .check(&pod("team-a", "builder"), &[connector("team-a", "github")])
        .await
        .unwrap_err();
    let refused = token_for(&tokens, None, "30m").await.unwrap_err();

    assert!(
        matches!(denied, AccessError::Unavailable { .. }),
        "{denied:?}"
    );
    assert!(
        matches!(refused, TokenError::Unavailable { .. }),
        "{refused:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}
