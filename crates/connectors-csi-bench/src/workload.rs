//! What the load generator publishes: manifests (ConnectorClasses with one
//! Connector each), the volume attributes that use them, and generated large
//! catalogs for the memory figures.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::{json, Value as Json};

/// The upstream git and nexus classes, the default workload.
const DEFAULT_CLASSES: [(&str, &str); 2] = [
    ("git.yaml", include_str!("classes/git.yaml")),
    ("nexus.yaml", include_str!("classes/nexus.yaml")),
];

const NAMESPACE: &str = "bench";
const PROXY_URL: &str = "http://connectors-proxy-service.connectors-system.svc.cluster.local";

/// A catalog on disk and the volume attributes a pod would use with it.
pub struct Workload {
    pub manifests: PathBuf,
    /// Volume attributes without the pod keys (they vary per volume).
    pub attributes: BTreeMap<String, String>,
}

/// Writes the classes (the given files, or the default git + nexus), one
/// Connector per class, and attributes that include every configuration of
/// every class, with a value for each required param.
pub fn prepare(dir: &Path, class_files: &[PathBuf]) -> anyhow::Result<Workload> {
    let manifests = dir.join("manifests");
    fs::create_dir_all(&manifests)?;
    let classes = load_classes(class_files)?;
    let mut connectors = Vec::new();
    for (index, (source, class)) in classes.iter().enumerate() {
        let class_name = class["metadata"]["name"]
            .as_str()
            .context("a ConnectorClass without metadata.name")?;
        fs::write(manifests.join(format!("class-{index}.yaml")), source)?;
        let connector = format!("bench-{class_name}");
        fs::write(
            manifests.join(format!("connector-{index}.yaml")),
            serde_json::to_string(&connector_manifest(&connector, class_name))?,
        )?;
        connectors.push(format!("{NAMESPACE}/{connector}"));
    }
    let classes: Vec<&Json> = classes.iter().map(|(_, class)| class).collect();
    Ok(Workload {
        manifests,
        attributes: attributes_for(&connectors, &classes),
    })
}

/// Attributes of a volume of `connectors` (`namespace/name`) that includes
/// every configuration of `classes`, with a value for each required param.
pub fn attributes_for(connectors: &[String], classes: &[&Json]) -> BTreeMap<String, String> {
    let mut configurations = Vec::new();
    let mut params = serde_json::Map::new();
    for class in classes {
        collect_configurations(class, &mut configurations, &mut params);
    }
    let mut attributes = BTreeMap::new();
    attributes.insert("connectors".to_string(), connectors.join(","));
    attributes.insert("configuration.names".to_string(), configurations.join(","));
    if !params.is_empty() {
        attributes.insert(
            "configuration.params".to_string(),
            Json::Object(params).to_string(),
        );
    }
    attributes
}

/// The given ConnectorClass files (or the default git and nexus), as text
/// and as JSON.
pub fn load_classes(class_files: &[PathBuf]) -> anyhow::Result<Vec<(String, Json)>> {
    let sources: Vec<String> = if class_files.is_empty() {
        DEFAULT_CLASSES.iter().map(|(_, s)| s.to_string()).collect()
    } else {
        class_files
            .iter()
            .map(|path| {
                fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
            })
            .collect::<Result<_, _>>()?
    };
    sources
        .into_iter()
        .map(|source| {
            let class: Json =
                serde_yaml_ng::from_str(&source).context("parsing a ConnectorClass")?;
            Ok((source, class))
        })
        .collect()
}

/// Adds each configuration name once, and "bench" for every param without a
/// default (the template gets a value; which one doesn't matter for timing).
fn collect_configurations(
    class: &Json,
    names: &mut Vec<String>,
    params: &mut serde_json::Map<String, Json>,
) {
    let empty = Vec::new();
    let configurations = class["spec"]["configurations"].as_array().unwrap_or(&empty);
    for configuration in configurations {
        let Some(name) = configuration["name"].as_str() else {
            continue;
        };
        if !names.iter().any(|known| known == name) {
            names.push(name.to_string());
        }
        for param in configuration["params"].as_array().unwrap_or(&empty) {
            if param.get("default").is_none() {
                if let Some(param_name) = param["name"].as_str() {
                    let entry = params.entry(name.to_string()).or_insert_with(|| json!({}));
                    entry[param_name] = json!("bench");
                }
            }
        }
    }
}

fn connector_manifest(name: &str, class: &str) -> Json {
    json!({
        "apiVersion": "connectors.alauda.io/v1alpha1",
        "kind": "Connector",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"connectorClassName": class, "address": "https://nexus.example.com"},
        "status": {"proxy": {"httpAddress": {"url": format!("http://c-{name}.{NAMESPACE}.svc")}}}
    })
}

/// A catalog of `classes` copies of the first given class (renamed) and
/// `connectors` Connectors spread over them, for the memory figure.
pub fn prepare_large_catalog(
    dir: &Path,
    class_files: &[PathBuf],
    classes: usize,
    connectors: usize,
) -> anyhow::Result<PathBuf> {
    let manifests = dir.join("large-catalog");
    fs::create_dir_all(&manifests)?;
    let (_, template) = load_classes(class_files)?
        .into_iter()
        .last()
        .context("no ConnectorClass to copy")?;
    let mut documents = String::new();
    for index in 0..classes {
        let mut class = template.clone();
        class["metadata"]["name"] = json!(format!("class-{index}"));
        class["status"] = json!({"proxy": {"httpAddress": {"url": PROXY_URL}}});
        push_document(&mut documents, &class)?;
    }
    fs::write(manifests.join("classes.yaml"), &documents)?;
    documents.clear();
    for index in 0..connectors {
        let class = format!("class-{}", index % classes.max(1));
        push_document(
            &mut documents,
            &connector_manifest(&format!("connector-{index}"), &class),
        )?;
    }
    fs::write(manifests.join("connectors.yaml"), &documents)?;
    Ok(manifests)
}

fn push_document(out: &mut String, manifest: &Json) -> anyhow::Result<()> {
    out.push_str("---\n");
    out.push_str(&serde_yaml_ng::to_string(manifest)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_workload_uses_every_configuration_and_fills_required_params() {
        let dir = tempfile::tempdir().unwrap();
        let workload = prepare(dir.path(), &[]).unwrap();
        assert_eq!(
            workload.attributes["connectors"],
            "bench/bench-git,bench/bench-nexus"
        );
        assert_eq!(
            workload.attributes["configuration.names"],
            "gitconfig,settings,npmrc,yarnrc,pipconf,pypirc"
        );
        let params: Json =
            serde_json::from_str(&workload.attributes["configuration.params"]).unwrap();
        assert_eq!(params["npmrc"]["registry"], "bench");
        assert_eq!(params["pipconf"]["repository"], "bench");
        assert!(
            params.get("settings").is_none(),
            "mirrorRepository has a default"
        );
        assert_eq!(fs::read_dir(&workload.manifests).unwrap().count(), 4);
    }

    #[test]
    fn a_large_catalog_has_the_requested_number_of_objects() {
        let dir = tempfile::tempdir().unwrap();
        let manifests = prepare_large_catalog(dir.path(), &[], 3, 10).unwrap();
        let connectors = fs::read_to_string(manifests.join("connectors.yaml")).unwrap();
        assert_eq!(connectors.matches("kind: Connector\n").count(), 10);
        let classes = fs::read_to_string(manifests.join("classes.yaml")).unwrap();
        assert_eq!(classes.matches("kind: ConnectorClass").count(), 3);
        assert!(classes.contains("name: class-2"));
    }
}
