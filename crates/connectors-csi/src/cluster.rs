//! Cluster mode's wiring: a client for the API server, configured the usual
//! way and counted by the metrics, and the catalog, access check, token
//! source and Events recorder built on it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::access::{DecisionCacheConfig, SubjectAccessReviewAccess};
use crate::catalog::kube::KubeCatalog;
use crate::events::EventRecorder;
use crate::telemetry::{ApiCallLayer, Metrics};
use crate::tokens::TokenRequester;

/// Why no API client could be built.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("reading kubeconfig {path}: {source}")]
    Kubeconfig {
        path: String,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("no Kubernetes configuration (in-cluster or KUBECONFIG): {0}")]
    Infer(#[source] kube::config::InferConfigError),
    #[error("building the Kubernetes client: {0}")]
    Client(#[source] kube::Error),
}

/// A client from `kubeconfig` when given, otherwise from
/// `KUBECONFIG`/`~/.kube/config` or the in-cluster service account; every
/// request it sends is counted in `metrics`.
pub async fn connect(
    kubeconfig: Option<&Path>,
    metrics: &Arc<Metrics>,
) -> Result<Client, ConnectError> {
    let config = match kubeconfig {
        Some(path) => {
            let kubeconfig_error = |source| ConnectError::Kubeconfig {
                path: path.display().to_string(),
                source,
            };
            let file = Kubeconfig::read_from(path).map_err(kubeconfig_error)?;
            Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
                .await
                .map_err(kubeconfig_error)?
        }
        None => Config::infer().await.map_err(ConnectError::Infer)?,
    };
    let builder = ClientBuilder::try_from(config).map_err(ConnectError::Client)?;
    Ok(builder
        .with_layer(&ApiCallLayer::new(metrics.clone()))
        .build())
}

/// What cluster mode needs besides the client.
#[derive(Clone, Debug)]
pub struct ClusterSettings {
    /// The driver's own namespace (`POD_NAMESPACE` or `--namespace`), where
    /// the templates and feature-flags ConfigMaps live.
    pub namespace: String,
    pub decisions: DecisionCacheConfig,
    /// Bound on each API call made during a publish
    /// ([`REQUEST_TIMEOUT`](crate::apiserver::REQUEST_TIMEOUT) in the driver).
    pub request_timeout: Duration,
}

/// The cluster-mode implementations of the publish pipeline's seams, sharing
/// one client. Concrete types, each coerces to its `Arc<dyn …>`.
pub struct ClusterParts {
    pub catalog: Arc<KubeCatalog>,
    pub access: Arc<SubjectAccessReviewAccess>,
    pub tokens: Arc<TokenRequester>,
    /// Events on pods (rate-limited), shared by everything that reports.
    pub events: Arc<EventRecorder>,
}

impl ClusterParts {
    /// The catalog's watchers start now, on the current tokio runtime.
    /// Reviews and token requests are counted in `metrics`.
    pub fn build(
        client: Client,
        settings: &ClusterSettings,
        metrics: &Arc<Metrics>,
    ) -> ClusterParts {
        let timeout = settings.request_timeout;
        let catalog = Arc::new(KubeCatalog::start(
            client.clone(),
            &settings.namespace,
            timeout,
        ));
        let events = Arc::new(EventRecorder::new(client.clone()));
        let access = SubjectAccessReviewAccess::new(client.clone(), settings.decisions, timeout)
            .with_flags(catalog.clone())
            .with_events(events.clone())
            .with_metrics(metrics.clone());
        ClusterParts {
            catalog,
            access: Arc::new(access),
            tokens: Arc::new(TokenRequester::new(client, timeout).with_metrics(metrics.clone())),
            events,
        }
    }
}
