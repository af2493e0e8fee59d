//! Cluster mode against the fake API server: the objects the tests use and
//! the driver's cluster parts wired through a kubeconfig, as in a cluster.

use std::sync::Arc;
use std::time::Duration;

use connectors_csi::access::DecisionCacheConfig;
use connectors_csi::cluster::{connect, ClusterParts, ClusterSettings};
use connectors_csi::telemetry::Metrics;
use serde_json::{json, Value as Json};

use super::apiserver::FakeApiServer;
use super::DRIVER_NAMESPACE;

/// A Connector of class `class` with its own proxy `http://NAME.NAMESPACE.proxy`.
pub fn connector(namespace: &str, name: &str, class: &str, address: &str) -> Json {
    json!({
        "apiVersion": "connectors.alauda.io/v1alpha1", "kind": "Connector",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"connectorClassName": class, "address": address},
        "status": {"proxy": {"httpAddress": {"url": format!("http://{name}.{namespace}.proxy")}}}
    })
}

/// A Connector `team-a/NAME` of the class [`git_class`].
pub fn git_connector(name: &str, address: &str) -> Json {
    connector("team-a", name, "git", address)
}

/// The ConnectorClass `git` with one configuration, `gitconfig`, whose one
/// file `.gitconfig` is `template`.
pub fn git_class(template: &str) -> Json {
    json!({
        "apiVersion": "connectors.alauda.io/v1alpha1", "kind": "ConnectorClass",
        "metadata": {"name": "git"},
        "spec": {"configurations": [{"name": "gitconfig", "data": {".gitconfig": template}}]},
        "status": {"proxy": {"httpAddress": {"url": "http://forward.proxy:3128"}}}
    })
}

/// Test settings: every access check asks the API server (so rule changes
/// apply at once), and calls give up after 2 s.
pub fn settings() -> ClusterSettings {
    ClusterSettings {
        namespace: DRIVER_NAMESPACE.into(),
        decisions: DecisionCacheConfig {
            capacity: 0,
            ..DecisionCacheConfig::default()
        },
        request_timeout: Duration::from_secs(2),
    }
}

/// The driver's cluster parts, connected through the fake's kubeconfig file.
pub async fn parts(server: &FakeApiServer, settings: &ClusterSettings) -> ClusterParts {
    let metrics = Arc::new(Metrics::new());
    let client = connect(Some(server.kubeconfig_path()), &metrics)
        .await
        .unwrap();
    ClusterParts::build(client, settings, &metrics)
}

/// A cluster holding connector `team-a/github` (address `https://github.com`)
/// of a git class whose one file names the address, readable by
/// `team-a/builder` only.
pub async fn github_cluster() -> FakeApiServer {
    let server = FakeApiServer::start().await;
    server.apply(git_class("# {{ .connector.spec.address }}\n"));
    server.apply(git_connector("github", "https://github.com"));
    server.allow("team-a", "builder", "team-a", "github");
    server
}
