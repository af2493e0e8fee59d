//! An in-process fake Kubernetes API server for tests and the bench: the
//! REST shapes the driver uses, on 127.0.0.1 with plain HTTP, reached
//! through an ordinary kubeconfig exactly as in a cluster.
//!
//! It serves GET, LIST and WATCH of Connectors (namespaced and across
//! namespaces), ConnectorClasses, ConfigMaps and AccessRequests (field and
//! label selectors) with real, increasing resourceVersions; AccessRequest
//! creation (with `generateName`); TokenRequests (issuing tokens it records, so a test can
//! check the pod binding and expiry); SubjectAccessReviews (answered from
//! RBAC-like grants the test sets, matched as RBAC matches); Events
//! (recorded for assertions); and faults on demand (500s, hangs, dropped
//! watches). It counts the objects it sends (list items, watch events,
//! GETs: [`Served`]) and knows which watches are open ([`OpenWatch`]), so a
//! test or the bench can tell what a driver receives. Never a dependency of
//! the driver's binary.

// Support code: a step that cannot be set up is a failed test or bench run.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::Router;
use k8s_openapi::api::authorization::v1::SubjectAccessReview;
use serde_json::{json, Value as Json};
use tokio::sync::broadcast;

mod auth;
mod http;
pub mod rbac;
mod routes;
mod served;
mod watch;
mod world;

use http::query_pairs;
use routes::handle;
use world::{Broadcast, Change, Shared, World};

pub use rbac::Grant;
pub use served::{OpenWatch, Served};

const CONNECTORS_API: &str = "connectors.alauda.io/v1alpha1";

/// The kinds the fake stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Connector,
    ConnectorClass,
    ConfigMap,
    AccessRequest,
}

impl Kind {
    fn from_kind(kind: &str) -> Option<Kind> {
        match kind {
            "Connector" => Some(Kind::Connector),
            "ConnectorClass" => Some(Kind::ConnectorClass),
            "ConfigMap" => Some(Kind::ConfigMap),
            "AccessRequest" => Some(Kind::AccessRequest),
            _ => None,
        }
    }

    fn from_plural(plural: &str) -> Option<Kind> {
        match plural {
            "connectors" => Some(Kind::Connector),
            "connectorclasses" => Some(Kind::ConnectorClass),
            "configmaps" => Some(Kind::ConfigMap),
            "accessrequests" => Some(Kind::AccessRequest),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Connector => "Connector",
            Kind::ConnectorClass => "ConnectorClass",
            Kind::ConfigMap => "ConfigMap",
            Kind::AccessRequest => "AccessRequest",
        }
    }

    fn api_version(self) -> &'static str {
        match self {
            Kind::Connector | Kind::ConnectorClass | Kind::AccessRequest => CONNECTORS_API,
            Kind::ConfigMap => "v1",
        }
    }

    fn namespaced(self) -> bool {
        !matches!(self, Kind::ConnectorClass)
    }
}

/// What the server does with the next requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Every request is answered with a 500 `Status`; open watches close.
    ServerError,
    /// Requests are accepted and never answered.
    Hang,
}

/// A token the fake issued, with what it was asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedToken {
    pub namespace: String,
    pub service_account: String,
    pub audiences: Vec<String>,
    pub expiration_seconds: Option<i64>,
    pub bound_kind: Option<String>,
    pub bound_name: Option<String>,
    pub bound_uid: Option<String>,
    pub token: String,
    pub expires_at: SystemTime,
}

/// An Event the driver wrote: a create (`POST`) or a series update (`PATCH`).
#[derive(Clone, Debug, PartialEq)]
pub struct EventWrite {
    pub method: String,
    pub namespace: String,
    /// The body as sent (`events.k8s.io/v1` Event, or its merge patch).
    pub event: Json,
}

impl EventWrite {
    pub fn reason(&self) -> &str {
        self.event["reason"].as_str().unwrap_or_default()
    }
}

/// One request as it arrived (for "no API round trip" assertions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
}

impl RecordedRequest {
    pub fn is_watch(&self) -> bool {
        query_pairs(&self.query)
            .iter()
            .any(|(k, v)| k == "watch" && (v == "1" || v == "true"))
    }
}

/// The fake API server; stops when dropped.
pub struct FakeApiServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
    /// Holds the kubeconfig file; removed with the server.
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeApiServer {
    /// Binds 127.0.0.1 on a free port and writes a kubeconfig pointing at it.
    pub async fn start() -> FakeApiServer {
        let (changes, _) = broadcast::channel(1024);
        let shared = Arc::new(Shared {
            world: Mutex::new(World::default()),
            changes,
            paused: tokio::sync::watch::channel(false).0,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        let server = FakeApiServer {
            addr,
            shared,
            task,
            _dir: dir,
            kubeconfig,
        };
        server.write_kubeconfig(&server.kubeconfig);
        server
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig for this server, written at start.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// Writes a kubeconfig (plain http, bearer token) pointing at this server.
    pub fn write_kubeconfig(&self, path: &Path) {
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\n\
             clusters:\n- name: fake\n  cluster:\n    server: {url}\n\
             users:\n- name: driver\n  user:\n    token: driver-credential\n\
             contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: driver\n",
            url = self.url()
        );
        std::fs::write(path, text).unwrap();
    }

    /// A client configured from the kubeconfig file, as the driver makes one.
    pub async fn client(&self) -> kube::Client {
        let file = kube::config::Kubeconfig::read_from(&self.kubeconfig).unwrap();
        let config =
            kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
                .await
                .unwrap();
        kube::Client::try_from(config).unwrap()
    }

    /// Creates or replaces an object (its `kind` says which); returns it as
    /// stored, with its new resourceVersion.
    pub fn apply(&self, mut object: Json) -> Json {
        let kind = object["kind"]
            .as_str()
            .and_then(Kind::from_kind)
            .expect("an object of a kind the fake stores");
        let name = object["metadata"]["name"].as_str().unwrap().to_owned();
        let namespace = if kind.namespaced() {
            object["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_owned()
        } else {
            String::new()
        };
        let mut world = self.shared.world();
        world.revision += 1;
        let revision = world.revision;
        let key = (kind, namespace.clone(), name.clone());
        let existing_uid = world
            .objects
            .get(&key)
            .and_then(|o| o["metadata"]["uid"].as_str())
            .map(str::to_owned);
        let event = if existing_uid.is_some() {
            "MODIFIED"
        } else {
            "ADDED"
        };
        object["apiVersion"] = json!(kind.api_version());
        let meta = &mut object["metadata"];
        meta["resourceVersion"] = json!(revision.to_string());
        meta["uid"] = json!(existing_uid.unwrap_or_else(|| format!("uid-{revision}")));
        if kind.namespaced() {
            meta["namespace"] = json!(namespace);
        }
        world.objects.insert(key, object.clone());
        self.record_change(&mut world, kind, event, object.clone());
        object
    }

    /// The stored objects of `kind` (all namespaces), by namespace and name.
    pub fn objects(&self, kind: Kind) -> Vec<Json> {
        self.shared
            .world()
            .objects
            .iter()
            .filter(|((k, _, _), _)| *k == kind)
            .map(|(_, object)| object.clone())
            .collect()
    }

    /// Sets the conditions of AccessRequest `namespace/name`, as the
    /// approval controller would.
    pub fn set_access_request_conditions(&self, namespace: &str, name: &str, conditions: Json) {
        let mut request = self
            .shared
            .world()
            .objects
            .get(&(Kind::AccessRequest, namespace.to_owned(), name.to_owned()))
            .cloned()
            .expect("the AccessRequest exists");
        request["status"] = json!({"conditions": conditions});
        self.apply(request);
    }

    /// Deletes an object; false if there was none.
    pub fn delete(&self, kind: Kind, namespace: &str, name: &str) -> bool {
        let namespace = if kind.namespaced() { namespace } else { "" };
        let mut world = self.shared.world();
        let Some(mut object) = world
            .objects
            .remove(&(kind, namespace.to_owned(), name.to_owned()))
        else {
            return false;
        };
        world.revision += 1;
        object["metadata"]["resourceVersion"] = json!(world.revision.to_string());
        self.record_change(&mut world, kind, "DELETED", object);
        true
    }

    fn record_change(&self, world: &mut World, kind: Kind, event: &'static str, object: Json) {
        let change = Change {
            revision: world.revision,
            kind,
            event,
            object,
        };
        world.history.push(change.clone());
        // Sent under the lock so that a watch starting now sees each change
        // exactly once: either in its replay or on the channel.
        let _ = self.shared.changes.send(Broadcast::Change(change));
    }

    /// Lets `system:serviceaccount:SA_NS:SA` get connector `namespace/name`
    /// (`name` may be `*`).
    pub fn allow(&self, sa_namespace: &str, service_account: &str, namespace: &str, name: &str) {
        let names: &[&str] = if name == "*" { &[] } else { &[name] };
        self.grant(
            Grant::service_account(sa_namespace, service_account)
                .in_namespace(namespace)
                .verbs(&["get"])
                .resources(&["connectors"])
                .names(names),
        );
    }

    /// Adds an RBAC-like grant (a Role rule and its binding).
    pub fn grant(&self, grant: Grant) {
        self.shared.world().grants.push(grant);
    }

    /// Removes the grants equal to `grant`.
    pub fn revoke(&self, grant: &Grant) {
        self.shared.world().grants.retain(|g| g != grant);
    }

    /// Removes every grant.
    pub fn revoke_all(&self) {
        self.shared.world().grants.clear();
    }

    /// SubjectAccessReviews received, in order.
    pub fn reviews(&self) -> Vec<SubjectAccessReview> {
        self.shared.world().reviews.clone()
    }

    /// Events written (created or patched), in order.
    pub fn event_writes(&self) -> Vec<EventWrite> {
        self.shared.world().event_writes.clone()
    }

    /// Events written with `reason`, in order.
    pub fn events_with_reason(&self, reason: &str) -> Vec<EventWrite> {
        self.event_writes()
            .into_iter()
            .filter(|e| e.reason() == reason)
            .collect()
    }

    /// Tokens issued by TokenRequest, in order.
    pub fn issued_tokens(&self) -> Vec<IssuedToken> {
        self.shared.world().tokens.clone()
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.world().requests.clone()
    }

    /// Requests that were not watches (GET, LIST, POST).
    pub fn non_watch_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| !r.is_watch())
            .collect()
    }

    pub fn open_watches(&self) -> usize {
        self.shared.world().watches.len()
    }

    /// The watches open now, in the order they started.
    pub fn open_watch_list(&self) -> Vec<OpenWatch> {
        self.shared.world().watches.values().cloned().collect()
    }

    /// Objects sent of `kind` so far.
    pub fn served(&self, kind: Kind) -> Served {
        self.shared
            .world()
            .served
            .get(&kind)
            .copied()
            .unwrap_or_default()
    }

    /// Objects sent of every kind so far.
    pub fn served_total(&self) -> Served {
        self.shared
            .world()
            .served
            .values()
            .fold(Served::default(), |total, served| total + *served)
    }

    /// Starts failing every request; a `ServerError` also drops open watches.
    pub fn fail(&self, fault: Fault) {
        self.shared.world().fault = Some(fault);
        if fault == Fault::ServerError {
            self.drop_watches();
        }
    }

    /// Answers normally again.
    pub fn heal(&self) {
        self.shared.world().fault = None;
    }

    /// Ends every open watch stream, as an API server restart or a load
    /// balancer timeout would.
    pub fn drop_watches(&self) {
        let _ = self.shared.changes.send(Broadcast::DropWatches);
    }

    /// Watches stop delivering events until [`FakeApiServer::resume_watches`].
    pub fn pause_watches(&self) {
        self.shared.paused.send_replace(true);
    }

    pub fn resume_watches(&self) {
        self.shared.paused.send_replace(false);
    }

    /// Waits until `count` watches are open (the driver's caches are live).
    pub async fn wait_for_watches(&self, count: usize) {
        eventually(&format!("{count} watches are open"), || {
            self.open_watches() >= count
        })
        .await;
    }
}

/// Polls `condition` every 10 ms for up to 10 s.
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..1000 {
        if condition() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}");
}
