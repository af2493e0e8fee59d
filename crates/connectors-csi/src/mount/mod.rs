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
use crate::volume::excerpt;

pub(crate) mod atomic;
#[cfg(any(test, feature = "test-util"))]
pub mod fake;
mod inspect;
pub mod options;
pub mod state;
pub(crate) mod target;
pub(crate) mod tmpfs;

#[cfg(any(test, feature = "test-util"))]
pub use fake::RecordingMounter;
pub use inspect::Found;
pub use options::{MountFlagError, MountOptions};
pub use state::{StateError, StateStore, VolumeState};
pub use target::{TargetError, TargetRules};
pub use tmpfs::{MountEntry, SystemMounter};

/// The mount source of every tmpfs this driver mounts starts with this;
/// the rest names the volume, so a mount says whose it is.
pub const SOURCE_PREFIX: &str = "connectors-csi";

/// The mount source of `volume_id`'s tmpfs: bounded whatever the id's length.
pub fn mount_source(volume_id: &str) -> String {
    format!("{SOURCE_PREFIX}:{:016x}", fnv1a(volume_id.as_bytes()))
}

/// A stable, dependency-free hash for short names of unbounded strings.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Whether a mount source is one of this driver's tmpfs (older versions
/// mounted with the bare prefix).
fn is_own_source(source: &str) -> bool {
    source == SOURCE_PREFIX
        || source
            .strip_prefix(SOURCE_PREFIX)
            .is_some_and(|rest| rest.starts_with(':'))
}

/// The mount operations a volume needs; a seam so tests run without root.
pub trait Mounter: Send + Sync {
    /// Mounts a fresh, writable tmpfs of `size_bytes` at `target`
    /// (`nosuid,nodev,noexec`), naming it `source` in the mount table and
    /// labelled as `options` say.
    fn mount_tmpfs(
        &self,
        target: &Path,
        source: &str,
        size_bytes: u64,
        options: &MountOptions,
    ) -> io::Result<()>;
    /// Changes the mount at `target` to read-only or back to writable.
    fn remount(&self, target: &Path, size_bytes: u64, read_only: bool) -> io::Result<()>;
    fn unmount(&self, target: &Path) -> io::Result<()>;
    /// Every mount, in mount order (later entries are on top).
    fn mount_table(&self) -> io::Result<Vec<MountEntry>>;
    /// The kernel's unique id of the mount `path` is on (a final symlink not
    /// followed), never reused while the node runs; `None` where it cannot
    /// be had (kernels before 6.8, a fake), and callers read the table.
    fn mount_id(&self, _path: &Path) -> io::Result<Option<u64>> {
        Ok(None)
    }
    /// Whether the mount `path` is on is read-only.
    fn is_read_only(&self, path: &Path) -> io::Result<bool> {
        Ok(self
            .mount_table()?
            .iter()
            .rev()
            .find(|entry| path.starts_with(&entry.mount_point))
            .is_some_and(MountEntry::is_read_only))
    }
}

/// Why the files of a volume could not be put in place.
#[derive(Debug, thiserror::Error)]
pub enum MountError {
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The target holds something this volume does not own: left as it is.
    #[error("target {} holds {what}: left untouched", path.display())]
    Occupied { path: PathBuf, what: String },
    #[error("cannot read the mount table: {source}")]
    MountTable {
        #[source]
        source: io::Error,
    },
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

/// Mounts, fills and removes volume targets below the kubelet root.
#[derive(Clone)]
pub struct VolumeDirs {
    mounter: Arc<dyn Mounter>,
    tmpfs_bytes: u64,
    rules: TargetRules,
}

impl VolumeDirs {
    /// `tmpfs_bytes` must hold two generations of files: during an update
    /// the old and the new directory exist together. Targets must be below
    /// `kubelet_root`.
    pub fn new(mounter: Arc<dyn Mounter>, tmpfs_bytes: u64, kubelet_root: &Path) -> VolumeDirs {
        VolumeDirs {
            mounter,
            tmpfs_bytes,
            rules: TargetRules::new(kubelet_root),
        }
    }

    /// The canonical spelling of a target kubelet sent, or the rule it breaks.
    pub fn target(&self, raw: &Path) -> Result<PathBuf, MountError> {
        Ok(self.rules.check(raw)?)
    }

    /// First publish on a [`Found::Free`] target: tmpfs named after the
    /// volume, files, read-only. On failure the tmpfs is unmounted and the
    /// (empty) directory removed, so nothing is left behind.
    pub fn create(
        &self,
        target: &Path,
        volume_id: &str,
        plan: &FilePlan,
        options: &MountOptions,
    ) -> Result<String, MountError> {
        std::fs::create_dir_all(target).map_err(|source| MountError::CreateTarget {
            path: target.to_owned(),
            source,
        })?;
        let source = mount_source(volume_id);
        if let Err(source) = self
            .mounter
            .mount_tmpfs(target, &source, self.tmpfs_bytes, options)
        {
            let _ = std::fs::remove_dir(target);
            return Err(MountError::Mount {
                path: target.to_owned(),
                source,
            });
        }
        let written = self.write_then_seal(target, plan, atomic::write_first_generation);
        if written.is_err() {
            let _ = self.discard(target);
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
        let written = self.write_then_seal(target, plan, atomic::write_generation);
        if written.is_err() {
            // Best effort: the error being reported is the write's.
            let _ = self.seal(target);
        }
        written
    }

    /// Whether the mounted files are exactly `plan`'s (unreadable: no).
    pub fn holds(&self, target: &Path, plan: &FilePlan) -> bool {
        atomic::holds(target, plan).unwrap_or(false)
    }

    /// The generation `..data` points at (none, or unreadable: `None`).
    pub fn generation(&self, target: &Path) -> Option<String> {
        atomic::current_generation(target).ok().flatten()
    }

    /// A tmpfs a crash left writable with the right files: older
    /// generations removed, then read-only again.
    pub fn finish_update(&self, target: &Path) -> Result<(), MountError> {
        atomic::remove_old_generations(target).map_err(|source| MountError::Write {
            path: target.to_owned(),
            source,
        })?;
        self.seal(target)
    }

    /// Read-only again (after a crash left the tmpfs writable).
    pub fn seal(&self, target: &Path) -> Result<(), MountError> {
        self.mounter
            .remount(target, self.tmpfs_bytes, true)
            .map_err(|source| MountError::Remount {
                path: target.to_owned(),
                mode: "read-only",
                source,
            })
    }

    fn write_then_seal(
        &self,
        target: &Path,
        plan: &FilePlan,
        write: fn(&Path, &FilePlan) -> io::Result<String>,
    ) -> Result<String, MountError> {
        let data_dir = write(target, plan).map_err(|source| MountError::Write {
            path: target.to_owned(),
            source,
        })?;
        self.seal(target)?;
        Ok(data_dir)
    }

    /// NodeUnpublishVolume's disk part: this volume's tmpfs is unmounted,
    /// then the directory removed if empty; a target already gone is
    /// success; anything else at the target is refused and left alone.
    pub fn remove(
        &self,
        target: &Path,
        volume_id: &str,
        known: Option<u64>,
    ) -> Result<(), MountError> {
        match self.inspect(target, volume_id, known)? {
            Found::Ours { .. } => self.discard(target),
            Found::Free => remove_empty_dir(target),
        }
    }

    /// Unmounts a tmpfs of ours and removes the directory it was on, only if
    /// nothing else is in it.
    pub fn discard(&self, target: &Path) -> Result<(), MountError> {
        self.mounter
            .unmount(target)
            .map_err(|source| MountError::Unmount {
                path: target.to_owned(),
                source,
            })?;
        remove_empty_dir(target)
    }
}

/// `remove_dir`, never recursive: files the driver did not write stay.
fn remove_empty_dir(target: &Path) -> Result<(), MountError> {
    match std::fs::remove_dir(target) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::DirectoryNotEmpty => Err(MountError::Occupied {
            path: target.to_owned(),
            what: "files the driver did not write (under its unmounted tmpfs)".into(),
        }),
        Err(source) => Err(MountError::RemoveTarget {
            path: target.to_owned(),
            source,
        }),
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
mod tests;
