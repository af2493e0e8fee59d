//! Where Connectors, ConnectorClasses and the built-in templates come from.
//!
//! Two sources implement [`Catalog`]: [`manifests::ManifestsCatalog`] (YAML
//! files, offline and manifests mode) and the API server's caches (KUBE).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::model::{Connector, ConnectorClass};
use crate::volume::ConnectorRef;

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
    /// → NotFound
    #[error("connector \"{connector}\" not found")]
    ConnectorNotFound { connector: ConnectorRef },
    /// → NotFound
    #[error("connectorclass \"{class}\" not found (used by connector \"{connector}\")")]
    ClassNotFound {
        class: String,
        connector: ConnectorRef,
    },
    /// The source cannot answer now; worth retrying (→ Unavailable).
    #[error("catalog unavailable: {reason}")]
    Unavailable { reason: String },
    /// The source holds something the driver cannot use (→ Internal/InvalidArgument).
    #[error("{reason}")]
    Invalid { reason: String },
}

#[async_trait]
pub trait Catalog: Send + Sync {
    /// Each connector with its class, in the order of `refs`.
    async fn resolve(&self, refs: &[ConnectorRef]) -> Result<Vec<ResolvedConnector>, CatalogError>;
    /// operator overrides of the built-in file templates (ConfigMap data), if any
    async fn builtin_templates(
        &self,
    ) -> Result<Option<Arc<BTreeMap<String, String>>>, CatalogError>;
    fn is_ready(&self) -> bool;
}

#[cfg(test)]
mod tests {
    use super::*;

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
