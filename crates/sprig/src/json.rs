//! sprig's JSON functions: `toJson`, `toPrettyJson`, `toRawJson` (Go's
//! `encoding/json` output: sorted keys, HTML escaping except in the raw
//! form, Go's float formatting) and `fromJson` (numbers become float64,
//! with Go's syntax error messages).

use gotemplate::budget;
use gotemplate::{FuncMap, Function, Param, Value, MAX_NESTING};

use crate::args;

mod decode;

use decode::{decode, DecodeError};

/// Registers the JSON functions.
pub(crate) fn register(m: &mut FuncMap) {
    use Param::{Any, Str};
    m.insert(
        "toJson",
        Function::new(&[Any], None, |a| {
            Ok(Value::string(
                encode(args::any(a, 0), true, false).unwrap_or_default(),
            ))
        }),
    );
    m.insert(
        "mustToJson",
        Function::new(&[Any], None, |a| {
            encode(args::any(a, 0), true, false).map(Value::string)
        }),
    );
    m.insert(
        "toPrettyJson",
        Function::new(&[Any], None, |a| {
            Ok(Value::string(
                encode(args::any(a, 0), true, true).unwrap_or_default(),
            ))
        }),
    );
    m.insert(
        "mustToPrettyJson",
        Function::new(&[Any], None, |a| {
            encode(args::any(a, 0), true, true).map(Value::string)
        }),
    );
    for name in ["toRawJson", "mustToRawJson"] {
        m.insert(
            name,
            Function::new(&[Any], None, |a| {
                encode(args::any(a, 0), false, false).map(Value::string)
            }),
        );
    }
    m.insert(
        "fromJson",
        Function::new(&[Str], None, |a| {
            Ok(match decode(args::string(a, 0)?) {
                Ok(v) | Err(DecodeError::Type(v, _)) => v,
                Err(DecodeError::Syntax(_)) => Value::Nil,
            })
        }),
    );
    m.insert(
        "mustFromJson",
        Function::new(&[Str], None, |a| match decode(args::string(a, 0)?) {
            Ok(v) => Ok(v),
            Err(DecodeError::Type(_, msg) | DecodeError::Syntax(msg)) => Err(msg),
        }),
    );
}

/// `json.Marshal` (`pretty`: `MarshalIndent(v, "", "  ")`; `escape_html`
/// false: an encoder with `SetEscapeHTML(false)`).
pub(crate) fn encode(v: &Value, escape_html: bool, pretty: bool) -> Result<String, String> {
    let mut out = String::new();
    let enc = Enc {
        html: escape_html,
        limit: budget::write_limit(&out),
    };
    write_value(&mut out, v, enc, if pretty { Some(0) } else { None }, 0)?;
    Ok(out)
}

/// How one encoding writes: HTML escaping, and the length where the render
/// budget stops it (a list holding one big map many times encodes far
/// larger than it is).
#[derive(Clone, Copy)]
struct Enc {
    html: bool,
    limit: usize,
}

fn newline(out: &mut String, depth: Option<usize>) {
    if let Some(d) = depth {
        out.push('\n');
        for _ in 0..d {
            out.push_str("  ");
        }
    }
}

fn write_value(
    out: &mut String,
    v: &Value,
    enc: Enc,
    depth: Option<usize>,
    nest: usize,
) -> Result<(), String> {
    if out.len() > enc.limit {
        return Err(args::exhausted("json", budget::overrun(out.len())));
    }
    let html = enc.html;
    if nest > MAX_NESTING && matches!(v, Value::List(_) | Value::Map(_)) {
        // Go's encoder reports a map that holds itself this way (its check
        // starts 1000 levels down; ours stops a bit sooner).
        return Err(format!(
            "json: unsupported value: encountered a cycle via {}",
            v.type_name()
        ));
    }
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&json_float(*f)?),
        Value::Str(s) => write_string(out, s, html),
        Value::List(l) => {
            if l.items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            let inner = depth.map(|d| d + 1);
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, inner);
                write_value(out, item, enc, inner, nest + 1)?;
            }
            newline(out, depth);
            out.push(']');
        }
        Value::Map(m) => write_object(
            out,
            m.snapshot().iter().map(|(k, v)| (k.as_ref(), v)),
            enc,
            depth,
            nest,
        )?,
        Value::Object(o) => match crate::objects::json_fields(o.as_ref()) {
            Some(crate::objects::JsonForm::Text(s)) => write_string(out, &s, html),
            Some(crate::objects::JsonForm::Fields(fields)) => {
                write_object(out, fields.iter().map(|(k, v)| (*k, v)), enc, depth, nest)?
            }
            None => write_string(out, &o.go_string(), html),
        },
    }
    Ok(())
}

fn write_object<'a>(
    out: &mut String,
    entries: impl Iterator<Item = (&'a str, &'a Value)>,
    enc: Enc,
    depth: Option<usize>,
    nest: usize,
) -> Result<(), String> {
    let inner = depth.map(|d| d + 1);
    let mut any = false;
    out.push('{');
    for (k, v) in entries {
        if any {
            out.push(',');
        }
        any = true;
        newline(out, inner);
        write_string(out, k, enc.html);
        out.push(':');
        if depth.is_some() {
            out.push(' ');
        }
        write_value(out, v, enc, inner, nest + 1)?;
    }
    if any {
        newline(out, depth);
    }
    out.push('}');
    Ok(())
}

/// encoding/json's string escaping (`html`: `SetEscapeHTML(true)`, Go's default).
pub fn write_string(out: &mut String, s: &str, html: bool) {
    // Escapes make the text up to six times longer: stop where it cannot
    // fit in the render budget.
    let limit = budget::write_limit(out);
    let mut buf = std::mem::take(out).into_bytes();
    buf.push(b'"');
    let bytes = s.as_bytes();
    // Text between escapes is copied a run at a time (a byte loop: this is
    // the hot path of every JSON encoding, escape-dense text included).
    let mut run = 0;
    let mut at = 0;
    loop {
        let (code, len) = match bytes.get(at) {
            None => (0, 0),
            Some(&b) => match (ESCAPES[usize::from(b)], bytes.get(at + 1..at + 3)) {
                (b'<', _) if !html => (0, 1),
                (0xE2, Some([0x80, 0xA8 | 0xA9])) => (0xE2, 3),
                (0xE2, _) => (0, 1),
                (code, _) => (code, 1),
            },
        };
        if code == 0 && len == 1 {
            at += 1;
            continue;
        }
        if buf.len() + (at - run) > limit {
            budget::overrun(buf.len() + (at - run));
            break;
        }
        buf.extend_from_slice(&bytes[run..at]);
        if len == 0 {
            break;
        }
        let b = bytes[at];
        match code {
            b'u' | b'<' => {
                buf.extend_from_slice(b"\\u00");
                buf.push(HEX[usize::from(b >> 4)]);
                buf.push(HEX[usize::from(b & 15)]);
            }
            0xE2 => {
                buf.extend_from_slice(b"\\u202");
                buf.push(if bytes[at + 2] == 0xA8 { b'8' } else { b'9' });
            }
            letter => {
                buf.push(b'\\');
                buf.push(letter);
            }
        }
        at += len;
        run = at;
    }
    buf.push(b'"');
    // Runs end at ASCII bytes or whole characters, so this is UTF-8.
    *out = String::from_utf8(buf)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// For each byte, how encoding/json escapes it: 0 not at all, `u` as
/// `\u00XX`, `<` as `\u00XX` when escaping HTML, 0xE2 as `\u2028`/`\u2029`
/// when it starts one of them, otherwise as `\` and that letter.
const ESCAPES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[b'\n' as usize] = b'n';
    table[b'\r' as usize] = b'r';
    table[b'\t' as usize] = b't';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table[b'<' as usize] = b'<';
    table[b'>' as usize] = b'<';
    table[b'&' as usize] = b'<';
    table[0xE2] = 0xE2;
    table
};

/// encoding/json's float64 format: shortest digits, exponent form below
/// 1e-6 and from 1e21, `e-07` written `e-7`.
pub(crate) fn json_float(f: f64) -> Result<String, String> {
    if f.is_nan() {
        return Err("json: unsupported value: NaN".to_string());
    }
    if f.is_infinite() {
        let sign = if f > 0.0 { "+" } else { "-" };
        return Err(format!("json: unsupported value: {sign}Inf"));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{f:e}");
        return Ok(match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
            _ => s,
        });
    }
    Ok(format!("{f}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_matches_encoding_json() {
        let v = decode(r#"{"b":[1,2,{}],"a":"<&>\b\f\u0001\u2028","c":[],"d":null}"#).unwrap();
        assert_eq!(
            encode(&v, true, false).unwrap(),
            r#"{"a":"\u003c\u0026\u003e\u0008\u000c\u0001\u2028","b":[1,2,{}],"c":[],"d":null}"#
        );
        assert_eq!(
            encode(&v, false, false).unwrap(),
            r#"{"a":"<&>\u0008\u000c\u0001\u2028","b":[1,2,{}],"c":[],"d":null}"#
        );
        assert_eq!(
            encode(&v, true, true).unwrap(),
            "{\n  \"a\": \"\\u003c\\u0026\\u003e\\u0008\\u000c\\u0001\\u2028\",\n  \"b\": [\n    1,\n    2,\n    {}\n  ],\n  \"c\": [],\n  \"d\": null\n}"
        );
    }

    #[test]
    fn floats_format_like_go() {
        assert_eq!(json_float(1e-7).unwrap(), "1e-7");
        assert_eq!(json_float(123456789.0).unwrap(), "123456789");
        assert_eq!(json_float(1e20).unwrap(), "100000000000000000000");
        assert_eq!(json_float(1e21).unwrap(), "1e+21");
        assert_eq!(json_float(-0.0).unwrap(), "-0");
        assert_eq!(json_float(0.000001).unwrap(), "0.000001");
        assert!(json_float(f64::NAN).is_err());
    }
}
