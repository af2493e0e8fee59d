//! The render plan: which files a volume gets and what they contain.
//!
//! [`Renderer::plan`] takes a checked [`VolumeRequest`], its resolved
//! connectors, the built-in overrides, the token and the proxy CA, and returns
//! the final file set. It does no I/O.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::catalog::ResolvedConnector;
use crate::tokens::Token;
use crate::volume::VolumeRequest;

mod builtins;
mod data;
mod engine;
mod params;
mod plan;
mod redact;
mod rejection;
#[cfg(test)]
mod tests;

pub use rejection::{rejection_plan, ERROR_FILE};

/// Plans volumes: the engine with its parse cache, the limits and the
/// built-in templates. One per driver, shared by every publish.
pub struct Renderer {
    engine: engine::Engine,
    limits: RenderLimits,
    builtins: builtins::Builtins,
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new(RenderLimits::default())
    }
}

impl Renderer {
    pub(crate) fn new(limits: RenderLimits) -> Renderer {
        Renderer {
            engine: engine::Engine::new(limits.cache_entries),
            limits,
            builtins: builtins::Builtins::new(builtins::default_templates()),
        }
    }

    /// Parsed templates in the cache (a metric).
    pub(crate) fn cached_templates(&self) -> usize {
        self.engine.cached()
    }

    /// The final file set of a volume. `connectors` are the request's, in
    /// its order, each with its class; `ca_cert` is the proxy CA PEM or `""`.
    pub fn plan(
        &self,
        request: &VolumeRequest,
        connectors: &[ResolvedConnector],
        builtin_overrides: Option<&BTreeMap<String, String>>,
        token: &Token,
        ca_cert: &str,
    ) -> Result<FilePlan, RenderError> {
        if connectors.is_empty() {
            return Err(RenderError::NoConnectors);
        }
        let overridden;
        let builtins = match builtin_overrides {
            Some(overrides) if !overrides.is_empty() => {
                overridden = self.builtins.with_overrides(overrides);
                &overridden
            }
            _ => &self.builtins,
        };
        let private = plan::may_change_maps(builtins.may_change_maps, request, connectors);
        let planner = plan::Planner {
            engine: &self.engine,
            limits: &self.limits,
            request,
            connectors,
            token,
            data: data::VolumeData::new(connectors, token, ca_cert, private),
            started: Instant::now(),
        };
        planner.plan(&builtins.templates)
    }
}

/// What bounds one volume's rendering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RenderLimits {
    /// Largest single file.
    pub max_file_bytes: usize,
    /// Largest sum of a volume's final files (the tmpfs must hold it).
    pub max_volume_bytes: usize,
    /// Bytes of values one file's template may build in all (strings,
    /// lists, maps from any function, kept or not): what bounds a render's
    /// memory.
    pub max_built_bytes: usize,
    /// Time all of a volume's templates may take together.
    pub timeout: Duration,
    /// Parsed templates kept across publishes.
    pub cache_entries: usize,
}

impl Default for RenderLimits {
    fn default() -> Self {
        RenderLimits {
            max_file_bytes: 1024 * 1024,
            max_volume_bytes: 4 * 1024 * 1024,
            max_built_bytes: gotemplate::budget::DEFAULT_MAX_BUILT_BYTES,
            timeout: Duration::from_secs(2),
            cache_entries: 1024,
        }
    }
}

/// One file of the volume.
#[derive(Clone, PartialEq, Eq)]
pub struct PlannedFile {
    pub name: String,
    pub content: Vec<u8>,
}

impl std::fmt::Debug for PlannedFile {
    // Files carry the token: show sizes, never content.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlannedFile")
            .field("name", &self.name)
            .field("bytes", &self.content.len())
            .finish()
    }
}

/// The final file set of a volume, sorted by name, names validated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilePlan {
    pub files: Vec<PlannedFile>,
}

impl FilePlan {
    pub fn get(&self, name: &str) -> Option<&PlannedFile> {
        self.files.iter().find(|f| f.name == name)
    }
}

/// Where a rendered file came from, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileOrigin {
    /// A built-in file (default or operator override).
    Builtin,
    Configuration {
        class: String,
        configuration: String,
    },
}

impl std::fmt::Display for FileOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileOrigin::Builtin => write!(f, "built-in files"),
            FileOrigin::Configuration {
                class,
                configuration,
            } => write!(
                f,
                "connectorclass {class:?} configuration {configuration:?}"
            ),
        }
    }
}

/// Why a volume's files could not be planned. Never holds the token.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(
        "configuration {configuration:?} is not declared by the connectorclasses of the volume ({})",
        classes.join(", ")
    )]
    ConfigurationNotFound {
        configuration: String,
        classes: Vec<String>,
    },
    /// `configuration.params` does not fit the declared params.
    #[error("{origin}: param {param:?}: {problem}")]
    Params {
        origin: FileOrigin,
        param: String,
        problem: String,
    },
    #[error("{origin}: file name {name:?} is not allowed (letters, digits, '.', '_', '-'; not \".\" or \"..\")")]
    FileName { origin: FileOrigin, name: String },
    /// Parse or execution error, with Go's `template: FILE:LINE:COL: ...`.
    #[error("{origin}: file {file:?}: {message}")]
    Template {
        origin: FileOrigin,
        file: String,
        message: String,
    },
    #[error("{origin}: file {file:?} is larger than the limit of {limit} bytes")]
    FileTooLarge {
        origin: FileOrigin,
        file: String,
        limit: usize,
    },
    /// The render budget: values built while rendering one file.
    #[error("{origin}: file {file:?}: the template built more than the limit of {limit} bytes of values")]
    BuildLimit {
        origin: FileOrigin,
        file: String,
        limit: usize,
    },
    #[error("the volume's files total {total} bytes, more than the limit of {limit} bytes")]
    VolumeTooLarge { total: usize, limit: usize },
    /// → ResourceExhausted
    #[error("the volume has {count} files, more than the limit of {limit}")]
    TooManyFiles { count: usize, limit: usize },
    /// → ResourceExhausted
    #[error("{origin}: file {file:?}: rendering took longer than the limit of {limit:?}")]
    Timeout {
        origin: FileOrigin,
        file: String,
        limit: Duration,
    },
    /// The caller passed no connectors.
    #[error("a volume needs at least one connector")]
    NoConnectors,
}
