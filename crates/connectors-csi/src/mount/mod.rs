//! Volume directories on disk: tmpfs mounts, atomic ..data swaps, per-volume state.
//!
//! [`VolumeDirs`] is what the publish pipeline calls: it mounts a tmpfs at
//! the target through a [`Mounter`] (the syscalls, or a recording fake in
//! unit tests), writes a [`FilePlan`](crate::render::FilePlan) with the
//! `..data` swap of [`atomic`], and leaves the mount read-only.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::render::FilePlan;

pub(crate) mod atomic;
#[cfg(any(test, feature = "test-util"))]
pub mod fake;
pub mod options;
pub mod state;
pub(crate) mod tmpfs;

#[cfg(any(test, feature = "test-util"))]
pub use fake::RecordingMounter;
pub use options::{MountFlagError, MountOptions};
pub use state::{StateError, StateStore, VolumeState};
pub use tmpfs::SystemMounter;

/// The mount operations a volume needs; a seam so tests run without root.
pub trait Mounter: Send + Sync {
    /// Mounts a fresh, writable tmpfs of `size_bytes` at `target`
    /// (`nosuid,nodev,noexec`), labelled as `options` say.
    fn mount_tmpfs(&self, target: &Path, size_bytes: u64, options: &MountOptions)
        -> io::Result<()>;
    /// Changes the mount at `target` to read-only or back to writable.
    fn remount(&self, target: &Path, size_bytes: u64, read_only: bool) -> io::Result<()>;
    fn unmount(&self, target: &Path) -> io::Result<()>;
    /// Whether something is mounted exactly at `target`.
    fn is_mounted(&self, target: &Path) -> io::Result<bool>;
}

/// Why the files of a volume could not be put in place.
#[derive(Debug, thiserror::Error)]
pub enum MountError {
    #[error("cannot create target directory {}: {source}", path.display())]
    CreateTarget {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot mount tmpfs at {}: {source}", path.display())]
    Mount {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot remount {} {mode}: {source}", path.display())]
    Remount {
        path: PathBuf,
        mode: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("cannot write the files of {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot unmount {}: {source}", path.display())]
    Unmount {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot remove target directory {}: {source}", path.display())]
    RemoveTarget {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Mounts, fills and removes volume targets.
#[derive(Clone)]
pub struct VolumeDirs {
    mounter: Arc<dyn Mounter>,
    tmpfs_bytes: u64,
}

impl VolumeDirs {
    /// `tmpfs_bytes` must hold two generations of files: during an update
    /// the old and the new directory exist together.
    pub fn new(mounter: Arc<dyn Mounter>, tmpfs_bytes: u64) -> VolumeDirs {
        VolumeDirs {
            mounter,
            tmpfs_bytes,
        }
    }

    pub fn is_mounted(&self, target: &Path) -> Result<bool, MountError> {
        self.mounter
            .is_mounted(target)
            .map_err(|source| MountError::Mount {
                path: target.to_owned(),
                source,
            })
    }

    /// First publish: tmpfs at `target`, files, read-only. On failure the
    /// target is unmounted and removed again, so nothing is left behind.
    pub fn create(
        &self,
        target: &Path,
        plan: &FilePlan,
        options: &MountOptions,
    ) -> Result<String, MountError> {
        std::fs::create_dir_all(target).map_err(|source| MountError::CreateTarget {
            path: target.to_owned(),
            source,
        })?;
        if let Err(source) = self.mounter.mount_tmpfs(target, self.tmpfs_bytes, options) {
            let _ = std::fs::remove_dir(target);
            return Err(MountError::Mount {
                path: target.to_owned(),
                source,
            });
        }
        let written = self.write_then_seal(target, plan);
        if written.is_err() {
            let _ = self.remove(target);
        }
        written
    }

    /// Update of a mounted volume: writable for the swap, read-only again
    /// whatever happens. The old files stay if writing the new ones fails.
    pub fn update(&self, target: &Path, plan: &FilePlan) -> Result<String, MountError> {
        self.mounter
            .remount(target, self.tmpfs_bytes, false)
            .map_err(|source| MountError::Remount {
                path: target.to_owned(),
                mode: "read-write",
                source,
            })?;
        let written = self.write_then_seal(target, plan);
        if written.is_err() {
            // Best effort: the error being reported is the write's.
            let _ = self.mounter.remount(target, self.tmpfs_bytes, true);
        }
        written
    }

    fn write_then_seal(&self, target: &Path, plan: &FilePlan) -> Result<String, MountError> {
        let data_dir =
            atomic::write_generation(target, plan).map_err(|source| MountError::Write {
                path: target.to_owned(),
                source,
            })?;
        self.mounter
            .remount(target, self.tmpfs_bytes, true)
            .map_err(|source| MountError::Remount {
                path: target.to_owned(),
                mode: "read-only",
                source,
            })?;
        Ok(data_dir)
    }

    /// Unmounts (if mounted) and removes `target`; a target already gone is
    /// success, as CSI asks of NodeUnpublishVolume.
    pub fn remove(&self, target: &Path) -> Result<(), MountError> {
        if self.is_mounted(target)? {
            self.mounter
                .unmount(target)
                .map_err(|source| MountError::Unmount {
                    path: target.to_owned(),
                    source,
                })?;
        }
        match remove_target(target) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(MountError::RemoveTarget {
                path: target.to_owned(),
                source,
            }),
        }
    }
}

/// After the unmount the target is normally an empty directory; with the
/// fake mounter (or a mount that vanished) the files are on the parent
/// filesystem and go too.
fn remove_target(target: &Path) -> io::Result<()> {
    match std::fs::remove_dir(target) {
        Err(err) if err.kind() == io::ErrorKind::DirectoryNotEmpty => {
            std::fs::remove_dir_all(target)
        }
        other => other,
    }
}

/// Tests that mount real tmpfs skip without root, saying so on stderr, and
/// fail instead under `CI=true`, so CI never passes a suite that did not run.
#[cfg(test)]
pub(crate) fn not_root(err: &io::Error) -> bool {
    if err.kind() != io::ErrorKind::PermissionDenied {
        return false;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "mounting tmpfs needs root, and CI=true: {err}"
    );
    eprintln!("skipped: needs root ({err})");
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::atomic::tests::plan;

    fn dirs() -> (VolumeDirs, Arc<RecordingMounter>) {
        let mounter = Arc::new(RecordingMounter::default());
        (VolumeDirs::new(mounter.clone(), 1 << 20), mounter)
    }

    #[test]
    fn create_mounts_writes_and_seals_read_only() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("target");
        let (dirs, mounter) = dirs();
        dirs.create(&target, &plan(&[("a", "1")]), &MountOptions::default())
            .unwrap();
        assert_eq!(std::fs::read_to_string(target.join("a")).unwrap(), "1");
        assert_eq!(
            mounter.calls(),
            vec![
                format!("mount {}", target.display()),
                format!("remount-ro {}", target.display()),
            ]
        );
        assert_eq!(mounter.read_only(&target), Some(true));
    }

    #[test]
    fn update_remounts_writable_then_read_only() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("target");
        let (dirs, mounter) = dirs();
        dirs.create(&target, &plan(&[("a", "1")]), &MountOptions::default())
            .unwrap();
        dirs.update(&target, &plan(&[("a", "2")])).unwrap();
        assert_eq!(std::fs::read_to_string(target.join("a")).unwrap(), "2");
        let calls = mounter.calls();
        assert_eq!(
            calls[2..],
            [
                format!("remount-rw {}", target.display()),
                format!("remount-ro {}", target.display()),
            ]
        );
    }

    #[test]
    fn a_failed_mount_leaves_no_target_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("target");
        let (dirs, mounter) = dirs();
        mounter.fail_next_mount();
        assert!(matches!(
            dirs.create(&target, &plan(&[("a", "1")]), &MountOptions::default()),
            Err(MountError::Mount { .. })
        ));
        assert!(!target.exists());
    }

    #[test]
    fn remove_unmounts_and_is_fine_when_the_target_is_gone() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("target");
        let (dirs, mounter) = dirs();
        dirs.create(&target, &plan(&[("a", "1")]), &MountOptions::default())
            .unwrap();
        dirs.remove(&target).unwrap();
        assert!(!target.exists());
        assert_eq!(mounter.read_only(&target), None);
        dirs.remove(&target).unwrap();
    }

    #[test]
    fn a_real_tmpfs_volume_is_created_updated_and_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("pod").join("vol");
        let dirs = VolumeDirs::new(Arc::new(SystemMounter), 1 << 20);
        let first = match dirs.create(
            &target,
            &plan(&[("a", "1"), ("b", "2")]),
            &MountOptions::default(),
        ) {
            Ok(generation) => generation,
            Err(MountError::Mount { source, .. }) if not_root(&source) => return,
            Err(err) => panic!("{err}"),
        };
        let entry = tmpfs::find_mount(&target).unwrap().unwrap();
        assert!(entry.is_read_only());
        let second = dirs.update(&target, &plan(&[("a", "3")])).unwrap();
        assert_ne!(first, second);
        assert!(tmpfs::find_mount(&target).unwrap().unwrap().is_read_only());
        assert_eq!(std::fs::read_to_string(target.join("a")).unwrap(), "3");
        assert!(!target.join("b").exists());
        assert!(!target.join(&first).exists());
        dirs.remove(&target).unwrap();
        assert!(!target.exists());
        assert!(tmpfs::find_mount(&target).unwrap().is_none());
    }

    #[test]
    fn files_larger_than_the_tmpfs_fail_and_leave_nothing_mounted() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("vol");
        let dirs = VolumeDirs::new(Arc::new(SystemMounter), 64 * 1024);
        let big = "x".repeat(256 * 1024);
        match dirs.create(&target, &plan(&[("big", &big)]), &MountOptions::default()) {
            Err(MountError::Write { source, .. }) => {
                assert_eq!(source.raw_os_error(), Some(28), "ENOSPC expected: {source}");
            }
            Err(MountError::Mount { source, .. }) if not_root(&source) => return,
            other => panic!("expected a write failure, got {other:?}"),
        }
        assert!(!target.exists());
        assert!(tmpfs::find_mount(&target).unwrap().is_none());
    }

    #[test]
    fn a_failed_update_on_a_real_tmpfs_keeps_the_old_files_read_only() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("vol");
        let dirs = VolumeDirs::new(Arc::new(SystemMounter), 64 * 1024);
        match dirs.create(&target, &plan(&[("a", "old")]), &MountOptions::default()) {
            Ok(_) => {}
            Err(MountError::Mount { source, .. }) if not_root(&source) => return,
            Err(err) => panic!("{err}"),
        }
        let big = "x".repeat(256 * 1024);
        assert!(matches!(
            dirs.update(&target, &plan(&[("a", &big)])),
            Err(MountError::Write { .. })
        ));
        assert_eq!(std::fs::read_to_string(target.join("a")).unwrap(), "old");
        assert!(tmpfs::find_mount(&target).unwrap().unwrap().is_read_only());
        // The failed generation does not hold on to the room the next needs.
        let fits = "y".repeat(40 * 1024);
        dirs.update(&target, &plan(&[("a", &fits)])).unwrap();
        assert_eq!(std::fs::read_to_string(target.join("a")).unwrap(), fits);
        dirs.remove(&target).unwrap();
    }
}
