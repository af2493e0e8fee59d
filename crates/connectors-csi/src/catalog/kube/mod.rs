//! Cluster-mode catalog: Connectors, ConnectorClasses, the built-in
//! templates ConfigMap and the feature-flags ConfigMap, read from the API
//! server through watch caches.
//!
//! Kubelet republishes every volume every minute or so, so a publish must not
//! cost an API round trip. What is small by nature is watched cluster-wide
//! ([`watch`] into [`store`]): the ConnectorClasses and the driver's own two
//! ConfigMaps. Connectors are not: a cluster may hold tens of thousands, and
//! a node uses a handful. A Connector is read with one GET when a volume
//! first needs it; once a volume on this node holds it, a watch of that one
//! object keeps it fresh until the last such volume goes ([`held`]).
//!
//! A GET result is never put into a cluster-wide cache: the watch delivers
//! the object shortly, and inserting it could resurrect an object whose
//! deletion the watch has already applied. A held Connector starts from the
//! object its volume was rendered from, which its own watch then confirms
//! or corrects.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::runtime::watcher;
use kube::{Api, Client, Resource};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::{
    Catalog, CatalogChange, CatalogError, ChangeFeed, ResolvedConnector,
    BUILTIN_OVERRIDES_CONFIGMAP,
};
use crate::access::flags::{
    FeatureFlags, FlagReader, FlagSource, FlagsUnavailable, FLAGS_CONFIGMAP,
};
use crate::apiserver::answer_within;
use crate::model::{Connector, ConnectorClass};
use crate::volume::ConnectorRef;

mod held;
mod object;
mod store;
mod watch;

use held::HeldConnectors;
use object::{class_entry, configmap_entry, connector_entry, ClassKind, ConnectorKind, RawObject};
use store::{Entry, Store};
use watch::{keep_in_sync, Notifier, ToEntry};

/// Changes a slow subscriber may fall behind by before it is told it lagged.
const CHANGE_BACKLOG: usize = 512;

/// Connectors, ConnectorClasses and the driver's two ConfigMaps, watch-cached.
pub struct KubeCatalog {
    client: Client,
    namespace: String,
    request_timeout: Duration,
    connectors: HeldConnectors,
    classes: Arc<Store<String, ConnectorClass>>,
    templates: Arc<Store<String, BTreeMap<String, String>>>,
    flags: Arc<Store<String, BTreeMap<String, String>>>,
    flag_reader: FlagReader,
    changes: broadcast::Sender<CatalogChange>,
    watchers: Vec<JoinHandle<()>>,
}

impl KubeCatalog {
    /// Starts the three cluster-wide watchers (on the current tokio
    /// runtime, where the Connector watches start too). `namespace` is the
    /// driver's own, where its ConfigMaps live; `request_timeout` bounds
    /// each read-through GET.
    pub fn start(client: Client, namespace: &str, request_timeout: Duration) -> KubeCatalog {
        let classes = Arc::new(Store::default());
        let templates = Arc::new(Store::default());
        let flags = Arc::new(Store::default());
        let (changes, _) = broadcast::channel(CHANGE_BACKLOG);
        let connectors = HeldConnectors::new(
            client.clone(),
            tokio::runtime::Handle::current(),
            changes.clone(),
        );
        let watchers = vec![
            tokio::spawn(keep_in_sync(
                Api::<RawObject<ClassKind>>::all(client.clone()),
                watcher::Config::default(),
                Arc::clone(&classes),
                class_entry,
                Notifier::new(&changes, |name| CatalogChange::Class(name.clone())),
            )),
            tokio::spawn(keep_in_sync(
                Api::<ConfigMap>::namespaced(client.clone(), namespace),
                watcher::Config::default()
                    .fields(&format!("metadata.name={BUILTIN_OVERRIDES_CONFIGMAP}")),
                Arc::clone(&templates),
                configmap_entry,
                Notifier::new(&changes, |_| CatalogChange::BuiltinTemplates),
            )),
            tokio::spawn(keep_in_sync(
                Api::<ConfigMap>::namespaced(client.clone(), namespace),
                watcher::Config::default().fields(&format!("metadata.name={FLAGS_CONFIGMAP}")),
                Arc::clone(&flags),
                configmap_entry,
                Notifier::silent(),
            )),
        ];
        KubeCatalog {
            client,
            namespace: namespace.to_owned(),
            request_timeout,
            connectors,
            classes,
            templates,
            flags,
            flag_reader: FlagReader::default(),
            changes,
            watchers,
        }
    }

    /// Connectors the node's volumes use now (each has a watch).
    pub fn watched_connectors(&self) -> usize {
        self.connectors.watched()
    }

    async fn connector(&self, reference: &ConnectorRef) -> Result<Arc<Connector>, CatalogError> {
        let cached = match self.connectors.get(reference) {
            Some(known) => known,
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
    async fn read_through<R, K, T>(
        &self,
        api: &Api<R>,
        name: &str,
        entry: ToEntry<R, K, T>,
    ) -> Result<Option<Entry<T>>, CatalogError>
    where
        R: Resource + Clone + fmt::Debug + serde::de::DeserializeOwned,
    {
        let answer = answer_within(self.request_timeout, api.get_opt(name))
            .await
            .map_err(|err| CatalogError::Unavailable {
                reason: err.to_string(),
            })?;
        Ok(answer.and_then(entry).map(|(_, entry)| entry))
    }
}

/// The flags as the watch last saw them; before its first sync, one GET, so
/// that a starting driver never skips a check the cluster asks for.
#[async_trait]
impl FlagSource for KubeCatalog {
    async fn flags(&self) -> Result<FeatureFlags, FlagsUnavailable> {
        let cached = if self.flags.is_synced() {
            self.flags.get(FLAGS_CONFIGMAP)
        } else {
            let api = Api::<ConfigMap>::namespaced(self.client.clone(), &self.namespace);
            self.read_through(&api, FLAGS_CONFIGMAP, configmap_entry)
                .await
                .map_err(|err| FlagsUnavailable {
                    reason: err.to_string(),
                })?
        };
        let data = cached.and_then(Result::ok);
        Ok(self.flag_reader.read(data.as_deref()))
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
            self.read_through(&api, BUILTIN_OVERRIDES_CONFIGMAP, configmap_entry)
                .await?
        };
        Ok(cached.and_then(Result::ok))
    }

    /// The cluster-wide caches synced (Connectors are read when used).
    fn is_ready(&self) -> bool {
        self.classes.is_synced() && self.templates.is_synced() && self.flags.is_synced()
    }

    /// Changes seen by the watches from now on (not the initial listing of
    /// the cluster-wide kinds); for Connectors, of those a volume holds.
    fn subscribe(&self) -> ChangeFeed {
        ChangeFeed::from_receiver(self.changes.subscribe())
    }

    fn hold(&self, volume: &Path, connectors: &[ConnectorRef], rendered: &[ResolvedConnector]) {
        self.connectors.hold(volume, connectors, rendered);
    }

    fn release(&self, volume: &Path) {
        self.connectors.release(volume);
    }
}
