//! sprig's string functions: case, trimming, abbreviation, wrapping,
//! quoting, splitting and joining (Go's `strings`, goutils and xstrings
//! behaviour, including their byte-oriented quirks).

use std::collections::BTreeMap;
use std::sync::Arc;

use gotemplate::go::strconv;
use gotemplate::{ElemType, FuncMap, Function, Param, Value};

use gotemplate::budget::{self, Tally};

use crate::args::{self, check_string};
use crate::cast::{sprint_v, strslice, strval};
use crate::random;

/// Registers the string functions.
pub(crate) fn register(m: &mut FuncMap) {
    use Param::{Any, Int, Str};
    let s1 = |m: &mut FuncMap, name, f: fn(&str) -> String| {
        m.insert(
            name,
            Function::new(&[Str], None, move |a| {
                Ok(Value::string(f(args::string(a, 0)?)))
            }),
        );
    };
    // (a, b) → f(b, a): sprig swaps the operands for pipelines.
    let s2 = |m: &mut FuncMap, name, f: fn(&str, &str) -> Value| {
        m.insert(
            name,
            Function::new(&[Str, Str], None, move |a| {
                Ok(f(args::string(a, 0)?, args::string(a, 1)?))
            }),
        );
    };
    m.insert(
        "hello",
        Function::new(&[], None, |_| Ok(Value::str("Hello!"))),
    );
    s1(m, "trim", |s| s.trim_matches(is_go_space).to_string());
    s1(m, "upper", to_upper);
    s1(m, "lower", to_lower);
    s1(m, "title", title);
    s1(m, "untitle", untitle);
    s1(m, "nospace", delete_white_space);
    s1(m, "initials", initials);
    s1(m, "swapcase", swap_case);
    s1(m, "snakecase", |s| camel_to_lower(s, '_'));
    s1(m, "kebabcase", |s| camel_to_lower(s, '-'));
    s1(m, "camelcase", to_camel_case);
    s2(m, "trimall", |cut, s| {
        Value::str(s.trim_matches(|c| cut.contains(c)))
    });
    s2(m, "trimAll", |cut, s| {
        Value::str(s.trim_matches(|c| cut.contains(c)))
    });
    s2(m, "trimSuffix", |suf, s| {
        Value::str(s.strip_suffix(suf).unwrap_or(s))
    });
    s2(m, "trimPrefix", |pre, s| {
        Value::str(s.strip_prefix(pre).unwrap_or(s))
    });
    s2(m, "contains", |sub, s| Value::Bool(s.contains(sub)));
    s2(m, "hasPrefix", |sub, s| Value::Bool(s.starts_with(sub)));
    s2(m, "hasSuffix", |sub, s| Value::Bool(s.ends_with(sub)));
    m.insert(
        "split",
        Function::new(&[Str, Str], None, |a| {
            go_split(args::string(a, 1)?, args::string(a, 0)?, -1).map(split_map)
        }),
    );
    m.insert(
        "splitList",
        Function::new(&[Str, Str], None, |a| {
            go_split(args::string(a, 1)?, args::string(a, 0)?, -1).map(Value::str_list)
        }),
    );
    m.insert(
        "shuffle",
        Function::new(&[Str], None, |a| {
            shuffle(args::string(a, 0)?).map(Value::string)
        }),
    );
    m.insert(
        "abbrev",
        Function::new(&[Int, Str], None, |a| {
            Ok(Value::string(abbrev(args::int(a, 0)?, args::string(a, 1)?)))
        }),
    );
    m.insert(
        "abbrevboth",
        Function::new(&[Int, Int, Str], None, |a| {
            let (l, r, s) = (args::int(a, 0)?, args::int(a, 1)?, args::string(a, 2)?);
            Ok(Value::string(abbrevboth(l, r, s)))
        }),
    );
    m.insert(
        "trunc",
        Function::new(&[Int, Str], None, |a| {
            Ok(Value::string(trunc(args::int(a, 0)?, args::string(a, 1)?)))
        }),
    );
    m.insert(
        "substr",
        Function::new(&[Int, Int, Str], None, |a| {
            substr(args::int(a, 0)?, args::int(a, 1)?, args::string(a, 2)?).map(Value::string)
        }),
    );
    m.insert(
        "repeat",
        Function::new(&[Int, Str], None, |a| {
            repeat(args::string(a, 1)?, args::int(a, 0)?).map(Value::string)
        }),
    );
    m.insert(
        "wrap",
        Function::new(&[Int, Str], None, |a| {
            Ok(Value::string(wrap_custom(
                args::string(a, 1)?,
                args::int(a, 0)?,
                "",
                false,
            )))
        }),
    );
    m.insert(
        "wrapWith",
        Function::new(&[Int, Str, Str], None, |a| {
            let (width, sep, text) = (args::int(a, 0)?, args::string(a, 1)?, args::string(a, 2)?);
            Ok(Value::string(wrap_custom(text, width, sep, true)))
        }),
    );
    m.insert(
        "quote",
        Function::new(&[], Some(Any), |a| join_present(a, quote_bounded)),
    );
    m.insert(
        "squote",
        Function::new(&[], Some(Any), |a| {
            join_present(a, |v| format!("'{}'", sprint_v(v)))
        }),
    );
    m.insert(
        "cat",
        Function::new(&[], Some(Any), |a| join_present(a, sprint_v)),
    );
    m.insert(
        "indent",
        Function::new(&[Int, Str], None, |a| {
            indent(args::int(a, 0)?, args::string(a, 1)?).map(Value::string)
        }),
    );
    m.insert(
        "nindent",
        Function::new(&[Int, Str], None, |a| {
            indent(args::int(a, 0)?, args::string(a, 1)?).map(|s| Value::string(format!("\n{s}")))
        }),
    );
    m.insert(
        "replace",
        Function::new(&[Str, Str, Str], None, |a| {
            let (old, new, src) = (
                args::string(a, 0)?,
                args::string(a, 1)?,
                args::string(a, 2)?,
            );
            go_replace(src, old, new).map(Value::string)
        }),
    );
    m.insert(
        "plural",
        Function::new(&[Str, Str, Int], None, |a| {
            let pick = if args::int(a, 2)? == 1 { 0 } else { 1 };
            Ok(Value::str(args::string(a, pick)?))
        }),
    );
    m.insert(
        "toString",
        Function::new(&[Any], None, |a| Ok(Value::string(strval(args::any(a, 0))))),
    );
    m.insert(
        "splitn",
        Function::new(&[Str, Int, Str], None, |a| {
            let (sep, n, s) = (args::string(a, 0)?, args::int(a, 1)?, args::string(a, 2)?);
            go_split(s, sep, n).map(split_map)
        }),
    );
    m.insert(
        "toStrings",
        Function::new(&[Any], None, |a| {
            strslice(args::any(a, 0)).map(Value::str_list)
        }),
    );
    m.insert(
        "join",
        Function::new(&[Str, Any], None, |a| {
            let (sep, items) = (args::string(a, 0)?, strslice(args::any(a, 1))?);
            let seps = items.len().saturating_sub(1) as u128 * sep.len() as u128;
            let text: u128 = items.iter().map(|s| s.len() as u128).sum();
            check_string("join", text + seps)?;
            Ok(Value::string(items.join(sep)))
        }),
    );
    m.insert(
        "sortAlpha",
        Function::new(&[Any], None, |a| {
            let v = args::any(a, 0);
            let mut items = match v {
                Value::List(_) => strslice(v)?,
                other => vec![strval(other)],
            };
            items.sort();
            Ok(Value::str_list(items))
        }),
    );
    let rand_fn = |m: &mut FuncMap, name, alphabet: &'static [u8]| {
        m.insert(
            name,
            Function::new(&[Int], None, move |a| {
                let n = args::int(a, 0)?;
                if n <= 0 {
                    return Ok(Value::str(""));
                }
                check_string(name, n as u128)?;
                random::string_from(alphabet, n as usize).map(Value::string)
            }),
        );
    };
    rand_fn(m, "randAlphaNum", ALNUM);
    rand_fn(m, "randAlpha", &ALNUM[10..]);
    rand_fn(m, "randNumeric", &ALNUM[..10]);
    rand_fn(m, "randAscii", ASCII_PRINTABLE);
}

const ALNUM: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ASCII_PRINTABLE: &[u8] = b" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

/// Go's `unicode.IsSpace`.
pub(crate) fn is_go_space(c: char) -> bool {
    c.is_whitespace()
}

/// Go's `unicode.ToUpper`: the simple (one rune) mapping.
pub(crate) fn upper_rune(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Go's `unicode.ToLower`: the simple (one rune) mapping.
pub(crate) fn lower_rune(c: char) -> char {
    if c == '\u{130}' {
        return 'i';
    }
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// Go's `unicode.ToTitle`: upper case, except the Latin digraphs whose
/// title case differs.
pub(crate) fn title_rune(c: char) -> char {
    match c {
        '\u{1C4}'..='\u{1C6}' => '\u{1C5}',
        '\u{1C7}'..='\u{1C9}' => '\u{1C8}',
        '\u{1CA}'..='\u{1CC}' => '\u{1CB}',
        '\u{1F1}'..='\u{1F3}' => '\u{1F2}',
        other => upper_rune(other),
    }
}

/// Go's `unicode.IsTitle` (category Lt).
fn is_title(c: char) -> bool {
    matches!(c as u32, 0x1C5 | 0x1C8 | 0x1CB | 0x1F2 | 0x1F88..=0x1F8F | 0x1F98..=0x1F9F
        | 0x1FA8..=0x1FAF | 0x1FBC | 0x1FCC | 0x1FFC)
}

fn to_upper(s: &str) -> String {
    s.chars().map(upper_rune).collect()
}

fn to_lower(s: &str) -> String {
    s.chars().map(lower_rune).collect()
}

/// `strings.Title`: upper-cases the first letter of each word.
fn title(s: &str) -> String {
    let is_sep = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else if c.is_alphabetic() || c.is_numeric() {
            false
        } else {
            is_go_space(c)
        }
    };
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_sep(prev) { title_rune(c) } else { c };
            prev = c;
            out
        })
        .collect()
}

/// goutils `Uncapitalize`: lower-cases the first letter of each
/// whitespace-separated word.
fn untitle(s: &str) -> String {
    let mut next = true;
    s.chars()
        .map(|c| {
            if is_go_space(c) {
                next = true;
                c
            } else if next {
                next = false;
                lower_rune(c)
            } else {
                c
            }
        })
        .collect()
}

/// goutils `DeleteWhiteSpace`, which walks bytes: a non-ASCII byte is taken
/// as the Latin-1 rune of that value (so multi-byte text is re-encoded).
fn delete_white_space(s: &str) -> String {
    let kept: String = s
        .bytes()
        .map(char::from)
        .filter(|c| !is_go_space(*c))
        .collect();
    if kept.chars().count() == s.len() {
        s.to_string()
    } else {
        kept
    }
}

/// goutils `Initials`, also byte-wise.
fn initials(s: &str) -> String {
    let mut gap = true;
    let mut out = String::new();
    for c in s.bytes().map(char::from) {
        if is_go_space(c) {
            gap = true;
        } else if gap {
            out.push(c);
            gap = false;
        }
    }
    out
}

/// goutils `SwapCase`.
fn swap_case(s: &str) -> String {
    let mut ws = true;
    s.chars()
        .map(|c| {
            if c.is_uppercase() || is_title(c) {
                ws = false;
                lower_rune(c)
            } else if c.is_lowercase() {
                let out = if ws { title_rune(c) } else { upper_rune(c) };
                ws = false;
                out
            } else {
                ws = is_go_space(c);
                c
            }
        })
        .collect()
}

fn shuffle(s: &str) -> Result<String, String> {
    let mut runes: Vec<char> = s.chars().collect();
    for i in (1..runes.len()).rev() {
        let j = random::below(i as u64 + 1)? as usize;
        runes.swap(i, j);
    }
    Ok(runes.into_iter().collect())
}

/// The bytes `s[from..to]` as text (Go slices strings by byte; a cut
/// through a character is replaced by U+FFFD here).
fn byte_slice(s: &str, from: usize, to: usize) -> String {
    let b = s.as_bytes();
    crate::args::go_lossy(b.get(from..to).unwrap_or_default())
}

fn abbreviate_full(s: &str, offset: i64, width: i64) -> String {
    let len = s.len() as i64;
    if s.is_empty() || width < 4 {
        return String::new();
    }
    if len <= width {
        return s.to_string();
    }
    let mut offset = offset.min(len);
    if len - offset < width - 3 {
        offset = len - (width - 3);
    }
    if offset <= 4 {
        return byte_slice(s, 0, (width - 3) as usize) + "...";
    }
    if width < 7 {
        return String::new();
    }
    if offset + width - 3 < len {
        let rest = byte_slice(s, offset as usize, s.len());
        return format!("...{}", abbreviate_full(&rest, 0, width - 3));
    }
    format!(
        "...{}",
        byte_slice(s, (len - (width - 3)) as usize, s.len())
    )
}

fn abbrev(width: i64, s: &str) -> String {
    if width < 4 {
        return s.to_string();
    }
    abbreviate_full(s, 0, width)
}

fn abbrevboth(left: i64, right: i64, s: &str) -> String {
    if right < 4 || (left > 0 && right < 7) {
        return s.to_string();
    }
    abbreviate_full(s, left, right)
}

fn trunc(c: i64, s: &str) -> String {
    let len = s.len() as i64;
    if c < 0 && len + c > 0 {
        return byte_slice(s, (len + c) as usize, s.len());
    }
    if c >= 0 && len > c {
        return byte_slice(s, 0, c as usize);
    }
    s.to_string()
}

/// Go's `s[low:high]` with the runtime's panic text.
fn go_slice_str(s: &str, low: i64, high: i64) -> Result<String, String> {
    let len = s.len() as i64;
    if high < 0 {
        // Go's runtime names no length for a negative bound.
        return Err(format!(
            "runtime error: slice bounds out of range [:{high}]"
        ));
    }
    if high > len {
        return Err(format!(
            "runtime error: slice bounds out of range [:{high}] with length {len}"
        ));
    }
    if low < 0 || low > high {
        return Err(format!(
            "runtime error: slice bounds out of range [{low}:{high}]"
        ));
    }
    Ok(byte_slice(s, low as usize, high as usize))
}

fn substr(start: i64, end: i64, s: &str) -> Result<String, String> {
    let len = s.len() as i64;
    if start < 0 {
        return go_slice_str(s, 0, end);
    }
    if end < 0 || end > len {
        return go_slice_str(s, start, len);
    }
    go_slice_str(s, start, end)
}

fn repeat(s: &str, count: i64) -> Result<String, String> {
    if count < 0 {
        return Err("strings: negative Repeat count".to_string());
    }
    check_string("repeat", (s.len() as u128) * (count as u128))?;
    Ok(s.repeat(count as usize))
}

fn indent(spaces: i64, s: &str) -> Result<String, String> {
    let pad = repeat(" ", spaces)?;
    let lines = s.bytes().filter(|b| *b == b'\n').count() as u128 + 1;
    check_string("indent", s.len() as u128 + lines * pad.len() as u128)?;
    Ok(format!("{pad}{}", s.replace('\n', &format!("\n{pad}"))))
}

/// `strings.Replace(src, old, new, -1)`; an empty `old` inserts `new`
/// around every character, as Go does.
fn go_replace(src: &str, old: &str, new: &str) -> Result<String, String> {
    if old.is_empty() {
        let n = src.chars().count() as u128 + 1;
        check_string("replace", src.len() as u128 + n * new.len() as u128)?;
        let mut out = String::from(new);
        for c in src.chars() {
            out.push(c);
            out.push_str(new);
        }
        return Ok(out);
    }
    let n = src.matches(old).count() as u128;
    check_string("replace", src.len() as u128 + n * new.len() as u128)?;
    Ok(src.replace(old, new))
}

/// `strings.SplitN(s, sep, n)` (`n < 0`: all pieces), stopped by the render
/// budget once the pieces cannot fit (a 1-byte separator makes a piece of
/// every byte).
pub(crate) fn go_split(s: &str, sep: &str, n: i64) -> Result<Vec<String>, String> {
    let mut pieces = Pieces {
        out: Vec::new(),
        tally: Tally::new(),
    };
    if n == 0 {
        return Ok(pieces.out);
    }
    if sep.is_empty() {
        let count = s.chars().count();
        let limit = if n < 0 || n as usize > count {
            count
        } else {
            n as usize
        };
        for (i, c) in s.char_indices() {
            if pieces.out.len() + 1 == limit {
                pieces.push(s.get(i..).unwrap_or_default())?;
                break;
            }
            pieces.push(s.get(i..i + c.len_utf8()).unwrap_or_default())?;
        }
    } else if n < 0 {
        for piece in s.split(sep) {
            pieces.push(piece)?;
        }
    } else {
        for piece in s.splitn(n as usize, sep) {
            pieces.push(piece)?;
        }
    }
    Ok(pieces.out)
}

/// The strings a split builds, counted as they are.
struct Pieces {
    out: Vec<String>,
    tally: Tally,
}

impl Pieces {
    fn push(&mut self, piece: &str) -> Result<(), String> {
        self.tally
            .add_string(piece.len())
            .map_err(|why| args::exhausted("split", why))?;
        self.out.push(piece.to_string());
        Ok(())
    }
}

fn split_map(parts: Vec<String>) -> Value {
    let entries: BTreeMap<Arc<str>, Value> = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| (Arc::from(format!("_{i}")), Value::string(p)))
        .collect();
    args::map_value(ElemType::Str, entries)
}

/// goutils `WrapCustom`, byte-oriented like the original.
fn wrap_custom(s: &str, width: i64, newline: &str, wrap_long: bool) -> String {
    if s.is_empty() {
        return String::new();
    }
    let nl = if newline.is_empty() { "\n" } else { newline };
    let width = width.max(1) as usize;
    let b = s.as_bytes();
    let len = b.len();
    let mut offset = 0usize;
    let mut out: Vec<u8> = Vec::with_capacity(len);
    // The separator can make the text far longer: stop where it cannot fit.
    let room = budget::room();
    while len - offset > width {
        if out.len() > room {
            budget::overrun(out.len());
            break;
        }
        if b.get(offset) == Some(&b' ') {
            offset += 1;
            continue;
        }
        let end = (width + offset + 1).min(len);
        let window = b.get(offset..end).unwrap_or_default();
        if let Some(sp) = window.iter().rposition(|c| *c == b' ') {
            let at = sp + offset;
            out.extend_from_slice(b.get(offset..at).unwrap_or_default());
            out.extend_from_slice(nl.as_bytes());
            offset = at + 1;
        } else if wrap_long {
            let end = width + offset;
            out.extend_from_slice(b.get(offset..end).unwrap_or_default());
            out.extend_from_slice(nl.as_bytes());
            offset += width;
        } else {
            let end = width + offset;
            match b
                .get(end..)
                .unwrap_or_default()
                .iter()
                .position(|c| *c == b' ')
            {
                None => {
                    out.extend_from_slice(b.get(offset..).unwrap_or_default());
                    offset = len;
                }
                Some(i) => {
                    let at = i + end;
                    out.extend_from_slice(b.get(offset..at).unwrap_or_default());
                    out.extend_from_slice(nl.as_bytes());
                    offset = at + 1;
                }
            }
        }
    }
    out.extend_from_slice(b.get(offset..).unwrap_or_default());
    crate::args::go_lossy(&out)
}

/// `%q` of `strval(v)`: nothing (and the budget exhausted) when the quoted
/// text, up to ten times longer, cannot fit.
fn quote_bounded(v: &Value) -> String {
    let text = strval(v);
    let len = strconv::quoted_len(&text, false);
    if len > budget::room() {
        budget::overrun(len);
        return String::new();
    }
    strconv::quote(&text)
}

/// sprig's `quote`/`squote`/`cat`: each non-nil argument shown by `show`,
/// joined with spaces.
fn join_present(args: &[Value], show: impl Fn(&Value) -> String) -> Result<Value, String> {
    let mut tally = Tally::new();
    let mut parts: Vec<String> = Vec::with_capacity(args.len());
    for v in args.iter().filter(|v| !matches!(v, Value::Nil)) {
        let part = show(v);
        tally
            .add(part.len() + 1)
            .map_err(|why| args::exhausted("join", why))?;
        parts.push(part);
    }
    Ok(Value::string(parts.join(" ")))
}

// ---- xstrings case conversion ----

fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || is_go_space(c)
}

/// Go's `unicode.IsPunct` (category P); approximated outside ASCII.
fn is_punct(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_punctuation() && !"$+<=>^`|~".contains(c);
    }
    matches!(c as u32, 0xA1 | 0xA7 | 0xAB | 0xB6 | 0xB7 | 0xBB | 0xBF | 0x2010..=0x2027
        | 0x2030..=0x205E | 0x3001..=0x3003 | 0x3008..=0x3011 | 0xFF01..=0xFF0F)
}

/// xstrings' `isAlphabet`: letters except the common CJK ideographs.
fn is_alphabet(c: char) -> bool {
    if !c.is_alphabetic() {
        return false;
    }
    !matches!(c as u32, 0x4E00..=0x9FCC | 0x3400..=0x4DB5 | 0x20000..=0x2A6D6
        | 0x2A700..=0x2B734 | 0x2B740..=0x2B81D)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Word {
    Invalid,
    Number,
    Upper,
    Alpha,
    Connector,
    Punct,
    Other,
}

/// xstrings' `nextWord`: the type and text of the next word, and the rest.
fn next_word(s: &str) -> (Word, &str, &str) {
    let mut it = s.char_indices().peekable();
    let Some((_, first)) = it.next() else {
        return (Word::Invalid, "", "");
    };
    let split = |at: usize| (s.get(..at).unwrap_or(s), s.get(at..).unwrap_or(""));
    let end_while = |start: usize, pred: &dyn Fn(char) -> bool| -> usize {
        let mut end = start;
        for (i, c) in s.get(start..).unwrap_or("").char_indices() {
            if !pred(c) {
                return start + i;
            }
            end = start + i + c.len_utf8();
        }
        end
    };
    let fl = first.len_utf8();
    if first == '\u{FFFD}' {
        let (w, r) = split(fl);
        return (Word::Invalid, w, r);
    }
    if is_connector(first) {
        let (w, r) = split(end_while(fl, &is_connector));
        return (Word::Connector, w, r);
    }
    if is_punct(first) {
        let (w, r) = split(end_while(fl, &is_punct));
        return (Word::Punct, w, r);
    }
    if first.is_uppercase() {
        let Some(second) = s.get(fl..).and_then(|r| r.chars().next()) else {
            return (Word::Upper, s, "");
        };
        if second.is_uppercase() {
            let end = end_while(fl, &|c: char| c.is_uppercase());
            // "HTTPServer": the last capital starts the next word.
            let next = s.get(end..).and_then(|r| r.chars().next());
            if let Some(n) = next {
                if is_alphabet(n) {
                    let last_len = s
                        .get(..end)
                        .and_then(|p| p.chars().next_back())
                        .map_or(0, char::len_utf8);
                    let (w, r) = split(end - last_len);
                    return (Word::Upper, w, r);
                }
            }
            let (w, r) = split(end);
            return (Word::Upper, w, r);
        }
        if is_alphabet(second) {
            let end = end_while(fl, &|c: char| is_alphabet(c) && !c.is_uppercase());
            let (w, r) = split(end);
            return (Word::Upper, w, r);
        }
        let (w, r) = split(fl);
        return (Word::Upper, w, r);
    }
    if is_alphabet(first) {
        let end = end_while(fl, &|c: char| is_alphabet(c) && !c.is_uppercase());
        let (w, r) = split(end);
        return (Word::Alpha, w, r);
    }
    if first.is_numeric() {
        let (w, r) = split(end_while(fl, &|c: char| c.is_numeric()));
        return (Word::Number, w, r);
    }
    let end = end_while(fl, &|c: char| {
        !(is_connector(c) || is_alphabet(c) || c.is_numeric() || is_punct(c))
    });
    let (w, r) = split(end);
    (Word::Other, w, r)
}

fn push_lower(out: &mut String, wt: Word, word: &str, connector: char) {
    if wt != Word::Upper && wt != Word::Connector {
        out.push_str(word);
        return;
    }
    for c in word.chars() {
        if is_connector(c) {
            out.push(connector);
        } else if c.is_uppercase() {
            out.push(lower_rune(c));
        } else {
            out.push(c);
        }
    }
}

/// xstrings' `camelCaseToLowerCase` (snakecase, kebabcase).
fn camel_to_lower(s: &str, connector: char) -> String {
    if s.is_empty() {
        return String::new();
    }
    let mut out = String::with_capacity(s.len() + 4);
    let (mut wt, mut word, mut rest) = next_word(s);
    while !rest.is_empty() {
        if wt != Word::Connector {
            push_lower(&mut out, wt, word, connector);
        }
        let prev = wt;
        let last = word;
        (wt, word, rest) = next_word(rest);
        match prev {
            Word::Number => {
                while wt == Word::Alpha || wt == Word::Number {
                    push_lower(&mut out, wt, word, connector);
                    (wt, word, rest) = next_word(rest);
                }
                if !matches!(wt, Word::Invalid | Word::Punct | Word::Connector) {
                    out.push(connector);
                }
            }
            Word::Connector => push_lower(&mut out, prev, last, connector),
            Word::Punct => {}
            _ => {
                if wt != Word::Number {
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                if rest.is_empty() {
                    continue;
                }
                let last = word;
                (wt, word, rest) = next_word(rest);
                if wt != Word::Alpha {
                    push_lower(&mut out, Word::Number, last, connector);
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                out.push(connector);
                push_lower(&mut out, Word::Number, last, connector);
                while wt == Word::Alpha || wt == Word::Number {
                    push_lower(&mut out, wt, word, connector);
                    (wt, word, rest) = next_word(rest);
                }
                if !matches!(wt, Word::Invalid | Word::Connector | Word::Punct) {
                    out.push(connector);
                }
            }
        }
    }
    push_lower(&mut out, wt, word, connector);
    out
}

/// xstrings' `ToCamelCase`.
fn to_camel_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    let mut r0 = '\0';
    let mut found = false;
    for c in chars.by_ref() {
        if !is_connector(c) {
            r0 = upper_rune(c);
            found = true;
            break;
        }
        out.push(c);
    }
    if !found {
        return out;
    }
    for c in chars {
        let r1 = r0;
        r0 = c;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            r0 = upper_rune(r0);
        } else {
            r0 = lower_rune(r0);
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_conversions_follow_xstrings() {
        assert_eq!(camel_to_lower("FirstName", '_'), "first_name");
        assert_eq!(camel_to_lower("HTTPServer", '_'), "http_server");
        assert_eq!(camel_to_lower("NoHTTPS", '_'), "no_https");
        assert_eq!(camel_to_lower("GO_PATH", '_'), "go_path");
        assert_eq!(camel_to_lower("GO PATH", '_'), "go_path");
        assert_eq!(camel_to_lower("GO-PATH", '_'), "go_path");
        assert_eq!(camel_to_lower("http2xx", '_'), "http_2xx");
        assert_eq!(camel_to_lower("HTTP20xOK", '_'), "http_20x_ok");
        assert_eq!(camel_to_lower("Duration2m3s", '_'), "duration_2m3s");
        assert_eq!(camel_to_lower("Bld4Floor3rd", '_'), "bld4_floor_3rd");
        assert_eq!(camel_to_lower("a (b)", '-'), "a-(b)");
        assert_eq!(to_camel_case("some_words"), "SomeWords");
        assert_eq!(to_camel_case("http_server"), "HttpServer");
        assert_eq!(to_camel_case("no_https"), "NoHttps");
        assert_eq!(to_camel_case("_complex__case_"), "_Complex_Case_");
        assert_eq!(to_camel_case("all"), "All");
    }

    #[test]
    fn substr_fails_like_go_slicing() {
        assert_eq!(substr(1, 3, "hello").unwrap(), "el");
        assert_eq!(substr(-1, 2, "hello").unwrap(), "he");
        assert_eq!(substr(2, 99, "hello").unwrap(), "llo");
        assert!(substr(3, 1, "hello").is_err());
        assert_eq!(
            substr(-1, -1, "hello").unwrap_err(),
            "runtime error: slice bounds out of range [:-1]"
        );
        assert_eq!(
            substr(-1, 9, "hello").unwrap_err(),
            "runtime error: slice bounds out of range [:9] with length 5"
        );
    }

    #[test]
    fn split_with_limit_and_empty_separator() {
        assert_eq!(go_split("a,b,c", ",", 2).unwrap(), vec!["a", "b,c"]);
        assert_eq!(go_split("abc", "", -1).unwrap(), vec!["a", "b", "c"]);
        assert_eq!(go_split("abc", "", 2).unwrap(), vec!["a", "bc"]);
        assert!(go_split("abc", ",", 0).unwrap().is_empty());
    }

    #[test]
    fn wrap_breaks_at_spaces() {
        assert_eq!(
            wrap_custom("hello world foo", 5, "", false),
            "hello\nworld\nfoo"
        );
        assert_eq!(wrap_custom("abcdefgh", 3, "|", true), "abc|def|gh");
    }

    #[test]
    fn repeat_and_indent_refuse_huge_results() {
        assert!(repeat("ab", 10_000_000).is_err());
        assert!(repeat("ab", -1).is_err());
        assert!(indent(100_000_000, "x").is_err());
    }
}
