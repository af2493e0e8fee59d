//! The real [`Mounter`]: tmpfs mounts by system call (rustix), and
//! `/proc/self/mountinfo` to tell what is mounted where.

use std::io;
use std::path::{Path, PathBuf};

use rustix::fs::{statvfs, statx, AtFlags, StatVfsMountFlags, StatxFlags, CWD};
use rustix::mount::{MountFlags, UnmountFlags};

use super::{MountOptions, Mounter};

/// What every volume mount carries: the files are data, never programs.
const SAFE_FLAGS: MountFlags = MountFlags::NOSUID
    .union(MountFlags::NODEV)
    .union(MountFlags::NOEXEC);

/// Mounts with the kernel; needs CAP_SYS_ADMIN.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemMounter;

fn tmpfs_options(size_bytes: u64) -> String {
    // mode=0755: the pod may run as any user and must read the files.
    format!("size={size_bytes},mode=0755")
}

/// The data of a volume's first mount: the fixed tmpfs options, then the
/// labels kubelet asked for. Remounts leave the labels out: SELinux refuses
/// to change them on a mounted filesystem and keeps them as they are.
pub fn mount_data(size_bytes: u64, options: &MountOptions) -> String {
    let mut data = tmpfs_options(size_bytes);
    for option in options.data() {
        data.push(',');
        data.push_str(&option);
    }
    data
}

impl Mounter for SystemMounter {
    fn mount_tmpfs(
        &self,
        target: &Path,
        source: &str,
        size_bytes: u64,
        options: &MountOptions,
    ) -> io::Result<()> {
        let options = std::ffi::CString::new(mount_data(size_bytes, options))
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
        rustix::mount::mount(source, target, "tmpfs", SAFE_FLAGS, options.as_c_str())
            .map_err(io::Error::from)
    }

    fn remount(&self, target: &Path, size_bytes: u64, read_only: bool) -> io::Result<()> {
        let flags = if read_only {
            SAFE_FLAGS | MountFlags::RDONLY
        } else {
            SAFE_FLAGS
        };
        rustix::mount::mount_remount(target, flags, tmpfs_options(size_bytes).as_str())
            .map_err(io::Error::from)
    }

    fn unmount(&self, target: &Path) -> io::Result<()> {
        match rustix::mount::unmount(target, UnmountFlags::empty()) {
            // A reader still holds a file open: detach now, the kernel frees
            // the tmpfs when the last reference goes.
            Err(rustix::io::Errno::BUSY) => {
                rustix::mount::unmount(target, UnmountFlags::DETACH).map_err(io::Error::from)
            }
            other => other.map_err(io::Error::from),
        }
    }

    fn mount_table(&self) -> io::Result<Vec<MountEntry>> {
        let text = std::fs::read_to_string("/proc/self/mountinfo")?;
        Ok(parse_mountinfo(&text).collect())
    }

    fn mount_id(&self, path: &Path) -> io::Result<Option<u64>> {
        let stat = statx(CWD, path, AtFlags::SYMLINK_NOFOLLOW, MNT_ID_UNIQUE)?;
        let filled = StatxFlags::from_bits_retain(stat.stx_mask).contains(MNT_ID_UNIQUE);
        Ok(filled.then_some(stat.stx_mnt_id))
    }

    fn is_read_only(&self, path: &Path) -> io::Result<bool> {
        Ok(statvfs(path)?.f_flag.contains(StatVfsMountFlags::RDONLY))
    }
}

/// `STATX_MNT_ID_UNIQUE` (Linux 6.8): an id never given to another mount,
/// where the older `STATX_MNT_ID` is reused once a mount goes.
const MNT_ID_UNIQUE: StatxFlags = StatxFlags::from_bits_retain(0x4000);

/// One line of `/proc/self/mountinfo`, the parts the driver looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountEntry {
    pub mount_point: PathBuf,
    pub fs_type: String,
    /// What was mounted: for the driver's own tmpfs, the name it gave.
    pub source: String,
    /// Per-mount options (`ro`/`rw`, `nosuid`, …).
    pub mount_options: Vec<String>,
    /// Filesystem options (`size=…`, `mode=…`).
    pub super_options: Vec<String>,
}

impl MountEntry {
    pub fn is_read_only(&self) -> bool {
        self.mount_options.iter().any(|o| o == "ro")
    }
}

/// The topmost mount at `target`, if any (tests look at what was mounted).
#[cfg(test)]
pub(crate) fn find_mount(target: &Path) -> io::Result<Option<MountEntry>> {
    let wanted = std::fs::canonicalize(target).unwrap_or_else(|_| target.to_owned());
    let text = std::fs::read_to_string("/proc/self/mountinfo")?;
    Ok(parse_mountinfo(&text)
        .filter(|entry| entry.mount_point == wanted || entry.mount_point == target)
        .last())
}

/// Parses mountinfo lines; malformed lines are skipped.
pub(crate) fn parse_mountinfo(text: &str) -> impl Iterator<Item = MountEntry> + '_ {
    text.lines().filter_map(parse_line)
}

fn parse_line(line: &str) -> Option<MountEntry> {
    let (before, after) = line.split_once(" - ")?;
    let mut fields = before.split(' ');
    let mount_point = fields.nth(4)?;
    let mount_options = fields.next()?;
    let mut tail = after.split(' ');
    let fs_type = tail.next()?;
    let source = tail.next()?;
    let super_options = tail.next().unwrap_or_default();
    Some(MountEntry {
        mount_point: PathBuf::from(unescape(mount_point)),
        fs_type: fs_type.to_owned(),
        source: unescape(source),
        mount_options: mount_options.split(',').map(str::to_owned).collect(),
        super_options: super_options.split(',').map(str::to_owned).collect(),
    })
}

/// mountinfo writes space, tab, newline and backslash as `\ooo` octal.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|_| bytes.get(i) == Some(&b'\\'))
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u8::from_str_radix(d, 8).ok());
        match octal {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.extend(bytes.get(i));
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines_give_mount_point_type_and_read_only_flag() {
        let text = "36 35 98:0 / /var/lib/kubelet/pods/a\\040b/vol rw,nosuid,nodev shared:1 - tmpfs connectors-csi rw,size=1024k\n\
                    37 35 98:0 / /data ro,relatime - ext4 /dev/sda1 rw\n\
                    garbage\n";
        let entries: Vec<MountEntry> = parse_mountinfo(text).collect();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[0].mount_point,
            Path::new("/var/lib/kubelet/pods/a b/vol")
        );
        assert_eq!(entries[0].fs_type, "tmpfs");
        assert_eq!(entries[0].source, "connectors-csi");
        assert!(!entries[0].is_read_only());
        assert_eq!(entries[0].super_options, vec!["rw", "size=1024k"]);
        assert!(entries[1].is_read_only());
    }

    #[test]
    fn tmpfs_options_bound_the_size() {
        assert_eq!(tmpfs_options(4096), "size=4096,mode=0755");
    }

    #[test]
    fn selinux_labels_follow_the_fixed_options_in_the_mount_data() {
        let flags = [r#"context="system_u:object_r:container_file_t:s0:c1,c2""#.to_owned()];
        let options = MountOptions::from_flags(&flags).unwrap();
        assert_eq!(
            mount_data(4096, &options),
            r#"size=4096,mode=0755,context="system_u:object_r:container_file_t:s0:c1,c2""#
        );
        assert_eq!(
            mount_data(4096, &MountOptions::default()),
            "size=4096,mode=0755"
        );
    }

    /// Real mounts need root (see [`crate::mount::not_root`]).
    fn mount_or_skip(target: &Path) -> bool {
        match SystemMounter.mount_tmpfs(
            target,
            "connectors-csi:test",
            1 << 20,
            &MountOptions::default(),
        ) {
            Ok(()) => true,
            Err(err) if crate::mount::not_root(&err) => false,
            Err(err) => panic!("mount failed: {err}"),
        }
    }

    #[test]
    fn a_system_tmpfs_is_bounded_safe_and_sealed_read_only() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("vol");
        std::fs::create_dir(&target).unwrap();
        if !mount_or_skip(&target) {
            return;
        }
        std::fs::write(target.join("f"), "x").unwrap();
        SystemMounter.remount(&target, 1 << 20, true).unwrap();
        let entry = find_mount(&target).unwrap().unwrap();
        assert_eq!(entry.fs_type, "tmpfs");
        assert_eq!(entry.source, "connectors-csi:test");
        assert!(entry.is_read_only(), "{entry:?}");
        for flag in ["nosuid", "nodev", "noexec"] {
            assert!(entry.mount_options.iter().any(|o| o == flag), "{entry:?}");
        }
        assert!(
            entry.super_options.iter().any(|o| o == "size=1024k"),
            "{entry:?}"
        );
        assert!(std::fs::write(target.join("g"), "y").is_err());
        assert!(find_mount(&target).unwrap().is_some());
        SystemMounter.unmount(&target).unwrap();
        assert!(find_mount(&target).unwrap().is_none());
        assert!(!target.join("f").exists());
    }
}
