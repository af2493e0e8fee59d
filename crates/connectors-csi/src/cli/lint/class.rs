//! The checks of one ConnectorClass (and of the built-in overrides
//! ConfigMap): configuration names, file names, param declarations, that
//! every template parses and reads only declared params; then each
//! configuration is rendered ([`super::sample`]). Messages are worded as
//! the driver words the same failure at mount time.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use connectors_csi::catalog::BUILTIN_OVERRIDES_CONFIGMAP;
use connectors_csi::render::{FileOrigin, RenderError};
use connectors_csi::volume::is_valid_file_name;
use gotemplate::{FuncMap, Template};
use serde_json::Value as Json;

use super::param_reads::param_reads;
use super::params::ParamCheck;
use super::positions::{yaml_path, Path, Step};
use super::sample::render_each;
use super::{declared_name, Document, Problem};

/// The checked built-in overrides, and where they were read.
pub struct Overrides<'a> {
    pub document: &'a Document<'a>,
    /// The templates that parse, by file name.
    pub templates: BTreeMap<String, String>,
}

pub fn is_overrides_configmap(json: &Json) -> bool {
    json.get("kind").and_then(Json::as_str) == Some("ConfigMap")
        && json.pointer("/metadata/name").and_then(Json::as_str)
            == Some(BUILTIN_OVERRIDES_CONFIGMAP)
}

/// The overrides ConfigMap's file names and templates.
pub fn check_overrides<'a>(doc: &'a Document<'a>, problems: &mut Vec<Problem>) -> Overrides<'a> {
    let mut templates = BTreeMap::new();
    let funcs = Arc::new(sprig::functions());
    match doc.json.get("data") {
        None | Some(Json::Null) => {}
        Some(Json::Object(data)) => {
            for (name, value) in data {
                let path = yaml_path!["data", name];
                let Some(source) = value.as_str() else {
                    problems.push(doc.problem_at(&path, format!(
                        "ConfigMap {BUILTIN_OVERRIDES_CONFIGMAP:?}: data {name:?} must be a string"
                    )));
                    continue;
                };
                let origin = FileOrigin::Builtin;
                if check_file(doc, &path, &origin, name, source, &funcs, problems) {
                    templates.insert(name.clone(), source.to_owned());
                }
            }
        }
        Some(_) => problems.push(doc.problem_at(
            &yaml_path!["data"],
            format!("ConfigMap {BUILTIN_OVERRIDES_CONFIGMAP:?}: data must be a map of file name to template"),
        )),
    }
    Overrides {
        document: doc,
        templates,
    }
}

/// Every check of the ConnectorClass `doc`.
pub fn check_class(
    doc: &Document<'_>,
    overrides: Option<&Overrides<'_>>,
    problems: &mut Vec<Problem>,
) {
    let class_name = doc
        .json
        .pointer("/metadata/name")
        .and_then(Json::as_str)
        .filter(|name| !name.is_empty())
        .unwrap_or("unnamed")
        .to_owned();
    let configurations = match doc.json.pointer("/spec/configurations") {
        None | Some(Json::Null) => return,
        Some(Json::Array(configurations)) => configurations,
        Some(_) => {
            problems.push(doc.problem_at(
                &yaml_path!["spec", "configurations"],
                format!("connectorclass {class_name:?}: spec.configurations must be a list"),
            ));
            return;
        }
    };
    let funcs = Arc::new(sprig::functions());
    let before = problems.len();
    let mut renderable = Vec::new();
    let mut names = HashMap::new();
    for (index, configuration) in configurations.iter().enumerate() {
        let checked = ConfigurationCheck {
            doc,
            class: &class_name,
            index,
            json: configuration,
            funcs: &funcs,
        };
        if let Some(name) = checked.run(&mut names, problems) {
            renderable.push((index, name));
        }
    }
    let known_problems = problems.len() > before;
    render_each(
        doc,
        &class_name,
        &renderable,
        overrides,
        known_problems,
        problems,
    );
}

/// The checks of `spec.configurations[index]`.
struct ConfigurationCheck<'a> {
    doc: &'a Document<'a>,
    class: &'a str,
    index: usize,
    json: &'a Json,
    funcs: &'a Arc<FuncMap>,
}

impl ConfigurationCheck<'_> {
    fn path(&self, rest: &[Step]) -> Path {
        let mut path = yaml_path!["spec", "configurations", self.index];
        path.extend_from_slice(rest);
        path
    }

    /// The configuration's name when everything about it is fine.
    fn run(
        &self,
        names: &mut HashMap<String, usize>,
        problems: &mut Vec<Problem>,
    ) -> Option<String> {
        let before = problems.len();
        let name = self.name(names, problems);
        let label = name
            .clone()
            .unwrap_or_else(|| format!("#{}", self.index + 1));
        let origin = FileOrigin::Configuration {
            class: self.class.to_owned(),
            configuration: label,
        };
        let declared = self.params(&origin, problems);
        self.data(&origin, declared.as_ref(), problems);
        name.filter(|_| problems.len() == before)
    }

    fn name(
        &self,
        names: &mut HashMap<String, usize>,
        problems: &mut Vec<Problem>,
    ) -> Option<String> {
        let path = self.path(&[Step::from("name")]);
        let at_value = |message: String| self.doc.problem_at_value(&path, message);
        let prefix = format!(
            "connectorclass {:?} configuration #{}",
            self.class,
            self.index + 1
        );
        let Some(name) = declared_name(self.json) else {
            problems.push(
                self.doc
                    .problem_at(&self.path(&[]), format!("{prefix}: has no name")),
            );
            return None;
        };
        if name.starts_with('!') || name.contains(',') || name.chars().any(char::is_whitespace) {
            problems.push(at_value(format!(
                "{prefix}: name {name:?} cannot be selected in configuration.names \
                 (no whitespace or ',', not starting with '!')"
            )));
            return None;
        }
        if let Some(first) = names.insert(name.to_owned(), self.index) {
            problems.push(at_value(format!(
                "{prefix}: name {name:?} is also the name of configuration #{}",
                first + 1
            )));
            return None;
        }
        Some(name.to_owned())
    }

    /// The declared param names, `None` when the configuration declares no
    /// params (its templates may then read any key).
    fn params(&self, origin: &FileOrigin, problems: &mut Vec<Problem>) -> Option<BTreeSet<String>> {
        let params = match self.json.get("params") {
            None | Some(Json::Null) => return None,
            Some(Json::Array(params)) if params.is_empty() => return None,
            Some(Json::Array(params)) => params,
            Some(_) => {
                problems.push(self.doc.problem_at(
                    &self.path(&[Step::from("params")]),
                    format!("{origin}: params must be a list"),
                ));
                return None;
            }
        };
        let mut declared = BTreeSet::new();
        for (index, param) in params.iter().enumerate() {
            let check = ParamCheck {
                doc: self.doc,
                origin,
                path: self.path(&[Step::from("params"), Step::from(index)]),
                json: param,
            };
            if let Some(name) = check.run(&declared, problems) {
                declared.insert(name);
            }
        }
        Some(declared)
    }

    fn data(
        &self,
        origin: &FileOrigin,
        declared: Option<&BTreeSet<String>>,
        problems: &mut Vec<Problem>,
    ) {
        let data = match self.json.get("data") {
            None | Some(Json::Null) => return,
            Some(Json::Object(data)) => data,
            Some(_) => {
                problems.push(self.doc.problem_at(
                    &self.path(&[Step::from("data")]),
                    format!("{origin}: data must be a map of file name to template"),
                ));
                return;
            }
        };
        for (file, value) in data {
            let path = self.path(&[Step::from("data"), Step::from(file)]);
            let Some(source) = value.as_str() else {
                problems.push(self.doc.problem_at(
                    &path,
                    format!("{origin}: file {file:?}: the template must be a string"),
                ));
                continue;
            };
            if !check_file(self.doc, &path, origin, file, source, self.funcs, problems) {
                continue;
            }
            let Some(declared) = declared else {
                continue;
            };
            for read in param_reads(source) {
                if declared.contains(&read.name) {
                    continue;
                }
                let known: Vec<&str> = declared.iter().map(String::as_str).collect();
                let message = format!(
                    "{origin}: file {file:?}: reads param {:?}, which the configuration does not declare (declared: {})",
                    read.name,
                    known.join(", ")
                );
                problems.push(
                    self.doc
                        .problem_in_template(&path, read.offset, source, message),
                );
            }
        }
    }
}

/// A data file's name and template; false when either is wrong.
pub fn check_file(
    doc: &Document<'_>,
    path: &Path,
    origin: &FileOrigin,
    name: &str,
    source: &str,
    funcs: &Arc<FuncMap>,
    problems: &mut Vec<Problem>,
) -> bool {
    if !is_valid_file_name(name) {
        let err = RenderError::FileName {
            origin: origin.clone(),
            name: name.to_owned(),
        };
        problems.push(doc.problem_at(path, err.to_string()));
        return false;
    }
    match Template::parse(name, source, funcs) {
        Ok(_) => true,
        Err(err) => {
            problems.push(template_error(doc, path, origin, name, err.message()));
            false
        }
    }
}

/// A Go template error placed at its line (and column) in the file.
pub fn template_error(
    doc: &Document<'_>,
    path: &Path,
    origin: &FileOrigin,
    file: &str,
    message: &str,
) -> Problem {
    let err = RenderError::Template {
        origin: origin.clone(),
        file: file.to_owned(),
        message: message.to_owned(),
    };
    match go_position(file, message) {
        Some((line, col0)) => doc.template_problem(path, line, col0.unwrap_or(0), err.to_string()),
        None => doc.problem_at(path, err.to_string()),
    }
}

/// Go's `template: FILE:LINE:` or `template: FILE:LINE:COL:` (the column
/// from 0, and only on execution errors).
fn go_position(file: &str, message: &str) -> Option<(usize, Option<usize>)> {
    let rest = message
        .strip_prefix("template: ")?
        .strip_prefix(file)?
        .strip_prefix(':')?;
    let mut numbers = rest.split(':');
    let line = numbers.next()?.parse().ok()?;
    let col = numbers.next().and_then(|col| col.parse().ok());
    Some((line, col))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_positions_are_read_from_parse_and_execution_errors() {
        assert_eq!(
            go_position(".npmrc", "template: .npmrc:3: unexpected \"}\" in operand"),
            Some((3, None))
        );
        assert_eq!(
            go_position(
                "f",
                "template: f:2:14: executing \"f\" at <.x>: nil pointer"
            ),
            Some((2, Some(14)))
        );
        assert_eq!(go_position("f", "template: other:1: x"), None);
    }
}
