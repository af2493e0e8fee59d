//! What the fake holds: objects with their change history, RBAC grants, and
//! a record of every request, review and issued token.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use k8s_openapi::api::authorization::v1::SubjectAccessReview;
use serde_json::Value as Json;
use tokio::sync::broadcast;

use super::{EventWrite, Fault, Grant, IssuedToken, Kind, OpenWatch, RecordedRequest, Served};

/// One stored change, kept so a watch from an older resourceVersion replays it.
#[derive(Clone, Debug)]
pub(super) struct Change {
    pub(super) revision: u64,
    pub(super) kind: Kind,
    pub(super) event: &'static str,
    pub(super) object: Json,
}

#[derive(Clone, Debug)]
pub(super) enum Broadcast {
    Change(Change),
    /// Every open watch ends now (the client re-watches).
    DropWatches,
}

#[derive(Default)]
pub(super) struct World {
    pub(super) revision: u64,
    pub(super) objects: BTreeMap<(Kind, String, String), Json>,
    pub(super) history: Vec<Change>,
    pub(super) grants: Vec<Grant>,
    pub(super) reviews: Vec<SubjectAccessReview>,
    pub(super) tokens: Vec<IssuedToken>,
    pub(super) event_writes: Vec<EventWrite>,
    pub(super) requests: Vec<RecordedRequest>,
    pub(super) fault: Option<Fault>,
    /// Open watches by a number given at their start.
    pub(super) watches: BTreeMap<u64, OpenWatch>,
    pub(super) next_watch: u64,
    pub(super) served: BTreeMap<Kind, Served>,
}

impl World {
    /// Counts objects sent of `kind`.
    pub(super) fn count(&mut self, kind: Kind, add: Served) {
        let served = self.served.entry(kind).or_default();
        *served = *served + add;
    }
}

pub(super) struct Shared {
    pub(super) world: Mutex<World>,
    pub(super) changes: broadcast::Sender<Broadcast>,
    /// While true, watches hold their events back (a slow watch), so a
    /// test can tell a read-through GET from a cache hit.
    pub(super) paused: tokio::sync::watch::Sender<bool>,
}

impl Shared {
    pub(super) fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }
}
