//! The watch loop: one watcher per kind keeps its [`Store`] in sync and
//! tells subscribers what changed.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use futures::StreamExt;
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::{Api, Resource};
use tokio::sync::broadcast;

use super::store::{Entry, SameContent, Store};
use crate::catalog::CatalogChange;

/// Turns a watched object into its key and cache entry (`None`: no name).
pub(super) type ToEntry<R, K, T> = fn(R) -> Option<(K, Entry<T>)>;

/// Sends a [`CatalogChange`] for a changed key; nobody listening is fine.
pub(super) struct Notifier<K> {
    changes: Option<broadcast::Sender<CatalogChange>>,
    change_for: fn(&K) -> CatalogChange,
}

impl<K> Notifier<K> {
    pub(super) fn new(
        changes: &broadcast::Sender<CatalogChange>,
        change_for: fn(&K) -> CatalogChange,
    ) -> Self {
        Notifier {
            changes: Some(changes.clone()),
            change_for,
        }
    }

    /// For what is read afresh on every publish and changes no mounted
    /// volume (the feature flags).
    pub(super) fn silent() -> Self {
        Notifier {
            changes: None,
            change_for: |_| CatalogChange::Missed,
        }
    }

    fn changed(&self, key: &K) {
        if let Some(changes) = &self.changes {
            let _ = changes.send((self.change_for)(key));
        }
    }
}

/// Runs one watcher for as long as the catalog lives, applying its events to
/// `store`. Errors are retried by the watcher with its default backoff.
pub(super) async fn keep_in_sync<R, K, T>(
    api: Api<R>,
    config: watcher::Config,
    store: Arc<Store<K, T>>,
    entry: ToEntry<R, K, T>,
    notifier: Notifier<K>,
) where
    R: Resource + Clone + fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
    R::DynamicType: Default,
    K: Clone + Eq + Hash,
    T: SameContent,
{
    let kind = R::kind(&R::DynamicType::default()).into_owned();
    let events = watcher::watcher(api, config).default_backoff();
    futures::pin_mut!(events);
    let mut listing = HashMap::new();
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::Init) => listing = HashMap::new(),
            Ok(Event::InitApply(object)) => {
                if let Some((key, value)) = entry(object) {
                    listing.insert(key, value);
                }
            }
            Ok(Event::InitDone) => {
                let count = listing.len();
                let first_sync = !store.is_synced();
                let changed = store.replace(std::mem::take(&mut listing));
                if !first_sync {
                    changed.iter().for_each(|key| notifier.changed(key));
                }
                tracing::debug!(kind = %kind, count, "watch cache synced");
            }
            Ok(Event::Apply(object)) => {
                if let Some((key, value)) = entry(object) {
                    if store.apply(key.clone(), value) {
                        notifier.changed(&key);
                    }
                }
            }
            Ok(Event::Delete(object)) => {
                if let Some((key, _)) = entry(object) {
                    if store.delete(&key) {
                        notifier.changed(&key);
                    }
                }
            }
            Err(err) => tracing::warn!(kind = %kind, error = %err, "watch failed; retrying"),
        }
    }
}
