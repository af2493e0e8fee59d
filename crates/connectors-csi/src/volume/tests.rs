//! The attribute parser, attribute by attribute.

use super::*;

fn context(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    let mut map: HashMap<String, String> =
        HashMap::from([(attr::POD_NAMESPACE.into(), "team-a".into())]);
    for (k, v) in pairs {
        map.insert((*k).into(), (*v).into());
    }
    map
}

fn parse(pairs: &[(&str, &str)]) -> Result<VolumeRequest, AttributeError> {
    VolumeRequest::parse(&context(pairs))
}

fn error(pairs: &[(&str, &str)]) -> AttributeError {
    parse(pairs).unwrap_err()
}

fn cref(ns: &str, name: &str) -> ConnectorRef {
    ConnectorRef {
        namespace: ns.into(),
        name: name.into(),
    }
}

#[test]
fn connectors_list_mixes_qualified_and_pod_namespace_names() {
    let req = parse(&[(attr::CONNECTORS, "git, other/npm ,")]).unwrap();
    assert_eq!(
        req.connectors,
        vec![cref("team-a", "git"), cref("other", "npm")]
    );
    assert_eq!(req.connectors[1].to_string(), "other/npm");
}

#[test]
fn legacy_connector_name_uses_connector_namespace_or_the_pods() {
    let req = parse(&[(attr::CONNECTOR_NAME, "git-connector")]).unwrap();
    assert_eq!(req.connectors, vec![cref("team-a", "git-connector")]);
    let req = parse(&[
        (attr::CONNECTOR_NAME, "git-connector"),
        (attr::CONNECTOR_NAMESPACE, "default"),
    ])
    .unwrap();
    assert_eq!(req.connectors, vec![cref("default", "git-connector")]);
}

#[test]
fn connectors_attribute_takes_precedence_over_the_legacy_form() {
    let req = parse(&[(attr::CONNECTORS, "a"), (attr::CONNECTOR_NAME, "b")]).unwrap();
    assert_eq!(req.connectors, vec![cref("team-a", "a")]);
}

#[test]
fn a_volume_without_connectors_is_rejected() {
    let err = error(&[]);
    assert_eq!(err.attribute, attr::CONNECTOR_NAME);
    assert!(err.problem.contains("at least one connector"), "{err}");
    let err = error(&[(attr::CONNECTORS, " , ")]);
    assert_eq!(err.attribute, attr::CONNECTORS);
}

#[test]
fn invalid_connector_names_and_namespaces_name_the_attribute() {
    let err = error(&[(attr::CONNECTORS, "Bad_Name")]);
    assert_eq!(err.attribute, attr::CONNECTORS);
    assert!(err
        .problem
        .contains("\"Bad_Name\" is not a valid connector name"));
    let err = error(&[(attr::CONNECTORS, "UPPER/git")]);
    assert!(err.problem.contains("not a valid namespace"), "{err}");
    let err = error(&[(attr::CONNECTORS, "a/b/c")]);
    assert!(err.problem.contains("\"b/c\""), "{err}");
    let err = error(&[
        (attr::CONNECTOR_NAME, "x"),
        (attr::CONNECTOR_NAMESPACE, "-x"),
    ]);
    assert_eq!(err.attribute, attr::CONNECTOR_NAMESPACE);
    let err = error(&[(attr::CONNECTOR_NAME, "x.")]);
    assert_eq!(err.attribute, attr::CONNECTOR_NAME);
    assert_eq!(
        err.to_string(),
        "volume attribute \"connector.name\": \"x.\" is not a valid connector name \
         (lowercase letters, digits, '-' and '.', at most 253, starting and ending with a letter or digit)"
    );
}

#[test]
fn a_connector_listed_twice_is_rejected() {
    let err = error(&[(attr::CONNECTORS, "git,team-a/git")]);
    assert_eq!(err.problem, "connector team-a/git is listed twice");
}

#[test]
fn unqualified_connector_without_pod_namespace_is_rejected() {
    let context = HashMap::from([(attr::CONNECTORS.to_string(), "git".to_string())]);
    let err = VolumeRequest::parse(&context).unwrap_err();
    assert_eq!(err.attribute, attr::CONNECTORS);
    assert!(err.problem.contains(attr::POD_NAMESPACE), "{err}");
}

#[test]
fn configuration_names_split_includes_and_exclusions() {
    let req = parse(&[
        (attr::CONNECTORS, "git"),
        (
            attr::CONFIGURATION_NAMES,
            "config, !ca.cert,npmrc,config,!.env",
        ),
    ])
    .unwrap();
    assert_eq!(req.configurations.include, vec!["config", "npmrc"]);
    assert_eq!(req.configurations.exclude, vec!["ca.cert", ".env"]);
}

#[test]
fn omitted_configuration_names_select_built_ins_only() {
    let req = parse(&[(attr::CONNECTORS, "git")]).unwrap();
    assert_eq!(req.configurations, ConfigurationSelection::default());
}

#[test]
fn exclusions_must_be_file_names() {
    let err = error(&[
        (attr::CONNECTORS, "git"),
        (attr::CONFIGURATION_NAMES, "!.."),
    ]);
    assert_eq!(err.attribute, attr::CONFIGURATION_NAMES);
    assert!(err.problem.contains("\"!..\""), "{err}");
    let err = error(&[
        (attr::CONNECTORS, "git"),
        (attr::CONFIGURATION_NAMES, "!a/b"),
    ]);
    assert!(err.problem.contains("does not name a file"), "{err}");
    let err = error(&[
        (attr::CONNECTORS, "git"),
        (attr::CONFIGURATION_NAMES, "a b"),
    ]);
    assert!(err.problem.contains("whitespace"), "{err}");
}

#[test]
fn configuration_params_are_kept_per_configuration() {
    let req = parse(&[
        (attr::CONNECTORS, "git"),
        (attr::CONFIGURATION_NAMES, "npmrc"),
        (
            attr::CONFIGURATION_PARAMS,
            r#"{"npmrc": {"registry": "npm-proxy"}}"#,
        ),
    ])
    .unwrap();
    assert_eq!(req.params["npmrc"]["registry"], Json::from("npm-proxy"));
}

#[test]
fn malformed_configuration_params_name_the_attribute() {
    let base = [
        (attr::CONNECTORS, "git"),
        (attr::CONFIGURATION_NAMES, "npmrc"),
    ];
    let with = |json: &'static str| {
        let mut pairs = base.to_vec();
        pairs.push((attr::CONFIGURATION_PARAMS, json));
        error(&pairs)
    };
    let err = with("{nope");
    assert_eq!(err.attribute, attr::CONFIGURATION_PARAMS);
    assert!(err.problem.starts_with("not valid JSON"), "{err}");
    assert!(with("[1]").problem.contains("keyed by configuration name"));
    assert_eq!(
        with(r#"{"yarnrc": {}}"#).problem,
        "configuration \"yarnrc\" is not included in \"configuration.names\""
    );
    assert!(with(r#"{"npmrc": "x"}"#)
        .problem
        .contains("must be a JSON object"));
}

#[test]
fn token_expiration_defaults_to_30_minutes_and_reads_go_durations() {
    let req = parse(&[(attr::CONNECTORS, "git")]).unwrap();
    assert_eq!(req.token_expiration, Duration::from_secs(1800));
    let req = parse(&[(attr::CONNECTORS, "git"), (attr::TOKEN_EXPIRATION, "1h30m")]).unwrap();
    assert_eq!(req.token_expiration, Duration::from_secs(5400));
}

#[test]
fn token_expiration_out_of_bounds_or_malformed_is_rejected() {
    for (text, problem) in [
        ("5m", "\"5m\" is out of range: must be between 10m and 24h"),
        (
            "25h",
            "\"25h\" is out of range: must be between 10m and 24h",
        ),
        ("-1h", "\"-1h\" is negative"),
        ("30", "time: missing unit in duration \"30\""),
        ("1x", "time: unknown unit \"x\" in duration \"1x\""),
    ] {
        let err = error(&[(attr::CONNECTORS, "git"), (attr::TOKEN_EXPIRATION, text)]);
        assert_eq!(err.attribute, attr::TOKEN_EXPIRATION);
        assert_eq!(err.problem, problem);
    }
}

#[test]
fn pod_info_comes_from_kubelet_attributes() {
    let req = parse(&[
        (attr::CONNECTORS, "git"),
        (attr::POD_NAME, "web"),
        (attr::POD_UID, "u-1"),
        (attr::SERVICE_ACCOUNT, "default"),
        (attr::EPHEMERAL, "true"),
    ])
    .unwrap();
    assert_eq!(req.pod.name, "web");
    assert_eq!(req.pod.namespace, "team-a");
    assert_eq!(req.pod.uid, "u-1");
    assert_eq!(req.pod.service_account, "default");
    assert_eq!(req.ephemeral, Some(true));
    let err = error(&[(attr::CONNECTORS, "git"), (attr::EPHEMERAL, "yes")]);
    assert_eq!(err.attribute, attr::EPHEMERAL);
    let err = error(&[(attr::CONNECTORS, "git"), (attr::POD_NAMESPACE, "Bad")]);
    assert_eq!(err.attribute, attr::POD_NAMESPACE);
}

#[test]
fn file_names_follow_the_volume_rules() {
    for good in [".gitconfig", "ca.crt", "a_b-c.1", "..data1"] {
        assert!(is_valid_file_name(good), "{good}");
    }
    for bad in ["", ".", "..", "a/b", "a b", "é"] {
        assert!(!is_valid_file_name(bad), "{bad}");
    }
}

#[test]
fn more_than_the_connector_cap_is_refused_and_the_cap_itself_is_fine() {
    let names = |n: usize| {
        (0..n)
            .map(|i| format!("c{i}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let at_cap = parse(&[(attr::CONNECTORS, &names(MAX_CONNECTORS))]).unwrap();
    assert_eq!(at_cap.connectors.len(), MAX_CONNECTORS);
    let err = error(&[(attr::CONNECTORS, &names(MAX_CONNECTORS + 1))]);
    assert_eq!(err.attribute, attr::CONNECTORS);
    assert!(err.problem.contains("more than 32"), "{err}");
}

#[test]
fn a_duplicate_far_down_a_long_list_is_found() {
    let mut list: Vec<String> = (0..MAX_CONNECTORS - 1).map(|i| format!("c{i}")).collect();
    list.push("c3".into());
    let err = error(&[(attr::CONNECTORS, &list.join(","))]);
    assert!(err.problem.contains("team-a/c3 is listed twice"), "{err}");
}

#[test]
fn oversized_values_are_refused_quoting_only_a_few_dozen_characters() {
    let huge = "x".repeat(1024 * 1024);
    for key in [
        attr::CONNECTORS,
        attr::CONNECTOR_NAME,
        attr::CONFIGURATION_PARAMS,
        "anything",
    ] {
        let err = error(&[(key, &huge)]);
        let message = err.to_string();
        assert!(message.len() < 200, "{key}: {} bytes", message.len());
        assert!(message.contains("more than the limit"), "{message}");
        // The key quoted once, as Go would print it.
        assert!(
            message.contains(&format!("the value of {key:?} is 1048576 bytes")),
            "{message}"
        );
    }
    let params = format!("{{\"c\": {{\"v\": \"{}\"}}}}", "p".repeat(MAX_PARAMS_BYTES));
    let err = error(&[(attr::CONFIGURATION_PARAMS, &params)]);
    assert_eq!(err.attribute, attr::CONFIGURATION_PARAMS);
}

#[test]
fn a_long_bad_name_is_quoted_short() {
    let long = "Bad".repeat(10_000);
    let message = error(&[(attr::CONNECTOR_NAME, &long)]).to_string();
    assert!(message.len() < 300, "{message}");
    assert!(message.contains("30000 bytes"), "{message}");
}

#[test]
fn too_many_attributes_are_refused() {
    let mut many = context(&[(attr::CONNECTOR_NAME, "git")]);
    for i in 0..MAX_ATTRIBUTES {
        many.insert(format!("extra.{i}"), "x".into());
    }
    let err = VolumeRequest::parse(&many).unwrap_err();
    assert!(err.problem.contains("attributes"), "{err}");
}
