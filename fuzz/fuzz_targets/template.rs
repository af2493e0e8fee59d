//! Any text is parsed, and whatever parses is executed over connector-like
//! data with sprig's functions under small limits, the render budget
//! included: neither may panic, and no input may hold on to memory (the
//! RSS limit of a long run catches one that does).
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use gotemplate::{FuncMap, Limits, Template, Value};
use libfuzzer_sys::fuzz_target;

fn functions() -> &'static Arc<FuncMap> {
    static FUNCTIONS: OnceLock<Arc<FuncMap>> = OnceLock::new();
    FUNCTIONS.get_or_init(|| Arc::new(sprig::functions()))
}

fn data() -> &'static Value {
    static DATA: OnceLock<Value> = OnceLock::new();
    DATA.get_or_init(|| {
        Value::from(serde_json::json!({
            "connector": {
                "metadata": {"name": "git", "namespace": "default"},
                "spec": {"address": "https://github.com", "params": [{"name": "sslVerify", "value": "false"}]},
                "status": {"proxyAddress": "http://proxy:8080"}
            },
            "connectors": [{"metadata": {"name": "git"}}],
            "context": {"token": "t0k3n", "proxy": {"caCert": ""}},
            "configurations": {"registry": "npm", "n": 3, "f": 1.5, "b": true, "nil": null}
        }))
    })
}

fuzz_target!(|input: &[u8]| {
    let Ok(source) = std::str::from_utf8(input) else {
        return;
    };
    let Ok(template) = Template::parse("t", source, functions()) else {
        return;
    };
    let limits = Limits {
        max_output_bytes: 64 * 1024,
        max_built_bytes: 1024 * 1024,
        timeout: Duration::from_millis(200),
    };
    let mut out = String::new();
    let _ = template.execute(data(), &mut out, &limits);
});
