//! Which target paths the driver accepts, and the one spelling of each:
//! absolute, normalised, below the kubelet root, without a symlink between
//! the root and the target. Every lock, record and mount uses the path
//! [`TargetRules::check`] returns.

use std::io;
use std::path::{Component, Path, PathBuf};

/// A target path the driver refuses; each variant names the rule.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("target_path {path:?} must be absolute")]
    Relative { path: String },
    #[error("target_path {path:?} must be normalised (no '.', '..', '//' or trailing '/')")]
    NotNormalised { path: String },
    #[error("target_path {path:?} must be below the kubelet root {}", root.display())]
    OutsideRoot { path: String, root: PathBuf },
    #[error("target_path {path:?} goes through the symlink {}: symlinks below the kubelet root are refused", link.display())]
    Symlink { path: String, link: PathBuf },
    #[error("target_path {path:?}: {} exists and is not a directory", at.display())]
    NotDirectory { path: String, at: PathBuf },
    #[error("target_path {path:?} is inside the volume mounted at {}", volume.display())]
    InsideVolume { path: String, volume: PathBuf },
    #[error("target_path {path:?} holds the volume mounted at {} below it", volume.display())]
    HoldsVolume { path: String, volume: PathBuf },
    #[error("target_path {path:?}: cannot inspect {}: {source}", at.display())]
    Io {
        path: String,
        at: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The kubelet root as configured and as the kernel names it (the mount
/// table shows resolved paths).
#[derive(Clone, Debug)]
pub struct TargetRules {
    root: PathBuf,
    real_root: PathBuf,
}

impl TargetRules {
    /// `root` is `--kubelet-root-dir`; it may itself be a symlink (some
    /// distributions move kubelet's directory), what is below it may not.
    pub fn new(root: &Path) -> TargetRules {
        let root = lexical(root).unwrap_or_else(|| root.to_owned());
        let real_root = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
        TargetRules { root, real_root }
    }

    /// The root as the mount table names it.
    pub fn real_root(&self) -> &Path {
        &self.real_root
    }

    /// The canonical path of `raw`, or the rule it breaks. Components that
    /// exist are checked on disk; the rest will be created as directories.
    pub fn check(&self, raw: &Path) -> Result<PathBuf, TargetError> {
        let text = raw.to_string_lossy().into_owned();
        let below = self.relative(&text)?;
        let mut at = self.real_root.clone();
        for part in below.components() {
            at.push(part);
            match std::fs::symlink_metadata(&at) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(TargetError::Symlink {
                        path: text,
                        link: at,
                    })
                }
                Ok(meta) if !meta.is_dir() => {
                    return Err(TargetError::NotDirectory { path: text, at })
                }
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::NotFound => break,
                Err(source) => {
                    return Err(TargetError::Io {
                        path: text,
                        at,
                        source,
                    })
                }
            }
        }
        Ok(self.real_root.join(below))
    }

    /// The part of `text` below the root, after the lexical rules.
    fn relative(&self, text: &str) -> Result<PathBuf, TargetError> {
        if !text.starts_with('/') {
            return Err(TargetError::Relative { path: text.into() });
        }
        let normalised = text.len() > 1
            && !text.ends_with('/')
            && text[1..]
                .split('/')
                .all(|part| !matches!(part, "" | "." | ".."));
        if !normalised {
            return Err(TargetError::NotNormalised { path: text.into() });
        }
        let path = Path::new(text);
        [&self.root, &self.real_root]
            .into_iter()
            .find_map(|root| path.strip_prefix(root).ok())
            .filter(|below| below.components().next().is_some())
            .map(Path::to_owned)
            .ok_or_else(|| TargetError::OutsideRoot {
                path: text.into(),
                root: self.root.clone(),
            })
    }
}

/// `path` without `.` components and trailing slashes, if it has no `..`.
fn lexical(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => return None,
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> (tempfile::TempDir, TargetRules) {
        let dir = tempfile::tempdir().unwrap();
        let rules = TargetRules::new(dir.path());
        (dir, rules)
    }

    #[test]
    fn a_normalised_path_below_the_root_is_its_own_key() {
        let (dir, rules) = rules();
        let raw = dir.path().join("pods/a/volumes/v/mount");
        let real = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(
            rules.check(&raw).unwrap(),
            real.join("pods/a/volumes/v/mount")
        );
    }

    #[test]
    fn each_lexical_rule_is_named() {
        let (dir, rules) = rules();
        let root = dir.path().display().to_string();
        let relative = rules.check(Path::new("pods/a/mount")).unwrap_err();
        assert!(
            matches!(relative, TargetError::Relative { .. }),
            "{relative}"
        );
        for bad in [
            format!("{root}/pods/x/../../escaped/mount"),
            format!("{root}/pods/./a"),
            format!("{root}//pods/a"),
            format!("{root}/pods/a/"),
        ] {
            let err = rules.check(Path::new(&bad)).unwrap_err();
            assert!(
                matches!(err, TargetError::NotNormalised { .. }),
                "{bad}: {err}"
            );
        }
        for outside in ["/etc/passwd-dir".to_owned(), root.clone()] {
            let err = rules.check(Path::new(&outside)).unwrap_err();
            assert!(
                matches!(err, TargetError::OutsideRoot { .. }),
                "{outside}: {err}"
            );
        }
    }

    #[test]
    fn a_symlink_anywhere_below_the_root_is_refused() {
        let (dir, rules) = rules();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pods")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("pods/a")).unwrap();
        for raw in ["pods/a", "pods/a/volumes/v/mount"] {
            let err = rules.check(&dir.path().join(raw)).unwrap_err();
            assert!(matches!(err, TargetError::Symlink { .. }), "{raw}: {err}");
            assert!(err.to_string().contains("symlink"), "{err}");
        }
    }

    #[test]
    fn a_file_on_the_way_is_refused() {
        let (dir, rules) = rules();
        std::fs::write(dir.path().join("file"), "x").unwrap();
        let err = rules.check(&dir.path().join("file/mount")).unwrap_err();
        assert!(matches!(err, TargetError::NotDirectory { .. }), "{err}");
    }
}
