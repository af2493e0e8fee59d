//! Kubernetes Events on the pod for what its owner must see: access denied,
//! access pending approval, a republish that failed to render.
//!
//! Kubelet retries a failing mount for minutes, so Events are rate-limited:
//! at most one write per (pod, reason, connector) per [`EVENT_WINDOW`].
//! Writes go through kube-runtime's `events.k8s.io/v1` recorder, which turns
//! a repeat of a recent Event into a series (a count on the same object)
//! rather than a new object. Writing happens off the publish path: a slow
//! or failing Events API never delays or fails a mount.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::Client;

use crate::model::{Connector, API_VERSION};
use crate::volume::{ConnectorRef, PodInfo};

/// The shortest time between two writes of the same Event.
pub const EVENT_WINDOW: Duration = Duration::from_secs(5 * 60);

/// Who writes the Events (`reportingController`).
const CONTROLLER: &str = "connectors-csi";

/// What happened, as the Event's reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PodEventReason {
    /// A permission check failed.
    AccessDenied,
    /// The pod waits for an AccessRequest's approval.
    AccessPending,
    /// A republish could not render; the previous files were kept.
    RepublishFailed,
}

impl PodEventReason {
    pub fn as_str(self) -> &'static str {
        match self {
            PodEventReason::AccessDenied => "ConnectorAccessDenied",
            PodEventReason::AccessPending => "ConnectorAccessPending",
            PodEventReason::RepublishFailed => "ConnectorRenderFailed",
        }
    }

    fn event_type(self) -> EventType {
        match self {
            PodEventReason::AccessDenied | PodEventReason::RepublishFailed => EventType::Warning,
            PodEventReason::AccessPending => EventType::Normal,
        }
    }

    fn action(self) -> &'static str {
        match self {
            PodEventReason::AccessDenied | PodEventReason::AccessPending => "CheckAccess",
            PodEventReason::RepublishFailed => "Render",
        }
    }
}

/// One Event about a pod. `note` is shown to users: never a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodEvent {
    pub pod: PodInfo,
    pub reason: PodEventReason,
    /// The connector it concerns, if one.
    pub connector: Option<ConnectorRef>,
    pub note: String,
}

/// Where pod Events go.
pub trait PodEvents: Send + Sync {
    /// Records `event` in the background, unless the same one was written
    /// within the window.
    fn record(&self, event: PodEvent);
}

/// Manifests mode and tests: Events go nowhere.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoEvents;

impl PodEvents for NoEvents {
    fn record(&self, _event: PodEvent) {}
}

/// Cluster mode: Events through the API server, rate-limited.
pub struct EventRecorder {
    recorder: Recorder,
    limiter: EventLimiter,
}

impl EventRecorder {
    pub fn new(client: Client) -> EventRecorder {
        EventRecorder {
            // The instance is the host name: the driver pod's, on its node.
            recorder: Recorder::new(client, Reporter::from(CONTROLLER)),
            limiter: EventLimiter::new(EVENT_WINDOW),
        }
    }
}

impl PodEvents for EventRecorder {
    fn record(&self, event: PodEvent) {
        if event.pod.name.is_empty() || event.pod.namespace.is_empty() {
            return;
        }
        let key = LimitKey::of(&event);
        if !self.limiter.admit(key, Instant::now()) {
            return;
        }
        let recorder = self.recorder.clone();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            let reference = pod_reference(&event.pod);
            let published = recorder.publish(&kube_event(&event), &reference).await;
            if let Err(err) = published {
                tracing::debug!(
                    pod = %event.pod.name,
                    namespace = %event.pod.namespace,
                    reason = event.reason.as_str(),
                    error = %err,
                    "cannot write the pod's Event"
                );
            }
        });
    }
}

fn kube_event(event: &PodEvent) -> Event {
    Event {
        type_: event.reason.event_type(),
        reason: event.reason.as_str().to_owned(),
        note: Some(truncate(&event.note, 1024)),
        action: event.reason.action().to_owned(),
        secondary: event.connector.as_ref().map(connector_reference),
    }
}

fn pod_reference(pod: &PodInfo) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".to_owned()),
        kind: Some("Pod".to_owned()),
        name: Some(pod.name.clone()),
        namespace: Some(pod.namespace.clone()),
        uid: (!pod.uid.is_empty()).then(|| pod.uid.clone()),
        ..ObjectReference::default()
    }
}

fn connector_reference(connector: &ConnectorRef) -> ObjectReference {
    ObjectReference {
        api_version: Some(API_VERSION.to_owned()),
        kind: Some(Connector::KIND.to_owned()),
        name: Some(connector.name.clone()),
        namespace: Some(connector.namespace.clone()),
        ..ObjectReference::default()
    }
}

/// The Events API takes notes of at most 1 kB.
fn truncate(note: &str, limit: usize) -> String {
    if note.len() <= limit {
        return note.to_owned();
    }
    let mut end = limit;
    while !note.is_char_boundary(end) {
        end -= 1;
    }
    note[..end].to_owned()
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct LimitKey {
    pod_namespace: String,
    pod_name: String,
    pod_uid: String,
    reason: PodEventReason,
    connector: Option<ConnectorRef>,
}

impl LimitKey {
    fn of(event: &PodEvent) -> LimitKey {
        LimitKey {
            pod_namespace: event.pod.namespace.clone(),
            pod_name: event.pod.name.clone(),
            pod_uid: event.pod.uid.clone(),
            reason: event.reason,
            connector: event.connector.clone(),
        }
    }
}

/// Admits one Event per key per window. Entries older than the window are
/// dropped as new keys arrive, so the map holds only recent Events.
struct EventLimiter {
    window: Duration,
    last: Mutex<HashMap<LimitKey, Instant>>,
}

impl EventLimiter {
    fn new(window: Duration) -> EventLimiter {
        EventLimiter {
            window,
            last: Mutex::new(HashMap::new()),
        }
    }

    fn admit(&self, key: LimitKey, now: Instant) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(at) = last.get(&key) {
            if now.duration_since(*at) < self.window {
                return false;
            }
        } else {
            last.retain(|_, at| now.duration_since(*at) < self.window);
        }
        last.insert(key, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(pod: &str, reason: PodEventReason, connector: &str) -> PodEvent {
        PodEvent {
            pod: PodInfo {
                name: pod.into(),
                namespace: "team-a".into(),
                uid: format!("uid-of-{pod}"),
                service_account: "builder".into(),
            },
            reason,
            connector: Some(ConnectorRef {
                namespace: "team-a".into(),
                name: connector.into(),
            }),
            note: "denied".into(),
        }
    }

    #[test]
    fn the_same_event_is_admitted_once_per_window() {
        let limiter = EventLimiter::new(Duration::from_secs(300));
        let now = Instant::now();
        let key = LimitKey::of(&event("web-0", PodEventReason::AccessDenied, "git"));
        assert!(limiter.admit(key.clone(), now));
        for seconds in [1, 30, 299] {
            assert!(!limiter.admit(key.clone(), now + Duration::from_secs(seconds)));
        }
        assert!(limiter.admit(key, now + Duration::from_secs(301)));
    }

    #[test]
    fn another_pod_reason_or_connector_is_another_event() {
        let limiter = EventLimiter::new(Duration::from_secs(300));
        let now = Instant::now();
        let first = event("web-0", PodEventReason::AccessDenied, "git");
        assert!(limiter.admit(LimitKey::of(&first), now));
        for other in [
            event("web-1", PodEventReason::AccessDenied, "git"),
            event("web-0", PodEventReason::AccessPending, "git"),
            event("web-0", PodEventReason::AccessDenied, "npm"),
        ] {
            assert!(limiter.admit(LimitKey::of(&other), now));
        }
    }

    #[test]
    fn old_entries_are_forgotten() {
        let limiter = EventLimiter::new(Duration::from_secs(10));
        let now = Instant::now();
        for pod in ["a", "b", "c"] {
            let key = LimitKey::of(&event(pod, PodEventReason::AccessDenied, "git"));
            assert!(limiter.admit(key, now));
        }
        let late = LimitKey::of(&event("d", PodEventReason::AccessDenied, "git"));
        assert!(limiter.admit(late, now + Duration::from_secs(11)));
        assert_eq!(limiter.last.lock().unwrap().len(), 1);
    }

    #[test]
    fn the_event_regards_the_pod_and_relates_the_connector() {
        let event = event("web-0", PodEventReason::AccessDenied, "git");
        let reference = pod_reference(&event.pod);
        assert_eq!(reference.kind.as_deref(), Some("Pod"));
        assert_eq!(reference.uid.as_deref(), Some("uid-of-web-0"));
        let kube = kube_event(&event);
        assert_eq!(kube.reason, "ConnectorAccessDenied");
        assert_eq!(kube.type_, EventType::Warning);
        let related = kube.secondary.unwrap();
        assert_eq!(related.kind.as_deref(), Some("Connector"));
        assert_eq!(related.name.as_deref(), Some("git"));
    }

    #[test]
    fn a_long_note_is_cut_at_a_character_boundary() {
        let note = "é".repeat(600);
        let cut = truncate(&note, 1024);
        assert!(cut.len() <= 1024);
        assert!(note.starts_with(&cut));
    }
}
