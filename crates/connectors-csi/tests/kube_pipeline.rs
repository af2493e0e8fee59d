//! The cluster-mode seams composed as the publish pipeline composes them
//! (parse → resolve → authorise → token → plan), against the fake API server:
//! the files a pod would get, short of the socket and the mount.

#![allow(clippy::unwrap_used)] // test code: a failed step is a failed test

#[path = "support/apiserver.rs"]
mod apiserver;

use std::collections::HashMap;
use std::time::Duration;

use apiserver::FakeApiServer;
use connectors_csi::access::{Access, DecisionCacheConfig};
use std::sync::Arc;

use connectors_csi::catalog::Catalog;
use connectors_csi::cluster::{connect, ClusterParts, ClusterSettings};
use connectors_csi::render::{FilePlan, Renderer};
use connectors_csi::tokens::Tokens;
use connectors_csi::volume::VolumeRequest;
use serde_json::json;

const AUDIENCE: &str = "connectors-proxy";

struct Cluster {
    server: FakeApiServer,
    parts: ClusterParts,
    tokens: Tokens,
    renderer: Renderer,
}

impl Cluster {
    async fn start() -> Cluster {
        let server = FakeApiServer::start().await;
        server.apply(json!({
            "kind": "ConnectorClass", "metadata": {"name": "git"},
            "spec": {"configurations": [{"name": "gitconfig", "data": {
                ".gitconfig": "[url \"{{ .connector.status.proxyAddress }}\"]\n\tinsteadOf = {{ .connector.spec.address }}\n"
            }}]},
            "status": {"proxy": {"httpAddress": {"url": "http://forward.proxy:3128"}}}
        }));
        server.apply(git_connector("https://github.com"));
        server.allow("team-a", "builder", "team-a", "github");
        let client = connect(Some(server.kubeconfig_path())).await.unwrap();
        let settings = ClusterSettings {
            namespace: "connectors-system".into(),
            decisions: DecisionCacheConfig::default(),
            request_timeout: Duration::from_secs(2),
        };
        let parts = ClusterParts::build(client, &settings);
        let tokens = Tokens::new(AUDIENCE, Some(Arc::clone(&parts.tokens) as _));
        Cluster {
            server,
            parts,
            tokens,
            renderer: Renderer::default(),
        }
    }

    /// What a publish does before it mounts.
    async fn plan(&self, kubelet_tokens: Option<&str>) -> FilePlan {
        let context = volume_context(kubelet_tokens);
        let request = VolumeRequest::parse(&context).unwrap();
        let resolved = self
            .parts
            .catalog
            .resolve(&request.connectors)
            .await
            .unwrap();
        self.parts
            .access
            .check(&request.pod, &request.connectors)
            .await
            .unwrap();
        let kubelet = self.tokens.from_kubelet(&HashMap::new(), &context).unwrap();
        let token = self
            .tokens
            .token(&request.pod, request.token_expiration, kubelet)
            .await
            .unwrap();
        let overrides = self.parts.catalog.builtin_templates().await.unwrap();
        self.renderer
            .plan(&request, &resolved, overrides.as_deref(), &token, "")
            .unwrap()
    }
}

fn git_connector(address: &str) -> serde_json::Value {
    json!({
        "kind": "Connector", "metadata": {"name": "github", "namespace": "team-a"},
        "spec": {"connectorClassName": "git", "address": address},
        "status": {"proxy": {"httpAddress": {"url": "http://github.team-a.proxy"}}}
    })
}

fn volume_context(kubelet_tokens: Option<&str>) -> HashMap<String, String> {
    let mut context: HashMap<String, String> = [
        ("connector.name", "github"),
        ("configuration.names", "gitconfig"),
        ("token.expiration", "20m"),
        ("csi.storage.k8s.io/pod.name", "web-0"),
        ("csi.storage.k8s.io/pod.namespace", "team-a"),
        ("csi.storage.k8s.io/pod.uid", "pod-uid-7"),
        ("csi.storage.k8s.io/serviceAccount.name", "builder"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    if let Some(tokens) = kubelet_tokens {
        context.insert(
            "csi.storage.k8s.io/serviceAccount.tokens".into(),
            tokens.into(),
        );
    }
    context
}

fn text(plan: &FilePlan, name: &str) -> String {
    let file = plan.get(name).unwrap_or_else(|| panic!("no file {name}"));
    String::from_utf8(file.content.clone()).unwrap()
}

#[tokio::test]
async fn the_files_carry_a_pod_bound_token_the_api_server_issued() {
    let cluster = Cluster::start().await;

    let plan = cluster.plan(None).await;

    let issued = cluster.server.issued_tokens();
    assert_eq!(issued.len(), 1);
    assert_eq!(text(&plan, "context.token"), issued[0].token);
    assert_eq!(issued[0].bound_uid.as_deref(), Some("pod-uid-7"));
    assert_eq!(issued[0].expiration_seconds, Some(20 * 60));
    assert_eq!(
        text(&plan, ".gitconfig"),
        "[url \"http://github.team-a.proxy\"]\n\tinsteadOf = https://github.com\n"
    );
    assert!(text(&plan, "http.proxy").contains(&issued[0].token));
}

#[tokio::test]
async fn the_kubelet_token_goes_into_the_files_and_nothing_is_requested() {
    let cluster = Cluster::start().await;

    let plan = cluster
        .plan(Some(r#"{"connectors-proxy": {"token": "from-kubelet"}}"#))
        .await;

    assert_eq!(text(&plan, "context.token"), "from-kubelet");
    assert!(cluster.server.issued_tokens().is_empty());
}

#[tokio::test]
async fn an_updated_connector_shows_in_the_next_plan() {
    let cluster = Cluster::start().await;
    cluster.plan(None).await;

    cluster
        .server
        .apply(git_connector("https://gitlab.example.com"));

    for _ in 0..500 {
        if text(&cluster.plan(None).await, ".gitconfig").contains("gitlab.example.com") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the update never reached the files");
}

#[tokio::test]
async fn the_operators_configmap_overrides_a_built_in_file() {
    let cluster = Cluster::start().await;
    cluster.server.apply(json!({
        "kind": "ConfigMap",
        "metadata": {"name": "connectors-csi-configuration-system", "namespace": "connectors-system"},
        "data": {"connector.status.proxyAddress": "overridden {{ .connector.metadata.name }}"}
    }));

    for _ in 0..500 {
        let plan = cluster.plan(None).await;
        if text(&plan, "connector.status.proxyAddress") == "overridden github" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the override never reached the files");
}
