//! `connectors-csi lint` as a ConnectorClass author runs it: each problem of
//! a broken class on its own `FILE:LINE:COL: message` line and exit 1, and
//! every real ConnectorClass of the upstream documentation passing.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A class with one problem of each kind; the comments say where each is.
const BROKEN: &str = r#"apiVersion: connectors.alauda.io/v1alpha1
kind: ConnectorClass
metadata:
  name: broken
spec:
  configurations:
  - name: npmrc
    params:
    - name: registry
      type: string
    data:
      .npmrc: |
        registry={{ .configurations.registry }}
        always-auth={{ .configurations.alwaysAuth }}
      bad name.txt: "x"
  - name: gitconfig
    data:
      .gitconfig: |
        [http]
          extraHeader = Authorization: Basic {{ .context.token | b64enc }
      free.txt: '{{ .configurations.anything }}'
"#;

fn lint(args: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_connectors-csi"))
        .arg("lint")
        .args(args)
        .output()
        .unwrap()
}

fn stdout_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The line and column (from 1) of the first `needle` on line `line` of `text`.
fn column_of(text: &str, line: usize, needle: &str) -> usize {
    text.lines().nth(line - 1).unwrap().find(needle).unwrap() + 1
}

#[test]
fn a_broken_class_gets_one_line_per_problem_with_its_position_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "broken.yaml", BROKEN);
    let output = lint(&[&file]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let f = file.display();
    let undeclared_col = column_of(BROKEN, 14, ".configurations.alwaysAuth");
    let expected = vec![
        // The undeclared param, at the expression that reads it.
        format!(
            "{f}:14:{undeclared_col}: connectorclass \"broken\" configuration \"npmrc\": \
             file \".npmrc\": reads param \"alwaysAuth\", which the configuration does not \
             declare (declared: registry)"
        ),
        // The bad file name, at its key.
        format!(
            "{f}:15:7: connectorclass \"broken\" configuration \"npmrc\": file name \
             \"bad name.txt\" is not allowed (letters, digits, '.', '_', '-'; not \".\" or \"..\")"
        ),
        // The syntax error, at the template line Go names (col: the line's start).
        format!(
            "{f}:20:9: connectorclass \"broken\" configuration \"gitconfig\": file \
             \".gitconfig\": template: .gitconfig:2: unexpected \"}}\" in operand"
        ),
    ];
    assert_eq!(stdout_lines(&output), expected);
    // A configuration without params passes objects through unchecked:
    // `free.txt` reading `.configurations.anything` is not a problem.
    assert!(!String::from_utf8_lossy(&output.stdout).contains("anything"));
}

#[test]
fn a_class_that_fails_only_when_rendered_is_reported_at_the_failing_expression() {
    let class = "kind: ConnectorClass\nmetadata: {name: renders}\nspec:\n  configurations:\n  \
                 - name: config\n    data:\n      url.txt: \"proxy {{ .connector.status.proxyAddress | urlParse | b64enc }}\"\n";
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "renders.yaml", class);
    let output = lint(&[&file]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let lines = stdout_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let col = column_of(class, 7, "b64enc");
    assert!(
        lines[0].starts_with(&format!(
            "{}:7:{col}: connectorclass \"renders\"",
            file.display()
        )),
        "{lines:?}"
    );
    assert!(
        lines[0].contains("wrong type for value; expected string"),
        "{lines:?}"
    );
}

#[test]
fn param_declarations_are_checked_where_they_are_written() {
    let class = "\
kind: ConnectorClass
metadata: {name: params}
spec:
  configurations:
  - name: npmrc
    params:
    - name: strictSSL
      default: maybe
      enum: ['true', 'false']
    - name: scopes
      type: list
    - name: strictSSL
    - name: mirrors
      type: array
      default: mirror
    data:
      .npmrc: 'x'
";
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "params.yaml", class);
    let output = lint(&[&file]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let prefix = |line: usize, col: usize| {
        format!(
            "{}:{line}:{col}: connectorclass \"params\" configuration \"npmrc\": param ",
            file.display()
        )
    };
    assert_eq!(
        stdout_lines(&output),
        [
            format!(
                "{}\"strictSSL\": default \"maybe\" is not one of the enum (true, false)",
                prefix(8, 16)
            ),
            format!(
                "{}\"scopes\": unknown type \"list\" (string, array or object)",
                prefix(11, 13)
            ),
            format!("{}\"strictSSL\": is declared twice", prefix(12, 13)),
            format!(
                "{}\"mirrors\": default \"mirror\" is not of type array",
                prefix(15, 16)
            ),
        ]
    );
}

#[test]
fn a_broken_builtin_override_is_reported_in_its_configmap() {
    let configmap = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: connectors-csi-configuration-system
data:
  context.token: \"{{ .context.token | nosuchfunc }}\"
";
    let dir = tempfile::tempdir().unwrap();
    let class = write(
        dir.path(),
        "class.yaml",
        "kind: ConnectorClass\nmetadata: {name: ok}\nspec:\n  configurations:\n  - name: c\n    data: {a.txt: x}\n",
    );
    let overrides = write(dir.path(), "overrides.yaml", configmap);
    let output = lint(&[&class, &overrides]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(
        stdout_lines(&output),
        [format!(
            "{}:6:19: built-in files: file \"context.token\": template: context.token:1: \
             function \"nosuchfunc\" not defined",
            overrides.display()
        )]
    );
}

#[test]
fn a_file_that_is_not_yaml_is_reported_at_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "bad.yaml",
        "kind: ConnectorClass\nspec: [unclosed\n",
    );
    let output = lint(&[&file]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let lines = stdout_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let prefix = format!("{}:", file.display());
    let position: Vec<&str> = lines[0]
        .strip_prefix(&prefix)
        .unwrap()
        .splitn(3, ':')
        .collect();
    assert!(position[0].parse::<usize>().unwrap() >= 2, "{lines:?}");
    assert!(position[2].contains("not valid YAML"), "{lines:?}");
}

/// The upstream documentation's ConnectorClasses (shared/reference).
fn reference_classes() -> PathBuf {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("CONNECTORS_REFERENCE_DIR").map(PathBuf::from) {
        candidates.push(dir.join("reference/connectorclasses"));
        candidates.push(dir.join("connectorclasses"));
        candidates.push(dir);
    }
    candidates.push(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/reference/connectorclasses"),
    );
    candidates.push(PathBuf::from("/work/shared/reference/connectorclasses"));
    candidates
        .into_iter()
        .find(|dir| dir.join("connectorclass--git.yaml").is_file())
        .expect("reference ConnectorClasses: set CONNECTORS_REFERENCE_DIR to shared/")
}

#[test]
fn every_reference_connectorclass_passes() {
    let dir = reference_classes();
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    assert!(files.len() >= 7, "{files:?}");
    for file in &files {
        let output = lint(&[file]);
        assert!(
            output.status.success(),
            "{}:\n{}{}",
            file.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.stdout.is_empty(), "{output:?}");
    }
    // The directory at once, as an author would pass it, with the quick start.
    let quickstart = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart");
    assert!(lint(&[&dir, &quickstart]).status.success());
}
