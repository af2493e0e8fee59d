//! Upstream's approval gate: one AccessRequest per (service account,
//! connector, pod), found by its labels or created, and what its conditions
//! say. The approval controller is not ours; the driver only files the
//! request and reads it on each publish kubelet retries.
//!
//! Once found or filed, a request is read again by name (one GET of one
//! object) rather than listed by labels. It is not watched: a pending
//! publish holds no volume, so nothing would say when to stop, a decision
//! may take hours, and kubelet's backoff already spaces the reads.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::api::{ApiResource, DynamicObject, ListParams, ObjectMeta, PostParams};
use kube::{Api, Client};
use serde_json::{json, Value as Json};

use super::AccessError;
use crate::apiserver::answer_within;
use crate::model::{API_GROUP, API_VERSION, VERSION};
use crate::volume::{ConnectorRef, PodInfo};

const CONNECTOR_LABEL: &str = "connectors.cpaas.io/connector";
const CONTEXT_KIND_LABEL: &str = "connectors.cpaas.io/contextObjectKind";
const CONTEXT_NAME_LABEL: &str = "connectors.cpaas.io/contextObjectName";
const CONTEXT_NAMESPACE_LABEL: &str = "connectors.cpaas.io/contextObjectNamespace";

/// What an AccessRequest's conditions say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RequestState {
    /// `Ready=True`: the controller granted the pod its Role.
    Approved,
    /// A condition `False` with reason `Rejected`, or `Ready=False`: the
    /// request is final and the permission was not granted.
    Rejected,
    /// Anything else: waiting for a decision.
    Pending,
}

/// A request and its state; `name` is `namespace/name`.
pub(super) struct FiledRequest {
    pub(super) name: String,
    pub(super) state: RequestState,
}

/// Requests whose name the driver remembers; beyond, the oldest is
/// forgotten (and found by its labels again if its pod retries).
const KNOWN_REQUESTS: usize = 4096;

/// Finds or files AccessRequests, one at a time per (service account,
/// connector, pod) so concurrent publishes of a pod never file two.
pub(super) struct Approvals {
    client: Client,
    request_timeout: Duration,
    in_flight: Mutex<HashMap<Triple, Arc<tokio::sync::Mutex<()>>>>,
    known: Mutex<KnownRequests>,
}

/// The name of each triple's request, oldest first.
#[derive(Default)]
struct KnownRequests {
    names: HashMap<Triple, String>,
    order: VecDeque<Triple>,
}

impl KnownRequests {
    fn get(&self, triple: &Triple) -> Option<String> {
        self.names.get(triple).cloned()
    }

    fn remember(&mut self, triple: Triple, name: String) {
        if self.names.insert(triple.clone(), name).is_none() {
            self.order.push_back(triple);
        }
        while self.order.len() > KNOWN_REQUESTS {
            if let Some(oldest) = self.order.pop_front() {
                self.names.remove(&oldest);
            }
        }
    }

    fn forget(&mut self, triple: &Triple) {
        if self.names.remove(triple).is_some() {
            self.order.retain(|known| known != triple);
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Triple {
    service_account: String,
    connector: ConnectorRef,
    pod: String,
}

impl Approvals {
    pub(super) fn new(client: Client, request_timeout: Duration) -> Approvals {
        Approvals {
            client,
            request_timeout,
            in_flight: Mutex::new(HashMap::new()),
            known: Mutex::default(),
        }
    }

    /// The pod's request for `connector`, filed now if there is none.
    pub(super) async fn find_or_file(
        &self,
        pod: &PodInfo,
        connector: &ConnectorRef,
    ) -> Result<FiledRequest, AccessError> {
        let triple = Triple {
            service_account: format!("{}/{}", pod.namespace, pod.service_account),
            connector: connector.clone(),
            pod: format!("{}/{}", pod.namespace, pod.name),
        };
        let lock = {
            let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(in_flight.entry(triple.clone()).or_default())
        };
        let filed = {
            let _guard = lock.lock().await;
            self.read_known(&triple, pod, connector).await
        };
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        if in_flight
            .get(&triple)
            .is_some_and(|l| Arc::strong_count(l) <= 2)
        {
            in_flight.remove(&triple);
        }
        filed
    }

    /// The request by the name it had, if it is still there and still the
    /// pod's; else found by its labels or filed, and its name remembered.
    async fn read_known(
        &self,
        triple: &Triple,
        pod: &PodInfo,
        connector: &ConnectorRef,
    ) -> Result<FiledRequest, AccessError> {
        let known = self.known().get(triple);
        if let Some(name) = known {
            let api = self.api(&connector.namespace);
            let read = answer_within(self.request_timeout, api.get_opt(&name))
                .await
                .map_err(|err| unavailable(connector, err))?;
            match read {
                Some(request) if is_for_subject(&request.data, pod) => {
                    return Ok(filed_request(connector, &request));
                }
                // Deleted (or replaced by another object): look again.
                _ => self.known().forget(triple),
            }
        }
        let request = self.find_or_file_alone(pod, connector).await?;
        if let Some(name) = request.metadata.name.clone() {
            self.known().remember(triple.clone(), name);
        }
        Ok(filed_request(connector, &request))
    }

    fn known(&self) -> std::sync::MutexGuard<'_, KnownRequests> {
        // Each change is one insert or remove: a poisoned map is whole.
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn find_or_file_alone(
        &self,
        pod: &PodInfo,
        connector: &ConnectorRef,
    ) -> Result<DynamicObject, AccessError> {
        let api = self.api(&connector.namespace);
        let failed = |err| unavailable(connector, err);
        let listed = answer_within(
            self.request_timeout,
            api.list(&ListParams::default().labels(&label_selector(pod, connector))),
        )
        .await
        .map_err(failed)?;
        let mut mine: Vec<DynamicObject> = listed
            .items
            .into_iter()
            .filter(|request| is_for_subject(&request.data, pod))
            .collect();
        mine.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        let request = match mine.into_iter().next() {
            Some(found) => found,
            None => {
                let created = answer_within(
                    self.request_timeout,
                    api.create(&PostParams::default(), &new_request(pod, connector)),
                )
                .await
                .map_err(failed)?;
                tracing::info!(
                    pod = %pod.name,
                    namespace = %pod.namespace,
                    connector = %connector,
                    access_request = created.metadata.name.as_deref().unwrap_or_default(),
                    "filed an AccessRequest"
                );
                created
            }
        };
        Ok(request)
    }

    fn api(&self, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), namespace, &access_request_resource())
    }
}

fn unavailable(connector: &ConnectorRef, err: crate::apiserver::CallError) -> AccessError {
    AccessError::Unavailable {
        connector: connector.clone(),
        reason: format!("reading or filing its AccessRequest: {err}"),
    }
}

fn filed_request(connector: &ConnectorRef, request: &DynamicObject) -> FiledRequest {
    FiledRequest {
        name: format!(
            "{}/{}",
            connector.namespace,
            request.metadata.name.as_deref().unwrap_or_default()
        ),
        state: state_of(&request.data),
    }
}

fn access_request_resource() -> ApiResource {
    ApiResource {
        group: API_GROUP.to_owned(),
        version: VERSION.to_owned(),
        api_version: API_VERSION.to_owned(),
        kind: "AccessRequest".to_owned(),
        plural: "accessrequests".to_owned(),
    }
}

fn labels(pod: &PodInfo, connector: &ConnectorRef) -> [(&'static str, String); 4] {
    [
        (CONNECTOR_LABEL, connector.name.clone()),
        (CONTEXT_KIND_LABEL, "Pod".to_owned()),
        (CONTEXT_NAME_LABEL, pod.name.clone()),
        (CONTEXT_NAMESPACE_LABEL, pod.namespace.clone()),
    ]
}

fn label_selector(pod: &PodInfo, connector: &ConnectorRef) -> String {
    labels(pod, connector)
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn is_for_subject(request: &Json, pod: &PodInfo) -> bool {
    let subject = &request["spec"]["subject"];
    subject["kind"] == "ServiceAccount"
        && subject["name"] == pod.service_account.as_str()
        && subject["namespace"] == pod.namespace.as_str()
}

/// The request upstream's driver files: its labels, subject, connector and
/// pod, and a generated name. No token, nothing else.
pub(super) fn new_request(pod: &PodInfo, connector: &ConnectorRef) -> DynamicObject {
    let mut request = DynamicObject::new("", &access_request_resource());
    request.metadata = ObjectMeta {
        generate_name: Some(generated_prefix(pod, connector)),
        namespace: Some(connector.namespace.clone()),
        labels: Some(
            labels(pod, connector)
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value))
                .collect(),
        ),
        ..ObjectMeta::default()
    };
    request.data = json!({
        "spec": {
            "subject": {"kind": "ServiceAccount", "name": pod.service_account, "namespace": pod.namespace},
            "connectorRef": {"name": connector.name},
            "context": {"objectRef": {"apiVersion": "v1", "kind": "Pod", "name": pod.name, "namespace": pod.namespace}},
        }
    });
    request
}

/// `<connector>-<pod>-`, short enough for the API server's random suffix.
fn generated_prefix(pod: &PodInfo, connector: &ConnectorRef) -> String {
    let mut prefix: String = format!("{}-{}", connector.name, pod.name)
        .chars()
        .take(57)
        .collect();
    while prefix.ends_with(['-', '.']) {
        prefix.pop();
    }
    prefix.push('-');
    prefix
}

fn state_of(request: &Json) -> RequestState {
    let conditions = request["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    // Ready is Unknown while the controller decides; False is its last word.
    let rejected = conditions
        .iter()
        .any(|c| c["status"] == "False" && (c["reason"] == "Rejected" || c["type"] == "Ready"));
    let ready = conditions
        .iter()
        .any(|c| c["type"] == "Ready" && c["status"] == "True");
    match (rejected, ready) {
        (true, _) => RequestState::Rejected,
        (false, true) => RequestState::Approved,
        (false, false) => RequestState::Pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod() -> PodInfo {
        PodInfo {
            name: "build-7x2kq".into(),
            namespace: "team-a".into(),
            uid: "u".into(),
            service_account: "builder".into(),
        }
    }

    fn connector() -> ConnectorRef {
        ConnectorRef {
            namespace: "team-a".into(),
            name: "github".into(),
        }
    }

    #[test]
    fn a_new_request_has_upstreams_labels_and_spec() {
        let request = new_request(&pod(), &connector());
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(json["apiVersion"], "connectors.alauda.io/v1alpha1");
        assert_eq!(json["kind"], "AccessRequest");
        assert_eq!(json["metadata"]["generateName"], "github-build-7x2kq-");
        assert_eq!(json["metadata"]["namespace"], "team-a");
        assert_eq!(
            json["metadata"]["labels"],
            json!({
                "connectors.cpaas.io/connector": "github",
                "connectors.cpaas.io/contextObjectKind": "Pod",
                "connectors.cpaas.io/contextObjectName": "build-7x2kq",
                "connectors.cpaas.io/contextObjectNamespace": "team-a",
            })
        );
        assert_eq!(
            json["spec"],
            json!({
                "subject": {"kind": "ServiceAccount", "name": "builder", "namespace": "team-a"},
                "connectorRef": {"name": "github"},
                "context": {"objectRef": {"apiVersion": "v1", "kind": "Pod", "name": "build-7x2kq", "namespace": "team-a"}},
            })
        );
    }

    #[test]
    fn conditions_say_approved_rejected_or_pending() {
        let with = |conditions: Json| json!({"status": {"conditions": conditions}});
        assert_eq!(state_of(&json!({})), RequestState::Pending);
        assert_eq!(
            state_of(&with(json!([{"type": "Ready", "status": "True"}]))),
            RequestState::Approved
        );
        assert_eq!(
            state_of(&with(
                json!([{"type": "Ready", "status": "Unknown", "reason": "Pending"}])
            )),
            RequestState::Pending
        );
        assert_eq!(
            state_of(&with(json!([
                {"type": "AccessCheckReady", "status": "False", "reason": "Rejected"},
                {"type": "Ready", "status": "False", "reason": "Rejected"}
            ]))),
            RequestState::Rejected
        );
        // Final without the permission, for a reason other than rejection.
        assert_eq!(
            state_of(&with(
                json!([{"type": "Ready", "status": "False", "reason": "Expired"}])
            )),
            RequestState::Rejected
        );
    }

    #[test]
    fn known_request_names_are_bounded_and_the_oldest_goes_first() {
        let triple = |n: usize| Triple {
            service_account: "team-a/builder".into(),
            connector: connector(),
            pod: format!("team-a/pod-{n}"),
        };
        let mut known = KnownRequests::default();
        for n in 0..=KNOWN_REQUESTS {
            known.remember(triple(n), format!("request-{n}"));
        }
        assert_eq!(known.get(&triple(0)), None);
        assert_eq!(known.get(&triple(1)).as_deref(), Some("request-1"));
        known.forget(&triple(1));
        assert_eq!(known.get(&triple(1)), None);
        assert_eq!(known.names.len(), KNOWN_REQUESTS - 1);
        assert_eq!(known.order.len(), KNOWN_REQUESTS - 1);
    }

    #[test]
    fn a_long_generated_name_prefix_is_cut_and_ends_with_a_dash() {
        let mut long = pod();
        long.name = "p".repeat(80);
        let prefix = generated_prefix(&long, &connector());
        assert!(prefix.len() <= 58);
        assert!(prefix.ends_with('-'));
    }
}
