//! Reading the already-converted arguments a function body receives, and
//! the checks that keep a function from building past the render budget.

use std::sync::Arc;

use gotemplate::budget::{self, Exhausted};
use gotemplate::{ElemType, List, Map, Value};

/// The error a function returns when the render budget stops it (the
/// executor reports the bound itself).
pub(crate) fn exhausted(what: &str, why: Exhausted) -> String {
    format!("{what}: {why}")
}

/// Fails, exhausting the render budget, when a result of `bytes` (as the
/// executor will charge it) cannot fit in what the render may still build:
/// for functions that know their result's size before building it.
pub(crate) fn check_size(what: &str, bytes: u128) -> Result<(), String> {
    let bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
    budget::reserve(bytes).map_err(|why| exhausted(what, why))
}

/// Charges a costly call (key generation, bcrypt, scrypt) to the render's
/// time before it runs: fails at once when the time left cannot cover it.
pub(crate) fn spend(what: &str, cost: std::time::Duration) -> Result<(), String> {
    budget::spend(cost).map_err(|why| exhausted(what, why))
}

/// [`check_size`] for a new string of `len` bytes.
pub(crate) fn check_string(what: &str, len: u128) -> Result<(), String> {
    check_size(what, len.saturating_add(budget::STRING as u128))
}

/// [`check_size`] for a new list of `items` elements that are not new
/// strings or containers themselves.
pub(crate) fn check_list(what: &str, items: u128) -> Result<(), String> {
    check_size(
        what,
        items
            .saturating_mul(budget::SLOT as u128)
            .saturating_add(budget::CONTAINER as u128),
    )
}

/// The `i`th argument, nil when absent.
pub(crate) fn any(args: &[Value], i: usize) -> &Value {
    const NIL: &Value = &Value::Nil;
    args.get(i).unwrap_or(NIL)
}

/// The `i`th argument declared `string`.
pub(crate) fn string(args: &[Value], i: usize) -> Result<&str, String> {
    match args.get(i) {
        Some(Value::Str(s)) => Ok(s),
        other => Err(bad_arg(i, "string", other)),
    }
}

/// The `i`th argument declared `int`, `int64` or `uint32`.
pub(crate) fn int(args: &[Value], i: usize) -> Result<i64, String> {
    match args.get(i) {
        Some(Value::Int(n) | Value::Int64(n)) => Ok(*n),
        other => Err(bad_arg(i, "int", other)),
    }
}

/// The `i`th argument declared `float64`.
pub(crate) fn float(args: &[Value], i: usize) -> Result<f64, String> {
    match args.get(i) {
        Some(Value::Float(f)) => Ok(*f),
        other => Err(bad_arg(i, "float64", other)),
    }
}

/// The `i`th argument declared `bool`.
pub(crate) fn boolean(args: &[Value], i: usize) -> Result<bool, String> {
    match args.get(i) {
        Some(Value::Bool(b)) => Ok(*b),
        other => Err(bad_arg(i, "bool", other)),
    }
}

/// The `i`th argument declared `map[string]interface{}` (nil map → empty).
pub(crate) fn map(args: &[Value], i: usize) -> Result<Arc<Map>, String> {
    match args.get(i) {
        Some(Value::Map(m)) => Ok(m.clone()),
        Some(Value::Nil) | None => Ok(Arc::new(Map::new(ElemType::Any, Default::default()))),
        other => Err(bad_arg(i, "map[string]interface {}", other)),
    }
}

/// The engine converts arguments before the call, so this only fires when a
/// function is called directly with the wrong types.
fn bad_arg(i: usize, want: &str, got: Option<&Value>) -> String {
    match got {
        Some(v) => format!("argument {i}: expected {want}; got {}", v.type_name()),
        None => format!("argument {i}: missing {want}"),
    }
}

/// A `map[string]elem` value built from entries.
pub(crate) fn map_value(
    elem: ElemType,
    entries: std::collections::BTreeMap<Arc<str>, Value>,
) -> Value {
    Value::Map(Arc::new(Map::new(elem, entries)))
}

/// A `[]elem` value.
pub(crate) fn list_value(elem: ElemType, items: Vec<Value>) -> Value {
    Value::List(Arc::new(List { elem, items }))
}

/// Bytes as text the way Go's printing and JSON show a string holding
/// invalid UTF-8: each byte outside a valid sequence becomes U+FFFD.
pub(crate) fn go_lossy(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for _ in chunk.invalid() {
            out.push('\u{FFFD}');
        }
    }
    out
}
