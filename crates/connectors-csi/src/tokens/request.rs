//! Cluster-mode tokens of the driver's own: a TokenRequest for the pod's
//! service account, bound to the pod.
//!
//! Binding the token to the pod's name and UID makes the API server
//! invalidate it as soon as the pod is deleted, so a copied file dies with
//! its pod.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::PostParams;
use kube::{Api, Client};

use super::{Token, TokenError, TokenSource};
use crate::apiserver::{answer_within, CallError};
use crate::telemetry::{Metrics, TokenResult};
use crate::volume::PodInfo;

/// Asks the API server for a pod-bound token.
pub struct TokenRequester {
    client: Client,
    request_timeout: Duration,
    metrics: Arc<Metrics>,
}

impl TokenRequester {
    /// `request_timeout` bounds each TokenRequest.
    pub fn new(client: Client, request_timeout: Duration) -> TokenRequester {
        TokenRequester {
            client,
            request_timeout,
            metrics: Arc::new(Metrics::new()),
        }
    }

    /// TokenRequests are counted and timed there.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> TokenRequester {
        self.metrics = metrics;
        self
    }

    async fn request(&self, pod: &PodInfo, asked: &TokenRequest) -> Result<Token, TokenError> {
        let accounts: Api<ServiceAccount> = Api::namespaced(self.client.clone(), &pod.namespace);
        let issued = answer_within(
            self.request_timeout,
            accounts.create_token_request(&pod.service_account, &PostParams::default(), asked),
        )
        .await
        .map_err(classify)?;
        let status = issued.status.ok_or_else(|| TokenError::Unavailable {
            reason: "the API server answered the TokenRequest without a status".to_owned(),
        })?;
        if status.token.is_empty() {
            return Err(TokenError::Unavailable {
                reason: "the API server issued an empty token".to_owned(),
            });
        }
        let expires_at = SystemTime::from(status.expiration_timestamp.0);
        Ok(Token::new(status.token, Some(expires_at)))
    }
}

#[async_trait]
impl TokenSource for TokenRequester {
    async fn token(
        &self,
        pod: &PodInfo,
        audience: &str,
        lifetime: Duration,
    ) -> Result<Token, TokenError> {
        check_pod_identity(pod)?;
        let started = Instant::now();
        let issued = self
            .request(pod, &token_request_for(pod, audience, lifetime))
            .await;
        let outcome = match &issued {
            Ok(_) => TokenResult::Issued,
            Err(TokenError::Refused { .. }) => TokenResult::Refused,
            Err(_) => TokenResult::Error,
        };
        self.metrics
            .observe_token_request(outcome, started.elapsed());
        let token = issued?;
        tracing::debug!(
            pod.namespace = %pod.namespace,
            pod.name = %pod.name,
            service_account = %pod.service_account,
            expires_in_s = token
                .expires_at
                .and_then(|at| at.duration_since(SystemTime::now()).ok())
                .map(|left| left.as_secs())
                .unwrap_or_default(),
            "issued a pod-bound service-account token"
        );
        Ok(token)
    }
}

/// A token can only be bound to a pod kubelet described in full
/// (`podInfoOnMount: true` on the CSIDriver).
fn check_pod_identity(pod: &PodInfo) -> Result<(), TokenError> {
    let missing = [
        ("pod.name", &pod.name),
        ("pod.namespace", &pod.namespace),
        ("pod.uid", &pod.uid),
        ("serviceAccount.name", &pod.service_account),
    ]
    .into_iter()
    .filter(|(_, value)| value.is_empty())
    .map(|(attribute, _)| attribute)
    .collect::<Vec<_>>();
    if missing.is_empty() {
        return Ok(());
    }
    Err(TokenError::Refused {
        reason: format!(
            "kubelet did not pass {} (is podInfoOnMount enabled on the CSIDriver?)",
            missing.join(", ")
        ),
    })
}

fn token_request_for(pod: &PodInfo, audience: &str, lifetime: Duration) -> TokenRequest {
    TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![audience.to_owned()],
            expiration_seconds: Some(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX)),
            bound_object_ref: Some(BoundObjectReference {
                api_version: Some("v1".to_owned()),
                kind: Some("Pod".to_owned()),
                name: Some(pod.name.clone()),
                uid: Some(pod.uid.clone()),
            }),
        },
        ..TokenRequest::default()
    }
}

/// 4xx answers are decisions (no such service account, not allowed);
/// everything else (no answer, connection refused, 5xx) is worth a retry.
fn classify(err: CallError) -> TokenError {
    match err {
        CallError::Failed(kube::Error::Api(status))
            if (400..500).contains(&status.code) && status.code != 429 =>
        {
            TokenError::Refused {
                reason: format!("{} ({})", status.message, status.code),
            }
        }
        other => TokenError::Unavailable {
            reason: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod() -> PodInfo {
        PodInfo {
            name: "web-0".into(),
            namespace: "team-a".into(),
            uid: "1234".into(),
            service_account: "builder".into(),
        }
    }

    #[test]
    fn the_token_request_is_bound_to_the_pod_with_the_asked_lifetime() {
        let request = token_request_for(&pod(), "connectors-proxy", Duration::from_secs(1800));
        assert_eq!(request.spec.audiences, vec!["connectors-proxy"]);
        assert_eq!(request.spec.expiration_seconds, Some(1800));
        let bound = request.spec.bound_object_ref.unwrap_or_default();
        assert_eq!(bound.kind.as_deref(), Some("Pod"));
        assert_eq!(bound.api_version.as_deref(), Some("v1"));
        assert_eq!(bound.name.as_deref(), Some("web-0"));
        assert_eq!(bound.uid.as_deref(), Some("1234"));
    }

    #[test]
    fn a_pod_without_uid_or_service_account_is_refused_naming_what_is_missing() {
        let mut pod = pod();
        pod.uid.clear();
        pod.service_account.clear();
        let err = check_pod_identity(&pod).unwrap_err().to_string();
        assert!(err.contains("pod.uid, serviceAccount.name"), "{err}");
    }
}
