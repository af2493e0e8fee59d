//! The volume attributes kubelet passes, for the tests' pods.

use std::collections::HashMap;

use super::AUDIENCE;

/// The quick-start volume of pod `default/app-0` (manifests mode).
pub fn quickstart_context() -> HashMap<String, String> {
    pairs(&[
        ("connector.name", "git-connector"),
        ("configuration.names", "config"),
        ("csi.storage.k8s.io/pod.name", "app-0"),
        ("csi.storage.k8s.io/pod.namespace", "default"),
        (
            "csi.storage.k8s.io/pod.uid",
            "6a3c1d2e-0000-4000-8000-000000000001",
        ),
        ("csi.storage.k8s.io/serviceAccount.name", "default"),
        ("csi.storage.k8s.io/ephemeral", "true"),
    ])
}

/// A volume of pod `team-a/POD` (uid `uid-of-POD`, service account
/// `builder`) with the pod-facing attributes `attributes`.
pub fn team_a_pod(pod: &str, attributes: &[(&str, &str)]) -> HashMap<String, String> {
    let uid = format!("uid-of-{pod}");
    let mut context = pairs(&[
        ("csi.storage.k8s.io/pod.name", pod),
        ("csi.storage.k8s.io/pod.namespace", "team-a"),
        ("csi.storage.k8s.io/pod.uid", &uid),
        ("csi.storage.k8s.io/serviceAccount.name", "builder"),
        ("csi.storage.k8s.io/ephemeral", "true"),
    ]);
    context.extend(pairs(attributes));
    context
}

/// Kubelet's `serviceAccount.tokens` attribute carrying `token` for
/// [`AUDIENCE`].
pub fn kubelet_tokens(token: &str) -> (String, String) {
    (
        "csi.storage.k8s.io/serviceAccount.tokens".to_owned(),
        serde_json::json!({
            AUDIENCE: {"token": token, "expirationTimestamp": "2099-01-01T00:00:00Z"}
        })
        .to_string(),
    )
}

/// `context` with kubelet's token added.
pub fn with_kubelet_token(
    mut context: HashMap<String, String>,
    token: &str,
) -> HashMap<String, String> {
    let (key, value) = kubelet_tokens(token);
    context.insert(key, value);
    context
}

fn pairs(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
