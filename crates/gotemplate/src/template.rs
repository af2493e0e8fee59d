//! The public face of the engine: a parsed [`Template`] and the [`Limits`]
//! of one execution.

use std::sync::Arc;
use std::time::Duration;

use crate::error::Error;
use crate::func::FuncMap;
use crate::parse::{self, Trees};
use crate::value::Value;

/// Bounds on one execution, so a template cannot take the node down.
///
/// Three bounds, each enforced by the engine whatever functions the
/// template calls (see [`crate::budget`]); running into one fails the
/// execution with its own [`crate::ErrorKind`]:
/// - the output (`OutputLimit`);
/// - the bytes of every value the template builds — strings from any
///   function, lists, maps, JSON — counted as they are built, whether kept
///   or dropped (`BuildLimit`); a value read from the data or passed on
///   unchanged costs nothing;
/// - the time, read before every function call and loop iteration, with
///   costly functions (key generation, bcrypt, scrypt) charged their cost
///   before they run (`Timeout`).
///
/// The defaults keep one execution's memory to a few tens of MiB: what is
/// built (16 MiB) plus the output (4 MiB) plus what one function holds
/// while it works (about as much as it builds; `derivePassword`'s scrypt
/// takes 32 MiB for a moment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes `execute` may append to its output.
    pub max_output_bytes: usize,
    /// Bytes of values the execution may build in all.
    pub max_built_bytes: usize,
    /// Wall-clock time `execute` may run.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_output_bytes: 4 * 1024 * 1024,
            max_built_bytes: crate::budget::DEFAULT_MAX_BUILT_BYTES,
            timeout: Duration::from_secs(2),
        }
    }
}

/// A parsed template with its `define`d and `block` templates; parse once,
/// execute many times, from many threads.
#[derive(Clone)]
pub struct Template {
    name: Arc<str>,
    source: Arc<str>,
    trees: Arc<Trees>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Template")
            .field("name", &self.name)
            .field("bytes", &self.source.len())
            .finish()
    }
}

impl Template {
    /// Go's `template.New(name).Funcs(funcs).Parse(source)`; `name`
    /// appears in errors like Go: `template: NAME:3: ...`.
    pub fn parse(name: &str, source: &str, funcs: &Arc<FuncMap>) -> Result<Template, Error> {
        let trees = parse::parse(name, source, funcs)?;
        Ok(Template {
            name: Arc::from(name),
            source: Arc::from(source),
            trees: Arc::new(trees),
        })
    }

    /// Go's `Execute`: appends to `out`; on error `out` keeps what was
    /// written before the error, as Go's buffer does.
    pub fn execute(&self, data: &Value, out: &mut String, limits: &Limits) -> Result<(), Error> {
        crate::exec::execute(&self.trees, &self.name, &self.source, data, out, limits)
    }

    /// The name given to [`Template::parse`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether a template of that name was defined (the main one included).
    pub fn has_template(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }
}
