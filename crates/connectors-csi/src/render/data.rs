//! The data a template sees, built as engine values.
//!
//! The parts shared by every file of a volume (`.connectors`, `.context`)
//! are converted once; each file only swaps `.connector`, `.connectorclass`
//! and `.configurations`.

use std::collections::BTreeMap;
use std::sync::Arc;

use gotemplate::Value;
use serde_json::{Map, Value as Json};

use crate::catalog::ResolvedConnector;
use crate::model::ConnectorClass;
use crate::tokens::Token;

/// Template data of one volume.
pub(crate) struct VolumeData {
    connectors: Vec<Value>,
    connector_list: Value,
    context: Value,
}

impl VolumeData {
    pub(crate) fn new(
        connectors: &[ResolvedConnector],
        token: &Token,
        ca_cert: &str,
    ) -> VolumeData {
        let connectors: Vec<Value> = connectors
            .iter()
            .map(|resolved| Value::from(resolved.connector.template_json()))
            .collect();
        let connector_list = Value::list(connectors.clone());
        let proxy = entries([("caCert", Value::str(ca_cert))]);
        let context = entries([("token", Value::str(token.secret())), ("proxy", proxy)]);
        VolumeData {
            connectors,
            connector_list,
            context,
        }
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

/// `.connectorclass` for a class.
pub(crate) fn class_value(class: &ConnectorClass) -> Value {
    Value::from(class.template_json())
}

/// `.configurations` from resolved param values.
pub(crate) fn configurations_value(params: Map<String, Json>) -> Value {
    Value::from(Json::Object(params))
}

fn entries<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::map(
        pairs
            .into_iter()
            .map(|(key, value)| (Arc::from(key), value))
            .collect::<BTreeMap<_, _>>(),
    )
}
