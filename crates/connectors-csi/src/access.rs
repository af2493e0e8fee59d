//! Authorisation: may the pod's service account use these connectors.
//!
//! The rule is that the pod's service account must be allowed to `get`
//! each Connector of the volume. In a cluster this is asked of the API
//! server with a SubjectAccessReview ([`SubjectAccessReviewAccess`]); with
//! manifests there is no one to ask and [`AllowAll`] lets everything through.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::api::PostParams;
use kube::{Api, Client};

use crate::apiserver::answer_within;
use crate::model::API_GROUP;
use crate::volume::{ConnectorRef, PodInfo};

/// The resource the check is about.
const CONNECTOR_RESOURCE: &str = "connectors";

/// Why a pod may not use its connectors. Never holds a token.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The API server said no.
    #[error(
        "service account \"{service_account}\" may not get connector \"{connector}\"{}",
        reason_suffix(reason)
    )]
    Denied {
        connector: ConnectorRef,
        /// `namespace/name` of the pod's service account.
        service_account: String,
        /// The authoriser's reason, when it gave one.
        reason: String,
    },
    /// kubelet did not say which service account the pod runs as, so there is
    /// nothing to check (`podInfoOnMount` is off).
    #[error("the pod's service account is unknown (is podInfoOnMount enabled on the CSIDriver?)")]
    UnknownServiceAccount,
    /// The API server could not answer; worth retrying.
    #[error("cannot check access to connector \"{connector}\": {reason}")]
    Unavailable {
        connector: ConnectorRef,
        reason: String,
    },
}

fn reason_suffix(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    }
}

/// Decides whether a pod may mount its connectors.
#[async_trait]
pub trait Access: Send + Sync {
    async fn check(&self, pod: &PodInfo, connectors: &[ConnectorRef]) -> Result<(), AccessError>;
}

/// Manifests mode: there is no API server to ask, so every pod may use every
/// connector the files define.
#[derive(Clone, Copy, Debug, Default)]
pub struct AllowAll;

#[async_trait]
impl Access for AllowAll {
    async fn check(&self, _pod: &PodInfo, _connectors: &[ConnectorRef]) -> Result<(), AccessError> {
        Ok(())
    }
}

/// How long and how many SubjectAccessReview answers are remembered.
///
/// Kubelet republishes every volume periodically, so without a cache every
/// republish would cost one review per connector. Denials are kept for less
/// time than grants so that a freshly added RoleBinding takes effect quickly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecisionCacheConfig {
    /// Most decisions kept; `0` disables the cache.
    pub capacity: usize,
    pub allowed_ttl: Duration,
    pub denied_ttl: Duration,
}

impl Default for DecisionCacheConfig {
    fn default() -> Self {
        DecisionCacheConfig {
            capacity: 4096,
            allowed_ttl: Duration::from_secs(60),
            denied_ttl: Duration::from_secs(10),
        }
    }
}

/// Cluster mode: one SubjectAccessReview per (service account, connector),
/// answers cached for a short while.
pub struct SubjectAccessReviewAccess {
    reviews: Api<SubjectAccessReview>,
    decisions: DecisionCache,
    request_timeout: Duration,
}

impl SubjectAccessReviewAccess {
    /// `request_timeout` bounds each review.
    pub fn new(
        client: Client,
        cache: DecisionCacheConfig,
        request_timeout: Duration,
    ) -> SubjectAccessReviewAccess {
        SubjectAccessReviewAccess {
            reviews: Api::all(client),
            decisions: DecisionCache::new(cache),
            request_timeout,
        }
    }

    async fn check_one(&self, pod: &PodInfo, connector: &ConnectorRef) -> Result<(), AccessError> {
        let key = DecisionKey::new(pod, connector);
        let decision = match self.decisions.get(&key, Instant::now()) {
            Some(decision) => decision,
            None => {
                let decision = self.review(pod, connector).await?;
                self.decisions.put(key, decision.clone(), Instant::now());
                decision
            }
        };
        match decision {
            Decision::Allowed => Ok(()),
            Decision::Denied { reason } => Err(AccessError::Denied {
                connector: connector.clone(),
                service_account: format!("{}/{}", pod.namespace, pod.service_account),
                reason,
            }),
        }
    }

    async fn review(
        &self,
        pod: &PodInfo,
        connector: &ConnectorRef,
    ) -> Result<Decision, AccessError> {
        let review = review_for(pod, connector);
        let answer = answer_within(
            self.request_timeout,
            self.reviews.create(&PostParams::default(), &review),
        )
        .await
        .map_err(|err| AccessError::Unavailable {
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
    async fn check(&self, pod: &PodInfo, connectors: &[ConnectorRef]) -> Result<(), AccessError> {
        if pod.service_account.is_empty() || pod.namespace.is_empty() {
            return Err(AccessError::UnknownServiceAccount);
        }
        // Reviews of a multi-connector volume run together; the first failure
        // in the volume's own order is the one reported.
        let outcomes =
            futures::future::join_all(connectors.iter().map(|c| self.check_one(pod, c))).await;
        outcomes.into_iter().collect()
    }
}

/// The review the API server would run for a request made with the pod's
/// service-account token: the user name plus the groups every service
/// account belongs to, so RBAC bindings to those groups count too.
fn review_for(pod: &PodInfo, connector: &ConnectorRef) -> SubjectAccessReview {
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
                verb: Some("get".to_owned()),
                group: Some(API_GROUP.to_owned()),
                resource: Some(CONNECTOR_RESOURCE.to_owned()),
                name: Some(connector.name.clone()),
                ..ResourceAttributes::default()
            }),
            ..SubjectAccessReviewSpec::default()
        },
        ..SubjectAccessReview::default()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Decision {
    Allowed,
    Denied { reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct DecisionKey {
    service_account_namespace: String,
    service_account: String,
    connector: ConnectorRef,
}

impl DecisionKey {
    fn new(pod: &PodInfo, connector: &ConnectorRef) -> DecisionKey {
        DecisionKey {
            service_account_namespace: pod.namespace.clone(),
            service_account: pod.service_account.clone(),
            connector: connector.clone(),
        }
    }
}

/// A bounded map of decisions with an expiry each. Small by design: a node
/// runs a few hundred pods, so a linear sweep when full is cheap.
struct DecisionCache {
    config: DecisionCacheConfig,
    entries: Mutex<HashMap<DecisionKey, (Decision, Instant)>>,
}

impl DecisionCache {
    fn new(config: DecisionCacheConfig) -> DecisionCache {
        DecisionCache {
            config,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, key: &DecisionKey, now: Instant) -> Option<Decision> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(key) {
            Some((decision, expires)) if *expires > now => Some(decision.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    fn put(&self, key: DecisionKey, decision: Decision, now: Instant) {
        if self.config.capacity == 0 {
            return;
        }
        let ttl = match decision {
            Decision::Allowed => self.config.allowed_ttl,
            Decision::Denied { .. } => self.config.denied_ttl,
        };
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.config.capacity && !entries.contains_key(&key) {
            entries.retain(|_, (_, expires)| *expires > now);
        }
        if entries.len() >= self.config.capacity && !entries.contains_key(&key) {
            let soonest = entries
                .iter()
                .min_by_key(|(_, (_, expires))| *expires)
                .map(|(key, _)| key.clone());
            if let Some(soonest) = soonest {
                entries.remove(&soonest);
            }
        }
        entries.insert(key, (decision, now + ttl));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(sa: &str, connector: &str) -> DecisionKey {
        DecisionKey {
            service_account_namespace: "default".into(),
            service_account: sa.into(),
            connector: ConnectorRef {
                namespace: "default".into(),
                name: connector.into(),
            },
        }
    }

    fn cache(capacity: usize) -> DecisionCache {
        DecisionCache::new(DecisionCacheConfig {
            capacity,
            allowed_ttl: Duration::from_secs(60),
            denied_ttl: Duration::from_secs(5),
        })
    }

    #[test]
    fn a_cached_grant_is_served_until_its_ttl_runs_out() {
        let cache = cache(8);
        let now = Instant::now();
        cache.put(key("sa", "git"), Decision::Allowed, now);
        assert_eq!(
            cache.get(&key("sa", "git"), now + Duration::from_secs(59)),
            Some(Decision::Allowed)
        );
        assert_eq!(
            cache.get(&key("sa", "git"), now + Duration::from_secs(61)),
            None
        );
        assert_eq!(cache.len(), 0, "an expired entry is dropped when seen");
    }

    #[test]
    fn a_denial_expires_sooner_than_a_grant() {
        let cache = cache(8);
        let now = Instant::now();
        let denied = Decision::Denied {
            reason: "no".into(),
        };
        cache.put(key("sa", "git"), denied.clone(), now);
        assert_eq!(
            cache.get(&key("sa", "git"), now + Duration::from_secs(4)),
            Some(denied)
        );
        assert_eq!(
            cache.get(&key("sa", "git"), now + Duration::from_secs(6)),
            None
        );
    }

    #[test]
    fn a_full_cache_evicts_the_entry_closest_to_expiry() {
        let cache = cache(2);
        let now = Instant::now();
        cache.put(key("sa", "a"), Decision::Allowed, now);
        cache.put(
            key("sa", "b"),
            Decision::Allowed,
            now + Duration::from_secs(1),
        );
        cache.put(
            key("sa", "c"),
            Decision::Allowed,
            now + Duration::from_secs(2),
        );
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&key("sa", "a"), now), None);
        assert!(cache.get(&key("sa", "c"), now).is_some());
    }

    #[test]
    fn a_zero_capacity_cache_remembers_nothing() {
        let cache = cache(0);
        cache.put(key("sa", "a"), Decision::Allowed, Instant::now());
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn decisions_are_per_service_account() {
        let cache = cache(8);
        let now = Instant::now();
        cache.put(key("builder", "git"), Decision::Allowed, now);
        assert_eq!(cache.get(&key("other", "git"), now), None);
    }

    #[test]
    fn the_review_asks_for_get_on_the_connector_as_the_service_account() {
        let pod = PodInfo {
            name: "p".into(),
            namespace: "team-a".into(),
            uid: "u".into(),
            service_account: "builder".into(),
        };
        let connector = ConnectorRef {
            namespace: "shared".into(),
            name: "git".into(),
        };
        let review = review_for(&pod, &connector);
        assert_eq!(
            review.spec.user.as_deref(),
            Some("system:serviceaccount:team-a:builder")
        );
        let groups = review.spec.groups.unwrap_or_default();
        assert!(groups.contains(&"system:serviceaccounts:team-a".to_owned()));
        let attributes = review.spec.resource_attributes.unwrap_or_default();
        assert_eq!(attributes.namespace.as_deref(), Some("shared"));
        assert_eq!(attributes.name.as_deref(), Some("git"));
        assert_eq!(attributes.verb.as_deref(), Some("get"));
        assert_eq!(attributes.group.as_deref(), Some("connectors.alauda.io"));
        assert_eq!(attributes.resource.as_deref(), Some("connectors"));
    }

    #[test]
    fn a_denial_names_the_connector_and_the_service_account() {
        let err = AccessError::Denied {
            connector: ConnectorRef {
                namespace: "shared".into(),
                name: "git".into(),
            },
            service_account: "team-a/builder".into(),
            reason: String::new(),
        };
        assert_eq!(
            err.to_string(),
            "service account \"team-a/builder\" may not get connector \"shared/git\""
        );
    }
}
