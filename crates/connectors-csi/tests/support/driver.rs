//! A driver under test: the real CSI server on a real unix socket in a temp
//! directory, and real tonic clients dialing it, as kubelet would.
//!
//! `start(options)` wires the manifests-mode parts (or any parts a test
//! passes) into `csi::serve`; the handle stops it and can start it again on
//! the same state directory, to test what a restarted driver remembers.

#![allow(dead_code, clippy::unwrap_used)]

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
use connectors_csi::mount::{Mounter, StateStore, SystemMounter, VolumeDirs};
use connectors_csi::publish::{Publisher, PublisherParts};
use connectors_csi::render::Renderer;
use connectors_csi::telemetry::Metrics;
use connectors_csi::tokens::{TokenFile, Tokens};
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tokio::sync::oneshot;
use tonic::transport::{Channel, Endpoint, Uri};

/// The audience the test driver takes kubelet tokens for.
pub const AUDIENCE: &str = "connectors-proxy";
pub const NODE_ID: &str = "node-under-test";
pub const DRIVER_NAME: &str = "connectors-csi";

/// The quick start's manifests, shipped in `examples/quickstart`.
pub fn quickstart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart")
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
    pub mounter: Arc<dyn Mounter>,
}

impl Options {
    pub fn new(root: &Path) -> Options {
        Options {
            root: root.to_owned(),
            manifests: vec![quickstart()],
            ca_cert: String::new(),
            parts: None,
            mounter: Arc::new(SystemMounter),
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
    pub metrics: Arc<Metrics>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    socket: PathBuf,
}

impl DriverHandle {
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.unwrap();
        let _ = std::fs::remove_file(&self.socket);
    }
}

pub async fn start(mut options: Options) -> (Clients, DriverHandle) {
    std::fs::create_dir_all(&options.root).unwrap();
    let (catalog, access, tokens) = match options.parts.take() {
        Some(parts) => parts,
        None => {
            let catalog = ManifestsCatalog::load(&options.manifests).unwrap();
            let file = Arc::new(TokenFile::new(options.token_file()));
            let tokens = Tokens::new(AUDIENCE, Some(file));
            let parts: Seams = (Arc::new(catalog), Arc::new(AllowAll), tokens);
            parts
        }
    };
    let metrics = Arc::new(Metrics::new());
    let publisher = Arc::new(Publisher::new(PublisherParts {
        catalog,
        access,
        tokens,
        renderer: Arc::new(Renderer::default()),
        volumes: VolumeDirs::new(options.mounter.clone(), 8 * 1024 * 1024),
        state: StateStore::open(options.state_dir()).unwrap(),
        ca_cert: options.ca_cert.clone(),
        metrics: metrics.clone(),
    }));
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
        metrics,
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

/// The attributes kubelet passes for the quick-start volume.
pub fn quickstart_context() -> HashMap<String, String> {
    HashMap::from([
        ("connector.name".to_owned(), "git-connector".to_owned()),
        ("configuration.names".to_owned(), "config".to_owned()),
        ("csi.storage.k8s.io/pod.name".to_owned(), "app-0".to_owned()),
        (
            "csi.storage.k8s.io/pod.namespace".to_owned(),
            "default".to_owned(),
        ),
        (
            "csi.storage.k8s.io/pod.uid".to_owned(),
            "6a3c1d2e-0000-4000-8000-000000000001".to_owned(),
        ),
        (
            "csi.storage.k8s.io/serviceAccount.name".to_owned(),
            "default".to_owned(),
        ),
        ("csi.storage.k8s.io/ephemeral".to_owned(), "true".to_owned()),
    ])
}

/// Kubelet's `serviceAccount.tokens` attribute carrying `token` for [`AUDIENCE`].
pub fn kubelet_tokens(token: &str) -> (String, String) {
    (
        "csi.storage.k8s.io/serviceAccount.tokens".to_owned(),
        serde_json::json!({
            AUDIENCE: {"token": token, "expirationTimestamp": "2099-01-01T00:00:00Z"}
        })
        .to_string(),
    )
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

/// The mount at exactly `target` in `/proc/self/mountinfo`:
/// `(filesystem type, per-mount options)`. Parsed here, independently of
/// the driver's own parser.
pub fn mount_at(target: &Path) -> Option<(String, Vec<String>)> {
    let target = std::fs::canonicalize(target).ok()?;
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mut found = None;
    for line in text.lines() {
        let (before, after) = line.split_once(" - ")?;
        let fields: Vec<&str> = before.split(' ').collect();
        let mount_point = unescape_octal(fields.get(4)?);
        if Path::new(&mount_point) != target {
            continue;
        }
        let options = fields.get(5)?.split(',').map(str::to_owned).collect();
        let fs_type = after.split(' ').next()?.to_owned();
        // Later lines are mounted on top: the last match is what a reader sees.
        found = Some((fs_type, options));
    }
    found
}

fn unescape_octal(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            if let Ok(code) = u8::from_str_radix(&field[i + 1..i + 4], 8) {
                out.push(code);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Mounting tmpfs needs root; these tests say so instead of failing.
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}
