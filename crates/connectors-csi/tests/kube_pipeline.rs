//! The publish pipeline in cluster mode, short of the kernel: the driver's
//! `Publisher` with its cluster parts against the fake API server, and the
//! recording mounter in place of tmpfs, so these run without root.

#![allow(clippy::unwrap_used)] // test code: a failed step is a failed test

mod support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use connectors_csi::catalog::Catalog;
use connectors_csi::cluster::ClusterParts;
use connectors_csi::mount::{MountOptions, RecordingMounter};
use connectors_csi::publish::{PublishOutcome, PublishRequest, Publisher};
use connectors_csi::tokens::Tokens;
use serde_json::json;
use support::apiserver::FakeApiServer;
use support::attributes::team_a_pod;
use support::cluster::{self, git_class, git_connector};
use support::driver::Options;
use support::{eventually, AUDIENCE, DRIVER_NAMESPACE};

struct Cluster {
    server: FakeApiServer,
    publisher: Arc<Publisher>,
    mounter: Arc<RecordingMounter>,
    dir: support::mounts::NodeDir,
}

impl Cluster {
    /// `--token-source request`.
    async fn requesting() -> Cluster {
        Cluster::start(|parts| Tokens::requested(AUDIENCE, parts.tokens.clone())).await
    }

    /// `--token-source kubelet`.
    async fn kubelet() -> Cluster {
        Cluster::start(|_| Tokens::kubelet(AUDIENCE)).await
    }

    async fn start(tokens: impl FnOnce(&ClusterParts) -> Tokens) -> Cluster {
        let server = FakeApiServer::start().await;
        server.apply(git_class(
            "[url \"{{ .connector.status.proxyAddress }}\"]\n\tinsteadOf = {{ .connector.spec.address }}\n",
        ));
        server.apply(git_connector("github", "https://github.com"));
        server.allow("team-a", "builder", "team-a", "github");
        let parts = cluster::parts(&server, &cluster::settings()).await;
        let tokens = tokens(&parts);
        let catalog = parts.catalog as Arc<dyn Catalog>;
        eventually("the catalog is ready", async || catalog.is_ready()).await;
        let dir = support::mounts::NodeDir::new();
        let mounter = Arc::new(RecordingMounter::default());
        let mut options = Options::new(dir.path());
        options.mounter = mounter.clone();
        options.parts = Some((catalog, parts.access as _, tokens));
        Cluster {
            server,
            publisher: options.publisher(),
            mounter,
            dir,
        }
    }

    fn target(&self) -> PathBuf {
        self.dir.path().join("pods/web-0/volumes/git/mount")
    }

    /// What kubelet's NodePublishVolume for pod web-0 does.
    async fn publish(&self, kubelet_tokens: Option<&str>) -> PublishOutcome {
        let mut context = team_a_pod(
            "web-0",
            &[
                ("connector.name", "github"),
                ("configuration.names", "gitconfig"),
                ("token.expiration", "20m"),
            ],
        );
        if let Some(tokens) = kubelet_tokens {
            context.insert(
                "csi.storage.k8s.io/serviceAccount.tokens".into(),
                tokens.into(),
            );
        }
        let request = PublishRequest {
            volume_id: "csi-web-0".into(),
            target_path: self.target(),
            volume_context: context,
            secrets: HashMap::new(),
            mount_options: MountOptions::default(),
        };
        self.publisher.publish(&request).await.unwrap()
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.target().join(name)).unwrap()
    }
}

#[tokio::test]
async fn the_files_carry_a_pod_bound_token_the_api_server_issued() {
    let cluster = Cluster::requesting().await;

    assert_eq!(cluster.publish(None).await, PublishOutcome::Mounted);

    let issued = cluster.server.issued_tokens();
    assert_eq!(issued.len(), 1);
    assert_eq!(cluster.file("context.token"), issued[0].token);
    assert_eq!(issued[0].bound_uid.as_deref(), Some("uid-of-web-0"));
    assert_eq!(issued[0].expiration_seconds, Some(20 * 60));
    assert_eq!(
        cluster.file(".gitconfig"),
        "[url \"http://github.team-a.proxy\"]\n\tinsteadOf = https://github.com\n"
    );
    assert!(cluster.file("http.proxy").contains(&issued[0].token));
    assert_eq!(cluster.mounter.read_only(&cluster.target()), Some(true));
    let state = cluster.publisher.volumes();
    assert_eq!(state.len(), 1);
    assert_eq!(state[0].volume_id, "csi-web-0");
}

#[tokio::test]
async fn in_kubelet_mode_the_kubelet_token_goes_into_the_files_and_nothing_is_requested() {
    let cluster = Cluster::kubelet().await;

    cluster
        .publish(Some(r#"{"connectors-proxy": {"token": "from-kubelet"}}"#))
        .await;

    assert_eq!(cluster.file("context.token"), "from-kubelet");
    assert!(cluster.server.issued_tokens().is_empty());
}

#[tokio::test]
async fn in_request_mode_a_tokens_attribute_from_the_pod_author_is_ignored() {
    let cluster = Cluster::requesting().await;

    cluster
        .publish(Some(
            r#"{"connectors-proxy": {"token": "forged-by-the-pod"}}"#,
        ))
        .await;

    let issued = cluster.server.issued_tokens();
    assert_eq!(issued.len(), 1);
    assert_eq!(cluster.file("context.token"), issued[0].token);
}

#[tokio::test]
async fn an_updated_connector_shows_in_the_next_republish() {
    let cluster = Cluster::requesting().await;
    cluster.publish(None).await;

    cluster
        .server
        .apply(git_connector("github", "https://gitlab.example.com"));

    eventually("the update reached the files", async || {
        assert_eq!(cluster.publish(None).await, PublishOutcome::Updated);
        cluster.file(".gitconfig").contains("gitlab.example.com")
    })
    .await;
}

#[tokio::test]
async fn the_operators_configmap_overrides_a_built_in_file() {
    let cluster = Cluster::requesting().await;
    cluster.server.apply(json!({
        "kind": "ConfigMap",
        "metadata": {"name": "connectors-csi-configuration-system", "namespace": DRIVER_NAMESPACE},
        "data": {"connector.status.proxyAddress": "overridden {{ .connector.metadata.name }}"}
    }));

    cluster.publish(None).await;
    eventually("the override reached the files", async || {
        cluster.publish(None).await;
        cluster.file("connector.status.proxyAddress") == "overridden github"
    })
    .await;
}
