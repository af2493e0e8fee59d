//! What the fake has sent, counted per kind: the figure behind "a node's
//! driver receives only what it uses".

use std::ops::Add;

use super::Kind;

/// Objects sent of one kind (or of all kinds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Served {
    /// Items of LIST responses.
    pub list_items: u64,
    /// ADDED, MODIFIED and DELETED events of watches (bookmarks carry no
    /// object and are not counted).
    pub watch_events: u64,
    /// Objects answered to a GET of one object.
    pub gets: u64,
}

impl Served {
    /// Every object sent, however it went.
    pub fn objects(&self) -> u64 {
        self.list_items + self.watch_events + self.gets
    }
}

impl Add for Served {
    type Output = Served;

    fn add(self, other: Served) -> Served {
        Served {
            list_items: self.list_items + other.list_items,
            watch_events: self.watch_events + other.watch_events,
            gets: self.gets + other.gets,
        }
    }
}

/// A watch that is open now: what it watches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenWatch {
    pub kind: Kind,
    /// `None`: across namespaces (or a cluster-scoped kind).
    pub namespace: Option<String>,
    /// The `metadata.name` field selector, if any: a watch of one object.
    pub name: Option<String>,
}
