//! Per-volume state on disk (`--state-dir`): what a restarted driver needs
//! to unpublish a volume or render it again. Never a token: kubelet's
//! tokens attribute is dropped before anything is written.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::fnv1a;
use crate::tokens::TokenOrigin;
use crate::volume::attr;

/// One published volume at one target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeState {
    pub volume_id: String,
    pub target_path: PathBuf,
    /// The volume attributes kubelet passed, without its tokens: parsing
    /// them again gives the same request (connectors, pod, selection).
    pub volume_context: BTreeMap<String, String>,
    /// Seconds since the epoch when the token in the files expires, if known
    /// (the refresher renders again before).
    pub token_expires_at: Option<u64>,
    /// Who gave the token: a kubelet token is never replaced by one the
    /// driver gets itself. Absent in records of older drivers.
    #[serde(default)]
    pub token_origin: Option<TokenOrigin>,
    /// The generation directory `..data` points at.
    pub generation: String,
    /// Seconds since the epoch of the last successful write.
    pub updated_at: u64,
}

impl VolumeState {
    pub fn new(
        volume_id: &str,
        target_path: &Path,
        volume_context: &HashMap<String, String>,
        token_expires_at: Option<SystemTime>,
        token_origin: TokenOrigin,
        generation: String,
    ) -> VolumeState {
        let volume_context = volume_context
            .iter()
            .filter(|(key, _)| key.as_str() != attr::SERVICE_ACCOUNT_TOKENS)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        VolumeState {
            volume_id: volume_id.to_owned(),
            target_path: target_path.to_owned(),
            volume_context,
            token_expires_at: token_expires_at.map(epoch_seconds),
            token_origin: Some(token_origin),
            generation,
            updated_at: epoch_seconds(SystemTime::now()),
        }
    }

    /// The attributes as `VolumeRequest::parse` takes them.
    pub fn volume_context(&self) -> HashMap<String, String> {
        self.volume_context.clone().into_iter().collect()
    }
}

fn epoch_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Why state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("volume state {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("volume state {} is not valid: {source}", path.display())]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// The extension of a record being saved, until its rename.
const TEMP_EXTENSION: &str = "json.tmp";

/// A directory (0700) of `<volume>@<target hash>.json` files (0600): the
/// records hold pod identities and params, for the driver's eyes only.
#[derive(Clone, Debug)]
pub struct StateStore {
    dir: PathBuf,
}

impl StateStore {
    /// Creates the directory if needed and makes it private, also when an
    /// older version left it readable. A record a crash left half-saved
    /// (its temporary file, never renamed) is removed: it was never a record.
    /// Called once at start, before any save.
    pub fn open(dir: impl Into<PathBuf>) -> Result<StateStore, StateError> {
        use std::os::unix::fs::PermissionsExt;
        let dir = dir.into();
        let io_error = |source| StateError::Io {
            path: dir.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io_error)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(io_error)?;
        for entry in std::fs::read_dir(&dir).map_err(io_error)?.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .ends_with(TEMP_EXTENSION)
            {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(StateStore { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Written to a temporary file and renamed, so a crash leaves the old
    /// record or the new one, never half of one.
    pub(crate) fn save(&self, state: &VolumeState) -> Result<(), StateError> {
        let path = self.path_for(&state.volume_id, &state.target_path);
        let temp = path.with_extension(TEMP_EXTENSION);
        let io_error = |source| StateError::Io {
            path: path.clone(),
            source,
        };
        let json = serde_json::to_vec_pretty(state).map_err(|source| StateError::Corrupt {
            path: path.clone(),
            source,
        })?;
        write_private(&temp, &json).map_err(io_error)?;
        std::fs::rename(&temp, &path).map_err(io_error)
    }

    pub fn load(&self, volume_id: &str, target: &Path) -> Result<Option<VolumeState>, StateError> {
        read_state(&self.path_for(volume_id, target))
    }

    /// Removing a record that is not there is fine. Records an older
    /// version named by the whole volume id go too.
    pub fn remove(&self, volume_id: &str, target: &Path) -> Result<(), StateError> {
        let legacy = self.dir.join(format!(
            "{}@{:016x}.json",
            file_safe(volume_id),
            target_hash(target)
        ));
        for path in [self.path_for(volume_id, target), legacy] {
            match std::fs::remove_file(&path) {
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) if err.raw_os_error() == Some(36) => {} // ENAMETOOLONG: never written
                Err(err) => return Err(StateError::Io { path, source: err }),
                Ok(()) => {}
            }
        }
        Ok(())
    }

    /// Every record, for the refresher; unreadable ones are reported apart.
    pub fn list(&self) -> Result<(Vec<VolumeState>, Vec<StateError>), StateError> {
        let entries = std::fs::read_dir(&self.dir).map_err(|source| StateError::Io {
            path: self.dir.clone(),
            source,
        })?;
        let mut states = Vec::new();
        let mut errors = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            match read_state(&path) {
                Ok(Some(state)) => states.push(state),
                Ok(None) => {}
                Err(err) => errors.push(err),
            }
        }
        states.sort_by(|a, b| a.volume_id.cmp(&b.volume_id));
        Ok((states, errors))
    }

    /// Bounded whatever the id's length: a readable prefix of the id, a
    /// hash of all of it, a hash of the target.
    fn path_for(&self, volume_id: &str, target: &Path) -> PathBuf {
        let mut readable = file_safe(volume_id);
        if readable.len() > MAX_READABLE_ID {
            let mut cut = MAX_READABLE_ID;
            while !readable.is_char_boundary(cut) {
                cut -= 1;
            }
            readable.truncate(cut);
        }
        self.dir.join(format!(
            "{readable}-{:016x}@{:016x}.json",
            fnv1a(volume_id.as_bytes()),
            target_hash(target)
        ))
    }
}

/// Of the volume id in a record's file name; the names stay far below
/// NAME_MAX (255) whatever the id.
const MAX_READABLE_ID: usize = 64;

fn target_hash(target: &Path) -> u64 {
    fnv1a(target.as_os_str().as_encoded_bytes())
}

/// Created 0600 (the umask can only take bits away).
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

fn read_state(path: &Path) -> Result<Option<VolumeState>, StateError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StateError::Io {
                path: path.to_owned(),
                source,
            })
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| StateError::Corrupt {
            path: path.to_owned(),
            source,
        })
}

/// Volume ids are opaque strings: keep the safe bytes, escape the rest.
fn file_safe(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_half_saved_record_left_by_a_crash_is_removed_at_open() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state");
        let store = StateStore::open(&dir).unwrap();
        let state = VolumeState::new(
            "vol",
            Path::new("/pods/p/vol"),
            &HashMap::new(),
            None,
            TokenOrigin::Kubelet,
            String::new(),
        );
        store.save(&state).unwrap();
        let record = store.path_for("vol", Path::new("/pods/p/vol"));
        let half = record.with_extension(TEMP_EXTENSION);
        std::fs::write(&half, "{\"volume_id\": \"vo").unwrap();

        let store = StateStore::open(&dir).unwrap();
        assert!(!half.exists());
        assert!(record.exists());
        assert_eq!(store.list().unwrap().0.len(), 1);
    }

    fn context() -> HashMap<String, String> {
        HashMap::from([
            ("connector.name".to_owned(), "git".to_owned()),
            (
                attr::SERVICE_ACCOUNT_TOKENS.to_owned(),
                r#"{"aud":{"token":"s3cr3t","expirationTimestamp":"2030-01-01T00:00:00Z"}}"#
                    .to_owned(),
            ),
        ])
    }

    #[test]
    fn a_saved_state_loads_back_without_the_kubelet_tokens() {
        let tmp = tempfile::tempdir().unwrap();
        let store = StateStore::open(tmp.path().join("state")).unwrap();
        let state = VolumeState::new(
            "csi-abc",
            Path::new("/pods/x/vol"),
            &context(),
            Some(UNIX_EPOCH + std::time::Duration::from_secs(100)),
            TokenOrigin::Kubelet,
            "..1.000000001".into(),
        );
        store.save(&state).unwrap();
        let loaded = store
            .load("csi-abc", Path::new("/pods/x/vol"))
            .unwrap()
            .unwrap();
        assert_eq!(loaded, state);
        assert_eq!(loaded.token_expires_at, Some(100));
        assert_eq!(loaded.token_origin, Some(TokenOrigin::Kubelet));
        assert!(!loaded
            .volume_context
            .contains_key(attr::SERVICE_ACCOUNT_TOKENS));
        for entry in std::fs::read_dir(store.dir()).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            assert!(!text.contains("s3cr3t"), "{text}");
        }
    }

    #[test]
    fn records_are_per_target_and_removing_twice_is_fine() {
        let tmp = tempfile::tempdir().unwrap();
        let store = StateStore::open(tmp.path()).unwrap();
        for target in ["/a", "/b"] {
            let state = VolumeState::new(
                "v/1",
                Path::new(target),
                &context(),
                None,
                TokenOrigin::Driver,
                "..g".into(),
            );
            store.save(&state).unwrap();
        }
        let (states, errors) = store.list().unwrap();
        assert_eq!(states.len(), 2);
        assert!(errors.is_empty());
        store.remove("v/1", Path::new("/a")).unwrap();
        store.remove("v/1", Path::new("/a")).unwrap();
        assert!(store.load("v/1", Path::new("/a")).unwrap().is_none());
        assert!(store.load("v/1", Path::new("/b")).unwrap().is_some());
    }

    #[test]
    fn a_record_of_an_older_driver_has_no_token_origin() {
        let tmp = tempfile::tempdir().unwrap();
        let store = StateStore::open(tmp.path()).unwrap();
        let old = r#"{"volume_id":"v","target_path":"/t","volume_context":{},
            "token_expires_at":null,"generation":"..g","updated_at":1}"#;
        std::fs::write(tmp.path().join("v@0.json"), old).unwrap();
        let (states, errors) = store.list().unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(states[0].token_origin, None);
    }

    #[test]
    fn the_directory_and_records_are_private_and_names_bounded() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let store = StateStore::open(&dir).unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        for id in ["short", &"v".repeat(128), &"%/é".repeat(400)] {
            let state = VolumeState::new(
                id,
                Path::new("/pods/x/vol"),
                &context(),
                None,
                TokenOrigin::Driver,
                "..g".into(),
            );
            store.save(&state).unwrap();
            assert_eq!(
                store
                    .load(id, Path::new("/pods/x/vol"))
                    .unwrap()
                    .unwrap()
                    .volume_id,
                id
            );
        }
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            assert_eq!(mode(&path), 0o600, "{}", path.display());
            assert!(path.file_name().unwrap().len() < 200, "{}", path.display());
        }
        store
            .remove(&"%/é".repeat(400), Path::new("/pods/x/vol"))
            .unwrap();
        assert_eq!(store.list().unwrap().0.len(), 2);
    }

    #[test]
    fn a_corrupt_record_is_reported_not_fatal() {
        let tmp = tempfile::tempdir().unwrap();
        let store = StateStore::open(tmp.path()).unwrap();
        std::fs::write(tmp.path().join("x@0.json"), "{not json").unwrap();
        let (states, errors) = store.list().unwrap();
        assert!(states.is_empty());
        assert!(matches!(errors.as_slice(), [StateError::Corrupt { .. }]));
    }
}
