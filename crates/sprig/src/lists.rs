//! sprig's list functions (`list`, `append`, `first`, `slice`, `uniq`,
//! `until`, `seq`, …) with reflect's type rules and panic texts.

use std::sync::Arc;

use gotemplate::{ElemType, FuncMap, Function, List, Param, Value};

use gotemplate::budget;

use crate::args::{self, check_list, list_value};
use crate::cast::to_int64;
use crate::defaults::{deep_equal, empty};

const NIL_DEREF: &str = "runtime error: invalid memory address or nil pointer dereference";

/// The items of a slice argument, or the error `what` names for other
/// kinds (nil panics as reflect does on a nil type).
fn items<'a>(v: &'a Value, what: &str) -> Result<&'a [Value], String> {
    match v {
        Value::List(l) => Ok(&l.items),
        Value::Nil => Err(NIL_DEREF.to_string()),
        other => Err(format!("{what} {}", other.kind_name())),
    }
}

fn any_list(items: Vec<Value>) -> Value {
    Value::list(items)
}

/// Registers the list functions.
pub(crate) fn register(m: &mut FuncMap) {
    use Param::{Any, Int};
    let make_list = || Function::new(&[], Some(Any), |a| Ok(any_list(a.to_vec())));
    m.insert("list", make_list());
    m.insert("tuple", make_list());
    let one = |m: &mut FuncMap, names: &[&'static str], f: fn(&Value) -> Result<Value, String>| {
        for name in names {
            m.insert(
                name,
                Function::new(&[Any], None, move |a| f(args::any(a, 0))),
            );
        }
    };
    let two = |m: &mut FuncMap,
               names: &[&'static str],
               f: fn(&Value, &Value) -> Result<Value, String>| {
        for name in names {
            m.insert(
                name,
                Function::new(&[Any, Any], None, move |a| {
                    f(args::any(a, 0), args::any(a, 1))
                }),
            );
        }
    };
    two(m, &["append", "push", "mustAppend", "mustPush"], |l, v| {
        let mut out = items(l, "Cannot push on type")?.to_vec();
        out.push(v.clone());
        Ok(any_list(out))
    });
    two(m, &["prepend", "mustPrepend"], |l, v| {
        let src = items(l, "Cannot prepend on type")?;
        let mut out = Vec::with_capacity(src.len() + 1);
        out.push(v.clone());
        out.extend_from_slice(src);
        Ok(any_list(out))
    });
    one(m, &["first", "mustFirst"], |l| {
        Ok(items(l, "Cannot find first on type")?
            .first()
            .cloned()
            .unwrap_or_default())
    });
    one(m, &["last", "mustLast"], |l| {
        Ok(items(l, "Cannot find last on type")?
            .last()
            .cloned()
            .unwrap_or_default())
    });
    one(m, &["rest", "mustRest"], |l| {
        let src = items(l, "Cannot find rest on type")?;
        Ok(any_list(src.get(1..).unwrap_or_default().to_vec()))
    });
    one(m, &["initial", "mustInitial"], |l| {
        let src = items(l, "Cannot find initial on type")?;
        let n = src.len().saturating_sub(1);
        Ok(any_list(src.get(..n).unwrap_or_default().to_vec()))
    });
    one(m, &["reverse", "mustReverse"], |l| {
        let mut out = items(l, "Cannot find reverse on type")?.to_vec();
        out.reverse();
        Ok(any_list(out))
    });
    one(m, &["compact", "mustCompact"], |l| {
        let src = items(l, "Cannot compact on type")?;
        Ok(any_list(
            src.iter().filter(|v| !empty(v)).cloned().collect(),
        ))
    });
    one(m, &["uniq", "mustUniq"], |l| {
        let src = items(l, "Cannot find uniq on type")?;
        let mut out: Vec<Value> = Vec::new();
        for v in src {
            // Quadratic: the clock must be read inside.
            budget::tick().map_err(|why| args::exhausted("uniq", why))?;
            if !out.iter().any(|o| deep_equal(v, o)) {
                out.push(v.clone());
            }
        }
        Ok(any_list(out))
    });
    for name in ["without", "mustWithout"] {
        m.insert(
            name,
            Function::new(&[Any], Some(Any), |a| {
                let src = items(args::any(a, 0), "Cannot find without on type")?;
                let omit = a.get(1..).unwrap_or_default();
                Ok(any_list(
                    src.iter()
                        .filter(|v| !omit.iter().any(|o| deep_equal(v, o)))
                        .cloned()
                        .collect(),
                ))
            }),
        );
    }
    two(m, &["has", "mustHas"], |needle, hay| {
        if matches!(hay, Value::Nil) {
            return Ok(Value::Bool(false));
        }
        let src = items(hay, "Cannot find has on type")?;
        Ok(Value::Bool(src.iter().any(|v| deep_equal(needle, v))))
    });
    for name in ["slice", "mustSlice"] {
        m.insert(name, Function::new(&[Any], Some(Any), slice));
    }
    m.insert(
        "concat",
        Function::new(&[], Some(Any), |a| {
            let mut out = Vec::new();
            for l in a {
                match l {
                    Value::List(l) => out.extend_from_slice(&l.items),
                    Value::Nil => return Err(NIL_DEREF.to_string()),
                    other => {
                        return Err(format!("Cannot concat type {} as list", other.kind_name()))
                    }
                }
            }
            Ok(any_list(out))
        }),
    );
    for name in ["chunk", "mustChunk"] {
        m.insert(
            name,
            Function::new(&[Int, Any], None, |a| {
                chunk(args::int(a, 0)?, args::any(a, 1))
            }),
        );
    }
    m.insert(
        "until",
        Function::new(&[Int], None, |a| {
            let n = args::int(a, 0)?;
            until_step(0, n, if n < 0 { -1 } else { 1 }).map(int_list)
        }),
    );
    m.insert(
        "untilStep",
        Function::new(&[Int, Int, Int], None, |a| {
            until_step(args::int(a, 0)?, args::int(a, 1)?, args::int(a, 2)?).map(int_list)
        }),
    );
    m.insert(
        "seq",
        Function::new(&[], Some(Int), |a| {
            let p: Vec<i64> = a.iter().map(to_int64).collect();
            seq(&p).map(Value::string)
        }),
    );
}

fn int_list(v: Vec<i64>) -> Value {
    list_value(ElemType::Int, v.into_iter().map(Value::Int).collect())
}

/// sprig's `untilStep`, bounded in size.
pub(crate) fn until_step(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, String> {
    let count: u128 = if stop < start {
        if step >= 0 {
            return Ok(Vec::new());
        }
        let span = (start as i128 - stop as i128) as u128;
        span.div_ceil((-(step as i128)) as u128)
    } else {
        if step <= 0 {
            return Ok(Vec::new());
        }
        let span = (stop as i128 - start as i128) as u128;
        span.div_ceil(step as u128)
    };
    check_list("untilStep", count)?;
    let mut out = Vec::with_capacity(count as usize);
    let mut i = start as i128;
    for _ in 0..count {
        out.push(i as i64);
        i += step as i128;
    }
    Ok(out)
}

/// sprig's `seq`, like the Unix command.
fn seq(p: &[i64]) -> Result<String, String> {
    let join = |v: Vec<i64>| v.iter().map(i64::to_string).collect::<Vec<_>>().join(" ");
    let (start, end, step) = match *p {
        [end] => {
            let inc = if end < 1 { -1 } else { 1 };
            (1, end.wrapping_add(inc), inc)
        }
        [start, end] => {
            let inc = if end < start { -1 } else { 1 };
            (start, end.wrapping_add(inc), inc)
        }
        [start, step, end] => {
            let inc = if end < start {
                if step > 0 {
                    return Ok(String::new());
                }
                -1
            } else {
                1
            };
            (start, end.wrapping_add(inc), step)
        }
        _ => return Ok(String::new()),
    };
    until_step(start, end, step).map(join)
}

fn slice(a: &[Value]) -> Result<Value, String> {
    let list = args::any(a, 0);
    let l = match list {
        Value::List(l) => l,
        Value::Nil => return Err(NIL_DEREF.to_string()),
        other => {
            return Err(format!(
                "list should be type of slice or array but {}",
                other.kind_name()
            ))
        }
    };
    let len = l.items.len() as i64;
    if len == 0 {
        return Ok(Value::Nil);
    }
    let start = a.get(1).map_or(0, to_int64);
    let end = a.get(2).map_or(len, to_int64);
    if start < 0 || end < start || end > len {
        return Err("reflect.Value.Slice: slice index out of bounds".to_string());
    }
    let items = l
        .items
        .get(start as usize..end as usize)
        .unwrap_or_default()
        .to_vec();
    Ok(Value::List(Arc::new(List {
        elem: l.elem,
        items,
    })))
}

fn chunk(size: i64, list: &Value) -> Result<Value, String> {
    let src = items(list, "Cannot chunk type")?;
    if size <= 0 {
        return Err("runtime error: makeslice: len out of range".to_string());
    }
    let n_chunks = src.len().div_ceil(size as usize) as u128;
    // Each chunk is a new list: `chunk 1` makes a list per element.
    args::check_size(
        "chunk",
        n_chunks * (budget::CONTAINER + budget::SLOT) as u128 + (src.len() * budget::SLOT) as u128,
    )?;
    let chunks = src
        .chunks(size as usize)
        .map(|c| Value::list(c.to_vec()))
        .collect();
    Ok(list_value(ElemType::ListAny, chunks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_step_counts_both_directions() {
        assert_eq!(until_step(0, 5, 2).unwrap(), vec![0, 2, 4]);
        assert_eq!(until_step(5, 0, -2).unwrap(), vec![5, 3, 1]);
        assert!(until_step(5, 0, 1).unwrap().is_empty());
        assert!(until_step(0, i64::MAX, 1).is_err());
    }

    #[test]
    fn seq_counts_like_unix_seq() {
        assert_eq!(seq(&[3]).unwrap(), "1 2 3");
        assert_eq!(seq(&[0]).unwrap(), "1 0");
        assert_eq!(seq(&[2, 5]).unwrap(), "2 3 4 5");
        assert_eq!(seq(&[5, 2]).unwrap(), "5 4 3 2");
        assert_eq!(seq(&[0, 2, 7]).unwrap(), "0 2 4 6");
        assert_eq!(seq(&[7, 2, 0]).unwrap(), "");
        assert_eq!(seq(&[7, -2, 0]).unwrap(), "7 5 3 1");
    }
}
