//! The mount flags kubelet passes in `volume_capability.mount.mount_flags`,
//! checked: only the SELinux labels a tmpfs accepts reach the mount, and no
//! flag can undo the fixed `nosuid,nodev,noexec`, the size bound or the
//! read-only seal.

use std::fmt;

/// A SELinux label option the kernel applies to a tmpfs. `defcontext=` is
/// not one: it only applies to filesystems labelled by extended attributes,
/// and the kernel refuses it for tmpfs (labelled by type transition).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Label {
    /// Labels every file of the mount (what kubelet passes with SELinux mounts).
    Context,
    /// Labels the filesystem itself.
    FsContext,
    /// Labels the root directory before anyone sees it.
    RootContext,
}

impl Label {
    fn parse(name: &str) -> Option<Label> {
        match name {
            "context" => Some(Label::Context),
            "fscontext" => Some(Label::FsContext),
            "rootcontext" => Some(Label::RootContext),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Label::Context => "context",
            Label::FsContext => "fscontext",
            Label::RootContext => "rootcontext",
        }
    }
}

/// The extra options of a volume's tmpfs, in the order kubelet gave them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MountOptions {
    labels: Vec<(Label, String)>,
}

/// A mount flag the volume cannot take.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("volume_capability.mount.mount_flags: {flag:?} {problem}")]
pub struct MountFlagError {
    pub flag: String,
    pub problem: &'static str,
}

/// Flags that restate what every volume mount already is.
const ALREADY_APPLIED: [&str; 4] = ["ro", "nosuid", "nodev", "noexec"];
/// Flags that would undo one of those.
const WEAKENING: [&str; 4] = ["rw", "suid", "dev", "exec"];

impl MountOptions {
    /// Each flag may itself be a comma list (`ro,context="a:b:c:s0:c1,c2"`);
    /// commas inside double quotes belong to the value, as for mount(8).
    pub fn from_flags(flags: &[String]) -> Result<MountOptions, MountFlagError> {
        let mut options = MountOptions::default();
        for option in flags.iter().flat_map(|flag| split_options(flag)) {
            options.add(option)?;
        }
        Ok(options)
    }

    fn add(&mut self, option: &str) -> Result<(), MountFlagError> {
        let refuse = |problem| {
            Err(MountFlagError {
                flag: option.to_owned(),
                problem,
            })
        };
        if ALREADY_APPLIED.contains(&option) {
            return Ok(());
        }
        if WEAKENING.contains(&option) {
            return refuse("would weaken the volume's fixed ro,nosuid,nodev,noexec mount");
        }
        let (name, value) = option.split_once('=').unwrap_or((option, ""));
        if name == "defcontext" {
            return refuse(
                "does not apply to a tmpfs (its files are labelled by type transition, \
                 not extended attributes): use context= or rootcontext=",
            );
        }
        let Some(label) = Label::parse(name) else {
            return refuse(
                "is not supported: only the SELinux options context=, fscontext= and \
                 rootcontext= apply to this volume's tmpfs; its size, mode and \
                 nosuid,nodev,noexec,ro are fixed",
            );
        };
        let Some(context) = selinux_context(value) else {
            return refuse("is not a SELinux security context (user:role:type[:level])");
        };
        if self.labels.iter().any(|(given, _)| *given == label) {
            return refuse("is given twice");
        }
        self.labels.push((label, context.to_owned()));
        Ok(())
    }

    /// The options for the tmpfs's mount data, each value quoted so the
    /// commas of a category set stay inside it.
    pub fn data(&self) -> impl Iterator<Item = String> + '_ {
        self.labels
            .iter()
            .map(|(label, context)| format!("{}=\"{context}\"", label.name()))
    }
}

impl fmt::Display for MountOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let data: Vec<String> = self.data().collect();
        f.write_str(&data.join(","))
    }
}

/// Splits on commas outside double quotes; empty items are dropped.
fn split_options(flag: &str) -> Vec<&str> {
    let mut options = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (at, byte) in flag.bytes().enumerate() {
        match byte {
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                options.push(&flag[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    options.push(&flag[start..]);
    options
        .into_iter()
        .map(str::trim)
        .filter(|option| !option.is_empty())
        .collect()
}

/// The context of `value` (quotes removed) when it has the shape of one:
/// `user:role:type` and an optional MLS/MCS level such as `s0:c1,c2` or
/// `s0-s0:c0.c1023`. Nothing else (no quote, space or `=`) can pass, so a
/// value cannot smuggle in another option.
fn selinux_context(value: &str) -> Option<&str> {
    let context = match value.strip_prefix('"') {
        Some(rest) => rest.strip_suffix('"')?,
        None => value,
    };
    let allowed =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b',' | b'-');
    let mut parts = context.splitn(4, ':');
    let shaped = (0..3).all(|_| parts.next().is_some_and(|part| !part.is_empty()))
        && parts.next().is_none_or(|level| !level.is_empty());
    (shaped && context.bytes().all(allowed)).then_some(context)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(flags: &[&str]) -> Result<MountOptions, MountFlagError> {
        let flags: Vec<String> = flags.iter().map(|f| (*f).to_owned()).collect();
        MountOptions::from_flags(&flags)
    }

    fn refused(flags: &[&str]) -> MountFlagError {
        options(flags).expect_err("the flags should be refused")
    }

    #[test]
    fn no_flags_add_nothing_to_the_mount() {
        assert_eq!(options(&[]).unwrap().data().count(), 0);
    }

    #[test]
    fn kubelets_quoted_selinux_context_is_applied_with_its_categories() {
        let applied =
            options(&[r#"context="system_u:object_r:container_file_t:s0:c15,c25""#]).unwrap();
        assert_eq!(
            applied.to_string(),
            r#"context="system_u:object_r:container_file_t:s0:c15,c25""#
        );
    }

    #[test]
    fn unquoted_contexts_and_the_other_tmpfs_labels_are_applied_quoted() {
        let applied = options(&[
            "rootcontext=system_u:object_r:container_file_t:s0",
            "fscontext=system_u:object_r:tmpfs_t:s0-s0:c0.c1023,ro",
        ])
        .unwrap();
        assert_eq!(
            applied.to_string(),
            "rootcontext=\"system_u:object_r:container_file_t:s0\",\
             fscontext=\"system_u:object_r:tmpfs_t:s0-s0:c0.c1023\""
        );
    }

    #[test]
    fn flags_restating_the_fixed_protections_are_accepted_and_add_nothing() {
        let applied = options(&["ro", "nosuid,nodev", "noexec"]).unwrap();
        assert_eq!(applied.data().count(), 0);
    }

    #[test]
    fn a_flag_that_would_weaken_the_mount_is_refused_by_name() {
        for flag in ["rw", "exec", "suid", "dev"] {
            let err = refused(&["ro", flag]);
            assert_eq!(err.flag, flag);
            assert!(err.to_string().contains("weaken"), "{err}");
        }
    }

    #[test]
    fn tmpfs_size_mode_and_owner_options_are_refused() {
        for flag in [
            "size=10G",
            "nr_inodes=0",
            "mode=0777",
            "uid=0",
            "gid=0",
            "huge=always",
        ] {
            let err = refused(&[flag]);
            assert_eq!(err.flag, flag);
            assert!(err.to_string().contains("fixed"), "{err}");
        }
    }

    #[test]
    fn a_comma_cannot_smuggle_an_option_past_the_check() {
        let err = refused(&["context=system_u:object_r:t:s0,size=10G"]);
        assert_eq!(err.flag, "size=10G");
        let err = refused(&[r#"context="system_u:object_r:t:s0",exec"#]);
        assert_eq!(err.flag, "exec");
    }

    #[test]
    fn a_value_that_is_not_a_security_context_is_refused() {
        for flag in [
            "context=",
            "context=unconfined_t",
            "context=a:b",
            "context=a::c",
            "context=a:b:c:",
            r#"context="a:b:c"x"#,
            r#"context="a:b:c,size=1""#,
            "context=a:b:c mode=0777",
            r#"context="a:b:c"#,
        ] {
            let err = refused(&[flag]);
            assert!(
                err.to_string().contains("security context"),
                "{flag}: {err}"
            );
        }
    }

    #[test]
    fn defcontext_is_refused_because_tmpfs_does_not_take_it() {
        let err = refused(&["defcontext=system_u:object_r:container_file_t:s0"]);
        assert!(
            err.to_string().contains("does not apply to a tmpfs"),
            "{err}"
        );
    }

    #[test]
    fn the_same_label_twice_is_refused() {
        let err = refused(&["context=a:b:c:s0", "context=a:b:d:s0"]);
        assert_eq!(err.flag, "context=a:b:d:s0");
        assert!(err.to_string().contains("twice"), "{err}");
    }

    #[test]
    fn unknown_flags_are_refused_naming_the_flag() {
        let err = refused(&["noatime"]);
        assert_eq!(
            err.to_string(),
            "volume_capability.mount.mount_flags: \"noatime\" is not supported: only the \
             SELinux options context=, fscontext= and rootcontext= apply to this volume's \
             tmpfs; its size, mode and nosuid,nodev,noexec,ro are fixed"
        );
        assert_eq!(refused(&["Context=a:b:c"]).flag, "Context=a:b:c");
    }
}
