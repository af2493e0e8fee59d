//! Every reference ConnectorClass renders; the git and nexus classes render
//! what their users expect; the renderer is shared across threads.

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::catalog::manifests::reference_dir;

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
    let mut raw = connector_json("team-a", "a", "git", None);
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
