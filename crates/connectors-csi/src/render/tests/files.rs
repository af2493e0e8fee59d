//! Which files a volume gets: built-ins, proxies, configurations in order,
//! classes, overrides and exclusions.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;

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
