//! A catalog read once from YAML manifests: for `render`, manifests mode and tests.
//!
//! Files hold multi-document YAML (or JSON) as `kubectl apply -f` takes it.
//! Documents of other kinds, and YAML that is not a Kubernetes object at all
//! (no `kind`, such as a volume-attributes file beside the manifests), are
//! skipped, so a directory can be passed as it is.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value as Json;

use super::{Catalog, CatalogError, ResolvedConnector, BUILTIN_OVERRIDES_CONFIGMAP};
use crate::model::{Connector, ConnectorClass};
use crate::volume::ConnectorRef;

/// Namespace of a Connector manifest that names none, as `kubectl apply` does.
pub(crate) const DEFAULT_NAMESPACE: &str = "default";

/// Why manifests could not be loaded. Always names the file.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: document {document}: {problem}", path.display())]
    Document {
        path: PathBuf,
        document: usize,
        problem: String,
    },
}

/// Connectors, classes and built-in overrides from files.
#[derive(Clone, Debug, Default)]
pub struct ManifestsCatalog {
    connectors: HashMap<ConnectorRef, Arc<Connector>>,
    classes: HashMap<String, Arc<ConnectorClass>>,
    builtin_overrides: Option<Arc<BTreeMap<String, String>>>,
}

impl ManifestsCatalog {
    /// Loads every file given, and every `.yaml`/`.yml`/`.json` file of every
    /// directory given (not recursively, in name order). Later objects with
    /// the same name replace earlier ones.
    pub fn load(paths: &[PathBuf]) -> Result<ManifestsCatalog, ManifestError> {
        let mut catalog = ManifestsCatalog::default();
        for path in paths {
            for file in manifest_files(path)? {
                let text =
                    std::fs::read_to_string(&file).map_err(|source| ManifestError::Read {
                        path: file.clone(),
                        source,
                    })?;
                catalog.add_text(&file, &text)?;
            }
        }
        Ok(catalog)
    }

    /// Adds the objects of one file's text; `path` is for messages only.
    pub(crate) fn add_text(&mut self, path: &Path, text: &str) -> Result<(), ManifestError> {
        for (index, document) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
            let document_error = |problem: String| ManifestError::Document {
                path: path.to_owned(),
                document: index + 1,
                problem,
            };
            let json =
                Json::deserialize(document).map_err(|err| document_error(err.to_string()))?;
            self.add_object(json).map_err(document_error)?;
        }
        Ok(())
    }

    /// Number of connectors and classes loaded.
    pub fn counts(&self) -> (usize, usize) {
        (self.connectors.len(), self.classes.len())
    }

    fn add_object(&mut self, json: Json) -> Result<(), String> {
        let kind = json.get("kind").and_then(Json::as_str).unwrap_or_default();
        match kind {
            Connector::KIND => {
                let connector = Connector::from_json(with_default_namespace(json))
                    .map_err(|err| err.to_string())?;
                self.connectors
                    .insert(connector.reference(), Arc::new(connector));
            }
            ConnectorClass::KIND => {
                let class = ConnectorClass::from_json(json).map_err(|err| err.to_string())?;
                self.classes
                    .insert(class.metadata.name.clone(), Arc::new(class));
            }
            "ConfigMap" if is_overrides_configmap(&json) => {
                self.builtin_overrides = Some(Arc::new(configmap_data(&json)?));
            }
            "List" => {
                let items = match json.get("items") {
                    Some(Json::Array(items)) => items.clone(),
                    _ => Vec::new(),
                };
                for item in items {
                    self.add_object(item)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Places a connector written without a namespace into the default one, as
/// `kubectl apply` would.
fn with_default_namespace(mut json: Json) -> Json {
    let meta = json.as_object_mut().map(|object| {
        object
            .entry("metadata")
            .or_insert_with(|| Json::Object(Default::default()))
    });
    if let Some(Json::Object(meta)) = meta {
        let unset = meta
            .get("namespace")
            .and_then(Json::as_str)
            .is_none_or(str::is_empty);
        if unset {
            meta.insert("namespace".into(), Json::String(DEFAULT_NAMESPACE.into()));
        }
    }
    json
}

fn is_overrides_configmap(json: &Json) -> bool {
    json.pointer("/metadata/name").and_then(Json::as_str) == Some(BUILTIN_OVERRIDES_CONFIGMAP)
}

fn configmap_data(json: &Json) -> Result<BTreeMap<String, String>, String> {
    let Some(data) = json.get("data") else {
        return Ok(BTreeMap::new());
    };
    BTreeMap::<String, String>::deserialize(data)
        .map_err(|err| format!("ConfigMap {BUILTIN_OVERRIDES_CONFIGMAP:?}: data: {err}"))
}

/// `path` itself, or the `.yaml`/`.yml`/`.json` files of the directory
/// `path`, in name order.
pub fn manifest_files(path: &Path) -> Result<Vec<PathBuf>, ManifestError> {
    let read_error = |source| ManifestError::Read {
        path: path.to_owned(),
        source,
    };
    if !path.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(read_error)? {
        let file = entry.map_err(read_error)?.path();
        let is_manifest = file
            .extension()
            .and_then(|ext| ext.to_str())
            .is_some_and(|ext| matches!(ext, "yaml" | "yml" | "json"));
        if is_manifest && file.is_file() {
            files.push(file);
        }
    }
    files.sort();
    Ok(files)
}

#[async_trait]
impl Catalog for ManifestsCatalog {
    async fn resolve(&self, refs: &[ConnectorRef]) -> Result<Vec<ResolvedConnector>, CatalogError> {
        refs.iter()
            .map(|connector_ref| {
                let connector = self.connectors.get(connector_ref).ok_or_else(|| {
                    CatalogError::ConnectorNotFound {
                        connector: connector_ref.clone(),
                    }
                })?;
                let class_name = &connector.spec.connector_class_name;
                let class =
                    self.classes
                        .get(class_name)
                        .ok_or_else(|| CatalogError::ClassNotFound {
                            class: class_name.clone(),
                            connector: connector_ref.clone(),
                        })?;
                Ok(ResolvedConnector {
                    connector: Arc::clone(connector),
                    class: Arc::clone(class),
                })
            })
            .collect()
    }

    async fn builtin_templates(
        &self,
    ) -> Result<Option<Arc<BTreeMap<String, String>>>, CatalogError> {
        Ok(self.builtin_overrides.clone())
    }

    fn is_ready(&self) -> bool {
        true
    }
}

/// `shared/reference/connectorclasses`: `$CONNECTORS_REFERENCE_DIR`, else
/// beside the repository (as CI lays it out), else the workplace's copy.
#[cfg(test)]
pub(crate) fn reference_dir() -> PathBuf {
    let candidates = [
        std::env::var_os("CONNECTORS_REFERENCE_DIR").map(PathBuf::from),
        Some(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/reference/connectorclasses"),
        ),
        Some(PathBuf::from("/work/shared/reference/connectorclasses")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|dir| dir.is_dir())
        .expect("reference ConnectorClasses: set CONNECTORS_REFERENCE_DIR to shared/reference/connectorclasses")
}

#[cfg(test)]
mod tests {
    use super::*;
    use gotemplate::Value;

    const MANIFESTS: &str = r#"
apiVersion: connectors.alauda.io/v1alpha1
kind: ConnectorClass
metadata:
  name: my-git
spec:
  configurations:
  - name: config
    data:
      .gitconfig: |
        this is git config
---
apiVersion: connectors.alauda.io/v1alpha1
kind: Connector
metadata:
  name: git-connector
spec:
  address: https://github.com
  connectorClassName: my-git
---
apiVersion: v1
kind: Service
metadata:
  name: ignored
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: connectors-csi-configuration-system
  namespace: connectors-system
data:
  context.token: "T={{ .context.token }}"
"#;

    fn cref(ns: &str, name: &str) -> ConnectorRef {
        ConnectorRef {
            namespace: ns.into(),
            name: name.into(),
        }
    }

    fn catalog() -> ManifestsCatalog {
        let mut catalog = ManifestsCatalog::default();
        catalog.add_text(Path::new("m.yaml"), MANIFESTS).unwrap();
        catalog
    }

    #[tokio::test]
    async fn resolves_connectors_with_their_class_in_default_namespace() {
        let catalog = catalog();
        assert_eq!(catalog.counts(), (1, 1));
        let resolved = catalog
            .resolve(&[cref("default", "git-connector")])
            .await
            .unwrap();
        assert_eq!(resolved[0].class.name(), "my-git");
        assert_eq!(resolved[0].connector.metadata.namespace, "default");
        let Value::Map(view) = resolved[0].connector.view() else {
            panic!("a connector's view is a map");
        };
        let Some(Value::Map(metadata)) = view.get("metadata") else {
            panic!("with its metadata");
        };
        assert_eq!(
            metadata.get("namespace").as_ref().and_then(Value::as_str),
            Some("default"),
            "templates see the namespace too"
        );
        assert!(catalog.is_ready());
    }

    #[tokio::test]
    async fn missing_connector_or_class_is_not_found() {
        let mut catalog = catalog();
        let err = catalog
            .resolve(&[cref("other", "git-connector")])
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "connector \"other/git-connector\" not found"
        );
        catalog
            .add_text(
                Path::new("n.yaml"),
                "kind: Connector\nmetadata: {name: orphan, namespace: a}\nspec: {connectorClassName: gone}\n",
            )
            .unwrap();
        let err = catalog.resolve(&[cref("a", "orphan")]).await.unwrap_err();
        assert!(matches!(err, CatalogError::ClassNotFound { .. }), "{err}");
    }

    #[tokio::test]
    async fn the_overrides_configmap_supplies_builtin_templates() {
        let overrides = catalog().builtin_templates().await.unwrap().unwrap();
        assert_eq!(overrides["context.token"], "T={{ .context.token }}");
        let none = ManifestsCatalog::default()
            .builtin_templates()
            .await
            .unwrap();
        assert!(none.is_none());
    }

    #[test]
    fn bad_yaml_names_the_file_and_document() {
        let err = ManifestsCatalog::default()
            .add_text(
                Path::new("broken.yaml"),
                "kind: Service\n---\nkind: [unclosed\n",
            )
            .unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("broken.yaml: document 2: "),
            "{message}"
        );
    }

    #[test]
    fn non_kubernetes_yaml_and_empty_documents_are_skipped() {
        let mut catalog = ManifestsCatalog::default();
        catalog
            .add_text(Path::new("attrs.yaml"), "connector.name: git\n---\n---\n")
            .unwrap();
        assert_eq!(catalog.counts(), (0, 0));
    }

    #[test]
    fn a_class_without_a_name_is_an_error_naming_the_file() {
        let path = reference_dir().join("tech-design--unnamed.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        let err = ManifestsCatalog::default()
            .add_text(Path::new("tech-design--unnamed.yaml"), &text)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "tech-design--unnamed.yaml: document 1: ConnectorClass has no metadata.name"
        );
    }

    #[test]
    fn load_reads_files_and_directories_and_names_missing_paths() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), MANIFESTS).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "kind: [").unwrap();
        let catalog = ManifestsCatalog::load(&[dir.path().to_owned()]).unwrap();
        assert_eq!(catalog.counts(), (1, 1));
        let missing = dir.path().join("missing.yaml");
        let err = ManifestsCatalog::load(std::slice::from_ref(&missing)).unwrap_err();
        assert!(
            err.to_string().starts_with(&*missing.to_string_lossy()),
            "{err}"
        );
    }

    #[test]
    fn a_list_of_objects_is_read_item_by_item() {
        let mut catalog = ManifestsCatalog::default();
        catalog
            .add_text(
                Path::new("list.yaml"),
                "kind: List\nitems:\n- kind: ConnectorClass\n  metadata: {name: a}\n",
            )
            .unwrap();
        assert_eq!(catalog.counts(), (0, 1));
    }
}
