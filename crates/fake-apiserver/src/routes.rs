//! Request routing, GET and LIST.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Value as Json};

use super::auth::{issue_token, review};
use super::http::{is_watch, json_response, not_found, query_pairs, status_response, with_type};
use super::watch::watch;
use super::world::{Broadcast, Change, Shared};
use super::{EventWrite, Fault, Kind, RecordedRequest, Served};

pub(super) async fn handle(
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
        (
            Method::POST,
            ["apis", "connectors.alauda.io", "v1alpha1", "namespaces", ns, "accessrequests"],
        ) => create_access_request(&shared, ns, &body),
        (Method::POST, ["apis", "events.k8s.io", "v1", "namespaces", ns, "events"]) => {
            write_event(&shared, "POST", ns, &body)
        }
        (Method::PATCH, ["apis", "events.k8s.io", "v1", "namespaces", ns, "events", _]) => {
            write_event(&shared, "PATCH", ns, &body)
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

/// POST of an AccessRequest: `generateName` gets a suffix, an existing name
/// is `AlreadyExists`, as the API server does.
fn create_access_request(shared: &Shared, ns: &str, body: &[u8]) -> Response {
    let Ok(mut object) = serde_json::from_slice::<Json>(body) else {
        return status_response(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "not an AccessRequest",
        );
    };
    let mut world = shared.world();
    world.revision += 1;
    let revision = world.revision;
    let name = match (
        object["metadata"]["name"].as_str(),
        object["metadata"]["generateName"].as_str(),
    ) {
        (Some(name), _) if !name.is_empty() => name.to_owned(),
        (_, Some(prefix)) => format!("{prefix}{revision:05x}"),
        _ => {
            return status_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid",
                "name or generateName is required",
            )
        }
    };
    let key = (Kind::AccessRequest, ns.to_owned(), name.clone());
    if world.objects.contains_key(&key) {
        return status_response(
            StatusCode::CONFLICT,
            "AlreadyExists",
            &format!("accessrequests.connectors.alauda.io \"{name}\" already exists"),
        );
    }
    let meta = &mut object["metadata"];
    meta["name"] = json!(name);
    meta["namespace"] = json!(ns);
    meta["resourceVersion"] = json!(revision.to_string());
    meta["uid"] = json!(format!("uid-{revision}"));
    object = with_type(Kind::AccessRequest, object);
    world.objects.insert(key, object.clone());
    let change = Change {
        revision,
        kind: Kind::AccessRequest,
        event: "ADDED",
        object: object.clone(),
    };
    world.history.push(change.clone());
    let _ = shared.changes.send(Broadcast::Change(change));
    json_response(StatusCode::CREATED, &object)
}

/// An `events.k8s.io/v1` create or (series) patch, recorded and echoed.
fn write_event(shared: &Shared, method: &str, ns: &str, body: &[u8]) -> Response {
    let Ok(event) = serde_json::from_slice::<Json>(body) else {
        return status_response(StatusCode::BAD_REQUEST, "BadRequest", "not an Event");
    };
    let mut world = shared.world();
    world.revision += 1;
    let mut stored = event.clone();
    stored["metadata"]["resourceVersion"] = json!(world.revision.to_string());
    world.event_writes.push(EventWrite {
        method: method.to_owned(),
        namespace: ns.to_owned(),
        event,
    });
    let status = if method == "POST" {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    json_response(status, &stored)
}

pub(super) enum Target {
    One(Kind, String, String),
    /// A kind, in one namespace or (None) all of them.
    Collection(Kind, Option<String>),
}

pub(super) fn read_target(rest: &[&str]) -> Option<Target> {
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

pub(super) fn get_one(shared: &Shared, kind: Kind, ns: &str, name: &str) -> Response {
    let mut world = shared.world();
    match world.objects.get(&(kind, ns.to_owned(), name.to_owned())) {
        Some(object) => {
            let response = json_response(StatusCode::OK, object);
            let one = Served {
                gets: 1,
                ..Served::default()
            };
            world.count(kind, one);
            response
        }
        None => not_found(&format!(
            "{} \"{name}\" not found",
            kind.name().to_lowercase()
        )),
    }
}

/// `metadata.name=X` / `metadata.namespace=X` field selectors, the only ones
/// the driver uses.
pub(super) struct Selector {
    pub(super) name: Option<String>,
    pub(super) namespace: Option<String>,
    /// `labelSelector` equality terms (`k=v`, `k==v`), all must hold.
    pub(super) labels: Vec<(String, String)>,
}

impl Selector {
    pub(super) fn parse(params: &[(String, String)], namespace: Option<&str>) -> Selector {
        let mut selector = Selector {
            name: None,
            namespace: namespace.map(str::to_owned),
            labels: Vec::new(),
        };
        for (key, value) in params {
            if key == "labelSelector" {
                for term in value.split(',').filter(|t| !t.is_empty()) {
                    let (k, v) = term
                        .split_once("==")
                        .or_else(|| term.split_once('='))
                        .unwrap_or((term, ""));
                    selector.labels.push((k.to_owned(), v.to_owned()));
                }
                continue;
            }
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

    pub(super) fn matches(&self, object: &Json) -> bool {
        let meta = &object["metadata"];
        self.name
            .as_deref()
            .is_none_or(|name| meta["name"].as_str() == Some(name))
            && self
                .namespace
                .as_deref()
                .is_none_or(|ns| meta["namespace"].as_str() == Some(ns))
            && self
                .labels
                .iter()
                .all(|(k, v)| meta["labels"][k].as_str() == Some(v.as_str()))
    }
}

pub(super) fn list(
    shared: &Shared,
    kind: Kind,
    ns: Option<&str>,
    params: &[(String, String)],
) -> Response {
    let selector = Selector::parse(params, ns);
    let mut world = shared.world();
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
    let listed = Served {
        list_items: items_count(&body),
        ..Served::default()
    };
    world.count(kind, listed);
    json_response(StatusCode::OK, &body)
}

fn items_count(list: &Json) -> u64 {
    list["items"]
        .as_array()
        .map_or(0, |items| items.len() as u64)
}
