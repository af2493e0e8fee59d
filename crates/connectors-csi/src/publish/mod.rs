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

use tokio::sync::Semaphore;

use crate::access::{Access, AccessError};
use crate::catalog::{Catalog, CatalogError};
use crate::events::{PodEvent, PodEventReason, PodEvents};
use crate::mount::{
    Found, MountError, MountFlagError, MountOptions, StateError, StateStore, VolumeDirs,
    VolumeState,
};
use crate::render::{RenderError, Renderer};
use crate::telemetry::{Metrics, Operation};
use crate::tokens::{Token, TokenError, TokenOrigin, Tokens};
use crate::volume::{attr, AttributeError, PodInfo};

mod mounted;
mod restart;
#[cfg(test)]
mod tests;
mod worker;
mod write;

use mounted::Mounted;
use worker::VolumeWork;
use write::Write;

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
    /// Where a failed republish or refresh is told to the pod's owner.
    pub events: Arc<dyn PodEvents>,
    /// How many volumes render at once (at most one on an async worker,
    /// and only while another answers Probe and health; see `worker`).
    pub render_concurrency: usize,
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
    /// A republish rendered the files the volume already has: nothing written.
    Unchanged,
    /// Rendering again failed; the mounted files were kept (logged, counted).
    KeptPrevious,
}

/// What a refresh did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refreshed {
    /// The files were rendered again (and written if they changed).
    Rendered,
    /// Only kubelet can give this volume a token and none is at hand (the
    /// driver restarted, or kubelet's has expired): its next republish
    /// brings one.
    AwaitingKubelet,
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
    render_slots: Arc<Semaphore>,
    volume_work: VolumeWork,
}

impl Publisher {
    /// Loads the records a previous run left and reconciles them with the
    /// mount table (see [`Publisher::reconcile`]).
    pub fn new(parts: PublisherParts) -> Publisher {
        let mounted = Mounted::load(&parts.state);
        let render_slots = Arc::new(Semaphore::new(parts.render_concurrency.max(1)));
        let publisher = Publisher {
            parts,
            mounted,
            render_slots,
            volume_work: VolumeWork::default(),
        };
        publisher.reconcile();
        publisher.hold_recorded();
        publisher
            .parts
            .metrics
            .set_mounted_volumes(publisher.mounted.count());
        publisher
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.parts.metrics
    }

    /// Whether the catalog can answer (Probe, `/readyz`).
    pub fn is_ready(&self) -> bool {
        self.parts.catalog.is_ready()
    }

    /// NodePublishVolume. A free target gets a new tmpfs; this volume's
    /// sealed tmpfs with its record is a republish, which never tears the
    /// mount down (if rendering fails, the old files stay and the call
    /// still succeeds). A leftover of a crash is cleaned and published
    /// afresh; anything else at the target is refused.
    pub async fn publish(&self, request: &PublishRequest) -> Result<PublishOutcome, PublishError> {
        let target = self.parts.volumes.target(&request.target_path)?;
        let _lock = self.mounted.lock(&target).await;
        let volume_id = request.volume_id.as_str();
        let found = self.inspect(&target, volume_id).await?;
        let record = self.mounted.record(&target);
        if let Some(other) = record.as_ref().filter(|r| r.state.volume_id != volume_id) {
            if found != Found::Free {
                return Err(MountError::Occupied {
                    path: target,
                    what: format!("volume {}", crate::volume::excerpt(&other.state.volume_id)),
                }
                .into());
            }
        }
        let record = record.filter(|r| r.state.volume_id == volume_id);
        match (found, record) {
            (
                Found::Ours {
                    read_only,
                    generation,
                },
                Some(record),
            ) => {
                if read_only && generation.as_deref() == Some(record.state.generation.as_str()) {
                    return Ok(self.republish(request, &target).await);
                }
                // A crash mid-update: the files may be a mix; only a write
                // that succeeds makes the volume whole again.
                let kubelet = self.kubelet_token(request)?;
                let update = Write::Update { sealed: read_only };
                let written = self.write_files(request, &target, update, kubelet).await;
                if written.is_err() {
                    let _ = self.parts.volumes.seal(&target);
                }
                written
            }
            (Found::Ours { .. }, None) => {
                // Mounted but never recorded: a crash before the publish
                // answered. Nobody was given these files.
                tracing::info!(volume_id, target = %target.display(), "cleaning a leftover of an interrupted publish");
                self.discard(&target).await?;
                let kubelet = self.kubelet_token(request)?;
                self.write_files(request, &target, Write::Create, kubelet)
                    .await
            }
            (Found::Free, _) => {
                self.forget_stale(&target)?;
                let kubelet = self.kubelet_token(request)?;
                self.write_files(request, &target, Write::Create, kubelet)
                    .await
            }
        }
    }

    /// NodeUnpublishVolume: unmounts this volume's tmpfs, removes the
    /// directory if empty and drops the record; success when it is already
    /// gone. Anything not ours at the target is refused and left as it is.
    pub async fn unpublish(&self, volume_id: &str, target: &Path) -> Result<(), PublishError> {
        let target = self.parts.volumes.target(target)?;
        let _lock = self.mounted.lock(&target).await;
        let (volumes, store) = (self.parts.volumes.clone(), self.parts.state.clone());
        let (at, id) = (target.clone(), volume_id.to_owned());
        let known = self.mounted.mount_id(&target, volume_id);
        // The record goes in the same section as the unmount.
        self.volume_work
            .run(move || {
                volumes.remove(&at, &id, known)?;
                Ok(store.remove(&id, &at)?)
            })
            .await?;
        if let Some(left) = self.mounted.remove_volume(&target, volume_id) {
            self.parts.metrics.set_mounted_volumes(left);
            self.parts.catalog.release(&target);
        }
        tracing::info!(volume_id, target = %target.display(), "volume unpublished");
        Ok(())
    }

    /// Renders a published volume again from its record (the refresher's
    /// entry: token near expiry, a Connector or class changed), with the
    /// token kubelet last gave it when only kubelet can give one. On failure
    /// the old files stay, `render_failures{operation="refresh"}` counts it,
    /// and the error says why.
    pub async fn refresh(&self, volume: &VolumeState) -> Result<Refreshed, PublishError> {
        let target = &volume.target_path;
        let _lock = self.mounted.lock(target).await;
        // The record as it is now: a republish may have replaced it.
        let Some(record) = self.mounted.record(target) else {
            return Err(PublishError::NotPublished {
                volume_id: volume.volume_id.clone(),
                target: target.clone(),
            });
        };
        let state = &record.state;
        let kubelet = match self.token_origin(state) {
            TokenOrigin::Driver => None,
            TokenOrigin::Kubelet => {
                let now = SystemTime::now();
                match record.kubelet_token.filter(|token| !token.is_expired(now)) {
                    Some(token) => Some(token),
                    None => {
                        tracing::debug!(volume_id = %state.volume_id, target = %target.display(), "refresh waits for kubelet's next republish: only kubelet gives this volume's token");
                        return Ok(Refreshed::AwaitingKubelet);
                    }
                }
            }
        };
        let request = PublishRequest {
            volume_id: state.volume_id.clone(),
            target_path: target.clone(),
            volume_context: state.volume_context(),
            secrets: HashMap::new(),
            mount_options: MountOptions::default(),
        };
        let refreshed = self
            .write_files(&request, target, Write::Update { sealed: true }, kubelet)
            .await;
        if let Err(err) = &refreshed {
            self.kept_previous(Operation::Refresh, &request, err);
        }
        refreshed.map(|_| Refreshed::Rendered)
    }

    /// The recorded volumes of this node, by target.
    pub fn volumes(&self) -> Vec<VolumeState> {
        self.mounted.states()
    }

    /// The pod (name, namespace) the record of `volume_id` at exactly
    /// `target` names, if there is one.
    pub fn recorded_pod(&self, volume_id: &str, target: &Path) -> Option<(String, String)> {
        self.mounted
            .read(target, volume_id, |record| {
                let context = &record.state.volume_context;
                Some((
                    context.get(attr::POD_NAME)?.clone(),
                    context.get(attr::POD_NAMESPACE)?.clone(),
                ))
            })
            .flatten()
    }

    /// Whence a volume's token came; a record of an older driver says
    /// nothing, and then only a driver without a source of its own is sure
    /// it was kubelet.
    fn token_origin(&self, state: &VolumeState) -> TokenOrigin {
        state
            .token_origin
            .unwrap_or(if self.parts.tokens.has_own_source() {
                TokenOrigin::Driver
            } else {
                TokenOrigin::Kubelet
            })
    }

    /// The token kubelet passed with this call, if it passes them.
    fn kubelet_token(&self, request: &PublishRequest) -> Result<Option<Token>, PublishError> {
        Ok(self
            .parts
            .tokens
            .from_kubelet(&request.secrets, &request.volume_context)?)
    }

    /// A kubelet republish of a healthy volume: always success for
    /// kubelet, the previous files stay if rendering fails.
    async fn republish(&self, request: &PublishRequest, target: &Path) -> PublishOutcome {
        let written = match self.kubelet_token(request) {
            Ok(kubelet) => {
                let written = self
                    .write_files(
                        request,
                        target,
                        Write::Update { sealed: true },
                        kubelet.clone(),
                    )
                    .await;
                if let (Err(_), Some(token)) = (&written, kubelet) {
                    // Still the freshest token for a later re-render.
                    self.mounted.remember_kubelet_token(target, token);
                }
                written
            }
            Err(err) => Err(err),
        };
        match written {
            Ok(outcome) => outcome,
            Err(err) => {
                self.kept_previous(Operation::Republish, request, &err);
                PublishOutcome::KeptPrevious
            }
        }
    }

    /// A republish or refresh that could not write its files: counted,
    /// logged and written as an Event on the pod (rate-limited by the sink);
    /// the previous files stay. Errors never hold a token.
    fn kept_previous(&self, operation: Operation, request: &PublishRequest, err: &PublishError) {
        self.parts.metrics.render_failed(operation);
        tracing::warn!(volume_id = %request.volume_id, target = %request.target_path.display(), error = %err, "{} failed, previous files kept", operation.label());
        self.parts.events.record(PodEvent {
            pod: PodInfo::of(&request.volume_context),
            reason: PodEventReason::RepublishFailed,
            connector: None,
            note: format!(
                "volume {}: the files were not written again, the previous ones are kept: {err}",
                request.volume_id
            ),
        });
    }

    async fn inspect(&self, target: &Path, volume_id: &str) -> Result<Found, PublishError> {
        let known = self.mounted.mount_id(target, volume_id);
        // A few stat calls on the kubelet directory cost less than a hand-off
        // to a blocking thread; reading the mount table, needed only when
        // they cannot tell, does not.
        if let Some(found) = self.parts.volumes.inspect_by_mount_id(target, known) {
            return Ok(found);
        }
        let volumes = self.parts.volumes.clone();
        let (target, volume_id) = (target.to_owned(), volume_id.to_owned());
        self.volume_work
            .run(move || Ok(volumes.inspect_by_table(&target, &volume_id)?))
            .await
    }

    async fn discard(&self, target: &Path) -> Result<(), PublishError> {
        let volumes = self.parts.volumes.clone();
        let target = target.to_owned();
        self.volume_work
            .run(move || Ok(volumes.discard(&target)?))
            .await
    }

    /// A record whose tmpfs is gone (unmounted by someone else, a reboot).
    fn forget_stale(&self, target: &Path) -> Result<(), StateError> {
        if let Some(stale) = self.mounted.record(target) {
            self.parts.state.remove(&stale.state.volume_id, target)?;
            let left = self.mounted.remove(target);
            self.parts.metrics.set_mounted_volumes(left);
            self.parts.catalog.release(target);
        }
        Ok(())
    }
}
