//! `configuration.params` checked against the params a configuration declares.
//!
//! Several classes of a volume may declare the same configuration with
//! different params: a key is unknown only if none of them declares it, and
//! each class then takes the keys it declares, with its own defaults.
//!
//! A configuration that declares no params at all takes whatever object it
//! is given, unchecked: upstream's classes (JFrog's, for one) read keys they
//! never declare.

use serde_json::{Map, Value as Json};

use super::{FileOrigin, RenderError};
use crate::model::{Configuration, ParamSpec};

/// Fails on a key that no declaring class knows.
pub(crate) fn check_known(
    configuration: &str,
    declarations: &[(&str, &Configuration)],
    given: Option<&Map<String, Json>>,
) -> Result<(), RenderError> {
    let Some(given) = given else {
        return Ok(());
    };
    if declarations.iter().any(|(_, decl)| decl.params.is_empty()) {
        return Ok(());
    }
    for key in given.keys() {
        let declared = declarations
            .iter()
            .any(|(_, decl)| decl.params.iter().any(|p| &p.name == key));
        if !declared {
            let (class, decl) = declarations.first().copied().unzip();
            let known: Vec<&str> = decl
                .map(|d| d.params.iter().map(|p| p.name.as_str()).collect())
                .unwrap_or_default();
            return Err(RenderError::Params {
                origin: FileOrigin::Configuration {
                    class: class.unwrap_or_default().to_owned(),
                    configuration: configuration.to_owned(),
                },
                param: key.clone(),
                problem: format!("unknown param (declared: {})", declared_list(&known)),
            });
        }
    }
    Ok(())
}

fn declared_list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// `.configurations` for one class: every declared param, given or default;
/// for a configuration without declared params, the given object as is.
pub(crate) fn resolve(
    class: &str,
    configuration: &Configuration,
    given: Option<&Map<String, Json>>,
) -> Result<Map<String, Json>, RenderError> {
    if configuration.params.is_empty() {
        return Ok(given.cloned().unwrap_or_default());
    }
    let mut values = Map::new();
    for spec in &configuration.params {
        let error = |problem: String| RenderError::Params {
            origin: FileOrigin::Configuration {
                class: class.to_owned(),
                configuration: configuration.name.clone(),
            },
            param: spec.name.clone(),
            problem,
        };
        let value = match given.and_then(|g| g.get(&spec.name)) {
            Some(value) => {
                check_value(spec, value).map_err(error)?;
                value.clone()
            }
            None => match &spec.default {
                Some(default) => default.clone(),
                None => {
                    return Err(error(
                        "required, and not given in configuration.params".into(),
                    ))
                }
            },
        };
        values.insert(spec.name.clone(), value);
    }
    Ok(values)
}

fn check_value(spec: &ParamSpec, value: &Json) -> Result<(), String> {
    if !spec.param_type.admits(value) {
        return Err(format!(
            "must be {} {}, got {}",
            article(spec.param_type.as_str()),
            spec.param_type.as_str(),
            json_kind(value)
        ));
    }
    if spec.allowed.is_empty() {
        return Ok(());
    }
    let outside = |text: &str| !spec.allowed.iter().any(|allowed| allowed == text);
    let rejected = match value {
        Json::String(text) => outside(text).then(|| text.clone()),
        Json::Array(items) => items.iter().find_map(|item| match item {
            Json::String(text) if !outside(text) => None,
            other => Some(other.to_string()),
        }),
        _ => None,
    };
    match rejected {
        Some(text) => Err(format!(
            "{text:?} is not one of {}",
            spec.allowed.join(", ")
        )),
        None => Ok(()),
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn json_kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ParamType;
    use serde_json::json;

    fn npmrc() -> Configuration {
        Configuration {
            name: "npmrc".into(),
            data: Default::default(),
            params: vec![
                ParamSpec {
                    name: "registry".into(),
                    ..Default::default()
                },
                ParamSpec {
                    name: "strictSSL".into(),
                    default: Some(json!("true")),
                    allowed: vec!["true".into(), "false".into()],
                    ..Default::default()
                },
                ParamSpec {
                    name: "scopes".into(),
                    param_type: ParamType::Array,
                    default: Some(json!([])),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }
    }

    fn given(value: Json) -> Map<String, Json> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn defaults_fill_what_is_not_given() {
        let values = resolve(
            "nexus",
            &npmrc(),
            Some(&given(json!({"registry": "npm-proxy"}))),
        )
        .unwrap();
        assert_eq!(
            Json::Object(values),
            json!({"registry": "npm-proxy", "strictSSL": "true", "scopes": []})
        );
    }

    #[test]
    fn a_missing_required_param_names_class_configuration_and_param() {
        let err = resolve("nexus", &npmrc(), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "connectorclass \"nexus\" configuration \"npmrc\": param \"registry\": \
             required, and not given in configuration.params"
        );
    }

    #[test]
    fn a_value_outside_the_enum_is_rejected() {
        let err = resolve(
            "nexus",
            &npmrc(),
            Some(&given(json!({"registry": "r", "strictSSL": "maybe"}))),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "connectorclass \"nexus\" configuration \"npmrc\": param \"strictSSL\": \
             \"maybe\" is not one of true, false"
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_is_rejected() {
        let err = resolve("nexus", &npmrc(), Some(&given(json!({"registry": 3})))).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("param \"registry\": must be a string, got a number"),
            "{err}"
        );
        let err = resolve(
            "nexus",
            &npmrc(),
            Some(&given(json!({"registry": "r", "scopes": "x"}))),
        )
        .unwrap_err();
        assert!(
            err.to_string().ends_with("must be an array, got a string"),
            "{err}"
        );
    }

    #[test]
    fn a_key_no_declaring_class_knows_is_unknown() {
        let npmrc = npmrc();
        let declarations = [("nexus", &npmrc)];
        let ok = given(json!({"registry": "r"}));
        assert!(check_known("npmrc", &declarations, Some(&ok)).is_ok());
        let bad = given(json!({"regsitry": "r"}));
        let err = check_known("npmrc", &declarations, Some(&bad)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "connectorclass \"nexus\" configuration \"npmrc\": param \"regsitry\": \
             unknown param (declared: registry, strictSSL, scopes)"
        );
    }

    #[test]
    fn a_configuration_without_declared_params_takes_any_object_unchecked() {
        let bare = Configuration {
            name: "settings".into(),
            ..Default::default()
        };
        let object = given(json!({"repo": "libs-release", "nested": {"n": 1}, "list": [1, "x"]}));
        assert!(check_known("settings", &[("jfrog", &bare)], Some(&object)).is_ok());
        let values = resolve("jfrog", &bare, Some(&object)).unwrap();
        assert_eq!(values, object);
        assert!(resolve("jfrog", &bare, None).unwrap().is_empty());
    }

    #[test]
    fn beside_a_class_without_params_a_declaring_class_still_checks_its_own() {
        let npmrc = npmrc();
        let bare = Configuration {
            name: "npmrc".into(),
            ..Default::default()
        };
        let object = given(json!({"regsitry": "r"}));
        assert!(check_known("npmrc", &[("npm", &bare), ("nexus", &npmrc)], Some(&object)).is_ok());
        let err = resolve("nexus", &npmrc, Some(&object)).unwrap_err();
        assert!(
            err.to_string().contains("param \"registry\": required"),
            "{err}"
        );
    }
}
