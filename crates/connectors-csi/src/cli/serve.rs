//! `connectors-csi serve`: wires the pipeline's parts from the flags (files
//! or a cluster), then serves CSI on the unix socket and metrics/health on
//! TCP until SIGTERM or SIGINT.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use connectors_csi::access::{Access, AllowAll, DecisionCacheConfig};
use connectors_csi::apiserver::REQUEST_TIMEOUT;
use connectors_csi::catalog::{Catalog, ManifestsCatalog};
use connectors_csi::cluster::{self, ClusterParts, ClusterSettings};
use connectors_csi::csi::{self, Driver};
use connectors_csi::events::{NoEvents, PodEvents};
use connectors_csi::mount::{StateStore, SystemMounter, VolumeDirs};
use connectors_csi::publish::{Publisher, PublisherParts};
use connectors_csi::refresh::Refresher;
use connectors_csi::render::Renderer;
use connectors_csi::telemetry::{self, LogFormat, Metrics};
use connectors_csi::tokens::{TokenFile, Tokens};
use tokio::sync::watch;

/// Room for two generations of files (old and new exist during a swap)
/// of the largest volume the renderer allows, plus slack for directories.
const TMPFS_BYTES: u64 = 16 * 1024 * 1024;

/// How often recorded volumes are checked for tokens near expiry; catalog
/// changes trigger a refresh at once.
const REFRESH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// How long calls in flight may take to finish after SIGTERM.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(clap::Args)]
pub struct Args {
    /// Where kubelet dials the driver, `unix:///path/csi.sock`.
    #[arg(long, env = "CSI_ENDPOINT")]
    endpoint: String,
    /// This node's name, reported by NodeGetInfo.
    #[arg(long, env = "NODE_NAME")]
    node_id: String,
    #[arg(long, default_value = "connectors-csi")]
    driver_name: String,
    /// Kubelet's root directory: every target path must be below it, with
    /// no symlink on the way.
    #[arg(long, default_value = "/var/lib/kubelet")]
    kubelet_root_dir: PathBuf,
    /// How many volumes render at once (default: the number of CPUs).
    #[arg(long)]
    render_concurrency: Option<usize>,
    /// Per-volume records, kept across restarts.
    #[arg(long, default_value = "/var/lib/connectors-csi/volumes")]
    state_dir: PathBuf,
    /// Serve from ConnectorClass/Connector YAML files instead of the API server.
    #[arg(long)]
    manifests: Vec<PathBuf>,
    /// Manifests mode: token used when kubelet passes none.
    #[arg(long, requires = "manifests")]
    token_file: Option<PathBuf>,
    /// Audience of the service-account tokens the proxy accepts (the
    /// CSIDriver's `tokenRequests` audience in kubelet mode); empty: the API
    /// server's own.
    #[arg(long, default_value = "")]
    token_audience: String,
    /// Cluster mode: who issues the pods' tokens. `kubelet`: kubelet, for the
    /// CSIDriver's `tokenRequests`; the driver never asks the API server for
    /// one. `request`: the driver, with TokenRequest (it then needs `create`
    /// on `serviceaccounts/token`), and a `serviceAccount.tokens` attribute
    /// is ignored.
    #[arg(long, env = "TOKEN_SOURCE", value_enum, default_value_t = TokenSourceMode::Kubelet)]
    token_source: TokenSourceMode,
    /// PEM of the proxy's CA, rendered into the ca files.
    #[arg(long)]
    ca_cert: Option<PathBuf>,
    /// Cluster mode: kubeconfig file (default: in-cluster or KUBECONFIG).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// The driver's namespace, where the built-in templates ConfigMap lives.
    #[arg(long, env = "POD_NAMESPACE", default_value = "connectors-system")]
    namespace: String,
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// `/metrics` address, e.g. `0.0.0.0:9808`.
    #[arg(long)]
    metrics_addr: Option<SocketAddr>,
    /// `/healthz` and `/readyz` address (may equal --metrics-addr).
    #[arg(long)]
    health_addr: Option<SocketAddr>,
}

/// `--token-source`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum TokenSourceMode {
    Kubelet,
    Request,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    telemetry::init_logging(args.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let socket = socket_path(&args.endpoint)?;
    let metrics = Arc::new(Metrics::new());
    let (catalog, access, tokens, events) = sources(&args, &metrics).await?;
    let changes = catalog.subscribe();
    let ca_cert = match &args.ca_cert {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading --ca-cert {}", path.display()))?,
        None => String::new(),
    };
    let state = StateStore::open(&args.state_dir)
        .with_context(|| format!("opening --state-dir {}", args.state_dir.display()))?;
    let publisher = Arc::new(Publisher::new(PublisherParts {
        catalog,
        access,
        tokens,
        renderer: Arc::new(Renderer::default()),
        volumes: VolumeDirs::new(Arc::new(SystemMounter), TMPFS_BYTES, &args.kubelet_root_dir),
        state,
        ca_cert,
        metrics: metrics.clone(),
        events,
        render_concurrency: args.render_concurrency.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        }),
    }));
    tracing::info!(
        volumes = publisher.volumes().len(),
        state_dir = %args.state_dir.display(),
        "volume records loaded"
    );

    let (stop_tx, stop_rx) = watch::channel(false);
    let refresher = Refresher::new(publisher.clone(), REFRESH_INTERVAL);
    let refreshing = tokio::spawn(refresher.run(changes, stopped(stop_rx.clone())));
    let http = start_http(&args, &metrics, &publisher, &stop_rx).await?;
    let listener = bind_socket(&socket)?;
    tracing::info!(endpoint = %args.endpoint, node_id = %args.node_id, "serving CSI");
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    });
    let driver = Driver {
        publisher,
        node_id: args.node_id.clone(),
        driver_name: args.driver_name.clone(),
    };
    let served = serve_until_stopped(listener, driver, stop_rx).await;
    for task in http {
        let _ = task.await;
    }
    let _ = refreshing.await;
    let _ = std::fs::remove_file(&socket);
    served.context("serving CSI")
}

/// Serves until SIGTERM, then lets calls in flight finish for at most
/// [`SHUTDOWN_GRACE`]: a client that keeps its connection open (kubelet
/// does) must not hold the driver up until the kubelet's SIGKILL.
async fn serve_until_stopped(
    listener: tokio::net::UnixListener,
    driver: Driver,
    stop: watch::Receiver<bool>,
) -> Result<(), tonic::transport::Error> {
    let server = csi::serve(listener, driver, stopped(stop.clone()));
    tokio::pin!(server);
    tokio::select! {
        served = &mut server => served,
        () = async {
            stopped(stop).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            tracing::warn!(grace = ?SHUTDOWN_GRACE, "connections still open after the grace period, exiting");
            Ok(())
        }
    }
}

/// The pipeline's seams: where objects, permission and tokens come from.
/// The pipeline's seams and where Events on pods go.
type Sources = (
    Arc<dyn Catalog>,
    Arc<dyn Access>,
    Tokens,
    Arc<dyn PodEvents>,
);

/// Files when `--manifests` is given, else the API server.
async fn sources(args: &Args, metrics: &Arc<Metrics>) -> anyhow::Result<Sources> {
    if !args.manifests.is_empty() {
        if args.token_source == TokenSourceMode::Request {
            anyhow::bail!(
                "--token-source request needs the API server; with --manifests the token \
                 comes from kubelet, or --token-file"
            );
        }
        let catalog = ManifestsCatalog::load(&args.manifests).context("loading --manifests")?;
        let (connectors, classes) = catalog.counts();
        tracing::info!(connectors, classes, "manifests mode");
        let audience = args.token_audience.clone();
        let tokens = match &args.token_file {
            Some(path) => Tokens::kubelet_or(audience, Arc::new(TokenFile::new(path.clone()))),
            None => Tokens::kubelet(audience),
        };
        return Ok((
            Arc::new(catalog),
            Arc::new(AllowAll),
            tokens,
            Arc::new(NoEvents),
        ));
    }
    let client = cluster::connect(args.kubeconfig.as_deref(), metrics).await?;
    let parts = ClusterParts::build(
        client,
        &ClusterSettings {
            namespace: args.namespace.clone(),
            decisions: DecisionCacheConfig::default(),
            request_timeout: REQUEST_TIMEOUT,
        },
        metrics,
    );
    let audience = args.token_audience.clone();
    let tokens = match args.token_source {
        TokenSourceMode::Kubelet => Tokens::kubelet(audience),
        TokenSourceMode::Request => Tokens::requested(audience, parts.tokens),
    };
    tracing::info!(namespace = %args.namespace, token_source = ?args.token_source, "cluster mode");
    Ok((parts.catalog, parts.access, tokens, parts.events))
}

/// `/metrics` and the health endpoints; one listener when both flags name
/// the same address.
async fn start_http(
    args: &Args,
    metrics: &Arc<Metrics>,
    publisher: &Arc<Publisher>,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut addrs: Vec<SocketAddr> = args.metrics_addr.into_iter().collect();
    if let Some(health) = args.health_addr {
        if !addrs.contains(&health) {
            addrs.push(health);
        }
    }
    let mut tasks = Vec::new();
    for addr in addrs {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        let ready_publisher = publisher.clone();
        let ready: telemetry::Readiness = Arc::new(move || ready_publisher.is_ready());
        let shutdown = stopped(stop.clone());
        let metrics = metrics.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(err) = telemetry::serve_http(listener, metrics, ready, shutdown).await {
                tracing::error!(%addr, error = %err, "metrics/health server failed");
            }
        }));
    }
    Ok(tasks)
}

/// `unix:///run/csi.sock` → `/run/csi.sock` (a bare path is accepted too).
fn socket_path(endpoint: &str) -> anyhow::Result<PathBuf> {
    let path = endpoint
        .strip_prefix("unix://")
        .unwrap_or(endpoint)
        .to_owned();
    if path.is_empty() || !path.starts_with('/') {
        anyhow::bail!("--endpoint {endpoint:?}: expected unix:///absolute/path.sock");
    }
    Ok(PathBuf::from(path))
}

/// A socket left by a crashed driver would make bind fail: remove it.
fn bind_socket(socket: &Path) -> anyhow::Result<tokio::net::UnixListener> {
    if let Some(parent) = socket.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    match std::fs::remove_file(socket) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            return Err(err).with_context(|| format!("removing stale {}", socket.display()));
        }
        _ => {}
    }
    tokio::net::UnixListener::bind(socket).with_context(|| format!("binding {}", socket.display()))
}

async fn stopped(mut stop: watch::Receiver<bool>) {
    // An error means the sender is gone: stop too.
    let _ = stop.wait_for(|stopped| *stopped).await;
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            // Without handlers, Ctrl-C is still worth honouring.
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_url_gives_the_socket_path() {
        assert_eq!(
            socket_path("unix:///run/csi/csi.sock").unwrap(),
            PathBuf::from("/run/csi/csi.sock")
        );
        assert_eq!(
            socket_path("/run/csi.sock").unwrap(),
            PathBuf::from("/run/csi.sock")
        );
        assert!(socket_path("tcp://0.0.0.0:1").is_err());
        assert!(socket_path("unix://").is_err());
    }

    #[tokio::test]
    async fn a_stale_socket_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("sub/csi.sock");
        std::fs::create_dir_all(socket.parent().unwrap()).unwrap();
        std::fs::write(&socket, "stale").unwrap();
        let listener = bind_socket(&socket).unwrap();
        drop(listener);
        use std::os::unix::fs::FileTypeExt;
        let file_type = std::fs::symlink_metadata(&socket).unwrap().file_type();
        assert!(file_type.is_socket());
    }
}
