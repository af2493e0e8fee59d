//! The data a template sees, built as engine values.
//!
//! `.connector`, `.connectors` and `.connectorclass` are the objects'
//! [views](crate::model::Object::view), built once when an object is read
//! and shared by every volume that renders it; only `.context` (the token)
//! and `.configurations` are built per volume. Go maps are references and
//! sprig's `set`, `unset` and `merge*` change them in place, so a volume
//! whose templates may call those renders over a private copy instead: no
//! render ever sees what another one wrote.

use std::collections::BTreeMap;
use std::sync::Arc;

use gotemplate::{List, Map, Value};
use serde_json::{Map as JsonMap, Value as Json};

use crate::catalog::ResolvedConnector;
use crate::model::ConnectorClass;
use crate::tokens::Token;

/// Template data of one volume.
pub(crate) struct VolumeData {
    connectors: Vec<Value>,
    connector_list: Value,
    context: Value,
    /// The templates may change maps in place: objects are copied.
    private: bool,
}

impl VolumeData {
    /// `private`: a template the volume renders may change maps in place.
    pub(crate) fn new(
        connectors: &[ResolvedConnector],
        token: &Token,
        ca_cert: &str,
        private: bool,
    ) -> VolumeData {
        let connectors: Vec<Value> = connectors
            .iter()
            .map(|resolved| shared_or_copy(resolved.connector.view(), private))
            .collect();
        let connector_list = Value::list(connectors.clone());
        let proxy = entries([("caCert", Value::str(ca_cert))]);
        let context = entries([("token", Value::str(token.secret())), ("proxy", proxy)]);
        VolumeData {
            connectors,
            connector_list,
            context,
            private,
        }
    }

    /// `.connectorclass` for a class.
    pub(crate) fn class(&self, class: &ConnectorClass) -> Value {
        shared_or_copy(class.view(), self.private)
    }

    /// The data for a file of `class`, with `.connector` = the volume's
    /// connector at `connector_index`.
    pub(crate) fn for_file(
        &self,
        connector_index: usize,
        class: &Value,
        configurations: Value,
    ) -> Value {
        let connector = self
            .connectors
            .get(connector_index)
            .cloned()
            .unwrap_or_default();
        entries([
            ("connector", connector),
            ("connectors", self.connector_list.clone()),
            ("connectorclass", class.clone()),
            ("context", self.context.clone()),
            ("configurations", configurations),
        ])
    }
}

/// `.configurations` from resolved param values.
pub(crate) fn configurations_value(params: JsonMap<String, Json>) -> Value {
    Value::from(Json::Object(params))
}

fn shared_or_copy(view: &Value, private: bool) -> Value {
    if private {
        deep_copy(view)
    } else {
        view.clone()
    }
}

/// A copy sharing no map with `value` (strings, being immutable, are
/// shared). The views come from JSON, which holds no cycles.
fn deep_copy(value: &Value) -> Value {
    match value {
        Value::Map(map) => Value::Map(Arc::new(Map::new(
            map.elem,
            map.snapshot()
                .into_iter()
                .map(|(key, value)| (key, deep_copy(&value)))
                .collect(),
        ))),
        Value::List(list) => Value::List(Arc::new(List {
            elem: list.elem,
            items: list.items.iter().map(deep_copy).collect(),
        })),
        other => other.clone(),
    }
}

fn entries<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::map(
        pairs
            .into_iter()
            .map(|(key, value)| (Arc::from(key), value))
            .collect::<BTreeMap<_, _>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::tests::{class, connector, plan_with, resolved, text, TOKEN};
    use crate::render::Renderer;
    use crate::volume::attr;

    fn same_map(a: &Value, b: &Value) -> bool {
        matches!((a, b), (Value::Map(a), Value::Map(b)) if Arc::ptr_eq(a, b))
    }

    #[test]
    fn volumes_of_one_connector_share_its_view() {
        let git = class("git", None, serde_json::json!([]));
        let volume = [resolved(&connector("default", "git", "git", None), &git)];
        let token = Token::new(TOKEN, None);
        let first = VolumeData::new(&volume, &token, "", false);
        let second = VolumeData::new(&volume, &token, "", false);
        assert!(same_map(&first.connectors[0], &second.connectors[0]));
        assert!(same_map(&first.class(&git), &second.class(&git)));

        let changing = VolumeData::new(&volume, &token, "", true);
        assert!(!same_map(&first.connectors[0], &changing.connectors[0]));
        assert!(!same_map(&first.class(&git), &changing.class(&git)));
    }

    #[test]
    fn a_template_that_changes_a_map_never_changes_another_volumes_data() {
        let source = "{{ if hasKey .connector \"seen\" }}shared{{ else }}fresh{{ end }}\
                      {{ $_ := set .connector \"seen\" true }}";
        let git = class(
            "git",
            None,
            serde_json::json!([{"name": "c", "data": {"f": source}}]),
        );
        let volume = [resolved(&connector("default", "git", "git", None), &git)];
        let renderer = Renderer::default();
        for _ in 0..2 {
            let plan = plan_with(
                &renderer,
                &volume,
                &[(attr::CONFIGURATION_NAMES, "c")],
                None,
            );
            assert_eq!(text(&plan.unwrap(), "f"), "fresh");
        }
    }

    #[test]
    fn a_deep_copy_shares_no_map() {
        let view = Value::from(serde_json::json!({"spec": {"a": [{"b": 1}]}}));
        let copy = deep_copy(&view);
        let (Value::Map(original), Value::Map(copied)) = (&view, &copy) else {
            panic!("maps");
        };
        let Some(Value::Map(spec)) = copied.get("spec") else {
            panic!("spec");
        };
        spec.insert(Arc::from("changed"), Value::Bool(true));
        let Some(Value::Map(original_spec)) = original.get("spec") else {
            panic!("spec");
        };
        assert!(!original_spec.contains_key("changed"));
    }
}
