//! VolumeRequest: the volume attributes kubelet passes, parsed and checked.
//!
//! Everything a pod can put in `volumeAttributes` is validated here, before
//! any API call, so a typo fails the mount with a message naming the
//! attribute. Kubelet's own `csi.storage.k8s.io/*` pod attributes are read
//! here too; its tokens attribute is the token module's.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value as Json};

mod duration;
mod names;
#[cfg(test)]
mod tests;

pub use duration::parse_go_duration;
pub use names::is_valid_file_name;
use names::{check_label, check_subdomain};

/// Attribute names (the pod-facing ones and kubelet's).
pub mod attr {
    pub(crate) const CONNECTORS: &str = "connectors";
    pub(crate) const CONNECTOR_NAME: &str = "connector.name";
    pub(crate) const CONNECTOR_NAMESPACE: &str = "connector.namespace";
    pub(crate) const CONFIGURATION_NAMES: &str = "configuration.names";
    pub(crate) const CONFIGURATION_PARAMS: &str = "configuration.params";
    pub(crate) const TOKEN_EXPIRATION: &str = "token.expiration";
    pub(crate) const POD_NAME: &str = "csi.storage.k8s.io/pod.name";
    pub const POD_NAMESPACE: &str = "csi.storage.k8s.io/pod.namespace";
    pub(crate) const POD_UID: &str = "csi.storage.k8s.io/pod.uid";
    pub(crate) const SERVICE_ACCOUNT: &str = "csi.storage.k8s.io/serviceAccount.name";
    pub(crate) const EPHEMERAL: &str = "csi.storage.k8s.io/ephemeral";
    pub(crate) const SERVICE_ACCOUNT_TOKENS: &str = "csi.storage.k8s.io/serviceAccount.tokens";
}

/// `token.expiration` when the pod does not set it.
pub(crate) const DEFAULT_TOKEN_EXPIRATION: Duration = Duration::from_secs(30 * 60);
/// The TokenRequest API refuses anything shorter than 10 minutes.
pub(crate) const MIN_TOKEN_EXPIRATION: Duration = Duration::from_secs(10 * 60);
/// A day: a leaked file should not stay useful for longer.
pub(crate) const MAX_TOKEN_EXPIRATION: Duration = Duration::from_secs(24 * 60 * 60);

/// Connectors one volume may name: each costs a lookup and an access
/// review; real pods use a handful.
pub const MAX_CONNECTORS: usize = 32;
/// Largest value of a pod-facing attribute (`connectors` with
/// [`MAX_CONNECTORS`] full-length names fits).
pub const MAX_ATTRIBUTE_BYTES: usize = 16 * 1024;
/// Largest `configuration.params` JSON.
pub const MAX_PARAMS_BYTES: usize = 64 * 1024;
/// Attributes one volume may carry, kubelet's included.
pub const MAX_ATTRIBUTES: usize = 64;

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

impl PodInfo {
    /// The pod kubelet names in `volume_context`, unchecked.
    pub fn of(volume_context: &HashMap<String, String>) -> PodInfo {
        let get = |key: &str| volume_context.get(key).cloned().unwrap_or_default();
        PodInfo {
            name: get(attr::POD_NAME),
            namespace: get(attr::POD_NAMESPACE),
            uid: get(attr::POD_UID),
            service_account: get(attr::SERVICE_ACCOUNT),
        }
    }
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
}

/// A malformed volume attribute. Never holds a token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("volume attribute {attribute:?}: {problem}")]
pub struct AttributeError {
    pub attribute: &'static str,
    pub problem: String,
}

impl AttributeError {
    pub(crate) fn new(attribute: &'static str, problem: impl Into<String>) -> AttributeError {
        AttributeError {
            attribute,
            problem: problem.into(),
        }
    }
}

impl VolumeRequest {
    /// `volume_context` is NodePublishVolumeRequest's.
    pub fn parse(
        volume_context: &HashMap<String, String>,
    ) -> Result<VolumeRequest, AttributeError> {
        check_sizes(volume_context)?;
        let get = |key: &str| volume_context.get(key).map(String::as_str);
        let pod = PodInfo::of(volume_context);
        if !pod.namespace.is_empty() {
            check_label(attr::POD_NAMESPACE, &pod.namespace)?;
        }
        let connectors = parse_connectors(&get, &pod.namespace)?;
        let configurations = parse_selection(get(attr::CONFIGURATION_NAMES))?;
        let params = parse_params(get(attr::CONFIGURATION_PARAMS), &configurations)?;
        let token_expiration = parse_expiration(get(attr::TOKEN_EXPIRATION))?;
        let ephemeral = get(attr::EPHEMERAL).map(parse_ephemeral).transpose()?;
        Ok(VolumeRequest {
            connectors,
            pod,
            token_expiration,
            configurations,
            params,
            ephemeral,
        })
    }
}

/// The bounds, before anything is parsed: a hostile pod spec costs no more
/// than a look at each value's length.
fn check_sizes(context: &HashMap<String, String>) -> Result<(), AttributeError> {
    if context.len() > MAX_ATTRIBUTES {
        return Err(AttributeError::new(
            "volumeAttributes",
            format!(
                "{} attributes, more than the limit of {MAX_ATTRIBUTES}",
                context.len()
            ),
        ));
    }
    for (key, value) in context {
        let (attribute, limit) = match key.as_str() {
            // Kubelet's, sized by kubelet.
            attr::SERVICE_ACCOUNT_TOKENS => continue,
            attr::CONFIGURATION_PARAMS => (attr::CONFIGURATION_PARAMS, MAX_PARAMS_BYTES),
            attr::CONNECTORS => (attr::CONNECTORS, MAX_ATTRIBUTE_BYTES),
            _ => ("volumeAttributes", MAX_ATTRIBUTE_BYTES),
        };
        if value.len() > limit {
            return Err(AttributeError::new(
                attribute,
                format!(
                    "the value of {} is {} bytes, more than the limit of {limit}",
                    excerpt(key),
                    value.len()
                ),
            ));
        }
    }
    Ok(())
}

/// At most a few dozen characters of a value that may be long or hostile,
/// quoted, for error messages.
pub(crate) fn excerpt(value: &str) -> String {
    const SHOWN: usize = 40;
    match value.char_indices().nth(SHOWN) {
        None => format!("{value:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &value[..cut], value.len()),
    }
}

fn parse_connectors<'a>(
    get: &impl Fn(&str) -> Option<&'a str>,
    pod_namespace: &str,
) -> Result<Vec<ConnectorRef>, AttributeError> {
    let mut refs = Vec::new();
    if let Some(list) = get(attr::CONNECTORS) {
        let mut seen = HashSet::new();
        for item in comma_items(list) {
            if refs.len() == MAX_CONNECTORS {
                return Err(AttributeError::new(
                    attr::CONNECTORS,
                    format!("more than {MAX_CONNECTORS} connectors"),
                ));
            }
            let (namespace, name) = match item.split_once('/') {
                Some((ns, name)) => (ns, name),
                None => ("", item),
            };
            let namespace = default_namespace(attr::CONNECTORS, namespace, pod_namespace)?;
            let connector = checked_ref(attr::CONNECTORS, namespace, name)?;
            if !seen.insert(connector.clone()) {
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
                        "exclusion {} does not name a file (letters, digits, '.', '_', '-')",
                        excerpt(item)
                    ),
                ));
            }
            if !selection.exclude.iter().any(|f| f == file) {
                selection.exclude.push(file.to_owned());
            }
        } else if item.chars().any(char::is_whitespace) {
            return Err(AttributeError::new(
                attr::CONFIGURATION_NAMES,
                format!("configuration name {} contains whitespace", excerpt(item)),
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
                    "configuration {} is not included in {:?}",
                    excerpt(&configuration),
                    attr::CONFIGURATION_NAMES
                ),
            ));
        }
        let Json::Object(values) = values else {
            return Err(AttributeError::new(
                ATTR,
                format!(
                    "the value for configuration {} must be a JSON object of param values",
                    excerpt(&configuration)
                ),
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
    if text.len() > 64 {
        return Err(AttributeError::new(
            ATTR,
            format!("{} is not a duration", excerpt(text)),
        ));
    }
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
            format!("{} is not \"true\" or \"false\"", excerpt(other)),
        )),
    }
}
