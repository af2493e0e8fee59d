//! What a node's driver receives from a cluster full of Connectors: only
//! those its volumes use, each watched alone from its first publish to its
//! last unpublish, and again after a restart from the recorded volumes.
//! Over the driver's socket, with real tmpfs and the fake API server
//! reached through a kubeconfig; needs root (mounts).

#![allow(clippy::unwrap_used)] // test code: a failed step is a failed test

mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use connectors_csi::catalog::Catalog;
use connectors_csi::csi::proto::NodeUnpublishVolumeRequest;
use connectors_csi::refresh::Refresher;
use connectors_csi::tokens::Tokens;
use support::apiserver::{FakeApiServer, Kind, OpenWatch};
use support::attributes::team_a_pod;
use support::cluster::{self, connector, git_class, git_connector};
use support::driver::{self, Clients, DriverHandle};
use support::{eventually, needs_root, AUDIENCE};

/// A driver in cluster mode on its socket; it can be stopped and started
/// again on the same directory.
struct Node {
    server: FakeApiServer,
    running: Option<(Clients, DriverHandle)>,
    refresher: Option<tokio::task::JoinHandle<()>>,
    dir: support::mounts::NodeDir,
}

impl Node {
    /// A cluster of one class, `team-a/github` and `extra` more Connectors
    /// in two namespaces, and a driver that may use any of team-a's.
    async fn start(extra: usize) -> Node {
        let server = FakeApiServer::start().await;
        server.apply(git_class("# {{ .connector.spec.address }}\n"));
        server.apply(git_connector("github", "https://github.com"));
        for index in 0..extra {
            let namespace = if index % 2 == 0 { "team-a" } else { "team-b" };
            let name = format!("unused-{index}");
            server.apply(connector(namespace, &name, "git", "https://unused"));
        }
        server.allow("team-a", "builder", "team-a", "*");
        let mut node = Node {
            server,
            running: None,
            refresher: None,
            dir: support::mounts::NodeDir::new(),
        };
        node.start_driver().await;
        node
    }

    /// The driver (with its refresher), on this node's state directory.
    async fn start_driver(&mut self) {
        let parts = cluster::parts(&self.server, &cluster::settings()).await;
        let catalog = parts.catalog as Arc<dyn Catalog>;
        eventually("the catalog is ready", async || catalog.is_ready()).await;
        let changes = catalog.subscribe();
        let mut options = driver::Options::new(self.dir.path());
        options.parts = Some((
            catalog,
            parts.access as _,
            Tokens::requested(AUDIENCE, parts.tokens),
        ));
        let (clients, handle) = driver::start(options).await;
        let refresher = Refresher::new(handle.publisher.clone(), Duration::from_secs(3600));
        self.refresher = Some(tokio::spawn(refresher.run(changes, std::future::pending())));
        self.running = Some((clients, handle));
    }

    /// Stops the driver; its volumes stay mounted and recorded.
    async fn stop_driver(&mut self) {
        if let Some(refresher) = self.refresher.take() {
            refresher.abort();
        }
        if let Some((_, handle)) = self.running.take() {
            handle.stop().await;
        }
    }

    fn target(&self, pod: &str) -> PathBuf {
        self.dir.path().join("pods").join(pod).join("volume")
    }

    fn clients(&self) -> &Clients {
        &self.running.as_ref().unwrap().0
    }

    async fn publish(&self, pod: &str) {
        let context = team_a_pod(
            pod,
            &[
                ("connector.name", "github"),
                ("configuration.names", "gitconfig"),
            ],
        );
        let request = driver::publish_request(&format!("csi-{pod}"), &self.target(pod), context);
        let mut node = self.clients().node.clone();
        node.node_publish_volume(request).await.unwrap();
    }

    async fn unpublish(&self, pod: &str) {
        let mut node = self.clients().node.clone();
        node.node_unpublish_volume(NodeUnpublishVolumeRequest {
            volume_id: format!("csi-{pod}"),
            target_path: self.target(pod).display().to_string(),
        })
        .await
        .unwrap();
    }

    fn gitconfig(&self, pod: &str) -> String {
        std::fs::read_to_string(self.target(pod).join(".gitconfig")).unwrap_or_default()
    }

    /// The open watches of Connectors.
    fn connector_watches(&self) -> Vec<OpenWatch> {
        self.server
            .open_watch_list()
            .into_iter()
            .filter(|watch| watch.kind == Kind::Connector)
            .collect()
    }

    async fn github_watched(&self, watched: bool) {
        let what = if watched {
            "github is watched"
        } else {
            "github is no longer watched"
        };
        eventually(what, async || {
            self.connector_watches()
                .iter()
                .any(|w| w.name.as_deref() == Some("github"))
                == watched
        })
        .await;
    }
}

fn only_github() -> OpenWatch {
    OpenWatch {
        kind: Kind::Connector,
        namespace: Some("team-a".into()),
        name: Some("github".into()),
    }
}

#[tokio::test]
async fn a_connector_no_volume_uses_is_never_watched_nor_received() {
    if !needs_root() {
        return;
    }
    let node = Node::start(40).await;
    assert_eq!(
        node.connector_watches(),
        [],
        "no Connector is watched at start"
    );
    assert_eq!(node.server.served(Kind::Connector).objects(), 0);

    node.publish("web").await;
    node.github_watched(true).await;

    assert_eq!(node.connector_watches(), [only_github()]);
    let served = node.server.served(Kind::Connector);
    assert_eq!(
        (served.gets, served.list_items),
        (1, 1),
        "one read for the publish, one listing for the watch"
    );
    node.server
        .apply(connector("team-a", "unused-0", "git", "https://changed"));
    node.server
        .apply(git_connector("github", "https://moved.example.com"));
    eventually("the used connector's change was sent", async || {
        node.server.served(Kind::Connector).watch_events == 1
    })
    .await;
    eventually("the change reached the volume", async || {
        node.gitconfig("web").contains("moved.example.com")
    })
    .await;
    assert_eq!(
        node.server.served(Kind::Connector).watch_events,
        1,
        "the unused connector's change, made first, was never sent"
    );
    node.unpublish("web").await;
}

#[tokio::test]
async fn after_the_last_unpublish_the_connectors_watch_stops() {
    if !needs_root() {
        return;
    }
    let node = Node::start(4).await;
    node.publish("web-a").await;
    node.publish("web-b").await;
    node.github_watched(true).await;
    assert_eq!(
        node.connector_watches(),
        [only_github()],
        "one watch for both volumes"
    );

    node.unpublish("web-a").await;
    node.server
        .apply(git_connector("github", "https://one.example.com"));
    eventually("the volume still in use sees the change", async || {
        node.gitconfig("web-b").contains("one.example.com")
    })
    .await;
    assert_eq!(node.connector_watches(), [only_github()]);

    node.unpublish("web-b").await;
    node.github_watched(false).await;
    let sent = node.server.served(Kind::Connector);
    node.server
        .apply(git_connector("github", "https://two.example.com"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        node.server.served(Kind::Connector),
        sent,
        "nothing more is sent about a connector no volume uses"
    );
}

#[tokio::test]
async fn a_restarted_driver_watches_what_its_recorded_volumes_use() {
    if !needs_root() {
        return;
    }
    let mut node = Node::start(4).await;
    node.publish("web").await;
    node.github_watched(true).await;
    node.stop_driver().await;
    node.github_watched(false).await;

    node.server
        .apply(git_connector("github", "https://while-down.example.com"));
    node.start_driver().await;

    node.github_watched(true).await;
    assert_eq!(node.connector_watches(), [only_github()]);
    eventually(
        "the change made while down reached the volume",
        async || node.gitconfig("web").contains("while-down.example.com"),
    )
    .await;
    node.unpublish("web").await;
    node.github_watched(false).await;
}
