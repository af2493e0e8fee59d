//! `json.Unmarshal` into an `interface{}`: numbers become float64, errors
//! are Go's scanner messages, nesting stops at Go's depth limit, and what
//! the decoded value will cost is counted against the render budget as it
//! grows.

use std::collections::BTreeMap;
use std::sync::Arc;

use gotemplate::budget::{self, Tally};
use gotemplate::Value;

use crate::args;

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

/// An array or object being read: what it holds so far (an object's next
/// key comes with it, its value still to be read).
enum Open {
    Array(Vec<Value>),
    Object(BTreeMap<Arc<str>, Value>, Arc<str>),
}

/// Where a value's first byte left the parser.
enum Start {
    /// A whole value (a scalar or an empty array or object).
    Done(Value),
    /// A non-empty array or object was opened: its first element comes next.
    Opened(Open),
}

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
    type_error: Option<String>,
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

    /// One value, its arrays and objects kept on a stack of their own
    /// rather than the call stack: nesting down to Go's limit must not
    /// overflow a thread's stack.
    fn value(&mut self) -> PResult<Value> {
        let mut open: Vec<Open> = Vec::new();
        loop {
            let mut done = match self.start(open.len())? {
                Start::Done(v) => v,
                Start::Opened(container) => {
                    open.push(container);
                    continue;
                }
            };
            // Close what `done` completes, up to the next element to read.
            loop {
                let Some(container) = open.last_mut() else {
                    return Ok(done);
                };
                if !self.add(container, done)? {
                    break;
                }
                done = match open.pop() {
                    Some(Open::Array(items)) => Value::list(items),
                    Some(Open::Object(entries, _)) => Value::map(entries),
                    None => return Ok(Value::Nil),
                };
            }
        }
    }

    /// Reads the start of a value inside `depth` open arrays and objects.
    fn start(&mut self, depth: usize) -> PResult<Start> {
        self.skip_ws();
        let Some(c) = self.peek() else {
            return Err(SyntaxErr::Eof);
        };
        match c {
            b'{' | b'[' => {
                if depth + 1 > MAX_DEPTH {
                    return Err(SyntaxErr::Msg(invalid(c, "exceeded max depth")));
                }
                self.built(budget::CONTAINER)?;
                self.pos += 1;
                self.skip_ws();
                if c == b'[' {
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        return Ok(Start::Done(Value::list(Vec::new())));
                    }
                    self.built(budget::SLOT)?;
                    return Ok(Start::Opened(Open::Array(Vec::new())));
                }
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Ok(Start::Done(Value::map(BTreeMap::new())));
                }
                let key = self.key()?;
                Ok(Start::Opened(Open::Object(BTreeMap::new(), key)))
            }
            b'"' => {
                let text = self.string()?;
                self.built(budget::STRING + text.len())?;
                Ok(Start::Done(Value::string(text)))
            }
            b'-' | b'0'..=b'9' => self.number().map(Start::Done),
            b't' => self.literal("true", Value::Bool(true)).map(Start::Done),
            b'f' => self.literal("false", Value::Bool(false)).map(Start::Done),
            b'n' => self.literal("null", Value::Nil).map(Start::Done),
            other => Err(SyntaxErr::Msg(invalid(
                other,
                "looking for beginning of value",
            ))),
        }
    }

    /// Puts a finished element into `container` and reads what follows it:
    /// true when that closed the container, false when another element
    /// comes next.
    fn add(&mut self, container: &mut Open, v: Value) -> PResult<bool> {
        self.skip_ws();
        let next = self.peek();
        match container {
            Open::Array(items) => {
                items.push(v);
                match next {
                    None => Err(SyntaxErr::Eof),
                    Some(b',') => {
                        self.pos += 1;
                        self.built(budget::SLOT)?;
                        Ok(false)
                    }
                    Some(b']') => {
                        self.pos += 1;
                        Ok(true)
                    }
                    Some(c) => Err(SyntaxErr::Msg(invalid(c, "after array element"))),
                }
            }
            Open::Object(entries, key) => {
                entries.insert(key.clone(), v);
                match next {
                    None => Err(SyntaxErr::Eof),
                    Some(b',') => {
                        self.pos += 1;
                        *key = self.key()?;
                        Ok(false)
                    }
                    Some(b'}') => {
                        self.pos += 1;
                        Ok(true)
                    }
                    Some(c) => Err(SyntaxErr::Msg(invalid(c, "after object key:value pair"))),
                }
            }
        }
    }

    /// An object's key and the `:` after it.
    fn key(&mut self) -> PResult<Arc<str>> {
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
            None => Err(SyntaxErr::Eof),
            Some(b':') => {
                self.pos += 1;
                Ok(Arc::from(key))
            }
            Some(c) => Err(SyntaxErr::Msg(invalid(c, "after object key"))),
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

    /// Runs `f` on a thread with a small stack, as a recursion per level
    /// would overflow it long before Go's depth limit.
    fn on_small_stack(f: impl FnOnce() + Send + 'static) {
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn nesting_down_to_gos_limit_decodes_without_recursion() {
        on_small_stack(|| {
            let deep = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
            assert!(matches!(decode(&deep), Ok(Value::List(_))));
            let objects = format!("{}1{}", "{\"a\":".repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH));
            assert!(matches!(decode(&objects), Ok(Value::Map(_))));
            let past = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
            assert_eq!(err(&past), "invalid character '[' exceeded max depth");
            let unclosed = "[".repeat(1_000_000);
            assert_eq!(err(&unclosed), "invalid character '[' exceeded max depth");
        });
    }

    #[test]
    fn arrays_and_objects_mix_as_before() {
        let v = decode(r#" { "a" : [ 1 , { "b" : [ ] , "c" : { } } , "x" ] , "a" : [true] } "#)
            .unwrap();
        assert_eq!(
            crate::json::encode(&v, true, false).unwrap(),
            r#"{"a":[true]}"#
        );
        let v = decode(r#"[[1,[2,[3]]],{"k":[{"l":null}]}]"#).unwrap();
        assert_eq!(
            crate::json::encode(&v, true, false).unwrap(),
            r#"[[1,[2,[3]]],{"k":[{"l":null}]}]"#
        );
        assert_eq!(
            err("[1,]"),
            "invalid character ']' looking for beginning of value"
        );
        assert_eq!(
            err("{\"a\":1 \"b\":2}"),
            "invalid character '\"' after object key:value pair"
        );
        assert_eq!(err("[[1]"), "unexpected end of JSON input");
    }
}
