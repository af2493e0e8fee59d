//! An in-process fake Kubernetes API server for tests: the REST shapes the
//! driver uses, on 127.0.0.1 with plain HTTP, reached through an ordinary
//! kubeconfig exactly as in a cluster.
//!
//! It serves GET, LIST and WATCH of Connectors (namespaced and across
//! namespaces), ConnectorClasses and ConfigMaps with real, increasing
//! resourceVersions; TokenRequests (issuing tokens it records, so a test can
//! check the pod binding and expiry); SubjectAccessReviews (answered from a
//! rule table the test sets); and faults on demand (500s, hangs, dropped
//! watches). Test-only: nothing here ships in the binary.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestStatus};
use k8s_openapi::api::authorization::v1::{SubjectAccessReview, SubjectAccessReviewStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value as Json};
use tokio::sync::broadcast;

const CONNECTORS_API: &str = "connectors.alauda.io/v1alpha1";

/// The kinds the fake stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Connector,
    ConnectorClass,
    ConfigMap,
}

impl Kind {
    fn from_kind(kind: &str) -> Option<Kind> {
        match kind {
            "Connector" => Some(Kind::Connector),
            "ConnectorClass" => Some(Kind::ConnectorClass),
            "ConfigMap" => Some(Kind::ConfigMap),
            _ => None,
        }
    }

    fn from_plural(plural: &str) -> Option<Kind> {
        match plural {
            "connectors" => Some(Kind::Connector),
            "connectorclasses" => Some(Kind::ConnectorClass),
            "configmaps" => Some(Kind::ConfigMap),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Connector => "Connector",
            Kind::ConnectorClass => "ConnectorClass",
            Kind::ConfigMap => "ConfigMap",
        }
    }

    fn api_version(self) -> &'static str {
        match self {
            Kind::Connector | Kind::ConnectorClass => CONNECTORS_API,
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

/// An allow rule for SubjectAccessReviews: `user` may `get` the connector
/// `namespace/name` (`*` matches any name).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    user: String,
    namespace: String,
    name: String,
}

/// One stored change, kept so a watch from an older resourceVersion replays it.
#[derive(Clone, Debug)]
struct Change {
    revision: u64,
    kind: Kind,
    event: &'static str,
    object: Json,
}

#[derive(Clone, Debug)]
enum Broadcast {
    Change(Change),
    /// Every open watch ends now (the client re-watches).
    DropWatches,
}

#[derive(Default)]
struct World {
    revision: u64,
    objects: BTreeMap<(Kind, String, String), Json>,
    history: Vec<Change>,
    rules: Vec<Rule>,
    reviews: Vec<SubjectAccessReview>,
    tokens: Vec<IssuedToken>,
    requests: Vec<RecordedRequest>,
    fault: Option<Fault>,
    open_watches: usize,
}

struct Shared {
    world: Mutex<World>,
    changes: broadcast::Sender<Broadcast>,
    /// While true, watches hold their events back (a slow watch), so a
    /// test can tell a read-through GET from a cache hit.
    paused: tokio::sync::watch::Sender<bool>,
}

impl Shared {
    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The fake API server; stops when dropped.
pub struct FakeApiServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
    dir: tempfile::TempDir,
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
            dir,
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
            .expect("an object with kind Connector, ConnectorClass or ConfigMap");
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
        self.shared.world().rules.push(Rule {
            user: format!("system:serviceaccount:{sa_namespace}:{service_account}"),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        });
    }

    /// Removes every allow rule.
    pub fn revoke_all(&self) {
        self.shared.world().rules.clear();
    }

    /// SubjectAccessReviews received, in order.
    pub fn reviews(&self) -> Vec<SubjectAccessReview> {
        self.shared.world().reviews.clone()
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
        self.shared.world().open_watches
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
        for _ in 0..500 {
            if self.open_watches() >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "expected {count} open watches, have {}",
            self.open_watches()
        );
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let query = uri.query().unwrap_or_default().to_owned();
    let fault = {
        let mut world = shared.world();
        world.requests.push(RecordedRequest {
            method: method.to_string(),
            path: uri.path().to_owned(),
            query: query.clone(),
        });
        world.fault
    };
    match fault {
        Some(Fault::ServerError) => {
            return status_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "injected failure",
            )
        }
        Some(Fault::Hang) => std::future::pending::<()>().await,
        None => {}
    }
    let segments: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    let params = query_pairs(&query);
    match (method, segments.as_slice()) {
        (Method::POST, ["apis", "authorization.k8s.io", "v1", "subjectaccessreviews"]) => {
            review(&shared, &body)
        }
        (Method::POST, ["api", "v1", "namespaces", ns, "serviceaccounts", sa, "token"]) => {
            issue_token(&shared, ns, sa, &body)
        }
        (Method::GET, ["apis", "connectors.alauda.io", "v1alpha1", rest @ ..])
        | (Method::GET, ["api", "v1", rest @ ..]) => match read_target(rest) {
            Some(Target::One(kind, ns, name)) => get_one(&shared, kind, &ns, &name),
            Some(Target::Collection(kind, ns)) if is_watch(&params) => {
                watch(&shared, kind, ns, &params)
            }
            Some(Target::Collection(kind, ns)) => list(&shared, kind, ns.as_deref(), &params),
            None => not_found("no such resource"),
        },
        _ => not_found("no such route"),
    }
}

enum Target {
    One(Kind, String, String),
    /// A kind, in one namespace or (None) all of them.
    Collection(Kind, Option<String>),
}

fn read_target(rest: &[&str]) -> Option<Target> {
    match rest {
        ["namespaces", ns, plural] => Some(Target::Collection(
            Kind::from_plural(plural).filter(|k| k.namespaced())?,
            Some((*ns).to_owned()),
        )),
        ["namespaces", ns, plural, name] => Some(Target::One(
            Kind::from_plural(plural).filter(|k| k.namespaced())?,
            (*ns).to_owned(),
            (*name).to_owned(),
        )),
        [plural] => Some(Target::Collection(Kind::from_plural(plural)?, None)),
        [plural, name] => Some(Target::One(
            Kind::from_plural(plural).filter(|k| !k.namespaced())?,
            String::new(),
            (*name).to_owned(),
        )),
        _ => None,
    }
}

fn get_one(shared: &Shared, kind: Kind, ns: &str, name: &str) -> Response {
    let world = shared.world();
    match world.objects.get(&(kind, ns.to_owned(), name.to_owned())) {
        Some(object) => json_response(StatusCode::OK, object),
        None => not_found(&format!(
            "{} \"{name}\" not found",
            kind.name().to_lowercase()
        )),
    }
}

/// `metadata.name=X` / `metadata.namespace=X` field selectors, the only ones
/// the driver uses.
struct Selector {
    name: Option<String>,
    namespace: Option<String>,
}

impl Selector {
    fn parse(params: &[(String, String)], namespace: Option<&str>) -> Selector {
        let mut selector = Selector {
            name: None,
            namespace: namespace.map(str::to_owned),
        };
        for (key, value) in params {
            if key != "fieldSelector" {
                continue;
            }
            for term in value.split(',') {
                match term.split_once('=') {
                    Some(("metadata.name", v)) => selector.name = Some(v.to_owned()),
                    Some(("metadata.namespace", v)) => selector.namespace = Some(v.to_owned()),
                    _ => {}
                }
            }
        }
        selector
    }

    fn matches(&self, object: &Json) -> bool {
        let meta = &object["metadata"];
        self.name
            .as_deref()
            .is_none_or(|name| meta["name"].as_str() == Some(name))
            && self
                .namespace
                .as_deref()
                .is_none_or(|ns| meta["namespace"].as_str() == Some(ns))
    }
}

fn list(shared: &Shared, kind: Kind, ns: Option<&str>, params: &[(String, String)]) -> Response {
    let selector = Selector::parse(params, ns);
    let world = shared.world();
    let items: Vec<Json> = world
        .objects
        .iter()
        .filter(|((k, _, _), object)| *k == kind && selector.matches(object))
        .map(|(_, object)| with_type(kind, object.clone()))
        .collect();
    let body = json!({
        "apiVersion": kind.api_version(),
        "kind": format!("{}List", kind.name()),
        "metadata": {"resourceVersion": world.revision.to_string()},
        "items": items,
    });
    json_response(StatusCode::OK, &body)
}

fn watch(
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
    let (replay, receiver, current) = {
        let mut world = shared.world();
        world.open_watches += 1;
        let replay: VecDeque<Json> = world
            .history
            .iter()
            .filter(|c| c.revision > since && c.kind == kind && selector.matches(&c.object))
            .map(|c| event_line(c.event, with_type(kind, c.object.clone())))
            .collect();
        (replay, shared.changes.subscribe(), world.revision)
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

struct WatchStream {
    shared: Arc<Shared>,
    kind: Kind,
    selector: Selector,
    replay: VecDeque<Json>,
    receiver: broadcast::Receiver<Broadcast>,
    paused: tokio::sync::watch::Receiver<bool>,
    deadline: tokio::time::Instant,
}

impl Drop for WatchStream {
    fn drop(&mut self) {
        self.shared.world().open_watches -= 1;
    }
}

impl WatchStream {
    /// The next event as a JSON line; `None` ends the response.
    async fn next_line(&mut self) -> Option<String> {
        if let Some(event) = self.replay.pop_front() {
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
                    let event = event_line(change.event, with_type(self.kind, change.object));
                    return Some(format!("{event}\n"));
                }
                Broadcast::Change(_) => {}
            }
        }
    }

    /// A paused watch holds the event it has (later ones wait in the channel).
    async fn wait_while_paused(&mut self) -> Option<()> {
        while *self.paused.borrow_and_update() {
            tokio::select! {
                changed = self.paused.changed() => changed.ok()?,
                _ = tokio::time::sleep_until(self.deadline) => return None,
            }
        }
        Some(())
    }
}

fn review(shared: &Shared, body: &[u8]) -> Response {
    let Ok(mut review) = serde_json::from_slice::<SubjectAccessReview>(body) else {
        return status_response(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "not a SubjectAccessReview",
        );
    };
    let mut world = shared.world();
    let attributes = review.spec.resource_attributes.clone().unwrap_or_default();
    let user = review.spec.user.clone().unwrap_or_default();
    let is_connector_get = attributes.group.as_deref() == Some("connectors.alauda.io")
        && attributes.resource.as_deref() == Some("connectors")
        && attributes.verb.as_deref() == Some("get");
    let allowed = is_connector_get
        && world.rules.iter().any(|rule| {
            rule.user == user
                && Some(rule.namespace.as_str()) == attributes.namespace.as_deref()
                && (rule.name == "*" || Some(rule.name.as_str()) == attributes.name.as_deref())
        });
    world.reviews.push(review.clone());
    review.status = Some(SubjectAccessReviewStatus {
        allowed,
        reason: (!allowed).then(|| "no RBAC rule allows it".to_owned()),
        ..SubjectAccessReviewStatus::default()
    });
    json_response(StatusCode::CREATED, &review)
}

fn issue_token(shared: &Shared, ns: &str, sa: &str, body: &[u8]) -> Response {
    let Ok(mut request) = serde_json::from_slice::<TokenRequest>(body) else {
        return status_response(StatusCode::BAD_REQUEST, "BadRequest", "not a TokenRequest");
    };
    let seconds = request.spec.expiration_seconds.unwrap_or(3600);
    let expires = Timestamp::now()
        .checked_add(SignedDuration::from_secs(seconds))
        .unwrap();
    let mut world = shared.world();
    let token = format!(
        "fake-sa-token-{}-{}",
        world.tokens.len() + 1,
        std::process::id()
    );
    let bound = request.spec.bound_object_ref.clone().unwrap_or_default();
    world.tokens.push(IssuedToken {
        namespace: ns.to_owned(),
        service_account: sa.to_owned(),
        audiences: request.spec.audiences.clone(),
        expiration_seconds: request.spec.expiration_seconds,
        bound_kind: bound.kind,
        bound_name: bound.name,
        bound_uid: bound.uid,
        token: token.clone(),
        expires_at: SystemTime::from(expires),
    });
    request.status = Some(TokenRequestStatus {
        token,
        expiration_timestamp: Time(expires),
    });
    json_response(StatusCode::CREATED, &request)
}

fn with_type(kind: Kind, mut object: Json) -> Json {
    object["apiVersion"] = json!(kind.api_version());
    object["kind"] = json!(kind.name());
    object
}

fn event_line(event: &str, object: Json) -> Json {
    json!({"type": event, "object": object})
}

fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(body).unwrap(),
    )
        .into_response()
}

fn not_found(message: &str) -> Response {
    status_response(StatusCode::NOT_FOUND, "NotFound", message)
}

fn status_response(status: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason,
        "code": status.as_u16(),
    });
    json_response(status, &body)
}

fn is_watch(params: &[(String, String)]) -> bool {
    param(params, "watch").is_some_and(|v| v == "1" || v == "true")
}

fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
