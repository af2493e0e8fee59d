//! Connector and ConnectorClass, typed as their CRDs (connectors.alauda.io/v1alpha1).
//!
//! Each object keeps the full JSON it was read from: templates see every field
//! of it, while the driver reads only the typed fields below.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value as Json;

use crate::volume::ConnectorRef;

// Literals, so that `apiVersion` can be spelled from the same two words.
macro_rules! api_group {
    () => {
        "connectors.alauda.io"
    };
}
macro_rules! api_group_version {
    () => {
        "v1alpha1"
    };
}

/// API group of both kinds.
pub(crate) const API_GROUP: &str = api_group!();
/// Their version within the group.
pub(crate) const VERSION: &str = api_group_version!();
/// `apiVersion` of both kinds.
pub const API_VERSION: &str = concat!(api_group!(), "/", api_group_version!());

/// Why a JSON object is not a usable Connector or ConnectorClass.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{kind} has no metadata.name")]
    MissingName { kind: &'static str },
    #[error("{kind} {name:?}: {source}")]
    Shape {
        kind: &'static str,
        name: String,
        #[source]
        source: serde_json::Error,
    },
}

/// The metadata fields the driver reads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Metadata {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub resource_version: String,
    pub generation: i64,
}

/// `spec.params[]` of a Connector.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ConnectorParam {
    pub name: String,
    #[serde(default)]
    pub value: Json,
}

/// The typed part of a Connector's spec.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConnectorSpec {
    pub connector_class_name: String,
    pub address: String,
    pub params: Vec<ConnectorParam>,
}

/// A Connector or a ConnectorClass: the typed fields the driver reads, and
/// the whole object as it was read.
#[derive(Clone, Debug, PartialEq)]
pub struct Object<S> {
    pub metadata: Metadata,
    pub spec: S,
    /// `status.proxy.httpAddress.url`: a connector's (reverse) proxy, a
    /// class's (forward) proxy.
    pub proxy_address: Option<String>,
    raw: Json,
}

/// One Connector: an integration instance (namespaced).
pub type Connector = Object<ConnectorSpec>;
/// One ConnectorClass: a kind of tool (cluster-scoped).
pub type ConnectorClass = Object<ConnectorClassSpec>;

/// The typed spec of a kind, and the kind's name.
pub trait Spec: serde::de::DeserializeOwned + Default {
    const KIND: &'static str;
}

impl Spec for ConnectorSpec {
    const KIND: &'static str = "Connector";
}

impl Spec for ConnectorClassSpec {
    const KIND: &'static str = "ConnectorClass";
}

/// Type of a configuration param (`string` when unset, as the CRD says).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ParamType {
    #[default]
    String,
    Array,
    Object,
}

impl ParamType {
    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Array => "array",
            ParamType::Object => "object",
        }
    }

    /// Whether a JSON value has this type.
    pub(crate) fn admits(self, value: &Json) -> bool {
        matches!(
            (self, value),
            (ParamType::String, Json::String(_))
                | (ParamType::Array, Json::Array(_))
                | (ParamType::Object, Json::Object(_))
        )
    }
}

/// `spec.configurations[].params[]` of a ConnectorClass.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ParamSpec {
    pub name: String,
    #[serde(rename = "type", deserialize_with = "param_type_or_default")]
    pub param_type: ParamType,
    /// `None`: the param is required.
    #[serde(deserialize_with = "present_json")]
    pub default: Option<Json>,
    #[serde(rename = "enum")]
    pub allowed: Vec<String>,
    pub description: String,
}

/// `spec.configurations[]` of a ConnectorClass.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Configuration {
    pub name: String,
    /// File name → Go template.
    pub data: BTreeMap<String, String>,
    pub params: Vec<ParamSpec>,
}

/// The typed part of a ConnectorClass's spec.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ConnectorClassSpec {
    pub configurations: Vec<Configuration>,
}

#[derive(Deserialize)]
struct ObjectShape<S> {
    #[serde(default)]
    metadata: Metadata,
    #[serde(default)]
    spec: S,
}

impl<S: Spec> Object<S> {
    pub(crate) const KIND: &'static str = S::KIND;

    /// Reads an object from its JSON (as the API server returns it).
    pub fn from_json(raw: Json) -> Result<Object<S>, ModelError> {
        let shape: ObjectShape<S> =
            ObjectShape::deserialize(&raw).map_err(|source| ModelError::Shape {
                kind: S::KIND,
                name: object_name(&raw),
                source,
            })?;
        if shape.metadata.name.is_empty() {
            return Err(ModelError::MissingName { kind: S::KIND });
        }
        Ok(Object {
            metadata: shape.metadata,
            spec: shape.spec,
            proxy_address: proxy_url(&raw),
            raw,
        })
    }

    /// The object exactly as it was read.
    pub fn raw(&self) -> &Json {
        &self.raw
    }
}

impl Connector {
    /// How a volume names this connector.
    pub fn reference(&self) -> ConnectorRef {
        ConnectorRef {
            namespace: self.metadata.namespace.clone(),
            name: self.metadata.name.clone(),
        }
    }

    /// Places a connector read without a namespace into `namespace`, as
    /// `kubectl apply` would (manifests mode).
    pub(crate) fn with_default_namespace(mut self, namespace: &str) -> Connector {
        if self.metadata.namespace.is_empty() {
            self.metadata.namespace = namespace.to_owned();
            if let Some(meta) = self.raw.get_mut("metadata").and_then(Json::as_object_mut) {
                meta.insert("namespace".into(), Json::String(namespace.to_owned()));
            }
        }
        self
    }

    /// `.connector` of the template data: the object with
    /// `status.proxyAddress` added (`""` when the connector has no proxy).
    pub(crate) fn template_json(&self) -> Json {
        let mut json = self.raw.clone();
        let address = Json::String(self.proxy_address.clone().unwrap_or_default());
        if let Some(object) = json.as_object_mut() {
            let status = object
                .entry("status")
                .or_insert_with(|| Json::Object(Default::default()));
            if !status.is_object() {
                *status = Json::Object(Default::default());
            }
            if let Some(status) = status.as_object_mut() {
                status.insert("proxyAddress".into(), address);
            }
        }
        json
    }
}

impl ConnectorClass {
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// The configuration called `name`, if the class declares it.
    pub fn configuration(&self, name: &str) -> Option<&Configuration> {
        self.spec.configurations.iter().find(|c| c.name == name)
    }

    /// `.connectorclass` of the template data: the object with
    /// `proxyAddress` added at the top level (`""` when unset).
    pub(crate) fn template_json(&self) -> Json {
        let mut json = self.raw.clone();
        let address = Json::String(self.proxy_address.clone().unwrap_or_default());
        if let Some(object) = json.as_object_mut() {
            object.insert("proxyAddress".into(), address);
        }
        json
    }
}

fn object_name(raw: &Json) -> String {
    raw.pointer("/metadata/name")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn proxy_url(raw: &Json) -> Option<String> {
    raw.pointer("/status/proxy/httpAddress/url")
        .and_then(Json::as_str)
        .filter(|url| !url.is_empty())
        .map(str::to_owned)
}

/// Any `default:` key, even `default: ""`, makes the param optional; only an
/// absent key (the struct default, `None`) makes it required.
fn present_json<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Json>, D::Error> {
    Json::deserialize(deserializer).map(Some)
}

/// `type: ""` means string, as in the CRD.
fn param_type_or_default<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<ParamType, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?.unwrap_or_default();
    match text.as_str() {
        "" | "string" => Ok(ParamType::String),
        "array" => Ok(ParamType::Array),
        "object" => Ok(ParamType::Object),
        other => Err(serde::de::Error::custom(format!(
            "unknown param type {other:?} (string, array or object)"
        ))),
    }
}

impl<'de, S: Spec> Deserialize<'de> for Object<S> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Json::deserialize(deserializer)?;
        Object::from_json(raw).map_err(serde::de::Error::custom)
    }
}

impl<S> Serialize for Object<S> {
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        self.raw.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn git_connector() -> Json {
        json!({
            "apiVersion": API_VERSION, "kind": "Connector",
            "metadata": {"name": "git-connector", "namespace": "default", "labels": {"a": "b"}},
            "spec": {"connectorClassName": "git", "address": "https://github.com",
                     "params": [{"name": "sslVerify", "value": "false"}],
                     "auth": {"name": "basicAuth"}},
            "status": {"proxy": {"httpAddress": {"url": "http://proxy.local"}}}
        })
    }

    #[test]
    fn connector_reads_typed_fields_and_keeps_the_whole_object() {
        let connector = Connector::from_json(git_connector()).unwrap();
        assert_eq!(connector.reference().to_string(), "default/git-connector");
        assert_eq!(connector.spec.connector_class_name, "git");
        assert_eq!(connector.spec.params[0].value, json!("false"));
        assert_eq!(
            connector.proxy_address.as_deref(),
            Some("http://proxy.local")
        );
        assert_eq!(connector.raw()["spec"]["auth"]["name"], json!("basicAuth"));
    }

    #[test]
    fn connector_template_json_adds_status_proxy_address() {
        let connector = Connector::from_json(git_connector()).unwrap();
        let data = connector.template_json();
        assert_eq!(data["status"]["proxyAddress"], json!("http://proxy.local"));
        assert_eq!(data["metadata"]["labels"]["a"], json!("b"));
    }

    #[test]
    fn connector_without_status_gets_an_empty_proxy_address() {
        let mut raw = git_connector();
        raw.as_object_mut().unwrap().remove("status");
        let data = Connector::from_json(raw).unwrap().template_json();
        assert_eq!(data["status"]["proxyAddress"], json!(""));
    }

    #[test]
    fn connector_without_namespace_takes_the_default_one_in_json_too() {
        let mut raw = git_connector();
        raw["metadata"].as_object_mut().unwrap().remove("namespace");
        let connector = Connector::from_json(raw)
            .unwrap()
            .with_default_namespace("team-a");
        assert_eq!(connector.metadata.namespace, "team-a");
        assert_eq!(connector.raw()["metadata"]["namespace"], json!("team-a"));
    }

    #[test]
    fn object_without_a_name_is_rejected() {
        let err =
            ConnectorClass::from_json(json!({"kind": "ConnectorClass", "spec": {}})).unwrap_err();
        assert_eq!(err.to_string(), "ConnectorClass has no metadata.name");
    }

    #[test]
    fn class_params_default_marks_optional_and_type_defaults_to_string() {
        let class = ConnectorClass::from_json(json!({
            "metadata": {"name": "nexus"},
            "spec": {"configurations": [{"name": "npmrc", "data": {".npmrc": "x"}, "params": [
                {"name": "registry"},
                {"name": "strictSSL", "type": "string", "default": "true", "enum": ["true", "false"]},
                {"name": "list", "type": "array", "default": []}
            ]}]},
            "status": {"proxy": {"httpAddress": {"url": "http://fwd:80"}}}
        }))
        .unwrap();
        let params = &class.configuration("npmrc").unwrap().params;
        assert_eq!(params[0].default, None);
        assert_eq!(params[0].param_type, ParamType::String);
        assert_eq!(params[1].default, Some(json!("true")));
        assert_eq!(params[1].allowed, vec!["true", "false"]);
        assert_eq!(params[2].param_type, ParamType::Array);
        assert_eq!(
            class.template_json()["proxyAddress"],
            json!("http://fwd:80")
        );
    }

    #[test]
    fn class_with_an_unknown_param_type_names_it() {
        let err = ConnectorClass::from_json(json!({
            "metadata": {"name": "c"},
            "spec": {"configurations": [{"name": "x", "params": [{"name": "p", "type": "number"}]}]}
        }))
        .unwrap_err();
        assert!(
            err.to_string().contains("unknown param type \"number\""),
            "{err}"
        );
    }

    #[test]
    fn param_type_admits_only_its_json_kind() {
        assert!(ParamType::String.admits(&json!("a")));
        assert!(!ParamType::String.admits(&json!(1)));
        assert!(ParamType::Array.admits(&json!(["a"])));
        assert!(ParamType::Object.admits(&json!({"a": 1})));
        assert!(!ParamType::Object.admits(&json!(["a"])));
    }
}
