//! Cluster-mode catalog: Connectors, ConnectorClasses and the built-in
//! templates ConfigMap, read from the API server through watch caches.
//!
//! Kubelet republishes every volume every minute or so, so a publish must not
//! cost an API round trip: one watcher per kind keeps an in-memory copy, and
//! only a cache miss (an object created a moment ago, or not synced yet) falls
//! back to a direct GET. The GET result is not put into the cache: the watch
//! delivers the object shortly, and inserting it here could resurrect an
//! object whose deletion the watch has already applied.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ::kube::api::ObjectMeta;
use ::kube::config::{KubeConfigOptions, Kubeconfig};
use ::kube::runtime::watcher::{self, Event};
use ::kube::runtime::WatchStreamExt;
use ::kube::{Api, Client, Config, Resource};
use async_trait::async_trait;
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope};
use serde::{Deserialize, Deserializer};
use serde_json::Value as Json;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::{Catalog, CatalogError, ResolvedConnector, BUILTIN_OVERRIDES_CONFIGMAP};
use crate::access::{DecisionCacheConfig, SubjectAccessReviewAccess};
use crate::model::{Connector, ConnectorClass, API_VERSION};
use crate::tokens::request::KubeTokens;
use crate::volume::ConnectorRef;

/// Bound on a read-through GET: a publish must fail fast and be retried by
/// kubelet rather than hang on an API server that does not answer.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Changes a slow subscriber may fall behind by before it is told it lagged.
const CHANGE_BACKLOG: usize = 512;

/// Why no API client could be built.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("reading kubeconfig {path}: {source}")]
    Kubeconfig {
        path: String,
        #[source]
        source: ::kube::config::KubeconfigError,
    },
    #[error("no Kubernetes configuration (in-cluster or KUBECONFIG): {0}")]
    Infer(#[source] ::kube::config::InferConfigError),
    #[error("building the Kubernetes client: {0}")]
    Client(#[source] ::kube::Error),
}

/// A client configured the usual way: `kubeconfig` when given, otherwise
/// `KUBECONFIG`/`~/.kube/config` or the in-cluster service account.
pub async fn connect(kubeconfig: Option<&Path>) -> Result<Client, ConnectError> {
    let config = match kubeconfig {
        Some(path) => {
            let file = Kubeconfig::read_from(path).map_err(|source| ConnectError::Kubeconfig {
                path: path.display().to_string(),
                source,
            })?;
            Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
                .await
                .map_err(|source| ConnectError::Kubeconfig {
                    path: path.display().to_string(),
                    source,
                })?
        }
        None => Config::infer().await.map_err(ConnectError::Infer)?,
    };
    Client::try_from(config).map_err(ConnectError::Client)
}

/// What cluster mode needs besides the client.
#[derive(Clone, Debug)]
pub struct ClusterSettings {
    /// The driver's own namespace (`POD_NAMESPACE` or `--namespace`), where
    /// the templates ConfigMap lives.
    pub namespace: String,
    /// `--token-audience`: the audience of the tokens the proxy accepts.
    pub audience: String,
    pub decisions: DecisionCacheConfig,
    /// Bound on each API call made during a publish.
    pub request_timeout: Duration,
}

/// The cluster-mode implementations of the publish pipeline's seams, sharing
/// one client. Concrete types, so the caller can also reach
/// [`KubeCatalog::subscribe`] and [`KubeCatalog::cached_counts`]; each
/// coerces to its `Arc<dyn …>`.
pub struct ClusterParts {
    pub catalog: Arc<KubeCatalog>,
    pub access: Arc<SubjectAccessReviewAccess>,
    pub tokens: Arc<KubeTokens>,
}

/// Builds the cluster-mode parts; the catalog's watchers start now, on the
/// current tokio runtime.
pub fn kube_driver_parts(client: Client, settings: &ClusterSettings) -> ClusterParts {
    let timeout = settings.request_timeout;
    let catalog =
        KubeCatalog::start(client.clone(), &settings.namespace).with_request_timeout(timeout);
    let access = SubjectAccessReviewAccess::new(client.clone(), settings.decisions)
        .with_request_timeout(timeout);
    let tokens = KubeTokens::new(client, settings.audience.clone()).with_request_timeout(timeout);
    ClusterParts {
        catalog: Arc::new(catalog),
        access: Arc::new(access),
        tokens: Arc::new(tokens),
    }
}

/// Connectors, ConnectorClasses and the templates ConfigMap, watch-cached.
pub struct KubeCatalog {
    client: Client,
    namespace: String,
    request_timeout: Duration,
    connectors: Arc<Store<Connector>>,
    classes: Arc<Store<ConnectorClass>>,
    templates: Arc<Store<BTreeMap<String, String>>>,
    changes: broadcast::Sender<CatalogChange>,
    watchers: Vec<JoinHandle<()>>,
}

/// Something a mounted volume may depend on changed (SPEC §7: a changed
/// Connector or ConnectorClass re-renders the volumes that use it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CatalogChange {
    Connector(ConnectorRef),
    Class(String),
    BuiltinTemplates,
}

impl CatalogChange {
    fn connector(key: &str) -> CatalogChange {
        let (namespace, name) = key.split_once('/').unwrap_or_default();
        CatalogChange::Connector(ConnectorRef {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        })
    }

    fn class(key: &str) -> CatalogChange {
        CatalogChange::Class(key.to_owned())
    }

    fn templates(_key: &str) -> CatalogChange {
        CatalogChange::BuiltinTemplates
    }
}

impl KubeCatalog {
    /// Starts the three watchers (on the current tokio runtime). `namespace`
    /// is the driver's own, where the templates ConfigMap lives.
    pub fn start(client: Client, namespace: &str) -> KubeCatalog {
        let connectors = Arc::new(Store::default());
        let classes = Arc::new(Store::default());
        let templates = Arc::new(Store::default());
        let (changes, _) = broadcast::channel(CHANGE_BACKLOG);
        let watchers = vec![
            tokio::spawn(keep_in_sync(
                Api::<RawObject<ConnectorKind>>::all(client.clone()),
                watcher::Config::default(),
                Arc::clone(&connectors),
                connector_entry,
                Notifier::new(&changes, CatalogChange::connector),
            )),
            tokio::spawn(keep_in_sync(
                Api::<RawObject<ClassKind>>::all(client.clone()),
                watcher::Config::default(),
                Arc::clone(&classes),
                class_entry,
                Notifier::new(&changes, CatalogChange::class),
            )),
            tokio::spawn(keep_in_sync(
                Api::<ConfigMap>::namespaced(client.clone(), namespace),
                watcher::Config::default()
                    .fields(&format!("metadata.name={BUILTIN_OVERRIDES_CONFIGMAP}")),
                Arc::clone(&templates),
                templates_entry,
                Notifier::new(&changes, CatalogChange::templates),
            )),
        ];
        KubeCatalog {
            client,
            namespace: namespace.to_owned(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            connectors,
            classes,
            templates,
            changes,
            watchers,
        }
    }

    /// Changes seen by the watches from now on (not the initial listing).
    /// A receiver that falls more than a few hundred changes behind gets
    /// `Lagged` and should treat everything as changed.
    pub fn subscribe(&self) -> broadcast::Receiver<CatalogChange> {
        self.changes.subscribe()
    }

    /// Bounds each read-through GET (default [`DEFAULT_REQUEST_TIMEOUT`]).
    pub fn with_request_timeout(mut self, timeout: Duration) -> KubeCatalog {
        self.request_timeout = timeout;
        self
    }

    /// Objects currently cached: (connectors, connectorclasses), for metrics.
    pub fn cached_counts(&self) -> (usize, usize) {
        (self.connectors.len(), self.classes.len())
    }

    async fn connector(&self, reference: &ConnectorRef) -> Result<Arc<Connector>, CatalogError> {
        let key = format!("{}/{}", reference.namespace, reference.name);
        let cached = match self.connectors.get(&key) {
            Some(cached) => Some(cached),
            None => {
                let api = Api::<RawObject<ConnectorKind>>::namespaced(
                    self.client.clone(),
                    &reference.namespace,
                );
                self.read_through(&api, &reference.name, connector_entry)
                    .await?
            }
        };
        match cached {
            Some(Ok(connector)) => Ok(connector),
            Some(Err(reason)) => Err(CatalogError::Invalid { reason }),
            None => Err(CatalogError::ConnectorNotFound {
                connector: reference.clone(),
            }),
        }
    }

    async fn class(
        &self,
        name: &str,
        user: &ConnectorRef,
    ) -> Result<Arc<ConnectorClass>, CatalogError> {
        let cached = match self.classes.get(name) {
            Some(cached) => Some(cached),
            None => {
                let api = Api::<RawObject<ClassKind>>::all(self.client.clone());
                self.read_through(&api, name, class_entry).await?
            }
        };
        match cached {
            Some(Ok(class)) => Ok(class),
            Some(Err(reason)) => Err(CatalogError::Invalid { reason }),
            None => Err(CatalogError::ClassNotFound {
                class: name.to_owned(),
                connector: user.clone(),
            }),
        }
    }

    /// One GET on a cache miss; `None` when the object does not exist.
    async fn read_through<K, T>(
        &self,
        api: &Api<K>,
        name: &str,
        entry: fn(K) -> Option<(String, Entry<T>)>,
    ) -> Result<Option<Entry<T>>, CatalogError>
    where
        K: Resource + Clone + fmt::Debug + serde::de::DeserializeOwned,
    {
        let answer = tokio::time::timeout(self.request_timeout, api.get_opt(name))
            .await
            .map_err(|_| CatalogError::Unavailable {
                reason: format!(
                    "the API server did not answer within {:?}",
                    self.request_timeout
                ),
            })?
            .map_err(unavailable)?;
        Ok(answer.and_then(entry).map(|(_, entry)| entry))
    }
}

impl Drop for KubeCatalog {
    fn drop(&mut self) {
        for watcher in &self.watchers {
            watcher.abort();
        }
    }
}

#[async_trait]
impl Catalog for KubeCatalog {
    async fn resolve(&self, refs: &[ConnectorRef]) -> Result<Vec<ResolvedConnector>, CatalogError> {
        let mut resolved = Vec::with_capacity(refs.len());
        for reference in refs {
            let connector = self.connector(reference).await?;
            let class_name = connector.spec.connector_class_name.as_str();
            if class_name.is_empty() {
                return Err(CatalogError::Invalid {
                    reason: format!("connector \"{reference}\" has no spec.connectorClassName"),
                });
            }
            let class = self.class(class_name, reference).await?;
            resolved.push(ResolvedConnector { connector, class });
        }
        Ok(resolved)
    }

    async fn builtin_templates(
        &self,
    ) -> Result<Option<Arc<BTreeMap<String, String>>>, CatalogError> {
        let cached = if self.templates.is_synced() {
            self.templates.get(BUILTIN_OVERRIDES_CONFIGMAP)
        } else {
            let api = Api::<ConfigMap>::namespaced(self.client.clone(), &self.namespace);
            self.read_through(&api, BUILTIN_OVERRIDES_CONFIGMAP, templates_entry)
                .await?
        };
        Ok(cached.and_then(Result::ok))
    }

    fn is_ready(&self) -> bool {
        self.connectors.is_synced() && self.classes.is_synced() && self.templates.is_synced()
    }
}

fn unavailable(err: ::kube::Error) -> CatalogError {
    CatalogError::Unavailable {
        reason: err.to_string(),
    }
}

/// A cached object, or why it could not be read (kept so that resolving it
/// says what is wrong with it rather than "not found").
type Entry<T> = Result<Arc<T>, String>;

/// One kind's cache: what the last complete list plus later watch events say.
struct Store<T> {
    objects: RwLock<HashMap<String, Entry<T>>>,
    synced: AtomicBool,
}

impl<T> Default for Store<T> {
    fn default() -> Self {
        Store {
            objects: RwLock::new(HashMap::new()),
            synced: AtomicBool::new(false),
        }
    }
}

impl<T: SameContent> Store<T> {
    fn get(&self, key: &str) -> Option<Entry<T>> {
        let objects = self.objects.read().unwrap_or_else(|p| p.into_inner());
        objects.get(key).cloned()
    }

    fn len(&self) -> usize {
        let objects = self.objects.read().unwrap_or_else(|p| p.into_inner());
        objects.len()
    }

    fn is_synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    /// Whether the object's content changed (a bare resourceVersion bump
    /// does not count).
    fn apply(&self, key: String, entry: Entry<T>) -> bool {
        let mut objects = self.objects.write().unwrap_or_else(|p| p.into_inner());
        let unchanged = objects.get(&key).is_some_and(|old| same_entry(old, &entry));
        objects.insert(key, entry);
        !unchanged
    }

    /// Whether there was such an object.
    fn delete(&self, key: &str) -> bool {
        let mut objects = self.objects.write().unwrap_or_else(|p| p.into_inner());
        objects.remove(key).is_some()
    }

    /// A relist finished: its objects replace everything at once, so a
    /// reader never sees a half-listed cache. Returns the keys whose object
    /// appeared, changed or disappeared (what the watch missed while down).
    fn replace(&self, listed: HashMap<String, Entry<T>>) -> Vec<String> {
        let mut objects = self.objects.write().unwrap_or_else(|p| p.into_inner());
        let mut changed: Vec<String> = listed
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
trait SameContent {
    fn same_content(&self, other: &Self) -> bool;
}

impl SameContent for Connector {
    fn same_content(&self, other: &Self) -> bool {
        same_object(self.raw(), other.raw())
    }
}

impl SameContent for ConnectorClass {
    fn same_content(&self, other: &Self) -> bool {
        same_object(self.raw(), other.raw())
    }
}

impl SameContent for BTreeMap<String, String> {
    fn same_content(&self, other: &Self) -> bool {
        self == other
    }
}

#[cfg(test)]
impl SameContent for String {
    fn same_content(&self, other: &Self) -> bool {
        self == other
    }
}

fn same_entry<T: SameContent>(a: &Entry<T>, b: &Entry<T>) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => a.same_content(b),
        (Err(a), Err(b)) => a == b,
        _ => false,
    }
}

/// Metadata fields that change without the object meaning anything new.
const BOOKKEEPING: [&str; 2] = ["resourceVersion", "managedFields"];

fn same_object(a: &Json, b: &Json) -> bool {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return a == b;
    };
    let fields_equal = a.len() == b.len()
        && a.iter()
            .all(|(key, value)| key == "metadata" || b.get(key) == Some(value));
    let empty = serde_json::Map::new();
    let meta = |object: &serde_json::Map<String, Json>| {
        object
            .get("metadata")
            .and_then(Json::as_object)
            .unwrap_or(&empty)
            .iter()
            .filter(|(key, _)| !BOOKKEEPING.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    fields_equal && meta(a) == meta(b)
}

/// Sends a [`CatalogChange`] for a store key; nobody listening is fine.
struct Notifier {
    changes: broadcast::Sender<CatalogChange>,
    change_for: fn(&str) -> CatalogChange,
}

impl Notifier {
    fn new(
        changes: &broadcast::Sender<CatalogChange>,
        change_for: fn(&str) -> CatalogChange,
    ) -> Self {
        Notifier {
            changes: changes.clone(),
            change_for,
        }
    }

    fn changed(&self, key: &str) {
        let _ = self.changes.send((self.change_for)(key));
    }
}

/// Runs one watcher for as long as the catalog lives, applying its events to
/// `store`. Errors are retried by the watcher with its default backoff.
async fn keep_in_sync<K, T>(
    api: Api<K>,
    config: watcher::Config,
    store: Arc<Store<T>>,
    entry: fn(K) -> Option<(String, Entry<T>)>,
    notifier: Notifier,
) where
    K: Resource + Clone + fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
    K::DynamicType: Default,
    T: SameContent,
{
    let kind = K::kind(&K::DynamicType::default()).into_owned();
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

fn connector_entry(object: RawObject<ConnectorKind>) -> Option<(String, Entry<Connector>)> {
    let key = format!(
        "{}/{}",
        object.meta.namespace.as_deref().unwrap_or_default(),
        object.meta.name.as_deref()?
    );
    let connector = Connector::from_json(object.raw)
        .map(Arc::new)
        .map_err(|err| err.to_string());
    Some((key, connector))
}

fn class_entry(object: RawObject<ClassKind>) -> Option<(String, Entry<ConnectorClass>)> {
    let key = object.meta.name.clone()?;
    let class = ConnectorClass::from_json(object.raw)
        .map(Arc::new)
        .map_err(|err| err.to_string());
    Some((key, class))
}

fn templates_entry(map: ConfigMap) -> Option<(String, Entry<BTreeMap<String, String>>)> {
    let key = map.metadata.name?;
    Some((key, Ok(Arc::new(map.data.unwrap_or_default()))))
}

/// What differs between the two custom kinds, for [`RawObject`].
trait CustomKind {
    const KIND: &'static str;
    const PLURAL: &'static str;
    type Scope;
}

struct ConnectorKind;
impl CustomKind for ConnectorKind {
    const KIND: &'static str = "Connector";
    const PLURAL: &'static str = "connectors";
    type Scope = NamespaceResourceScope;
}

struct ClassKind;
impl CustomKind for ClassKind {
    const KIND: &'static str = "ConnectorClass";
    const PLURAL: &'static str = "connectorclasses";
    type Scope = ClusterResourceScope;
}

/// A custom object exactly as the API server sent it: templates see every
/// field (SPEC §4), so it is kept as JSON, with the metadata parsed beside it
/// for the watcher's bookkeeping (names, resource versions).
struct RawObject<K> {
    meta: ObjectMeta,
    raw: Json,
    kind: PhantomData<fn() -> K>,
}

impl<K> Clone for RawObject<K> {
    fn clone(&self) -> Self {
        RawObject {
            meta: self.meta.clone(),
            raw: self.raw.clone(),
            kind: PhantomData,
        }
    }
}

impl<K: CustomKind> fmt::Debug for RawObject<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(K::KIND)
            .field("namespace", &self.meta.namespace)
            .field("name", &self.meta.name)
            .field("resource_version", &self.meta.resource_version)
            .finish()
    }
}

impl<'de, K> Deserialize<'de> for RawObject<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Json::deserialize(deserializer)?;
        let meta = match raw.get("metadata") {
            Some(meta) => ObjectMeta::deserialize(meta).map_err(serde::de::Error::custom)?,
            None => ObjectMeta::default(),
        };
        Ok(RawObject {
            meta,
            raw,
            kind: PhantomData,
        })
    }
}

impl<K: CustomKind> Resource for RawObject<K> {
    type DynamicType = ();
    type Scope = K::Scope;

    fn kind(_: &()) -> std::borrow::Cow<'_, str> {
        K::KIND.into()
    }

    fn group(_: &()) -> std::borrow::Cow<'_, str> {
        API_VERSION.split('/').next().unwrap_or_default().into()
    }

    fn version(_: &()) -> std::borrow::Cow<'_, str> {
        API_VERSION.rsplit('/').next().unwrap_or_default().into()
    }

    fn api_version(_: &()) -> std::borrow::Cow<'_, str> {
        API_VERSION.into()
    }

    fn plural(_: &()) -> std::borrow::Cow<'_, str> {
        K::PLURAL.into()
    }

    fn meta(&self) -> &ObjectMeta {
        &self.meta
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.meta
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn connector_json(name: &str, class: &str) -> Json {
        json!({
            "apiVersion": API_VERSION, "kind": "Connector",
            "metadata": {"name": name, "namespace": "default", "resourceVersion": "7"},
            "spec": {"connectorClassName": class, "address": "https://example.com"}
        })
    }

    #[test]
    fn a_raw_object_keeps_every_field_and_parses_its_metadata() {
        let mut json = connector_json("git", "git");
        json["spec"]["auth"] = json!({"name": "basic"});
        let object: RawObject<ConnectorKind> = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(object.meta.resource_version.as_deref(), Some("7"));
        assert_eq!(object.raw, json);
    }

    #[test]
    fn connectors_are_keyed_by_namespace_and_name() {
        let object: RawObject<ConnectorKind> =
            serde_json::from_value(connector_json("git", "git")).unwrap();
        let (key, entry) = connector_entry(object).unwrap();
        assert_eq!(key, "default/git");
        assert_eq!(entry.unwrap().spec.connector_class_name, "git");
    }

    #[test]
    fn an_unreadable_connector_is_cached_with_its_reason() {
        let mut json = connector_json("git", "git");
        json["spec"]["params"] = json!("not a list");
        let object: RawObject<ConnectorKind> = serde_json::from_value(json).unwrap();
        let (_, entry) = connector_entry(object).unwrap();
        assert!(entry.unwrap_err().contains("git"));
    }

    #[test]
    fn a_relist_replaces_the_whole_cache_and_marks_it_synced() {
        let store: Store<String> = Store::default();
        store.apply("old".into(), Ok(Arc::new("x".into())));
        assert!(!store.is_synced());
        let listed = HashMap::from([("new".to_owned(), Ok(Arc::new("y".to_owned())))]);
        let mut changed = store.replace(listed);
        changed.sort();
        assert_eq!(changed, ["new", "old"]);
        assert!(store.is_synced());
        assert!(store.get("old").is_none());
        assert_eq!(store.get("new").unwrap().unwrap().as_str(), "y");
    }

    #[test]
    fn a_resource_version_bump_alone_is_not_a_change() {
        let store: Store<Connector> = Store::default();
        let mut json = connector_json("git", "git");
        let first = Connector::from_json(json.clone()).unwrap();
        assert!(store.apply("default/git".into(), Ok(Arc::new(first))));
        json["metadata"]["resourceVersion"] = json!("8");
        let bumped = Connector::from_json(json.clone()).unwrap();
        assert!(!store.apply("default/git".into(), Ok(Arc::new(bumped))));
        json["spec"]["address"] = json!("https://moved.example.com");
        let moved = Connector::from_json(json).unwrap();
        assert!(store.apply("default/git".into(), Ok(Arc::new(moved))));
    }

    #[test]
    fn a_label_change_is_a_change() {
        let mut a = connector_json("git", "git");
        let b = a.clone();
        a["metadata"]["labels"] = json!({"team": "a"});
        assert!(!same_object(&a, &b));
        assert!(same_object(&b, &b.clone()));
    }

    #[test]
    fn the_custom_kinds_use_the_connectors_api_group() {
        assert_eq!(RawObject::<ClassKind>::group(&()), "connectors.alauda.io");
        assert_eq!(RawObject::<ClassKind>::version(&()), "v1alpha1");
        assert_eq!(RawObject::<ClassKind>::plural(&()), "connectorclasses");
    }
}
