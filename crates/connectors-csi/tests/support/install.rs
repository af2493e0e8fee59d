//! The install as an operator sees it: the plain manifests and `helm
//! template` renderings as JSON objects, and the driver's container's flags.
//! Part of the shared `support` module.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_json::Value as Json;

/// The supported range: the oldest is kube-rs's minimum supported Kubernetes
/// (the client the driver is built on), the newest is the newest schema
/// kubernetes-validate ships.
pub const OLDEST: &str = "1.33.0";
pub const NEWEST: &str = "1.37.0";
/// What scripts/render-manifests.sh renders the plain manifests with.
pub const RELEASE: &str = "connectors-csi";
pub const NAMESPACE: &str = "connectors-system";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn chart_dir() -> PathBuf {
    repo_root().join("deploy/helm/connectors-csi")
}

pub fn manifests_path() -> PathBuf {
    repo_root().join("deploy/manifests/connectors-csi.yaml")
}

pub fn manifests_text() -> String {
    std::fs::read_to_string(manifests_path()).expect("deploy/manifests/connectors-csi.yaml")
}

pub fn manifests() -> Vec<Json> {
    documents(&manifests_text())
}

pub fn documents(text: &str) -> Vec<Json> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|document| Json::deserialize(document).expect("valid YAML"))
        .filter(|document| !document.is_null())
        .collect()
}

pub fn objects<'a>(objects: &'a [Json], kind: &str) -> Vec<&'a Json> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

pub fn object<'a>(all: &'a [Json], kind: &str) -> &'a Json {
    match objects(all, kind).as_slice() {
        [one] => one,
        found => panic!("expected one {kind}, found {}", found.len()),
    }
}

pub fn pod_spec(objects: &[Json]) -> &Json {
    &object(objects, "DaemonSet")["spec"]["template"]["spec"]
}

pub fn container<'a>(objects: &'a [Json], name: &str) -> &'a Json {
    pod_spec(objects)["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no container {name}"))
}

pub fn args(container: &Json) -> Vec<String> {
    container["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("string arg").to_owned())
        .collect()
}

/// The value of `--name=value` among `args`.
pub fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    let prefix = format!("--{name}=");
    args.iter().find_map(|a| a.strip_prefix(prefix.as_str()))
}

/// `helm template` of the chart for `kube_version`, with `--set` values.
pub fn helm_template(helm: &Path, kube_version: &str, sets: &[&str]) -> String {
    let mut command = Command::new(helm);
    command.arg("template").arg(RELEASE).arg(chart_dir()).args([
        "--namespace",
        NAMESPACE,
        "--kube-version",
        kube_version,
    ]);
    for set in sets {
        command.args(["--set", set]);
    }
    let output = command.output().expect("run helm template");
    assert!(
        output.status.success(),
        "helm template {sets:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 from helm")
}

/// Runs `serve` with `args` then `--help`: clap rejects an unknown flag or a
/// bad value as it reads it, so success means every argument was accepted.
pub fn assert_serve_accepts(args: &[String]) {
    let output = Command::new(env!("CARGO_BIN_EXE_connectors-csi"))
        .args(args)
        .arg("--help")
        .output()
        .expect("run connectors-csi");
    assert!(
        output.status.success(),
        "`connectors-csi {}` is rejected:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Whether any Role or ClusterRole rule lets its subject mint tokens.
pub fn grants_token_creation(objects: &[Json]) -> bool {
    let has = |list: &Json, wanted: &[&str]| {
        list.as_array()
            .is_some_and(|items| items.iter().any(|i| wanted.iter().any(|w| i == w)))
    };
    objects
        .iter()
        .filter(|o| o["kind"] == "ClusterRole" || o["kind"] == "Role")
        .flat_map(|role| role["rules"].as_array().cloned().unwrap_or_default())
        .any(|rule| {
            has(&rule["apiGroups"], &["", "*"])
                && has(
                    &rule["resources"],
                    &["serviceaccounts/token", "serviceaccounts/*", "*"],
                )
                && has(&rule["verbs"], &["create", "*"])
        })
}
