//! The pipeline with the manifests catalog, a token file and the recording
//! mounter: no root, no cluster.

use super::*;
use crate::access::AllowAll;
use crate::catalog::ManifestsCatalog;
use crate::events::NoEvents;
use crate::mount::RecordingMounter;
use crate::tokens::{TokenFile, TokenOrigin};

const MANIFESTS: &str = "
apiVersion: connectors.alauda.io/v1alpha1
kind: ConnectorClass
metadata: {name: my-git}
spec:
  configurations:
  - name: config
    data:
      .gitconfig: 'token={{ .context.token }}'
---
apiVersion: connectors.alauda.io/v1alpha1
kind: Connector
metadata: {name: git-connector, namespace: default}
spec: {address: 'https://github.com', connectorClassName: my-git}
status: {proxy: {httpAddress: {url: 'http://proxy.default.svc'}}}
";

struct Fixture {
    dir: tempfile::TempDir,
    mounter: Arc<RecordingMounter>,
    metrics: Arc<Metrics>,
    publisher: Publisher,
}

/// Manifests mode with a token file: kubelet's token when it passes one,
/// else the file's.
fn publisher(dir: &Path, mounter: &Arc<RecordingMounter>, metrics: &Arc<Metrics>) -> Publisher {
    let mut catalog = ManifestsCatalog::default();
    catalog.add_text(Path::new("test.yaml"), MANIFESTS).unwrap();
    let file = Arc::new(TokenFile::new(dir.join("token")));
    Publisher::new(PublisherParts {
        catalog: Arc::new(catalog),
        access: Arc::new(AllowAll),
        tokens: Tokens::kubelet_or("proxy", file),
        renderer: Arc::new(Renderer::default()),
        volumes: VolumeDirs::new(mounter.clone(), 1 << 20, dir),
        state: StateStore::open(dir.join("state")).unwrap(),
        ca_cert: String::new(),
        metrics: metrics.clone(),
        events: Arc::new(NoEvents),
        render_concurrency: 2,
    })
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), "first-s3cr3t").unwrap();
        let mounter = Arc::new(RecordingMounter::default());
        let metrics = Arc::new(Metrics::new());
        let publisher = publisher(dir.path(), &mounter, &metrics);
        Fixture {
            dir,
            mounter,
            metrics,
            publisher,
        }
    }

    /// A new driver process on the same state directory and mounts.
    fn restart(self) -> Fixture {
        let publisher = publisher(self.dir.path(), &self.mounter, &self.metrics);
        Fixture { publisher, ..self }
    }

    /// A publish carrying kubelet's token for the audience, in `secrets`.
    fn request_with_kubelet_token(&self, token: &str, expires: &str) -> PublishRequest {
        let mut request = self.request("git-connector");
        request.secrets.insert(
            crate::volume::attr::SERVICE_ACCOUNT_TOKENS.to_owned(),
            format!(r#"{{"proxy":{{"token":"{token}","expirationTimestamp":"{expires}"}}}}"#),
        );
        request
    }

    fn target(&self) -> PathBuf {
        self.dir.path().join("pods/uid/volumes/vol")
    }

    fn request(&self, connector: &str) -> PublishRequest {
        PublishRequest {
            volume_id: "csi-1".into(),
            target_path: self.target(),
            volume_context: HashMap::from([
                ("connector.name".to_owned(), connector.to_owned()),
                ("configuration.names".to_owned(), "config".to_owned()),
                (
                    "csi.storage.k8s.io/pod.namespace".to_owned(),
                    "default".to_owned(),
                ),
                ("csi.storage.k8s.io/pod.name".to_owned(), "pod".to_owned()),
            ]),
            secrets: HashMap::new(),
            mount_options: MountOptions::default(),
        }
    }

    fn set_token(&self, token: &str) {
        std::fs::write(self.dir.path().join("token"), token).unwrap();
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.target().join(name)).unwrap()
    }

    fn only_volume(&self) -> VolumeState {
        let volumes = self.publisher.volumes();
        assert_eq!(volumes.len(), 1, "{volumes:?}");
        volumes[0].clone()
    }

    fn state_text(&self) -> String {
        let mut text = String::new();
        for entry in std::fs::read_dir(self.dir.path().join("state")).unwrap() {
            text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
        }
        text
    }
}

#[tokio::test]
async fn publish_mounts_the_files_and_records_state_without_the_token() {
    let fx = Fixture::new();
    let outcome = fx
        .publisher
        .publish(&fx.request("git-connector"))
        .await
        .unwrap();
    assert_eq!(outcome, PublishOutcome::Mounted);
    assert_eq!(fx.file(".gitconfig"), "token=first-s3cr3t");
    assert_eq!(fx.file("context.token"), "first-s3cr3t");
    assert_eq!(fx.mounter.read_only(&fx.target()), Some(true));
    let volumes = fx.publisher.volumes();
    assert_eq!(volumes.len(), 1);
    assert_eq!(volumes[0].volume_id, "csi-1");
    let state = fx.state_text();
    assert!(state.contains("git-connector"), "{state}");
    assert!(!state.contains("s3cr3t"), "{state}");
}

#[tokio::test]
async fn publish_is_idempotent_for_the_same_target() {
    let fx = Fixture::new();
    fx.publisher
        .publish(&fx.request("git-connector"))
        .await
        .unwrap();
    let again = fx
        .publisher
        .publish(&fx.request("git-connector"))
        .await
        .unwrap();
    assert_eq!(again, PublishOutcome::Unchanged);
    assert_eq!(fx.file(".gitconfig"), "token=first-s3cr3t");
    let mounts = fx
        .mounter
        .calls()
        .iter()
        .filter(|c| c.starts_with("mount "))
        .count();
    assert_eq!(mounts, 1, "{:?}", fx.mounter.calls());
    assert_eq!(fx.publisher.volumes().len(), 1);
}

#[tokio::test]
async fn a_republish_picks_up_a_new_token() {
    let fx = Fixture::new();
    fx.publisher
        .publish(&fx.request("git-connector"))
        .await
        .unwrap();
    fx.set_token("second-s3cr3t");
    fx.publisher
        .publish(&fx.request("git-connector"))
        .await
        .unwrap();
    assert_eq!(fx.file("context.token"), "second-s3cr3t");
}

#[tokio::test]
async fn a_republish_whose_render_fails_keeps_the_old_files_and_succeeds() {
    let fx = Fixture::new();
    fx.publisher
        .publish(&fx.request("git-connector"))
        .await
        .unwrap();
    let outcome = fx.publisher.publish(&fx.request("missing")).await.unwrap();
    assert_eq!(outcome, PublishOutcome::KeptPrevious);
    assert_eq!(fx.file(".gitconfig"), "token=first-s3cr3t");
    assert_eq!(fx.mounter.read_only(&fx.target()), Some(true));
    let text = fx.metrics.encode();
    assert!(
        text.contains(r#"connectors_csi_render_failures_total{operation="republish"} 1"#),
        "{text}"
    );
}

#[tokio::test]
async fn a_failed_first_publish_mounts_nothing_and_records_nothing() {
    let fx = Fixture::new();
    let err = fx
        .publisher
        .publish(&fx.request("missing"))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        PublishError::Catalog(CatalogError::ConnectorNotFound { .. })
    ));
    assert_eq!(err.to_string(), "connector \"default/missing\" not found");
    assert!(fx.mounter.calls().is_empty());
    assert!(!fx.target().exists());
    assert!(fx.publisher.volumes().is_empty());
}

#[tokio::test]
async fn a_missing_token_fails_without_naming_a_secret() {
    let fx = Fixture::new();
    fx.set_token("");
    let err = fx
        .publisher
        .publish(&fx.request("git-connector"))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        PublishError::Token(TokenError::EmptyFile { .. })
    ));
    assert!(fx.mounter.calls().is_empty());
}

#[tokio::test]
async fn unpublish_removes_target_and_state_and_succeeds_twice() {
    let fx = Fixture::new();
    fx.publisher
        .publish(&fx.request("git-connector"))
        .await
        .unwrap();
    fx.publisher.unpublish("csi-1", &fx.target()).await.unwrap();
    assert!(!fx.target().exists());
    assert_eq!(fx.mounter.read_only(&fx.target()), None);
    assert!(fx.publisher.volumes().is_empty());
    fx.publisher.unpublish("csi-1", &fx.target()).await.unwrap();
}

#[tokio::test]
async fn a_refresh_renders_again_with_a_new_token() {
    let fx = Fixture::new();
    fx.publisher
        .publish(&fx.request("git-connector"))
        .await
        .unwrap();
    fx.set_token("refreshed-s3cr3t");
    fx.publisher.refresh(&fx.only_volume()).await.unwrap();
    assert_eq!(fx.file("context.token"), "refreshed-s3cr3t");
}

#[tokio::test]
async fn a_refresh_keeps_the_files_when_the_token_is_gone() {
    let fx = Fixture::new();
    fx.publisher
        .publish(&fx.request("git-connector"))
        .await
        .unwrap();
    fx.set_token("");
    let err = fx.publisher.refresh(&fx.only_volume()).await.unwrap_err();
    assert!(matches!(err, PublishError::Token(_)));
    assert_eq!(fx.file("context.token"), "first-s3cr3t");
    assert!(fx
        .metrics
        .encode()
        .contains(r#"connectors_csi_render_failures_total{operation="refresh"} 1"#));
}

#[tokio::test]
async fn a_refresh_of_a_volume_unpublished_meanwhile_is_not_published() {
    let fx = Fixture::new();
    fx.publisher
        .publish(&fx.request("git-connector"))
        .await
        .unwrap();
    let listed = fx.only_volume();
    fx.publisher.unpublish("csi-1", &fx.target()).await.unwrap();
    let err = fx.publisher.refresh(&listed).await.unwrap_err();
    assert!(matches!(err, PublishError::NotPublished { .. }), "{err}");
    assert!(fx
        .mounter
        .calls()
        .iter()
        .all(|c| !c.starts_with("remount-rw")));
}

#[tokio::test]
async fn no_per_target_lock_outlives_its_call() {
    let fx = Fixture::new();
    fx.publisher
        .publish(&fx.request("git-connector"))
        .await
        .unwrap();
    fx.publisher
        .publish(&fx.request("git-connector"))
        .await
        .unwrap();
    fx.publisher.unpublish("csi-1", &fx.target()).await.unwrap();
    let failed = fx.publisher.publish(&fx.request("missing")).await;
    assert!(failed.is_err());
    assert_eq!(fx.publisher.mounted.locks_held(), 0);
}

const LATER: &str = "2099-01-01T00:00:00Z";

#[tokio::test]
async fn a_refresh_of_a_kubelet_volume_uses_kubelets_last_token_never_the_file() {
    let fx = Fixture::new();
    let outcome = fx
        .publisher
        .publish(&fx.request_with_kubelet_token("kubelet-s3cr3t", LATER))
        .await
        .unwrap();
    assert_eq!(outcome, PublishOutcome::Mounted);
    assert_eq!(fx.only_volume().token_origin, Some(TokenOrigin::Kubelet));
    fx.set_token("file-s3cr3t");

    let refreshed = fx.publisher.refresh(&fx.only_volume()).await.unwrap();

    assert_eq!(refreshed, Refreshed::Rendered);
    assert_eq!(fx.file("context.token"), "kubelet-s3cr3t");
    assert!(!fx.state_text().contains("kubelet-s3cr3t"));
}

#[tokio::test]
async fn a_restarted_driver_waits_for_kubelets_republish_instead_of_using_the_file() {
    let fx = Fixture::new();
    fx.publisher
        .publish(&fx.request_with_kubelet_token("kubelet-s3cr3t", LATER))
        .await
        .unwrap();
    let fx = fx.restart();
    fx.set_token("file-s3cr3t");
    let writes = fx.mounter.calls().len();

    let refreshed = fx.publisher.refresh(&fx.only_volume()).await.unwrap();

    assert_eq!(refreshed, Refreshed::AwaitingKubelet);
    assert_eq!(fx.mounter.calls().len(), writes, "nothing was written");
    assert_eq!(fx.file("context.token"), "kubelet-s3cr3t");

    let republished = fx
        .publisher
        .publish(&fx.request_with_kubelet_token("kubelet-next", LATER))
        .await
        .unwrap();
    assert_eq!(republished, PublishOutcome::Updated);
    let refreshed = fx.publisher.refresh(&fx.only_volume()).await.unwrap();
    assert_eq!(refreshed, Refreshed::Rendered);
    assert_eq!(fx.file("context.token"), "kubelet-next");
}

#[tokio::test]
async fn an_expired_kubelet_token_is_not_rendered_again() {
    let fx = Fixture::new();
    fx.publisher
        .publish(&fx.request_with_kubelet_token("old-s3cr3t", "2001-01-01T00:00:00Z"))
        .await
        .unwrap();

    let refreshed = fx.publisher.refresh(&fx.only_volume()).await.unwrap();

    assert_eq!(refreshed, Refreshed::AwaitingKubelet);
}

#[tokio::test]
async fn a_failed_republish_still_keeps_kubelets_newer_token_for_the_next_refresh() {
    let fx = Fixture::new();
    fx.publisher
        .publish(&fx.request_with_kubelet_token("first-kubelet", LATER))
        .await
        .unwrap();
    let mut broken = fx.request_with_kubelet_token("newer-kubelet", LATER);
    broken
        .volume_context
        .insert("configuration.names".into(), "missing".into());
    assert_eq!(
        fx.publisher.publish(&broken).await.unwrap(),
        PublishOutcome::KeptPrevious
    );
    assert_eq!(fx.file("context.token"), "first-kubelet");

    fx.publisher.refresh(&fx.only_volume()).await.unwrap();

    assert_eq!(fx.file("context.token"), "newer-kubelet");
}
