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

const TOKEN: &str = "tok-Secret-123";
const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

fn class(name: &str, proxy: Option<&str>, configurations: Json) -> Arc<ConnectorClass> {
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

fn connector(ns: &str, name: &str, class: &str, proxy: Option<&str>) -> Arc<Connector> {
    let mut raw = json!({
        "apiVersion": "connectors.alauda.io/v1alpha1", "kind": "Connector",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"connectorClassName": class, "address": format!("https://{name}.example.com")},
    });
    if let Some(url) = proxy {
        raw["status"] = json!({"proxy": {"httpAddress": {"url": url}}});
    }
    Arc::new(Connector::from_json(raw).unwrap())
}

fn resolved(connector: &Arc<Connector>, class: &Arc<ConnectorClass>) -> ResolvedConnector {
    ResolvedConnector {
        connector: Arc::clone(connector),
        class: Arc::clone(class),
    }
}

fn request(connectors: &[ResolvedConnector], extra: &[(&str, &str)]) -> VolumeRequest {
    let list: Vec<String> = connectors.iter().map(|r| r.connector.key()).collect();
    let mut context = HashMap::from([
        (attr::CONNECTORS.to_string(), list.join(",")),
        (attr::POD_NAMESPACE.to_string(), "default".to_string()),
    ]);
    for (k, v) in extra {
        context.insert((*k).into(), (*v).into());
    }
    VolumeRequest::parse(&context).unwrap()
}

fn plan_with(
    renderer: &Renderer,
    connectors: &[ResolvedConnector],
    extra: &[(&str, &str)],
    overrides: Option<&BTreeMap<String, String>>,
) -> Result<FilePlan, RenderError> {
    let req = request(connectors, extra);
    renderer.plan(&req, connectors, overrides, &Token::new(TOKEN, None), CA)
}

fn plan(connectors: &[ResolvedConnector], extra: &[(&str, &str)]) -> Result<FilePlan, RenderError> {
    plan_with(&Renderer::default(), connectors, extra, None)
}

fn text(plan: &FilePlan, name: &str) -> String {
    let file = plan.get(name).unwrap_or_else(|| panic!("no file {name}"));
    String::from_utf8(file.content.clone()).unwrap()
}

fn names(plan: &FilePlan) -> Vec<&str> {
    plan.files.iter().map(|f| f.name.as_str()).collect()
}

fn git_volume() -> Vec<ResolvedConnector> {
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

#[test]
fn quick_start_volume_gets_the_builtins_and_the_configuration() {
    let plan = plan(&git_volume(), &[(attr::CONFIGURATION_NAMES, "config")]).unwrap();
    assert_eq!(
        names(&plan),
        [
            ".env",
            ".gitconfig",
            "ca.cert",
            "ca.crt",
            "connector.status.proxyAddress",
            "context.proxy.caCert",
            "context.token",
            "http.proxy",
            "https.proxy"
        ]
    );
    assert_eq!(text(&plan, ".gitconfig"), "this is git config\n");
    assert_eq!(text(&plan, "context.token"), TOKEN);
    assert_eq!(
        text(&plan, "connector.status.proxyAddress"),
        "http://c-git.default.svc:8080"
    );
    for ca in ["context.proxy.caCert", "ca.crt", "ca.cert"] {
        assert_eq!(text(&plan, ca), CA);
    }
}

#[test]
fn omitted_configuration_names_give_built_ins_only() {
    let plan = plan(&git_volume(), &[]).unwrap();
    assert!(plan.get(".gitconfig").is_none());
    assert_eq!(plan.files.len(), 8);
}

#[test]
fn proxy_files_carry_connectors_token_and_the_connector_proxy_when_the_class_has_none() {
    let plan = plan(&git_volume(), &[]).unwrap();
    let url = format!("http://default%2Fgit-connector:{TOKEN}@c-git.default.svc:8080");
    assert_eq!(text(&plan, "http.proxy"), url);
    assert_eq!(text(&plan, "https.proxy"), url);
    assert_eq!(
        text(&plan, ".env"),
        format!("http_proxy={url}\nhttps_proxy={url}\nno_proxy=localhost,127.0.0.1,::1\n")
    );
}

#[test]
fn proxy_files_list_every_connector_and_use_the_last_class_proxy() {
    let git = class("git", Some("http://git-fwd.svc"), json!([]));
    let npm = class("npm", Some("https://npm-fwd.svc:3128"), json!([]));
    let a = connector("team-a", "g", "git", Some("http://c-g"));
    let b = connector("team-b", "n", "npm", Some("http://c-n"));
    let plan = plan(&[resolved(&a, &git), resolved(&b, &npm)], &[]).unwrap();
    assert_eq!(
        text(&plan, "http.proxy"),
        format!("https://team-a%2Fg,team-b%2Fn:{TOKEN}@npm-fwd.svc:3128")
    );
    assert_eq!(text(&plan, "connector.status.proxyAddress"), "http://c-n");
}

#[test]
fn proxy_files_are_empty_without_any_proxy_address() {
    let git = class("git", None, json!([]));
    let a = connector("team-a", "g", "git", None);
    let plan = plan(&[resolved(&a, &git)], &[]).unwrap();
    assert_eq!(text(&plan, "http.proxy"), "");
    assert_eq!(text(&plan, "connector.status.proxyAddress"), "");
}

#[test]
fn a_missing_ca_renders_empty_ca_files() {
    let volume = git_volume();
    let req = request(&volume, &[]);
    let plan = Renderer::default()
        .plan(&req, &volume, None, &Token::new(TOKEN, None), "")
        .unwrap();
    assert_eq!(text(&plan, "ca.crt"), "");
}

#[test]
fn configurations_render_in_order_and_later_files_replace_earlier_ones() {
    let git = class(
        "git",
        None,
        json!([
            {"name": "first", "data": {"shared.txt": "first", "context.token": "overridden"}},
            {"name": "second", "data": {"shared.txt": "second"}}
        ]),
    );
    let a = connector("default", "g", "git", None);
    let volume = [resolved(&a, &git)];
    let plan1 = plan(&volume, &[(attr::CONFIGURATION_NAMES, "first,second")]).unwrap();
    assert_eq!(text(&plan1, "shared.txt"), "second");
    assert_eq!(text(&plan1, "context.token"), "overridden");
    let plan2 = plan(&volume, &[(attr::CONFIGURATION_NAMES, "second,first")]).unwrap();
    assert_eq!(text(&plan2, "shared.txt"), "first");
}

#[test]
fn each_class_declaring_a_configuration_renders_it_with_its_first_connector() {
    let git = class(
        "git",
        None,
        json!([{"name": "cfg", "data": {"git.txt": "{{ .connector.metadata.name }}/{{ .connectorclass.metadata.name }}"}}]),
    );
    let npm = class(
        "npm",
        None,
        json!([{"name": "cfg", "data": {"npm.txt": "{{ .connector.metadata.name }}/{{ len .connectors }}"}}]),
    );
    let a = connector("default", "a", "git", None);
    let b = connector("default", "b", "npm", None);
    let c = connector("default", "c", "git", None);
    let volume = [resolved(&a, &git), resolved(&b, &npm), resolved(&c, &git)];
    let plan = plan(&volume, &[(attr::CONFIGURATION_NAMES, "cfg")]).unwrap();
    assert_eq!(text(&plan, "git.txt"), "a/git");
    assert_eq!(text(&plan, "npm.txt"), "b/3");
}

#[test]
fn builtins_see_the_last_connector_and_empty_configurations() {
    let git = class("git", None, json!([]));
    let a = connector("default", "a", "git", None);
    let b = connector("default", "b", "git", None);
    let overrides = BTreeMap::from([(
        "who".to_string(),
        "{{ .connector.metadata.name }} {{ len .configurations }}".to_string(),
    )]);
    let plan = plan_with(
        &Renderer::default(),
        &[resolved(&a, &git), resolved(&b, &git)],
        &[],
        Some(&overrides),
    )
    .unwrap();
    assert_eq!(text(&plan, "who"), "b 0");
}

#[test]
fn the_configmap_overrides_builtin_templates() {
    let overrides = BTreeMap::from([(
        "context.token".to_string(),
        "Bearer {{ .context.token }}".to_string(),
    )]);
    let plan = plan_with(&Renderer::default(), &git_volume(), &[], Some(&overrides)).unwrap();
    assert_eq!(text(&plan, "context.token"), format!("Bearer {TOKEN}"));
    assert_eq!(text(&plan, "ca.crt"), CA);
}

#[test]
fn exclusions_remove_final_files_and_tolerate_absent_ones() {
    let plan = plan(
        &git_volume(),
        &[(
            attr::CONFIGURATION_NAMES,
            "config,!.gitconfig,!ca.cert,!nothing-here",
        )],
    )
    .unwrap();
    assert!(plan.get(".gitconfig").is_none());
    assert!(plan.get("ca.cert").is_none());
    assert!(plan.get("ca.crt").is_some());
}

#[test]
fn an_undeclared_configuration_is_not_found_naming_it() {
    let err = plan(
        &git_volume(),
        &[(attr::CONFIGURATION_NAMES, "config,npmrc")],
    )
    .unwrap_err();
    assert!(matches!(err, RenderError::ConfigurationNotFound { .. }));
    assert_eq!(
        err.to_string(),
        "configuration \"npmrc\" is not declared by the connectorclasses of the volume (my-git)"
    );
}

fn nexus_like() -> Vec<ResolvedConnector> {
    let nexus = class(
        "nexus",
        Some("http://fwd.svc"),
        json!([{"name": "npmrc", "params": [
            {"name": "registry", "type": "string"},
            {"name": "strictSSL", "type": "string", "default": "true", "enum": ["true", "false"]}
        ], "data": {".npmrc": "registry={{ index .configurations \"registry\" }} strict={{ .configurations.strictSSL }}"}}]),
    );
    let conn = connector("default", "nexus", "nexus", None);
    vec![resolved(&conn, &nexus)]
}

#[test]
fn params_reach_templates_with_defaults_applied() {
    let plan = plan(
        &nexus_like(),
        &[
            (attr::CONFIGURATION_NAMES, "npmrc"),
            (
                attr::CONFIGURATION_PARAMS,
                r#"{"npmrc": {"registry": "npm-proxy"}}"#,
            ),
        ],
    )
    .unwrap();
    assert_eq!(text(&plan, ".npmrc"), "registry=npm-proxy strict=true");
}

#[test]
fn params_that_do_not_fit_are_invalid_naming_class_configuration_and_param() {
    let cases = [
        (
            None,
            "param \"registry\": required, and not given in configuration.params",
        ),
        (
            Some(r#"{"npmrc": {"registry": "r", "strictSSL": "no"}}"#),
            "param \"strictSSL\": \"no\" is not one of true, false",
        ),
        (
            Some(r#"{"npmrc": {"registry": ["r"]}}"#),
            "param \"registry\": must be a string, got an array",
        ),
        (
            Some(r#"{"npmrc": {"registry": "r", "mirror": "m"}}"#),
            "param \"mirror\": unknown param (declared: registry, strictSSL)",
        ),
    ];
    for (params, problem) in cases {
        let mut extra = vec![(attr::CONFIGURATION_NAMES, "npmrc")];
        if let Some(params) = params {
            extra.push((attr::CONFIGURATION_PARAMS, params));
        }
        let err = plan(&nexus_like(), &extra).unwrap_err();
        assert!(matches!(err, RenderError::Params { .. }));
        assert_eq!(
            err.to_string(),
            format!("connectorclass \"nexus\" configuration \"npmrc\": {problem}")
        );
    }
}

#[test]
fn a_configuration_without_declared_params_renders_whatever_params_it_is_given() {
    let jfrog = class(
        "jfrog",
        None,
        json!([{"name": "settings", "data": {
            "settings.xml": "<repo>{{ .configurations.repo }}</repo>{{ range .configurations.mirrors }}<m>{{ . }}</m>{{ end }}"
        }}]),
    );
    let conn = connector("default", "artifactory", "jfrog", None);
    let plan = plan(
        &[resolved(&conn, &jfrog)],
        &[
            (attr::CONFIGURATION_NAMES, "settings"),
            (
                attr::CONFIGURATION_PARAMS,
                r#"{"settings": {"repo": "libs-release", "mirrors": ["a", "b"]}}"#,
            ),
        ],
    )
    .unwrap();
    assert_eq!(
        text(&plan, "settings.xml"),
        "<repo>libs-release</repo><m>a</m><m>b</m>"
    );
}

#[test]
fn invalid_file_names_in_a_class_are_rejected() {
    for bad in ["../escape", "a/b", "..", ".", "sp ace"] {
        let bad_class = class("bad", None, json!([{"name": "c", "data": {bad: "x"}}]));
        let conn = connector("default", "b", "bad", None);
        let err = plan(
            &[resolved(&conn, &bad_class)],
            &[(attr::CONFIGURATION_NAMES, "c")],
        )
        .unwrap_err();
        assert!(matches!(err, RenderError::FileName { .. }), "{bad}: {err}");
        assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
    }
    let overrides = BTreeMap::from([("a/b".to_string(), "x".to_string())]);
    let err = plan_with(&Renderer::default(), &git_volume(), &[], Some(&overrides)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "built-in files: file name \"a/b\" is not allowed (letters, digits, '.', '_', '-'; not \".\" or \"..\")"
    );
}

#[test]
fn a_template_error_names_class_configuration_file_and_position() {
    let broken = class(
        "broken",
        None,
        json!([{"name": "cfg", "data": {"out.txt": "line one\n{{ .connector.spec.address | nosuchfunc }}"}}]),
    );
    let conn = connector("default", "b", "broken", None);
    let err = plan(
        &[resolved(&conn, &broken)],
        &[(attr::CONFIGURATION_NAMES, "cfg")],
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("connectorclass \"broken\" configuration \"cfg\": file \"out.txt\": template: out.txt:2:"),
        "{message}"
    );

    let failing = class(
        "failing",
        None,
        json!([{"name": "cfg", "data": {"out.txt": "{{ index .connectors 5 }}"}}]),
    );
    let err = plan(
        &[resolved(&conn, &failing)],
        &[(attr::CONFIGURATION_NAMES, "cfg")],
    )
    .unwrap_err();
    assert!(err.to_string().contains("template: out.txt:1:"), "{err}");
}

#[test]
fn a_template_error_never_carries_the_token() {
    let leaky = class(
        "leaky",
        None,
        json!([{"name": "cfg", "data": {"x": "{{ fail .context.token }}"}}]),
    );
    let conn = connector("default", "l", "leaky", None);
    let err = plan(
        &[resolved(&conn, &leaky)],
        &[(attr::CONFIGURATION_NAMES, "cfg")],
    )
    .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
}

#[test]
fn a_file_over_the_size_limit_is_resource_exhausted() {
    let big = class(
        "big",
        None,
        json!([{"name": "cfg", "data": {"big.txt": "{{ repeat 5000 \"x\" }}"}}]),
    );
    let conn = connector("default", "b", "big", None);
    let renderer = Renderer::new(RenderLimits {
        max_file_bytes: 4096,
        ..RenderLimits::default()
    });
    let err = plan_with(
        &renderer,
        &[resolved(&conn, &big)],
        &[(attr::CONFIGURATION_NAMES, "cfg")],
        None,
    )
    .unwrap_err();
    assert!(
        matches!(err, RenderError::FileTooLarge { limit: 4096, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("\"big.txt\""), "{err}");
}

#[test]
fn a_volume_over_the_size_limit_is_resource_exhausted() {
    let big = class(
        "big",
        None,
        json!([{"name": "cfg", "data": {"a.txt": "{{ repeat 3000 \"x\" }}", "b.txt": "{{ repeat 3000 \"y\" }}"}}]),
    );
    let conn = connector("default", "b", "big", None);
    let renderer = Renderer::new(RenderLimits {
        max_file_bytes: 4096,
        max_volume_bytes: 5000,
        ..RenderLimits::default()
    });
    let volume = [resolved(&conn, &big)];
    let err = plan_with(
        &renderer,
        &volume,
        &[(attr::CONFIGURATION_NAMES, "cfg")],
        None,
    )
    .unwrap_err();
    assert!(
        matches!(err, RenderError::VolumeTooLarge { limit: 5000, .. }),
        "{err}"
    );
    // Excluding a file brings the volume back under the bound.
    let plan = plan_with(
        &renderer,
        &volume,
        &[(attr::CONFIGURATION_NAMES, "cfg,!b.txt")],
        None,
    )
    .unwrap();
    assert!(plan.total_bytes() <= 5000);
}

#[test]
fn rendering_past_the_time_limit_fails() {
    let slow = class(
        "slow",
        None,
        json!([{"name": "cfg", "data": {"slow.txt": "{{ range until 20000 }}{{ range until 20000 }}{{ end }}{{ end }}"}}]),
    );
    let conn = connector("default", "s", "slow", None);
    let renderer = Renderer::new(RenderLimits {
        timeout: Duration::from_millis(20),
        ..RenderLimits::default()
    });
    let err = plan_with(
        &renderer,
        &[resolved(&conn, &slow)],
        &[(attr::CONFIGURATION_NAMES, "cfg")],
        None,
    )
    .unwrap_err();
    assert!(matches!(err, RenderError::Timeout { .. }), "{err}");
}

#[test]
fn templates_are_parsed_once_across_publishes() {
    let renderer = Renderer::default();
    let volume = git_volume();
    plan_with(
        &renderer,
        &volume,
        &[(attr::CONFIGURATION_NAMES, "config")],
        None,
    )
    .unwrap();
    let cached = renderer.cached_templates();
    plan_with(
        &renderer,
        &volume,
        &[(attr::CONFIGURATION_NAMES, "config")],
        None,
    )
    .unwrap();
    assert_eq!(renderer.cached_templates(), cached);
    assert!(cached >= 6, "{cached}");
}

#[test]
fn connector_spec_and_every_field_are_template_data() {
    let git = class(
        "git",
        None,
        json!([{"name": "c", "data": {"f": "{{ .connector.spec.address }} {{ .connector.apiVersion }} {{ .connector.spec.connectorClassName }}"}}]),
    );
    let a = connector("default", "a", "git", None);
    let plan = plan(&[resolved(&a, &git)], &[(attr::CONFIGURATION_NAMES, "c")]).unwrap();
    assert_eq!(
        text(&plan, "f"),
        "https://a.example.com connectors.alauda.io/v1alpha1 git"
    );
}

/// `shared/reference/connectorclasses`: `$CONNECTORS_REFERENCE_DIR`, else
/// beside the repository (as CI lays it out), else the workplace's copy.
pub(crate) fn reference_dir() -> PathBuf {
    let candidates = [
        std::env::var_os("CONNECTORS_REFERENCE_DIR").map(PathBuf::from),
        Some(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/reference/connectorclasses"),
        ),
        Some(PathBuf::from("/work/shared/reference/connectorclasses")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|dir| dir.is_dir())
        .expect("reference ConnectorClasses: set CONNECTORS_REFERENCE_DIR to shared/reference/connectorclasses")
}

/// A reference class, named after its file when it has no name.
fn reference_class(path: &std::path::Path) -> Arc<ConnectorClass> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut raw: Json = serde_yaml_ng::from_str(&text).unwrap();
    if raw.pointer("/metadata/name").is_none() {
        let stem = path
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .replace("--", "-");
        raw["metadata"] = json!({"name": stem});
    }
    raw["status"] = json!({"proxy": {"httpAddress": {"url": "http://connectors-proxy.connectors-system:8080"}}});
    Arc::new(ConnectorClass::from_json(raw).unwrap())
}

#[test]
fn every_reference_connector_class_renders_all_its_configurations() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(reference_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    assert!(paths.len() >= 7);
    for path in paths {
        let class = reference_class(&path);
        let conn = connector(
            "team-a",
            "conn",
            class.name(),
            Some("http://c-conn.team-a.svc"),
        );
        let volume = [resolved(&conn, &class)];
        let configurations: Vec<&str> = class
            .spec
            .configurations
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        let params: serde_json::Map<String, Json> = class
            .spec
            .configurations
            .iter()
            .map(|c| {
                let required: serde_json::Map<String, Json> = c
                    .params
                    .iter()
                    .filter(|p| p.default.is_none())
                    .map(|p| (p.name.clone(), json!("repo")))
                    .collect();
                (c.name.clone(), Json::Object(required))
            })
            .collect();
        let params = Json::Object(params).to_string();
        let names = configurations.join(",");
        let plan = plan(
            &volume,
            &[
                (attr::CONFIGURATION_NAMES, &names),
                (attr::CONFIGURATION_PARAMS, &params),
            ],
        )
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        for configuration in &class.spec.configurations {
            for file in configuration.data.keys() {
                assert!(plan.get(file).is_some(), "{}: {file}", path.display());
            }
        }
    }
}

#[test]
fn reference_git_class_renders_one_url_section_per_connector() {
    let class = reference_class(&reference_dir().join("connectors-csi--git-2.yaml"));
    let a = connector("team-a", "a", "git", Some("http://c-a"));
    let b = connector("team-a", "b", "git", Some("http://c-b"));
    let plan = plan(
        &[resolved(&a, &class), resolved(&b, &class)],
        &[(attr::CONFIGURATION_NAMES, "config")],
    )
    .unwrap();
    // base64(":tok-Secret-123")
    assert_eq!(
        text(&plan, ".gitconfig"),
        "[http]\n    extraHeader = Authorization: Basic OnRvay1TZWNyZXQtMTIz\n\
         [url \"http://c-a\"]\n    insteadOf = https://a.example.com\n\
         [url \"http://c-b\"]\n    insteadOf = https://b.example.com\n"
    );
}

#[test]
fn reference_git_class_reads_connector_params() {
    let class = reference_class(&reference_dir().join("connectors-csi--git.yaml"));
    let mut raw = connector("team-a", "a", "git", None).raw().clone();
    raw["spec"]["params"] = json!([{"name": "sslVerify", "value": "false"}]);
    let conn = Arc::new(Connector::from_json(raw).unwrap());
    let plan = plan(
        &[resolved(&conn, &class)],
        &[(attr::CONFIGURATION_NAMES, "config")],
    )
    .unwrap();
    assert_eq!(text(&plan, ".gitconfig"), "\n[http]\n  sslVerify = false\n");
}

#[test]
fn reference_nexus_settings_use_the_class_proxy_and_all_connectors() {
    let class = reference_class(&reference_dir().join("tech-design--nexus.yaml"));
    let a = connector("team-a", "a", "nexus", None);
    let b = connector("team-b", "b", "nexus", None);
    let plan = plan(
        &[resolved(&a, &class), resolved(&b, &class)],
        &[
            (attr::CONFIGURATION_NAMES, "settings"),
            (
                attr::CONFIGURATION_PARAMS,
                r#"{"settings": {"mirrorRepository": "maven-public"}}"#,
            ),
        ],
    )
    .unwrap();
    let settings = text(&plan, "settings.xml");
    assert!(
        settings.contains("<host>connectors-proxy.connectors-system</host>"),
        "{settings}"
    );
    assert!(
        settings.contains("<username>team-a/a,team-b/b</username>"),
        "{settings}"
    );
    assert!(
        settings.contains("<password>tok-Secret-123</password>"),
        "{settings}"
    );
    assert!(
        settings.contains("<url>https://a.example.com/repository/maven-public</url>"),
        "{settings}"
    );
}

#[test]
fn the_renderer_is_shared_across_publish_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Renderer>();
    let renderer = Arc::new(Renderer::default());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let renderer = Arc::clone(&renderer);
            std::thread::spawn(move || {
                let volume = git_volume();
                plan_with(
                    &renderer,
                    &volume,
                    &[(attr::CONFIGURATION_NAMES, "config")],
                    None,
                )
                .map(|plan| plan.files.len())
            })
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().unwrap().unwrap(), 9);
    }
}

/// `cargo test --release -p connectors-csi --lib plan_latency -- --ignored --nocapture`
#[test]
#[ignore = "measurement: run in release"]
fn plan_latency_with_a_warm_parse_cache_is_well_under_a_millisecond() {
    let renderer = Renderer::default();
    let class = reference_class(&reference_dir().join("tech-design--nexus.yaml"));
    let a = connector("team-a", "a", "nexus", None);
    let b = connector("team-b", "b", "nexus", None);
    let volumes = [
        ("quick start", git_volume(), "config", "{}"),
        (
            "nexus settings+npmrc, 2 connectors",
            vec![resolved(&a, &class), resolved(&b, &class)],
            "settings,npmrc",
            r#"{"npmrc": {"registry": "npm-proxy"}}"#,
        ),
    ];
    for (label, volume, names, params) in volumes {
        let extra = [
            (attr::CONFIGURATION_NAMES, names),
            (attr::CONFIGURATION_PARAMS, params),
        ];
        plan_with(&renderer, &volume, &extra, None).unwrap();
        let rounds = 2000;
        let started = std::time::Instant::now();
        for _ in 0..rounds {
            plan_with(&renderer, &volume, &extra, None).unwrap();
        }
        let per_plan = started.elapsed() / rounds;
        println!("{label}: {per_plan:?} per plan (warm cache, incl. attribute parsing)");
        assert!(per_plan < Duration::from_millis(1), "{label}: {per_plan:?}");
    }
}
