//! Service-account tokens for the proxy: the one kubelet passed for the
//! driver's audience, else one from the driver's own source (a TokenRequest
//! in a cluster, a file offline).
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
    /// Nothing configured can provide one.
    #[error(
        "no service-account token for audience {audience:?}: kubelet passed none \
         (add it to the CSIDriver's tokenRequests) and no token file is configured"
    )]
    NoSource { audience: String },
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

/// How the driver gets a volume's token: kubelet's for the audience when the
/// request carries one, else its own source's.
pub struct Tokens {
    audience: String,
    own: Option<Arc<dyn TokenSource>>,
}

impl Tokens {
    /// `audience`: the `--token-audience` the proxy expects; `own`: what to
    /// ask when kubelet passed no token (none: kubelet's or nothing).
    pub fn new(audience: impl Into<String>, own: Option<Arc<dyn TokenSource>>) -> Tokens {
        Tokens {
            audience: audience.into(),
            own,
        }
    }

    /// Kubelet's token for the audience in one publish's `secrets` or
    /// `volume_context`, if it passed one.
    pub fn from_kubelet(
        &self,
        secrets: &HashMap<String, String>,
        volume_context: &HashMap<String, String>,
    ) -> Result<Option<Token>, AttributeError> {
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
            None => Err(TokenError::NoSource {
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

    #[tokio::test]
    async fn the_kubelet_token_wins_over_the_drivers_own_source() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "file-tok").unwrap();
        let tokens = Tokens::new("connectors", Some(Arc::new(TokenFile::new(path))));
        let context = HashMap::from([(
            crate::volume::attr::SERVICE_ACCOUNT_TOKENS.to_owned(),
            r#"{"connectors":{"token":"kubelet-tok","expirationTimestamp":"2030-01-01T00:00:00Z"}}"#
                .to_owned(),
        )]);
        let kubelet = tokens.from_kubelet(&HashMap::new(), &context).unwrap();
        let token = tokens
            .token(&pod(), Duration::from_secs(600), kubelet)
            .await
            .unwrap();
        assert_eq!(token.secret(), "kubelet-tok");
        assert!(token.expires_at.is_some());
        let own = tokens
            .token(&pod(), Duration::from_secs(600), None)
            .await
            .unwrap();
        assert_eq!(own.secret(), "file-tok");
    }

    #[tokio::test]
    async fn a_kubelet_token_for_another_audience_is_not_used() {
        let tokens = Tokens::new("connectors", None);
        let context = HashMap::from([(
            crate::volume::attr::SERVICE_ACCOUNT_TOKENS.to_owned(),
            r#"{"other":{"token":"x"}}"#.to_owned(),
        )]);
        assert_eq!(
            tokens.from_kubelet(&HashMap::new(), &context).unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn no_kubelet_token_and_no_source_of_its_own_is_a_clear_error() {
        let tokens = Tokens::new("connectors", None);
        let err = tokens
            .token(&pod(), Duration::from_secs(600), None)
            .await
            .unwrap_err();
        assert!(matches!(err, TokenError::NoSource { .. }));
        assert!(err.to_string().contains("tokenRequests"), "{err}");
    }
}
