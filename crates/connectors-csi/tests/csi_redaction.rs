//! The token never leaves in an error or a log line, in any spelling a
//! template is likely to give it: a class author's `fail` over the socket,
//! one configuration per spelling.

#![allow(clippy::unwrap_used)]

mod support;

use connectors_csi::csi::proto::NodePublishVolumeRequest;
use support::attributes::{quickstart_context, with_kubelet_token};
use support::driver::{publish_request, start, Options};
use support::logs::CapturedLogs;

/// A JWT-shaped token whose base64 holds `+` and `/` (so the URL-safe
/// alphabet differs).
const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJl~~~???~~";

/// Each configuration fails with the token spelled one way.
const FORMS: &[(&str, &str)] = &[
    ("exact", "{{ fail .context.token }}"),
    ("b64", "{{ fail (.context.token | b64enc) }}"),
    ("b64-unpadded", "{{ fail (.context.token | b64enc | trimAll \"=\") }}"),
    (
        "b64-url",
        "{{ fail (.context.token | b64enc | replace \"+\" \"-\" | replace \"/\" \"_\") }}",
    ),
    (
        "b64-url-unpadded",
        "{{ fail (.context.token | b64enc | replace \"+\" \"-\" | replace \"/\" \"_\" | trimAll \"=\") }}",
    ),
    ("colon-token", "{{ fail (printf \":%s\" .context.token | b64enc) }}"),
    ("user-colon-token", "{{ fail (printf \"oauth2:%s\" .context.token | b64enc) }}"),
    ("jwt-header", "{{ fail (index (splitList \".\" .context.token) 0) }}"),
    ("jwt-payload", "{{ fail (index (splitList \".\" .context.token) 1) }}"),
    ("jwt-signature", "{{ fail (index (splitList \".\" .context.token) 2) }}"),
];

fn manifests(dir: &std::path::Path) -> std::path::PathBuf {
    let configurations: Vec<(&str, &str, &str)> = FORMS
        .iter()
        .map(|(name, template)| (*name, "leak.txt", *template))
        .collect();
    support::driver::class_manifests(dir, "leaky", &configurations)
}

/// Every spelling the forms produce, to look for in what came out.
fn spellings() -> Vec<String> {
    let std = |bytes: &[u8]| {
        let mut out = String::new();
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                out.push(if i <= chunk.len() {
                    char::from(alphabet[((n >> (18 - 6 * i)) & 63) as usize])
                } else {
                    '='
                });
            }
        }
        out
    };
    let mut all = vec![TOKEN.to_owned()];
    all.extend(TOKEN.split('.').map(str::to_owned));
    let encoded = std(TOKEN.as_bytes());
    let url = encoded.replace('+', "-").replace('/', "_");
    all.push(encoded.trim_end_matches('=').to_owned());
    all.push(url.trim_end_matches('=').to_owned());
    // The middle of the `:token` encodings: enough to recover the token.
    for prefix in [":", "oauth2:"] {
        let text = std(format!("{prefix}{TOKEN}").as_bytes());
        all.push(text[text.len() / 4..text.len() * 3 / 4].to_owned());
    }
    all
}

#[tokio::test]
async fn no_spelling_of_the_token_reaches_an_error_or_a_log_line() {
    let (logs, _guard) = CapturedLogs::start();
    let dir = support::mounts::NodeDir::new();
    let mut options = Options::new(dir.path());
    options.manifests = vec![manifests(dir.path())];
    let (clients, handle) = start(options).await;
    let target = dir.path().join("pods/p/volumes/v/mount");
    for (form, _) in FORMS {
        let mut context = with_kubelet_token(quickstart_context(), TOKEN);
        context.insert("connector.name".into(), "leaky".into());
        context.insert("configuration.names".into(), (*form).into());
        let request: NodePublishVolumeRequest = publish_request("vol-leak", &target, context);
        let mut node = clients.node.clone();
        let status = node.node_publish_volume(request).await.unwrap_err();
        assert!(
            status.message().contains("<redacted>"),
            "{form}: {}",
            status.message()
        );
        for spelling in spellings() {
            assert!(
                !status.message().contains(&spelling),
                "{form}: {spelling} in {}",
                status.message()
            );
        }
        assert!(!target.exists(), "{form}");
    }
    handle.stop().await;
    let text = logs.text();
    assert!(text.contains("publish failed"), "{text}");
    for spelling in spellings() {
        assert!(!text.contains(&spelling), "{spelling} logged:\n{text}");
    }
}
