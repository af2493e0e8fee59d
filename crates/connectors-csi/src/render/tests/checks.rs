//! What is refused and bounded: params, file names, template errors (never
//! with the token), sizes, time; the parse cache and the template data.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;

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
    let total: usize = plan.files.iter().map(|f| f.content.len()).sum();
    assert!(total <= 5000);
}

#[test]
fn a_template_that_builds_without_end_is_resource_exhausted_naming_the_bound() {
    let doubling = class(
        "doubling",
        None,
        json!([{"name": "cfg", "data": {"big.txt": "{{ $s := \"x\" }}{{ range until 40 }}{{ $s = printf \"%s%s\" $s $s }}{{ end }}"}}]),
    );
    let conn = connector("default", "d", "doubling", None);
    let renderer = Renderer::new(RenderLimits {
        max_built_bytes: 1024 * 1024,
        ..RenderLimits::default()
    });
    let err = plan_with(
        &renderer,
        &[resolved(&conn, &doubling)],
        &[(attr::CONFIGURATION_NAMES, "cfg")],
        None,
    )
    .unwrap_err();
    assert!(
        matches!(err, RenderError::BuildLimit { limit: 1048576, .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "connectorclass \"doubling\" configuration \"cfg\": file \"big.txt\": the template built more than the limit of 1048576 bytes of values"
    );
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
