//! The cluster the permission and approval tests share: a cluster-mode
//! driver on its socket over the fake API server, with one class, one
//! connector and a `get` grant, and the flag and grant builders.

use std::path::PathBuf;
use std::sync::Arc;

use super::apiserver::{FakeApiServer, Grant};
use super::attributes::{team_a_pod, with_kubelet_token};
use super::cluster::{self, git_class, git_connector};
use super::driver::{self, Clients, DriverHandle};
use super::mounts::mount_at;
use super::{AUDIENCE, DRIVER_NAMESPACE};
use connectors_csi::catalog::Catalog;
use connectors_csi::cluster::ClusterSettings;
use connectors_csi::tokens::Tokens;
use serde_json::{json, Value as Json};

pub const TOKEN: &str = "kubelet-token-of-the-pod";

/// A cluster-mode driver on its socket; the service account `team-a/builder`
/// may `get` every connector of `team-a`.
pub struct Cluster {
    pub server: FakeApiServer,
    pub clients: Clients,
    pub handle: Option<DriverHandle>,
    pub dir: super::mounts::NodeDir,
}

impl Cluster {
    /// Every access check asks the API server (no decision cache).
    pub async fn start(flags: &[(&str, &str)]) -> Cluster {
        Cluster::start_with(flags, cluster::settings()).await
    }

    pub async fn start_with(flags: &[(&str, &str)], settings: ClusterSettings) -> Cluster {
        let server = FakeApiServer::start().await;
        server.apply(git_class("# {{ .connector.spec.address }}\n"));
        server.apply(git_connector("github", "https://github.com"));
        server.allow("team-a", "builder", "team-a", "*");
        if !flags.is_empty() {
            server.apply(flags_configmap(flags));
        }
        let dir = super::mounts::NodeDir::new();
        let parts = cluster::parts(&server, &settings).await;
        let mut options = driver::Options::new(dir.path());
        options.parts = Some((
            parts.catalog as Arc<dyn Catalog>,
            parts.access as _,
            Tokens::kubelet_or(AUDIENCE, parts.tokens),
        ));
        options.events = parts.events;
        let (clients, handle) = driver::start(options).await;
        Cluster {
            server,
            clients,
            handle: Some(handle),
            dir,
        }
    }

    pub async fn stop(mut self) {
        if let Some(handle) = self.handle.take() {
            handle.stop().await;
        }
    }

    pub fn target(&self, pod: &str) -> PathBuf {
        self.dir.path().join("pods").join(pod).join("volume")
    }

    pub async fn publish(&self, pod: &str) -> Result<(), tonic::Status> {
        self.publish_volume(pod, "volume").await
    }

    /// Publishes the volume `volume` of `pod` at its own target.
    pub async fn publish_volume(&self, pod: &str, volume: &str) -> Result<(), tonic::Status> {
        let context = with_kubelet_token(
            team_a_pod(
                pod,
                &[
                    ("connector.name", "github"),
                    ("configuration.names", "gitconfig"),
                ],
            ),
            TOKEN,
        );
        let target = self.dir.path().join("pods").join(pod).join(volume);
        let request = driver::publish_request(&format!("csi-{pod}-{volume}"), &target, context);
        let mut node = self.clients.node.clone();
        node.node_publish_volume(request).await.map(|_| ())
    }

    pub fn is_mounted(&self, pod: &str) -> bool {
        mount_at(&self.target(pod)).is_some()
    }

    pub fn proxy_reviews(&self) -> usize {
        self.server
            .reviews()
            .iter()
            .filter(|r| {
                let attributes = r.spec.resource_attributes.clone().unwrap_or_default();
                attributes
                    .subresource
                    .is_some_and(|s| s.starts_with("proxy"))
            })
            .count()
    }
}

pub fn flags_configmap(flags: &[(&str, &str)]) -> Json {
    let data: serde_json::Map<String, Json> = flags
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "connectors-config", "namespace": DRIVER_NAMESPACE},
        "data": data,
    })
}

pub const PROXY_ON: &[(&str, &str)] = &[("enable-connector-proxy-permissions", "true")];

/// `*` on `connectors/<subresource>` of `team-a/github` for `team-a/builder`.
pub fn proxy_grant(subresource: &str) -> Grant {
    Grant::service_account("team-a", "builder")
        .in_namespace("team-a")
        .verbs(&["*"])
        .resources(&[&format!("connectors/{subresource}")])
        .names(&["github"])
}
