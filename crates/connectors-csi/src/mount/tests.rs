use super::*;

use super::atomic::tests::plan;

fn dirs(root: &Path) -> (VolumeDirs, Arc<RecordingMounter>) {
    let mounter = Arc::new(RecordingMounter::default());
    (VolumeDirs::new(mounter.clone(), 1 << 20, root), mounter)
}

/// A temporary kubelet root and a canonical target below it.
fn root_and_target(below: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let target = std::fs::canonicalize(tmp.path()).unwrap().join(below);
    (tmp, target)
}

#[test]
fn create_mounts_writes_and_seals_read_only() {
    let (tmp, target) = root_and_target("target");
    let (dirs, mounter) = dirs(tmp.path());
    dirs.create(
        &target,
        "vol",
        &plan(&[("a", "1")]),
        &MountOptions::default(),
    )
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
    let (tmp, target) = root_and_target("target");
    let (dirs, mounter) = dirs(tmp.path());
    dirs.create(
        &target,
        "vol",
        &plan(&[("a", "1")]),
        &MountOptions::default(),
    )
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
    let (tmp, target) = root_and_target("target");
    let (dirs, mounter) = dirs(tmp.path());
    mounter.fail_next_mount();
    assert!(matches!(
        dirs.create(
            &target,
            "vol",
            &plan(&[("a", "1")]),
            &MountOptions::default()
        ),
        Err(MountError::Mount { .. })
    ));
    assert!(!target.exists());
}

#[test]
fn remove_unmounts_and_is_fine_when_the_target_is_gone() {
    let (tmp, target) = root_and_target("target");
    let (dirs, mounter) = dirs(tmp.path());
    dirs.create(
        &target,
        "vol",
        &plan(&[("a", "1")]),
        &MountOptions::default(),
    )
    .unwrap();
    dirs.remove(&target, "vol", None).unwrap();
    assert!(!target.exists());
    assert_eq!(mounter.read_only(&target), None);
    dirs.remove(&target, "vol", None).unwrap();
}

#[test]
fn a_real_tmpfs_volume_is_created_updated_and_removed() {
    let (tmp, target) = root_and_target("pod/vol");
    let dirs = VolumeDirs::new(Arc::new(SystemMounter), 1 << 20, tmp.path());
    let first = match dirs.create(
        &target,
        "vol",
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
    dirs.remove(&target, "vol", None).unwrap();
    assert!(!target.exists());
    assert!(tmpfs::find_mount(&target).unwrap().is_none());
}

/// What the table-free inspection stands on: a remount keeps the mount's
/// id, a mount on top or a new mount at the same place never has it.
#[test]
fn a_volume_is_known_by_its_mount_id_and_nothing_else_has_it() {
    let (tmp, target) = root_and_target("pod/vol");
    let dirs = VolumeDirs::new(Arc::new(SystemMounter), 1 << 20, tmp.path());
    match dirs.create(
        &target,
        "vol",
        &plan(&[("a", "1")]),
        &MountOptions::default(),
    ) {
        Ok(_) => {}
        Err(MountError::Mount { source, .. }) if not_root(&source) => return,
        Err(err) => panic!("{err}"),
    }
    let Some(id) = dirs.mount_id(&target) else {
        eprintln!("skipped: this kernel has no unique mount ids (Linux 6.8)");
        return;
    };
    let ours = |dirs: &VolumeDirs| dirs.inspect(&target, "vol", Some(id)).unwrap();
    assert!(matches!(
        ours(&dirs),
        Found::Ours {
            read_only: true,
            ..
        }
    ));
    dirs.update(&target, &plan(&[("a", "2")])).unwrap();
    assert_eq!(dirs.mount_id(&target), Some(id), "a remount keeps the id");
    assert_ne!(dirs.mount_id(target.parent().unwrap()), Some(id));

    SystemMounter
        .mount_tmpfs(&target, "someone-else", 1 << 20, &MountOptions::default())
        .unwrap();
    let on_top = dirs.inspect(&target, "vol", Some(id));
    assert!(
        matches!(on_top, Err(MountError::Occupied { ref what, .. }) if what.contains("someone-else")),
        "{on_top:?}"
    );
    SystemMounter.unmount(&target).unwrap();
    dirs.remove(&target, "vol", Some(id)).unwrap();
    assert!(!target.exists());

    std::fs::create_dir_all(&target).unwrap();
    SystemMounter
        .mount_tmpfs(&target, "someone-else", 1 << 20, &MountOptions::default())
        .unwrap();
    assert_ne!(dirs.mount_id(&target), Some(id), "ids are never reused");
    assert!(dirs.remove(&target, "vol", Some(id)).is_err());
    SystemMounter.unmount(&target).unwrap();
    // A free target below the root is known free without the table.
    assert_eq!(dirs.inspect(&target, "vol", None).unwrap(), Found::Free);
}

#[test]
fn files_larger_than_the_tmpfs_fail_and_leave_nothing_mounted() {
    let (tmp, target) = root_and_target("vol");
    let dirs = VolumeDirs::new(Arc::new(SystemMounter), 64 * 1024, tmp.path());
    let big = "x".repeat(256 * 1024);
    match dirs.create(
        &target,
        "vol",
        &plan(&[("big", &big)]),
        &MountOptions::default(),
    ) {
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
    let (tmp, target) = root_and_target("vol");
    let dirs = VolumeDirs::new(Arc::new(SystemMounter), 64 * 1024, tmp.path());
    match dirs.create(
        &target,
        "vol",
        &plan(&[("a", "old")]),
        &MountOptions::default(),
    ) {
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
    dirs.remove(&target, "vol", None).unwrap();
}
