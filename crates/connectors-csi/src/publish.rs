//! The publish pipeline: from a NodePublishVolume request to files in the pod.
