//! A YAML document being linted, and how a problem is placed in it: at a
//! key, at a value, or inside a template.

use std::path::Path as FilePath;

use serde_json::Value as Json;

use super::positions::{DocumentPositions, Path, Position};

/// One problem, where it is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub file: std::path::PathBuf,
    pub position: Position,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.position.line,
            self.position.col,
            self.message
        )
    }
}

/// One YAML document of a file, with what is needed to place a problem in it.
pub struct Document<'a> {
    pub file: &'a FilePath,
    pub text: &'a str,
    pub positions: &'a DocumentPositions,
    pub json: Json,
}

impl Document<'_> {
    pub fn problem(&self, at: Position, message: impl Into<String>) -> Problem {
        Problem {
            file: self.file.to_owned(),
            position: at,
            message: message.into(),
        }
    }

    /// A problem at the key of `path` (or the nearest thing written).
    pub fn problem_at(&self, path: &Path, message: impl Into<String>) -> Problem {
        self.problem(self.positions.nearest(self.text, path), message)
    }

    /// A problem at the value of `path`, else as [`Document::problem_at`].
    pub fn problem_at_value(&self, path: &Path, message: impl Into<String>) -> Problem {
        let at = self
            .positions
            .value(self.text, path)
            .unwrap_or_else(|| self.positions.nearest(self.text, path));
        self.problem(at, message)
    }

    /// A problem at byte `offset` of the template held at `path`.
    pub fn problem_in_template(
        &self,
        path: &Path,
        offset: usize,
        source: &str,
        message: String,
    ) -> Problem {
        let before = &source[..offset.min(source.len())];
        let line = before.matches('\n').count() + 1;
        let col0 = offset - before.rfind('\n').map_or(0, |nl| nl + 1);
        self.template_problem(path, line, col0, message)
    }

    pub fn template_problem(
        &self,
        path: &Path,
        line: usize,
        col0: usize,
        message: String,
    ) -> Problem {
        match self.positions.in_template(self.text, path, line, col0) {
            Some(at) if at.exact => self.problem(at.position, message),
            Some(at) => self.problem(
                at.position,
                format!(
                    "{message} (at line {line}, column {} of the template: its YAML form \
                     does not keep the template's lines, so the position is the value's start)",
                    col0 + 1
                ),
            ),
            None => self.problem_at(path, message),
        }
    }
}
