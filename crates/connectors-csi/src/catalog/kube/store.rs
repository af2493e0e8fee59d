//! One kind's watch cache: what the last complete list plus later watch
//! events say, keyed by the object's own key (a [`ConnectorRef`] or a name).
//!
//! [`ConnectorRef`]: crate::volume::ConnectorRef

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use crate::model::{Connector, ConnectorClass};

/// A cached object, or why it could not be read (kept so that resolving it
/// says what is wrong with it rather than "not found").
pub(super) type Entry<T> = Result<Arc<T>, String>;

pub(super) struct Store<K, T> {
    objects: RwLock<HashMap<K, Entry<T>>>,
    synced: AtomicBool,
}

impl<K, T> Default for Store<K, T> {
    fn default() -> Self {
        Store {
            objects: RwLock::new(HashMap::new()),
            synced: AtomicBool::new(false),
        }
    }
}

impl<K: Clone + Eq + Hash, T: SameContent> Store<K, T> {
    pub(super) fn get<Q>(&self, key: &Q) -> Option<Entry<T>>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let objects = self.objects.read().unwrap_or_else(|p| p.into_inner());
        objects.get(key).cloned()
    }

    pub(super) fn is_synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    /// Whether the object's content changed (a bare resourceVersion bump
    /// does not count).
    pub(super) fn apply(&self, key: K, entry: Entry<T>) -> bool {
        let mut objects = self.objects.write().unwrap_or_else(|p| p.into_inner());
        let unchanged = objects.get(&key).is_some_and(|old| same_entry(old, &entry));
        objects.insert(key, entry);
        !unchanged
    }

    /// Whether there was such an object.
    pub(super) fn delete(&self, key: &K) -> bool {
        let mut objects = self.objects.write().unwrap_or_else(|p| p.into_inner());
        objects.remove(key).is_some()
    }

    /// A relist finished: its objects replace everything at once, so a
    /// reader never sees a half-listed cache. Returns the keys whose object
    /// appeared, changed or disappeared (what the watch missed while down).
    pub(super) fn replace(&self, listed: HashMap<K, Entry<T>>) -> Vec<K> {
        let mut objects = self.objects.write().unwrap_or_else(|p| p.into_inner());
        let mut changed: Vec<K> = listed
            .iter()
            .filter(|(key, new)| !objects.get(*key).is_some_and(|old| same_entry(old, new)))
            .map(|(key, _)| key.clone())
            .collect();
        changed.extend(
            objects
                .keys()
                .filter(|key| !listed.contains_key(*key))
                .cloned(),
        );
        *objects = listed;
        self.synced.store(true, Ordering::Release);
        changed
    }
}

/// Equality of what templates and the driver read, ignoring the API
/// server's bookkeeping, so that a no-op update does not re-render volumes.
pub(super) trait SameContent {
    fn same_content(&self, other: &Self) -> bool;
}

impl SameContent for Connector {
    fn same_content(&self, other: &Self) -> bool {
        Connector::same_content(self, other)
    }
}

impl SameContent for ConnectorClass {
    fn same_content(&self, other: &Self) -> bool {
        ConnectorClass::same_content(self, other)
    }
}

impl SameContent for BTreeMap<String, String> {
    fn same_content(&self, other: &Self) -> bool {
        self == other
    }
}

pub(super) fn same_entry<T: SameContent>(a: &Entry<T>, b: &Entry<T>) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => a.same_content(b),
        (Err(a), Err(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn connector_json() -> serde_json::Value {
        json!({
            "apiVersion": crate::model::API_VERSION, "kind": "Connector",
            "metadata": {"name": "git", "namespace": "default", "resourceVersion": "7"},
            "spec": {"connectorClassName": "git", "address": "https://example.com"}
        })
    }

    fn templates(text: &str) -> Entry<BTreeMap<String, String>> {
        Ok(Arc::new(BTreeMap::from([(
            "f".to_owned(),
            text.to_owned(),
        )])))
    }

    #[test]
    fn a_relist_replaces_the_whole_cache_and_marks_it_synced() {
        let store: Store<String, BTreeMap<String, String>> = Store::default();
        store.apply("old".into(), templates("x"));
        assert!(!store.is_synced());
        let listed = HashMap::from([("new".to_owned(), templates("y"))]);
        let mut changed = store.replace(listed);
        changed.sort();
        assert_eq!(changed, ["new", "old"]);
        assert!(store.is_synced());
        assert!(store.get("old").is_none());
        assert_eq!(store.get("new").unwrap().unwrap()["f"], "y");
    }

    #[test]
    fn a_resource_version_bump_alone_is_not_a_change() {
        let store: Store<String, Connector> = Store::default();
        let key = || "default/git".to_owned();
        let mut json = connector_json();
        let first = Connector::from_json(json.clone()).unwrap();
        assert!(store.apply(key(), Ok(Arc::new(first))));
        json["metadata"]["resourceVersion"] = json!("8");
        let bumped = Connector::from_json(json.clone()).unwrap();
        assert!(!store.apply(key(), Ok(Arc::new(bumped))));
        json["spec"]["address"] = json!("https://moved.example.com");
        let moved = Connector::from_json(json).unwrap();
        assert!(store.apply(key(), Ok(Arc::new(moved))));
    }
}
