//! Debug for the requests that carry `secrets`: kubelet may put
//! service-account tokens there, so only the keys are shown; the Controller
//! requests, which this plugin never reads, show only their name.

use std::collections::HashMap;
use std::fmt;

use super::proto::{
    ControllerExpandVolumeRequest, ControllerModifyVolumeRequest, ControllerPublishVolumeRequest,
    ControllerUnpublishVolumeRequest, CreateSnapshotRequest, CreateVolumeRequest,
    DeleteSnapshotRequest, DeleteVolumeRequest, GetSnapshotRequest, ListSnapshotsRequest,
    NodeExpandVolumeRequest, NodePublishVolumeRequest, NodeStageVolumeRequest,
    ValidateVolumeCapabilitiesRequest,
};

/// Shows a secrets map as its sorted keys.
struct SecretKeys<'a>(&'a HashMap<String, String>);

impl fmt::Debug for SecretKeys<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<&String> = self.0.keys().collect();
        keys.sort();
        f.debug_set().entries(keys).finish()
    }
}

impl fmt::Debug for NodePublishVolumeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodePublishVolumeRequest")
            .field("volume_id", &self.volume_id)
            .field("target_path", &self.target_path)
            .field("volume_capability", &self.volume_capability)
            .field("readonly", &self.readonly)
            .field("secrets", &SecretKeys(&self.secrets))
            .field("volume_context_keys", &SecretKeys(&self.volume_context))
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for NodeStageVolumeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeStageVolumeRequest")
            .field("volume_id", &self.volume_id)
            .field("staging_target_path", &self.staging_target_path)
            .field("secrets", &SecretKeys(&self.secrets))
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for NodeExpandVolumeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeExpandVolumeRequest")
            .field("volume_id", &self.volume_id)
            .field("volume_path", &self.volume_path)
            .field("secrets", &SecretKeys(&self.secrets))
            .finish_non_exhaustive()
    }
}

/// `Name { .. }`: nothing of the request, secrets or not.
macro_rules! debug_by_name {
    ($($request:ident),+ $(,)?) => {$(
        impl fmt::Debug for $request {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($request)).finish_non_exhaustive()
            }
        }
    )+};
}

debug_by_name!(
    CreateVolumeRequest,
    DeleteVolumeRequest,
    ControllerPublishVolumeRequest,
    ControllerUnpublishVolumeRequest,
    ValidateVolumeCapabilitiesRequest,
    ControllerModifyVolumeRequest,
    CreateSnapshotRequest,
    DeleteSnapshotRequest,
    ListSnapshotsRequest,
    GetSnapshotRequest,
    ControllerExpandVolumeRequest,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_request_debug_shows_no_token() {
        let request = NodePublishVolumeRequest {
            volume_id: "vol".into(),
            secrets: HashMap::from([(
                "csi.storage.k8s.io/serviceAccount.tokens".to_owned(),
                "{\"aud\":{\"token\":\"s3cr3t\"}}".to_owned(),
            )]),
            volume_context: HashMap::from([(
                "csi.storage.k8s.io/serviceAccount.tokens".to_owned(),
                "{\"aud\":{\"token\":\"s3cr3t\"}}".to_owned(),
            )]),
            ..Default::default()
        };
        let shown = format!("{request:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("serviceAccount.tokens"), "{shown}");
    }

    #[test]
    fn controller_request_debug_shows_no_secret() {
        let request = CreateVolumeRequest {
            name: "vol".into(),
            secrets: HashMap::from([("password".to_owned(), "s3cr3t".to_owned())]),
            ..Default::default()
        };
        let shown = format!("{request:?}");
        assert_eq!(shown, "CreateVolumeRequest { .. }");
    }
}
