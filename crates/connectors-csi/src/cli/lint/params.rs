//! The checks of one param declaration of a configuration: a name given
//! once, a known type, an enum of strings, a default of the param's type
//! and inside its enum.

use std::collections::BTreeSet;

use connectors_csi::render::FileOrigin;
use serde_json::Value as Json;

use super::positions::{Path, Step};
use super::{declared_name, Document, Problem};

/// The checks of one param declaration.
pub struct ParamCheck<'a> {
    pub doc: &'a Document<'a>,
    pub origin: &'a FileOrigin,
    pub path: Path,
    pub json: &'a Json,
}

impl ParamCheck<'_> {
    fn field(&self, name: &str) -> Path {
        let mut path = self.path.clone();
        path.push(Step::from(name));
        path
    }

    /// The name the param declares (even if the rest of it is wrong),
    /// unless it has none or repeats one.
    pub fn run(&self, declared: &BTreeSet<String>, problems: &mut Vec<Problem>) -> Option<String> {
        let Some(name) = declared_name(self.json) else {
            problems.push(
                self.doc
                    .problem_at_value(&self.path, format!("{}: a param has no name", self.origin)),
            );
            return None;
        };
        let problem = |field: &str, message: String| {
            self.doc.problem_at_value(
                &self.field(field),
                format!("{}: param {name:?}: {message}", self.origin),
            )
        };
        if declared.contains(name) {
            problems.push(problem("name", "is declared twice".into()));
            return None;
        }
        let param_type = match self.json.get("type") {
            None | Some(Json::Null) => "string",
            Some(Json::String(t)) if t.is_empty() => "string",
            Some(Json::String(t)) if matches!(t.as_str(), "string" | "array" | "object") => {
                t.as_str()
            }
            Some(other) => {
                problems.push(problem(
                    "type",
                    format!("unknown type {other} (string, array or object)"),
                ));
                return Some(name.to_owned());
            }
        };
        let allowed = match self.json.get("enum") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Array(items)) if items.iter().all(Json::is_string) => {
                items.iter().filter_map(Json::as_str).collect()
            }
            Some(_) => {
                problems.push(problem("enum", "enum must be a list of strings".into()));
                Vec::new()
            }
        };
        if let Some(default) = self.json.get("default") {
            if let Some(message) = default_problem(param_type, &allowed, default) {
                problems.push(problem("default", message));
            }
        }
        Some(name.to_owned())
    }
}

/// What is wrong with a param's default, if anything.
fn default_problem(param_type: &str, allowed: &[&str], default: &Json) -> Option<String> {
    let matches_type = matches!(
        (param_type, default),
        ("string", Json::String(_)) | ("array", Json::Array(_)) | ("object", Json::Object(_))
    );
    if !matches_type {
        return Some(format!("default {default} is not of type {param_type}"));
    }
    if allowed.is_empty() {
        return None;
    }
    let outside = |value: &Json| !value.as_str().is_some_and(|text| allowed.contains(&text));
    let rejected = match default {
        Json::String(_) => outside(default).then(|| default.clone()),
        Json::Array(items) => items.iter().find(|item| outside(item)).cloned(),
        _ => None,
    };
    rejected.map(|value| {
        format!(
            "default {value} is not one of the enum ({})",
            allowed.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_default_must_have_the_params_type_and_be_in_its_enum() {
        assert_eq!(default_problem("string", &[], &json!("x")), None);
        assert_eq!(
            default_problem("string", &[], &json!(["x"])),
            Some("default [\"x\"] is not of type string".into())
        );
        assert_eq!(default_problem("array", &["a", "b"], &json!(["a"])), None);
        assert_eq!(
            default_problem("array", &["a", "b"], &json!(["a", "c"])),
            Some("default \"c\" is not one of the enum (a, b)".into())
        );
        assert_eq!(
            default_problem("string", &["true", "false"], &json!("yes")),
            Some("default \"yes\" is not one of the enum (true, false)".into())
        );
        assert!(default_problem("object", &[], &json!({})).is_none());
    }
}
