//! Planning whole volumes: built-ins, configurations, order, exclusions,
//! params, bounds, errors, and every reference ConnectorClass.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value as Json};

use super::*;
use crate::catalog::ResolvedConnector;
use crate::model::{Connector, ConnectorClass};
use crate::volume::attr;

mod checks;
mod files;
mod reference;

pub(super) const TOKEN: &str = "tok-Secret-123";
pub(super) const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

pub(super) fn class(name: &str, proxy: Option<&str>, configurations: Json) -> Arc<ConnectorClass> {
    let mut raw = json!({
        "apiVersion": "connectors.alauda.io/v1alpha1", "kind": "ConnectorClass",
        "metadata": {"name": name},
        "spec": {"configurations": configurations},
    });
    if let Some(url) = proxy {
        raw["status"] = json!({"proxy": {"httpAddress": {"url": url}}});
    }
    Arc::new(ConnectorClass::from_json(raw).unwrap())
}

pub(super) fn connector(ns: &str, name: &str, class: &str, proxy: Option<&str>) -> Arc<Connector> {
    Arc::new(Connector::from_json(connector_json(ns, name, class, proxy)).unwrap())
}

/// A Connector's JSON, as [`connector`] reads it.
pub(super) fn connector_json(ns: &str, name: &str, class: &str, proxy: Option<&str>) -> Json {
    let mut raw = json!({
        "apiVersion": "connectors.alauda.io/v1alpha1", "kind": "Connector",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"connectorClassName": class, "address": format!("https://{name}.example.com")},
    });
    if let Some(url) = proxy {
        raw["status"] = json!({"proxy": {"httpAddress": {"url": url}}});
    }
    raw
}

pub(super) fn resolved(
    connector: &Arc<Connector>,
    class: &Arc<ConnectorClass>,
) -> ResolvedConnector {
    ResolvedConnector {
        connector: Arc::clone(connector),
        class: Arc::clone(class),
    }
}

pub(super) fn request(connectors: &[ResolvedConnector], extra: &[(&str, &str)]) -> VolumeRequest {
    let list: Vec<String> = connectors
        .iter()
        .map(|r| r.connector.reference().to_string())
        .collect();
    let mut context = HashMap::from([
        (attr::CONNECTORS.to_string(), list.join(",")),
        (attr::POD_NAMESPACE.to_string(), "default".to_string()),
    ]);
    for (k, v) in extra {
        context.insert((*k).into(), (*v).into());
    }
    VolumeRequest::parse(&context).unwrap()
}

pub(super) fn plan_with(
    renderer: &Renderer,
    connectors: &[ResolvedConnector],
    extra: &[(&str, &str)],
    overrides: Option<&BTreeMap<String, String>>,
) -> Result<FilePlan, RenderError> {
    let req = request(connectors, extra);
    renderer.plan(&req, connectors, overrides, &Token::new(TOKEN, None), CA)
}

pub(super) fn plan(
    connectors: &[ResolvedConnector],
    extra: &[(&str, &str)],
) -> Result<FilePlan, RenderError> {
    plan_with(&Renderer::default(), connectors, extra, None)
}

pub(super) fn text(plan: &FilePlan, name: &str) -> String {
    let file = plan.get(name).unwrap_or_else(|| panic!("no file {name}"));
    String::from_utf8(file.content.clone()).unwrap()
}

pub(super) fn names(plan: &FilePlan) -> Vec<&str> {
    plan.files.iter().map(|f| f.name.as_str()).collect()
}

pub(super) fn git_volume() -> Vec<ResolvedConnector> {
    let git = class(
        "my-git",
        None,
        json!([{"name": "config", "data": {".gitconfig": "this is git config\n"}}]),
    );
    let conn = connector(
        "default",
        "git-connector",
        "my-git",
        Some("http://c-git.default.svc:8080"),
    );
    vec![resolved(&conn, &git)]
}
