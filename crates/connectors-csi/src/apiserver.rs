//! One call to the API server, bounded in time: the client has no read
//! timeout of its own, and a publish must fail fast (kubelet retries) rather
//! than hang on an API server that does not answer.

use std::future::Future;
use std::time::Duration;

/// The bound on each API call made while a publish waits.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a call has no answer to act on.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CallError {
    #[error("the API server did not answer within {0:?}")]
    NoAnswer(Duration),
    #[error(transparent)]
    Failed(kube::Error),
}

/// `call`'s answer, if it comes within `timeout`.
pub(crate) async fn answer_within<T>(
    timeout: Duration,
    call: impl Future<Output = Result<T, kube::Error>>,
) -> Result<T, CallError> {
    match tokio::time::timeout(timeout, call).await {
        Ok(answer) => answer.map_err(CallError::Failed),
        Err(_) => Err(CallError::NoAnswer(timeout)),
    }
}
