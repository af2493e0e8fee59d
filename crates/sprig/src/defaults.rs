//! sprig's defaults, flow control and reflection functions: `default`,
//! `empty`, `coalesce`, `all`, `any`, `ternary`, `fail`, `typeOf`,
//! `kindOf`, `typeIs`, `kindIs`, `typeIsLike`, `deepEqual`.

use gotemplate::{FuncMap, Function, Param, Value, MAX_NESTING};

use crate::args;

/// sprig's `empty`: Go's zero values and empty containers; structs (and
/// the objects standing for them) are never empty.
pub(crate) fn empty(v: &Value) -> bool {
    match v {
        Value::Nil => true,
        Value::Bool(b) => !b,
        Value::Int(i) | Value::Int64(i) => *i == 0,
        Value::Float(f) => *f == 0.0,
        Value::Str(s) => s.is_empty(),
        Value::List(l) => l.items.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::Object(_) => false,
    }
}

/// `reflect.DeepEqual`: same Go types and equal contents (NaN is never
/// equal to itself).
pub(crate) fn deep_equal(a: &Value, b: &Value) -> bool {
    deep_equal_at(a, b, 0)
}

fn deep_equal_at(a: &Value, b: &Value, depth: usize) -> bool {
    if gotemplate::budget::tick().is_err() {
        // Out of budget: the executor reports that; the answer is moot.
        return false;
    }
    if depth > MAX_NESTING {
        // Only maps that hold themselves get here; Go's DeepEqual takes a
        // pair it is already comparing as equal, and so do we.
        return true;
    }
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) | (Value::Int64(x), Value::Int64(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.elem == y.elem
                && x.items.len() == y.items.len()
                && x.items
                    .iter()
                    .zip(&y.items)
                    .all(|(p, q)| deep_equal_at(p, q, depth + 1))
        }
        // The same Go map is equal to itself without a look inside, as in
        // Go (which also keeps `set $d "self" $d` from recursing).
        (Value::Map(x), Value::Map(y)) if x.same(y) => true,
        (Value::Map(x), Value::Map(y)) => {
            let (xs, ys) = (x.snapshot(), y.snapshot());
            x.elem == y.elem
                && xs.len() == ys.len()
                && xs
                    .iter()
                    .zip(&ys)
                    .all(|((k, v), (l, w))| k == l && deep_equal_at(v, w, depth + 1))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.type_name() == y.type_name() && x.go_string() == y.go_string()
        }
        _ => false,
    }
}

/// Registers the defaults, flow-control and reflection functions.
pub(crate) fn register(m: &mut FuncMap) {
    use Param::{Any, Bool, Str};
    m.insert(
        "default",
        Function::new(&[Any], Some(Any), |a| {
            let d = args::any(a, 0);
            match a.get(1) {
                Some(given) if !empty(given) => Ok(given.clone()),
                _ => Ok(d.clone()),
            }
        }),
    );
    m.insert(
        "empty",
        Function::new(&[Any], None, |a| Ok(Value::Bool(empty(args::any(a, 0))))),
    );
    m.insert(
        "coalesce",
        Function::new(&[], Some(Any), |a| {
            Ok(a.iter().find(|v| !empty(v)).cloned().unwrap_or_default())
        }),
    );
    m.insert(
        "all",
        Function::new(&[], Some(Any), |a| {
            Ok(Value::Bool(a.iter().all(|v| !empty(v))))
        }),
    );
    m.insert(
        "any",
        Function::new(&[], Some(Any), |a| {
            Ok(Value::Bool(a.iter().any(|v| !empty(v))))
        }),
    );
    m.insert(
        "ternary",
        Function::new(&[Any, Any, Bool], None, |a| {
            let pick = if args::boolean(a, 2)? { 0 } else { 1 };
            Ok(args::any(a, pick).clone())
        }),
    );
    m.insert(
        "fail",
        Function::new(&[Str], None, |a| Err(args::string(a, 0)?.to_string())),
    );
    m.insert(
        "typeOf",
        Function::new(&[Any], None, |a| {
            Ok(Value::string(args::any(a, 0).type_name()))
        }),
    );
    m.insert(
        "kindOf",
        Function::new(&[Any], None, |a| {
            Ok(Value::str(args::any(a, 0).kind_name()))
        }),
    );
    m.insert(
        "typeIs",
        Function::new(&[Str, Any], None, |a| {
            Ok(Value::Bool(
                args::string(a, 0)? == args::any(a, 1).type_name(),
            ))
        }),
    );
    m.insert(
        "typeIsLike",
        Function::new(&[Str, Any], None, |a| {
            let target = args::string(a, 0)?;
            let t = args::any(a, 1).type_name();
            Ok(Value::Bool(
                t == target || t.strip_prefix('*') == Some(target),
            ))
        }),
    );
    m.insert(
        "kindIs",
        Function::new(&[Str, Any], None, |a| {
            Ok(Value::Bool(
                args::string(a, 0)? == args::any(a, 1).kind_name(),
            ))
        }),
    );
    m.insert(
        "deepEqual",
        Function::new(&[Any, Any], None, |a| {
            Ok(Value::Bool(deep_equal(args::any(a, 0), args::any(a, 1))))
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_treats_zero_values_as_empty() {
        assert!(empty(&Value::Nil));
        assert!(empty(&Value::Int64(0)));
        assert!(empty(&Value::str("")));
        assert!(empty(&Value::list(vec![])));
        assert!(!empty(&Value::Float(0.1)));
    }

    #[test]
    fn deep_equal_requires_identical_types() {
        assert!(!deep_equal(&Value::Int(1), &Value::Int64(1)));
        assert!(deep_equal(
            &Value::list(vec![Value::Int(1)]),
            &Value::list(vec![Value::Int(1)])
        ));
        assert!(!deep_equal(
            &Value::Float(f64::NAN),
            &Value::Float(f64::NAN)
        ));
        assert!(!deep_equal(
            &Value::str_list(["a"]),
            &Value::list(vec![Value::str("a")])
        ));
    }
}
