//! KubeCatalog against the fake API server: watch caches (cluster-wide for
//! classes and ConfigMaps, per held object for Connectors), read-through on
//! a miss, not-found and unavailable answers.

#![allow(clippy::unwrap_used)] // test code: a failed step is a failed test

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use connectors_csi::access::Access;
use connectors_csi::apiserver::REQUEST_TIMEOUT;
use connectors_csi::catalog::kube::KubeCatalog;
use connectors_csi::catalog::{
    Catalog, CatalogChange, CatalogError, ChangeFeed, ResolvedConnector,
};
use connectors_csi::cluster::connect;
use connectors_csi::volume::{ConnectorRef, PodInfo};
use serde_json::{json, Value as Json};
use support::apiserver::{FakeApiServer, Fault, Kind};
use support::cluster::{self, connector};
use support::{eventually, DRIVER_NAMESPACE};

fn class(name: &str) -> Json {
    json!({
        "apiVersion": "connectors.alauda.io/v1alpha1", "kind": "ConnectorClass",
        "metadata": {"name": name},
        "spec": {"configurations": [{"name": "config", "data": {"f": "{{ .connector.spec.address }}"}}]},
        "status": {"proxy": {"httpAddress": {"url": "http://forward.proxy"}}}
    })
}

fn templates(namespace: &str, body: &str) -> Json {
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "connectors-csi-configuration-system", "namespace": namespace},
        "data": {"http.proxy": body}
    })
}

fn reference(namespace: &str, name: &str) -> ConnectorRef {
    ConnectorRef {
        namespace: namespace.into(),
        name: name.into(),
    }
}

async fn ready_catalog(server: &FakeApiServer) -> KubeCatalog {
    let catalog = KubeCatalog::start(
        server.client().await,
        DRIVER_NAMESPACE,
        Duration::from_millis(500),
    );
    eventually("the catalog is ready", async || catalog.is_ready()).await;
    catalog
}

/// Resolves until `check` holds for the outcome (a watch event is on its way).
async fn resolve_until(
    catalog: &KubeCatalog,
    refs: &[ConnectorRef],
    check: impl Fn(&Result<Vec<ResolvedConnector>, CatalogError>) -> bool,
) {
    eventually("the catalog reached the expected state", async || {
        check(&catalog.resolve(refs).await)
    })
    .await;
}

/// Resolves `refs` and holds them for the volume at `/volume`, as a
/// successful publish does.
async fn hold(catalog: &KubeCatalog, refs: &[ConnectorRef]) {
    let rendered = catalog.resolve(refs).await.unwrap();
    catalog.hold(Path::new("/volume"), refs, &rendered);
}

/// Waits until the watch of `namespace/name` is open.
async fn connector_watch_open(server: &FakeApiServer, namespace: &str, name: &str) {
    eventually("the connector's own watch is open", async || {
        server.open_watch_list().iter().any(|w| {
            w.kind == Kind::Connector
                && w.namespace.as_deref() == Some(namespace)
                && w.name.as_deref() == Some(name)
        })
    })
    .await;
}

fn gets_of(server: &FakeApiServer, path_end: &str) -> usize {
    server
        .non_watch_requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with(path_end))
        .count()
}

#[tokio::test]
async fn a_held_connector_resolves_from_its_watch_without_asking_the_api_server() {
    let server = FakeApiServer::start().await;
    server.apply(class("git"));
    server.apply(connector("team-a", "github", "git", "https://github.com"));
    let catalog = ready_catalog(&server).await;
    let refs = [reference("team-a", "github")];
    hold(&catalog, &refs).await;
    connector_watch_open(&server, "team-a", "github").await;
    let before = server.non_watch_requests().len();

    let resolved = catalog.resolve(&refs).await.unwrap();

    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].connector.spec.address, "https://github.com");
    assert_eq!(resolved[0].class.name(), "git");
    assert_eq!(
        resolved[0].connector.proxy_address.as_deref(),
        Some("http://github.team-a.proxy")
    );
    assert_eq!(
        server.non_watch_requests().len(),
        before,
        "no API round trip"
    );
}

#[tokio::test]
async fn a_connector_created_a_moment_ago_is_found_by_a_read_through_get() {
    let server = FakeApiServer::start().await;
    server.apply(class("git"));
    let catalog = ready_catalog(&server).await;
    server.pause_watches();

    server.apply(connector("team-a", "fresh", "git", "https://fresh"));
    let resolved = catalog
        .resolve(&[reference("team-a", "fresh")])
        .await
        .unwrap();

    assert_eq!(resolved[0].connector.spec.address, "https://fresh");
    assert_eq!(gets_of(&server, "/namespaces/team-a/connectors/fresh"), 1);
    server.resume_watches();
}

#[tokio::test]
async fn an_updated_connector_reaches_the_cache_through_the_watch() {
    let server = FakeApiServer::start().await;
    server.apply(class("git"));
    server.apply(connector("team-a", "github", "git", "https://old"));
    let catalog = ready_catalog(&server).await;
    let refs = [reference("team-a", "github")];
    hold(&catalog, &refs).await;

    server.apply(connector("team-a", "github", "git", "https://new"));

    resolve_until(
        &catalog,
        &refs,
        |outcome| matches!(outcome, Ok(r) if r[0].connector.spec.address == "https://new"),
    )
    .await;
    assert_eq!(
        gets_of(&server, "/connectors/github"),
        1,
        "only the first read asked the API server"
    );
}

#[tokio::test]
async fn a_deleted_connector_is_not_found_naming_it() {
    let server = FakeApiServer::start().await;
    server.apply(class("git"));
    server.apply(connector("team-a", "github", "git", "https://github.com"));
    let catalog = ready_catalog(&server).await;
    hold(&catalog, &[reference("team-a", "github")]).await;
    connector_watch_open(&server, "team-a", "github").await;

    assert!(server.delete(Kind::Connector, "team-a", "github"));

    let refs = [reference("team-a", "github")];
    resolve_until(&catalog, &refs, |outcome| outcome.is_err()).await;
    let err = catalog.resolve(&refs).await.unwrap_err();
    assert!(
        matches!(err, CatalogError::ConnectorNotFound { .. }),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "connector \"team-a/github\" not found");
}

#[tokio::test]
async fn a_connector_of_a_missing_class_names_the_class() {
    let server = FakeApiServer::start().await;
    server.apply(connector("team-a", "github", "nope", "https://github.com"));
    let catalog = ready_catalog(&server).await;

    let err = catalog
        .resolve(&[reference("team-a", "github")])
        .await
        .unwrap_err();

    assert!(matches!(err, CatalogError::ClassNotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("connectorclass \"nope\""), "{err}");
}

#[tokio::test]
async fn connectors_of_several_namespaces_resolve_in_the_order_given() {
    let server = FakeApiServer::start().await;
    server.apply(class("git"));
    server.apply(class("maven"));
    server.apply(connector("team-a", "github", "git", "https://a"));
    server.apply(connector("shared", "nexus", "maven", "https://b"));
    let catalog = ready_catalog(&server).await;

    let resolved = catalog
        .resolve(&[reference("shared", "nexus"), reference("team-a", "github")])
        .await
        .unwrap();

    let names: Vec<_> = resolved
        .iter()
        .map(|r| r.connector.reference().to_string())
        .collect();
    assert_eq!(names, ["shared/nexus", "team-a/github"]);
    assert_eq!(resolved[0].class.name(), "maven");
}

#[tokio::test]
async fn an_unreadable_connector_is_invalid_not_missing() {
    let server = FakeApiServer::start().await;
    server.apply(class("git"));
    let mut broken = connector("team-a", "broken", "git", "x");
    broken["spec"]["params"] = json!("not a list");
    server.apply(broken);
    let catalog = ready_catalog(&server).await;

    let err = catalog
        .resolve(&[reference("team-a", "broken")])
        .await
        .unwrap_err();

    assert!(matches!(err, CatalogError::Invalid { .. }), "{err:?}");
}

#[tokio::test]
async fn a_failing_api_server_makes_a_miss_unavailable_until_it_recovers() {
    let server = FakeApiServer::start().await;
    server.apply(class("git"));
    server.apply(connector("team-a", "cached", "git", "https://cached"));
    let catalog = ready_catalog(&server).await;
    hold(&catalog, &[reference("team-a", "cached")]).await;

    server.fail(Fault::ServerError);
    server.apply(connector("team-a", "fresh", "git", "https://fresh"));
    let err = catalog
        .resolve(&[reference("team-a", "fresh")])
        .await
        .unwrap_err();
    assert!(matches!(err, CatalogError::Unavailable { .. }), "{err:?}");
    let cached = catalog.resolve(&[reference("team-a", "cached")]).await;
    assert!(cached.is_ok(), "the cache still serves what it holds");

    server.heal();
    let resolved = catalog
        .resolve(&[reference("team-a", "fresh")])
        .await
        .unwrap();
    assert_eq!(resolved[0].connector.spec.address, "https://fresh");
}

#[tokio::test]
async fn a_hanging_api_server_makes_a_miss_unavailable_within_the_request_timeout() {
    let server = FakeApiServer::start().await;
    let catalog = ready_catalog(&server).await;
    server.fail(Fault::Hang);

    let started = std::time::Instant::now();
    let err = catalog
        .resolve(&[reference("team-a", "anything")])
        .await
        .unwrap_err();

    assert!(matches!(err, CatalogError::Unavailable { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    server.heal();
}

#[tokio::test]
async fn the_catalog_is_ready_only_once_its_caches_synced() {
    let server = FakeApiServer::start().await;
    server.fail(Fault::ServerError);
    let catalog = KubeCatalog::start(server.client().await, DRIVER_NAMESPACE, REQUEST_TIMEOUT);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!catalog.is_ready());

    server.heal();

    eventually("the catalog is ready", async || catalog.is_ready()).await;
}

#[tokio::test]
async fn the_catalog_keeps_up_after_its_watches_are_dropped() {
    let server = FakeApiServer::start().await;
    server.apply(class("git"));
    server.apply(connector("team-a", "github", "git", "https://old"));
    let catalog = ready_catalog(&server).await;
    hold(&catalog, &[reference("team-a", "github")]).await;
    server.wait_for_watches(4).await;

    server.drop_watches();
    server.apply(connector("team-a", "github", "git", "https://after-drop"));

    let refs = [reference("team-a", "github")];
    resolve_until(
        &catalog,
        &refs,
        |outcome| matches!(outcome, Ok(r) if r[0].connector.spec.address == "https://after-drop"),
    )
    .await;
}

#[tokio::test]
async fn builtin_templates_come_from_the_configmap_in_the_drivers_namespace() {
    let server = FakeApiServer::start().await;
    server.apply(templates("elsewhere", "ignored"));
    let catalog = ready_catalog(&server).await;
    assert_eq!(catalog.builtin_templates().await.unwrap(), None);

    server.apply(templates(DRIVER_NAMESPACE, "custom {{ .context.token }}"));

    for _ in 0..500 {
        if catalog.builtin_templates().await.unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let overrides = catalog.builtin_templates().await.unwrap().unwrap();
    assert_eq!(overrides["http.proxy"], "custom {{ .context.token }}");
}

#[tokio::test]
async fn builtin_templates_are_available_right_after_start() {
    let server = FakeApiServer::start().await;
    server.apply(templates(DRIVER_NAMESPACE, "early"));
    let catalog = KubeCatalog::start(server.client().await, DRIVER_NAMESPACE, REQUEST_TIMEOUT);

    let overrides = catalog.builtin_templates().await.unwrap().unwrap();

    assert_eq!(overrides["http.proxy"], "early");
}

async fn next_change(changes: &mut ChangeFeed) -> CatalogChange {
    tokio::time::timeout(Duration::from_secs(5), changes.next())
        .await
        .expect("a change within 5s")
        .expect("an open feed")
}

#[tokio::test]
async fn subscribers_hear_of_content_changes_but_not_of_no_op_updates() {
    let server = FakeApiServer::start().await;
    server.apply(class("git"));
    server.apply(connector("team-a", "github", "git", "https://old"));
    let catalog = ready_catalog(&server).await;
    let mut changes = catalog.subscribe();
    hold(&catalog, &[reference("team-a", "github")]).await;
    connector_watch_open(&server, "team-a", "github").await;

    server.apply(connector("team-a", "github", "git", "https://old"));
    server.apply(connector("team-a", "github", "git", "https://new"));
    assert_eq!(
        next_change(&mut changes).await,
        CatalogChange::Connector(reference("team-a", "github")),
        "the first update changed nothing, the second did"
    );
    let another = tokio::time::timeout(Duration::from_millis(300), changes.next()).await;
    assert!(another.is_err(), "exactly one change: {another:?}");

    let mut git = class("git");
    git["spec"]["configurations"][0]["data"]["f"] = json!("changed");
    server.apply(git);
    assert_eq!(
        next_change(&mut changes).await,
        CatalogChange::Class("git".into())
    );

    server.apply(templates(DRIVER_NAMESPACE, "override"));
    assert_eq!(
        next_change(&mut changes).await,
        CatalogChange::BuiltinTemplates
    );

    server.delete(Kind::Connector, "team-a", "github");
    assert_eq!(
        next_change(&mut changes).await,
        CatalogChange::Connector(reference("team-a", "github"))
    );
}

#[tokio::test]
async fn subscribers_hear_of_what_changed_while_the_watch_was_down() {
    let server = FakeApiServer::start().await;
    server.apply(class("git"));
    server.apply(connector("team-a", "github", "git", "https://old"));
    let catalog = ready_catalog(&server).await;
    let mut changes = catalog.subscribe();
    hold(&catalog, &[reference("team-a", "github")]).await;
    connector_watch_open(&server, "team-a", "github").await;

    server.fail(Fault::ServerError);
    server.apply(connector("team-a", "github", "git", "https://while-down"));
    server.heal();

    assert_eq!(
        next_change(&mut changes).await,
        CatalogChange::Connector(reference("team-a", "github"))
    );
}

#[tokio::test]
async fn the_cluster_parts_work_through_a_kubeconfig_file() {
    let server = FakeApiServer::start().await;
    server.apply(class("git"));
    server.apply(connector("team-a", "github", "git", "https://github.com"));
    server.allow("team-a", "builder", "team-a", "github");

    let parts = cluster::parts(&server, &cluster::settings()).await;
    let catalog: Arc<dyn Catalog> = parts.catalog;
    let access: Arc<dyn Access> = parts.access;

    let refs = [reference("team-a", "github")];
    assert_eq!(catalog.resolve(&refs).await.unwrap().len(), 1);
    let pod = PodInfo {
        name: "web-0".into(),
        namespace: "team-a".into(),
        uid: "u".into(),
        service_account: "builder".into(),
    };
    access.check(&pod, &refs).await.unwrap();
}

#[tokio::test]
async fn a_missing_kubeconfig_file_is_named_in_the_error() {
    let metrics = std::sync::Arc::new(connectors_csi::telemetry::Metrics::new());
    let missing = std::path::Path::new("/nonexistent/kubeconfig");
    let Err(err) = connect(Some(missing), &metrics).await else {
        panic!("a client from a missing file");
    };

    assert!(err.to_string().contains("/nonexistent/kubeconfig"), "{err}");
}
