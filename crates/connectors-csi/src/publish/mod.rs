//! The publish pipeline: attributes → connectors → access → token → files →
//! mount → state, for a first publish, a kubelet republish and a refresh.
//!
//! [`Publisher`] is the one place the steps are chained; each step is a call
//! into its own module behind a trait, so the pipeline runs unchanged with
//! manifests or a cluster, and with a recording mounter in unit tests.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use crate::access::{Access, AccessError, AccessOutcome};
use crate::catalog::{Catalog, CatalogError};
use crate::mount::{MountError, StateError, StateStore, VolumeDirs, VolumeState};
use crate::render::{FilePlan, RenderError, Renderer};
use crate::telemetry::{Metrics, Operation};
use crate::tokens::{Token, TokenError, Tokens};
use crate::volume::{AttributeError, VolumeRequest};

mod mounted;
#[cfg(test)]
mod tests;

use mounted::Mounted;

/// Everything the pipeline calls, wired once at start-up.
pub struct PublisherParts {
    pub catalog: Arc<dyn Catalog>,
    pub access: Arc<dyn Access>,
    pub tokens: Tokens,
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
}

impl std::fmt::Debug for PublishRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishRequest")
            .field("volume_id", &self.volume_id)
            .field("target_path", &self.target_path)
            .field("volume_context_keys", &self.volume_context.keys())
            .field("secrets_keys", &self.secrets.keys())
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
    /// A refresh of a volume that was unpublished meanwhile.
    #[error("volume {volume_id:?} is not published at {}", target.display())]
    NotPublished { volume_id: String, target: PathBuf },
    /// The blocking mount work did not finish (runtime shutting down).
    #[error("mount task failed: {reason}")]
    Task { reason: String },
}

/// Runs the pipeline; one per driver, shared by every gRPC call.
pub struct Publisher {
    parts: PublisherParts,
    mounted: Mounted,
}

/// A rendered file set and when its token expires.
struct Rendered {
    plan: FilePlan,
    token_expires_at: Option<SystemTime>,
}

impl Publisher {
    /// Loads the records a previous run left.
    pub fn new(parts: PublisherParts) -> Publisher {
        let mounted = Mounted::load(&parts.state);
        parts.metrics.set_mounted_volumes(mounted.count());
        Publisher { parts, mounted }
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
        let _lock = self.mounted.lock(&request.target_path).await;
        if self.is_mounted(&request.target_path).await? {
            return Ok(self.republish(request).await);
        }
        let kubelet = self
            .parts
            .tokens
            .from_kubelet(&request.secrets, &request.volume_context)?;
        let rendered = self.render(&request.volume_context, kubelet).await?;
        let generation = self.create(&request.target_path, rendered.plan).await?;
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
        let _lock = self.mounted.lock(target).await;
        self.remove(target).await?;
        self.parts.state.remove(volume_id, target)?;
        let left = self.mounted.remove(target);
        self.parts.metrics.set_mounted_volumes(left);
        tracing::info!(volume_id, target = %target.display(), "volume unpublished");
        Ok(())
    }

    /// Renders a published volume again from its record (the refresher's
    /// entry: token near expiry, a Connector or class changed). On failure
    /// the old files stay, `render_failures{operation="refresh"}` counts it,
    /// and the error says why.
    pub async fn refresh(&self, volume: &VolumeState) -> Result<(), PublishError> {
        let target = &volume.target_path;
        let _lock = self.mounted.lock(target).await;
        // The record as it is now: a republish may have replaced it.
        let Some(record) = self.mounted.record(target) else {
            return Err(PublishError::NotPublished {
                volume_id: volume.volume_id.clone(),
                target: target.clone(),
            });
        };
        let context = record.volume_context();
        let refreshed = self
            .refresh_files(&record.volume_id, target, &context, None)
            .await;
        if let Err(err) = &refreshed {
            self.parts.metrics.render_failed(Operation::Refresh);
            tracing::warn!(volume_id = %record.volume_id, target = %target.display(), error = %err, "refresh failed, previous files kept");
        }
        refreshed
    }

    /// The recorded volumes of this node, by target.
    pub fn volumes(&self) -> Vec<VolumeState> {
        self.mounted.records()
    }

    /// A kubelet republish: the outcome is always success for kubelet.
    async fn republish(&self, request: &PublishRequest) -> PublishOutcome {
        let refreshed = match self
            .parts
            .tokens
            .from_kubelet(&request.secrets, &request.volume_context)
        {
            Ok(kubelet) => {
                self.refresh_files(
                    &request.volume_id,
                    &request.target_path,
                    &request.volume_context,
                    kubelet,
                )
                .await
            }
            Err(err) => Err(err.into()),
        };
        match refreshed {
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
        kubelet: Option<Token>,
    ) -> Result<(), PublishError> {
        let rendered = self.render(context, kubelet).await?;
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
        kubelet: Option<Token>,
    ) -> Result<Rendered, PublishError> {
        let request = VolumeRequest::parse(context)?;
        let connectors = self.parts.catalog.resolve(&request.connectors).await?;
        let access = self
            .parts
            .access
            .check(&request.pod, &request.connectors)
            .await?;
        if let AccessOutcome::Rejected(rejection) = access {
            return Ok(Rendered {
                plan: crate::render::rejection_plan(&rejection.message()),
                token_expires_at: None,
            });
        }
        let token = self
            .parts
            .tokens
            .token(&request.pod, request.token_expiration, kubelet)
            .await?;
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

    async fn create(&self, target: &Path, plan: FilePlan) -> Result<String, PublishError> {
        let volumes = self.parts.volumes.clone();
        let target = target.to_owned();
        blocking(move || volumes.create(&target, &plan)).await
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

    /// Saves a record to disk, then to memory.
    fn record(&self, state: VolumeState) -> Result<(), StateError> {
        self.parts.state.save(&state)?;
        let count = self.mounted.insert(state);
        self.parts.metrics.set_mounted_volumes(count);
        Ok(())
    }
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
