//! Compiles `proto/csi.proto` into the tonic services and prost messages of
//! `csi::proto`, with protox so no `protoc` is needed on the machine.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/csi.proto";
    println!("cargo:rerun-if-changed={proto}");
    let descriptors = protox::compile([proto], ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // These requests carry kubelet's tokens in `secrets`: their Debug is
        // written by hand (csi/proto_debug.rs) so a token never reaches a log.
        .skip_debug([
            "csi.v1.NodePublishVolumeRequest",
            "csi.v1.NodeStageVolumeRequest",
            "csi.v1.NodeExpandVolumeRequest",
        ])
        .compile_fds(descriptors)?;
    Ok(())
}
