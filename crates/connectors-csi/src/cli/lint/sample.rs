//! Each configuration rendered once with sample data, as a pod selecting
//! only it would get it, each failure placed where its cause is written.

use std::collections::HashMap;
use std::sync::Arc;

use connectors_csi::catalog::ResolvedConnector;
use connectors_csi::model::{
    Configuration, Connector, ConnectorClass, ModelError, ParamType, API_VERSION,
};
use connectors_csi::render::{FileOrigin, RenderError, Renderer};
use connectors_csi::tokens::Token;
use connectors_csi::volume::VolumeRequest;
use serde_json::{json, Map, Value as Json};

use super::class::{template_error, Overrides};
use super::positions::{yaml_path, Path, Step};
use super::{Document, Problem};

/// What templates are rendered with in place of a real token.
const SAMPLE_TOKEN: &str = "lint-placeholder-token";
/// The sample Connector's name and namespace.
const SAMPLE_CONNECTOR: &str = "lint-sample";
const SAMPLE_NAMESPACE: &str = "default";
/// The forward proxy of a class that has none in its file.
const SAMPLE_CLASS_PROXY: &str =
    "http://connectors-proxy-service.connectors-system.svc.cluster.local";

/// Renders each configuration once, as a pod selecting only it would get
/// it: the sample Connector, the placeholder token, defaults and a sample
/// value for each required param.
pub fn render_each(
    doc: &Document<'_>,
    class_name: &str,
    configurations: &[(usize, String)],
    overrides: Option<&Overrides<'_>>,
    known_problems: bool,
    problems: &mut Vec<Problem>,
) {
    let class = match sample_class(&doc.json, class_name) {
        Ok(class) => Arc::new(class),
        // Already reported, in the driver's reading of the class too.
        Err(_) if known_problems => return,
        Err(err) => {
            problems.push(doc.problem_at(
                &yaml_path!["spec"],
                format!("connectorclass {class_name:?}: {err}"),
            ));
            return;
        }
    };
    let resolved = [ResolvedConnector {
        connector: Arc::new(sample_connector(class_name)),
        class: Arc::clone(&class),
    }];
    let renderer = Renderer::default();
    let templates = overrides.map(|o| &o.templates);
    let token = Token::new(SAMPLE_TOKEN, None);
    for (index, name) in configurations {
        let Some(configuration) = class.configuration(name) else {
            continue;
        };
        let request = match VolumeRequest::parse(&sample_attributes(name, configuration)) {
            Ok(request) => request,
            Err(err) => {
                problems.push(doc.problem_at(
                    &yaml_path!["spec", "configurations", *index, "name"],
                    format!("connectorclass {class_name:?} configuration {name:?}: {err}"),
                ));
                continue;
            }
        };
        if let Err(err) = renderer.plan(&request, &resolved, templates, &token, "") {
            problems.push(render_problem(doc, *index, overrides, &err));
        }
    }
}

/// The class as the driver reads it, named and with a proxy address if the
/// file has none (the Connectors operator writes one in a cluster).
fn sample_class(json: &Json, name: &str) -> Result<ConnectorClass, ModelError> {
    let mut json = json.clone();
    if let Some(object) = json.as_object_mut() {
        let metadata = object.entry("metadata").or_insert_with(|| json!({}));
        if let Some(metadata) = metadata.as_object_mut() {
            metadata.insert("name".into(), Json::String(name.to_owned()));
        }
        let status = object.entry("status").or_insert_with(|| json!({}));
        if let Some(status) = status.as_object_mut() {
            if !status.contains_key("proxy") {
                status.insert(
                    "proxy".into(),
                    json!({"httpAddress": {"url": SAMPLE_CLASS_PROXY}}),
                );
            }
        }
    }
    ConnectorClass::from_json(json)
}

/// A Connector of the class, with the proxy address its operator would set.
fn sample_connector(class_name: &str) -> Connector {
    let json = json!({
        "apiVersion": API_VERSION,
        "kind": "Connector",
        "metadata": {"name": SAMPLE_CONNECTOR, "namespace": SAMPLE_NAMESPACE},
        "spec": {"connectorClassName": class_name, "address": "https://example.com/sample"},
        "status": {"proxy": {"httpAddress": {
            "url": format!("http://c-{SAMPLE_CONNECTOR}.{SAMPLE_NAMESPACE}.svc.cluster.local")
        }}}
    });
    Connector::from_json(json)
        .unwrap_or_else(|err| unreachable!("the sample connector is well-formed: {err}"))
}

/// The volume attributes of a pod selecting only `name`, giving a sample
/// value for each required param.
fn sample_attributes(name: &str, configuration: &Configuration) -> HashMap<String, String> {
    let mut required = Map::new();
    for param in configuration.params.iter().filter(|p| p.default.is_none()) {
        let sample = param.allowed.first().map_or("sample", String::as_str);
        let value = match param.param_type {
            ParamType::String => json!(sample),
            ParamType::Array => json!([sample]),
            ParamType::Object => json!({}),
        };
        required.insert(param.name.clone(), value);
    }
    let mut attributes = HashMap::from([
        ("connector.name".to_owned(), SAMPLE_CONNECTOR.to_owned()),
        ("configuration.names".to_owned(), name.to_owned()),
        (
            "csi.storage.k8s.io/pod.namespace".to_owned(),
            SAMPLE_NAMESPACE.to_owned(),
        ),
        (
            "csi.storage.k8s.io/pod.name".to_owned(),
            "lint-sample-pod".to_owned(),
        ),
    ]);
    if !required.is_empty() {
        let mut params = Map::new();
        params.insert(name.to_owned(), Json::Object(required));
        attributes.insert(
            "configuration.params".to_owned(),
            Json::Object(params).to_string(),
        );
    }
    attributes
}

/// A render failure placed where its cause is written.
fn render_problem(
    doc: &Document<'_>,
    index: usize,
    overrides: Option<&Overrides<'_>>,
    err: &RenderError,
) -> Problem {
    let configuration = yaml_path!["spec", "configurations", index];
    let fallback = || doc.problem_at(&configuration, err.to_string());
    match err {
        RenderError::Template {
            origin,
            file,
            message,
        } => match file_source(doc, &configuration, overrides, origin, file) {
            Some((at, path)) => template_error(at, &path, origin, file, message),
            None => fallback(),
        },
        RenderError::FileName { origin, name: file }
        | RenderError::FileTooLarge { origin, file, .. }
        | RenderError::Timeout { origin, file, .. }
        | RenderError::BuildLimit { origin, file, .. } => {
            match file_source(doc, &configuration, overrides, origin, file) {
                Some((at, path)) => at.problem_at(&path, err.to_string()),
                None => fallback(),
            }
        }
        RenderError::Params { .. } => {
            let mut path = configuration.clone();
            path.push(Step::from("params"));
            doc.problem_at(&path, err.to_string())
        }
        RenderError::ConfigurationNotFound { .. }
        | RenderError::VolumeTooLarge { .. }
        | RenderError::TooManyFiles { .. }
        | RenderError::NoConnectors => fallback(),
    }
}

/// The document and path holding the template of `file`: the class's
/// configuration, or the overrides ConfigMap for an overridden built-in
/// (`None` for a built-in the driver ships).
fn file_source<'d>(
    doc: &'d Document<'d>,
    configuration: &Path,
    overrides: Option<&'d Overrides<'d>>,
    origin: &FileOrigin,
    file: &str,
) -> Option<(&'d Document<'d>, Path)> {
    match origin {
        FileOrigin::Builtin => overrides
            .filter(|o| o.templates.contains_key(file))
            .map(|o| (o.document, yaml_path!["data", file])),
        FileOrigin::Configuration { .. } => {
            let mut path = configuration.clone();
            path.extend([Step::from("data"), Step::from(file)]);
            Some((doc, path))
        }
    }
}
