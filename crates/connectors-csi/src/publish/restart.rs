//! What a starting driver does with the records a previous run left:
//! reconcile them with the mount table, and tell the catalog which
//! connectors the surviving volumes use.

use super::Publisher;
use crate::volume::VolumeRequest;

impl Publisher {
    /// At start: a record without its tmpfs is dropped; a tmpfs of ours
    /// below the kubelet root without a record (a crash between mount and
    /// record: never handed to a pod) is unmounted and its directory removed.
    pub(super) fn reconcile(&self) {
        let mounts = match self.parts.volumes.own_mounts() {
            Ok(mounts) => mounts,
            Err(err) => {
                tracing::warn!(error = %err, "cannot reconcile volume records with the mount table");
                return;
            }
        };
        for record in self.mounted.states() {
            if !mounts.iter().any(|m| m.mount_point == record.target_path) {
                tracing::info!(volume_id = %record.volume_id, target = %record.target_path.display(), "dropping the record of a volume that is no longer mounted");
                if let Err(err) = self.forget_stale(&record.target_path) {
                    tracing::warn!(error = %err, "cannot drop a stale volume record");
                }
            }
        }
        for mount in mounts {
            if self.mounted.record(&mount.mount_point).is_some() {
                continue;
            }
            tracing::info!(target = %mount.mount_point.display(), "removing a tmpfs left by an interrupted publish");
            if let Err(err) = self.parts.volumes.discard(&mount.mount_point) {
                tracing::warn!(error = %err, "cannot remove a leftover tmpfs");
            }
        }
    }

    /// The catalog keeps fresh what the recorded volumes use (and reports
    /// what changed while the driver was down).
    pub(super) fn hold_recorded(&self) {
        for state in self.mounted.states() {
            match VolumeRequest::parse(&state.volume_context()) {
                Ok(request) => {
                    self.parts
                        .catalog
                        .hold(&state.target_path, &request.connectors, &[]);
                }
                // Such a record cannot be rendered again either.
                Err(err) => {
                    tracing::warn!(volume_id = %state.volume_id, error = %err, "a volume record no longer parses");
                }
            }
        }
    }
}
