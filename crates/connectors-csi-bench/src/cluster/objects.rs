//! What the stand-in cluster holds: the classes, N Connectors spread over
//! namespaces, shaped like objects a real API server returns (labels, the
//! last-applied annotation, managedFields, status conditions), and the RBAC
//! that lets the bench pods use them.

use std::collections::BTreeMap;

use fake_apiserver::{FakeApiServer, Grant};
use serde_json::{json, Value as Json};

use crate::workload;

/// The connector volumes use: its reference and the attributes of a volume
/// that uses it.
pub struct UsedConnector {
    pub namespace: String,
    pub name: String,
    /// The Connector as stored (to change it later).
    pub object: Json,
    pub attributes: BTreeMap<String, String>,
}

/// The audience of the tokens the bench passes as kubelet would.
pub const AUDIENCE: &str = "connectors-proxy";

/// Fills `server` with `classes`, `connectors` Connectors over `namespaces`
/// namespaces and the grants; returns the `used` connectors, spread evenly
/// over the catalog (and so over namespaces).
pub fn populate(
    server: &FakeApiServer,
    classes: &[(String, Json)],
    connectors: usize,
    namespaces: usize,
    used: usize,
) -> anyhow::Result<Vec<UsedConnector>> {
    anyhow::ensure!(!classes.is_empty(), "no ConnectorClass to use");
    anyhow::ensure!(
        used <= connectors,
        "--used ({used}) exceeds --cluster-connectors ({connectors})"
    );
    let namespaces = namespaces.max(1);
    let mut class_names = Vec::new();
    for (_, class) in classes {
        server.apply(class.clone());
        class_names.push(
            class["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    for index in 0..namespaces {
        server.grant(
            Grant::group("system:serviceaccounts")
                .in_namespace(&namespace(index))
                .verbs(&["get"])
                .resources(&["connectors"]),
        );
    }
    let stride = (connectors / used.max(1)).max(1);
    let mut chosen = Vec::new();
    for index in 0..connectors {
        let class_index = index % classes.len();
        let object = server.apply(connector(
            &namespace(index % namespaces),
            &format!("connector-{index}"),
            &class_names[class_index],
            index,
        ));
        if index % stride == 0 && chosen.len() < used {
            let (_, class) = &classes[class_index];
            chosen.push(used_connector(object, class));
        }
    }
    Ok(chosen)
}

fn used_connector(object: Json, class: &Json) -> UsedConnector {
    let namespace = object["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut attributes = workload::attributes_for(&[format!("{namespace}/{name}")], &[class]);
    attributes.insert(
        "csi.storage.k8s.io/serviceAccount.tokens".into(),
        json!({AUDIENCE: {"token": "bench-kubelet-token", "expirationTimestamp": "2099-01-01T00:00:00Z"}})
            .to_string(),
    );
    UsedConnector {
        namespace,
        name,
        object,
        attributes,
    }
}

fn namespace(index: usize) -> String {
    format!("team-{index}")
}

/// A Connector as `kubectl apply` and the Connectors operator leave it.
fn connector(namespace: &str, name: &str, class: &str, index: usize) -> Json {
    let spec = json!({
        "connectorClassName": class,
        "address": format!("https://tool-{index}.example.com"),
        "auth": {"name": "basicAuth", "secretRef": {"name": format!("{name}-secret")}},
    });
    let applied = json!({
        "apiVersion": "connectors.alauda.io/v1alpha1", "kind": "Connector",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    });
    json!({
        "apiVersion": "connectors.alauda.io/v1alpha1", "kind": "Connector",
        "metadata": {
            "name": name, "namespace": namespace, "generation": 1,
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"connectors.cpaas.io/connectorclass": class, "app.kubernetes.io/part-of": "bench"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": applied.to_string()},
            "managedFields": [
                {"manager": "kubectl-client-side-apply", "operation": "Update",
                 "apiVersion": "connectors.alauda.io/v1alpha1", "time": "2026-01-01T00:00:00Z",
                 "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}},
                              "f:spec": {".": {}, "f:address": {}, "f:auth": {}, "f:connectorClassName": {}}}},
                {"manager": "connectors-operator", "operation": "Update", "subresource": "status",
                 "apiVersion": "connectors.alauda.io/v1alpha1", "time": "2026-01-01T00:00:05Z",
                 "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:status": {".": {}, "f:conditions": {}, "f:proxy": {}}}}
            ]
        },
        "spec": spec,
        "status": {
            "proxy": {"httpAddress": {"url": format!("http://c-{name}.{namespace}.svc")}},
            "conditions": [
                {"type": "Ready", "status": "True", "reason": "", "message": "",
                 "lastTransitionTime": "2026-01-01T00:00:05Z"},
                {"type": "ConnectorClassReady", "status": "True", "reason": "", "message": "",
                 "lastTransitionTime": "2026-01-01T00:00:05Z"}
            ]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connector_looks_like_one_a_real_api_server_returns() {
        let object = connector("team-1", "connector-1", "git", 1);
        assert_eq!(object["spec"]["connectorClassName"], "git");
        assert!(object["metadata"]["managedFields"].is_array());
        let text = object.to_string();
        assert!(text.len() > 1500, "{} bytes", text.len());
    }
}
