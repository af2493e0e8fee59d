//! A [`Mounter`] that records calls and keeps mounts in memory, so the
//! publish pipeline is testable without root. Files land on the parent
//! filesystem; only the mount table is pretended, and an unmount takes the
//! files with it as a tmpfs's would go.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::{tmpfs, MountEntry, MountOptions, Mounter};

#[derive(Debug, Default)]
pub struct RecordingMounter {
    /// Mounted targets: source and whether each is read-only.
    mounts: Mutex<BTreeMap<PathBuf, (String, bool)>>,
    /// The data the system mounter would have passed, by target.
    data: Mutex<BTreeMap<PathBuf, String>>,
    calls: Mutex<Vec<String>>,
    fail_mount: AtomicBool,
}

impl RecordingMounter {
    /// Calls so far, as `mount PATH`, `remount-ro PATH`, `remount-rw PATH`, `unmount PATH`.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// `Some(read_only)` when `target` is mounted.
    pub fn read_only(&self, target: &Path) -> Option<bool> {
        self.mounts.lock().ok()?.get(target).map(|(_, ro)| *ro)
    }

    /// The mount data of the last mount at `target`, exactly as the
    /// system mounter would pass it to the kernel.
    pub fn mount_data(&self, target: &Path) -> Option<String> {
        self.data.lock().ok()?.get(target).cloned()
    }

    /// Makes the next `mount_tmpfs` fail, as a full or forbidden mount would.
    pub fn fail_next_mount(&self) {
        self.fail_mount.store(true, Ordering::SeqCst);
    }

    fn record(&self, call: String) {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(call);
        }
    }

    fn with_mounts<T>(
        &self,
        f: impl FnOnce(&mut BTreeMap<PathBuf, (String, bool)>) -> T,
    ) -> io::Result<T> {
        let mut mounts = self
            .mounts
            .lock()
            .map_err(|_| io::Error::other("mount table poisoned"))?;
        Ok(f(&mut mounts))
    }
}

impl Mounter for RecordingMounter {
    fn mount_tmpfs(
        &self,
        target: &Path,
        source: &str,
        size_bytes: u64,
        options: &MountOptions,
    ) -> io::Result<()> {
        self.record(format!("mount {}", target.display()));
        if self.fail_mount.swap(false, Ordering::SeqCst) {
            return Err(io::Error::from(io::ErrorKind::PermissionDenied));
        }
        if let Ok(mut data) = self.data.lock() {
            data.insert(target.to_owned(), tmpfs::mount_data(size_bytes, options));
        }
        self.with_mounts(|m| m.insert(target.to_owned(), (source.to_owned(), false)))?;
        Ok(())
    }

    fn remount(&self, target: &Path, _size_bytes: u64, read_only: bool) -> io::Result<()> {
        let mode = if read_only { "ro" } else { "rw" };
        self.record(format!("remount-{mode} {}", target.display()));
        self.with_mounts(|m| match m.get_mut(target) {
            Some((_, flag)) => {
                *flag = read_only;
                Ok(())
            }
            None => Err(io::Error::from(io::ErrorKind::InvalidInput)),
        })?
    }

    fn unmount(&self, target: &Path) -> io::Result<()> {
        self.record(format!("unmount {}", target.display()));
        self.with_mounts(|m| m.remove(target))?
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        empty_dir(target)
    }

    fn mount_table(&self) -> io::Result<Vec<MountEntry>> {
        self.with_mounts(|m| {
            m.iter()
                .map(|(target, (source, read_only))| MountEntry {
                    mount_point: target.clone(),
                    fs_type: "tmpfs".into(),
                    source: source.clone(),
                    mount_options: vec![if *read_only { "ro" } else { "rw" }.into()],
                    super_options: Vec::new(),
                })
                .collect()
        })
    }
}

/// What the pretended tmpfs held: the files and generation directories
/// written on the parent filesystem.
fn empty_dir(dir: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            empty_dir(&entry.path())?;
            std::fs::remove_dir(entry.path())?;
        } else {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}
