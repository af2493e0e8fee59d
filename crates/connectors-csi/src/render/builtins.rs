//! The built-in files every volume gets, as compiled-in templates.
//!
//! They are templates over the same data as the configurations, so an
//! operator can override any of them (or add one) with the
//! `connectors-csi-configuration-system` ConfigMap.

use std::collections::BTreeMap;

/// The forward-proxy address: the last class's, else the last connector's.
const PROXY_ADDRESS: &str = ".connectorclass.proxyAddress | default .connector.status.proxyAddress";

/// `<scheme>://<user>:<token>@<host>`, `<user>` the volume's connectors as
/// `namespace%2Fname` joined by `,`; empty when there is no proxy at all.
fn proxy_url_template() -> String {
    format!(
        concat!(
            "{{{{- $address := {address} -}}}}",
            "{{{{- if $address -}}}}",
            "{{{{- $url := urlParse $address -}}}}",
            "{{{{- $users := list -}}}}",
            "{{{{- range .connectors -}}}}",
            "{{{{- $users = append $users (printf \"%s%%2F%s\" .metadata.namespace .metadata.name) -}}}}",
            "{{{{- end -}}}}",
            "{{{{ $url.scheme }}}}://{{{{ join \",\" $users }}}}:{{{{ .context.token }}}}@{{{{ $url.host }}}}",
            "{{{{- end -}}}}"
        ),
        address = PROXY_ADDRESS
    )
}

/// Hosts the proxy must not see: the pod's own loopback.
const NO_PROXY: &str = "localhost,127.0.0.1,::1";

fn env_template() -> String {
    let url = proxy_url_template();
    // The URL template trims the text after it: newlines go in as actions.
    let newline = "{{ \"\\n\" }}";
    format!("http_proxy={url}{newline}https_proxy={url}{newline}no_proxy={NO_PROXY}\n")
}

/// File name → template of the built-in files the driver ships.
pub(crate) fn default_templates() -> BTreeMap<String, String> {
    let ca_cert = "{{ .context.proxy.caCert }}";
    BTreeMap::from([
        ("context.token".into(), "{{ .context.token }}".into()),
        (
            "connector.status.proxyAddress".into(),
            "{{ .connector.status.proxyAddress }}".into(),
        ),
        ("http.proxy".into(), proxy_url_template()),
        ("https.proxy".into(), proxy_url_template()),
        (".env".into(), env_template()),
        ("context.proxy.caCert".into(), ca_cert.into()),
        ("ca.crt".into(), ca_cert.into()),
        // Deprecated name, kept for ConnectorClasses written against it.
        ("ca.cert".into(), ca_cert.into()),
    ])
}

/// Built-in templates with what the plan asks of them worked out once, not
/// on every publish.
pub(crate) struct Builtins {
    pub templates: BTreeMap<String, String>,
    /// Whether any of them may change maps in place.
    pub may_change_maps: bool,
}

impl Builtins {
    pub fn new(templates: BTreeMap<String, String>) -> Builtins {
        let may_change_maps = templates.values().any(|t| sprig::may_change_maps(t));
        Builtins {
            templates,
            may_change_maps,
        }
    }

    /// These with the operator's overrides (and additions) applied.
    pub fn with_overrides(&self, overrides: &BTreeMap<String, String>) -> Builtins {
        let mut templates = self.templates.clone();
        for (name, template) in overrides {
            templates.insert(name.clone(), template.clone());
        }
        Builtins::new(templates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_cover_the_spec_files() {
        let names: Vec<String> = default_templates().into_keys().collect();
        assert_eq!(
            names,
            [
                ".env",
                "ca.cert",
                "ca.crt",
                "connector.status.proxyAddress",
                "context.proxy.caCert",
                "context.token",
                "http.proxy",
                "https.proxy"
            ]
        );
    }

    #[test]
    fn overrides_replace_and_add_templates() {
        let overrides = BTreeMap::from([
            ("context.token".to_string(), "T".to_string()),
            ("extra.txt".to_string(), "E".to_string()),
        ]);
        let templates = Builtins::new(default_templates())
            .with_overrides(&overrides)
            .templates;
        assert_eq!(templates["context.token"], "T");
        assert_eq!(templates["extra.txt"], "E");
        assert_eq!(templates["ca.crt"], "{{ .context.proxy.caCert }}");
    }

    #[test]
    fn the_proxy_template_escapes_the_percent_for_printf() {
        let template = proxy_url_template();
        assert!(template.contains("printf \"%s%%2F%s\""), "{template}");
        assert!(template.starts_with("{{- $address := .connectorclass.proxyAddress"));
    }
}
