//! The Controller service as a CSI client sees it over the socket: asked for
//! its capabilities it names none that does anything, every other call is
//! Unimplemented, and the plugin does not advertise the service.

#![allow(clippy::unwrap_used)]

mod support;

use connectors_csi::csi::proto::controller_client::ControllerClient;
use connectors_csi::csi::proto::controller_service_capability::{rpc, Type};
use connectors_csi::csi::proto::{
    ControllerExpandVolumeRequest, ControllerGetCapabilitiesRequest, ControllerGetVolumeRequest,
    ControllerModifyVolumeRequest, ControllerPublishVolumeRequest,
    ControllerUnpublishVolumeRequest, CreateSnapshotRequest, CreateVolumeRequest,
    DeleteSnapshotRequest, DeleteVolumeRequest, GetCapacityRequest, GetPluginCapabilitiesRequest,
    GetSnapshotRequest, ListSnapshotsRequest, ListVolumesRequest,
    ValidateVolumeCapabilitiesRequest,
};
use std::path::Path;

use support::driver::{connect, mount_capability, start, Clients, DriverHandle, Options};
use tonic::transport::Channel;
use tonic::Code;

/// The quick-start driver and a Controller client on its socket.
async fn controller(root: &Path) -> (ControllerClient<Channel>, Clients, DriverHandle) {
    let options = Options::new(root);
    let socket = options.socket();
    let (clients, handle) = start(options).await;
    (
        ControllerClient::new(connect(&socket).await),
        clients,
        handle,
    )
}

#[tokio::test]
async fn controller_capabilities_are_one_unknown_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (mut controller, _, driver) = controller(dir.path()).await;
    let capabilities = controller
        .controller_get_capabilities(ControllerGetCapabilitiesRequest {})
        .await
        .unwrap()
        .into_inner()
        .capabilities;
    assert_eq!(capabilities.len(), 1, "{capabilities:?}");
    let Some(Type::Rpc(entry)) = &capabilities[0].r#type else {
        panic!("expected an RPC capability: {capabilities:?}");
    };
    assert_eq!(entry.r#type(), rpc::Type::Unknown);
    driver.stop().await;
}

#[tokio::test]
async fn the_plugin_does_not_advertise_a_controller_service() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut clients, driver) = controller(dir.path()).await;
    let capabilities = clients
        .identity
        .get_plugin_capabilities(GetPluginCapabilitiesRequest {})
        .await
        .unwrap()
        .into_inner()
        .capabilities;
    assert!(capabilities.is_empty(), "{capabilities:?}");
    driver.stop().await;
}

/// The outcome of one call: its code and message (`Ok` when it succeeded).
fn outcome<T>(result: Result<tonic::Response<T>, tonic::Status>) -> (Code, String) {
    match result {
        Ok(_) => (Code::Ok, String::new()),
        Err(status) => (status.code(), status.message().to_owned()),
    }
}

#[tokio::test]
async fn every_other_controller_call_is_unimplemented_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let (mut c, _, driver) = controller(dir.path()).await;
    let secrets = std::collections::HashMap::from([("password".to_owned(), "s3cr3t".to_owned())]);
    let calls: Vec<(&str, (Code, String))> = vec![
        (
            "CreateVolume",
            outcome(
                c.create_volume(CreateVolumeRequest {
                    name: "vol".into(),
                    volume_capabilities: vec![mount_capability()],
                    secrets: secrets.clone(),
                    ..Default::default()
                })
                .await,
            ),
        ),
        (
            "DeleteVolume",
            outcome(
                c.delete_volume(DeleteVolumeRequest {
                    volume_id: "vol".into(),
                    secrets: secrets.clone(),
                })
                .await,
            ),
        ),
        (
            "ControllerPublishVolume",
            outcome(
                c.controller_publish_volume(ControllerPublishVolumeRequest::default())
                    .await,
            ),
        ),
        (
            "ControllerUnpublishVolume",
            outcome(
                c.controller_unpublish_volume(ControllerUnpublishVolumeRequest::default())
                    .await,
            ),
        ),
        (
            "ValidateVolumeCapabilities",
            outcome(
                c.validate_volume_capabilities(ValidateVolumeCapabilitiesRequest::default())
                    .await,
            ),
        ),
        (
            "ListVolumes",
            outcome(c.list_volumes(ListVolumesRequest::default()).await),
        ),
        (
            "GetCapacity",
            outcome(c.get_capacity(GetCapacityRequest::default()).await),
        ),
        (
            "CreateSnapshot",
            outcome(c.create_snapshot(CreateSnapshotRequest::default()).await),
        ),
        (
            "DeleteSnapshot",
            outcome(c.delete_snapshot(DeleteSnapshotRequest::default()).await),
        ),
        (
            "ListSnapshots",
            outcome(c.list_snapshots(ListSnapshotsRequest::default()).await),
        ),
        (
            "GetSnapshot",
            outcome(c.get_snapshot(GetSnapshotRequest::default()).await),
        ),
        (
            "ControllerExpandVolume",
            outcome(
                c.controller_expand_volume(ControllerExpandVolumeRequest::default())
                    .await,
            ),
        ),
        (
            "ControllerGetVolume",
            outcome(
                c.controller_get_volume(ControllerGetVolumeRequest::default())
                    .await,
            ),
        ),
        (
            "ControllerModifyVolume",
            outcome(
                c.controller_modify_volume(ControllerModifyVolumeRequest::default())
                    .await,
            ),
        ),
    ];
    assert_eq!(
        calls.len(),
        14,
        "every Controller call but the capabilities"
    );
    for (rpc, (code, message)) in calls {
        assert_eq!(code, Code::Unimplemented, "{rpc}: {message}");
        assert!(message.starts_with(rpc), "{rpc}: {message}");
        assert!(message.contains("node-only"), "{rpc}: {message}");
        assert!(!message.contains("s3cr3t"), "{rpc}: {message}");
    }
    driver.stop().await;
}
