//! CSI Node: NodePublishVolume and NodeUnpublishVolume carry the work; the
//! rest describes the node. Each handler checks the CSI fields, calls the
//! [`Publisher`] once, counts the call and maps the error, inside a span
//! naming the pod, its namespace and the volume (and, once it failed, the
//! gRPC code), so every line logged during the call carries them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use tonic::{Request, Response, Status};
use tracing::field::{display, Empty};
use tracing::{Instrument, Span};

use super::proto::node_server::Node;
use super::proto::volume_capability::AccessType;
use super::proto::{
    NodeExpandVolumeRequest, NodeExpandVolumeResponse, NodeGetCapabilitiesRequest,
    NodeGetCapabilitiesResponse, NodeGetInfoRequest, NodeGetInfoResponse,
    NodeGetVolumeStatsRequest, NodeGetVolumeStatsResponse, NodePublishVolumeRequest,
    NodePublishVolumeResponse, NodeStageVolumeRequest, NodeStageVolumeResponse,
    NodeUnpublishVolumeRequest, NodeUnpublishVolumeResponse, NodeUnstageVolumeRequest,
    NodeUnstageVolumeResponse,
};
use super::status::{code_name, code_of};
use crate::mount::MountOptions;
use crate::publish::{PublishError, PublishOutcome, PublishRequest, Publisher};
use crate::telemetry::Operation;
use crate::volume::attr;

pub(crate) struct NodeService {
    node_id: String,
    publisher: Arc<Publisher>,
}

impl NodeService {
    pub(crate) fn new(node_id: String, publisher: Arc<Publisher>) -> NodeService {
        NodeService { node_id, publisher }
    }

    /// Counts the call; a failure's code also goes on the call's span.
    fn observe(&self, operation: Operation, result: Result<(), &PublishError>, started: Instant) {
        let label = match result {
            Ok(()) => "ok",
            Err(err) => code_name(code_of(err)),
        };
        if result.is_err() {
            Span::current().record("code", display(label));
        }
        self.publisher
            .metrics()
            .observe(operation, label, started.elapsed());
    }

    async fn publish(
        &self,
        request: NodePublishVolumeRequest,
    ) -> Result<Response<NodePublishVolumeResponse>, Status> {
        let started = Instant::now();
        let result = match publish_request(request) {
            Ok(request) => self.publisher.publish(&request).await,
            Err(err) => Err(err),
        };
        match result {
            Ok(outcome) => {
                let operation = match outcome {
                    PublishOutcome::Mounted => Operation::Publish,
                    PublishOutcome::Updated
                    | PublishOutcome::Unchanged
                    | PublishOutcome::KeptPrevious => Operation::Republish,
                };
                self.observe(operation, Ok(()), started);
                Ok(Response::new(NodePublishVolumeResponse {}))
            }
            Err(err) => {
                self.observe(Operation::Publish, Err(&err), started);
                tracing::warn!(error = %err, "publish failed");
                Err(err.into())
            }
        }
    }

    async fn unpublish(
        &self,
        request: NodeUnpublishVolumeRequest,
    ) -> Result<Response<NodeUnpublishVolumeResponse>, Status> {
        let started = Instant::now();
        let result = match check_ids(&request.volume_id, &request.target_path) {
            Ok(()) => {
                let target = PathBuf::from(&request.target_path);
                self.publisher.unpublish(&request.volume_id, &target).await
            }
            Err(err) => Err(err),
        };
        self.observe(Operation::Unpublish, result.as_ref().map(|_| ()), started);
        match result {
            Ok(()) => Ok(Response::new(NodeUnpublishVolumeResponse {})),
            Err(err) => {
                tracing::warn!(error = %err, "unpublish failed");
                Err(err.into())
            }
        }
    }
}

/// Puts the pod on a call's span, when known (displayed: unquoted in text).
fn name_pod(span: &Span, pod: Option<&str>, namespace: Option<&str>) {
    if let Some(pod) = pod {
        span.record("pod", display(pod));
    }
    if let Some(namespace) = namespace {
        span.record("namespace", display(namespace));
    }
}

fn invalid(field: &'static str, problem: &'static str) -> PublishError {
    PublishError::InvalidRequest { field, problem }
}

/// Far above the 128 bytes CSI lets a CO assume; volume ids only ever
/// reach disk hashed, so this only bounds memory and messages.
const MAX_VOLUME_ID_BYTES: usize = 1024;
/// Linux's PATH_MAX.
const MAX_TARGET_PATH_BYTES: usize = 4096;

/// The fields both calls carry.
fn check_ids(volume_id: &str, target_path: &str) -> Result<(), PublishError> {
    if volume_id.is_empty() {
        return Err(invalid("volume_id", "missing"));
    }
    if volume_id.len() > MAX_VOLUME_ID_BYTES {
        return Err(invalid("volume_id", "longer than 1024 bytes"));
    }
    if target_path.is_empty() {
        return Err(invalid("target_path", "missing"));
    }
    if target_path.len() > MAX_TARGET_PATH_BYTES {
        return Err(invalid("target_path", "longer than PATH_MAX (4096 bytes)"));
    }
    Ok(())
}

/// The CSI-level checks; the volume attributes are the pipeline's.
fn publish_request(request: NodePublishVolumeRequest) -> Result<PublishRequest, PublishError> {
    check_ids(&request.volume_id, &request.target_path)?;
    let capability = request
        .volume_capability
        .ok_or_else(|| invalid("volume_capability", "missing"))?;
    let mount = match capability.access_type {
        Some(AccessType::Mount(mount)) => mount,
        Some(AccessType::Block(_)) => {
            return Err(invalid(
                "volume_capability",
                "block access is not supported: the volume is a directory of files",
            ))
        }
        None => return Err(invalid("volume_capability", "access type missing")),
    };
    let mount_options = MountOptions::from_flags(&mount.mount_flags)?;
    if !request.readonly {
        return Err(invalid(
            "readonly",
            "must be true: set readOnly: true on the pod's CSI volume",
        ));
    }
    Ok(PublishRequest {
        volume_id: request.volume_id,
        target_path: PathBuf::from(request.target_path),
        volume_context: request.volume_context,
        secrets: request.secrets,
        mount_options,
    })
}

#[tonic::async_trait]
impl Node for NodeService {
    async fn node_publish_volume(
        &self,
        request: Request<NodePublishVolumeRequest>,
    ) -> Result<Response<NodePublishVolumeResponse>, Status> {
        let request = request.into_inner();
        let span = tracing::info_span!(
            "publish",
            pod = Empty,
            namespace = Empty,
            volume_id = %request.volume_id,
            code = Empty
        );
        let context = &request.volume_context;
        name_pod(
            &span,
            context.get(attr::POD_NAME).map(String::as_str),
            context.get(attr::POD_NAMESPACE).map(String::as_str),
        );
        self.publish(request).instrument(span).await
    }

    async fn node_unpublish_volume(
        &self,
        request: Request<NodeUnpublishVolumeRequest>,
    ) -> Result<Response<NodeUnpublishVolumeResponse>, Status> {
        let request = request.into_inner();
        let span = tracing::info_span!(
            "unpublish",
            pod = Empty,
            namespace = Empty,
            volume_id = %request.volume_id,
            code = Empty
        );
        // Kubelet names the pod only when publishing: an unpublish finds it in
        // the volume's record, if there is one.
        let pod = self
            .publisher
            .recorded_pod(&request.volume_id, Path::new(&request.target_path));
        name_pod(
            &span,
            pod.as_ref().map(|(name, _)| name.as_str()),
            pod.as_ref().map(|(_, namespace)| namespace.as_str()),
        );
        self.unpublish(request).instrument(span).await
    }

    /// No STAGE_UNSTAGE, stats or expansion: an ephemeral file volume has none.
    async fn node_get_capabilities(
        &self,
        _request: Request<NodeGetCapabilitiesRequest>,
    ) -> Result<Response<NodeGetCapabilitiesResponse>, Status> {
        Ok(Response::new(NodeGetCapabilitiesResponse::default()))
    }

    async fn node_get_info(
        &self,
        _request: Request<NodeGetInfoRequest>,
    ) -> Result<Response<NodeGetInfoResponse>, Status> {
        Ok(Response::new(NodeGetInfoResponse {
            node_id: self.node_id.clone(),
            ..Default::default()
        }))
    }

    async fn node_stage_volume(
        &self,
        _request: Request<NodeStageVolumeRequest>,
    ) -> Result<Response<NodeStageVolumeResponse>, Status> {
        Err(Status::unimplemented("NodeStageVolume is not supported"))
    }

    async fn node_unstage_volume(
        &self,
        _request: Request<NodeUnstageVolumeRequest>,
    ) -> Result<Response<NodeUnstageVolumeResponse>, Status> {
        Err(Status::unimplemented("NodeUnstageVolume is not supported"))
    }

    async fn node_get_volume_stats(
        &self,
        _request: Request<NodeGetVolumeStatsRequest>,
    ) -> Result<Response<NodeGetVolumeStatsResponse>, Status> {
        Err(Status::unimplemented("NodeGetVolumeStats is not supported"))
    }

    async fn node_expand_volume(
        &self,
        _request: Request<NodeExpandVolumeRequest>,
    ) -> Result<Response<NodeExpandVolumeResponse>, Status> {
        Err(Status::unimplemented("NodeExpandVolume is not supported"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csi::proto::volume_capability::{BlockVolume, MountVolume};
    use crate::csi::proto::VolumeCapability;

    fn request() -> NodePublishVolumeRequest {
        NodePublishVolumeRequest {
            volume_id: "vol".into(),
            target_path: "/target".into(),
            volume_capability: Some(VolumeCapability {
                access_type: Some(AccessType::Mount(MountVolume::default())),
                access_mode: None,
            }),
            readonly: true,
            ..Default::default()
        }
    }

    fn field_of(request: NodePublishVolumeRequest) -> &'static str {
        match publish_request(request) {
            Err(PublishError::InvalidRequest { field, .. }) => field,
            other => panic!("expected an invalid request, got {other:?}"),
        }
    }

    #[test]
    fn a_well_formed_request_passes_with_its_attributes() {
        let mut good = request();
        good.volume_context
            .insert("connector.name".into(), "git".into());
        let checked = publish_request(good).unwrap();
        assert_eq!(checked.volume_id, "vol");
        assert_eq!(checked.target_path, PathBuf::from("/target"));
        assert_eq!(checked.volume_context.len(), 1);
    }

    #[test]
    fn each_bad_csi_field_is_named() {
        let mut r = request();
        r.volume_id.clear();
        assert_eq!(field_of(r), "volume_id");
        let mut r = request();
        r.target_path.clear();
        assert_eq!(field_of(r), "target_path");
        let mut r = request();
        r.volume_capability = None;
        assert_eq!(field_of(r), "volume_capability");
        let mut r = request();
        r.volume_capability = Some(VolumeCapability {
            access_type: Some(AccessType::Block(BlockVolume {})),
            access_mode: None,
        });
        assert_eq!(field_of(r), "volume_capability");
        let mut r = request();
        r.readonly = false;
        assert_eq!(field_of(r), "readonly");
        let mut r = request();
        r.volume_id = "v".repeat(2000);
        assert_eq!(field_of(r), "volume_id");
        let mut r = request();
        r.target_path = format!("/{}", "p".repeat(5000));
        assert_eq!(field_of(r), "target_path");
    }

    fn with_flags(flags: &[&str]) -> NodePublishVolumeRequest {
        let mut r = request();
        r.volume_capability = Some(VolumeCapability {
            access_type: Some(AccessType::Mount(MountVolume {
                mount_flags: flags.iter().map(|f| (*f).to_owned()).collect(),
                ..Default::default()
            })),
            access_mode: None,
        });
        r
    }

    #[test]
    fn kubelets_selinux_mount_flag_reaches_the_publish_request() {
        let checked = publish_request(with_flags(&[
            r#"context="system_u:object_r:container_file_t:s0:c1,c2""#,
        ]))
        .unwrap();
        assert_eq!(
            checked.mount_options.to_string(),
            r#"context="system_u:object_r:container_file_t:s0:c1,c2""#
        );
    }

    #[test]
    fn a_mount_flag_the_tmpfs_cannot_take_is_invalid_and_named() {
        let err = publish_request(with_flags(&["exec"])).unwrap_err();
        assert_eq!(code_of(&err), tonic::Code::InvalidArgument);
        assert!(err.to_string().contains("\"exec\""), "{err}");
    }
}
