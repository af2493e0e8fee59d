//! Third-party checkers the tests drive (helm, kubernetes-validate,
//! promtool…), found where `scripts/install-tools.sh` installs them, else on
//! `PATH`. Part of the shared `support` module.
//!
//! A missing tool skips the test, loudly, on a developer's machine; under
//! `CI=true` it fails the test, because CI installs every tool first.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The tool's path, or `None` after saying on stderr that the test is skipped.
/// Panics under `CI=true` instead of skipping.
pub fn tool(name: &str) -> Option<PathBuf> {
    if let Some(path) = find(name) {
        return Some(path);
    }
    let hint = "scripts/install-tools.sh installs it";
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{name} not installed, and CI=true requires it ({hint})");
    }
    eprintln!("\n*** skipped: {name} not installed ({hint}) ***\n");
    None
}

fn find(name: &str) -> Option<PathBuf> {
    tool_dirs()
        .chain(
            std::env::var_os("PATH")
                .iter()
                .flat_map(std::env::split_paths),
        )
        .map(|dir| dir.join(name))
        .find(|path| is_executable(path))
}

/// `bin/` of `$CONNECTORS_CSI_TOOLS`, else of the script's default directory.
fn tool_dirs() -> impl Iterator<Item = PathBuf> {
    let root = std::env::var_os("CONNECTORS_CSI_TOOLS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|home| Path::new(&home).join(".cache/connectors-csi/tools"))
        });
    root.map(|root| root.join("bin")).into_iter()
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}
