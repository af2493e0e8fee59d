//! sprig's regular-expression functions over Rust's `regex`, with Go's
//! RE2 flavour: `\d`, `\w`, `\s` and `\b` are ASCII-only as in Go, and
//! `Split`/`FindAll` limits follow Go's `regexp` package.

use gotemplate::{FuncMap, Function, Param, Value};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use regex::Regex;

use gotemplate::budget::{self, Tally};

use crate::args;

/// Registers the regex functions; the `must*` forms return the compile
/// error, the others report it as Go's `MustCompile` panic (or `false` for
/// `regexMatch`).
pub(crate) fn register(m: &mut FuncMap) {
    use Param::{Int, Str};
    m.insert(
        "regexMatch",
        Function::new(&[Str, Str], None, |a| {
            let s = args::string(a, 1)?;
            Ok(Value::Bool(
                compile(args::string(a, 0)?).is_ok_and(|r| r.is_match(s)),
            ))
        }),
    );
    m.insert(
        "mustRegexMatch",
        Function::new(&[Str, Str], None, |a| {
            let r = compile(args::string(a, 0)?)?;
            Ok(Value::Bool(r.is_match(args::string(a, 1)?)))
        }),
    );
    for (name, must) in [("regexFindAll", false), ("mustRegexFindAll", true)] {
        m.insert(
            name,
            Function::new(&[Str, Str, Int], None, move |a| {
                let r = compile_for(args::string(a, 0)?, must)?;
                let text = args::string(a, 1)?;
                let found = find_all(&r, text, args::int(a, 2)?)?;
                Ok(Value::str_list(
                    found
                        .into_iter()
                        .map(|(s, e)| text.get(s..e).unwrap_or_default()),
                ))
            }),
        );
    }
    for (name, must) in [("regexFind", false), ("mustRegexFind", true)] {
        m.insert(
            name,
            Function::new(&[Str, Str], None, move |a| {
                let r = compile_for(args::string(a, 0)?, must)?;
                Ok(Value::str(
                    r.find(args::string(a, 1)?).map_or("", |m| m.as_str()),
                ))
            }),
        );
    }
    for (name, must) in [("regexReplaceAll", false), ("mustRegexReplaceAll", true)] {
        m.insert(
            name,
            Function::new(&[Str, Str, Str], None, move |a| {
                let r = compile_for(args::string(a, 0)?, must)?;
                let (s, repl) = (args::string(a, 1)?, args::string(a, 2)?);
                replace_all(&r, s, |caps, out| caps.expand(repl, out))
            }),
        );
    }
    for (name, must) in [
        ("regexReplaceAllLiteral", false),
        ("mustRegexReplaceAllLiteral", true),
    ] {
        m.insert(
            name,
            Function::new(&[Str, Str, Str], None, move |a| {
                let r = compile_for(args::string(a, 0)?, must)?;
                let (s, repl) = (args::string(a, 1)?, args::string(a, 2)?);
                replace_all(&r, s, |_, out| out.push_str(repl))
            }),
        );
    }
    for (name, must) in [("regexSplit", false), ("mustRegexSplit", true)] {
        m.insert(
            name,
            Function::new(&[Str, Str, Int], None, move |a| {
                let pattern = args::string(a, 0)?;
                let r = compile_for(pattern, must)?;
                Ok(Value::str_list(split(
                    &r,
                    pattern,
                    args::string(a, 1)?,
                    args::int(a, 2)?,
                )?))
            }),
        );
    }
    m.insert(
        "regexQuoteMeta",
        Function::new(&[Str], None, |a| {
            Ok(Value::string(quote_meta(args::string(a, 0)?)))
        }),
    );
}

/// `ReplaceAllString`: every match replaced by what `replace` writes for
/// it, stopped by the render budget once the result cannot fit.
fn replace_all(
    r: &Regex,
    s: &str,
    replace: impl Fn(&regex::Captures, &mut String),
) -> Result<Value, String> {
    let room = budget::room();
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for caps in r.captures_iter(s) {
        let Some(whole) = caps.get(0) else { continue };
        out.push_str(s.get(last..whole.start()).unwrap_or_default());
        replace(&caps, &mut out);
        last = whole.end();
        if out.len() > room {
            return Err(args::exhausted(
                "regexReplaceAll",
                budget::overrun(out.len()),
            ));
        }
    }
    out.push_str(s.get(last..).unwrap_or_default());
    Ok(Value::string(out))
}

/// `must`: the error as it is; otherwise as `MustCompile`'s panic.
fn compile_for(pattern: &str, must: bool) -> Result<Regex, String> {
    compile(pattern).map_err(|e| {
        if must {
            e
        } else {
            format!("regexp: Compile({}): {e}", backquote(pattern))
        }
    })
}

fn backquote(s: &str) -> String {
    if s.contains('`') {
        gotemplate::go::strconv::quote(s)
    } else {
        format!("`{s}`")
    }
}

/// Compiled patterns kept across calls: a template calls these functions
/// with the same few literal patterns over and over, and compiling dominated
/// their cost. Bounded; emptied when full (patterns are template literals, so
/// the working set is small).
const CACHED_PATTERNS: usize = 256;

fn pattern_cache() -> &'static Mutex<HashMap<String, Regex>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Regex>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Compiles a Go (RE2) pattern (`Regex` clones share the compiled program).
fn compile(pattern: &str) -> Result<Regex, String> {
    let mut cache = pattern_cache().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(regex) = cache.get(pattern) {
        return Ok(regex.clone());
    }
    let regex = Regex::new(&translate(pattern)?).map_err(|e| go_syntax_error(pattern, &e))?;
    if cache.len() >= CACHED_PATTERNS {
        cache.clear();
    }
    cache.insert(pattern.to_owned(), regex.clone());
    Ok(regex)
}

/// The error Go's `regexp/syntax` gives for a pattern Rust rejects, from
/// the parse error's kind and span.
fn go_syntax_error(pattern: &str, e: &regex::Error) -> String {
    use regex_syntax::ast::ErrorKind as K;
    let fallback = || match e {
        regex::Error::Syntax(s) => s
            .lines()
            .rev()
            .find(|l| l.starts_with("error:"))
            .map_or_else(
                || s.clone(),
                |l| l.trim_start_matches("error: ").to_string(),
            ),
        other => other.to_string(),
    };
    let Err(err) = regex_syntax::ast::parse::Parser::new().parse(pattern) else {
        return format!(
            "error parsing regexp: {}: {}",
            fallback(),
            backquote(pattern)
        );
    };
    let span = err.span();
    let text = pattern
        .get(span.start.offset..span.end.offset)
        .unwrap_or_default();
    let rest = pattern.get(span.start.offset..).unwrap_or_default();
    let (what, frag) = match err.kind() {
        K::GroupUnclosed => ("missing closing )", pattern),
        K::GroupUnopened => ("unexpected )", pattern),
        K::ClassUnclosed => ("missing closing ]", rest),
        K::RepetitionMissing => {
            let op = if text.is_empty() {
                match rest.chars().next() {
                    Some('{') => rest
                        .find('}')
                        .map_or(rest, |i| rest.get(..=i).unwrap_or(rest)),
                    Some(c) => rest.get(..c.len_utf8()).unwrap_or_default(),
                    None => "",
                }
            } else {
                text
            };
            ("missing argument to repetition operator", op)
        }
        K::EscapeUnrecognized => ("invalid escape sequence", text),
        // Go stops at the first character after `(?` that is not a flag.
        K::UnsupportedLookAround if rest.starts_with("(?") => (
            "invalid or unsupported Perl syntax",
            rest.get(..3).unwrap_or(rest),
        ),
        K::EscapeUnexpectedEof => ("trailing backslash at end of expression", ""),
        K::ClassRangeInvalid => ("invalid character class range", text),
        K::RepetitionCountInvalid => ("invalid repeat count", text),
        K::GroupNameInvalid | K::GroupNameEmpty | K::GroupNameDuplicate { .. } => {
            // Go quotes the group opening up to its closing `>`.
            let head = pattern.get(..span.start.offset).unwrap_or_default();
            let from = head.rfind("(?").unwrap_or(0);
            let to = pattern
                .get(span.start.offset..)
                .and_then(|r| r.find('>'))
                .map_or(pattern.len(), |i| span.start.offset + i + 1);
            (
                "invalid named capture",
                pattern.get(from..to).unwrap_or_default(),
            )
        }
        _ => {
            return format!(
                "error parsing regexp: {}: {}",
                fallback(),
                backquote(pattern)
            )
        }
    };
    format!("error parsing regexp: {what}: {}", backquote(frag))
}

/// Rust's spelling of a Go Perl class escape (Go's are ASCII-only).
fn perl_class(c: char) -> Option<&'static str> {
    Some(match c {
        'd' => "[0-9]",
        'D' => "[^0-9]",
        'w' => "[0-9A-Za-z_]",
        'W' => "[^0-9A-Za-z_]",
        's' => "[\\t\\n\\f\\r ]",
        'S' => "[^\\t\\n\\f\\r ]",
        'b' => "(?-u:\\b)",
        'B' => "(?-u:\\B)",
        _ => return None,
    })
}

/// Go's Unicode class at the start of `rest` (`\pL`, `\p{Greek}`,
/// `\P{^Lu}`...): its length in chars and the same runes as a Rust class,
/// from Go's own tables, so names Go does not know fail as in Go and the
/// classes hold Go's runes, not those of a newer Unicode.
fn unicode_class(rest: &[char]) -> Result<(usize, String), String> {
    let mut negated = rest.get(1) == Some(&'P');
    let (len, name): (usize, String) = match rest.get(2) {
        Some('{') => match rest.iter().position(|&c| c == '}') {
            Some(end) => (
                end + 1,
                rest.get(3..end).unwrap_or_default().iter().collect(),
            ),
            None => return Err(syntax_error("invalid character class range", rest)),
        },
        Some(c) => (3, c.to_string()),
        None => (2, String::new()),
    };
    let name = match name.strip_prefix('^') {
        Some(positive) => {
            negated = !negated;
            positive
        }
        None => &name,
    };
    let Some(ranges) = gotemplate::go::unicode::table(name) else {
        return Err(syntax_error(
            "invalid character class range",
            rest.get(..len).unwrap_or_default(),
        ));
    };
    Ok((len, rust_class(&ranges, negated)))
}

/// `[...]` (or `[^...]`) of inclusive rune ranges in Rust's syntax; valid
/// inside a class too, where Rust reads it as a nested class.
fn rust_class(ranges: &[(u32, u32)], negated: bool) -> String {
    use std::fmt::Write as _;
    if ranges.is_empty() {
        // A set of no runes: the negation of every rune.
        let all = r"\x{0}-\x{10FFFF}";
        return if negated {
            format!("[{all}]")
        } else {
            format!("[^{all}]")
        };
    }
    let mut out = String::with_capacity(ranges.len() * 16 + 3);
    out.push_str(if negated { "[^" } else { "[" });
    for &(lo, hi) in ranges {
        let _ = write!(out, "\\x{{{lo:X}}}");
        if hi > lo {
            let _ = write!(out, "-\\x{{{hi:X}}}");
        }
    }
    out.push(']');
    out
}

/// A Go counted repetition `{n}`, `{n,}`, `{n,m}` at the start of `rest`:
/// its length in chars and its bounds.
fn counted_repeat(rest: &[char]) -> Option<(usize, u64, Option<u64>)> {
    let mut i = 1;
    let digits = |i: &mut usize| {
        let start = *i;
        while rest.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
        let text: String = rest.get(start..*i).unwrap_or_default().iter().collect();
        (*i > start).then(|| text.parse::<u64>().unwrap_or(u64::MAX))
    };
    let min = digits(&mut i)?;
    let max = if rest.get(i) == Some(&',') {
        i += 1;
        digits(&mut i)
    } else {
        Some(min)
    };
    (rest.get(i) == Some(&'}')).then_some((i + 1, min, max))
}

fn syntax_error(what: &str, frag: &[char]) -> String {
    let frag: String = frag.iter().collect();
    format!("error parsing regexp: {what}: {}", backquote(&frag))
}

/// Rewrites a Go (RE2) pattern for Rust's `regex`: ASCII Perl classes,
/// `\Q…\E` literals, `{` that is not a repetition as a literal; and rejects
/// what Go rejects but Rust accepts (stacked repetitions, counts over 1000,
/// `(?<`).
fn translate(pattern: &str) -> Result<String, String> {
    let p: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut i = 0;
    let mut in_class = false;
    let mut class_start = false;
    // Where the repetition operator just emitted began, if the last thing
    // emitted was one.
    let mut last_repeat: Option<usize> = None;
    while let Some(&c) = p.get(i) {
        if in_class {
            match c {
                '\\' if matches!(p.get(i + 1), Some('p' | 'P')) => {
                    let (len, class) = unicode_class(p.get(i..).unwrap_or_default())?;
                    out.push_str(&class);
                    i += len;
                }
                '\\' => {
                    match p.get(i + 1).copied().and_then(perl_class) {
                        Some(class) => out.push_str(class),
                        None => {
                            out.push('\\');
                            if let Some(n) = p.get(i + 1) {
                                out.push(*n);
                            }
                        }
                    }
                    i += 2;
                }
                '[' if p.get(i + 1) == Some(&':') => {
                    let end = (i + 2..p.len().saturating_sub(1))
                        .find(|&k| p.get(k) == Some(&':') && p.get(k + 1) == Some(&']'))
                        .map_or(i + 1, |k| k + 2);
                    out.extend(p.get(i..end).unwrap_or_default());
                    i = end;
                }
                // Literal in Go; class syntax (nesting, set operations) in Rust.
                '[' | '&' | '~' => {
                    out.push('\\');
                    out.push(c);
                    i += 1;
                }
                ']' if !class_start => {
                    in_class = false;
                    out.push(c);
                    i += 1;
                }
                other => {
                    out.push(other);
                    i += 1;
                }
            }
            class_start = false;
            continue;
        }
        let repeat_len = match c {
            '*' | '+' | '?' => Some(1),
            '{' => match counted_repeat(p.get(i..).unwrap_or_default()) {
                Some((len, min, max)) => {
                    if min > 1000 || max.is_some_and(|m| m > 1000 || m < min) {
                        return Err(syntax_error(
                            "invalid repeat count",
                            p.get(i..i + len).unwrap_or_default(),
                        ));
                    }
                    Some(len)
                }
                None => None,
            },
            _ => None,
        };
        if let Some(len) = repeat_len {
            let lazy = usize::from(p.get(i + len) == Some(&'?'));
            let end = i + len + lazy;
            if let Some(start) = last_repeat {
                return Err(syntax_error(
                    "invalid nested repetition operator",
                    p.get(start..end).unwrap_or_default(),
                ));
            }
            out.extend(p.get(i..end).unwrap_or_default());
            last_repeat = Some(i);
            i = end;
            continue;
        }
        last_repeat = None;
        match c {
            '\\' => {
                let next = p.get(i + 1).copied();
                if next == Some('Q') {
                    let body_start = i + 2;
                    let end = (body_start..p.len())
                        .find(|&k| p.get(k) == Some(&'\\') && p.get(k + 1) == Some(&'E'))
                        .unwrap_or(p.len());
                    for ch in p.get(body_start..end).unwrap_or_default() {
                        out.push_str(&regex::escape(&ch.to_string()));
                    }
                    i = (end + 2).min(p.len().max(end));
                    continue;
                }
                if matches!(next, Some('p' | 'P')) {
                    let (len, class) = unicode_class(p.get(i..).unwrap_or_default())?;
                    out.push_str(&class);
                    i += len;
                    continue;
                }
                match next.and_then(perl_class) {
                    Some(class) => out.push_str(class),
                    None => {
                        out.push('\\');
                        if let Some(n) = next {
                            out.push(n);
                        }
                    }
                }
                i += 2;
            }
            '[' => {
                in_class = true;
                class_start = true;
                out.push('[');
                i += 1;
                if p.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
            }
            '{' => {
                out.push_str("\\{");
                i += 1;
            }
            '(' if p.get(i + 1) == Some(&'?') && p.get(i + 2) == Some(&'<') => {
                return Err(syntax_error(
                    "invalid or unsupported Perl syntax",
                    p.get(i..i + 3).unwrap_or_default(),
                ));
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// `FindAllStringIndex(s, n)`: at most `n` matches when `n >= 0`, stopped
/// by the render budget once the strings they make cannot fit (an empty
/// pattern matches at every byte).
fn find_all(r: &Regex, s: &str, n: i64) -> Result<Vec<(usize, usize)>, String> {
    let limit = usize::try_from(n).unwrap_or(usize::MAX);
    let mut tally = Tally::new();
    let mut out = Vec::new();
    for m in r.find_iter(s).take(limit) {
        tally
            .add_string(m.len())
            .map_err(|why| args::exhausted("regexFindAll", why))?;
        out.push((m.start(), m.end()));
    }
    Ok(out)
}

/// Go's `Regexp.Split`.
fn split(r: &Regex, pattern: &str, s: &str, n: i64) -> Result<Vec<String>, String> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if !pattern.is_empty() && s.is_empty() {
        return Ok(vec![String::new()]);
    }
    let mut out: Vec<String> = Vec::new();
    let (mut beg, mut end) = (0usize, 0usize);
    for (ms, me) in find_all(r, s, n)? {
        if n > 0 && out.len() as i64 == n - 1 {
            break;
        }
        end = ms;
        if me != 0 {
            out.push(s.get(beg..end).unwrap_or_default().to_string());
        }
        beg = me;
    }
    if end != s.len() {
        out.push(s.get(beg..).unwrap_or_default().to_string());
    }
    Ok(out)
}

/// Go's `regexp.QuoteMeta`.
fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perl_classes_are_ascii_only_like_go() {
        let r = compile(r"^\w+$").unwrap();
        assert!(r.is_match("abc_1"));
        assert!(!r.is_match("été"));
        assert!(compile(r"[\d.]+").unwrap().is_match("1.5"));
        assert!(compile(r"[[:alpha:][]+").unwrap().is_match("a["));
        assert!(compile(r"[]a]").unwrap().is_match("]"));
        assert_eq!(
            compile(r"\Qa.b\E+")
                .unwrap()
                .find("xa.bb")
                .map(|m| m.as_str()),
            Some("a.bb")
        );
        assert_eq!(
            compile("a{,2}").unwrap().find("a{,2}").map(|m| m.as_str()),
            Some("a{,2}")
        );
        assert_eq!(
            compile("x{2}{3}").unwrap_err(),
            "error parsing regexp: invalid nested repetition operator: `{2}{3}`"
        );
        assert_eq!(
            compile("a(?=b)").unwrap_err(),
            "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"
        );
        assert_eq!(
            compile("(?<!a)b").unwrap_err(),
            "error parsing regexp: invalid or unsupported Perl syntax: `(?<`"
        );
        assert_eq!(
            compile("a*?+").unwrap_err(),
            "error parsing regexp: invalid nested repetition operator: `*?+`"
        );
        assert_eq!(
            compile("a{1001}").unwrap_err(),
            "error parsing regexp: invalid repeat count: `{1001}`"
        );
    }

    #[test]
    fn unicode_classes_are_gos_scripts_and_categories() {
        let found = |pattern: &str, text: &str| {
            compile(pattern)
                .unwrap()
                .find(text)
                .map(|m| m.as_str().to_string())
        };
        assert_eq!(found(r"\p{Han}+", "ab漢字cd").as_deref(), Some("漢字"));
        assert_eq!(found(r"\p{Greek}+", "abγδε").as_deref(), Some("γδε"));
        assert_eq!(found(r"\pL+", "1é2").as_deref(), Some("é"));
        assert_eq!(found(r"\p{Lu}\PL", "aB1").as_deref(), Some("B1"));
        assert_eq!(found(r"[^\p{^Lu}x]+", "abCDxE").as_deref(), Some("CD"));
        assert_eq!(found(r"[\p{Nd}]+", "a٣4b").as_deref(), Some("٣4"));
        assert_eq!(found(r"\p{Cs}", "a"), None);
        assert_eq!(
            compile(r"\p{Letter}").unwrap_err(),
            "error parsing regexp: invalid character class range: `\\p{Letter}`"
        );
        assert_eq!(
            compile(r"a\pX").unwrap_err(),
            "error parsing regexp: invalid character class range: `\\pX`"
        );
        assert_eq!(
            compile(r"\p{Greek").unwrap_err(),
            "error parsing regexp: invalid character class range: `\\p{Greek`"
        );
    }

    #[test]
    fn split_follows_go_limits() {
        let r = compile("a").unwrap();
        assert_eq!(
            split(&r, "a", "banana", -1).unwrap(),
            vec!["b", "n", "n", ""]
        );
        assert_eq!(split(&r, "a", "banana", 2).unwrap(), vec!["b", "nana"]);
        assert!(split(&r, "a", "banana", 0).unwrap().is_empty());
        assert_eq!(split(&r, "a", "", -1).unwrap(), vec![""]);
    }

    #[test]
    fn compile_errors_name_the_pattern() {
        assert_eq!(
            compile("(").unwrap_err(),
            "error parsing regexp: missing closing ): `(`"
        );
        assert_eq!(
            compile("a)").unwrap_err(),
            "error parsing regexp: unexpected ): `a)`"
        );
        assert_eq!(
            compile("x[a-").unwrap_err(),
            "error parsing regexp: missing closing ]: `[a-`"
        );
        assert_eq!(
            compile("*a").unwrap_err(),
            "error parsing regexp: missing argument to repetition operator: `*`"
        );
        assert_eq!(quote_meta("a.b*c"), "a\\.b\\*c");
    }
}
