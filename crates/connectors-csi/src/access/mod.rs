//! Authorisation: may the pod's service account use these connectors.
//!
//! The pod's service account must be allowed to `get` each Connector of the
//! volume and, when upstream's [`flags`] ask for it, to use the connector's
//! proxy. In a cluster this is asked of the API server with
//! SubjectAccessReviews ([`SubjectAccessReviewAccess`], decisions cached
//! briefly); with manifests there is no one to ask and [`AllowAll`] lets
//! everything through.

use async_trait::async_trait;

use crate::volume::{ConnectorRef, PodInfo};

mod approval;
mod cache;
pub mod flags;
mod review;

pub use cache::DecisionCacheConfig;
pub use flags::{FeatureFlags, FlagSource, FlagsOff};
pub use review::SubjectAccessReviewAccess;

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
    /// The `get` check passed, the proxy check (either grant shape) did not.
    #[error(
        "service account \"{service_account}\" may not use the proxy of connector \"{connector}\" \
         (needs verb \"*\" on connectors/proxy, or on connectors/proxy/v1/pod/{pod} for this pod only){}",
        reason_suffix(reason)
    )]
    ProxyDenied {
        connector: ConnectorRef,
        service_account: String,
        /// `namespace/name` of the pod.
        pod: String,
        reason: String,
    },
    /// Approval gating: the pod's AccessRequest awaits a decision (retryable).
    #[error("access to connector \"{connector}\" awaits approval of AccessRequest \"{request}\"")]
    Pending {
        connector: ConnectorRef,
        /// `namespace/name` of the AccessRequest.
        request: String,
    },
    /// kubelet did not say which service account the pod runs as, so there is
    /// nothing to check (`podInfoOnMount` is off).
    #[error("the pod's service account is unknown (is podInfoOnMount enabled on the CSIDriver?)")]
    UnknownServiceAccount,
    /// The feature flags could not be read; worth retrying.
    #[error("{reason}")]
    FlagsUnavailable { reason: String },
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

/// What the pipeline does after the checks: mount the files, or mount only
/// the rejection's `.error.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccessOutcome {
    Allowed,
    Rejected(Rejection),
}

/// An AccessRequest that was rejected: the volume holds only `.error.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub connector: ConnectorRef,
    /// `namespace/name` of the AccessRequest.
    pub request: String,
}

impl Rejection {
    /// What `.error.json` says.
    pub fn message(&self) -> String {
        format!(
            "access to connector \"{}\" was rejected (AccessRequest \"{}\")",
            self.connector, self.request
        )
    }
}

/// Decides whether a pod may mount its connectors.
#[async_trait]
pub trait Access: Send + Sync {
    async fn check(
        &self,
        pod: &PodInfo,
        connectors: &[ConnectorRef],
    ) -> Result<AccessOutcome, AccessError>;
}

/// Manifests mode: there is no API server to ask, so every pod may use every
/// connector the files define.
#[derive(Clone, Copy, Debug, Default)]
pub struct AllowAll;

#[async_trait]
impl Access for AllowAll {
    async fn check(
        &self,
        _pod: &PodInfo,
        _connectors: &[ConnectorRef],
    ) -> Result<AccessOutcome, AccessError> {
        Ok(AccessOutcome::Allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connector() -> ConnectorRef {
        ConnectorRef {
            namespace: "shared".into(),
            name: "git".into(),
        }
    }

    #[test]
    fn a_denial_names_the_connector_and_the_service_account() {
        let err = AccessError::Denied {
            connector: connector(),
            service_account: "team-a/builder".into(),
            reason: String::new(),
        };
        assert_eq!(
            err.to_string(),
            "service account \"team-a/builder\" may not get connector \"shared/git\""
        );
    }

    #[test]
    fn a_proxy_denial_names_the_permission_in_both_shapes() {
        let err = AccessError::ProxyDenied {
            connector: connector(),
            service_account: "team-a/builder".into(),
            pod: "team-a/web-0".into(),
            reason: "no RBAC rule allows it".into(),
        };
        assert_eq!(
            err.to_string(),
            "service account \"team-a/builder\" may not use the proxy of connector \"shared/git\" \
             (needs verb \"*\" on connectors/proxy, or on connectors/proxy/v1/pod/team-a/web-0 \
             for this pod only): no RBAC rule allows it"
        );
    }
}
