//! The publish pipeline: attributes → connectors → access → token → files →
//! mount → state, for a first publish, a kubelet republish and a refresh.
//!
//! [`Publisher`] is the one place the steps are chained; each step is a call
//! into its own module behind a trait, so the pipeline runs unchanged with
//! manifests or a cluster, and with a recording mounter in unit tests.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use crate::access::{Access, AccessError};
use crate::catalog::{Catalog, CatalogError};
use crate::mount::{
    MountError, MountFlagError, MountOptions, StateError, StateStore, VolumeDirs, VolumeState,
};
use crate::render::{FilePlan, RenderError, Renderer};
use crate::telemetry::{Metrics, Operation};
use crate::tokens::{TokenError, TokenSource};
use crate::volume::{AttributeError, VolumeRequest};

/// Everything the pipeline calls, wired once at start-up.
pub struct PublisherParts {
    pub catalog: Arc<dyn Catalog>,
    pub access: Arc<dyn Access>,
    pub tokens: Arc<dyn TokenSource>,
    pub renderer: Arc<Renderer>,
    pub volumes: VolumeDirs,
    pub state: StateStore,
    /// PEM of the proxy's CA, `""` if none.
    pub ca_cert: String,
    pub metrics: Arc<Metrics>,
}

/// One NodePublishVolume, already checked for the CSI-level fields.
#[derive(Clone)]
pub struct PublishRequest {
    pub volume_id: String,
    pub target_path: PathBuf,
    pub volume_context: HashMap<String, String>,
    /// May hold kubelet's tokens: never logged, never stored.
    pub secrets: HashMap<String, String>,
    /// Applied when the tmpfs is first mounted.
    pub mount_options: MountOptions,
}

impl std::fmt::Debug for PublishRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishRequest")
            .field("volume_id", &self.volume_id)
            .field("target_path", &self.target_path)
            .field("volume_context_keys", &self.volume_context.keys())
            .field("secrets_keys", &self.secrets.keys())
            .field("mount_options", &self.mount_options)
            .finish()
    }
}

/// What a successful publish did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublishOutcome {
    /// A new tmpfs with the files.
    Mounted,
    /// The files of a mounted volume were replaced.
    Updated,
    /// Rendering again failed; the mounted files were kept (logged, counted).
    KeptPrevious,
}

/// Why a volume could not be published. Messages never hold a token.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// A CSI field of the request is missing or not supported.
    #[error("{field}: {problem}")]
    InvalidRequest {
        field: &'static str,
        problem: &'static str,
    },
    #[error(transparent)]
    MountFlag(#[from] MountFlagError),
    #[error(transparent)]
    Attributes(#[from] AttributeError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Mount(#[from] MountError),
    #[error(transparent)]
    State(#[from] StateError),
    /// A refresh asked for a volume this node does not have.
    #[error("volume {volume_id:?} is not published on this node")]
    NotPublished { volume_id: String },
    /// The blocking mount work did not finish (runtime shutting down).
    #[error("mount task failed: {reason}")]
    Task { reason: String },
}

/// Runs the pipeline; one per driver, shared by every gRPC call.
pub struct Publisher {
    parts: PublisherParts,
    /// One lock per target, so kubelet's retries and the refresher never
    /// write the same volume at once.
    locks: Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>,
    /// The state directory's records, by target, kept in memory so listing
    /// volumes (refresher, gauge) costs no disk reads; the files are the
    /// durable copy, read once at start.
    records: Mutex<BTreeMap<PathBuf, VolumeState>>,
}

/// A rendered file set and when its token expires.
struct Rendered {
    plan: FilePlan,
    token_expires_at: Option<SystemTime>,
}

impl Publisher {
    /// Loads the records a previous run left; unreadable ones are logged
    /// and skipped.
    pub fn new(parts: PublisherParts) -> Publisher {
        let records = load_records(&parts.state);
        parts.metrics.set_mounted_volumes(records.len());
        Publisher {
            parts,
            locks: Mutex::new(HashMap::new()),
            records: Mutex::new(records),
        }
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.parts.metrics
    }

    /// Whether the catalog can answer (Probe, `/readyz`).
    pub fn is_ready(&self) -> bool {
        self.parts.catalog.is_ready()
    }

    /// NodePublishVolume. The first call mounts; a call for a mounted volume
    /// replaces its files and never tears the mount down: if that fails, the
    /// old files stay and the call still succeeds.
    pub async fn publish(&self, request: &PublishRequest) -> Result<PublishOutcome, PublishError> {
        let lock = self.lock_for(&request.target_path);
        let _guard = lock.lock().await;
        let mounted = self.is_mounted(&request.target_path).await?;
        if mounted {
            return Ok(self.republish(request).await);
        }
        let rendered = self
            .render(&request.volume_context, &request.secrets)
            .await?;
        let generation = self
            .create(&request.target_path, rendered.plan, &request.mount_options)
            .await?;
        let state = VolumeState::new(
            &request.volume_id,
            &request.target_path,
            &request.volume_context,
            rendered.token_expires_at,
            generation,
        );
        if let Err(err) = self.record(state) {
            // Without its record a restarted driver would not refresh the
            // volume: fail the publish rather than leave it half-managed.
            let _ = self.remove(&request.target_path).await;
            return Err(err.into());
        }
        tracing::info!(volume_id = %request.volume_id, target = %request.target_path.display(), "volume published");
        Ok(PublishOutcome::Mounted)
    }

    /// NodeUnpublishVolume: unmount, remove the target and its record;
    /// success when it is already gone.
    pub async fn unpublish(&self, volume_id: &str, target: &Path) -> Result<(), PublishError> {
        let lock = self.lock_for(target);
        {
            let _guard = lock.lock().await;
            self.remove(target).await?;
            self.forget(volume_id, target)?;
        }
        self.forget_lock(target);
        tracing::info!(volume_id, target = %target.display(), "volume unpublished");
        Ok(())
    }

    /// Renders a published volume again from its record (the refresher's
    /// entry: token near expiry, a Connector or class changed). On failure
    /// the old files stay, `render_failures{operation="refresh"}` counts it,
    /// and the error says why.
    pub async fn republish_from_state(&self, volume_id: &str) -> Result<(), PublishError> {
        let records: Vec<VolumeState> = self
            .volumes()
            .into_iter()
            .filter(|state| state.volume_id == volume_id)
            .collect();
        if records.is_empty() {
            return Err(PublishError::NotPublished {
                volume_id: volume_id.to_owned(),
            });
        }
        for record in records {
            let lock = self.lock_for(&record.target_path);
            let _guard = lock.lock().await;
            let context = record.volume_context();
            if let Err(err) = self
                .refresh_files(volume_id, &record.target_path, &context, &HashMap::new())
                .await
            {
                self.parts.metrics.render_failed(Operation::Refresh);
                tracing::warn!(volume_id, target = %record.target_path.display(), error = %err, "refresh failed, previous files kept");
                return Err(err);
            }
        }
        Ok(())
    }

    /// The recorded volumes of this node, by target.
    pub fn volumes(&self) -> Vec<VolumeState> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// A kubelet republish: the outcome is always success for kubelet.
    async fn republish(&self, request: &PublishRequest) -> PublishOutcome {
        match self
            .refresh_files(
                &request.volume_id,
                &request.target_path,
                &request.volume_context,
                &request.secrets,
            )
            .await
        {
            Ok(()) => PublishOutcome::Updated,
            Err(err) => {
                self.parts.metrics.render_failed(Operation::Republish);
                tracing::warn!(volume_id = %request.volume_id, target = %request.target_path.display(), error = %err, "republish failed, previous files kept");
                PublishOutcome::KeptPrevious
            }
        }
    }

    /// Renders and swaps in the files of a mounted volume, then records it.
    async fn refresh_files(
        &self,
        volume_id: &str,
        target: &Path,
        context: &HashMap<String, String>,
        secrets: &HashMap<String, String>,
    ) -> Result<(), PublishError> {
        let rendered = self.render(context, secrets).await?;
        let generation = self.update(target, rendered.plan).await?;
        let state = VolumeState::new(
            volume_id,
            target,
            context,
            rendered.token_expires_at,
            generation,
        );
        self.record(state)?;
        Ok(())
    }

    /// The pure part of the pipeline plus its lookups: no disk is touched.
    async fn render(
        &self,
        context: &HashMap<String, String>,
        secrets: &HashMap<String, String>,
    ) -> Result<Rendered, PublishError> {
        let request = VolumeRequest::parse(context, secrets)?;
        let connectors = self.parts.catalog.resolve(&request.connectors).await?;
        self.parts
            .access
            .check(&request.pod, &request.connectors)
            .await?;
        let token = self.parts.tokens.token(&request).await?;
        let overrides = self.parts.catalog.builtin_templates().await?;
        let plan = self.parts.renderer.plan(
            &request,
            &connectors,
            overrides.as_deref(),
            &token,
            &self.parts.ca_cert,
        )?;
        self.parts
            .metrics
            .set_template_cache_entries(self.parts.renderer.cached_templates());
        Ok(Rendered {
            plan,
            token_expires_at: token.expires_at,
        })
    }

    async fn is_mounted(&self, target: &Path) -> Result<bool, PublishError> {
        // Nothing is mounted on a path that does not exist (kubelet leaves
        // the target to the driver): skip reading the mount table.
        if let Err(err) = std::fs::symlink_metadata(target) {
            if err.kind() == std::io::ErrorKind::NotFound {
                return Ok(false);
            }
        }
        let volumes = self.parts.volumes.clone();
        let target = target.to_owned();
        blocking(move || volumes.is_mounted(&target)).await
    }

    async fn create(
        &self,
        target: &Path,
        plan: FilePlan,
        options: &MountOptions,
    ) -> Result<String, PublishError> {
        let volumes = self.parts.volumes.clone();
        let target = target.to_owned();
        let options = options.clone();
        blocking(move || volumes.create(&target, &plan, &options)).await
    }

    async fn update(&self, target: &Path, plan: FilePlan) -> Result<String, PublishError> {
        let volumes = self.parts.volumes.clone();
        let target = target.to_owned();
        blocking(move || volumes.update(&target, &plan)).await
    }

    async fn remove(&self, target: &Path) -> Result<(), PublishError> {
        let volumes = self.parts.volumes.clone();
        let target = target.to_owned();
        blocking(move || volumes.remove(&target)).await
    }

    fn lock_for(&self, target: &Path) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        locks.entry(target.to_owned()).or_default().clone()
    }

    fn forget_lock(&self, target: &Path) {
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        // Keep it while another call waits on it.
        if locks
            .get(target)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            locks.remove(target);
        }
    }

    /// Saves a record to disk, then to memory.
    fn record(&self, state: VolumeState) -> Result<(), StateError> {
        self.parts.state.save(&state)?;
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        records.insert(state.target_path.clone(), state);
        self.parts.metrics.set_mounted_volumes(records.len());
        Ok(())
    }

    fn forget(&self, volume_id: &str, target: &Path) -> Result<(), StateError> {
        self.parts.state.remove(volume_id, target)?;
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        records.remove(target);
        self.parts.metrics.set_mounted_volumes(records.len());
        Ok(())
    }
}

fn load_records(state: &StateStore) -> BTreeMap<PathBuf, VolumeState> {
    let states = match state.list() {
        Ok((states, errors)) => {
            for err in errors {
                tracing::warn!(error = %err, "skipping unreadable volume state");
            }
            states
        }
        Err(err) => {
            tracing::warn!(error = %err, "cannot list volume states");
            Vec::new()
        }
    };
    states
        .into_iter()
        .map(|state| (state.target_path.clone(), state))
        .collect()
}

/// Mount syscalls and file writes block: keep them off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, MountError> + Send + 'static,
) -> Result<T, PublishError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(PublishError::from),
        Err(err) => Err(PublishError::Task {
            reason: err.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::AllowAll;
    use crate::catalog::ManifestsCatalog;
    use crate::mount::RecordingMounter;
    use crate::tokens::KubeletOrFile;

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

    impl Fixture {
        fn new() -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let mut catalog = ManifestsCatalog::default();
            catalog.add_text(Path::new("test.yaml"), MANIFESTS).unwrap();
            let token_file = dir.path().join("token");
            std::fs::write(&token_file, "first-s3cr3t").unwrap();
            let mounter = Arc::new(RecordingMounter::default());
            let metrics = Arc::new(Metrics::new());
            let publisher = Publisher::new(PublisherParts {
                catalog: Arc::new(catalog),
                access: Arc::new(AllowAll),
                tokens: Arc::new(KubeletOrFile::new("proxy", Some(token_file))),
                renderer: Arc::new(Renderer::default()),
                volumes: VolumeDirs::new(mounter.clone(), 1 << 20),
                state: StateStore::open(dir.path().join("state")).unwrap(),
                ca_cert: String::new(),
                metrics: metrics.clone(),
            });
            Fixture {
                dir,
                mounter,
                metrics,
                publisher,
            }
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
        assert_eq!(again, PublishOutcome::Updated);
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
    async fn republish_from_state_renders_again_with_a_new_token() {
        let fx = Fixture::new();
        fx.publisher
            .publish(&fx.request("git-connector"))
            .await
            .unwrap();
        fx.set_token("refreshed-s3cr3t");
        fx.publisher.republish_from_state("csi-1").await.unwrap();
        assert_eq!(fx.file("context.token"), "refreshed-s3cr3t");
    }

    #[tokio::test]
    async fn republish_from_state_keeps_the_files_when_the_token_is_gone() {
        let fx = Fixture::new();
        fx.publisher
            .publish(&fx.request("git-connector"))
            .await
            .unwrap();
        fx.set_token("");
        let err = fx
            .publisher
            .republish_from_state("csi-1")
            .await
            .unwrap_err();
        assert!(matches!(err, PublishError::Token(_)));
        assert_eq!(fx.file("context.token"), "first-s3cr3t");
        assert!(fx
            .metrics
            .encode()
            .contains(r#"connectors_csi_render_failures_total{operation="refresh"} 1"#));
    }

    #[tokio::test]
    async fn republish_from_state_of_an_unknown_volume_is_not_published() {
        let fx = Fixture::new();
        let err = fx.publisher.republish_from_state("nope").await.unwrap_err();
        assert!(matches!(err, PublishError::NotPublished { .. }));
    }
}
