//! Service-account tokens for the proxy: from kubelet, a file, or a TokenRequest.
//!
//! A [`Token`] never shows its secret in Debug output; callers reach it only
//! through [`Token::secret`], to put it into the rendered files.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::volume::VolumeRequest;

pub mod kubelet;
pub mod request;

pub use kubelet::KubeletOrFile;

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
    /// Nothing configured can provide one (→ FailedPrecondition).
    #[error(
        "no service-account token for audience {audience:?}: kubelet passed none \
         (add it to the CSIDriver's tokenRequests) and no token file is configured"
    )]
    NoSource { audience: String },
    /// The token file could not be read (→ FailedPrecondition).
    #[error("token file {}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("token file {} is empty", path.display())]
    EmptyFile { path: PathBuf },
    /// The API server could not be asked; worth retrying (→ Unavailable).
    #[error("token request failed: {reason}")]
    Unavailable { reason: String },
    /// The API server refused to issue a token (→ PermissionDenied).
    #[error("token request refused: {reason}")]
    Refused { reason: String },
}

/// Where the driver gets the token a volume's files carry.
#[async_trait]
pub trait TokenSource: Send + Sync {
    async fn token(&self, request: &VolumeRequest) -> Result<Token, TokenError>;
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
}
