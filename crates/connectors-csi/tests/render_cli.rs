//! `connectors-csi render` run as a user would, on the quick start.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart")
}

fn render(extra: &[&str]) -> Output {
    let dir = examples();
    Command::new(env!("CARGO_BIN_EXE_connectors-csi"))
        .arg("render")
        .arg("--manifests")
        .arg(&dir)
        .arg("--attributes")
        .arg(dir.join("volume-attributes.yaml"))
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn quick_start_prints_every_file_with_a_header() {
    let output = render(&["--token", "tok-123"]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("==> .gitconfig <==\nthis is git config\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("==> context.token <==\ntok-123\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "==> http.proxy <==\nhttp://default%2Fgit-connector:tok-123@c-git-connector.default.svc.cluster.local\n"
        ),
        "{stdout}"
    );
    let headers = stdout.lines().filter(|l| l.starts_with("==> ")).count();
    assert_eq!(headers, 9, "{stdout}");
}

#[test]
fn quick_start_writes_files_into_the_out_directory() {
    let out = tempfile::tempdir().unwrap();
    let ca = out.path().join("ca.pem");
    std::fs::write(&ca, "PEM\n").unwrap();
    let target = out.path().join("files");
    let output = render(&[
        "--token",
        "tok-123",
        "--ca-cert",
        ca.to_str().unwrap(),
        "--out",
        target.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(target.join(".gitconfig")).unwrap(),
        "this is git config\n"
    );
    assert_eq!(
        std::fs::read_to_string(target.join("ca.crt")).unwrap(),
        "PEM\n"
    );
    assert_eq!(
        std::fs::read_to_string(target.join("connector.status.proxyAddress")).unwrap(),
        "http://c-git-connector.default.svc.cluster.local"
    );
}

#[test]
fn an_unknown_connector_fails_with_a_not_found_message() {
    let dir = tempfile::tempdir().unwrap();
    let attributes = dir.path().join("attrs.yaml");
    std::fs::write(&attributes, "connectors: nope\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_connectors-csi"))
        .arg("render")
        .arg("--manifests")
        .arg(examples())
        .arg("--attributes")
        .arg(&attributes)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("connector \"default/nope\" not found"),
        "{stderr}"
    );
}

#[test]
fn a_malformed_attribute_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let attributes = dir.path().join("attrs.json");
    std::fs::write(
        &attributes,
        r#"{"connectors": "git-connector", "token.expiration": "1d"}"#,
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_connectors-csi"))
        .arg("render")
        .arg("--manifests")
        .arg(examples())
        .arg("--attributes")
        .arg(&attributes)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("volume attribute \"token.expiration\""),
        "{stderr}"
    );
}
