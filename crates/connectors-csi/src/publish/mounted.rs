//! What the publisher knows is mounted: the state records in memory (the
//! state directory is the durable copy, read once at start) with the last
//! token kubelet gave each volume (in memory only: never on disk, gone with
//! the volume or a restart), and one lock per target while a call works on
//! it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OwnedMutexGuard;

use crate::mount::{StateStore, VolumeState};
use crate::tokens::Token;

/// One mounted volume.
#[derive(Clone)]
pub(super) struct Record {
    pub(super) state: VolumeState,
    /// Kubelet's last token for the volume, for re-renders between its
    /// republishes.
    pub(super) kubelet_token: Option<Token>,
    /// The kernel's id of the volume's tmpfs (see `Mounter::mount_id`), so a
    /// later call knows its mount without reading the mount table.
    pub(super) mount_id: Option<u64>,
}

#[derive(Default)]
pub(super) struct Mounted {
    /// Only targets being worked on (or waited for) have an entry, so the
    /// map does not grow with every volume ever published.
    locks: Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>,
    records: Mutex<BTreeMap<PathBuf, Record>>,
}

/// Held while a call works on one target: kubelet's retries and the
/// refresher never write the same volume at once.
pub(super) struct TargetLock<'a> {
    mounted: &'a Mounted,
    target: PathBuf,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Drop for TargetLock<'_> {
    fn drop(&mut self) {
        self.guard.take();
        self.mounted.forget_idle_lock(&self.target);
    }
}

impl Mounted {
    /// The records a previous run left; unreadable ones are logged and
    /// skipped.
    pub(super) fn load(state: &StateStore) -> Mounted {
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
        let records = states
            .into_iter()
            .map(|state| {
                let record = Record {
                    state,
                    kubelet_token: None,
                    mount_id: None,
                };
                (record.state.target_path.clone(), record)
            })
            .collect();
        Mounted {
            locks: Mutex::default(),
            records: Mutex::new(records),
        }
    }

    pub(super) async fn lock(&self, target: &Path) -> TargetLock<'_> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(locks.entry(target.to_owned()).or_default())
        };
        TargetLock {
            mounted: self,
            target: target.to_owned(),
            guard: Some(lock.lock_owned().await),
        }
    }

    fn forget_idle_lock(&self, target: &Path) {
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        // Another call holding or waiting for it keeps it.
        if locks
            .get(target)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            locks.remove(target);
        }
    }

    /// Every volume's state, by target.
    pub(super) fn states(&self) -> Vec<VolumeState> {
        self.with_records(|records| records.values().map(|r| r.state.clone()).collect())
    }

    pub(super) fn record(&self, target: &Path) -> Option<Record> {
        self.with_records(|records| records.get(target).cloned())
    }

    /// `f` of `volume_id`'s record at `target`, read in place (no copy).
    pub(super) fn read<T>(
        &self,
        target: &Path,
        volume_id: &str,
        f: impl FnOnce(&Record) -> T,
    ) -> Option<T> {
        self.with_records(|records| {
            records
                .get(target)
                .filter(|r| r.state.volume_id == volume_id)
                .map(f)
        })
    }

    /// The mount id recorded for `volume_id` at `target`.
    pub(super) fn mount_id(&self, target: &Path, volume_id: &str) -> Option<u64> {
        self.read(target, volume_id, |r| r.mount_id).flatten()
    }

    /// Stores a record; returns how many there are.
    pub(super) fn insert(&self, record: Record) -> usize {
        self.with_records(|records| {
            records.insert(record.state.target_path.clone(), record);
            records.len()
        })
    }

    /// Keeps kubelet's newer token for a mounted volume whose files could
    /// not be rendered with it.
    pub(super) fn remember_kubelet_token(&self, target: &Path, token: Token) {
        self.with_records(|records| {
            if let Some(record) = records.get_mut(target) {
                record.kubelet_token = Some(token);
            }
        });
    }

    /// Drops a record; returns how many are left.
    pub(super) fn remove(&self, target: &Path) -> usize {
        self.with_records(|records| {
            records.remove(target);
            records.len()
        })
    }

    /// Drops `volume_id`'s record at `target`, if that is the one there;
    /// returns how many are left, or `None` when nothing was dropped.
    pub(super) fn remove_volume(&self, target: &Path, volume_id: &str) -> Option<usize> {
        self.with_records(|records| {
            records
                .get(target)
                .is_some_and(|r| r.state.volume_id == volume_id)
                .then(|| {
                    records.remove(target);
                    records.len()
                })
        })
    }

    pub(super) fn count(&self) -> usize {
        self.with_records(|records| records.len())
    }

    #[cfg(test)]
    pub(super) fn locks_held(&self) -> usize {
        self.locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn with_records<T>(&self, f: impl FnOnce(&mut BTreeMap<PathBuf, Record>) -> T) -> T {
        f(&mut self.records.lock().unwrap_or_else(PoisonError::into_inner))
    }
}
