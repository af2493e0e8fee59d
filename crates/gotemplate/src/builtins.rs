//! Go's builtin template functions (`and`, `or`, `not`, `len`, `index`,
//! `slice`, `print*`, `html`, `js`, `urlquery`, `call`, comparisons), with
//! their signatures, short-circuits and error messages.

use crate::ast::{Arg, At};
use crate::budget;
use crate::ev::Ev;
use crate::exec::{Exec, R};
use crate::func::Param;
use crate::value::{ElemType, List, Value};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Builtin {
    And,
    Or,
    Not,
    Len,
    Index,
    Slice,
    Print,
    Printf,
    Println,
    Html,
    Js,
    Urlquery,
    Call,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// How a builtin's parameter is filled: a `reflect.Value` (as evaluated),
/// an `interface{}` or a `string`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Reflect,
    Any,
    Str,
}

impl Builtin {
    pub(crate) fn by_name(name: &str) -> Option<Builtin> {
        Some(match name {
            "and" => Builtin::And,
            "or" => Builtin::Or,
            "not" => Builtin::Not,
            "len" => Builtin::Len,
            "index" => Builtin::Index,
            "slice" => Builtin::Slice,
            "print" => Builtin::Print,
            "printf" => Builtin::Printf,
            "println" => Builtin::Println,
            "html" => Builtin::Html,
            "js" => Builtin::Js,
            "urlquery" => Builtin::Urlquery,
            "call" => Builtin::Call,
            "eq" => Builtin::Eq,
            "ne" => Builtin::Ne,
            "lt" => Builtin::Lt,
            "le" => Builtin::Le,
            "gt" => Builtin::Gt,
            "ge" => Builtin::Ge,
            _ => return None,
        })
    }

    /// Fixed parameters, and the variadic element if any.
    fn signature(self) -> (&'static [Kind], Option<Kind>) {
        use Builtin::*;
        match self {
            And | Or | Index | Slice | Call | Eq => (&[Kind::Reflect], Some(Kind::Reflect)),
            Not | Len => (&[Kind::Reflect], None),
            Ne | Lt | Le | Gt | Ge => (&[Kind::Reflect, Kind::Reflect], None),
            Print | Println | Html | Js | Urlquery => (&[], Some(Kind::Any)),
            Printf => (&[Kind::Str], Some(Kind::Any)),
        }
    }
}

/// Calls builtin `b` as Go's `evalCall` would.
pub(crate) fn call<'t>(
    s: &mut Exec<'t, '_>,
    dot: &Ev,
    b: Builtin,
    name: &str,
    at: At<'t>,
    args: &'t [Arg],
    fin: Option<Ev>,
) -> R<Ev> {
    let (fixed, variadic) = b.signature();
    s.check_arity(
        name,
        fixed.len(),
        variadic.is_some(),
        args.len(),
        fin.is_some(),
    )?;
    if matches!(b, Builtin::And | Builtin::Or) {
        let want = b == Builtin::Or;
        let mut v = Ev::Missing;
        for a in args {
            v = s.eval_arg_reflect(dot, a)?;
            if v.truth() == want {
                return Ok(v);
            }
        }
        if let Some(f) = fin {
            v = f;
        }
        return Ok(v);
    }
    let kind_at = |i: usize| fixed.get(i).copied().or(variadic).unwrap_or(Kind::Any);
    let mut argv: Vec<Ev> = Vec::with_capacity(args.len() + 1);
    for (i, a) in args.iter().enumerate() {
        let v = match kind_at(i) {
            Kind::Reflect => s.eval_arg_reflect(dot, a)?,
            Kind::Any => Ev::Plain(s.eval_arg_typed(dot, Param::Any, a)?),
            Kind::Str => Ev::Plain(s.eval_arg_typed(dot, Param::Str, a)?),
        };
        argv.push(v);
    }
    if let Some(f) = fin {
        let v = match kind_at(argv.len()) {
            Kind::Reflect => f,
            Kind::Any => Ev::Plain(s.validate_type(f, Param::Any)?),
            Kind::Str => Ev::Plain(s.validate_type(f, Param::Str)?),
        };
        argv.push(v);
    }
    let result = apply(b, &argv);
    s.finish_call(name, at, result)
}

fn apply(b: Builtin, argv: &[Ev]) -> Result<Ev, String> {
    let first = argv.first().cloned().unwrap_or(Ev::Missing);
    let rest = argv.get(1..).unwrap_or(&[]);
    let plain = |v: Value| Ok(Ev::Plain(v));
    match b {
        Builtin::And | Builtin::Or => Ok(first),
        Builtin::Not => plain(Value::Bool(!first.truth())),
        Builtin::Len => length(&first).map(|n| Ev::Plain(Value::Int(n))),
        Builtin::Index => index(&first, rest),
        Builtin::Slice => slice(&first, rest),
        Builtin::Print => plain(Value::string(crate::fmt::sprint(&values(argv)))),
        Builtin::Println => plain(Value::string(crate::fmt::sprintln(&values(argv)))),
        Builtin::Printf => {
            let format = first.value().as_str().unwrap_or("").to_string();
            plain(Value::string(crate::fmt::sprintf(&format, &values(rest))))
        }
        Builtin::Html => plain(Value::string(html_escape(&eval_args(argv)))),
        Builtin::Js => plain(Value::string(js_escape(&eval_args(argv)))),
        Builtin::Urlquery => plain(Value::string(query_escape(&eval_args(argv)))),
        Builtin::Call => match first.indirect() {
            None => Err("call of nil".to_string()),
            Some(v) => Err(format!("non-function of type {}", v.type_name())),
        },
        Builtin::Eq => eq(&first, rest).map(|t| Ev::Plain(Value::Bool(t))),
        Builtin::Ne => eq(&first, rest).map(|t| Ev::Plain(Value::Bool(!t))),
        Builtin::Lt => lt(&first, second(rest)).map(|t| Ev::Plain(Value::Bool(t))),
        Builtin::Le => le(&first, second(rest)).map(|t| Ev::Plain(Value::Bool(t))),
        Builtin::Gt => le(&first, second(rest)).map(|t| Ev::Plain(Value::Bool(!t))),
        Builtin::Ge => lt(&first, second(rest)).map(|t| Ev::Plain(Value::Bool(!t))),
    }
}

fn second(rest: &[Ev]) -> &Ev {
    static MISSING: Ev = Ev::Missing;
    rest.first().unwrap_or(&MISSING)
}

fn values(argv: &[Ev]) -> Vec<Value> {
    argv.iter().map(|e| e.value().clone()).collect()
}

/// Go's `evalArgs` for the escapers: a lone string as is, else `Sprint`
/// with nil printed as `<no value>`.
fn eval_args(argv: &[Ev]) -> String {
    if let [one] = argv {
        if let Value::Str(s) = one.value() {
            return s.to_string();
        }
    }
    let vals: Vec<Value> = argv
        .iter()
        .map(|e| match e.value() {
            Value::Nil => Value::str("<no value>"),
            v => v.clone(),
        })
        .collect();
    crate::fmt::sprint(&vals)
}

fn length(item: &Ev) -> Result<i64, String> {
    match item {
        Ev::Missing => Err("reflect: call of reflect.Value.Type on zero Value".to_string()),
        Ev::Iface(Value::Nil) => Err("len of nil pointer".to_string()),
        _ => match item.value() {
            Value::Str(s) => Ok(s.len() as i64),
            Value::List(l) => Ok(l.items.len() as i64),
            Value::Map(m) => Ok(m.len() as i64),
            v => Err(format!("len of type {}", v.type_name())),
        },
    }
}

fn index_arg(index: Option<&Value>, cap: usize) -> Result<usize, String> {
    let x = match index {
        Some(Value::Int(i) | Value::Int64(i)) => *i,
        None => return Err("cannot index slice/array with nil".to_string()),
        Some(v) => {
            return Err(format!(
                "cannot index slice/array with type {}",
                v.type_name()
            ))
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn zero_of(elem: ElemType) -> Ev {
    match elem {
        ElemType::Any => Ev::Iface(Value::Nil),
        ElemType::Str => Ev::Plain(Value::str("")),
        ElemType::Int => Ev::Plain(Value::Int(0)),
        ElemType::ListAny => Ev::Plain(Value::list(Vec::new())),
    }
}

fn index(item: &Ev, indexes: &[Ev]) -> Result<Ev, String> {
    let Some(first) = item.indirect() else {
        return Err("index of untyped nil".to_string());
    };
    let mut cur = Ev::Plain(first.clone());
    for idx in indexes {
        let key = idx.indirect();
        let Some(v) = cur.indirect() else {
            return Err("index of nil pointer".to_string());
        };
        let next = match v {
            Value::List(l) => {
                let x = index_arg(key, l.items.len())?;
                match l.items.get(x) {
                    Some(e) => Ev::from_elem(e.clone(), l.elem),
                    None => return Err("reflect: slice index out of range".to_string()),
                }
            }
            Value::Str(s) => {
                let x = index_arg(key, s.len())?;
                match s.as_bytes().get(x) {
                    Some(b) => Ev::Plain(Value::Int(i64::from(*b))),
                    None => return Err("reflect: string index out of range".to_string()),
                }
            }
            Value::Map(m) => {
                let k = match key {
                    None => return Err("value is nil; should be of type string".to_string()),
                    Some(Value::Str(k)) => k,
                    Some(other) => {
                        return Err(format!(
                            "value has type {}; should be string",
                            other.type_name()
                        ))
                    }
                };
                match m.get(k) {
                    Some(e) => Ev::from_elem(e, m.elem),
                    None => zero_of(m.elem),
                }
            }
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
        cur = next;
    }
    Ok(cur)
}

fn slice(item: &Ev, indexes: &[Ev]) -> Result<Ev, String> {
    let Some(v) = item.indirect() else {
        return Err("slice of untyped nil".to_string());
    };
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let cap = match v {
        Value::Str(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".to_string());
            }
            s.len()
        }
        Value::List(l) => l.items.len(),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let mut idx = [0usize, cap, cap];
    for (i, index) in indexes.iter().enumerate() {
        idx[i] = index_arg(index.indirect(), cap)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(Ev::Plain(match v {
        Value::Str(s) => Value::string(
            String::from_utf8_lossy(s.as_bytes().get(idx[0]..idx[1]).unwrap_or(&[])).into_owned(),
        ),
        Value::List(l) => Value::List(Arc::new(List {
            elem: l.elem,
            items: l.items.get(idx[0]..idx[1]).unwrap_or(&[]).to_vec(),
        })),
        _ => Value::Nil,
    }))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BasicKind {
    Invalid,
    Bool,
    Int,
    Float,
    Str,
}

fn basic_kind(v: Option<&Value>) -> BasicKind {
    match v {
        Some(Value::Bool(_)) => BasicKind::Bool,
        Some(Value::Int(_) | Value::Int64(_)) => BasicKind::Int,
        Some(Value::Float(_)) => BasicKind::Float,
        Some(Value::Str(_)) => BasicKind::Str,
        _ => BasicKind::Invalid,
    }
}

const BAD_TYPE: &str = "invalid type for comparison";
const INCOMPATIBLE: &str = "incompatible types for comparison";

fn reflect_kind(v: Option<&Value>) -> &'static str {
    v.map_or("invalid", Value::kind_name)
}

fn eq(arg1: &Ev, rest: &[Ev]) -> Result<bool, String> {
    let a1 = arg1.indirect();
    if rest.is_empty() {
        return Err("missing argument for comparison".to_string());
    }
    let k1 = basic_kind(a1);
    for arg in rest {
        let a = arg.indirect();
        let k2 = basic_kind(a);
        let truth = if k1 != k2 {
            if a1.is_some() && a.is_some() {
                return Err(INCOMPATIBLE.to_string());
            }
            false
        } else {
            match (a1, a) {
                (Some(Value::Bool(x)), Some(Value::Bool(y))) => x == y,
                (Some(Value::Int(x) | Value::Int64(x)), Some(Value::Int(y) | Value::Int64(y))) => {
                    x == y
                }
                (Some(Value::Float(x)), Some(Value::Float(y))) => x == y,
                (Some(Value::Str(x)), Some(Value::Str(y))) => x == y,
                _ => compare_others(a1, a)?,
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `eq` on values that are not basic: nil-ness, or Go's refusal.
fn compare_others(a1: Option<&Value>, a: Option<&Value>) -> Result<bool, String> {
    let (r1, r2) = (reflect_kind(a1), reflect_kind(a));
    if r1 != r2 && r1 != "invalid" && r2 != "invalid" {
        let show = |v: Option<&Value>| v.cloned().unwrap_or(Value::Nil);
        let type_of =
            |v: Option<&Value>| Value::string(v.map_or("<nil>".to_string(), Value::type_name));
        return Err(crate::fmt::sprintf(
            "non-comparable types %s: %v, %s: %v",
            &[show(a1), type_of(a1), type_of(a), show(a)],
        ));
    }
    match (a1, a) {
        (None, None) => Ok(true),
        (None, Some(_)) | (Some(_), None) => Ok(false),
        (Some(_), Some(b)) => match b {
            Value::List(_) | Value::Map(_) => Err(crate::fmt::sprintf(
                "non-comparable type %s: %v",
                &[b.clone(), Value::string(b.type_name())],
            )),
            Value::Object(ob) => match a1 {
                Some(Value::Object(oa)) => {
                    Ok(oa.type_name() == ob.type_name() && oa.go_string() == ob.go_string())
                }
                _ => Ok(false),
            },
            _ => Ok(false),
        },
    }
}

fn lt(arg1: &Ev, arg2: &Ev) -> Result<bool, String> {
    let a1 = arg1.indirect();
    let k1 = basic_kind(a1);
    if k1 == BasicKind::Invalid {
        return Err(BAD_TYPE.to_string());
    }
    let a2 = arg2.indirect();
    let k2 = basic_kind(a2);
    if k2 == BasicKind::Invalid {
        return Err(BAD_TYPE.to_string());
    }
    if k1 != k2 {
        return Err(INCOMPATIBLE.to_string());
    }
    Ok(match (a1, a2) {
        (Some(Value::Int(x) | Value::Int64(x)), Some(Value::Int(y) | Value::Int64(y))) => x < y,
        (Some(Value::Float(x)), Some(Value::Float(y))) => x < y,
        (Some(Value::Str(x)), Some(Value::Str(y))) => x < y,
        _ => return Err(BAD_TYPE.to_string()),
    })
}

fn le(arg1: &Ev, arg2: &Ev) -> Result<bool, String> {
    if lt(arg1, arg2)? {
        return Ok(true);
    }
    eq(arg1, std::slice::from_ref(arg2))
}

/// `template.HTMLEscapeString`.
pub(crate) fn html_escape(s: &str) -> String {
    escape_chars(s, |c, out| match c {
        '\0' => out.push('\u{FFFD}'),
        '"' => out.push_str("&#34;"),
        '\'' => out.push_str("&#39;"),
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        _ => out.push(c),
    })
}

/// `template.JSEscapeString`.
pub(crate) fn js_escape(s: &str) -> String {
    escape_chars(s, |c, out| match c {
        '\\' => out.push_str("\\\\"),
        '\'' => out.push_str("\\'"),
        '"' => out.push_str("\\\""),
        '<' => out.push_str("\\u003C"),
        '>' => out.push_str("\\u003E"),
        '&' => out.push_str("\\u0026"),
        '=' => out.push_str("\\u003D"),
        c if (c as u32) < 0x20 => out.push_str(&format!("\\u00{:02X}", c as u32)),
        c if c.is_ascii() => out.push(c),
        c if crate::go::strconv::is_print(c) => out.push(c),
        c => out.push_str(&format!("\\u{:04X}", c as u32)),
    })
}

/// Escapes `s` char by char, stopping (and telling the budget) once the
/// output cannot fit in what the render may still build.
fn escape_chars(s: &str, mut escape: impl FnMut(char, &mut String)) -> String {
    let room = budget::room();
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if out.len() > room {
            budget::overrun(out.len());
            break;
        }
        escape(c, &mut out);
    }
    out
}

/// `url.QueryEscape`.
pub(crate) fn query_escape(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let room = budget::room();
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if out.len() > room {
            budget::overrun(out.len());
            break;
        }
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: Value) -> Ev {
        Ev::Plain(v)
    }

    #[test]
    fn escapers_match_go() {
        assert_eq!(
            html_escape("<a href='x'>&\"\0"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&#34;\u{FFFD}"
        );
        assert_eq!(
            js_escape("a'b\"<>&=\\\n\u{e9}"),
            "a\\'b\\\"\\u003C\\u003E\\u0026\\u003D\\\\\\u000A\u{e9}"
        );
        assert_eq!(query_escape("a b&c=d/é~"), "a+b%26c%3Dd%2F%C3%A9~");
    }

    #[test]
    fn eq_compares_basic_kinds_and_refuses_mixed_numbers() {
        assert_eq!(eq(&p(Value::Int(1)), &[p(Value::Int64(1))]), Ok(true));
        assert_eq!(
            eq(&p(Value::Int(1)), &[p(Value::Float(1.0))]),
            Err(INCOMPATIBLE.to_string())
        );
        assert_eq!(eq(&Ev::Missing, &[p(Value::str("x"))]), Ok(false));
        assert_eq!(eq(&Ev::Missing, &[Ev::Iface(Value::Nil)]), Ok(true));
    }

    #[test]
    fn lt_refuses_bools_and_missing_values() {
        assert_eq!(lt(&p(Value::str("a")), &p(Value::str("b"))), Ok(true));
        assert_eq!(
            lt(&p(Value::Bool(true)), &p(Value::Bool(false))),
            Err(BAD_TYPE.to_string())
        );
        assert_eq!(
            lt(&Ev::Missing, &p(Value::Int(1))),
            Err(BAD_TYPE.to_string())
        );
    }

    #[test]
    fn index_walks_lists_maps_and_strings() {
        let data = p(Value::from(serde_json::json!({"a": [10, {"b": "c"}]})));
        let got = index(
            &data,
            &[p(Value::str("a")), p(Value::Int(1)), p(Value::str("b"))],
        )
        .unwrap();
        assert_eq!(got.value().as_str(), Some("c"));
        let missing = index(&data, &[p(Value::str("zz"))]).unwrap();
        assert!(matches!(missing, Ev::Iface(Value::Nil)));
        assert_eq!(
            index(&data, &[p(Value::str("a")), p(Value::Int(5))]).unwrap_err(),
            "index out of range: 5"
        );
    }

    #[test]
    fn slice_cuts_strings_and_lists_within_bounds() {
        let s = slice(
            &p(Value::str("hello")),
            &[p(Value::Int(1)), p(Value::Int(3))],
        )
        .unwrap();
        assert_eq!(s.value().as_str(), Some("el"));
        assert_eq!(
            slice(
                &p(Value::str("hello")),
                &[p(Value::Int(3)), p(Value::Int(1))]
            )
            .unwrap_err(),
            "invalid slice index: 3 > 1"
        );
    }
}
