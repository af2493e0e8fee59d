//! A driver under test: the real CSI server on a real unix socket in a temp
//! directory, and real tonic clients dialing it, as kubelet would.
//!
//! `start(options)` wires the manifests-mode parts (or any parts a test
//! passes) into `csi::serve`; the handle stops it and can start it again on
//! the same state directory, to test what a restarted driver remembers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use connectors_csi::access::{Access, AllowAll};
use connectors_csi::catalog::{Catalog, ManifestsCatalog};
use connectors_csi::csi::proto::identity_client::IdentityClient;
use connectors_csi::csi::proto::node_client::NodeClient;
use connectors_csi::csi::proto::volume_capability::{
    access_mode, AccessMode, AccessType, MountVolume,
};
use connectors_csi::csi::proto::{NodePublishVolumeRequest, VolumeCapability};
use connectors_csi::csi::{self, Driver};
use connectors_csi::events::{NoEvents, PodEvents};
use connectors_csi::mount::{Mounter, StateStore, SystemMounter, VolumeDirs};
use connectors_csi::publish::{Publisher, PublisherParts};
use connectors_csi::render::Renderer;
use connectors_csi::telemetry::Metrics;
use connectors_csi::tokens::{TokenFile, Tokens};
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tokio::sync::oneshot;
use tonic::transport::{Channel, Endpoint, Uri};

use super::AUDIENCE;

pub const NODE_ID: &str = "node-under-test";
pub const DRIVER_NAME: &str = "connectors-csi";

/// The quick start's manifests, shipped in `examples/quickstart`.
pub fn quickstart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart")
}

/// Writes `NAME.yaml` in `dir`: a ConnectorClass `name` with one
/// configuration per `(configuration, file, template)` and a Connector
/// `default/NAME` of it; returns its path, for `--manifests`.
pub fn class_manifests(dir: &Path, name: &str, configurations: &[(&str, &str, &str)]) -> PathBuf {
    let mut yaml = String::new();
    for (configuration, file, template) in configurations {
        let template = template.replace('\'', "''");
        yaml.push_str(&format!(
            "  - name: {configuration}\n    data:\n      {file}: '{template}'\n"
        ));
    }
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &path,
        format!(
            "apiVersion: connectors.alauda.io/v1alpha1\n\
             kind: ConnectorClass\n\
             metadata: {{name: {name}}}\n\
             spec:\n  configurations:\n{yaml}\
             ---\n\
             apiVersion: connectors.alauda.io/v1alpha1\n\
             kind: Connector\n\
             metadata: {{name: {name}, namespace: default}}\n\
             spec: {{address: 'https://x', connectorClassName: {name}}}\n"
        ),
    )
    .unwrap();
    path
}

/// The pipeline's three seams: where objects, permission and tokens come from.
pub type Seams = (Arc<dyn Catalog>, Arc<dyn Access>, Tokens);

/// What the driver is built from; defaults are the quick start in manifests mode.
pub struct Options {
    /// Socket, state directory and token file live here; the caller keeps it.
    pub root: PathBuf,
    pub manifests: Vec<PathBuf>,
    pub ca_cert: String,
    /// Cluster-mode (or fake) parts replacing the manifests ones.
    pub parts: Option<Seams>,
    /// Where Events on pods go (cluster mode: the fake API server).
    pub events: Arc<dyn PodEvents>,
    pub mounter: Arc<dyn Mounter>,
    /// `--kubelet-root-dir`: targets must be below it (default: `root`).
    pub kubelet_root: PathBuf,
}

impl Options {
    pub fn new(root: &Path) -> Options {
        Options {
            root: root.to_owned(),
            manifests: vec![quickstart()],
            ca_cert: String::new(),
            parts: None,
            events: Arc::new(NoEvents),
            mounter: Arc::new(SystemMounter),
            kubelet_root: root.to_owned(),
        }
    }

    pub fn socket(&self) -> PathBuf {
        self.root.join("csi.sock")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.root.join("state")
    }

    /// The token used when a request carries no kubelet token.
    pub fn token_file(&self) -> PathBuf {
        self.root.join("token")
    }

    /// The publisher these options describe (manifests mode by default).
    pub fn publisher(&mut self) -> Arc<Publisher> {
        std::fs::create_dir_all(&self.root).unwrap();
        let (catalog, access, tokens) = match self.parts.take() {
            Some(parts) => parts,
            None => {
                let catalog = ManifestsCatalog::load(&self.manifests).unwrap();
                let file = Arc::new(TokenFile::new(self.token_file()));
                let seams: Seams = (
                    Arc::new(catalog),
                    Arc::new(AllowAll),
                    Tokens::kubelet_or(AUDIENCE, file),
                );
                seams
            }
        };
        Arc::new(Publisher::new(PublisherParts {
            catalog,
            access,
            tokens,
            renderer: Arc::new(Renderer::default()),
            volumes: VolumeDirs::new(self.mounter.clone(), 8 * 1024 * 1024, &self.kubelet_root),
            state: StateStore::open(self.state_dir()).unwrap(),
            ca_cert: self.ca_cert.clone(),
            metrics: Arc::new(Metrics::new()),
            events: self.events.clone(),
            render_concurrency: 2,
        }))
    }
}

/// The gRPC clients, connected over the unix socket.
#[derive(Clone)]
pub struct Clients {
    pub identity: IdentityClient<Channel>,
    pub node: NodeClient<Channel>,
}

/// A running driver; `stop` ends it and removes the socket.
pub struct DriverHandle {
    pub publisher: Arc<Publisher>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    socket: PathBuf,
}

impl DriverHandle {
    pub fn metrics(&self) -> &Arc<Metrics> {
        self.publisher.metrics()
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.unwrap();
        let _ = std::fs::remove_file(&self.socket);
    }
}

pub async fn start(mut options: Options) -> (Clients, DriverHandle) {
    let publisher = options.publisher();
    let socket = options.socket();
    let _ = std::fs::remove_file(&socket);
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let driver = Driver {
        publisher: publisher.clone(),
        node_id: NODE_ID.to_owned(),
        driver_name: DRIVER_NAME.to_owned(),
    };
    let task = tokio::spawn(async move {
        csi::serve(listener, driver, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    let channel = connect(&socket).await;
    let clients = Clients {
        identity: IdentityClient::new(channel.clone()),
        node: NodeClient::new(channel),
    };
    let handle = DriverHandle {
        publisher,
        stop: Some(stop),
        task,
        socket,
    };
    (clients, handle)
}

/// A tonic channel over the unix socket (the URI is a placeholder: the
/// connector ignores it).
pub async fn connect(socket: &Path) -> Channel {
    let socket = socket.to_owned();
    Endpoint::try_from("http://localhost")
        .unwrap()
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let socket = socket.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(socket).await?)) }
        }))
        .await
        .unwrap()
}

/// A read-only mount volume capability, as kubelet sends for an inline volume.
pub fn mount_capability() -> VolumeCapability {
    VolumeCapability {
        access_type: Some(AccessType::Mount(MountVolume::default())),
        access_mode: Some(AccessMode {
            mode: access_mode::Mode::SingleNodeReaderOnly as i32,
        }),
    }
}

/// A well-formed publish of `context` at `target`.
pub fn publish_request(
    volume_id: &str,
    target: &Path,
    context: HashMap<String, String>,
) -> NodePublishVolumeRequest {
    NodePublishVolumeRequest {
        volume_id: volume_id.to_owned(),
        target_path: target.display().to_string(),
        volume_capability: Some(mount_capability()),
        readonly: true,
        volume_context: context,
        ..Default::default()
    }
}
