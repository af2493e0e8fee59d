//! The one error type of the engine: what went wrong, worded as Go words it.

use std::fmt;

/// Which stage failed, so a caller can map it (bad template vs. too big).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The template does not parse (`template: NAME:LINE: ...`).
    Parse,
    /// Execution failed as Go's would (`template: NAME:LINE:COL: executing ...`).
    Exec,
    /// The output grew past [`crate::Limits::max_output_bytes`].
    OutputLimit,
    /// The values the template built (strings, lists, maps from any
    /// function) grew past [`crate::Limits::max_built_bytes`].
    BuildLimit,
    /// Execution ran past [`crate::Limits::timeout`].
    Timeout,
}

/// A parse or execution error; `Display` is Go's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: String) -> Error {
        Error { kind, message }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Go's message, as `Display` prints it.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
