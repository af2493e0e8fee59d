//! How sprig's own Go objects (`time.Time`, `*semver.Version`, the
//! certificate struct) encode to JSON.

use gotemplate::{Object, Value};

/// The JSON shape of an object.
pub(crate) enum JsonForm {
    /// A `MarshalJSON`/`MarshalText` string.
    Text(String),
    /// A struct's exported fields, in declaration order.
    Fields(Vec<(&'static str, Value)>),
}

/// The JSON form of one of sprig's objects; `None` for unknown ones.
pub(crate) fn json_fields(o: &dyn Object) -> Option<JsonForm> {
    let any = o.as_any();
    if let Some(v) = any.downcast_ref::<crate::semver::Version>() {
        return Some(JsonForm::Text(crate::semver::json_text(v)));
    }
    if let Some(t) = any.downcast_ref::<crate::dates::GoTime>() {
        return Some(JsonForm::Text(t.format(crate::dates::RFC3339_NANO)));
    }
    if let Some(c) = any.downcast_ref::<crate::crypto::Certificate>() {
        return Some(JsonForm::Fields(vec![
            ("Cert", Value::str(&c.cert)),
            ("Key", Value::str(&c.key)),
        ]));
    }
    None
}
