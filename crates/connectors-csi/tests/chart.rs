//! The Helm chart, rendered by real `helm template`: the plain manifests are
//! exactly its default rendering, every rendering is valid for the oldest and
//! newest supported Kubernetes (real `kubernetes-validate --strict`), and its
//! values reach the objects they name.

#![allow(clippy::unwrap_used)] // test code: a failed step is a failed test

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value as Json};
use support::install::*;
use support::tools;

/// The part of the plain manifests that is not the chart's rendering, or
/// `None` if they do not end with exactly what the chart renders.
fn preamble_before_rendering<'a>(manifests: &'a str, rendered: &str) -> Option<&'a str> {
    manifests.trim_end().strip_suffix(rendered.trim_end())
}

/// Also the one test whose output nextest shows on success
/// (`.config/nextest.toml`): a missing checker is never silent.
#[test]
fn the_checkers_are_installed_and_know_the_supported_kubernetes_versions() {
    let (Some(helm), Some(validate)) = (tools::tool("helm"), tools::tool("kubernetes-validate"))
    else {
        return;
    };
    let version = Command::new(&helm)
        .args(["version", "--short"])
        .output()
        .unwrap();
    assert!(version.status.success(), "helm version failed");
    let dir = tempfile::tempdir().unwrap();
    let namespace = dir.path().join("namespace.yaml");
    std::fs::write(
        &namespace,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n",
    )
    .unwrap();
    for version in [OLDEST, NEWEST] {
        assert_valid(&validate, version, std::slice::from_ref(&namespace));
    }
}

#[test]
fn the_chart_passes_helm_lint_strict_with_default_and_every_option() {
    let Some(helm) = tools::tool("helm") else {
        return;
    };
    for sets in [&[][..], EVERY_OPTION] {
        let mut lint = Command::new(&helm);
        lint.args(["lint", "--strict", "--kube-version", OLDEST])
            .arg(chart_dir());
        for set in sets {
            lint.args(["--set", set]);
        }
        let output = lint.output().unwrap();
        assert!(
            output.status.success(),
            "helm lint --strict {sets:?}:\n{}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}

#[test]
fn the_plain_manifests_are_the_chart_rendered_with_default_values() {
    let Some(helm) = tools::tool("helm") else {
        return;
    };
    let rendered = helm_template(&helm, OLDEST, &[]);
    let manifests = manifests_text();
    let preamble = preamble_before_rendering(&manifests, &rendered).unwrap_or_else(|| {
        panic!(
            "deploy/manifests/connectors-csi.yaml is not `helm template` of the chart with \
             default values: run scripts/render-manifests.sh and commit the result.\n\
             helm renders:\n{rendered}"
        )
    });
    // What the chart leaves to Helm: the namespace, labelled so that Pod
    // Security admission lets the privileged driver run.
    let namespace = documents(preamble);
    assert_eq!(
        namespace.len(),
        1,
        "only the Namespace precedes the chart: {namespace:?}"
    );
    assert_eq!(namespace[0]["kind"], "Namespace");
    assert_eq!(namespace[0]["metadata"]["name"], NAMESPACE);
    assert_eq!(
        namespace[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "privileged"
    );
}

#[test]
fn a_chart_rendered_with_other_values_is_caught_as_drift() {
    let Some(helm) = tools::tool("helm") else {
        return;
    };
    let manifests = manifests_text();
    for sets in [&["logLevel=debug"][..], &["tokenSource=request"]] {
        let rendered = helm_template(&helm, OLDEST, sets);
        assert_eq!(
            preamble_before_rendering(&manifests, &rendered),
            None,
            "{sets:?}"
        );
    }
    // The same values for a newer cluster render the token-in-secrets field,
    // which the plain manifests (for every supported version) must not have.
    let rendered = helm_template(&helm, NEWEST, &[]);
    assert_eq!(preamble_before_rendering(&manifests, &rendered), None);
}

/// Every object of `files` passes `kubernetes-validate --strict` for `version`.
fn assert_valid(validate: &Path, version: &str, files: &[PathBuf]) {
    let output = Command::new(validate)
        .args(["--strict", "--quiet", "-k", version])
        .args(files)
        .output()
        .expect("run kubernetes-validate");
    assert!(
        output.status.success(),
        "kubernetes-validate --strict -k {version} rejected the install:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Values that switch on every optional part of the chart.
const EVERY_OPTION: &[&str] = &[
    "tokenSource=request",
    "tokenAudience=connectors-proxy",
    "proxyCACert=-----BEGIN CERTIFICATE-----",
    "kubeletRootDir=/var/lib/k0s/kubelet",
    "imagePullSecrets[0].name=registry",
    "podAnnotations.team=platform",
    "nodeSelector.pool=tools",
    "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=pool",
    "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists",
    "updateStrategy.rollingUpdate.maxUnavailable=10%",
];

#[test]
fn every_object_is_valid_for_the_oldest_and_newest_supported_kubernetes() {
    let (Some(helm), Some(validate)) = (tools::tool("helm"), tools::tool("kubernetes-validate"))
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for version in [OLDEST, NEWEST] {
        let mut files = vec![
            manifests_path(),
            repo_root().join("deploy/examples/quickstart-pod.yaml"),
        ];
        for (name, sets) in [("defaults", &[][..]), ("every-option", EVERY_OPTION)] {
            let path = dir.path().join(format!("{name}-{version}.yaml"));
            std::fs::write(&path, helm_template(&helm, version, sets)).unwrap();
            files.push(path);
        }
        assert_valid(&validate, version, &files);
    }
}

#[test]
fn kubelet_is_asked_for_tokens_in_secrets_only_from_kubernetes_1_35() {
    let (Some(helm), Some(validate)) = (tools::tool("helm"), tools::tool("kubernetes-validate"))
    else {
        return;
    };
    let in_secrets = |version: &str| {
        let driver = documents(&helm_template(&helm, version, &[]));
        object(&driver, "CSIDriver")["spec"]["serviceAccountTokenInSecrets"].clone()
    };
    assert_eq!(in_secrets("1.34.0"), Json::Null);
    assert_eq!(in_secrets("1.35.0"), json!(true));
    assert_eq!(
        in_secrets("v1.35.2-gke.1"),
        json!(true),
        "pre-release and vendor versions"
    );
    // 1.34's API server rejects the field: the 1.34 rendering must not carry it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("1.34.yaml");
    std::fs::write(&path, helm_template(&helm, "1.34.0", &[])).unwrap();
    assert_valid(&validate, "1.34.0", &[path]);
    let driver = documents(&helm_template(
        &helm,
        "1.35.0",
        &["serviceAccountTokenInSecrets=false"],
    ));
    assert_eq!(
        object(&driver, "CSIDriver")["spec"]["serviceAccountTokenInSecrets"],
        Json::Null
    );
}

#[test]
fn driver_requested_tokens_are_an_explicit_opt_in_that_adds_the_token_rule() {
    let Some(helm) = tools::tool("helm") else {
        return;
    };
    let objects = documents(&helm_template(&helm, NEWEST, &["tokenSource=request"]));
    assert!(grants_token_creation(&objects));
    let spec = &object(&objects, "CSIDriver")["spec"];
    assert_eq!(
        spec["tokenRequests"],
        Json::Null,
        "kubelet's tokens would be ignored"
    );
    assert_eq!(spec["serviceAccountTokenInSecrets"], Json::Null);
    assert_eq!(
        flag(&args(container(&objects, "driver")), "token-source"),
        Some("request")
    );
    let rbac = std::fs::read_to_string(chart_dir().join("templates/rbac.yaml")).unwrap();
    assert!(
        rbac.contains("mint a token for ANY service"),
        "the chart says what the opt-in grants"
    );
    let objects = documents(&helm_template(
        &helm,
        NEWEST,
        &["tokenAudience=connectors-proxy"],
    ));
    assert_eq!(
        object(&objects, "CSIDriver")["spec"]["tokenRequests"],
        json!([{"audience": "connectors-proxy"}])
    );
    assert_eq!(
        flag(&args(container(&objects, "driver")), "token-audience"),
        Some("connectors-proxy")
    );
}

#[test]
fn every_kubelet_path_follows_kubelet_root_dir() {
    let Some(helm) = tools::tool("helm") else {
        return;
    };
    let root = "/var/snap/microk8s/common/var/lib/kubelet";
    let rendered = helm_template(&helm, NEWEST, &[&format!("kubeletRootDir={root}")]);
    assert!(
        !rendered.replace(root, "").contains("/var/lib/kubelet"),
        "a kubelet path ignores kubeletRootDir:\n{rendered}"
    );
    let objects = documents(&rendered);
    let driver = container(&objects, "driver");
    assert_eq!(flag(&args(driver), "kubelet-root-dir"), Some(root));
    let registrar = args(container(&objects, "node-driver-registrar"));
    assert_eq!(
        flag(&registrar, "kubelet-registration-path"),
        Some(format!("{root}/plugins/connectors-csi/csi.sock").as_str())
    );
    let host_paths: Vec<(&str, &str)> = pod_spec(&objects)["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| Some((v["name"].as_str()?, v["hostPath"]["path"].as_str()?)))
        .collect();
    for (volume, path) in [
        ("socket-dir", format!("{root}/plugins/connectors-csi")),
        ("registration-dir", format!("{root}/plugins_registry")),
        ("mountpoint-dir", format!("{root}/pods")),
    ] {
        assert!(
            host_paths.contains(&(volume, path.as_str())),
            "{volume}: {host_paths:?}"
        );
    }
    // kubelet hands the driver host paths: the pods directory must be mounted
    // at the same path, with propagation back to the host.
    let pods_mount = driver["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "mountpoint-dir")
        .unwrap();
    assert_eq!(pods_mount["mountPath"], format!("{root}/pods"));
    assert_eq!(pods_mount["mountPropagation"], "Bidirectional");
}

#[test]
fn scheduling_and_pull_values_reach_the_pod() {
    let Some(helm) = tools::tool("helm") else {
        return;
    };
    let objects = documents(&helm_template(&helm, NEWEST, EVERY_OPTION));
    let spec = pod_spec(&objects);
    assert_eq!(spec["imagePullSecrets"], json!([{"name": "registry"}]));
    assert_eq!(
        spec["nodeSelector"],
        json!({"kubernetes.io/os": "linux", "pool": "tools"}),
        "the linux selector stays when an operator adds one"
    );
    assert_eq!(
        spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            ["nodeSelectorTerms"][0]["matchExpressions"][0]["key"],
        "pool"
    );
    let daemonset = object(&objects, "DaemonSet");
    assert_eq!(
        daemonset["spec"]["template"]["metadata"]["annotations"]["team"],
        "platform"
    );
    assert_eq!(
        daemonset["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"],
        "10%"
    );
    let ca = object(&objects, "ConfigMap");
    assert_eq!(ca["data"]["ca.crt"], "-----BEGIN CERTIFICATE-----");
}

#[test]
fn the_chart_refuses_a_cluster_older_than_the_oldest_supported() {
    let Some(helm) = tools::tool("helm") else {
        return;
    };
    let output = Command::new(&helm)
        .arg("template")
        .arg(RELEASE)
        .arg(chart_dir())
        .args(["--kube-version", "1.32.9"])
        .output()
        .unwrap();
    assert!(!output.status.success(), "rendered for Kubernetes 1.32");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(">=1.33.0-0"), "{stderr}");
}

#[test]
fn the_chart_refuses_an_unknown_token_source_or_a_misspelt_value() {
    let Some(helm) = tools::tool("helm") else {
        return;
    };
    for set in ["tokenSource=both", "tokenAudiense=x"] {
        let output = Command::new(&helm)
            .arg("template")
            .arg(RELEASE)
            .arg(chart_dir())
            .args(["--set", set])
            .output()
            .unwrap();
        assert!(!output.status.success(), "{set} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let key = set.split('=').next().unwrap();
        assert!(stderr.contains(key), "{set}: {stderr}");
    }
}

#[test]
fn every_flag_of_a_rendering_with_every_option_is_a_serve_flag() {
    let Some(helm) = tools::tool("helm") else {
        return;
    };
    let objects = documents(&helm_template(&helm, NEWEST, EVERY_OPTION));
    let driver = args(container(&objects, "driver"));
    for name in [
        "ca-cert",
        "token-source",
        "token-audience",
        "kubelet-root-dir",
    ] {
        assert!(flag(&driver, name).is_some(), "--{name} in {driver:?}");
    }
    assert_serve_accepts(&driver);
}
