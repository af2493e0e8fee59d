//! Manifests mode's token source: the token kubelet passed, else a file.
//!
//! Without an API server the driver cannot ask for a token, so it takes the
//! one kubelet hands over (CSIDriver `tokenRequests`) or, for offline use and
//! tests, the content of `--token-file`.

use std::path::PathBuf;

use async_trait::async_trait;

use super::{Token, TokenError, TokenSource};
use crate::volume::VolumeRequest;

/// Kubelet's token for `audience` if the request carries one, else `file`.
#[derive(Clone, Debug)]
pub struct KubeletOrFile {
    pub audience: String,
    pub file: Option<PathBuf>,
}

impl KubeletOrFile {
    pub fn new(audience: impl Into<String>, file: Option<PathBuf>) -> KubeletOrFile {
        KubeletOrFile {
            audience: audience.into(),
            file,
        }
    }
}

#[async_trait]
impl TokenSource for KubeletOrFile {
    async fn token(&self, request: &VolumeRequest) -> Result<Token, TokenError> {
        if let Some(token) = request.kubelet_token(&self.audience) {
            return Ok(token);
        }
        let Some(path) = &self.file else {
            return Err(TokenError::NoSource {
                audience: self.audience.clone(),
            });
        };
        // Read on every call: the file may be rotated underneath us.
        let content = tokio::fs::read_to_string(path)
            .await
            .map_err(|source| TokenError::File {
                path: path.clone(),
                source,
            })?;
        let secret = content.trim();
        if secret.is_empty() {
            return Err(TokenError::EmptyFile { path: path.clone() });
        }
        Ok(Token::new(secret, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn request(extra: &[(&str, &str)]) -> VolumeRequest {
        let mut context: HashMap<String, String> = HashMap::from([
            ("connector.name".into(), "git".into()),
            ("csi.storage.k8s.io/pod.namespace".into(), "default".into()),
        ]);
        for (k, v) in extra {
            context.insert((*k).into(), (*v).into());
        }
        VolumeRequest::parse(&context, &HashMap::new()).unwrap()
    }

    #[tokio::test]
    async fn kubelet_token_for_the_audience_wins_over_the_file() {
        let source = KubeletOrFile::new("connectors", Some("/nonexistent".into()));
        let req = request(&[(
            "csi.storage.k8s.io/serviceAccount.tokens",
            r#"{"connectors":{"token":"kubelet-tok","expirationTimestamp":"2030-01-01T00:00:00Z"}}"#,
        )]);
        let token = source.token(&req).await.unwrap();
        assert_eq!(token.secret(), "kubelet-tok");
        assert!(token.expires_at.is_some());
    }

    #[tokio::test]
    async fn file_token_is_used_when_kubelet_has_none_for_the_audience() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "file-tok\n").unwrap();
        let source = KubeletOrFile::new("connectors", Some(path));
        let req = request(&[(
            "csi.storage.k8s.io/serviceAccount.tokens",
            r#"{"other":{"token":"x","expirationTimestamp":"2030-01-01T00:00:00Z"}}"#,
        )]);
        assert_eq!(source.token(&req).await.unwrap().secret(), "file-tok");
    }

    #[tokio::test]
    async fn no_kubelet_token_and_no_file_is_a_clear_error() {
        let source = KubeletOrFile::new("connectors", None);
        let err = source.token(&request(&[])).await.unwrap_err();
        assert!(matches!(err, TokenError::NoSource { .. }));
        assert!(err.to_string().contains("tokenRequests"), "{err}");
    }

    #[tokio::test]
    async fn empty_or_missing_token_file_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let err = KubeletOrFile::new("a", Some(empty.clone()))
            .token(&request(&[]))
            .await
            .unwrap_err();
        assert!(err.to_string().contains(&*empty.to_string_lossy()), "{err}");
        let missing = dir.path().join("missing");
        let err = KubeletOrFile::new("a", Some(missing))
            .token(&request(&[]))
            .await
            .unwrap_err();
        assert!(matches!(err, TokenError::File { .. }));
    }
}
