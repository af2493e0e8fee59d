//! Connector and ConnectorClass, typed as their CRDs (connectors.alauda.io/v1alpha1).
//!
//! Templates see every field of an object, while the driver reads only the
//! typed fields below. So each object is kept once as what templates see
//! (its [`view`](Object::view), built when the object is read and shared by
//! every volume that renders it) beside the few typed fields, not as a
//! typed model, its JSON and a per-render template value side by side.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use gotemplate::Value;
use serde::{Deserialize, Deserializer};
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
/// the whole object as templates see it.
#[derive(Clone, Debug)]
pub struct Object<S> {
    pub metadata: Metadata,
    pub spec: S,
    /// `status.proxy.httpAddress.url`: a connector's (reverse) proxy, a
    /// class's (forward) proxy.
    pub proxy_address: Option<String>,
    /// `.connector` / `.connectorclass` of the template data.
    view: Value,
    /// A digest of the object's content, the API server's bookkeeping
    /// aside: equal for a bare resourceVersion bump.
    content: u64,
}

/// One Connector: an integration instance (namespaced).
pub type Connector = Object<ConnectorSpec>;
/// One ConnectorClass: a kind of tool (cluster-scoped).
pub type ConnectorClass = Object<ConnectorClassSpec>;

/// The typed spec of a kind, the kind's name, and what its templates see.
pub trait Spec: serde::de::DeserializeOwned + Default {
    const KIND: &'static str;

    /// The object's JSON with the kind's `proxyAddress` added (`""` when
    /// there is no proxy).
    fn template_view(raw: Json, proxy_address: Option<&str>) -> Json;

    /// What is known of the spec once it is read, worked out once.
    fn derive_facts(&mut self) {}
}

impl Spec for ConnectorSpec {
    const KIND: &'static str = "Connector";

    /// `status.proxyAddress`.
    fn template_view(mut raw: Json, proxy_address: Option<&str>) -> Json {
        let address = Json::String(proxy_address.unwrap_or_default().to_owned());
        if let Some(object) = raw.as_object_mut() {
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
        raw
    }
}

impl Spec for ConnectorClassSpec {
    const KIND: &'static str = "ConnectorClass";

    fn derive_facts(&mut self) {
        for configuration in &mut self.configurations {
            configuration.may_change_maps = configuration
                .data
                .values()
                .any(|t| sprig::may_change_maps(t));
        }
    }

    /// `proxyAddress` at the top level.
    fn template_view(mut raw: Json, proxy_address: Option<&str>) -> Json {
        let address = Json::String(proxy_address.unwrap_or_default().to_owned());
        if let Some(object) = raw.as_object_mut() {
            object.insert("proxyAddress".into(), address);
        }
        raw
    }
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
    /// Whether a template of `data` may change a map in place (then its
    /// renders work on copies of the shared views); known once the class
    /// is read.
    #[serde(skip)]
    pub may_change_maps: bool,
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
        let mut shape: ObjectShape<S> =
            ObjectShape::deserialize(&raw).map_err(|source| ModelError::Shape {
                kind: S::KIND,
                name: object_name(&raw),
                source,
            })?;
        if shape.metadata.name.is_empty() {
            return Err(ModelError::MissingName { kind: S::KIND });
        }
        shape.spec.derive_facts();
        let proxy_address = proxy_url(&raw);
        let content = content_digest(&raw);
        let view = Value::from(S::template_view(raw, proxy_address.as_deref()));
        Ok(Object {
            metadata: shape.metadata,
            spec: shape.spec,
            proxy_address,
            view,
            content,
        })
    }

    /// The object as templates see it: every field as read, plus the
    /// kind's `proxyAddress`. Shared: a render that may change maps in
    /// place works on a copy.
    pub fn view(&self) -> &Value {
        &self.view
    }

    /// Whether the two say the same (labels, spec, status...), whatever
    /// their resourceVersion and managedFields.
    pub fn same_content(&self, other: &Object<S>) -> bool {
        self.content == other.content
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
}

impl ConnectorClass {
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// The configuration called `name`, if the class declares it.
    pub fn configuration(&self, name: &str) -> Option<&Configuration> {
        self.spec.configurations.iter().find(|c| c.name == name)
    }
}

/// Metadata fields that change without the object meaning anything new.
const BOOKKEEPING: [&str; 2] = ["resourceVersion", "managedFields"];

/// A digest of `raw` without its [`BOOKKEEPING`] metadata. JSON objects
/// iterate in key order, so equal content gives equal digests.
fn content_digest(raw: &Json) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    match raw {
        Json::Object(fields) => {
            for (key, value) in fields {
                key.hash(&mut hasher);
                match (key.as_str(), value) {
                    ("metadata", Json::Object(meta)) => meta
                        .iter()
                        .filter(|(key, _)| !BOOKKEEPING.contains(&key.as_str()))
                        .for_each(|(key, value)| {
                            key.hash(&mut hasher);
                            hash_json(value, &mut hasher);
                        }),
                    _ => hash_json(value, &mut hasher),
                }
            }
        }
        other => hash_json(other, &mut hasher),
    }
    hasher.finish()
}

fn hash_json(json: &Json, hasher: &mut impl Hasher) {
    match json {
        Json::Null => 0u8.hash(hasher),
        Json::Bool(b) => (1u8, b).hash(hasher),
        Json::Number(n) => (2u8, n.to_string()).hash(hasher),
        Json::String(s) => (3u8, s).hash(hasher),
        Json::Array(items) => {
            (4u8, items.len()).hash(hasher);
            items.iter().for_each(|item| hash_json(item, hasher));
        }
        Json::Object(entries) => {
            (5u8, entries.len()).hash(hasher);
            for (key, value) in entries {
                key.hash(hasher);
                hash_json(value, hasher);
            }
        }
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

    /// The text at `path` of a template view.
    fn text_at(view: &Value, path: &[&str]) -> Option<String> {
        let mut value = view.clone();
        for key in path {
            value = match value {
                Value::Map(map) => map.get(key)?,
                _ => return None,
            };
        }
        value.as_str().map(str::to_owned)
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
        let auth = text_at(connector.view(), &["spec", "auth", "name"]);
        assert_eq!(auth.as_deref(), Some("basicAuth"));
    }

    #[test]
    fn connector_view_adds_status_proxy_address() {
        let connector = Connector::from_json(git_connector()).unwrap();
        let view = connector.view();
        let proxy = text_at(view, &["status", "proxyAddress"]);
        assert_eq!(proxy.as_deref(), Some("http://proxy.local"));
        assert_eq!(
            text_at(view, &["metadata", "labels", "a"]).as_deref(),
            Some("b")
        );
    }

    #[test]
    fn connector_without_status_gets_an_empty_proxy_address() {
        let mut raw = git_connector();
        raw.as_object_mut().unwrap().remove("status");
        let connector = Connector::from_json(raw).unwrap();
        let proxy = text_at(connector.view(), &["status", "proxyAddress"]);
        assert_eq!(proxy.as_deref(), Some(""));
    }

    #[test]
    fn a_resource_version_bump_alone_is_the_same_content() {
        let mut raw = git_connector();
        raw["metadata"]["resourceVersion"] = json!("7");
        let first = Connector::from_json(raw.clone()).unwrap();
        raw["metadata"]["resourceVersion"] = json!("8");
        raw["metadata"]["managedFields"] = json!([{"manager": "kubectl"}]);
        let bumped = Connector::from_json(raw.clone()).unwrap();
        assert!(first.same_content(&bumped));
        raw["spec"]["address"] = json!("https://moved.example.com");
        let moved = Connector::from_json(raw.clone()).unwrap();
        assert!(!first.same_content(&moved));
        raw["spec"]["address"] = json!("https://github.com");
        raw["metadata"]["labels"] = json!({"a": "c"});
        let relabelled = Connector::from_json(raw).unwrap();
        assert!(
            !first.same_content(&relabelled),
            "a label change is a change"
        );
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
        let proxy = text_at(class.view(), &["proxyAddress"]);
        assert_eq!(proxy.as_deref(), Some("http://fwd:80"));
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
