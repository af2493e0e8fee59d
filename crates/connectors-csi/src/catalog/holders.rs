//! Which volumes use which connectors: the reference counts behind a
//! node-scoped cache. A volume, named by its target path, holds a set of
//! connectors; a connector is in use while at least one volume holds it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::volume::ConnectorRef;

/// The connectors each mounted volume uses.
#[derive(Debug, Default)]
pub(crate) struct Holders {
    by_volume: HashMap<PathBuf, Vec<ConnectorRef>>,
    users: HashMap<ConnectorRef, usize>,
}

/// What a change of holdings starts and ends.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Turnover {
    /// Connectors no volume used before.
    pub(crate) first_used: Vec<ConnectorRef>,
    /// Connectors no volume uses any more.
    pub(crate) last_released: Vec<ConnectorRef>,
}

impl Holders {
    /// `volume` uses `connectors` from now on, instead of what it used
    /// before (holding the same set again changes nothing).
    pub(crate) fn hold(&mut self, volume: &Path, connectors: &[ConnectorRef]) -> Turnover {
        let mut wanted = connectors.to_vec();
        wanted.sort();
        wanted.dedup();
        if self.by_volume.get(volume) == Some(&wanted) {
            return Turnover::default();
        }
        // Count the new set before dropping the old one, so a connector in
        // both never reaches zero on the way.
        let mut turnover = Turnover::default();
        for connector in &wanted {
            let users = self.users.entry(connector.clone()).or_default();
            *users += 1;
            if *users == 1 {
                turnover.first_used.push(connector.clone());
            }
        }
        if let Some(before) = self.by_volume.insert(volume.to_owned(), wanted) {
            turnover.last_released = self.drop_users(&before);
        }
        turnover
    }

    /// `volume` is gone.
    pub(crate) fn release(&mut self, volume: &Path) -> Turnover {
        match self.by_volume.remove(volume) {
            Some(before) => Turnover {
                first_used: Vec::new(),
                last_released: self.drop_users(&before),
            },
            None => Turnover::default(),
        }
    }

    /// How many connectors are in use.
    #[cfg(test)]
    fn in_use(&self) -> usize {
        self.users.len()
    }

    fn drop_users(&mut self, connectors: &[ConnectorRef]) -> Vec<ConnectorRef> {
        let mut released = Vec::new();
        for connector in connectors {
            if let Some(users) = self.users.get_mut(connector) {
                *users -= 1;
                if *users == 0 {
                    self.users.remove(connector);
                    released.push(connector.clone());
                }
            }
        }
        released
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connector(name: &str) -> ConnectorRef {
        ConnectorRef {
            namespace: "team-a".into(),
            name: name.into(),
        }
    }

    #[test]
    fn a_connector_is_released_when_its_last_volume_goes() {
        let mut holders = Holders::default();
        let first = holders.hold(Path::new("/a"), &[connector("git")]);
        assert_eq!(first.first_used, [connector("git")]);
        let second = holders.hold(Path::new("/b"), &[connector("git")]);
        assert_eq!(second, Turnover::default(), "already in use");

        assert_eq!(holders.release(Path::new("/a")), Turnover::default());
        let last = holders.release(Path::new("/b"));
        assert_eq!(last.last_released, [connector("git")]);
        assert_eq!(holders.in_use(), 0);
    }

    #[test]
    fn holding_the_same_set_again_changes_nothing() {
        let mut holders = Holders::default();
        holders.hold(Path::new("/a"), &[connector("git"), connector("git")]);
        assert_eq!(
            holders.hold(Path::new("/a"), &[connector("git")]),
            Turnover::default()
        );
        assert_eq!(
            holders.release(Path::new("/a")).last_released,
            [connector("git")],
            "counted once per volume"
        );
    }

    #[test]
    fn a_volume_that_changes_connectors_keeps_the_shared_one() {
        let mut holders = Holders::default();
        holders.hold(Path::new("/a"), &[connector("git"), connector("npm")]);
        let turnover = holders.hold(Path::new("/a"), &[connector("git"), connector("pip")]);
        assert_eq!(turnover.first_used, [connector("pip")]);
        assert_eq!(turnover.last_released, [connector("npm")]);
        assert_eq!(holders.in_use(), 2);
    }

    #[test]
    fn releasing_an_unknown_volume_changes_nothing() {
        let mut holders = Holders::default();
        assert_eq!(holders.release(Path::new("/x")), Turnover::default());
    }
}
