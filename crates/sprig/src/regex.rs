//! sprig's regular-expression functions over Rust's `regex`, with Go's
//! RE2 flavour: `\d`, `\w`, `\s` and `\b` are ASCII-only as in Go, and
//! `Split`/`FindAll` limits follow Go's `regexp` package.

use gotemplate::{FuncMap, Function, Param, Value};
use regex::Regex;

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
                let found = find_all(&r, args::string(a, 1)?, args::int(a, 2)?);
                Ok(Value::str_list(found.into_iter().map(|(s, e)| {
                    args::string(a, 1)
                        .ok()
                        .and_then(|t| t.get(s..e))
                        .unwrap_or_default()
                })))
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
                check_replace_size(&r, s, repl)?;
                Ok(Value::string(r.replace_all(s, repl).into_owned()))
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
                check_replace_size(&r, s, repl)?;
                Ok(Value::string(
                    r.replace_all(s, regex::NoExpand(repl)).into_owned(),
                ))
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
                )))
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

/// Refuses replacements whose result would exceed the sandbox bound. A
/// group reference expands to at most its whole match, so the result is at
/// most input + Σ (replacement + references × match length).
fn check_replace_size(r: &Regex, s: &str, repl: &str) -> Result<(), String> {
    let refs = repl.matches('$').count() as u128;
    let (count, matched) = r.find_iter(s).fold((0u128, 0u128), |(n, total), m| {
        (n + 1, total + m.len() as u128)
    });
    crate::args::check_size(
        "regexReplaceAll",
        s.len() as u128 + count * repl.len() as u128 + refs * matched,
    )
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
        crate::strings::go_quote(s)
    } else {
        format!("`{s}`")
    }
}

/// Compiles a Go (RE2) pattern.
fn compile(pattern: &str) -> Result<Regex, String> {
    Regex::new(&translate(pattern)).map_err(|e| go_syntax_error(pattern, &e))
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

/// Rewrites Go's ASCII-only Perl classes into explicit ASCII classes.
fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => out.push_str("[0-9]"),
            Some('D') => out.push_str("[^0-9]"),
            Some('w') => out.push_str("[0-9A-Za-z_]"),
            Some('W') => out.push_str("[^0-9A-Za-z_]"),
            Some('s') => out.push_str("[\\t\\n\\f\\r ]"),
            Some('S') => out.push_str("[^\\t\\n\\f\\r ]"),
            Some('b') => out.push_str("(?-u:\\b)"),
            Some('B') => out.push_str("(?-u:\\B)"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// `FindAllStringIndex(s, n)`: at most `n` matches when `n >= 0`.
fn find_all(r: &Regex, s: &str, n: i64) -> Vec<(usize, usize)> {
    let it = r.find_iter(s).map(|m| (m.start(), m.end()));
    if n < 0 {
        it.collect()
    } else {
        it.take(n as usize).collect()
    }
}

/// Go's `Regexp.Split`.
fn split(r: &Regex, pattern: &str, s: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if !pattern.is_empty() && s.is_empty() {
        return vec![String::new()];
    }
    let mut out: Vec<String> = Vec::new();
    let (mut beg, mut end) = (0usize, 0usize);
    for (ms, me) in find_all(r, s, n) {
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
    out
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
    }

    #[test]
    fn replacements_are_bounded() {
        let r = compile("").unwrap();
        let big = "x".repeat(1000);
        assert!(check_replace_size(&r, &"a".repeat(10_000), &big).is_err());
        assert!(check_replace_size(&r, "abc", "-").is_ok());
    }

    #[test]
    fn split_follows_go_limits() {
        let r = compile("a").unwrap();
        assert_eq!(split(&r, "a", "banana", -1), vec!["b", "n", "n", ""]);
        assert_eq!(split(&r, "a", "banana", 2), vec!["b", "nana"]);
        assert!(split(&r, "a", "banana", 0).is_empty());
        assert_eq!(split(&r, "a", "", -1), vec![""]);
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
