//! sprig's JSON functions: `toJson`, `toPrettyJson`, `toRawJson` (Go's
//! `encoding/json` output: sorted keys, HTML escaping except in the raw
//! form, Go's float formatting) and `fromJson` (numbers become float64,
//! with Go's syntax error messages).

use std::collections::BTreeMap;
use std::sync::Arc;

use gotemplate::budget::{self, Tally};
use gotemplate::{FuncMap, Function, Param, Value, MAX_NESTING};

use crate::args;

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
    out.push('"');
    for c in s.chars() {
        if out.len() > limit {
            budget::overrun(out.len());
            break;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

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

/// Why `json.Unmarshal` failed: a syntax error (no value), or a type
/// error after which Go still returns what it decoded.
#[derive(Debug)]
pub(crate) enum DecodeError {
    Syntax(String),
    Type(Value, String),
}

/// `json.Unmarshal` into an `interface{}`.
pub(crate) fn decode(s: &str) -> Result<Value, DecodeError> {
    let mut p = Parser {
        b: s.as_bytes(),
        pos: 0,
        type_error: None,
        depth: 0,
        tally: Tally::new(),
    };
    let v = p.value().map_err(|e| DecodeError::Syntax(e.message()))?;
    p.skip_ws();
    if let Some(c) = p.peek() {
        return Err(DecodeError::Syntax(invalid(c, "after top-level value")));
    }
    match p.type_error {
        Some(msg) => Err(DecodeError::Type(v, msg)),
        None => Ok(v),
    }
}

enum SyntaxErr {
    Eof,
    Msg(String),
}

impl SyntaxErr {
    fn message(self) -> String {
        match self {
            SyntaxErr::Eof => "unexpected end of JSON input".to_string(),
            SyntaxErr::Msg(m) => m,
        }
    }
}

/// The scanner's `invalid character 'x' CONTEXT`.
fn invalid(c: u8, context: &str) -> String {
    let q = match c {
        b'\'' => "'\\''".to_string(),
        b'"' => "'\"'".to_string(),
        other => {
            let quoted = gotemplate::go::strconv::quote(&char::from(other).to_string());
            let inner = quoted.get(1..quoted.len() - 1).unwrap_or_default();
            format!("'{inner}'")
        }
    };
    format!("invalid character {q} {context}")
}

/// Go's scanner refuses arrays and objects nested deeper than this.
const MAX_DEPTH: usize = 10_000;

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
    type_error: Option<String>,
    /// Arrays and objects open around the position.
    depth: usize,
    /// What the decoded value costs the render budget so far: JSON text
    /// decodes into values many times its size (`[[],[],...]`).
    tally: Tally,
}

type PResult<T> = Result<T, SyntaxErr>;

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// The next byte, or the error Go's scanner gives when the input ends
    /// mid-token (it feeds a space at EOF).
    fn next_in(&mut self, context: &str) -> PResult<u8> {
        match self.peek() {
            Some(c) => {
                self.pos += 1;
                Ok(c)
            }
            None => Err(SyntaxErr::Msg(invalid(b' ', context))),
        }
    }

    fn value(&mut self) -> PResult<Value> {
        self.skip_ws();
        let Some(c) = self.peek() else {
            return Err(SyntaxErr::Eof);
        };
        match c {
            b'{' | b'[' => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(SyntaxErr::Msg(invalid(c, "exceeded max depth")));
                }
                self.built(budget::CONTAINER)?;
                let v = if c == b'{' {
                    self.object()
                } else {
                    self.array()
                };
                self.depth -= 1;
                v
            }
            b'"' => {
                let text = self.string()?;
                self.built(budget::STRING + text.len())?;
                Ok(Value::string(text))
            }
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'n' => self.literal("null", Value::Nil),
            other => Err(SyntaxErr::Msg(invalid(
                other,
                "looking for beginning of value",
            ))),
        }
    }

    /// Counts `bytes` of the value being decoded against the budget.
    fn built(&mut self, bytes: usize) -> PResult<()> {
        self.tally
            .add(bytes)
            .map_err(|why| SyntaxErr::Msg(args::exhausted("fromJson", why)))
    }

    fn literal(&mut self, word: &str, v: Value) -> PResult<Value> {
        self.pos += 1;
        for expect in word.bytes().skip(1) {
            let ctx = format!("in literal {word} (expecting '{}')", char::from(expect));
            let c = self.next_in(&ctx)?;
            if c != expect {
                return Err(SyntaxErr::Msg(invalid(c, &ctx)));
            }
        }
        Ok(v)
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
    }

    fn number(&mut self) -> PResult<Value> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
            let c = self.next_in("in numeric literal")?;
            if !c.is_ascii_digit() {
                return Err(SyntaxErr::Msg(invalid(c, "in numeric literal")));
            }
            if c != b'0' {
                self.digits();
            }
        } else if self.peek() == Some(b'0') {
            self.pos += 1;
        } else {
            self.digits();
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            let ctx = "after decimal point in numeric literal";
            let c = self.next_in(ctx)?;
            if !c.is_ascii_digit() {
                return Err(SyntaxErr::Msg(invalid(c, ctx)));
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            let ctx = "in exponent of numeric literal";
            let mut c = self.next_in(ctx)?;
            if c == b'+' || c == b'-' {
                c = self.next_in(ctx)?;
            }
            if !c.is_ascii_digit() {
                return Err(SyntaxErr::Msg(invalid(c, ctx)));
            }
            self.digits();
        }
        let text =
            std::str::from_utf8(self.b.get(start..self.pos).unwrap_or_default()).unwrap_or("0");
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => {
                self.type_error.get_or_insert_with(|| {
                    format!("json: cannot unmarshal number {text} into Go value of type float64")
                });
                Ok(Value::Nil)
            }
        }
    }

    fn hex4(&mut self) -> PResult<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            let ctx = "in \\u hexadecimal character escape";
            let c = self.peek().ok_or(SyntaxErr::Eof)?;
            self.pos += 1;
            let d = char::from(c)
                .to_digit(16)
                .ok_or_else(|| SyntaxErr::Msg(invalid(c, ctx)))?;
            v = v * 16 + d;
        }
        Ok(v)
    }

    fn string(&mut self) -> PResult<String> {
        self.pos += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = self.peek().ok_or(SyntaxErr::Eof)?;
            self.pos += 1;
            match c {
                b'"' => return Ok(crate::args::go_lossy(&out)),
                b'\\' => {
                    let e = self.peek().ok_or(SyntaxErr::Eof)?;
                    self.pos += 1;
                    let simple = match e {
                        b'"' => Some('"'),
                        b'\\' => Some('\\'),
                        b'/' => Some('/'),
                        b'b' => Some('\u{8}'),
                        b'f' => Some('\u{c}'),
                        b'n' => Some('\n'),
                        b'r' => Some('\r'),
                        b't' => Some('\t'),
                        b'u' => None,
                        other => {
                            return Err(SyntaxErr::Msg(invalid(other, "in string escape code")))
                        }
                    };
                    let ch = match simple {
                        Some(ch) => ch,
                        None => self.unicode_escape()?,
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c if c < 0x20 => return Err(SyntaxErr::Msg(invalid(c, "in string literal"))),
                c => out.push(c),
            }
        }
    }

    /// `\uXXXX`, joining surrogate pairs; a lone surrogate is U+FFFD.
    fn unicode_escape(&mut self) -> PResult<char> {
        let first = self.hex4()?;
        if (0xD800..0xDC00).contains(&first) && self.b.get(self.pos..self.pos + 2) == Some(b"\\u") {
            let save = self.pos;
            self.pos += 2;
            let second = self.hex4()?;
            if (0xDC00..0xE000).contains(&second) {
                let c = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                return Ok(char::from_u32(c).unwrap_or('\u{FFFD}'));
            }
            self.pos = save;
        }
        Ok(char::from_u32(first).unwrap_or('\u{FFFD}'))
    }

    fn array(&mut self) -> PResult<Value> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::list(items));
        }
        loop {
            self.built(budget::SLOT)?;
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                None => return Err(SyntaxErr::Eof),
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::list(items));
                }
                Some(c) => return Err(SyntaxErr::Msg(invalid(c, "after array element"))),
            }
        }
    }

    fn object(&mut self) -> PResult<Value> {
        self.pos += 1;
        let mut entries: BTreeMap<Arc<str>, Value> = BTreeMap::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::map(entries));
        }
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Err(SyntaxErr::Eof),
                Some(b'"') => {}
                Some(c) => {
                    return Err(SyntaxErr::Msg(invalid(
                        c,
                        "looking for beginning of object key string",
                    )))
                }
            }
            let key = self.string()?;
            self.built(budget::ENTRY + budget::STRING + key.len())?;
            self.skip_ws();
            match self.peek() {
                None => return Err(SyntaxErr::Eof),
                Some(b':') => self.pos += 1,
                Some(c) => return Err(SyntaxErr::Msg(invalid(c, "after object key"))),
            }
            let v = self.value()?;
            entries.insert(Arc::from(key), v);
            self.skip_ws();
            match self.peek() {
                None => return Err(SyntaxErr::Eof),
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::map(entries));
                }
                Some(c) => return Err(SyntaxErr::Msg(invalid(c, "after object key:value pair"))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> String {
        match decode(s) {
            Err(DecodeError::Syntax(m) | DecodeError::Type(_, m)) => m,
            Ok(v) => format!("decoded {v:?}"),
        }
    }

    #[test]
    fn decode_errors_use_go_scanner_messages() {
        assert_eq!(
            err("{\"a\":1,}"),
            "invalid character '}' looking for beginning of object key string"
        );
        assert_eq!(err("[1,2"), "unexpected end of JSON input");
        assert_eq!(
            err("tru"),
            "invalid character ' ' in literal true (expecting 'e')"
        );
        assert_eq!(
            err("'a'"),
            "invalid character '\\'' looking for beginning of value"
        );
        assert_eq!(err("1 2"), "invalid character '2' after top-level value");
        assert_eq!(err(""), "unexpected end of JSON input");
        assert_eq!(err("{\"a\" 1}"), "invalid character '1' after object key");
        assert_eq!(
            err("\"\\x\""),
            "invalid character 'x' in string escape code"
        );
        assert_eq!(err("[01]"), "invalid character '1' after array element");
        assert_eq!(err("\"a\tb\""), "invalid character '\\t' in string literal");
        assert_eq!(
            err("[1e400]"),
            "json: cannot unmarshal number 1e400 into Go value of type float64"
        );
    }

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
