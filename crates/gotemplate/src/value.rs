//! The dynamic values a template works on, typed the way Go's reflection sees
//! them.
//!
//! Go templates are executed over `interface{}` values, and what a template
//! prints depends on the Go type behind the value: `typeOf` names it, `eq`
//! refuses to compare an `int` with a `float64`, a missing key of a
//! `map[string]string` indexes to `""`, a JSON number is a `float64` and prints
//! `1e+06`. So a [`Value`] keeps the Go type, not just the shape of the data.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// How deep the recursive walks (printing, JSON, deep copy and compare) go
/// into nested slices and maps before they stop: a map can hold itself.
pub const MAX_NESTING: usize = 512;

/// A Go value as a template sees it.
#[derive(Clone, Default)]
pub enum Value {
    /// The nil interface, and Go's "invalid" `reflect.Value` (a missing map
    /// key): both print as `<no value>` at the top of a pipeline.
    #[default]
    Nil,
    Bool(bool),
    /// Go `int` (64-bit here, as on the platforms the driver runs on).
    Int(i64),
    /// Go `int64`, what sprig's integer math returns.
    Int64(i64),
    /// Go `float64`, what every JSON number decodes to.
    Float(f64),
    Str(Arc<str>),
    /// A Go slice; [`List::elem`] keeps its element type.
    List(Arc<List>),
    /// A Go map with string keys, iterated in sorted key order like Go does.
    Map(Arc<Map>),
    /// A Go value with fields or methods that is not plain data:
    /// `time.Time`, `*semver.Version`, sprig's certificate struct.
    Object(Arc<dyn Object>),
}

/// The Go type of a slice element or map value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElemType {
    /// `interface{}`
    Any,
    /// `string`
    Str,
    /// `int`
    Int,
    /// `[]interface{}` (sprig's `chunk` returns `[][]interface{}`)
    ListAny,
}

impl ElemType {
    /// The Go spelling, as `%T` and `typeOf` print it.
    pub fn go_name(self) -> &'static str {
        match self {
            ElemType::Any => "interface {}",
            ElemType::Str => "string",
            ElemType::Int => "int",
            ElemType::ListAny => "[]interface {}",
        }
    }
}

/// A Go slice of `elem`.
#[derive(Clone, Debug)]
pub struct List {
    pub elem: ElemType,
    pub items: Vec<Value>,
}

/// A Go `map[string]elem`.
///
/// Go maps are references: sprig's `set`, `unset` and `merge` change the map
/// every holder sees. So the entries sit behind a lock and every `Arc<Map>`
/// clone shares them; `dict`, `deepCopy` and JSON decoding make new maps.
/// No guard ever leaves this type, so a template function that mutates a map
/// while the engine walks it cannot deadlock: walkers take a snapshot.
pub struct Map {
    pub elem: ElemType,
    entries: RwLock<BTreeMap<Arc<str>, Value>>,
}

impl Map {
    pub fn new(elem: ElemType, entries: BTreeMap<Arc<str>, Value>) -> Map {
        Map {
            elem,
            entries: RwLock::new(entries),
        }
    }

    // A panic never happens while a guard is held (the closures below only
    // touch the BTreeMap), but a poisoned lock still holds consistent data.
    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<Arc<str>, Value>> {
        self.entries.read().unwrap_or_else(|e| e.into_inner())
    }

    fn entries_mut(&mut self) -> &mut BTreeMap<Arc<str>, Value> {
        self.entries.get_mut().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<Arc<str>, Value>> {
        self.entries.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, key: &str) -> Option<Value> {
        self.read().get(key).cloned()
    }

    /// The stored key and value, for callers that want to reuse the key.
    pub fn get_key_value(&self, key: &str) -> Option<(Arc<str>, Value)> {
        self.read()
            .get_key_value(key)
            .map(|(k, v)| (k.clone(), v.clone()))
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.read().contains_key(key)
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// Sets `key`, as Go's `m[key] = value`; returns the old value.
    pub fn insert(&self, key: Arc<str>, value: Value) -> Option<Value> {
        self.write().insert(key, value)
    }

    /// Deletes `key`, as Go's `delete(m, key)`; returns the old value.
    pub fn remove(&self, key: &str) -> Option<Value> {
        self.write().remove(key)
    }

    /// The keys, sorted, as they are now.
    pub fn keys(&self) -> Vec<Arc<str>> {
        self.read().keys().cloned().collect()
    }

    /// The entries in key order as they are now; later changes to the map do
    /// not show in it.
    pub fn snapshot(&self) -> Vec<(Arc<str>, Value)> {
        self.read()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// A copy of the entries as a plain map (the values themselves are shared).
    pub fn to_btree(&self) -> BTreeMap<Arc<str>, Value> {
        self.read().clone()
    }

    /// Folds over the entries in key order, under the map's read lock (`f`
    /// must not change this map).
    pub(crate) fn fold<T>(&self, init: T, f: impl FnMut(T, &Arc<str>, &Value) -> T) -> T {
        let mut f = f;
        self.read()
            .iter()
            .fold(init, |acc, (key, value)| f(acc, key, value))
    }

    /// Whether `self` and `other` are the same Go map (not just equal).
    pub fn same(&self, other: &Map) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Clone for Map {
    /// A new, independent map with the same entries (a shallow copy).
    fn clone(&self) -> Map {
        Map::new(self.elem, self.to_btree())
    }
}

/// Values nested deeper than a thread's stack can follow (Go's JSON allows
/// 10000 levels; a template can wrap a list in a list a million times) are
/// freed by a loop: a list or map that holds lists or maps hands them to a
/// work list instead of dropping them in place, once per level.
fn free_nested(values: impl Iterator<Item = Value>) {
    let mut pending: Vec<Value> = values.filter(Value::is_container).collect();
    while let Some(value) = pending.pop() {
        match value {
            Value::List(list) => {
                if let Some(mut list) = Arc::into_inner(list) {
                    let items = std::mem::take(&mut list.items);
                    pending.extend(items.into_iter().filter(Value::is_container));
                }
            }
            Value::Map(map) => {
                if let Some(mut map) = Arc::into_inner(map) {
                    let entries = std::mem::take(map.entries_mut());
                    pending.extend(entries.into_values().filter(Value::is_container));
                }
            }
            _ => {}
        }
    }
}

impl Drop for List {
    fn drop(&mut self) {
        if self.items.iter().any(Value::is_container) {
            free_nested(std::mem::take(&mut self.items).into_iter());
        }
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        let entries = self.entries_mut();
        if entries.values().any(Value::is_container) {
            free_nested(std::mem::take(entries).into_values());
        }
    }
}

impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys only: values may lead back to this map.
        f.debug_struct("Map")
            .field("elem", &self.elem)
            .field("keys", &self.keys())
            .finish()
    }
}

/// A Go value that has fields and methods rather than plain data.
pub trait Object: Send + Sync + fmt::Debug {
    /// Go's `%T`, e.g. `time.Time`, `*semver.Version`.
    fn type_name(&self) -> &'static str;
    /// Go's `reflect.Kind` name, e.g. `struct`, `ptr`.
    fn kind_name(&self) -> &'static str;
    /// `.Name` on the value: an exported field or a method called with
    /// `args`. `None` when there is no such field or method.
    fn member(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>>;
    /// What `fmt.Sprint` prints for it (its `String()` method, or the struct).
    fn go_string(&self) -> String;
    /// For the functions that take this concrete type (sprig's date functions
    /// take a `time.Time`).
    fn as_any(&self) -> &dyn Any;
}

impl Value {
    pub fn str(s: &str) -> Value {
        Value::Str(Arc::from(s))
    }

    pub fn string(s: String) -> Value {
        Value::Str(Arc::from(s))
    }

    /// A `[]interface{}`.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Arc::new(List {
            elem: ElemType::Any,
            items,
        }))
    }

    /// A `[]string`.
    pub fn str_list<I: IntoIterator<Item = S>, S: AsRef<str>>(items: I) -> Value {
        Value::List(Arc::new(List {
            elem: ElemType::Str,
            items: items.into_iter().map(|s| Value::str(s.as_ref())).collect(),
        }))
    }

    /// A `map[string]interface{}`.
    pub fn map(entries: BTreeMap<Arc<str>, Value>) -> Value {
        Value::Map(Arc::new(Map::new(ElemType::Any, entries)))
    }

    /// Whether it is a list or a map (what can nest).
    fn is_container(&self) -> bool {
        matches!(self, Value::List(_) | Value::Map(_))
    }

    /// Go's `%T` of the value (`<nil>` for the nil interface).
    pub fn type_name(&self) -> String {
        match self {
            Value::Nil => "<nil>".to_string(),
            Value::Bool(_) => "bool".to_string(),
            Value::Int(_) => "int".to_string(),
            Value::Int64(_) => "int64".to_string(),
            Value::Float(_) => "float64".to_string(),
            Value::Str(_) => "string".to_string(),
            Value::List(l) => format!("[]{}", l.elem.go_name()),
            Value::Map(m) => format!("map[string]{}", m.elem.go_name()),
            Value::Object(o) => o.type_name().to_string(),
        }
    }

    /// Go's `reflect.Kind` name of the value (`invalid` for nil).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Object(o) => o.kind_name(),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Go's template truthiness: false, 0, nil, and empty strings, slices and
    /// maps are false.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.items.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Object(_) => true,
        }
    }
}

impl From<serde_json::Value> for Value {
    /// JSON decodes the way Go's `encoding/json` decodes into `interface{}`:
    /// every number is a `float64`, objects are `map[string]interface{}`.
    fn from(json: serde_json::Value) -> Self {
        match json {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Value::string(s),
            serde_json::Value::Array(items) => {
                Value::list(items.into_iter().map(Value::from).collect())
            }
            serde_json::Value::Object(entries) => Value::map(
                entries
                    .into_iter()
                    .map(|(k, v)| (Arc::from(k), Value::from(v)))
                    .collect(),
            ),
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => write!(f, "Nil"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Int(i) => write!(f, "Int({i})"),
            Value::Int64(i) => write!(f, "Int64({i})"),
            Value::Float(x) => write!(f, "Float({x})"),
            Value::Str(s) => write!(f, "Str({s:?})"),
            Value::List(l) => write!(f, "{}{:?}", self.type_name(), l.items),
            Value::Map(m) => write!(f, "{}{:?}", self.type_name(), m.keys()),
            Value::Object(o) => write!(f, "{o:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_nested_a_million_levels_deep_are_freed_without_recursion() {
        std::thread::Builder::new()
            .stack_size(128 * 1024)
            .spawn(|| {
                let mut list = Value::list(Vec::new());
                let mut map = Value::map(BTreeMap::new());
                for _ in 0..1_000_000 {
                    list = Value::list(vec![Value::Int(1), list]);
                    map = Value::map(BTreeMap::from([(Arc::from("k"), map)]));
                }
                let shared = list.clone();
                drop(list);
                drop(map);
                assert!(matches!(&shared, Value::List(l) if l.items.len() == 2));
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
