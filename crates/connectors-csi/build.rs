//! Compiles `proto/csi.proto` into the tonic services and prost messages of
//! `csi::proto`, with protox so no `protoc` is needed on the machine.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/csi.proto";
    println!("cargo:rerun-if-changed={proto}");
    let descriptors = protox::compile([proto], ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // These requests carry kubelet's tokens (or a CO's) in `secrets`:
        // their Debug is written by hand (csi/proto_debug.rs) so a secret
        // never reaches a log.
        .skip_debug([
            "csi.v1.NodePublishVolumeRequest",
            "csi.v1.NodeStageVolumeRequest",
            "csi.v1.NodeExpandVolumeRequest",
            "csi.v1.CreateVolumeRequest",
            "csi.v1.DeleteVolumeRequest",
            "csi.v1.ControllerPublishVolumeRequest",
            "csi.v1.ControllerUnpublishVolumeRequest",
            "csi.v1.ValidateVolumeCapabilitiesRequest",
            "csi.v1.ControllerModifyVolumeRequest",
            "csi.v1.CreateSnapshotRequest",
            "csi.v1.DeleteSnapshotRequest",
            "csi.v1.ListSnapshotsRequest",
            "csi.v1.GetSnapshotRequest",
            "csi.v1.ControllerExpandVolumeRequest",
        ])
        .compile_fds(descriptors)?;
    Ok(())
}
