//! Kubelet's tokens: the `csi.storage.k8s.io/serviceAccount.tokens` JSON it
//! passes when the CSIDriver lists `tokenRequests`, audience to
//! `{token, expirationTimestamp}`, in the request's `secrets` (Kubernetes
//! 1.35+ with `serviceAccountTokenInSecrets`) or its `volume_context`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::SystemTime;

use k8s_openapi::jiff::Timestamp;

use super::Token;
use crate::volume::{attr, AttributeError};

/// Tokens kubelet passed, by audience. Debug shows audiences only.
#[derive(Clone, Default, PartialEq)]
pub(crate) struct KubeletTokens(BTreeMap<String, Token>);

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
    /// The tokens of one NodePublishVolume: `secrets` first, then
    /// `volume_context`; none when neither carries the attribute.
    pub(crate) fn of_request(
        secrets: &HashMap<String, String>,
        volume_context: &HashMap<String, String>,
    ) -> Result<KubeletTokens, AttributeError> {
        let json = secrets
            .get(attr::SERVICE_ACCOUNT_TOKENS)
            .or_else(|| volume_context.get(attr::SERVICE_ACCOUNT_TOKENS));
        match json {
            Some(json) => KubeletTokens::parse(json),
            None => Ok(KubeletTokens::default()),
        }
    }

    /// The attribute's value. A malformed one is an error naming the
    /// attribute and where it broke, never quoting a token.
    pub(crate) fn parse(json: &str) -> Result<KubeletTokens, AttributeError> {
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
                Some(text) => Some(parse_timestamp(text).map_err(|problem| {
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

    /// The token for `audience`, if kubelet passed one.
    pub(crate) fn for_audience(&self, audience: &str) -> Option<Token> {
        self.0.get(audience).cloned()
    }
}

/// RFC 3339, as kubelet writes `expirationTimestamp`.
fn parse_timestamp(text: &str) -> Result<SystemTime, String> {
    text.parse::<Timestamp>()
        .map(SystemTime::from)
        .map_err(|_| format!("{text:?} is not an RFC 3339 timestamp"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    const TOKENS: &str =
        r#"{"connectors":{"token":"tok-ctx","expirationTimestamp":"2030-01-02T03:04:05Z"}}"#;

    fn with_tokens(json: &str) -> HashMap<String, String> {
        HashMap::from([(attr::SERVICE_ACCOUNT_TOKENS.to_owned(), json.to_owned())])
    }

    fn unix(text: &str) -> f64 {
        parse_timestamp(text)
            .unwrap()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
    }

    #[test]
    fn kubelet_tokens_are_read_from_secrets_before_volume_context() {
        let context = with_tokens(TOKENS);
        let tokens = KubeletTokens::of_request(&HashMap::new(), &context).unwrap();
        let token = tokens.for_audience("connectors").unwrap();
        assert_eq!(token.secret(), "tok-ctx");
        assert!(tokens.for_audience("other").is_none());
        let secs = token
            .expires_at
            .unwrap()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert_eq!(secs, 1_893_553_445);

        let secrets = with_tokens(&TOKENS.replace("tok-ctx", "tok-secret"));
        let tokens = KubeletTokens::of_request(&secrets, &context).unwrap();
        assert_eq!(
            tokens.for_audience("connectors").unwrap().secret(),
            "tok-secret"
        );
    }

    #[test]
    fn a_request_without_the_attribute_has_no_tokens() {
        let tokens = KubeletTokens::of_request(&HashMap::new(), &HashMap::new()).unwrap();
        assert_eq!(tokens, KubeletTokens::default());
    }

    #[test]
    fn debug_of_kubelet_tokens_never_shows_a_token() {
        let tokens = KubeletTokens::parse(TOKENS).unwrap();
        let shown = format!("{tokens:?}");
        assert!(!shown.contains("tok-ctx"), "{shown}");
        assert!(shown.contains("connectors"), "{shown}");
    }

    #[test]
    fn malformed_kubelet_tokens_are_rejected_without_echoing_them() {
        let err = KubeletTokens::parse(r#"{"a": "secret-tok"}"#).unwrap_err();
        assert_eq!(err.attribute, attr::SERVICE_ACCOUNT_TOKENS);
        assert!(!err.to_string().contains("secret-tok"), "{err}");
        let err =
            KubeletTokens::parse(r#"{"a": {"token": "t", "expirationTimestamp": "tomorrow"}}"#)
                .unwrap_err();
        assert!(
            err.problem
                .contains("expirationTimestamp of audience \"a\""),
            "{err}"
        );
        let err = KubeletTokens::parse(r#"{"a": {"token": ""}}"#).unwrap_err();
        assert_eq!(err.problem, "empty token for audience \"a\"");
    }

    #[test]
    fn expiry_timestamps_take_utc_offsets_and_fractions() {
        assert_eq!(unix("1970-01-01T00:00:00Z"), 0.0);
        assert_eq!(unix("2024-02-29T12:00:00Z"), 1_709_208_000.0);
        assert_eq!(unix("2024-02-29T14:00:00+02:00"), 1_709_208_000.0);
        assert_eq!(unix("2024-02-29T12:00:00.5Z"), 1_709_208_000.5);
    }

    #[test]
    fn malformed_expiry_timestamps_are_rejected() {
        for bad in [
            "",
            "tomorrow",
            "2024-02-29",
            "2024-13-01T00:00:00Z",
            "2024-02-29T12:00:00",
            "2024-02-29T12:00:00.Z",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }
}
