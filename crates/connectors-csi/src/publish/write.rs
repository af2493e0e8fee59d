//! The call's one pass through the pipeline after the target is known:
//! the lookups (catalog, access, token) on the async side, then one section
//! of volume work (plan, compare, write, seal, state record; see `worker`
//! for where it runs), and the catalog told what the volume now uses.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use super::mounted::Record;
use super::{PublishError, PublishOutcome, PublishRequest, Publisher};
use crate::access::AccessOutcome;
use crate::catalog::ResolvedConnector;
use crate::mount::VolumeState;
use crate::render::{FilePlan, RenderError, Renderer};
use crate::tokens::{Token, TokenOrigin};
use crate::volume::{ConnectorRef, VolumeRequest};

/// What the blocking part of a call does with the rendered files.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Write {
    /// A new tmpfs.
    Create,
    /// Swap the files of the mounted tmpfs, unless they are the same.
    /// `sealed`: whether the tmpfs is known read-only; a crash mid-update
    /// can leave it writable with the right files, which then only need
    /// sealing.
    Update { sealed: bool },
}

/// Everything a render needs, owned, so it can run on a blocking thread.
/// One exists per call and is moved once, so the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum RenderInput {
    Files {
        request: VolumeRequest,
        connectors: Vec<ResolvedConnector>,
        overrides: Option<Arc<BTreeMap<String, String>>>,
        token: Token,
    },
    /// The approval was rejected: the volume holds only `.error.json`.
    Rejected {
        plan: FilePlan,
        connectors: Vec<ConnectorRef>,
    },
}

impl RenderInput {
    fn token_expires_at(&self) -> Option<SystemTime> {
        match self {
            RenderInput::Files { token, .. } => token.expires_at,
            RenderInput::Rejected { .. } => None,
        }
    }

    /// What the volume uses, for the catalog to hold once it is written.
    fn usage(&self) -> (Vec<ConnectorRef>, Vec<ResolvedConnector>) {
        match self {
            RenderInput::Files {
                request,
                connectors,
                ..
            } => (request.connectors.clone(), connectors.clone()),
            RenderInput::Rejected { connectors, .. } => (connectors.clone(), Vec::new()),
        }
    }

    /// The pure step: the files the volume gets.
    fn plan(self, renderer: &Renderer, ca_cert: &str) -> Result<FilePlan, RenderError> {
        match self {
            RenderInput::Files {
                request,
                connectors,
                overrides,
                token,
            } => renderer.plan(&request, &connectors, overrides.as_deref(), &token, ca_cert),
            RenderInput::Rejected { plan, .. } => Ok(plan),
        }
    }
}

impl Publisher {
    /// The lookups (catalog, access, token) on the async side, then one
    /// section of volume work: plan, compare, write, seal, state record.
    pub(super) async fn write_files(
        &self,
        request: &PublishRequest,
        target: &Path,
        write: Write,
        kubelet: Option<Token>,
    ) -> Result<PublishOutcome, PublishError> {
        let token_origin = match kubelet {
            Some(_) => TokenOrigin::Kubelet,
            None => TokenOrigin::Driver,
        };
        let input = self
            .lookups(&request.volume_context, kubelet.clone())
            .await?;
        let token_expires_at = input.token_expires_at();
        let (used, rendered) = input.usage();
        let previous = self.mounted.record(target);
        let state = VolumeState::new(
            &request.volume_id,
            target,
            &request.volume_context,
            token_expires_at,
            token_origin,
            previous
                .as_ref()
                .map(|r| r.state.generation.clone())
                .unwrap_or_default(),
        );
        let _slot = self
            .render_slots
            .acquire()
            .await
            .map_err(|err| PublishError::Task {
                reason: err.to_string(),
            })?;
        let renderer = self.parts.renderer.clone();
        let ca_cert = self.parts.ca_cert.clone();
        let volumes = self.parts.volumes.clone();
        let store = self.parts.state.clone();
        let (at, id) = (target.to_owned(), request.volume_id.clone());
        let options = request.mount_options.clone();
        let same_context = previous
            .as_ref()
            .is_some_and(|r| r.state.volume_context == state.volume_context);
        let (outcome, state, mount_id) = self
            .volume_work
            .run(move || {
                let plan = input.plan(&renderer, &ca_cert)?;
                let mut state = state;
                let outcome = match write {
                    Write::Update { sealed } if volumes.holds(&at, &plan) => {
                        if !sealed {
                            volumes.finish_update(&at)?;
                        }
                        // After a crash between the swap and the record, the
                        // record names the generation before.
                        let mounted = volumes.generation(&at);
                        if same_context && mounted.as_deref() == Some(state.generation.as_str()) {
                            return Ok((PublishOutcome::Unchanged, state, volumes.mount_id(&at)));
                        }
                        state.generation = mounted.unwrap_or_default();
                        PublishOutcome::Unchanged
                    }
                    Write::Update { .. } => {
                        state.generation = volumes.update(&at, &plan)?;
                        PublishOutcome::Updated
                    }
                    Write::Create => {
                        state.generation = volumes.create(&at, &id, &plan, &options)?;
                        PublishOutcome::Mounted
                    }
                };
                if let Err(err) = store.save(&state) {
                    if write == Write::Create {
                        // Without its record a restarted driver would not
                        // refresh the volume: fail rather than half-manage it.
                        let _ = volumes.discard(&at);
                    }
                    return Err(err.into());
                }
                Ok((outcome, state, volumes.mount_id(&at)))
            })
            .await?;
        self.parts
            .metrics
            .set_template_cache_entries(self.parts.renderer.cached_templates());
        self.parts.catalog.hold(target, &used, &rendered);
        let count = self.mounted.insert(Record {
            state,
            kubelet_token: kubelet,
            mount_id,
        });
        self.parts.metrics.set_mounted_volumes(count);
        if outcome == PublishOutcome::Mounted {
            tracing::info!(volume_id = %request.volume_id, target = %target.display(), "volume published");
        }
        Ok(outcome)
    }

    /// The pipeline's lookups: no disk is touched.
    async fn lookups(
        &self,
        context: &HashMap<String, String>,
        kubelet: Option<Token>,
    ) -> Result<RenderInput, PublishError> {
        let request = VolumeRequest::parse(context)?;
        let connectors = self.parts.catalog.resolve(&request.connectors).await?;
        let access = self
            .parts
            .access
            .check(&request.pod, &request.connectors)
            .await?;
        if let AccessOutcome::Rejected(rejection) = access {
            let plan = crate::render::rejection_plan(&rejection.message());
            return Ok(RenderInput::Rejected {
                plan,
                connectors: request.connectors,
            });
        }
        let token = self
            .parts
            .tokens
            .token(&request.pod, request.token_expiration, kubelet)
            .await?;
        let overrides = self.parts.catalog.builtin_templates().await?;
        Ok(RenderInput::Files {
            request,
            connectors,
            overrides,
            token,
        })
    }
}
