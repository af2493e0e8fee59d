//! The kubelet-style `..data` swap: a volume's files live in a generation
//! directory `..<timestamp>`, `..data` links to the current one, and each
//! visible file `name` links to `..data/name`. Replacing `..data` with one
//! rename switches every file at once, so a reader never sees a mix of two
//! generations.
//!
//! As in kubelet, the previous generation is deleted right after the swap:
//! an `open` that resolved `..data` just before the rename can then fail
//! with "not found" (never read a torn or mixed file); a retry succeeds.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{symlink, OpenOptionsExt};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::render::FilePlan;

/// The link every visible file goes through.
pub(crate) const DATA_LINK: &str = "..data";
/// Built and then renamed over [`DATA_LINK`] or a file link.
const TEMP_LINK: &str = "..tmp_link";
/// Every file: the pod may run as any user and must read it.
const FILE_MODE: u32 = 0o644;

/// Writes `plan` as a new generation under `target`, switches `..data` to
/// it, fixes the per-file links and removes older generations. Returns the
/// new generation's directory name.
pub(crate) fn write_generation(target: &Path, plan: &FilePlan) -> io::Result<String> {
    let names = checked_names(plan)?;
    let previous = current_generation(target)?;
    // Leftovers of an update that failed or crashed would take the room the
    // new generation needs.
    remove_generations_except(target, previous.as_deref())?;
    let generation = write_and_link(target, plan, &names, previous.is_some())?;
    remove_stale_links(target, &names)?;
    remove_generations_except(target, Some(&generation))?;
    Ok(generation)
}

/// [`write_generation`] into the empty tmpfs the caller has just mounted:
/// nothing to swap, nothing left over to remove.
pub(crate) fn write_first_generation(target: &Path, plan: &FilePlan) -> io::Result<String> {
    let names = checked_names(plan)?;
    write_and_link(target, plan, &names, false)
}

fn checked_names(plan: &FilePlan) -> io::Result<BTreeSet<&str>> {
    let names: BTreeSet<&str> = plan.files.iter().map(|f| f.name.as_str()).collect();
    for name in &names {
        check_name(name)?;
    }
    Ok(names)
}

/// The generation directory with its files, `..data` to it (`swap`: one
/// rename over the current link) and each file's link.
fn write_and_link(
    target: &Path,
    plan: &FilePlan,
    names: &BTreeSet<&str>,
    swap: bool,
) -> io::Result<String> {
    let generation = new_generation_dir(target)?;
    let dir = target.join(&generation);
    let written = plan
        .files
        .iter()
        .try_for_each(|file| write_file(&dir.join(&file.name), &file.content));
    if let Err(err) = written {
        // Best effort: the next update removes it anyway.
        let _ = remove_dir_if_present(&dir);
        return Err(err);
    }
    if swap {
        replace_link(target, DATA_LINK, Path::new(&generation))?;
    } else {
        ensure_link(target, DATA_LINK, Path::new(&generation))?;
    }
    for name in names {
        ensure_link(target, name, &Path::new(DATA_LINK).join(name))?;
    }
    Ok(generation)
}

/// What an update interrupted after its swap left to do: the generations
/// other than the current one are removed.
pub(crate) fn remove_old_generations(target: &Path) -> io::Result<()> {
    let current = current_generation(target)?;
    remove_generations_except(target, current.as_deref())
}

/// The generation `..data` points at, if any.
pub(crate) fn current_generation(target: &Path) -> io::Result<Option<String>> {
    match fs::read_link(target.join(DATA_LINK)) {
        Ok(link) => Ok(link.to_str().map(str::to_owned)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// Whether the current generation holds exactly `plan`'s files (names,
/// contents, the mode every file is written with), each linked: then a
/// republish has nothing to write.
pub fn holds(target: &Path, plan: &FilePlan) -> io::Result<bool> {
    use std::os::unix::fs::PermissionsExt;
    let Some(generation) = current_generation(target)? else {
        return Ok(false);
    };
    let dir = target.join(generation);
    if fs::read_dir(&dir)?.count() != plan.files.len() {
        return Ok(false);
    }
    for file in &plan.files {
        let path = dir.join(&file.name);
        let meta = match fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(err) => return Err(err),
        };
        let same_shape = meta.is_file()
            && meta.permissions().mode() & 0o7777 == FILE_MODE
            && meta.len() == file.content.len() as u64;
        if !same_shape || fs::read(&path)? != file.content {
            return Ok(false);
        }
        let linked = fs::read_link(target.join(&file.name))
            .is_ok_and(|link| link == Path::new(DATA_LINK).join(&file.name));
        if !linked {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The renderer validates names; this is the last guard before the
/// filesystem, since a `/` or a `..` prefix would escape or clash with the
/// swap's own entries.
fn check_name(name: &str) -> io::Result<()> {
    if name.is_empty() || name.contains('/') || name.contains('\0') || name.starts_with("..") {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("file name {name:?} cannot be written into a volume"),
        ));
    }
    Ok(())
}

/// `..<seconds>.<nanoseconds>`, made unique if two updates share a tick.
fn new_generation_dir(target: &Path) -> io::Result<String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let base = format!("..{}.{:09}", now.as_secs(), now.subsec_nanos());
    let mut attempt = 0u32;
    loop {
        let name = if attempt == 0 {
            base.clone()
        } else {
            format!("{base}_{attempt}")
        };
        match fs::create_dir(target.join(&name)) {
            Ok(()) => return Ok(name),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists && attempt < 1000 => {
                attempt += 1;
            }
            Err(err) => return Err(err),
        }
    }
}

fn write_file(path: &Path, content: &[u8]) -> io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)?;
    file.write_all(content)
}

/// Points `target/name` at `to` with one rename, replacing what was there.
fn replace_link(target: &Path, name: &str, to: &Path) -> io::Result<()> {
    let temp = target.join(TEMP_LINK);
    if let Err(err) = symlink(to, &temp) {
        if err.kind() != io::ErrorKind::AlreadyExists {
            return Err(err);
        }
        // Left by an update that crashed before its rename.
        fs::remove_file(&temp)?;
        symlink(to, &temp)?;
    }
    fs::rename(&temp, target.join(name))
}

/// `target/name → to`: created where missing (one call on a fresh
/// volume), kept where it already points there, replaced otherwise.
fn ensure_link(target: &Path, name: &str, to: &Path) -> io::Result<()> {
    let path = target.join(name);
    match symlink(to, &path) {
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => match fs::read_link(&path) {
            Ok(link) if link == to => Ok(()),
            _ => replace_link(target, name, to),
        },
        other => other,
    }
}

/// Links of files the new generation no longer has.
fn remove_stale_links(target: &Path, keep: &BTreeSet<&str>) -> io::Result<()> {
    for entry in fs::read_dir(target)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with("..") || keep.contains(name) {
            continue;
        }
        if entry.file_type()?.is_symlink() {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Every generation directory but `keep`.
fn remove_generations_except(target: &Path, keep: Option<&str>) -> io::Result<()> {
    for entry in fs::read_dir(target)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with("..") && Some(name) != keep && entry.file_type()?.is_dir() {
            remove_dir_if_present(&entry.path())?;
        }
    }
    Ok(())
}

/// A generation holds only files (names have no `/`): remove them, then it.
fn remove_dir_if_present(path: &Path) -> io::Result<()> {
    let entries = match fs::read_dir(path) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        other => other?,
    };
    for entry in entries {
        fs::remove_file(entry?.path())?;
    }
    fs::remove_dir(path)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::render::PlannedFile;

    pub(crate) fn plan(files: &[(&str, &str)]) -> FilePlan {
        FilePlan {
            files: files
                .iter()
                .map(|(name, content)| PlannedFile {
                    name: (*name).to_owned(),
                    content: content.as_bytes().to_vec(),
                })
                .collect(),
        }
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn files_are_links_through_data_to_the_generation() {
        let tmp = tempfile::tempdir().unwrap();
        let generation = write_generation(tmp.path(), &plan(&[("a", "1"), ("b", "2")])).unwrap();
        assert_eq!(
            fs::read_link(tmp.path().join("a")).unwrap(),
            Path::new("..data/a")
        );
        assert_eq!(
            current_generation(tmp.path()).unwrap().as_deref(),
            Some(generation.as_str())
        );
        assert_eq!(fs::read_to_string(tmp.path().join("b")).unwrap(), "2");
        assert_eq!(
            entries(tmp.path()),
            vec![generation, "..data".into(), "a".into(), "b".into()]
        );
    }

    #[test]
    fn an_update_replaces_the_generation_and_drops_removed_files() {
        let tmp = tempfile::tempdir().unwrap();
        let first = write_generation(tmp.path(), &plan(&[("a", "1"), ("b", "2")])).unwrap();
        let second = write_generation(tmp.path(), &plan(&[("a", "3"), ("c", "4")])).unwrap();
        assert_ne!(first, second);
        assert!(!tmp.path().join(&first).exists());
        assert_eq!(fs::read_to_string(tmp.path().join("a")).unwrap(), "3");
        assert_eq!(fs::read_to_string(tmp.path().join("c")).unwrap(), "4");
        assert_eq!(
            entries(tmp.path()),
            vec![second, "..data".into(), "a".into(), "c".into()]
        );
    }

    #[test]
    fn names_that_would_escape_the_volume_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        for bad in ["../x", "a/b", "..data", ""] {
            let err = write_generation(tmp.path(), &plan(&[(bad, "x")])).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad}");
        }
        assert!(entries(tmp.path()).is_empty());
    }

    #[test]
    fn a_concurrent_reader_never_sees_a_torn_or_mixed_file() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;

        const SIZE: usize = 64 * 1024;
        let tmp = tempfile::tempdir().unwrap();
        let generation_plan = |n: u8| {
            let content = String::from(char::from(b'a' + n % 26)).repeat(SIZE);
            plan(&[("config", &content), ("token", &content)])
        };
        write_generation(tmp.path(), &generation_plan(0)).unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let reader = {
            let dir = tmp.path().to_owned();
            let done = done.clone();
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !done.load(Ordering::SeqCst) {
                    for name in ["config", "token"] {
                        // The one race kubelet's swap has too: the open
                        // resolved `..data` to the generation being removed.
                        let content = match fs::read(dir.join(name)) {
                            Ok(content) => content,
                            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                            Err(err) => panic!("{name} unreadable mid-update: {err}"),
                        };
                        assert_eq!(content.len(), SIZE, "{name} torn");
                        assert!(content.iter().all(|b| *b == content[0]), "{name} mixed");
                        reads += 1;
                    }
                }
                reads
            })
        };
        for n in 1..=100 {
            write_generation(tmp.path(), &generation_plan(n)).unwrap();
        }
        done.store(true, Ordering::SeqCst);
        let reads = reader.join().unwrap();
        assert!(reads > 0);
        assert_eq!(
            fs::read(tmp.path().join("token")).unwrap()[0],
            b'a' + 100 % 26
        );
    }
}
