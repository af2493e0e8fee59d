//! The Connectors this node's volumes use, each kept fresh by a watch of
//! that one object (field selector `metadata.name`), as kubelet does for
//! its pods' Secrets and ConfigMaps: started when the first volume uses the
//! connector, stopped (and the object forgotten) when the last one goes.
//!
//! One watch per object rather than per namespace: a namespace watch sends
//! every Connector of the namespace, used or not, and its every status
//! update; per object, a node receives only what it uses.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use futures::StreamExt;
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::{Api, Client};
use tokio::runtime::Handle;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::object::{connector_entry, ConnectorKind, RawObject};
use super::store::{same_entry, Entry};
use crate::catalog::holders::Holders;
use crate::catalog::{CatalogChange, ResolvedConnector};
use crate::model::Connector;
use crate::volume::ConnectorRef;

/// What this node knows of a used connector.
enum Known {
    /// Its watch has not listed it yet (a restart: nothing rendered).
    Nothing,
    /// The object (`None`: there is no such object), from the watch or from
    /// the read the volume was just rendered from.
    Object(Option<Entry<Connector>>),
}

struct Watched {
    /// Tells this watch's writes from those of an earlier watch of the same
    /// object that is still winding down.
    id: u64,
    task: JoinHandle<()>,
    known: Known,
}

#[derive(Default)]
struct State {
    holders: Holders,
    watched: HashMap<ConnectorRef, Watched>,
    next_id: u64,
}

/// The used Connectors and their watches.
pub(super) struct HeldConnectors {
    client: Client,
    runtime: Handle,
    changes: broadcast::Sender<CatalogChange>,
    state: Arc<Mutex<State>>,
}

impl HeldConnectors {
    /// Watches start on `runtime`; changes go to `changes`.
    pub(super) fn new(
        client: Client,
        runtime: Handle,
        changes: broadcast::Sender<CatalogChange>,
    ) -> HeldConnectors {
        HeldConnectors {
            client,
            runtime,
            changes,
            state: Arc::default(),
        }
    }

    /// The object as this node knows it: `None` when no volume uses it or
    /// its watch has not listed it yet (ask the API server), `Some(None)`
    /// when it does not exist.
    pub(super) fn get(&self, reference: &ConnectorRef) -> Option<Option<Entry<Connector>>> {
        let state = lock(&self.state);
        match &state.watched.get(reference)?.known {
            Known::Nothing => None,
            Known::Object(object) => Some(object.clone()),
        }
    }

    /// `volume` uses `connectors`; `rendered` holds the objects it was just
    /// rendered from (empty after a restart).
    pub(super) fn hold(
        &self,
        volume: &Path,
        connectors: &[ConnectorRef],
        rendered: &[ResolvedConnector],
    ) {
        let mut state = lock(&self.state);
        let turnover = state.holders.hold(volume, connectors);
        for reference in turnover.first_used {
            let seen = rendered
                .iter()
                .find(|resolved| resolved.connector.reference() == reference)
                .map(|resolved| Known::Object(Some(Ok(Arc::clone(&resolved.connector)))));
            self.start(&mut state, reference, seen.unwrap_or(Known::Nothing));
        }
        stop(&mut state, turnover.last_released);
    }

    /// `volume` is gone.
    pub(super) fn release(&self, volume: &Path) {
        let mut state = lock(&self.state);
        let turnover = state.holders.release(volume);
        stop(&mut state, turnover.last_released);
    }

    /// Connectors watched now.
    pub(super) fn watched(&self) -> usize {
        lock(&self.state).watched.len()
    }

    fn start(&self, state: &mut State, reference: ConnectorRef, known: Known) {
        let id = state.next_id;
        state.next_id += 1;
        let api =
            Api::<RawObject<ConnectorKind>>::namespaced(self.client.clone(), &reference.namespace);
        let watch = ObjectWatch {
            reference: reference.clone(),
            id,
            state: Arc::clone(&self.state),
            changes: self.changes.clone(),
        };
        let task = self.runtime.spawn(watch.run(api));
        tracing::debug!(connector = %reference, "watching a connector a volume uses");
        state.watched.insert(reference, Watched { id, task, known });
    }
}

impl Drop for HeldConnectors {
    fn drop(&mut self) {
        for watched in lock(&self.state).watched.values() {
            watched.task.abort();
        }
    }
}

fn stop(state: &mut State, released: Vec<ConnectorRef>) {
    for reference in released {
        if let Some(watched) = state.watched.remove(&reference) {
            watched.task.abort();
            tracing::debug!(connector = %reference, "no volume uses the connector any more; watch stopped");
        }
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    // Every change to the state is a single insert or remove.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One object's watch, writing what it sees into the shared state.
struct ObjectWatch {
    reference: ConnectorRef,
    id: u64,
    state: Arc<Mutex<State>>,
    changes: broadcast::Sender<CatalogChange>,
}

impl ObjectWatch {
    /// Runs until aborted; the watcher retries errors with its backoff.
    async fn run(self, api: Api<RawObject<ConnectorKind>>) {
        let selector = format!("metadata.name={}", self.reference.name);
        let events =
            watcher::watcher(api, watcher::Config::default().fields(&selector)).default_backoff();
        futures::pin_mut!(events);
        let mut listed = None;
        while let Some(event) = events.next().await {
            let object = match event {
                Ok(Event::Init) => {
                    listed = None;
                    continue;
                }
                Ok(Event::InitApply(object)) => {
                    listed = self.entry(object);
                    continue;
                }
                Ok(Event::InitDone) => listed.take(),
                Ok(Event::Apply(object)) => match self.entry(object) {
                    Some(entry) => Some(entry),
                    None => continue,
                },
                Ok(Event::Delete(_)) => None,
                Err(err) => {
                    tracing::warn!(connector = %self.reference, error = %err, "connector watch failed; retrying");
                    continue;
                }
            };
            if self.settle(object) {
                let _ = self
                    .changes
                    .send(CatalogChange::Connector(self.reference.clone()));
            }
        }
    }

    /// The watched object's entry (the selector sends no other).
    fn entry(&self, object: RawObject<ConnectorKind>) -> Option<Entry<Connector>> {
        connector_entry(object)
            .filter(|(key, _)| *key == self.reference)
            .map(|(_, entry)| entry)
    }

    /// Records what the watch saw; whether that changes what the node knew.
    fn settle(&self, object: Option<Entry<Connector>>) -> bool {
        let mut state = lock(&self.state);
        let Some(watched) = state
            .watched
            .get_mut(&self.reference)
            .filter(|watched| watched.id == self.id)
        else {
            return false;
        };
        let changed = match (&watched.known, &object) {
            (Known::Object(Some(old)), Some(new)) => !same_entry(old, new),
            (Known::Object(None), None) => false,
            _ => true,
        };
        watched.known = Known::Object(object);
        changed
    }
}
