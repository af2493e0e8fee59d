//! Log lines on stderr: text for people, JSON for log pipelines.
//!
//! A JSON line is one flat object: `timestamp` (RFC 3339, UTC), `level`,
//! `target`, `message`, `span` (the innermost span's name, when inside
//! one), then the fields of every enclosing span from the outermost in, then
//! the event's own fields (a later one wins on a name clash). So a line
//! logged anywhere inside a CSI call carries the `pod`, `namespace` and
//! `volume_id` the call's span was opened with, and a query like
//! `select(.pod == "web-0")` finds all of them.

use std::fmt;
use std::io::IsTerminal;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormattedFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// Log line format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Installs the global subscriber on stderr; `RUST_LOG` filters (default
/// `info`). Text has colours only when stderr is a terminal.
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A second init (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .finish()
            .try_init(),
        LogFormat::Json => json_subscriber(filter, std::io::stderr).try_init(),
    };
}

/// The JSON-lines subscriber, writing to `writer` (stderr in the driver;
/// tests capture it).
pub fn json_subscriber<W>(filter: EnvFilter, writer: W) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .fmt_fields(JsonFields::new())
        .event_format(FlatJson)
        .finish()
}

/// Formats an event as one flat JSON object (see the module comment).
struct FlatJson;

impl<S> FormatEvent<S, JsonFields> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let metadata = event.metadata();
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let mut line = Map::new();
        line.insert("timestamp".into(), timestamp.into());
        line.insert("level".into(), metadata.level().as_str().into());
        line.insert("target".into(), metadata.target().into());
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                line.insert("span".into(), span.name().into());
                let extensions = span.extensions();
                // The JSON field formatter stores each span's fields as one
                // JSON object.
                if let Some(fields) = extensions.get::<FormattedFields<JsonFields>>() {
                    if let Ok(Value::Object(fields)) = serde_json::from_str(fields.as_str()) {
                        line.extend(fields);
                    }
                }
            }
        }
        event.record(&mut EventFields(&mut line));
        let text = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// Puts an event's fields into the line. Records from the `log` crate come
/// with `log.*` fields: their target replaces `tracing-log`'s, the rest
/// (module path, file, line) is dropped.
struct EventFields<'a>(&'a mut Map<String, Value>);

impl EventFields<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        match field.name() {
            "log.target" => {
                self.0.insert("target".into(), value);
            }
            name if name.starts_with("log.") => {}
            name => {
                self.0.insert(name.into(), value);
            }
        }
    }
}

impl Visit for EventFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, value.to_string().into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines_of(log: impl FnOnce()) -> Vec<Map<String, Value>> {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = json_subscriber(EnvFilter::new("debug"), move || writer.clone());
        tracing::subscriber::with_default(subscriber, log);
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn a_line_is_flat_with_the_message_level_and_the_spans_fields_on_top() {
        let lines = lines_of(|| {
            let call = tracing::info_span!(
                "publish",
                pod = "web-0",
                namespace = "team-a",
                volume_id = "csi-1",
                code = tracing::field::Empty
            );
            let _in_call = call.enter();
            let inner = tracing::debug_span!("render", files = 3);
            let _in_inner = inner.enter();
            call.record("code", "NotFound");
            tracing::warn!(
                error = "connector \"team-a/git\" not found",
                "publish failed"
            );
        });
        let [line] = lines.as_slice() else {
            panic!("{lines:?}")
        };
        assert_eq!(line["message"], "publish failed");
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["target"], module_path!());
        assert_eq!(line["span"], "render");
        assert_eq!(line["pod"], "web-0");
        assert_eq!(line["namespace"], "team-a");
        assert_eq!(line["volume_id"], "csi-1");
        assert_eq!(line["code"], "NotFound");
        assert_eq!(line["files"], 3);
        assert_eq!(line["error"], "connector \"team-a/git\" not found");
        let timestamp = line["timestamp"].as_str().unwrap();
        assert!(
            timestamp.ends_with('Z') && timestamp.contains('T'),
            "{timestamp}"
        );
        assert!(!line.contains_key("fields"));
    }

    #[test]
    fn a_line_outside_any_span_has_no_span_key() {
        let lines = lines_of(|| tracing::info!(volumes = 2, "volume records loaded"));
        assert_eq!(lines[0]["message"], "volume records loaded");
        assert_eq!(lines[0]["volumes"], 2);
        assert!(!lines[0].contains_key("span"));
    }
}
