//! `connectors-csi render`: the files a pod would see, offline.
//!
//! Manifests (ConnectorClass, Connector, the built-in overrides ConfigMap)
//! plus the volume attributes go in; the same pipeline as a publish (parse,
//! resolve, plan) runs without an API server, and the files come out on
//! stdout or into a directory.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use connectors_csi::catalog::{Catalog, ManifestsCatalog};
use connectors_csi::render::{FilePlan, Renderer};
use connectors_csi::tokens::Token;
use connectors_csi::volume::{attr, VolumeRequest};
use serde_json::Value as Json;

#[derive(clap::Args)]
pub struct Args {
    /// ConnectorClass/Connector YAML files, or directories of them.
    #[arg(long, required = true, num_args = 1..)]
    manifests: Vec<PathBuf>,
    /// YAML or JSON map of volume attributes (what sits under `volumeAttributes:`).
    #[arg(long)]
    attributes: PathBuf,
    /// The pod's namespace: where unqualified connectors are looked up.
    #[arg(long, default_value = "default")]
    pod_namespace: String,
    /// Token to render into the files.
    #[arg(
        long,
        env = "CONNECTORS_CSI_RENDER_TOKEN",
        default_value = "TOKEN",
        hide_env_values = true
    )]
    token: String,
    /// PEM file of the proxy CA.
    #[arg(long)]
    ca_cert: Option<PathBuf>,
    /// Write the files into this directory instead of printing them.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let catalog = ManifestsCatalog::load(&args.manifests)?;
    let mut attributes = read_attributes(&args.attributes)?;
    attributes
        .entry(attr::POD_NAMESPACE.to_owned())
        .or_insert_with(|| args.pod_namespace.clone());
    let request = VolumeRequest::parse(&attributes)?;
    let ca_cert = match &args.ca_cert {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading --ca-cert {}", path.display()))?,
        None => String::new(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let (connectors, overrides) = runtime.block_on(async {
        let connectors = catalog.resolve(&request.connectors).await?;
        let overrides = catalog.builtin_templates().await?;
        anyhow::Ok((connectors, overrides))
    })?;
    let plan = Renderer::default().plan(
        &request,
        &connectors,
        overrides.as_deref(),
        &Token::new(args.token.as_str(), None),
        &ca_cert,
    )?;
    match &args.out {
        Some(dir) => write_files(&plan, dir)?,
        None => print_files(&plan)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads the attributes map; non-string YAML values are turned into the
/// strings a pod spec would carry (a mapping becomes JSON, for
/// `configuration.params`).
fn read_attributes(path: &Path) -> anyhow::Result<HashMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading --attributes {}", path.display()))?;
    let parsed: Json = serde_yaml_ng::from_str(&text)
        .with_context(|| format!("{}: not YAML or JSON", path.display()))?;
    let Json::Object(map) = parsed else {
        anyhow::bail!("{}: expected a map of volume attributes", path.display());
    };
    Ok(map
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                Json::String(text) => text,
                Json::Null => String::new(),
                other => other.to_string(),
            };
            (key, text)
        })
        .collect())
}

fn print_files(plan: &FilePlan) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for file in &plan.files {
        writeln!(out, "==> {} <==", file.name)?;
        out.write_all(&file.content)?;
        if !file.content.is_empty() && !file.content.ends_with(b"\n") {
            writeln!(out)?;
        }
    }
    Ok(())
}

fn write_files(plan: &FilePlan, dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for file in &plan.files {
        let path = dir.join(&file.name);
        // The files hold the token: owner-only, as on the tmpfs.
        let mut handle = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("writing {}", path.display()))?;
        handle
            .write_all(&file.content)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
