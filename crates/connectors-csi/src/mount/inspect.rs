//! What is at a volume's target before a call touches it: free, this
//! volume's tmpfs, or something the call must refuse. Mount ids answer
//! the common cases; the mount table answers the rest.

use std::io;
use std::path::Path;

use super::{
    excerpt, is_own_source, mount_source, MountEntry, MountError, TargetError, VolumeDirs,
    SOURCE_PREFIX,
};

/// What is at a target, from one volume's point of view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// Nothing, or an empty directory: free to mount on.
    Free,
    /// This volume's tmpfs: whether it is sealed, and the generation
    /// `..data` points at (none after a crash before the first swap).
    Ours {
        read_only: bool,
        generation: Option<String>,
    },
}

impl VolumeDirs {
    /// What is at `target` for `volume_id`; a target inside or above
    /// another volume's tmpfs, another volume's or a foreign mount, a file
    /// or a directory with files are refused. `known`: the mount id the
    /// volume's record holds, if any.
    pub fn inspect(
        &self,
        target: &Path,
        volume_id: &str,
        known: Option<u64>,
    ) -> Result<Found, MountError> {
        if let Some(found) = self.inspect_by_mount_id(target, known) {
            return Ok(found);
        }
        self.inspect_by_table(target, volume_id)
    }

    /// What mount ids alone tell, without the mount table (whose reading
    /// grows with every mount on the node): the recorded tmpfs still at
    /// `target`, or a free target with no mount between it and the kubelet
    /// root, so no volume it could land in or hide. `None`: ask the table.
    pub fn inspect_by_mount_id(&self, target: &Path, known: Option<u64>) -> Option<Found> {
        let id = |path: &Path| self.mounter.mount_id(path).ok().flatten();
        let root = || id(self.rules.real_root());
        match std::fs::symlink_metadata(target) {
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                let nearest = target
                    .ancestors()
                    .skip(1)
                    .find(|dir| std::fs::symlink_metadata(dir).is_ok());
                let same = nearest.and_then(id).is_some_and(|at| root() == Some(at));
                same.then_some(Found::Free)
            }
            Ok(meta) if meta.is_dir() => {
                let at = id(target)?;
                // The id was taken at the target right after mounting; a
                // mount on top or an unmount changes what the target is on.
                if known == Some(at) {
                    // Unreadable flags: the table says.
                    let read_only = self.mounter.is_read_only(target).ok()?;
                    return Some(Found::Ours {
                        read_only,
                        generation: self.generation(target),
                    });
                }
                let empty = std::fs::read_dir(target).is_ok_and(|mut e| e.next().is_none());
                (empty && root() == Some(at)).then_some(Found::Free)
            }
            _ => None,
        }
    }

    /// The id of the mount at `target`, right after it was written.
    pub fn mount_id(&self, target: &Path) -> Option<u64> {
        self.mounter.mount_id(target).ok().flatten()
    }

    /// [`inspect`](Self::inspect) from the mount table alone.
    pub fn inspect_by_table(&self, target: &Path, volume_id: &str) -> Result<Found, MountError> {
        let occupied = |what: String| MountError::Occupied {
            path: target.to_owned(),
            what,
        };
        let meta = match std::fs::symlink_metadata(target) {
            Ok(meta) => meta,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                // Nothing can be mounted there; a new directory may still
                // land inside another volume.
                self.check_nesting(target, &self.mount_table()?)?;
                return Ok(Found::Free);
            }
            Err(source) => {
                return Err(MountError::CreateTarget {
                    path: target.to_owned(),
                    source,
                })
            }
        };
        if !meta.is_dir() {
            return Err(occupied("a file, not a directory".into()));
        }
        let table = self.mount_table()?;
        self.check_nesting(target, &table)?;
        if let Some(entry) = table.iter().rev().find(|e| e.mount_point == target) {
            if entry.source == mount_source(volume_id) || entry.source == SOURCE_PREFIX {
                return Ok(Found::Ours {
                    read_only: entry.is_read_only(),
                    generation: self.generation(target),
                });
            }
            if is_own_source(&entry.source) {
                return Err(occupied("another volume of this driver".into()));
            }
            return Err(occupied(format!(
                "a {} mount of {}",
                excerpt(&entry.fs_type),
                excerpt(&entry.source)
            )));
        }
        match std::fs::read_dir(target).map(|mut entries| entries.next().is_none()) {
            Ok(true) => Ok(Found::Free),
            Ok(false) => Err(occupied("files the driver did not write".into())),
            Err(source) => Err(MountError::CreateTarget {
                path: target.to_owned(),
                source,
            }),
        }
    }

    /// A target inside another volume would shadow its files; one above it
    /// would hide the whole volume.
    fn check_nesting(&self, target: &Path, table: &[MountEntry]) -> Result<(), MountError> {
        let path = || target.display().to_string();
        for entry in table.iter().filter(|e| is_own_source(&e.source)) {
            let volume = entry.mount_point.clone();
            if volume == target {
                continue;
            }
            if target.starts_with(&volume) {
                return Err(TargetError::InsideVolume {
                    path: path(),
                    volume,
                }
                .into());
            }
            if volume.starts_with(target) {
                return Err(TargetError::HoldsVolume {
                    path: path(),
                    volume,
                }
                .into());
            }
        }
        Ok(())
    }

    fn mount_table(&self) -> Result<Vec<MountEntry>, MountError> {
        self.mounter
            .mount_table()
            .map_err(|source| MountError::MountTable { source })
    }

    /// This driver's tmpfs mounts below the kubelet root.
    pub fn own_mounts(&self) -> Result<Vec<MountEntry>, MountError> {
        let root = self.rules.real_root();
        Ok(self
            .mount_table()?
            .into_iter()
            .filter(|e| is_own_source(&e.source) && e.mount_point.starts_with(root))
            .collect())
    }
}
