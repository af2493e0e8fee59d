//! sprig's dictionary functions (`dict`, `get`, `set`, `merge`, `dig`, …)
//! over `map[string]interface{}`, with mergo's merge rules.
//!
//! Go maps are references, and so are ours: `set`, `unset` and `merge*`
//! change their first argument in place (every holder of it sees the change)
//! and return it; `dict`, `pick`, `omit` and `deepCopy` make new maps.

use std::collections::BTreeMap;
use std::sync::Arc;

use gotemplate::budget::{self, Tally};
use gotemplate::{ElemType, FuncMap, Function, Map, Param, Value, MAX_NESTING};

use crate::args::{self, list_value, map_value};
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
            Ok(d.get(args::string(a, 1)?).unwrap_or_else(|| Value::str("")))
        }),
    );
    m.insert(
        "set",
        Function::new(&[MapAny, Str, Any], None, |a| {
            let d = args::map(a, 0)?;
            let value = args::any(a, 2);
            refuse_cycle("set", value, &d)?;
            let key = args::string(a, 1)?;
            if d.insert(Arc::from(key), value.clone()).is_none() {
                // A new entry in a map the caller already holds: the
                // executor only sees the same map come back.
                budget::charge(budget::ENTRY + budget::STRING + key.len())
                    .map_err(|why| args::exhausted("set", why))?;
            }
            Ok(Value::Map(d))
        }),
    );
    m.insert(
        "unset",
        Function::new(&[MapAny, Str], None, |a| {
            let d = args::map(a, 0)?;
            d.remove(args::string(a, 1)?);
            Ok(Value::Map(d))
        }),
    );
    m.insert(
        "hasKey",
        Function::new(&[MapAny, Str], None, |a| {
            Ok(Value::Bool(
                args::map(a, 0)?.contains_key(args::string(a, 1)?),
            ))
        }),
    );
    m.insert(
        "pluck",
        Function::new(&[Str], Some(MapAny), |a| {
            let key = args::string(a, 0)?;
            let mut out = Vec::new();
            for i in 1..a.len() {
                if let Some(v) = args::map(a, i)?.get(key) {
                    out.push(v);
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
                out.extend(args::map(a, i)?.keys().iter().map(|k| k.to_string()));
            }
            Ok(Value::str_list(out))
        }),
    );
    m.insert(
        "values",
        Function::new(&[MapAny], None, |a| {
            Ok(Value::list(
                args::map(a, 0)?
                    .snapshot()
                    .into_iter()
                    .map(|(_, v)| v)
                    .collect(),
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
                if let Some((key, v)) = d.get_key_value(k) {
                    out.insert(key, v);
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
                d.snapshot()
                    .into_iter()
                    .filter(|(k, _)| !omit.contains(&k.as_ref()))
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
                let dst = args::map(a, 0)?;
                for i in 1..a.len() {
                    let src = args::map(a, i)?;
                    for (_, value) in src.snapshot() {
                        refuse_cycle(name, &value, &dst)?;
                    }
                    merge_into(&dst, &src, overwrite, 0)?;
                }
                Ok(Value::Map(dst))
            }),
        );
    }
    for name in ["deepCopy", "mustDeepCopy"] {
        m.insert(
            name,
            Function::new(&[Any], None, |a| match args::any(a, 0) {
                // copystructure reflects on the nil interface and panics.
                Value::Nil => Err("reflect: call of reflect.Value.Type on zero Value".to_string()),
                v => deep_copy(v, 0, &mut Tally::new()),
            }),
        );
    }
    m.insert("dig", Function::new(&[], Some(Any), dig));
}

/// Refuses to store into `target` a value that reaches `target`. Go allows
/// such a map but can neither print nor encode it; here it would also be an
/// `Arc` cycle that is never freed, so every render doing it would leak.
fn refuse_cycle(function: &str, value: &Value, target: &Arc<Map>) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    if reaches(value, target, &mut seen) {
        return Err(format!(
            "{function}: a map cannot be stored inside itself (it would be a cycle); store a deepCopy instead"
        ));
    }
    Ok(())
}

/// Whether `target` is `value` or inside it; `seen` keeps shared sub-values
/// from being walked twice.
fn reaches(value: &Value, target: &Arc<Map>, seen: &mut std::collections::HashSet<usize>) -> bool {
    match value {
        Value::Map(m) => {
            if Arc::ptr_eq(m, target) {
                return true;
            }
            if !seen.insert(Arc::as_ptr(m) as usize) {
                return false;
            }
            m.snapshot().iter().any(|(_, v)| reaches(v, target, seen))
        }
        Value::List(l) => {
            if !seen.insert(Arc::as_ptr(l) as *const () as usize) {
                return false;
            }
            l.items.iter().any(|v| reaches(v, target, seen))
        }
        _ => false,
    }
}

/// mergo's map merge, in place: missing or empty destination entries take
/// the source's; a source map merges into a destination map (in place, as
/// mergo reaches the same Go map); with `overwrite`, scalars and slices from
/// the source replace the destination's, but a source map never replaces a
/// non-empty destination value.
fn merge_into(dst: &Map, src: &Map, overwrite: bool, depth: usize) -> Result<(), String> {
    if depth > MAX_NESTING {
        // mergo recurses without end through a map that holds itself.
        return Err(too_deep("merge"));
    }
    // A snapshot: `merge $d $d` changes the map it reads.
    for (k, sv) in src.snapshot() {
        budget::tick().map_err(|why| args::exhausted("merge", why))?;
        let dv = dst.get(&k);
        match &sv {
            Value::Nil => {
                if overwrite {
                    insert_counted(dst, k, Value::Nil)?;
                }
                continue;
            }
            Value::Map(sm) => {
                if let Some(Value::Map(dm)) = &dv {
                    if dm.elem == ElemType::Any {
                        merge_into(dm, sm, overwrite, depth + 1)?;
                    }
                }
            }
            Value::List(_) if overwrite => {
                insert_counted(dst, k, sv)?;
                continue;
            }
            _ => {}
        }
        // Read after the nested merge: an empty destination map it filled
        // counts as non-empty now, as in mergo.
        let dst_present_nonempty = dv.as_ref().is_some_and(|d| !empty(d));
        if dst_present_nonempty && matches!(sv, Value::Map(_) | Value::List(_)) {
            continue;
        }
        if overwrite || !dst_present_nonempty {
            insert_counted(dst, k, sv)?;
        }
    }
    Ok(())
}

/// Sets an entry of a map changed in place, charging a new one to the
/// render budget.
fn insert_counted(dst: &Map, key: Arc<str>, value: Value) -> Result<(), String> {
    if dst.insert(key, value).is_none() {
        budget::charge(budget::ENTRY).map_err(|why| args::exhausted("merge", why))?;
    }
    Ok(())
}

/// copystructure's copy: new maps (and slices) all the way down, so changing
/// the copy never shows in the original; other values are immutable and
/// shared.
/// Counted against the render budget as it goes: a list holding one big map
/// many times copies into many maps.
fn deep_copy(v: &Value, depth: usize, tally: &mut Tally) -> Result<Value, String> {
    if depth > MAX_NESTING {
        return Err(too_deep("deepCopy"));
    }
    let counted = |tally: &mut Tally, bytes: usize| {
        tally
            .add(bytes)
            .map_err(|why| args::exhausted("deepCopy", why))
    };
    Ok(match v {
        Value::Map(m) => {
            counted(tally, budget::CONTAINER + m.len() * budget::ENTRY)?;
            let mut out = BTreeMap::new();
            for (k, item) in m.snapshot() {
                out.insert(k, deep_copy(&item, depth + 1, tally)?);
            }
            map_value(m.elem, out)
        }
        Value::List(l) => {
            counted(tally, budget::CONTAINER + l.items.len() * budget::SLOT)?;
            let items = l
                .items
                .iter()
                .map(|item| deep_copy(item, depth + 1, tally))
                .collect::<Result<Vec<_>, _>>()?;
            list_value(l.elem, items)
        }
        other => other.clone(),
    })
}

/// Go would overflow its stack on a map that holds itself; we stop.
fn too_deep(func: &str) -> String {
    format!("{func}: value nested deeper than {MAX_NESTING} levels (a map that contains itself?)")
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
    let mut current = dict.clone();
    for (i, k) in keys.iter().enumerate() {
        let Value::Map(m) = &current else {
            return Err(conversion_panic(&current, "map[string]interface {}"));
        };
        if m.elem != ElemType::Any {
            return Err(conversion_panic(&current, "map[string]interface {}"));
        }
        match m.get(k) {
            None => return Ok(default.clone()),
            Some(v) if i + 1 == keys.len() => return Ok(v),
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

/// The functions here that change a map they are given in place.
const MAP_CHANGING: [&str; 6] = [
    "set",
    "unset",
    "merge",
    "mustMerge",
    "mergeOverwrite",
    "mustMergeOverwrite",
];

/// Whether a template may call a function that changes a map in place, so
/// maps shared between renders must be copied for it. Functions are named
/// only in a template's text, so a text where none of the names stands as
/// a word of its own cannot call them.
pub fn may_change_maps(template: &str) -> bool {
    template
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|word| MAP_CHANGING.contains(&word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_text_naming_a_map_changing_function_may_change_maps() {
        assert!(may_change_maps("{{ $_ := set .connector \"x\" 1 }}"));
        assert!(may_change_maps("{{ unset .connector \"spec\" }}"));
        assert!(may_change_maps("{{ mergeOverwrite .connector (dict) }}"));
        assert!(may_change_maps("{{ mustMerge .a .b }}"));
        assert!(may_change_maps("{{- $x := merge $a $b -}}"));
        assert!(!may_change_maps("{{ .connector.spec.address | b64enc }}"));
        assert!(
            !may_change_maps("<settings>{{ .offset }} reset</settings>"),
            "words that merely contain a name"
        );
    }

    fn m(pairs: &[(&str, Value)]) -> Map {
        Map::new(
            ElemType::Any,
            pairs
                .iter()
                .map(|(k, v)| (Arc::from(*k), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn merge_keeps_destination_values_unless_overwriting() {
        let dst = m(&[("a", Value::str("1")), ("b", Value::str(""))]);
        let src = m(&[
            ("a", Value::str("2")),
            ("b", Value::str("3")),
            ("c", Value::Int(4)),
        ]);
        merge_into(&dst, &src, false, 0).unwrap();
        assert_eq!(dst.get("a").unwrap().as_str(), Some("1"));
        assert_eq!(dst.get("b").unwrap().as_str(), Some("3"));
        assert!(dst.contains_key("c"));
        merge_into(&dst, &src, true, 0).unwrap();
        assert_eq!(dst.get("a").unwrap().as_str(), Some("2"));
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
