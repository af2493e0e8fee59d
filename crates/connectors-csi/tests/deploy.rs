//! What the plain manifests install: the CSIDriver, RBAC that cannot mint
//! tokens by default, a DaemonSet whose liveness goes through the CSI socket,
//! unprivileged sidecars, and flags the binary accepts.

#![allow(clippy::unwrap_used)] // test code: a failed step is a failed test

mod support;

use serde_json::{json, Value as Json};
use std::process::Command;
use support::install::*;

#[test]
fn the_csidriver_is_ephemeral_republished_and_gets_pod_info() {
    let objects = manifests();
    let driver = object(&objects, "CSIDriver");
    assert_eq!(driver["metadata"]["name"], "connectors-csi");
    let spec = &driver["spec"];
    assert_eq!(spec["attachRequired"], json!(false));
    assert_eq!(spec["podInfoOnMount"], json!(true));
    assert_eq!(spec["requiresRepublish"], json!(true));
    assert_eq!(spec["volumeLifecycleModes"], json!(["Ephemeral"]));
}

#[test]
fn by_default_kubelet_issues_the_tokens_and_the_driver_cannot_mint_any() {
    let objects = manifests();
    assert!(
        !grants_token_creation(&objects),
        "the default install may mint tokens"
    );
    let audiences = &object(&objects, "CSIDriver")["spec"]["tokenRequests"];
    assert_eq!(audiences, &json!([{"audience": ""}]));
    let driver = args(container(&objects, "driver"));
    assert_eq!(flag(&driver, "token-source"), Some("kubelet"));
    assert_eq!(
        flag(&driver, "token-audience"),
        audiences[0]["audience"].as_str(),
        "the driver looks for the audience kubelet issues"
    );
}

#[test]
fn rbac_grants_only_what_the_driver_uses() {
    let objects = manifests();
    assert_eq!(
        object(&objects, "ClusterRole")["rules"],
        json!([
            {"apiGroups": ["connectors.alauda.io"], "resources": ["connectors", "connectorclasses"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["connectors.alauda.io"], "resources": ["accessrequests"], "verbs": ["create", "get", "list", "watch"]},
            {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]},
            {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
        ])
    );
    let role = object(&objects, "Role");
    assert_eq!(role["metadata"]["namespace"], NAMESPACE);
    assert_eq!(
        role["rules"],
        json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}])
    );
    for binding in ["ClusterRoleBinding", "RoleBinding"] {
        assert_eq!(
            object(&objects, binding)["subjects"],
            json!([{"kind": "ServiceAccount", "name": "connectors-csi", "namespace": NAMESPACE}])
        );
    }
    assert_eq!(pod_spec(&objects)["serviceAccountName"], "connectors-csi");
}

#[test]
fn every_flag_the_daemonset_passes_is_a_serve_flag() {
    let driver = args(container(&manifests(), "driver"));
    assert_eq!(driver[0], "serve");
    for name in ["endpoint", "node-id", "token-source", "kubelet-root-dir"] {
        assert!(flag(&driver, name).is_some(), "--{name} in {driver:?}");
    }
    assert_serve_accepts(&driver);
}

#[test]
fn a_bad_flag_is_caught_by_the_serve_check() {
    let output = Command::new(env!("CARGO_BIN_EXE_connectors-csi"))
        .args(["serve", "--log-format=xml", "--help"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let output = Command::new(env!("CARGO_BIN_EXE_connectors-csi"))
        .args(["serve", "--no-such-flag=1", "--help"])
        .output()
        .unwrap();
    assert!(!output.status.success());
}

/// The port number a container exposes under `name`.
fn port(container: &Json, name: &str) -> u64 {
    container["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == name)
        .and_then(|p| p["containerPort"].as_u64())
        .unwrap_or_else(|| panic!("{} exposes no port {name}", container["name"]))
}

fn listen_port(address: &str) -> u64 {
    address.rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn a_driver_that_stops_answering_on_its_socket_is_restarted() {
    let objects = manifests();
    let driver = container(&objects, "driver");
    let probe = &driver["livenessProbe"]["httpGet"];
    assert_eq!(probe["path"], "/healthz");
    let probed = port(driver, probe["port"].as_str().expect("a named port"));
    // The livenessprobe sidecar answers that port by calling CSI Probe on
    // the driver's socket…
    let sidecar = container(&objects, "liveness-probe");
    let sidecar_args = args(sidecar);
    assert_eq!(
        flag(&sidecar_args, "http-endpoint").map(listen_port),
        Some(probed)
    );
    let driver_args = args(driver);
    let endpoint = flag(&driver_args, "endpoint").unwrap();
    let socket = flag(&sidecar_args, "csi-address").unwrap();
    assert_eq!(endpoint, format!("unix://{socket}"));
    let socket_mount = |c: &Json| {
        c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "socket-dir")
            .map(|m| m["mountPath"].clone())
    };
    assert_eq!(socket_mount(sidecar), socket_mount(driver));
    // …and not by the driver's own always-ok HTTP /healthz.
    let health = flag(&driver_args, "health-addr").unwrap();
    assert_ne!(listen_port(health), probed);
    let ready = &driver["readinessProbe"]["httpGet"];
    assert_eq!(ready["path"], "/readyz");
    assert_eq!(
        port(driver, ready["port"].as_str().unwrap()),
        listen_port(health)
    );
}

#[test]
fn sidecars_run_unprivileged_read_only_and_bounded() {
    let objects = manifests();
    for name in ["node-driver-registrar", "liveness-probe"] {
        let sidecar = container(&objects, name);
        let security = &sidecar["securityContext"];
        assert_eq!(security["allowPrivilegeEscalation"], json!(false), "{name}");
        assert_eq!(security["readOnlyRootFilesystem"], json!(true), "{name}");
        assert_eq!(security["capabilities"]["drop"], json!(["ALL"]), "{name}");
        for bound in ["requests", "limits"] {
            for resource in ["cpu", "memory"] {
                assert!(
                    sidecar["resources"][bound][resource].is_string(),
                    "{name}: no {bound}.{resource}"
                );
            }
        }
        let image = sidecar["image"].as_str().unwrap();
        assert!(image.starts_with("registry.k8s.io/sig-storage/"), "{image}");
        assert!(
            image.rsplit_once(":v").is_some(),
            "{name} pinned to a release: {image}"
        );
    }
    let driver = container(&objects, "driver");
    assert_eq!(
        driver["securityContext"]["readOnlyRootFilesystem"],
        json!(true)
    );
    assert!(driver["resources"]["limits"]["memory"].is_string());
}

#[test]
fn the_daemonset_runs_on_linux_nodes_in_a_namespace_that_admits_it() {
    let objects = manifests();
    assert_eq!(
        pod_spec(&objects)["nodeSelector"],
        json!({"kubernetes.io/os": "linux"})
    );
    let namespace = object(&objects, "Namespace");
    assert_eq!(
        namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "privileged"
    );
    for namespaced in ["ServiceAccount", "Role", "RoleBinding", "DaemonSet"] {
        assert_eq!(
            object(&objects, namespaced)["metadata"]["namespace"],
            NAMESPACE
        );
    }
    let daemonset = object(&objects, "DaemonSet");
    assert_eq!(
        daemonset["spec"]["selector"]["matchLabels"],
        json!({"app.kubernetes.io/name": "connectors-csi", "app.kubernetes.io/instance": RELEASE})
    );
    assert_eq!(daemonset["spec"]["updateStrategy"]["type"], "RollingUpdate");
}

#[test]
fn the_example_pod_mounts_the_quick_start_volume() {
    let example = std::fs::read_to_string(repo_root().join("deploy/examples/quickstart-pod.yaml"))
        .expect("deploy/examples/quickstart-pod.yaml");
    let objects = documents(&example);
    let pod = object(&objects, "Pod");
    let volume = &pod["spec"]["volumes"][0]["csi"];
    assert_eq!(volume["driver"], "connectors-csi");
    assert_eq!(volume["readOnly"], json!(true));
    let quickstart = std::fs::read_to_string(
        repo_root().join("crates/connectors-csi/examples/quickstart/volume-attributes.yaml"),
    )
    .unwrap();
    assert_eq!(volume["volumeAttributes"], documents(&quickstart)[0]);
    // The driver checks that the pod's service account may get the connector.
    let role = object(&objects, "Role");
    assert_eq!(role["rules"][0]["resources"], json!(["connectors"]));
    assert_eq!(role["rules"][0]["verbs"], json!(["get"]));
    let subject = &object(&objects, "RoleBinding")["subjects"][0];
    assert_eq!(subject["name"], pod["spec"]["serviceAccountName"]);
}
