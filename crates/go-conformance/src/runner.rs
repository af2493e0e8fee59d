//! Renders golden cases with our engine exactly as the Go oracle renders them
//! (template named `t`, sprig's functions, the engine's limits), and
//! compares the outcome with Go's.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use gotemplate::{ErrorKind, FuncMap, Limits, Template, Value};

use crate::corpus::{Case, Outcome};

/// The name the oracle gives every template (`template: t:1: ...`).
pub const TEMPLATE_NAME: &str = "t";

/// Our engine set up as the oracle sets up Go's.
pub struct Renderer {
    funcs: Arc<FuncMap>,
    limits: Limits,
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new()
    }
}

impl Renderer {
    /// With the engine's default limits, as the driver renders.
    pub fn new() -> Renderer {
        Renderer::with_limits(Limits::default())
    }

    pub fn with_limits(limits: Limits) -> Renderer {
        Renderer {
            funcs: Arc::new(sprig::functions()),
            limits,
        }
    }

    pub fn parse(&self, source: &str) -> Result<Template, gotemplate::Error> {
        Template::parse(TEMPLATE_NAME, source, &self.funcs)
    }

    /// Executes into a fresh buffer, as the oracle does for each render.
    pub fn execute(
        &self,
        template: &Template,
        data: &Value,
    ) -> (String, Option<gotemplate::Error>) {
        let mut out = String::new();
        let error = template.execute(data, &mut out, &self.limits).err();
        (out, error)
    }

    /// Parse and execute, worded as the oracle's batch output.
    pub fn render(&self, case: &Case) -> Outcome {
        let data = Value::from(case.data.clone());
        self.render_value(&case.name, &case.template, &data)
    }

    /// Parse and execute with data already converted.
    pub fn render_value(&self, name: &str, source: &str, data: &Value) -> Outcome {
        let (output, error) = match self.parse(source) {
            Ok(template) => self.execute(&template, data),
            Err(error) => (String::new(), Some(error)),
        };
        Outcome {
            name: name.to_string(),
            output,
            error: error.as_ref().map(prefixed_error).unwrap_or_default(),
        }
    }

    /// [`Renderer::render`], with a panic of the engine turned into an
    /// outcome so one bad case cannot hide the others.
    pub fn render_catching_panics(&self, case: &Case) -> Outcome {
        catch_unwind(AssertUnwindSafe(|| self.render(case))).unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Outcome {
                name: case.name.clone(),
                output: String::new(),
                error: format!("panic: {what}"),
            }
        })
    }
}

/// The oracle's `parse: ` / `exec: ` prefix on our error. Go has no output
/// or time limit: hitting ours is an execution failure.
pub fn prefixed_error(error: &gotemplate::Error) -> String {
    let stage = match error.kind() {
        ErrorKind::Parse => "parse",
        ErrorKind::Exec | ErrorKind::OutputLimit | ErrorKind::BuildLimit | ErrorKind::Timeout => {
            "exec"
        }
    };
    format!("{stage}: {error}")
}

/// How far our outcome is from Go's, worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Disagreement {
    /// One succeeded and the other failed, or one failed parsing and the other executing.
    Outcome,
    /// Same outcome, different bytes written.
    Output,
    /// Both failed at the same stage with the same output, but the messages differ.
    Message,
}

impl Disagreement {
    pub fn label(self) -> &'static str {
        match self {
            Disagreement::Outcome => "outcome",
            Disagreement::Output => "output",
            Disagreement::Message => "message",
        }
    }
}

/// A case on which we differ from Go.
#[derive(Clone, Debug)]
pub struct Mismatch {
    pub kind: Disagreement,
    pub template: String,
    pub expected: Outcome,
    pub got: Outcome,
}

fn stage(error: &str) -> &str {
    error.split(':').next().unwrap_or_default()
}

/// The worst disagreement between Go's outcome and ours, if any.
pub fn compare(expected: &Outcome, got: &Outcome) -> Option<Disagreement> {
    let expected_stage = (!expected.error.is_empty()).then(|| stage(&expected.error));
    let got_stage = (!got.error.is_empty()).then(|| stage(&got.error));
    if expected_stage != got_stage {
        Some(Disagreement::Outcome)
    } else if expected.output != got.output {
        Some(Disagreement::Output)
    } else if expected.error != got.error {
        Some(Disagreement::Message)
    } else {
        None
    }
}

/// One line: the case, how it differs, the template, Go's outcome and ours.
pub fn describe(mismatch: &Mismatch) -> String {
    format!(
        "{} [{}] template={} expected=(output={}, error={}) got=(output={}, error={})",
        mismatch.expected.name,
        mismatch.kind.label(),
        quoted(&mismatch.template, 300),
        quoted(&mismatch.expected.output, 400),
        quoted(&mismatch.expected.error, 400),
        quoted(&mismatch.got.output, 400),
        quoted(&mismatch.got.error, 400),
    )
}

/// A JSON-quoted string, cut after `max` characters so a line stays readable.
fn quoted(text: &str, max: usize) -> String {
    let mut cut: String = text.chars().take(max).collect();
    let truncated = cut.len() < text.len();
    if truncated {
        cut.push('…');
    }
    serde_json::Value::String(cut).to_string()
}
