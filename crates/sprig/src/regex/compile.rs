//! Go (RE2) patterns compiled for Rust's `regex`: the rewrite of Go's
//! syntax, Go's error messages for what either side rejects, and the cache
//! of small compiled patterns.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use regex::{Regex, RegexBuilder};

use super::backquote;

/// Compiled patterns kept across calls: a template calls these functions
/// with the same few literal patterns over and over, and compiling dominated
/// their cost. Only small programs are kept, each with a small lazy-DFA
/// cache (one per thread that runs it): a template can build thousands of
/// distinct patterns, and a cache of large ones would hold on to hundreds
/// of megabytes that no render's budget sees. Larger patterns compile for
/// the call and are freed after it. Emptied when full.
const CACHED_PATTERNS: usize = 64;
/// Largest compiled program kept in the cache.
const CACHED_PROGRAM_BYTES: usize = 64 * 1024;
/// Lazy-DFA cache of a kept pattern, per thread (the regex crate's
/// default is 2 MiB).
const CACHED_DFA_BYTES: usize = 128 * 1024;

fn pattern_cache() -> &'static Mutex<HashMap<String, Regex>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Regex>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

fn cached_patterns() -> std::sync::MutexGuard<'static, HashMap<String, Regex>> {
    pattern_cache().lock().unwrap_or_else(|p| p.into_inner())
}

/// Compiles a Go (RE2) pattern (`Regex` clones share the compiled program).
pub(super) fn compile(pattern: &str) -> Result<Regex, String> {
    if let Some(regex) = cached_patterns().get(pattern) {
        return Ok(regex.clone());
    }
    // Compiled outside the lock: a large pattern must not hold up other
    // renders' lookups.
    let translated = translate(pattern)?;
    let small = RegexBuilder::new(&translated)
        .size_limit(CACHED_PROGRAM_BYTES)
        .dfa_size_limit(CACHED_DFA_BYTES)
        .build();
    let regex = match small {
        Ok(regex) => regex,
        Err(regex::Error::CompiledTooBig(_)) => {
            return Regex::new(&translated).map_err(|e| go_syntax_error(pattern, &e));
        }
        Err(e) => return Err(go_syntax_error(pattern, &e)),
    };
    let mut cache = cached_patterns();
    if cache.len() >= CACHED_PATTERNS {
        cache.clear();
    }
    cache.insert(pattern.to_owned(), regex.clone());
    Ok(regex)
}

/// The error Go's `regexp/syntax` gives for a pattern Rust rejects, from
/// the parse error's kind and span.
pub(super) fn go_syntax_error(pattern: &str, e: &regex::Error) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_small_patterns_stay_compiled() {
        let small = "^cache-test-[a-z]+$";
        assert!(compile(small).unwrap().is_match("cache-test-abc"));
        assert!(cached_patterns().contains_key(small));
        // Thousands of Unicode letter classes: far past the cached size.
        let large = r"^\pL{40}cache-test$";
        let text = format!("{}cache-test", "é".repeat(40));
        assert!(compile(large).unwrap().is_match(&text));
        assert!(!cached_patterns().contains_key(large));
        assert!(compile(large).unwrap().is_match(&text), "compiled again");
    }
}
