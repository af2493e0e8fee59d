//! Offline tokens: the content of `--token-file`, for manifests mode when
//! kubelet passes none (and for tests).

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;

use super::{Token, TokenError, TokenSource};
use crate::volume::PodInfo;

/// The same token for every pod, read from a file on every call: the file
/// may be rotated underneath the driver.
#[derive(Clone, Debug)]
pub struct TokenFile {
    path: PathBuf,
}

impl TokenFile {
    pub fn new(path: impl Into<PathBuf>) -> TokenFile {
        TokenFile { path: path.into() }
    }
}

#[async_trait]
impl TokenSource for TokenFile {
    async fn token(
        &self,
        _pod: &PodInfo,
        _audience: &str,
        _lifetime: Duration,
    ) -> Result<Token, TokenError> {
        // A token file is a few hundred bytes on a local disk: reading it
        // here costs less than a hand-off to the blocking pool and back.
        let content = std::fs::read_to_string(&self.path).map_err(|source| TokenError::File {
            path: self.path.clone(),
            source,
        })?;
        let secret = content.trim();
        if secret.is_empty() {
            return Err(TokenError::EmptyFile {
                path: self.path.clone(),
            });
        }
        Ok(Token::new(secret, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(source: &TokenFile) -> Result<Token, TokenError> {
        source
            .token(&PodInfo::default(), "a", Duration::from_secs(600))
            .await
    }

    #[tokio::test]
    async fn the_file_is_read_again_on_every_call() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "file-tok\n").unwrap();
        let source = TokenFile::new(path.clone());
        assert_eq!(read(&source).await.unwrap().secret(), "file-tok");
        std::fs::write(&path, "rotated").unwrap();
        assert_eq!(read(&source).await.unwrap().secret(), "rotated");
    }

    #[tokio::test]
    async fn an_empty_or_missing_token_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let err = read(&TokenFile::new(empty.clone())).await.unwrap_err();
        assert!(err.to_string().contains(&*empty.to_string_lossy()), "{err}");
        let err = read(&TokenFile::new(dir.path().join("missing")))
            .await
            .unwrap_err();
        assert!(matches!(err, TokenError::File { .. }));
    }
}
