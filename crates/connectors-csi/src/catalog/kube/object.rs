//! The custom objects as the API server sends them, and how each kind
//! becomes a cache entry under its key.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope};
use kube::api::ObjectMeta;
use kube::Resource;
use serde::{Deserialize, Deserializer};
use serde_json::Value as Json;

use super::store::Entry;
use crate::model::{Connector, ConnectorClass, API_GROUP, API_VERSION, VERSION};
use crate::volume::ConnectorRef;

/// What differs between the two custom kinds, for [`RawObject`].
pub(super) trait CustomKind {
    const KIND: &'static str;
    const PLURAL: &'static str;
    type Scope;
}

pub(super) struct ConnectorKind;
impl CustomKind for ConnectorKind {
    const KIND: &'static str = Connector::KIND;
    const PLURAL: &'static str = "connectors";
    type Scope = NamespaceResourceScope;
}

pub(super) struct ClassKind;
impl CustomKind for ClassKind {
    const KIND: &'static str = ConnectorClass::KIND;
    const PLURAL: &'static str = "connectorclasses";
    type Scope = ClusterResourceScope;
}

/// A custom object exactly as the API server sent it: templates see every
/// field, so it is kept as JSON, with the metadata parsed beside it for the
/// watcher's bookkeeping (names, resource versions).
pub(super) struct RawObject<K> {
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
        API_GROUP.into()
    }

    fn version(_: &()) -> std::borrow::Cow<'_, str> {
        VERSION.into()
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

pub(super) fn connector_entry(
    object: RawObject<ConnectorKind>,
) -> Option<(ConnectorRef, Entry<Connector>)> {
    let key = ConnectorRef {
        namespace: object.meta.namespace.clone().unwrap_or_default(),
        name: object.meta.name.clone()?,
    };
    let connector = Connector::from_json(object.raw)
        .map(Arc::new)
        .map_err(|err| err.to_string());
    Some((key, connector))
}

pub(super) fn class_entry(object: RawObject<ClassKind>) -> Option<(String, Entry<ConnectorClass>)> {
    let key = object.meta.name.clone()?;
    let class = ConnectorClass::from_json(object.raw)
        .map(Arc::new)
        .map_err(|err| err.to_string());
    Some((key, class))
}

pub(super) fn configmap_entry(map: ConfigMap) -> Option<(String, Entry<BTreeMap<String, String>>)> {
    let key = map.metadata.name?;
    Some((key, Ok(Arc::new(map.data.unwrap_or_default()))))
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
        assert_eq!(
            key,
            ConnectorRef {
                namespace: "default".into(),
                name: "git".into()
            }
        );
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
    fn the_custom_kinds_use_the_connectors_api_group() {
        assert_eq!(RawObject::<ClassKind>::group(&()), "connectors.alauda.io");
        assert_eq!(RawObject::<ClassKind>::version(&()), "v1alpha1");
        assert_eq!(RawObject::<ClassKind>::plural(&()), "connectorclasses");
        assert_eq!(RawObject::<ConnectorKind>::kind(&()), "Connector");
    }
}
