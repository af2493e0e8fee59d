//! Where Connectors, ConnectorClasses and the built-in templates come from,
//! and what tells a mounted volume that they changed.
//!
//! Two sources implement [`Catalog`]: [`manifests::ManifestsCatalog`] (YAML
//! files, offline and manifests mode) and [`kube::KubeCatalog`] (the API
//! server's objects through watch caches). The publisher tells the catalog
//! which connectors the node's volumes use ([`Catalog::hold`],
//! [`Catalog::release`]), so that a cluster catalog keeps exactly those
//! fresh and a node's cost follows what it uses, not the cluster's size.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::model::{Connector, ConnectorClass};
use crate::volume::ConnectorRef;

mod holders;
pub mod kube;
pub mod manifests;

pub use manifests::ManifestsCatalog;

/// Name of the ConfigMap whose data overrides the built-in file templates.
pub const BUILTIN_OVERRIDES_CONFIGMAP: &str = "connectors-csi-configuration-system";

/// A connector of the volume with its class.
#[derive(Clone, Debug)]
pub struct ResolvedConnector {
    pub connector: Arc<Connector>,
    pub class: Arc<ConnectorClass>,
}

/// Why connectors could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("connector \"{connector}\" not found")]
    ConnectorNotFound { connector: ConnectorRef },
    #[error("connectorclass \"{class}\" not found (used by connector \"{connector}\")")]
    ClassNotFound {
        class: String,
        connector: ConnectorRef,
    },
    /// The source cannot answer now; worth retrying.
    #[error("catalog unavailable: {reason}")]
    Unavailable { reason: String },
    /// The source holds something the driver cannot use.
    #[error("{reason}")]
    Invalid { reason: String },
}

#[async_trait]
pub trait Catalog: Send + Sync {
    /// Each connector with its class, in the order of `refs`.
    async fn resolve(&self, refs: &[ConnectorRef]) -> Result<Vec<ResolvedConnector>, CatalogError>;
    /// Operator overrides of the built-in file templates (ConfigMap data), if any.
    async fn builtin_templates(
        &self,
    ) -> Result<Option<Arc<BTreeMap<String, String>>>, CatalogError>;
    /// Whether the catalog can answer (its caches are filled).
    fn is_ready(&self) -> bool;
    /// Changes from now on. A catalog whose objects never change while the
    /// driver runs gives a feed that never fires.
    fn subscribe(&self) -> ChangeFeed {
        ChangeFeed::never()
    }
    /// The volume at `volume` uses `connectors` from now on, instead of
    /// what it used before; `rendered` are the objects it was just
    /// rendered from (none after a restart, where only the records say
    /// what is used). From now on the feed reports changes to them. A
    /// catalog whose objects never change does nothing.
    fn hold(&self, volume: &Path, connectors: &[ConnectorRef], rendered: &[ResolvedConnector]) {
        let _ = (volume, connectors, rendered);
    }
    /// The volume at `volume` is gone: a connector no other volume uses is
    /// forgotten, and its changes are no longer reported.
    fn release(&self, volume: &Path) {
        let _ = volume;
    }
}

/// Something a mounted volume may depend on changed: the volumes that use
/// it are rendered again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CatalogChange {
    Connector(ConnectorRef),
    /// A ConnectorClass, by name.
    Class(String),
    BuiltinTemplates,
    /// The subscriber fell behind and missed changes: anything may have
    /// changed.
    Missed,
}

/// A subscriber's view of a catalog's changes.
pub struct ChangeFeed {
    receiver: Option<broadcast::Receiver<CatalogChange>>,
}

impl ChangeFeed {
    /// A feed that never fires.
    pub fn never() -> ChangeFeed {
        ChangeFeed { receiver: None }
    }

    pub(crate) fn from_receiver(receiver: broadcast::Receiver<CatalogChange>) -> ChangeFeed {
        ChangeFeed {
            receiver: Some(receiver),
        }
    }

    /// The next change; waits for ever on a feed that never fires; `None`
    /// once the catalog is gone (and from then on, waits for ever).
    pub async fn next(&mut self) -> Option<CatalogChange> {
        let Some(receiver) = &mut self.receiver else {
            return std::future::pending().await;
        };
        match receiver.recv().await {
            Ok(change) => Some(change),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(CatalogChange::Missed),
            Err(broadcast::error::RecvError::Closed) => {
                self.receiver = None;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_lagging_subscriber_is_told_it_missed_changes() {
        let (sender, receiver) = broadcast::channel(1);
        let mut feed = ChangeFeed::from_receiver(receiver);
        sender.send(CatalogChange::BuiltinTemplates).unwrap();
        sender.send(CatalogChange::Class("git".into())).unwrap();
        assert_eq!(feed.next().await, Some(CatalogChange::Missed));
        assert_eq!(feed.next().await, Some(CatalogChange::Class("git".into())));
        drop(sender);
        assert_eq!(feed.next().await, None);
    }

    #[tokio::test]
    async fn a_feed_that_never_fires_waits() {
        let mut feed = ChangeFeed::never();
        let waited = tokio::time::timeout(std::time::Duration::from_millis(20), feed.next()).await;
        assert!(waited.is_err());
    }

    #[test]
    fn not_found_messages_name_the_object() {
        let connector = ConnectorRef {
            namespace: "default".into(),
            name: "git-connector".into(),
        };
        let err = CatalogError::ConnectorNotFound {
            connector: connector.clone(),
        };
        assert_eq!(
            err.to_string(),
            "connector \"default/git-connector\" not found"
        );
        let err = CatalogError::ClassNotFound {
            class: "x".into(),
            connector,
        };
        assert_eq!(
            err.to_string(),
            "connectorclass \"x\" not found (used by connector \"default/git-connector\")"
        );
    }
}
