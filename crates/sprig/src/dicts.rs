//! sprig's dictionary functions (`dict`, `get`, `set`, `merge`, `dig`, …)
//! over `map[string]interface{}`, with mergo's merge rules.
//!
//! Values are immutable here: `set`, `unset` and `merge*` return the
//! changed map instead of changing the caller's map in place.

use std::collections::BTreeMap;
use std::sync::Arc;

use gotemplate::{ElemType, FuncMap, Function, Map, Param, Value};

use crate::args::{self, map_value};
use crate::cast::strval;
use crate::defaults::empty;

fn any_map(entries: BTreeMap<Arc<str>, Value>) -> Value {
    map_value(ElemType::Any, entries)
}

/// Registers the dictionary functions.
pub(crate) fn register(m: &mut FuncMap) {
    use Param::{Any, MapAny, Str};
    m.insert(
        "dict",
        Function::new(&[], Some(Any), |a| {
            let mut out = BTreeMap::new();
            for pair in a.chunks(2) {
                let key: Arc<str> = Arc::from(strval(args::any(pair, 0)));
                out.insert(key, pair.get(1).cloned().unwrap_or_else(|| Value::str("")));
            }
            Ok(any_map(out))
        }),
    );
    m.insert(
        "get",
        Function::new(&[MapAny, Str], None, |a| {
            let d = args::map(a, 0)?;
            Ok(d.entries
                .get(args::string(a, 1)?)
                .cloned()
                .unwrap_or_else(|| Value::str("")))
        }),
    );
    m.insert(
        "set",
        Function::new(&[MapAny, Str, Any], None, |a| {
            let mut d = (*args::map(a, 0)?).clone();
            d.entries
                .insert(Arc::from(args::string(a, 1)?), args::any(a, 2).clone());
            Ok(Value::Map(Arc::new(d)))
        }),
    );
    m.insert(
        "unset",
        Function::new(&[MapAny, Str], None, |a| {
            let mut d = (*args::map(a, 0)?).clone();
            d.entries.remove(args::string(a, 1)?);
            Ok(Value::Map(Arc::new(d)))
        }),
    );
    m.insert(
        "hasKey",
        Function::new(&[MapAny, Str], None, |a| {
            Ok(Value::Bool(
                args::map(a, 0)?.entries.contains_key(args::string(a, 1)?),
            ))
        }),
    );
    m.insert(
        "pluck",
        Function::new(&[Str], Some(MapAny), |a| {
            let key = args::string(a, 0)?;
            let mut out = Vec::new();
            for i in 1..a.len() {
                if let Some(v) = args::map(a, i)?.entries.get(key) {
                    out.push(v.clone());
                }
            }
            Ok(Value::list(out))
        }),
    );
    m.insert(
        "keys",
        Function::new(&[], Some(MapAny), |a| {
            let mut out: Vec<String> = Vec::new();
            for i in 0..a.len() {
                out.extend(args::map(a, i)?.entries.keys().map(|k| k.to_string()));
            }
            Ok(Value::str_list(out))
        }),
    );
    m.insert(
        "values",
        Function::new(&[MapAny], None, |a| {
            Ok(Value::list(
                args::map(a, 0)?.entries.values().cloned().collect(),
            ))
        }),
    );
    m.insert(
        "pick",
        Function::new(&[MapAny], Some(Str), |a| {
            let d = args::map(a, 0)?;
            let mut out = BTreeMap::new();
            for i in 1..a.len() {
                let k = args::string(a, i)?;
                if let Some((key, v)) = d.entries.get_key_value(k) {
                    out.insert(key.clone(), v.clone());
                }
            }
            Ok(any_map(out))
        }),
    );
    m.insert(
        "omit",
        Function::new(&[MapAny], Some(Str), |a| {
            let d = args::map(a, 0)?;
            let omit: Vec<&str> = (1..a.len())
                .filter_map(|i| args::string(a, i).ok())
                .collect();
            Ok(any_map(
                d.entries
                    .iter()
                    .filter(|(k, _)| !omit.contains(&k.as_ref()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ))
        }),
    );
    for (name, overwrite) in [
        ("merge", false),
        ("mustMerge", false),
        ("mergeOverwrite", true),
        ("mustMergeOverwrite", true),
    ] {
        m.insert(
            name,
            Function::new(&[MapAny], Some(MapAny), move |a| {
                let mut dst = (*args::map(a, 0)?).clone();
                for i in 1..a.len() {
                    let src = args::map(a, i)?;
                    merge_into(&mut dst, &src, overwrite);
                }
                Ok(Value::Map(Arc::new(dst)))
            }),
        );
    }
    for name in ["deepCopy", "mustDeepCopy"] {
        m.insert(
            name,
            Function::new(&[Any], None, |a| match args::any(a, 0) {
                // copystructure reflects on the nil interface and panics.
                Value::Nil => Err("reflect: call of reflect.Value.Type on zero Value".to_string()),
                v => Ok(v.clone()),
            }),
        );
    }
    m.insert("dig", Function::new(&[], Some(Any), dig));
}

/// mergo's map merge: missing or empty destination entries take the
/// source's; nested maps merge recursively; with `overwrite`, scalars from
/// the source replace non-empty ones (a source map or slice never replaces
/// a non-empty destination value).
fn merge_into(dst: &mut Map, src: &Map, overwrite: bool) {
    for (k, sv) in &src.entries {
        let dv = dst.entries.get(k).cloned();
        if matches!(sv, Value::Nil) {
            if overwrite {
                dst.entries.insert(k.clone(), Value::Nil);
            }
            continue;
        }
        if let (Value::Map(sm), Some(Value::Map(dm))) = (sv, &dv) {
            if dm.elem == ElemType::Any && !dm.entries.is_empty() {
                let mut merged = (**dm).clone();
                merge_into(&mut merged, sm, overwrite);
                dst.entries.insert(k.clone(), Value::Map(Arc::new(merged)));
                continue;
            }
        }
        let dst_present_nonempty = dv.as_ref().is_some_and(|d| !empty(d));
        if dst_present_nonempty && matches!(sv, Value::Map(_) | Value::List(_)) {
            continue;
        }
        if overwrite || !dst_present_nonempty {
            dst.entries.insert(k.clone(), sv.clone());
        }
    }
}

/// sprig's `dig KEY... DEFAULT DICT`.
fn dig(a: &[Value]) -> Result<Value, String> {
    if a.len() < 3 {
        return Err("dig needs at least three arguments".to_string());
    }
    let n = a.len();
    let dict = args::any(a, n - 1);
    let default = args::any(a, n - 2);
    let mut keys = Vec::with_capacity(n - 2);
    for k in a.get(..n - 2).unwrap_or_default() {
        match k {
            Value::Str(s) => keys.push(s.clone()),
            other => return Err(conversion_panic(other, "string")),
        }
    }
    let mut current = dict;
    for (i, k) in keys.iter().enumerate() {
        let Value::Map(m) = current else {
            return Err(conversion_panic(current, "map[string]interface {}"));
        };
        if m.elem != ElemType::Any {
            return Err(conversion_panic(current, "map[string]interface {}"));
        }
        match m.entries.get(k) {
            None => return Ok(default.clone()),
            Some(v) if i + 1 == keys.len() => return Ok(v.clone()),
            Some(v) => current = v,
        }
    }
    Ok(default.clone())
}

/// The panic of a failed Go type assertion `x.(T)`.
fn conversion_panic(v: &Value, want: &str) -> String {
    match v {
        Value::Nil => format!("interface conversion: interface {{}} is nil, not {want}"),
        other => format!(
            "interface conversion: interface {{}} is {}, not {want}",
            other.type_name()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pairs: &[(&str, Value)]) -> Map {
        Map {
            elem: ElemType::Any,
            entries: pairs
                .iter()
                .map(|(k, v)| (Arc::from(*k), v.clone()))
                .collect(),
        }
    }

    #[test]
    fn merge_keeps_destination_values_unless_overwriting() {
        let mut dst = m(&[("a", Value::str("1")), ("b", Value::str(""))]);
        let src = m(&[
            ("a", Value::str("2")),
            ("b", Value::str("3")),
            ("c", Value::Int(4)),
        ]);
        merge_into(&mut dst, &src, false);
        assert_eq!(dst.entries.get("a").and_then(|v| v.as_str()), Some("1"));
        assert_eq!(dst.entries.get("b").and_then(|v| v.as_str()), Some("3"));
        assert!(dst.entries.contains_key("c"));
        merge_into(&mut dst, &src, true);
        assert_eq!(dst.entries.get("a").and_then(|v| v.as_str()), Some("2"));
    }

    #[test]
    fn dig_walks_nested_maps_and_falls_back_to_the_default() {
        let inner = Value::Map(Arc::new(m(&[("b", Value::Int(1))])));
        let outer = Value::Map(Arc::new(m(&[("a", inner)])));
        let got = dig(&[
            Value::str("a"),
            Value::str("b"),
            Value::str("d"),
            outer.clone(),
        ])
        .unwrap();
        assert!(matches!(got, Value::Int(1)));
        let got = dig(&[Value::str("x"), Value::str("d"), outer]).unwrap();
        assert_eq!(got.as_str(), Some("d"));
        assert!(dig(&[Value::str("a"), Value::Nil]).is_err());
    }
}
