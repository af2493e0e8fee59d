//! The syscall floor: the same volume work as a publish and an unpublish
//! (mount a size-bounded tmpfs, write the files under a `..data` directory
//! with their symlinks, remount read-only; unmount, remove) with no gRPC, no
//! rendering and no state, so the driver's overhead shows as a ratio to it.

use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::mount::{mount, mount_remount, unmount, MountFlags, UnmountFlags};

/// One file of the volume, as the driver wrote it.
#[derive(Clone, Debug)]
pub struct FileShape {
    pub name: String,
    pub size: usize,
}

/// Latencies of one publish and the unpublish after it.
#[derive(Clone, Copy, Debug)]
pub struct CycleTimes {
    pub publish: Duration,
    pub unpublish: Duration,
}

const TMPFS_OPTIONS: &std::ffi::CStr = c"size=1m,mode=0755";

fn volume_flags() -> MountFlags {
    MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC
}

/// Publishes and unpublishes one volume at `target`, timing each half.
pub fn cycle(target: &Path, files: &[(String, Vec<u8>)]) -> io::Result<CycleTimes> {
    let start = Instant::now();
    publish(target, files)?;
    let published = Instant::now();
    unpublish(target)?;
    Ok(CycleTimes {
        publish: published - start,
        unpublish: published.elapsed(),
    })
}

fn publish(target: &Path, files: &[(String, Vec<u8>)]) -> io::Result<()> {
    fs::create_dir(target)?;
    mount(
        "tmpfs",
        target,
        "tmpfs",
        volume_flags(),
        Some(TMPFS_OPTIONS),
    )?;
    let data_dir = target.join("..floor");
    fs::create_dir(&data_dir)?;
    for (name, content) in files {
        fs::write(data_dir.join(name), content)?;
    }
    symlink("..floor", target.join("..data"))?;
    for (name, _) in files {
        symlink(PathBuf::from("..data").join(name), target.join(name))?;
    }
    mount_remount(target, volume_flags() | MountFlags::RDONLY, TMPFS_OPTIONS)?;
    Ok(())
}

fn unpublish(target: &Path) -> io::Result<()> {
    unmount(target, UnmountFlags::empty())?;
    fs::remove_dir(target)
}

/// Contents of the given shapes (the bytes don't matter, their count does).
pub fn contents(shapes: &[FileShape]) -> Vec<(String, Vec<u8>)> {
    shapes
        .iter()
        .map(|shape| (shape.name.clone(), vec![b'x'; shape.size]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_floor_cycle_mounts_writes_and_leaves_nothing_behind() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: mounting tmpfs needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("volume");
        let files = contents(&[FileShape {
            name: ".gitconfig".into(),
            size: 42,
        }]);
        publish(&target, &files).unwrap();
        assert_eq!(fs::read(target.join(".gitconfig")).unwrap().len(), 42);
        assert!(fs::write(target.join("new"), b"x").is_err(), "read-only");
        unpublish(&target).unwrap();
        assert!(!target.exists());
        let times = cycle(&target, &files).unwrap();
        assert!(times.publish > Duration::ZERO && times.unpublish > Duration::ZERO);
    }
}
