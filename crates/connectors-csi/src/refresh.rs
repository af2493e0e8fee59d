//! The refresher: renders recorded volumes again before their token expires
//! (at 80% of its lifetime) and when a Connector, ConnectorClass or the
//! built-in templates change, through the publisher's one pipeline.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::Instrument;

use crate::catalog::{CatalogChange, ChangeFeed};
use crate::mount::VolumeState;
use crate::publish::{Publisher, Refreshed};
use crate::telemetry::Operation;
use crate::tokens::TokenOrigin;
use crate::volume::{attr, VolumeRequest};

/// Share of a token's lifetime after which the volume is rendered again.
const REFRESH_AT: f64 = 0.8;

/// Walks the recorded volumes every `interval` and on catalog changes.
pub struct Refresher {
    publisher: Arc<Publisher>,
    interval: Duration,
}

impl Refresher {
    pub fn new(publisher: Arc<Publisher>, interval: Duration) -> Refresher {
        Refresher {
            publisher,
            interval,
        }
    }

    /// Runs until `shutdown` completes. `changes` is the catalog's feed.
    pub async fn run(self, mut changes: ChangeFeed, shutdown: impl Future<Output = ()>) {
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                _ = tick.tick() => self.refresh_expiring(SystemTime::now()).await,
                // A closed feed leaves the timer-driven refreshes.
                Some(change) = changes.next() => self.refresh_affected(&change).await,
            }
        }
    }

    /// Renders again every volume whose token has passed 80% of its life.
    pub(crate) async fn refresh_expiring(&self, now: SystemTime) {
        for volume in self.publisher.volumes() {
            if token_needs_refresh(&volume, now) {
                self.refresh(&volume).await;
            }
        }
    }

    /// Renders again the volumes a catalog change can affect.
    pub(crate) async fn refresh_affected(&self, change: &CatalogChange) {
        for volume in self.publisher.volumes() {
            if is_affected(&volume, change) {
                self.refresh(&volume).await;
            }
        }
    }

    /// One volume, in a span naming its pod, namespace and volume id, so
    /// every line the publisher logs for it carries them.
    async fn refresh(&self, volume: &VolumeState) {
        let context = &volume.volume_context;
        let span = tracing::info_span!(
            "refresh",
            pod = %context.get(attr::POD_NAME).map_or("", String::as_str),
            namespace = %context.get(attr::POD_NAMESPACE).map_or("", String::as_str),
            volume_id = %volume.volume_id,
        );
        let started = std::time::Instant::now();
        // The publisher has logged and counted a failure; the old files stay.
        let outcome = match self.publisher.refresh(volume).instrument(span).await {
            Ok(Refreshed::Rendered) => "ok",
            Ok(Refreshed::AwaitingKubelet) => "skipped",
            Err(_) => "failed",
        };
        self.publisher
            .metrics()
            .observe(Operation::Refresh, outcome, started.elapsed());
    }
}

/// True once 80% of the span from the last write to the token's expiry has
/// passed (the last write is when the token was put in the files). A
/// kubelet token is renewed by kubelet's republish, not by the driver.
pub(crate) fn token_needs_refresh(volume: &VolumeState, now: SystemTime) -> bool {
    if volume.token_origin == Some(TokenOrigin::Kubelet) {
        return false;
    }
    let Some(expires_at) = volume.token_expires_at else {
        return false;
    };
    let written_at = volume.updated_at.min(expires_at);
    let lifetime = (expires_at - written_at) as f64;
    let refresh_at = written_at as f64 + lifetime * REFRESH_AT;
    let now = now
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    now >= refresh_at
}

/// A Connector change affects the volumes that name it; a class or
/// built-in templates change may affect any volume.
pub(crate) fn is_affected(volume: &VolumeState, change: &CatalogChange) -> bool {
    match change {
        CatalogChange::Connector(changed) => {
            VolumeRequest::parse(&volume.volume_context())
                .map(|request| request.connectors.contains(changed))
                // A record that no longer parses cannot be rendered anyway.
                .unwrap_or(false)
        }
        CatalogChange::Class(_) | CatalogChange::BuiltinTemplates | CatalogChange::Missed => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::ConnectorRef;
    use std::collections::HashMap;
    use std::path::Path;

    fn volume(written_at: u64, expires_at: Option<u64>) -> VolumeState {
        let context = HashMap::from([
            ("connectors".to_string(), "team-a/git".to_string()),
            (
                "csi.storage.k8s.io/pod.namespace".to_string(),
                "team-a".to_string(),
            ),
            ("csi.storage.k8s.io/pod.name".to_string(), "p".to_string()),
        ]);
        let mut state = VolumeState::new(
            "vol",
            Path::new("/t"),
            &context,
            None,
            TokenOrigin::Driver,
            "g".into(),
        );
        state.updated_at = written_at;
        state.token_expires_at = expires_at;
        state
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn a_token_is_refreshed_once_80_percent_of_its_life_has_passed() {
        let state = volume(1_000, Some(2_000));
        assert!(!token_needs_refresh(&state, at(1_799)));
        assert!(token_needs_refresh(&state, at(1_800)));
        assert!(
            token_needs_refresh(&state, at(2_500)),
            "expired: refresh now"
        );
    }

    #[test]
    fn a_kubelet_token_is_left_to_kubelets_republish() {
        let mut state = volume(1_000, Some(2_000));
        state.token_origin = Some(TokenOrigin::Kubelet);
        assert!(!token_needs_refresh(&state, at(2_500)));
    }

    #[test]
    fn a_volume_without_a_known_expiry_is_not_refreshed_by_the_timer() {
        assert!(!token_needs_refresh(&volume(1_000, None), at(1_000_000)));
    }

    #[test]
    fn a_connector_change_affects_only_the_volumes_naming_it() {
        let state = volume(0, None);
        let named = CatalogChange::Connector(ConnectorRef {
            namespace: "team-a".into(),
            name: "git".into(),
        });
        let other = CatalogChange::Connector(ConnectorRef {
            namespace: "team-b".into(),
            name: "git".into(),
        });
        assert!(is_affected(&state, &named));
        assert!(!is_affected(&state, &other));
        assert!(is_affected(&state, &CatalogChange::Class("git".into())));
        assert!(is_affected(&state, &CatalogChange::BuiltinTemplates));
        assert!(is_affected(&state, &CatalogChange::Missed));
    }
}
