//! What a target holds: what the kernel says is mounted there (read from
//! `/proc/self/mountinfo` here, independently of the driver's own parser),
//! its `..data` generation, and the state directory's text.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The mount at exactly `target`: `(filesystem type, per-mount options)`.
pub fn mount_at(target: &Path) -> Option<(String, Vec<String>)> {
    let target = std::fs::canonicalize(target).ok()?;
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mut found = None;
    for line in text.lines() {
        let (before, after) = line.split_once(" - ")?;
        let fields: Vec<&str> = before.split(' ').collect();
        let mount_point = unescape_octal(fields.get(4)?);
        if Path::new(&mount_point) != target {
            continue;
        }
        let options = fields.get(5)?.split(',').map(str::to_owned).collect();
        let fs_type = after.split(' ').next()?.to_owned();
        // Later lines are mounted on top: the last match is what a reader sees.
        found = Some((fs_type, options));
    }
    found
}

/// Whether a read-only tmpfs is mounted at `target`.
pub fn is_read_only_tmpfs(target: &Path) -> bool {
    mount_at(target).is_some_and(|(fs, options)| fs == "tmpfs" && options.iter().any(|o| o == "ro"))
}

fn unescape_octal(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            if let Ok(code) = u8::from_str_radix(&field[i + 1..i + 4], 8) {
                out.push(code);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn data_link(target: &Path) -> PathBuf {
    std::fs::read_link(target.join("..data")).unwrap()
}

/// Entries of the target other than the per-file symlinks.
pub fn hidden_entries(target: &Path) -> BTreeSet<String> {
    std::fs::read_dir(target)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".."))
        .collect()
}

pub fn assert_nothing_mounted(target: &Path) {
    assert!(
        mount_at(target).is_none(),
        "{} is mounted",
        target.display()
    );
    assert!(
        !target.join("..data").exists(),
        "{} has files",
        target.display()
    );
}

pub fn state_text(dir: &Path) -> String {
    let mut text = String::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries {
            text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
        }
    }
    text
}

/// A test's node directory (kubelet root, state, socket): a temporary
/// directory whose mounts are detached when it goes, so a test that ends
/// with a volume published, or panics, leaves no tmpfs on the machine.
pub struct NodeDir(tempfile::TempDir);

impl NodeDir {
    pub fn new() -> NodeDir {
        NodeDir(tempfile::tempdir().unwrap())
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for NodeDir {
    fn drop(&mut self) {
        let Ok(root) = std::fs::canonicalize(self.0.path()) else {
            return;
        };
        let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else {
            return;
        };
        let below: Vec<PathBuf> = text
            .lines()
            .filter_map(|line| line.split(' ').nth(4).map(unescape_octal))
            .map(PathBuf::from)
            .filter(|point| point.starts_with(&root))
            .collect();
        // Topmost first.
        for point in below.iter().rev() {
            let _ = rustix::mount::unmount(point, rustix::mount::UnmountFlags::DETACH);
        }
    }
}
