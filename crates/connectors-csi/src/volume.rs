//! VolumeRequest: the volume attributes kubelet passes, parsed and checked.
//!
//! Everything a pod can put in `volumeAttributes` is validated here, before
//! any API call, so a typo fails the mount with a message naming the attribute
//! (SPEC §2). Kubelet's own `csi.storage.k8s.io/*` attributes are read here too.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value as Json};

use crate::tokens::Token;

mod duration;
mod timestamp;

pub use duration::parse_go_duration;

/// Attribute names (the pod-facing ones and kubelet's).
pub mod attr {
    pub const CONNECTORS: &str = "connectors";
    pub const CONNECTOR_NAME: &str = "connector.name";
    pub const CONNECTOR_NAMESPACE: &str = "connector.namespace";
    pub const CONFIGURATION_NAMES: &str = "configuration.names";
    pub const CONFIGURATION_PARAMS: &str = "configuration.params";
    pub const TOKEN_EXPIRATION: &str = "token.expiration";
    pub const POD_NAME: &str = "csi.storage.k8s.io/pod.name";
    pub const POD_NAMESPACE: &str = "csi.storage.k8s.io/pod.namespace";
    pub const POD_UID: &str = "csi.storage.k8s.io/pod.uid";
    pub const SERVICE_ACCOUNT: &str = "csi.storage.k8s.io/serviceAccount.name";
    pub const EPHEMERAL: &str = "csi.storage.k8s.io/ephemeral";
    pub const SERVICE_ACCOUNT_TOKENS: &str = "csi.storage.k8s.io/serviceAccount.tokens";
}

/// `token.expiration` when the pod does not set it.
pub const DEFAULT_TOKEN_EXPIRATION: Duration = Duration::from_secs(30 * 60);
/// The TokenRequest API refuses anything shorter than 10 minutes.
pub const MIN_TOKEN_EXPIRATION: Duration = Duration::from_secs(10 * 60);
/// A day: a leaked file should not stay useful for longer.
pub const MAX_TOKEN_EXPIRATION: Duration = Duration::from_secs(24 * 60 * 60);

/// One connector of the volume.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectorRef {
    pub namespace: String,
    pub name: String,
}

impl fmt::Display for ConnectorRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The pod the volume is for, as kubelet describes it (`podInfoOnMount`).
/// Fields kubelet did not pass are empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodInfo {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub service_account: String,
}

/// `configuration.names`: what to include, then which final files to drop.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigurationSelection {
    /// Configuration names, in the order given, without repeats.
    pub include: Vec<String>,
    /// File names given as `!name`.
    pub exclude: Vec<String>,
}

/// A volume's request, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct VolumeRequest {
    pub connectors: Vec<ConnectorRef>,
    pub pod: PodInfo,
    pub token_expiration: Duration,
    pub configurations: ConfigurationSelection,
    /// `configuration.params`: configuration name → param values.
    pub params: BTreeMap<String, Map<String, Json>>,
    /// `csi.storage.k8s.io/ephemeral`, when kubelet said.
    pub ephemeral: Option<bool>,
    kubelet_tokens: KubeletTokens,
}

/// A malformed volume attribute (→ InvalidArgument). Never holds a token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("volume attribute {attribute:?}: {problem}")]
pub struct AttributeError {
    pub attribute: &'static str,
    pub problem: String,
}

impl AttributeError {
    fn new(attribute: &'static str, problem: impl Into<String>) -> AttributeError {
        AttributeError {
            attribute,
            problem: problem.into(),
        }
    }
}

impl VolumeRequest {
    /// volume_context = NodePublishVolumeRequest.volume_context; secrets = .secrets
    pub fn parse(
        volume_context: &HashMap<String, String>,
        secrets: &HashMap<String, String>,
    ) -> Result<VolumeRequest, AttributeError> {
        let get = |key: &str| volume_context.get(key).map(String::as_str);
        let pod = PodInfo {
            name: get(attr::POD_NAME).unwrap_or_default().to_owned(),
            namespace: get(attr::POD_NAMESPACE).unwrap_or_default().to_owned(),
            uid: get(attr::POD_UID).unwrap_or_default().to_owned(),
            service_account: get(attr::SERVICE_ACCOUNT).unwrap_or_default().to_owned(),
        };
        if !pod.namespace.is_empty() {
            check_label(attr::POD_NAMESPACE, &pod.namespace)?;
        }
        let connectors = parse_connectors(&get, &pod.namespace)?;
        let configurations = parse_selection(get(attr::CONFIGURATION_NAMES))?;
        let params = parse_params(get(attr::CONFIGURATION_PARAMS), &configurations)?;
        let token_expiration = parse_expiration(get(attr::TOKEN_EXPIRATION))?;
        let ephemeral = get(attr::EPHEMERAL).map(parse_ephemeral).transpose()?;
        let tokens_json = secrets
            .get(attr::SERVICE_ACCOUNT_TOKENS)
            .or_else(|| volume_context.get(attr::SERVICE_ACCOUNT_TOKENS));
        let kubelet_tokens = match tokens_json {
            Some(json) => KubeletTokens::parse(json)?,
            None => KubeletTokens::default(),
        };
        Ok(VolumeRequest {
            connectors,
            pod,
            token_expiration,
            configurations,
            params,
            ephemeral,
            kubelet_tokens,
        })
    }

    /// kubelet-provided token for `audience` (secrets first, then volume_context)
    pub fn kubelet_token(&self, audience: &str) -> Option<Token> {
        self.kubelet_tokens.0.get(audience).cloned()
    }

    /// Whether kubelet passed any token at all (it then calls again to refresh).
    pub fn has_kubelet_tokens(&self) -> bool {
        !self.kubelet_tokens.0.is_empty()
    }
}

/// Tokens kubelet passed, by audience. Debug shows audiences only.
#[derive(Clone, Default, PartialEq)]
struct KubeletTokens(BTreeMap<String, Token>);

impl fmt::Debug for KubeletTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|audience| (audience, "<redacted>")))
            .finish()
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct KubeletTokenJson {
    token: String,
    #[serde(default)]
    expiration_timestamp: Option<String>,
}

impl KubeletTokens {
    fn parse(json: &str) -> Result<KubeletTokens, AttributeError> {
        const ATTR: &str = attr::SERVICE_ACCOUNT_TOKENS;
        // serde's message could quote the token: report only where it broke.
        let entries: BTreeMap<String, KubeletTokenJson> =
            serde_json::from_str(json).map_err(|err| {
                AttributeError::new(
                    ATTR,
                    format!(
                        "not a JSON object of audience to {{\"token\", \"expirationTimestamp\"}} \
                         (line {} column {})",
                        err.line(),
                        err.column()
                    ),
                )
            })?;
        let mut tokens = BTreeMap::new();
        for (audience, entry) in entries {
            let expires_at = match entry.expiration_timestamp.as_deref() {
                None | Some("") => None,
                Some(text) => Some(timestamp::parse_rfc3339(text).map_err(|problem| {
                    AttributeError::new(
                        ATTR,
                        format!("expirationTimestamp of audience {audience:?}: {problem}"),
                    )
                })?),
            };
            if entry.token.is_empty() {
                return Err(AttributeError::new(
                    ATTR,
                    format!("empty token for audience {audience:?}"),
                ));
            }
            tokens.insert(audience, Token::new(entry.token, expires_at));
        }
        Ok(KubeletTokens(tokens))
    }
}

fn parse_connectors<'a>(
    get: &impl Fn(&str) -> Option<&'a str>,
    pod_namespace: &str,
) -> Result<Vec<ConnectorRef>, AttributeError> {
    let mut refs = Vec::new();
    if let Some(list) = get(attr::CONNECTORS) {
        for item in comma_items(list) {
            let (namespace, name) = match item.split_once('/') {
                Some((ns, name)) => (ns, name),
                None => ("", item),
            };
            let namespace = default_namespace(attr::CONNECTORS, namespace, pod_namespace)?;
            let connector = checked_ref(attr::CONNECTORS, namespace, name)?;
            if refs.contains(&connector) {
                return Err(AttributeError::new(
                    attr::CONNECTORS,
                    format!("connector {connector} is listed twice"),
                ));
            }
            refs.push(connector);
        }
    } else if let Some(name) = get(attr::CONNECTOR_NAME).map(str::trim) {
        let namespace = get(attr::CONNECTOR_NAMESPACE).unwrap_or_default().trim();
        if !namespace.is_empty() {
            check_label(attr::CONNECTOR_NAMESPACE, namespace)?;
        }
        let namespace = default_namespace(attr::CONNECTOR_NAMESPACE, namespace, pod_namespace)?;
        refs.push(checked_ref(attr::CONNECTOR_NAME, namespace, name)?);
    }
    if refs.is_empty() {
        let attribute = if get(attr::CONNECTORS).is_some() {
            attr::CONNECTORS
        } else {
            attr::CONNECTOR_NAME
        };
        return Err(AttributeError::new(
            attribute,
            "at least one connector is required (set \"connectors\" or \"connector.name\")",
        ));
    }
    Ok(refs)
}

fn default_namespace<'a>(
    attribute: &'static str,
    namespace: &'a str,
    pod_namespace: &'a str,
) -> Result<&'a str, AttributeError> {
    match (namespace, pod_namespace) {
        ("", "") => Err(AttributeError::new(
            attribute,
            format!(
                "no namespace given and kubelet did not pass the pod's ({})",
                attr::POD_NAMESPACE
            ),
        )),
        ("", pod) => Ok(pod),
        (ns, _) => Ok(ns),
    }
}

fn checked_ref(
    attribute: &'static str,
    namespace: &str,
    name: &str,
) -> Result<ConnectorRef, AttributeError> {
    check_label(attribute, namespace)?;
    check_subdomain(attribute, name)?;
    Ok(ConnectorRef {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    })
}

/// A namespace: an RFC 1123 label.
fn check_label(attribute: &'static str, value: &str) -> Result<(), AttributeError> {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if ok {
        return Ok(());
    }
    Err(AttributeError::new(
        attribute,
        format!(
            "{value:?} is not a valid namespace (lowercase letters, digits and '-', \
             at most 63, starting and ending with a letter or digit)"
        ),
    ))
}

/// An object name: an RFC 1123 subdomain.
fn check_subdomain(attribute: &'static str, value: &str) -> Result<(), AttributeError> {
    let ok = !value.is_empty()
        && value.len() <= 253
        && value.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        });
    if ok {
        return Ok(());
    }
    Err(AttributeError::new(
        attribute,
        format!(
            "{value:?} is not a valid connector name (lowercase letters, digits, '-' and '.', \
             at most 253, starting and ending with a letter or digit)"
        ),
    ))
}

/// Whether `name` may be a file of the volume: `[A-Za-z0-9._-]+`, not `.`/`..`.
pub fn is_valid_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn comma_items(list: &str) -> impl Iterator<Item = &str> {
    list.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

fn parse_selection(list: Option<&str>) -> Result<ConfigurationSelection, AttributeError> {
    let mut selection = ConfigurationSelection::default();
    for item in comma_items(list.unwrap_or_default()) {
        if let Some(file) = item.strip_prefix('!') {
            let file = file.trim();
            if !is_valid_file_name(file) {
                return Err(AttributeError::new(
                    attr::CONFIGURATION_NAMES,
                    format!(
                        "exclusion {item:?} does not name a file (letters, digits, '.', '_', '-')"
                    ),
                ));
            }
            if !selection.exclude.iter().any(|f| f == file) {
                selection.exclude.push(file.to_owned());
            }
        } else if item.chars().any(char::is_whitespace) {
            return Err(AttributeError::new(
                attr::CONFIGURATION_NAMES,
                format!("configuration name {item:?} contains whitespace"),
            ));
        } else if !selection.include.iter().any(|c| c == item) {
            selection.include.push(item.to_owned());
        }
    }
    Ok(selection)
}

fn parse_params(
    json: Option<&str>,
    selection: &ConfigurationSelection,
) -> Result<BTreeMap<String, Map<String, Json>>, AttributeError> {
    const ATTR: &str = attr::CONFIGURATION_PARAMS;
    let Some(json) = json.filter(|text| !text.trim().is_empty()) else {
        return Ok(BTreeMap::new());
    };
    let parsed: Json = serde_json::from_str(json)
        .map_err(|err| AttributeError::new(ATTR, format!("not valid JSON: {err}")))?;
    let Json::Object(by_configuration) = parsed else {
        return Err(AttributeError::new(
            ATTR,
            "must be a JSON object keyed by configuration name, \
             e.g. {\"npmrc\": {\"registry\": \"npm-proxy\"}}",
        ));
    };
    let mut params = BTreeMap::new();
    for (configuration, values) in by_configuration {
        if !selection.include.contains(&configuration) {
            return Err(AttributeError::new(
                ATTR,
                format!(
                    "configuration {configuration:?} is not included in {:?}",
                    attr::CONFIGURATION_NAMES
                ),
            ));
        }
        let Json::Object(values) = values else {
            return Err(AttributeError::new(
                ATTR,
                format!("the value for configuration {configuration:?} must be a JSON object of param values"),
            ));
        };
        params.insert(configuration, values);
    }
    Ok(params)
}

fn parse_expiration(text: Option<&str>) -> Result<Duration, AttributeError> {
    const ATTR: &str = attr::TOKEN_EXPIRATION;
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(DEFAULT_TOKEN_EXPIRATION);
    };
    let duration = parse_go_duration(text).map_err(|problem| AttributeError::new(ATTR, problem))?;
    if !(MIN_TOKEN_EXPIRATION..=MAX_TOKEN_EXPIRATION).contains(&duration) {
        return Err(AttributeError::new(
            ATTR,
            format!("{text:?} is out of range: must be between 10m and 24h"),
        ));
    }
    Ok(duration)
}

fn parse_ephemeral(text: &str) -> Result<bool, AttributeError> {
    match text {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(AttributeError::new(
            attr::EPHEMERAL,
            format!("{other:?} is not \"true\" or \"false\""),
        )),
    }
}

#[cfg(test)]
mod tests {
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
        VolumeRequest::parse(&context(pairs), &HashMap::new())
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
        let err = VolumeRequest::parse(&context, &HashMap::new()).unwrap_err();
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

    const TOKENS: &str =
        r#"{"connectors":{"token":"tok-ctx","expirationTimestamp":"2030-01-02T03:04:05Z"}}"#;

    #[test]
    fn kubelet_tokens_are_read_from_secrets_before_volume_context() {
        let ctx = context(&[
            (attr::CONNECTORS, "git"),
            (attr::SERVICE_ACCOUNT_TOKENS, TOKENS),
        ]);
        let req = VolumeRequest::parse(&ctx, &HashMap::new()).unwrap();
        assert_eq!(req.kubelet_token("connectors").unwrap().secret(), "tok-ctx");
        assert!(req.kubelet_token("other").is_none());
        let expires = req.kubelet_token("connectors").unwrap().expires_at.unwrap();
        let secs = expires
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert_eq!(secs, 1_893_553_445);

        let secrets = HashMap::from([(
            attr::SERVICE_ACCOUNT_TOKENS.to_string(),
            TOKENS.replace("tok-ctx", "tok-secret"),
        )]);
        let req = VolumeRequest::parse(&ctx, &secrets).unwrap();
        assert_eq!(
            req.kubelet_token("connectors").unwrap().secret(),
            "tok-secret"
        );
        assert!(req.has_kubelet_tokens());
    }

    #[test]
    fn debug_of_a_request_never_shows_a_token() {
        let req = parse(&[
            (attr::CONNECTORS, "git"),
            (attr::SERVICE_ACCOUNT_TOKENS, TOKENS),
        ])
        .unwrap();
        let shown = format!("{req:?}");
        assert!(!shown.contains("tok-ctx"), "{shown}");
        assert!(shown.contains("connectors"), "{shown}");
    }

    #[test]
    fn malformed_kubelet_tokens_are_rejected_without_echoing_them() {
        let err = error(&[
            (attr::CONNECTORS, "git"),
            (attr::SERVICE_ACCOUNT_TOKENS, r#"{"a": "secret-tok"}"#),
        ]);
        assert_eq!(err.attribute, attr::SERVICE_ACCOUNT_TOKENS);
        assert!(!err.to_string().contains("secret-tok"), "{err}");
        let err = error(&[
            (attr::CONNECTORS, "git"),
            (
                attr::SERVICE_ACCOUNT_TOKENS,
                r#"{"a": {"token": "t", "expirationTimestamp": "tomorrow"}}"#,
            ),
        ]);
        assert!(
            err.problem
                .contains("expirationTimestamp of audience \"a\""),
            "{err}"
        );
        let err = error(&[
            (attr::CONNECTORS, "git"),
            (attr::SERVICE_ACCOUNT_TOKENS, r#"{"a": {"token": ""}}"#),
        ]);
        assert_eq!(err.problem, "empty token for audience \"a\"");
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
}
