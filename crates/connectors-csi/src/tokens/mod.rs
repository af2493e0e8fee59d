//! Service-account tokens for the proxy, and where they come from: kubelet
//! (the CSIDriver's `tokenRequests`, the default), the driver's own
//! TokenRequests (opt-in), or a file offline.
//!
//! A [`Token`] never shows its secret in Debug output; callers reach it only
//! through [`Token::secret`], to put it into the rendered files.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::volume::{AttributeError, PodInfo};

pub mod file;
pub(crate) mod kubelet;
pub mod request;

pub use file::TokenFile;
pub(crate) use kubelet::KubeletTokens;
pub use request::TokenRequester;

/// A bearer token and when it stops being valid, if known.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    secret: Arc<str>,
    pub expires_at: Option<SystemTime>,
}

impl Token {
    pub fn new(secret: impl Into<Arc<str>>, expires_at: Option<SystemTime>) -> Token {
        Token {
            secret: secret.into(),
            expires_at,
        }
    }

    /// The token itself: for the rendered files only, never for logs.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// Whether it has expired by `now` (a token without a known expiry
    /// never has).
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires_at.is_some_and(|expires_at| expires_at <= now)
    }
}

/// Who gave a volume its token, which says who can give the next one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenOrigin {
    /// Kubelet, in the request: only kubelet's next republish brings another.
    Kubelet,
    /// The driver's own source (a TokenRequest or the token file).
    Driver,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("secret", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Why no token could be had. Messages never contain a token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Kubelet passed none for the audience, and nothing else may give one.
    #[error(
        "kubelet passed no service-account token for audience {audience:?} \
         (csi.storage.k8s.io/serviceAccount.tokens): the CSIDriver object must list \
         {{audience: {audience:?}}} in spec.tokenRequests"
    )]
    NoKubeletToken { audience: String },
    #[error("token file {}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("token file {} is empty", path.display())]
    EmptyFile { path: PathBuf },
    /// The API server could not be asked; worth retrying.
    #[error("token request failed: {reason}")]
    Unavailable { reason: String },
    /// The API server refused to issue a token.
    #[error("token request refused: {reason}")]
    Refused { reason: String },
}

/// Where the driver gets a token of its own for a pod.
#[async_trait]
pub trait TokenSource: Send + Sync {
    /// A token for `pod`'s service account, for `audience`, valid for about
    /// `lifetime`.
    async fn token(
        &self,
        pod: &PodInfo,
        audience: &str,
        lifetime: Duration,
    ) -> Result<Token, TokenError>;
}

/// How the driver gets a volume's token: kubelet's for the audience, the
/// driver's own source's, or kubelet's with the driver's as a fallback.
pub struct Tokens {
    audience: String,
    /// Whether `csi.storage.k8s.io/serviceAccount.tokens` is read at all:
    /// when the driver requests tokens itself, that key can only come from
    /// the pod author's `volumeAttributes`, and is ignored.
    reads_kubelet: bool,
    own: Option<Arc<dyn TokenSource>>,
}

impl Tokens {
    /// Kubelet's tokens only (the default): the driver never asks for one.
    /// `audience` is the `--token-audience` the proxy expects.
    pub fn kubelet(audience: impl Into<String>) -> Tokens {
        Tokens {
            audience: audience.into(),
            reads_kubelet: true,
            own: None,
        }
    }

    /// The driver's own tokens only; kubelet's tokens attribute is ignored.
    pub fn requested(audience: impl Into<String>, source: Arc<dyn TokenSource>) -> Tokens {
        Tokens {
            audience: audience.into(),
            reads_kubelet: false,
            own: Some(source),
        }
    }

    /// Kubelet's token when it passed one, else `fallback`'s (manifests
    /// mode with `--token-file`).
    pub fn kubelet_or(audience: impl Into<String>, fallback: Arc<dyn TokenSource>) -> Tokens {
        Tokens {
            audience: audience.into(),
            reads_kubelet: true,
            own: Some(fallback),
        }
    }

    /// Whether the driver can get a token without kubelet.
    pub fn has_own_source(&self) -> bool {
        self.own.is_some()
    }

    /// Kubelet's token for the audience in one publish's `secrets` or
    /// `volume_context`, if it passed one and this driver reads them.
    pub fn from_kubelet(
        &self,
        secrets: &HashMap<String, String>,
        volume_context: &HashMap<String, String>,
    ) -> Result<Option<Token>, AttributeError> {
        if !self.reads_kubelet {
            return Ok(None);
        }
        let tokens = KubeletTokens::of_request(secrets, volume_context)?;
        Ok(tokens.for_audience(&self.audience))
    }

    /// The token a volume's files carry: `kubelet`'s when given, else one
    /// from the driver's own source.
    pub async fn token(
        &self,
        pod: &PodInfo,
        lifetime: Duration,
        kubelet: Option<Token>,
    ) -> Result<Token, TokenError> {
        if let Some(token) = kubelet {
            return Ok(token);
        }
        match &self.own {
            Some(source) => source.token(pod, &self.audience, lifetime).await,
            None => Err(TokenError::NoKubeletToken {
                audience: self.audience.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_debug_hides_the_secret() {
        let token = Token::new("s3cr3t-value", None);
        let shown = format!("{token:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("<redacted>"));
        assert_eq!(token.secret(), "s3cr3t-value");
    }

    fn pod() -> PodInfo {
        PodInfo {
            namespace: "default".into(),
            ..PodInfo::default()
        }
    }

    fn context(json: &str) -> HashMap<String, String> {
        HashMap::from([(
            crate::volume::attr::SERVICE_ACCOUNT_TOKENS.to_owned(),
            json.to_owned(),
        )])
    }

    const KUBELET: &str =
        r#"{"connectors":{"token":"kubelet-tok","expirationTimestamp":"2030-01-01T00:00:00Z"}}"#;

    fn file_source(dir: &tempfile::TempDir) -> Arc<dyn TokenSource> {
        let path = dir.path().join("token");
        std::fs::write(&path, "file-tok").unwrap();
        Arc::new(TokenFile::new(path))
    }

    async fn token_of(
        tokens: &Tokens,
        context: &HashMap<String, String>,
    ) -> Result<Token, TokenError> {
        let kubelet = tokens.from_kubelet(&HashMap::new(), context).unwrap();
        tokens
            .token(&pod(), Duration::from_secs(600), kubelet)
            .await
    }

    #[tokio::test]
    async fn the_kubelet_token_wins_over_the_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = Tokens::kubelet_or("connectors", file_source(&dir));
        let token = token_of(&tokens, &context(KUBELET)).await.unwrap();
        assert_eq!(token.secret(), "kubelet-tok");
        assert!(token.expires_at.is_some());
        let own = token_of(&tokens, &HashMap::new()).await.unwrap();
        assert_eq!(own.secret(), "file-tok");
    }

    #[tokio::test]
    async fn requested_tokens_ignore_the_tokens_attribute_even_malformed() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = Tokens::requested("connectors", file_source(&dir));
        assert_eq!(
            token_of(&tokens, &context(KUBELET)).await.unwrap().secret(),
            "file-tok"
        );
        assert_eq!(
            tokens
                .from_kubelet(&HashMap::new(), &context("{nope"))
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn kubelet_only_without_a_token_for_the_audience_names_the_tokenrequests_audience() {
        let tokens = Tokens::kubelet("connectors");
        assert!(!tokens.has_own_source());
        let err = token_of(&tokens, &context(r#"{"other":{"token":"x"}}"#))
            .await
            .unwrap_err();
        assert!(matches!(err, TokenError::NoKubeletToken { .. }));
        assert_eq!(
            err.to_string(),
            "kubelet passed no service-account token for audience \"connectors\" \
             (csi.storage.k8s.io/serviceAccount.tokens): the CSIDriver object must list \
             {audience: \"connectors\"} in spec.tokenRequests"
        );
    }

    #[test]
    fn a_token_without_a_known_expiry_never_expires() {
        let now = SystemTime::now();
        assert!(!Token::new("a", None).is_expired(now));
        assert!(Token::new("a", Some(now)).is_expired(now));
        assert!(!Token::new("a", Some(now + Duration::from_secs(1))).is_expired(now));
    }
}
