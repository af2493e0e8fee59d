//! The one place a publish failure becomes a gRPC status: every boundary
//! error's variant is named, so nothing falls through to `Unknown`.

use tonic::{Code, Status};

use crate::access::AccessError;
use crate::catalog::CatalogError;
use crate::mount::{MountError, StateError, TargetError};
use crate::publish::PublishError;
use crate::render::RenderError;
use crate::tokens::TokenError;

impl From<PublishError> for Status {
    fn from(err: PublishError) -> Status {
        Status::new(code_of(&err), err.to_string())
    }
}

/// The gRPC code for `err`: the caller's mistake, a missing object, a
/// refusal, a retryable outage, a size bound, or the node's own failure.
pub(crate) fn code_of(err: &PublishError) -> Code {
    match err {
        PublishError::InvalidRequest { .. }
        | PublishError::MountFlag(_)
        | PublishError::Attributes(_) => Code::InvalidArgument,
        PublishError::Catalog(err) => catalog_code(err),
        PublishError::Access(err) => access_code(err),
        PublishError::Token(err) => token_code(err),
        PublishError::Render(err) => render_code(err),
        PublishError::Mount(err) => mount_code(err),
        PublishError::State(err) => state_code(err),
        PublishError::NotPublished { .. } => Code::NotFound,
        PublishError::Task { .. } => Code::Internal,
    }
}

fn catalog_code(err: &CatalogError) -> Code {
    match err {
        CatalogError::ConnectorNotFound { .. } | CatalogError::ClassNotFound { .. } => {
            Code::NotFound
        }
        CatalogError::Unavailable { .. } => Code::Unavailable,
        // The object exists but cannot be used: fixing it is the operator's
        // move, retrying the same call will not help.
        CatalogError::Invalid { .. } => Code::FailedPrecondition,
    }
}

fn access_code(err: &AccessError) -> Code {
    match err {
        AccessError::Denied { .. } | AccessError::ProxyDenied { .. } => Code::PermissionDenied,
        AccessError::UnknownServiceAccount => Code::InvalidArgument,
        // Pending: kubelet's retries keep the pod waiting for the approval.
        AccessError::FlagsUnavailable { .. }
        | AccessError::Pending { .. }
        | AccessError::Unavailable { .. } => Code::Unavailable,
    }
}

fn token_code(err: &TokenError) -> Code {
    match err {
        // The CSIDriver object or the driver's flags need fixing first.
        TokenError::NoKubeletToken { .. }
        | TokenError::File { .. }
        | TokenError::EmptyFile { .. } => Code::FailedPrecondition,
        TokenError::Unavailable { .. } => Code::Unavailable,
        TokenError::Refused { .. } => Code::PermissionDenied,
    }
}

fn mount_code(err: &MountError) -> Code {
    match err {
        MountError::Target(err) => target_code(err),
        // Someone else's mount or files: retrying will not help, and
        // nothing there was touched.
        MountError::Occupied { .. } => Code::FailedPrecondition,
        // The files did not fit the tmpfs: a size bound, like the renderer's.
        MountError::Write { source, .. } if source.kind() == std::io::ErrorKind::StorageFull => {
            Code::ResourceExhausted
        }
        MountError::CreateTarget { .. }
        | MountError::MountTable { .. }
        | MountError::Mount { .. }
        | MountError::Remount { .. }
        | MountError::Write { .. }
        | MountError::Unmount { .. }
        | MountError::RemoveTarget { .. } => Code::Internal,
    }
}

fn target_code(err: &TargetError) -> Code {
    match err {
        TargetError::Relative { .. }
        | TargetError::NotNormalised { .. }
        | TargetError::OutsideRoot { .. }
        | TargetError::Symlink { .. }
        | TargetError::NotDirectory { .. }
        | TargetError::InsideVolume { .. }
        | TargetError::HoldsVolume { .. } => Code::InvalidArgument,
        TargetError::Io { .. } => Code::Internal,
    }
}

fn state_code(err: &StateError) -> Code {
    match err {
        StateError::Io { .. } | StateError::Corrupt { .. } => Code::Internal,
    }
}

fn render_code(err: &RenderError) -> Code {
    match err {
        RenderError::ConfigurationNotFound { .. } => Code::NotFound,
        RenderError::Params { .. }
        | RenderError::FileName { .. }
        | RenderError::Template { .. }
        | RenderError::NoConnectors => Code::InvalidArgument,
        RenderError::FileTooLarge { .. }
        | RenderError::BuildLimit { .. }
        | RenderError::VolumeTooLarge { .. }
        | RenderError::TooManyFiles { .. }
        | RenderError::Timeout { .. } => Code::ResourceExhausted,
    }
}

/// The code's name, as the `result` label of the call metrics.
pub(crate) fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "Cancelled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::{AttributeError, ConnectorRef};

    fn connector() -> ConnectorRef {
        ConnectorRef {
            namespace: "default".into(),
            name: "git".into(),
        }
    }

    #[test]
    fn each_failure_maps_to_the_code_the_spec_names() {
        let cases: Vec<(PublishError, Code)> = vec![
            (
                PublishError::InvalidRequest {
                    field: "volume_id",
                    problem: "missing",
                },
                Code::InvalidArgument,
            ),
            (
                AttributeError {
                    attribute: "token.expiration",
                    problem: "bad".into(),
                }
                .into(),
                Code::InvalidArgument,
            ),
            (
                CatalogError::ConnectorNotFound {
                    connector: connector(),
                }
                .into(),
                Code::NotFound,
            ),
            (
                CatalogError::Unavailable {
                    reason: "down".into(),
                }
                .into(),
                Code::Unavailable,
            ),
            (
                AccessError::Denied {
                    connector: connector(),
                    service_account: "default/sa".into(),
                    reason: String::new(),
                }
                .into(),
                Code::PermissionDenied,
            ),
            (
                TokenError::Unavailable {
                    reason: "down".into(),
                }
                .into(),
                Code::Unavailable,
            ),
            (
                TokenError::NoKubeletToken {
                    audience: "connectors-proxy".into(),
                }
                .into(),
                Code::FailedPrecondition,
            ),
            (
                RenderError::ConfigurationNotFound {
                    configuration: "npmrc".into(),
                    classes: vec!["git".into()],
                }
                .into(),
                Code::NotFound,
            ),
            (
                RenderError::VolumeTooLarge { total: 2, limit: 1 }.into(),
                Code::ResourceExhausted,
            ),
            (
                PublishError::Task {
                    reason: "cancelled".into(),
                },
                Code::Internal,
            ),
            (
                MountError::Write {
                    path: "/t".into(),
                    source: std::io::Error::from(std::io::ErrorKind::StorageFull),
                }
                .into(),
                Code::ResourceExhausted,
            ),
            (
                MountError::Mount {
                    path: "/t".into(),
                    source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
                }
                .into(),
                Code::Internal,
            ),
        ];
        for (err, code) in cases {
            let message = err.to_string();
            let status = Status::from(err);
            assert_eq!(status.code(), code, "{message}");
            assert_eq!(status.message(), message);
        }
    }

    #[test]
    fn a_not_found_status_keeps_the_message_naming_the_object() {
        let status = Status::from(PublishError::from(CatalogError::ConnectorNotFound {
            connector: connector(),
        }));
        assert_eq!(status.message(), "connector \"default/git\" not found");
    }

    #[test]
    fn code_names_are_the_grpc_names() {
        assert_eq!(code_name(Code::InvalidArgument), "InvalidArgument");
        assert_eq!(code_name(Code::Ok), "ok");
    }
}
