//! VolumeRequest: the volume attributes kubelet passes, parsed and checked.
