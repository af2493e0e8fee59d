//! Upstream's feature flags: the ConfigMap `connectors-config` in the
//! driver's namespace, string values `"true"`/`"false"`, anything missing
//! read as false.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;

/// The ConfigMap holding the flags, in the driver's namespace.
pub const FLAGS_CONFIGMAP: &str = "connectors-config";
/// Adds the proxy permission check to every connector of a volume.
pub const PROXY_PERMISSIONS: &str = "enable-connector-proxy-permissions";
/// With [`PROXY_PERMISSIONS`], a failed proxy check starts the approval flow.
pub const APPROVAL: &str = "enable-connectors-approval";

/// The flags that change what the driver does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeatureFlags {
    pub proxy_permissions: bool,
    pub approval: bool,
}

impl FeatureFlags {
    /// Approval only means something on top of the proxy check.
    pub fn approval_gating(&self) -> bool {
        self.proxy_permissions && self.approval
    }
}

/// A flag whose value is neither `"true"` nor `"false"` (read as false).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MalformedFlag {
    pub key: String,
    pub value: String,
}

/// The flags a ConfigMap's data says; no ConfigMap is all flags off.
pub fn parse(data: Option<&BTreeMap<String, String>>) -> (FeatureFlags, Vec<MalformedFlag>) {
    let mut malformed = Vec::new();
    let mut flag = |key: &str| match data.and_then(|d| d.get(key)).map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(value) => {
            malformed.push(MalformedFlag {
                key: key.to_owned(),
                value: value.to_owned(),
            });
            false
        }
    };
    let flags = FeatureFlags {
        proxy_permissions: flag(PROXY_PERMISSIONS),
        approval: flag(APPROVAL),
    };
    (flags, malformed)
}

/// Reads flags from ConfigMap data and warns about each malformed value
/// once, not on every publish that reads it.
#[derive(Default)]
pub struct FlagReader {
    warned: Mutex<HashSet<MalformedFlag>>,
}

impl FlagReader {
    pub fn read(&self, data: Option<&BTreeMap<String, String>>) -> FeatureFlags {
        let (flags, malformed) = parse(data);
        if !malformed.is_empty() {
            let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
            for flag in malformed {
                if !warned.contains(&flag) {
                    tracing::warn!(
                        configmap = FLAGS_CONFIGMAP,
                        key = %flag.key,
                        value = %flag.value,
                        "feature flag is neither \"true\" nor \"false\"; read as false"
                    );
                    warned.insert(flag);
                }
            }
        }
        flags
    }
}

/// The flags cannot be read now (the API server does not answer).
#[derive(Debug, thiserror::Error)]
#[error("cannot read the feature flags (ConfigMap {FLAGS_CONFIGMAP:?}): {reason}")]
pub struct FlagsUnavailable {
    pub reason: String,
}

/// Where the current flags come from; read on every publish so that a
/// change applies to the next one.
#[async_trait]
pub trait FlagSource: Send + Sync {
    async fn flags(&self) -> Result<FeatureFlags, FlagsUnavailable>;
}

/// Manifests mode and tests: every flag off.
#[derive(Clone, Copy, Debug, Default)]
pub struct FlagsOff;

#[async_trait]
impl FlagSource for FlagsOff {
    async fn flags(&self) -> Result<FeatureFlags, FlagsUnavailable> {
        Ok(FeatureFlags::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn no_configmap_means_every_flag_off() {
        assert_eq!(parse(None), (FeatureFlags::default(), vec![]));
        assert_eq!(parse(Some(&data(&[]))).0, FeatureFlags::default());
    }

    #[test]
    fn true_and_false_are_read_as_such() {
        let (flags, malformed) = parse(Some(&data(&[
            (PROXY_PERMISSIONS, "true"),
            (APPROVAL, "false"),
        ])));
        assert!(flags.proxy_permissions);
        assert!(!flags.approval);
        assert!(malformed.is_empty());
    }

    #[test]
    fn a_malformed_value_is_false_and_reported() {
        let (flags, malformed) = parse(Some(&data(&[(PROXY_PERMISSIONS, "yes")])));
        assert!(!flags.proxy_permissions);
        assert_eq!(
            malformed,
            [MalformedFlag {
                key: PROXY_PERMISSIONS.into(),
                value: "yes".into()
            }]
        );
    }

    #[test]
    fn approval_gating_needs_both_flags() {
        let approval_only = FeatureFlags {
            proxy_permissions: false,
            approval: true,
        };
        assert!(!approval_only.approval_gating());
        let both = FeatureFlags {
            proxy_permissions: true,
            approval: true,
        };
        assert!(both.approval_gating());
    }
}
