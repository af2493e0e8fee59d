//! The deployment files say what SPEC §9 and the RBAC issue ask, and the
//! flags they pass are flags the binary accepts.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_json::{json, Value as Json};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn manifests() -> Vec<Json> {
    let text = std::fs::read_to_string(repo_root().join("deploy/manifests/connectors-csi.yaml"))
        .expect("deploy/manifests/connectors-csi.yaml");
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|document| Json::deserialize(document).expect("valid YAML"))
        .collect()
}

fn object<'a>(objects: &'a [Json], kind: &str) -> &'a Json {
    objects
        .iter()
        .find(|o| o["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in the manifests"))
}

#[test]
fn the_csidriver_is_ephemeral_republished_and_gets_pod_info() {
    let objects = manifests();
    let spec = &object(&objects, "CSIDriver")["spec"];
    assert_eq!(spec["attachRequired"], json!(false));
    assert_eq!(spec["podInfoOnMount"], json!(true));
    assert_eq!(spec["requiresRepublish"], json!(true));
    assert_eq!(spec["volumeLifecycleModes"], json!(["Ephemeral"]));
    assert_eq!(
        object(&objects, "CSIDriver")["metadata"]["name"],
        "connectors-csi"
    );
}

#[test]
fn rbac_grants_only_what_the_driver_uses() {
    let objects = manifests();
    assert_eq!(
        object(&objects, "ClusterRole")["rules"],
        json!([
            {"apiGroups": ["connectors.alauda.io"], "resources": ["connectors", "connectorclasses"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]},
            {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]},
        ])
    );
    let role = object(&objects, "Role");
    assert_eq!(role["metadata"]["namespace"], "connectors-system");
    assert_eq!(
        role["rules"],
        json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}])
    );
}

/// `--flag` names passed to the driver container, in a manifest or chart.
fn driver_flags(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter_map(|line| line.strip_prefix("- --"))
        .map(|flag| flag.split('=').next().unwrap_or(flag).to_string())
        .collect()
}

#[test]
fn every_flag_the_daemonset_passes_is_a_serve_flag() {
    let help = Command::new(env!("CARGO_BIN_EXE_connectors-csi"))
        .args(["serve", "--help"])
        .output()
        .expect("run connectors-csi serve --help");
    let help = String::from_utf8_lossy(&help.stdout);
    let daemonset = serde_yaml_ng::to_string(
        &object(&manifests(), "DaemonSet")["spec"]["template"]["spec"]["containers"][0]["args"],
    )
    .unwrap();
    let chart = std::fs::read_to_string(
        repo_root().join("deploy/helm/connectors-csi/templates/daemonset.yaml"),
    )
    .unwrap();
    let chart_driver = chart.split("- name: node-driver-registrar").next().unwrap();
    let flags: Vec<String> = driver_flags(&daemonset)
        .into_iter()
        .chain(driver_flags(chart_driver))
        .collect();
    assert!(flags.contains(&"endpoint".to_string()), "found {flags:?}");
    for flag in flags {
        assert!(
            help.contains(&format!("--{flag}")),
            "--{flag} is passed by the deployment but `serve` does not accept it"
        );
    }
}
