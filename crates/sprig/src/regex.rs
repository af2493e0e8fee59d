//! sprig's regular-expression functions over Rust's `regex`, with Go's
//! RE2 flavour: `\d`, `\w`, `\s` and `\b` are ASCII-only as in Go, and
//! `Split`/`FindAll` limits follow Go's `regexp` package.

use gotemplate::{FuncMap, Function, Param, Value};

use regex::Regex;

use gotemplate::budget::{self, Tally};

use crate::args;

mod compile;

use compile::compile;

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
