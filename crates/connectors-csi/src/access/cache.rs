//! Remembered SubjectAccessReview answers.
//!
//! Kubelet republishes every volume periodically, so without a cache every
//! republish would cost reviews per connector. Denials are kept for less
//! time than grants (as kube-apiserver's webhook authoriser does) so that a
//! freshly added RoleBinding takes effect quickly, and a grant at most its
//! ttl after it is revoked.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::volume::{ConnectorRef, PodInfo};

/// How long and how many decisions are remembered.
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
            denied_ttl: Duration::from_secs(5),
        }
    }
}

/// What was asked about a connector.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Permission {
    /// `get` on the Connector.
    Get,
    /// `*` on `connectors/proxy`: every workload of the service account.
    Proxy,
    /// `*` on `connectors/proxy/v1/pod/<podNs>/<podName>`: this pod only.
    PodProxy { namespace: String, name: String },
}

impl Permission {
    pub(super) fn pod_proxy(pod: &PodInfo) -> Permission {
        Permission::PodProxy {
            namespace: pod.namespace.clone(),
            name: pod.name.clone(),
        }
    }

    pub(super) fn verb(&self) -> &'static str {
        match self {
            Permission::Get => "get",
            Permission::Proxy | Permission::PodProxy { .. } => "*",
        }
    }

    pub(super) fn subresource(&self) -> Option<String> {
        match self {
            Permission::Get => None,
            Permission::Proxy => Some("proxy".to_owned()),
            Permission::PodProxy { namespace, name } => {
                Some(format!("proxy/v1/pod/{namespace}/{name}"))
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Decision {
    Allowed,
    Denied { reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct DecisionKey {
    service_account_namespace: String,
    service_account: String,
    connector: ConnectorRef,
    permission: Permission,
}

impl DecisionKey {
    pub(super) fn new(
        pod: &PodInfo,
        connector: &ConnectorRef,
        permission: &Permission,
    ) -> DecisionKey {
        DecisionKey {
            service_account_namespace: pod.namespace.clone(),
            service_account: pod.service_account.clone(),
            connector: connector.clone(),
            permission: permission.clone(),
        }
    }
}

/// A bounded map of decisions with an expiry each. Small by design: a node
/// runs a few hundred pods, so a linear sweep when full is cheap.
pub(super) struct DecisionCache {
    config: DecisionCacheConfig,
    entries: Mutex<HashMap<DecisionKey, (Decision, Instant)>>,
}

impl DecisionCache {
    pub(super) fn new(config: DecisionCacheConfig) -> DecisionCache {
        DecisionCache {
            config,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn get(&self, key: &DecisionKey, now: Instant) -> Option<Decision> {
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

    pub(super) fn put(&self, key: DecisionKey, decision: Decision, now: Instant) {
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
        let pod = PodInfo {
            namespace: "default".into(),
            service_account: sa.into(),
            ..PodInfo::default()
        };
        let connector = ConnectorRef {
            namespace: "default".into(),
            name: connector.into(),
        };
        DecisionKey::new(&pod, &connector, &Permission::Get)
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
    fn decisions_are_per_service_account_and_permission() {
        let cache = cache(8);
        let now = Instant::now();
        cache.put(key("builder", "git"), Decision::Allowed, now);
        assert_eq!(cache.get(&key("other", "git"), now), None);
        let mut proxy = key("builder", "git");
        proxy.permission = Permission::Proxy;
        assert_eq!(cache.get(&proxy, now), None);
    }
}
