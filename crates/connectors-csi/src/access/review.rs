//! Cluster mode's check: SubjectAccessReviews asked as the pod's service
//! account, `get` on each Connector and, when the flag is on, its proxy;
//! with approval gating, a failed proxy check goes to the AccessRequest.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::api::PostParams;
use kube::{Api, Client};

use super::approval::{Approvals, RequestState};
use super::cache::{Decision, DecisionCache, DecisionCacheConfig, DecisionKey, Permission};
use super::flags::{FeatureFlags, FlagSource, FlagsOff};
use super::{Access, AccessError, AccessOutcome, Rejection};
use crate::apiserver::answer_within;
use crate::events::{NoEvents, PodEvent, PodEventReason, PodEvents};
use crate::model::API_GROUP;
use crate::telemetry::{Metrics, ReviewResult};
use crate::volume::{ConnectorRef, PodInfo};

/// The resource the checks are about.
const CONNECTOR_RESOURCE: &str = "connectors";

/// One SubjectAccessReview per (service account, connector, permission),
/// answers cached for a short while; the flags are read on every check.
pub struct SubjectAccessReviewAccess {
    reviews: Api<SubjectAccessReview>,
    decisions: DecisionCache,
    flags: Arc<dyn FlagSource>,
    events: Arc<dyn PodEvents>,
    approvals: Approvals,
    request_timeout: Duration,
    metrics: Arc<Metrics>,
}

impl SubjectAccessReviewAccess {
    /// `request_timeout` bounds each review. Every flag is off until
    /// [`with_flags`](Self::with_flags) says where they come from, and no
    /// Event is written until [`with_events`](Self::with_events).
    pub fn new(
        client: Client,
        cache: DecisionCacheConfig,
        request_timeout: Duration,
    ) -> SubjectAccessReviewAccess {
        SubjectAccessReviewAccess {
            approvals: Approvals::new(client.clone(), request_timeout),
            reviews: Api::all(client),
            decisions: DecisionCache::new(cache),
            flags: Arc::new(FlagsOff),
            events: Arc::new(NoEvents),
            request_timeout,
            metrics: Arc::new(Metrics::new()),
        }
    }

    pub fn with_flags(mut self, flags: Arc<dyn FlagSource>) -> SubjectAccessReviewAccess {
        self.flags = flags;
        self
    }

    /// Denials become Events on the pod.
    pub fn with_events(mut self, events: Arc<dyn PodEvents>) -> SubjectAccessReviewAccess {
        self.events = events;
        self
    }

    /// Reviews sent are counted and timed there.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> SubjectAccessReviewAccess {
        self.metrics = metrics;
        self
    }

    /// The checks for one connector; a denial or a pending approval is
    /// also an Event on the pod.
    async fn check_and_report(
        &self,
        pod: &PodInfo,
        connector: &ConnectorRef,
        flags: FeatureFlags,
    ) -> Result<AccessOutcome, AccessError> {
        let checked = self.check_one(pod, connector, flags).await;
        let reason = match &checked {
            Err(AccessError::Denied { .. } | AccessError::ProxyDenied { .. }) => {
                Some(PodEventReason::AccessDenied)
            }
            Err(AccessError::Pending { .. }) => Some(PodEventReason::AccessPending),
            _ => None,
        };
        if let (Some(reason), Err(err)) = (reason, &checked) {
            self.events.record(PodEvent {
                pod: pod.clone(),
                reason,
                connector: Some(connector.clone()),
                note: err.to_string(),
            });
        }
        checked
    }

    /// Approval gating after a failed proxy check: the pod's AccessRequest
    /// decides. Approved means the controller granted a Role: ask again,
    /// past the cache.
    async fn gate(
        &self,
        pod: &PodInfo,
        connector: &ConnectorRef,
        denied: AccessError,
    ) -> Result<AccessOutcome, AccessError> {
        let filed = self.approvals.find_or_file(pod, connector).await?;
        let pending = || AccessError::Pending {
            connector: connector.clone(),
            request: filed.name.clone(),
        };
        match filed.state {
            RequestState::Rejected => Ok(AccessOutcome::Rejected(Rejection {
                connector: connector.clone(),
                request: filed.name.clone(),
            })),
            RequestState::Pending => Err(pending()),
            RequestState::Approved => {
                let pod_scoped = Permission::pod_proxy(pod);
                for permission in [pod_scoped, Permission::Proxy] {
                    let decision = self.review(pod, connector, &permission).await?;
                    let key = DecisionKey::new(pod, connector, &permission);
                    self.decisions.put(key, decision.clone(), Instant::now());
                    if decision == Decision::Allowed {
                        return Ok(AccessOutcome::Allowed);
                    }
                }
                // Approved, but the granted Role has not reached the
                // authoriser yet: still waiting, from the pod's side.
                tracing::debug!(error = %denied, "approved AccessRequest, proxy check still denied");
                Err(pending())
            }
        }
    }

    async fn check_one(
        &self,
        pod: &PodInfo,
        connector: &ConnectorRef,
        flags: FeatureFlags,
    ) -> Result<AccessOutcome, AccessError> {
        if let Decision::Denied { reason } = self.decide(pod, connector, Permission::Get).await? {
            return Err(AccessError::Denied {
                connector: connector.clone(),
                service_account: service_account(pod),
                reason,
            });
        }
        if !flags.proxy_permissions {
            return Ok(AccessOutcome::Allowed);
        }
        // Either shape of grant is enough: a remembered grant of one answers
        // without asking about the other; otherwise ask both at once.
        let shapes = [Permission::Proxy, Permission::pod_proxy(pod)];
        let now = Instant::now();
        if shapes.iter().any(|permission| {
            let key = DecisionKey::new(pod, connector, permission);
            self.decisions.get(&key, now) == Some(Decision::Allowed)
        }) {
            return Ok(AccessOutcome::Allowed);
        }
        let (any_workload, this_pod) = futures::future::join(
            self.decide(pod, connector, Permission::Proxy),
            self.decide(pod, connector, Permission::pod_proxy(pod)),
        )
        .await;
        let reason = match (any_workload?, this_pod?) {
            (Decision::Allowed, _) | (_, Decision::Allowed) => return Ok(AccessOutcome::Allowed),
            (Decision::Denied { reason }, Decision::Denied { .. }) => reason,
        };
        let denied = AccessError::ProxyDenied {
            connector: connector.clone(),
            service_account: service_account(pod),
            pod: format!("{}/{}", pod.namespace, pod.name),
            reason,
        };
        if flags.approval_gating() {
            return self.gate(pod, connector, denied).await;
        }
        Err(denied)
    }

    /// The cached decision, or a review.
    async fn decide(
        &self,
        pod: &PodInfo,
        connector: &ConnectorRef,
        permission: Permission,
    ) -> Result<Decision, AccessError> {
        let key = DecisionKey::new(pod, connector, &permission);
        if let Some(decision) = self.decisions.get(&key, Instant::now()) {
            return Ok(decision);
        }
        let decision = self.review(pod, connector, &permission).await?;
        self.decisions.put(key, decision.clone(), Instant::now());
        Ok(decision)
    }

    async fn review(
        &self,
        pod: &PodInfo,
        connector: &ConnectorRef,
        permission: &Permission,
    ) -> Result<Decision, AccessError> {
        let review = review_for(pod, connector, permission);
        let started = Instant::now();
        let answer = answer_within(
            self.request_timeout,
            self.reviews.create(&PostParams::default(), &review),
        )
        .await;
        let outcome = match &answer {
            Ok(answer) if answer.status.as_ref().is_some_and(|s| s.allowed) => {
                ReviewResult::Allowed
            }
            Ok(_) => ReviewResult::Denied,
            Err(_) => ReviewResult::Error,
        };
        self.metrics
            .observe_access_review(outcome, started.elapsed());
        let answer = answer.map_err(|err| AccessError::Unavailable {
            connector: connector.clone(),
            reason: err.to_string(),
        })?;
        let status = answer.status.unwrap_or_default();
        if status.allowed {
            return Ok(Decision::Allowed);
        }
        let reason = match (status.reason, status.evaluation_error) {
            (Some(reason), _) if !reason.is_empty() => reason,
            (_, Some(error)) => error,
            _ => String::new(),
        };
        Ok(Decision::Denied { reason })
    }
}

#[async_trait]
impl Access for SubjectAccessReviewAccess {
    async fn check(
        &self,
        pod: &PodInfo,
        connectors: &[ConnectorRef],
    ) -> Result<AccessOutcome, AccessError> {
        if pod.service_account.is_empty() || pod.namespace.is_empty() {
            return Err(AccessError::UnknownServiceAccount);
        }
        let flags = self
            .flags
            .flags()
            .await
            .map_err(|err| AccessError::FlagsUnavailable {
                reason: err.to_string(),
            })?;
        // Reviews of a multi-connector volume run together; the first failure
        // in the volume's own order is the one reported.
        let outcomes = futures::future::join_all(
            connectors
                .iter()
                .map(|c| self.check_and_report(pod, c, flags)),
        )
        .await;
        let mut rejected = None;
        for outcome in outcomes {
            if let AccessOutcome::Rejected(rejection) = outcome? {
                rejected.get_or_insert(rejection);
            }
        }
        Ok(rejected.map_or(AccessOutcome::Allowed, AccessOutcome::Rejected))
    }
}

fn service_account(pod: &PodInfo) -> String {
    format!("{}/{}", pod.namespace, pod.service_account)
}

/// The review the API server would run for a request made with the pod's
/// service-account token: the user name plus the groups every service
/// account belongs to, so RBAC bindings to those groups count too.
pub(super) fn review_for(
    pod: &PodInfo,
    connector: &ConnectorRef,
    permission: &Permission,
) -> SubjectAccessReview {
    let user = format!(
        "system:serviceaccount:{}:{}",
        pod.namespace, pod.service_account
    );
    let groups = vec![
        "system:serviceaccounts".to_owned(),
        format!("system:serviceaccounts:{}", pod.namespace),
        "system:authenticated".to_owned(),
    ];
    SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(user),
            groups: Some(groups),
            resource_attributes: Some(ResourceAttributes {
                namespace: Some(connector.namespace.clone()),
                verb: Some(permission.verb().to_owned()),
                group: Some(API_GROUP.to_owned()),
                resource: Some(CONNECTOR_RESOURCE.to_owned()),
                subresource: permission.subresource(),
                name: Some(connector.name.clone()),
                ..ResourceAttributes::default()
            }),
            ..SubjectAccessReviewSpec::default()
        },
        ..SubjectAccessReview::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod() -> PodInfo {
        PodInfo {
            name: "web-0".into(),
            namespace: "team-a".into(),
            uid: "u".into(),
            service_account: "builder".into(),
        }
    }

    fn connector() -> ConnectorRef {
        ConnectorRef {
            namespace: "shared".into(),
            name: "git".into(),
        }
    }

    #[test]
    fn the_review_asks_for_get_on_the_connector_as_the_service_account() {
        let review = review_for(&pod(), &connector(), &Permission::Get);
        assert_eq!(
            review.spec.user.as_deref(),
            Some("system:serviceaccount:team-a:builder")
        );
        assert_eq!(
            review.spec.groups.unwrap_or_default(),
            [
                "system:serviceaccounts",
                "system:serviceaccounts:team-a",
                "system:authenticated"
            ]
        );
        let attributes = review.spec.resource_attributes.unwrap_or_default();
        assert_eq!(attributes.namespace.as_deref(), Some("shared"));
        assert_eq!(attributes.name.as_deref(), Some("git"));
        assert_eq!(attributes.verb.as_deref(), Some("get"));
        assert_eq!(attributes.group.as_deref(), Some("connectors.alauda.io"));
        assert_eq!(attributes.resource.as_deref(), Some("connectors"));
        assert_eq!(attributes.subresource, None);
    }

    #[test]
    fn the_proxy_reviews_ask_for_any_verb_on_the_two_subresources() {
        let any = review_for(&pod(), &connector(), &Permission::Proxy)
            .spec
            .resource_attributes
            .unwrap_or_default();
        assert_eq!(any.verb.as_deref(), Some("*"));
        assert_eq!(any.subresource.as_deref(), Some("proxy"));
        let this_pod = review_for(&pod(), &connector(), &Permission::pod_proxy(&pod()))
            .spec
            .resource_attributes
            .unwrap_or_default();
        assert_eq!(this_pod.verb.as_deref(), Some("*"));
        assert_eq!(
            this_pod.subresource.as_deref(),
            Some("proxy/v1/pod/team-a/web-0")
        );
        assert_eq!(this_pod.name.as_deref(), Some("git"));
        assert_eq!(this_pod.namespace.as_deref(), Some("shared"));
    }
}
