//! WATCH: a replay from the asked resourceVersion, then live events as
//! chunked JSON lines, with bookmarks, timeouts, pauses and dropped watches.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::Response;
use serde_json::{json, Value as Json};
use tokio::sync::broadcast;

use super::http::{event_line, param, with_type};
use super::routes::Selector;
use super::world::{Broadcast, Shared};
use super::{Kind, OpenWatch, Served};

pub(super) fn watch(
    shared: &Arc<Shared>,
    kind: Kind,
    ns: Option<String>,
    params: &[(String, String)],
) -> Response {
    let selector = Selector::parse(params, ns.as_deref());
    let since: u64 = param(params, "resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let bookmarks = param(params, "allowWatchBookmarks").is_some_and(|v| v == "true");
    let timeout = param(params, "timeoutSeconds")
        .and_then(|v| v.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(290));
    let (replay, receiver, current, id) = {
        let mut world = shared.world();
        let id = world.next_watch;
        world.next_watch += 1;
        world.watches.insert(
            id,
            OpenWatch {
                kind,
                namespace: selector.namespace.clone(),
                name: selector.name.clone(),
            },
        );
        let replay: VecDeque<Json> = world
            .history
            .iter()
            .filter(|c| c.revision > since && c.kind == kind && selector.matches(&c.object))
            .map(|c| event_line(c.event, with_type(kind, c.object.clone())))
            .collect();
        (replay, shared.changes.subscribe(), world.revision, id)
    };
    let mut replay = replay;
    if bookmarks {
        replay.push_back(event_line(
            "BOOKMARK",
            json!({"apiVersion": kind.api_version(), "kind": kind.name(),
                   "metadata": {"resourceVersion": current.to_string()}}),
        ));
    }
    let stream = WatchStream {
        id,
        shared: Arc::clone(shared),
        kind,
        selector,
        replay,
        receiver,
        paused: shared.paused.subscribe(),
        deadline: tokio::time::Instant::now() + timeout,
    };
    let body = futures::stream::unfold(stream, |mut stream| async move {
        let line = stream.next_line().await?;
        Some((Ok::<Bytes, Infallible>(Bytes::from(line)), stream))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(body))
        .unwrap()
}

pub(super) struct WatchStream {
    pub(super) id: u64,
    pub(super) shared: Arc<Shared>,
    pub(super) kind: Kind,
    pub(super) selector: Selector,
    pub(super) replay: VecDeque<Json>,
    pub(super) receiver: broadcast::Receiver<Broadcast>,
    pub(super) paused: tokio::sync::watch::Receiver<bool>,
    pub(super) deadline: tokio::time::Instant,
}

impl Drop for WatchStream {
    fn drop(&mut self) {
        self.shared.world().watches.remove(&self.id);
    }
}

impl WatchStream {
    /// The next event as a JSON line; `None` ends the response.
    pub(super) async fn next_line(&mut self) -> Option<String> {
        if let Some(event) = self.replay.pop_front() {
            if event["type"] != "BOOKMARK" {
                self.count_event();
            }
            return Some(format!("{event}\n"));
        }
        loop {
            let message = tokio::select! {
                message = self.receiver.recv() => message.ok()?,
                _ = tokio::time::sleep_until(self.deadline) => return None,
            };
            match message {
                Broadcast::DropWatches => return None,
                Broadcast::Change(change)
                    if change.kind == self.kind && self.selector.matches(&change.object) =>
                {
                    self.wait_while_paused().await?;
                    self.count_event();
                    let event = event_line(change.event, with_type(self.kind, change.object));
                    return Some(format!("{event}\n"));
                }
                Broadcast::Change(_) => {}
            }
        }
    }

    fn count_event(&self) {
        let one = Served {
            watch_events: 1,
            ..Served::default()
        };
        self.shared.world().count(self.kind, one);
    }

    /// A paused watch holds the event it has (later ones wait in the channel).
    pub(super) async fn wait_while_paused(&mut self) -> Option<()> {
        while *self.paused.borrow_and_update() {
            tokio::select! {
                changed = self.paused.changed() => changed.ok()?,
                _ = tokio::time::sleep_until(self.deadline) => return None,
            }
        }
        Some(())
    }
}
