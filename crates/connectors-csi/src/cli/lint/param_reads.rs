//! Which params a template reads from `.configurations`, and where: the
//! forms ConnectorClasses use, `.configurations.NAME`,
//! `$.configurations.NAME` and `index .configurations "NAME"`.
//!
//! The engine's parse tree is not public, so this reads the template's
//! actions itself, as far as it must: strings, raw strings and comments are
//! skipped, and `.` is followed through `with`/`range`/`define`, which
//! rebind it (a `.configurations` there is not the params).

/// A param read by a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamRead {
    pub name: String,
    /// Byte offset of the reading expression in the template.
    pub offset: usize,
}

/// What the body of an open `if`/`with`/`range`/`define`/`block` does to `.`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// `.` is still the enclosing one (`if`, and the `else` of `with`/`range`).
    KeepsDot,
    /// `.` is something else (`with`, `range`).
    RebindsDot,
    /// `.` and `$` are the caller's (`define`, `block`).
    Template,
}

/// Every param read found in `source`; an action that does not lex (the
/// parser reports those) ends the search.
pub fn param_reads(source: &str) -> Vec<ParamRead> {
    let mut reads = Vec::new();
    let mut scopes: Vec<(Scope, &'static str)> = Vec::new();
    let mut rest = 0;
    while let Some(open) = source[rest..].find("{{").map(|at| rest + at) {
        let Some((tokens, end)) = lex_action(source, open + 2) else {
            break;
        };
        rest = end;
        let dot_is_root = scopes.iter().all(|(scope, _)| *scope == Scope::KeepsDot);
        let root_var = !scopes.iter().any(|(scope, _)| *scope == Scope::Template);
        collect(&tokens, dot_is_root, root_var, &mut reads);
        enter_or_leave(&tokens, &mut scopes);
    }
    reads
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    /// `.name` (one step of a chain), with whether it follows the previous
    /// token without a space.
    Field {
        name: String,
        joined: bool,
    },
    /// A bare `$` (the root variable), `$name`, a keyword or a function.
    Word(String),
    Str(Option<String>),
    Other,
}

/// The tokens of the action starting at byte `at` (after `{{`), and the
/// byte after its `}}`.
fn lex_action(source: &str, at: usize) -> Option<(Vec<(Token, usize)>, usize)> {
    let bytes = source.as_bytes();
    let mut i = at;
    let mut tokens = Vec::new();
    if source[i..].starts_with("- ") {
        i += 2;
    }
    let trimmed = source[i..].trim_start();
    if trimmed.starts_with("/*") {
        let close = source[i..].find("*/")? + i + 2;
        let end = source[close..].find("}}")? + close + 2;
        return Some((tokens, end));
    }
    let mut previous_end = usize::MAX;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b'}' if bytes.get(i + 1) == Some(&b'}') => return Some((tokens, i + 2)),
            b'-' if source[i..].starts_with("-}}") && i > at && bytes[i - 1] == b' ' => {
                return Some((tokens, i + 3));
            }
            b'"' => {
                let (value, end) = quoted_string(source, i)?;
                tokens.push((Token::Str(value), start));
                i = end;
            }
            b'`' => {
                let end = source[i + 1..].find('`')? + i + 2;
                tokens.push((Token::Str(Some(source[i + 1..end - 1].to_owned())), start));
                i = end;
            }
            b'\'' => {
                let mut j = i + 1;
                while j < bytes.len() && bytes[j] != b'\'' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                tokens.push((Token::Other, start));
                i = j + 1;
            }
            b'.' if bytes.get(i + 1).is_some_and(|b| is_ident_start(*b)) => {
                let end = ident_end(bytes, i + 1);
                let joined = previous_end == i;
                tokens.push((
                    Token::Field {
                        name: source[i + 1..end].to_owned(),
                        joined,
                    },
                    start,
                ));
                i = end;
            }
            b'$' => {
                let end = ident_end(bytes, i + 1);
                tokens.push((Token::Word(source[i..end].to_owned()), start));
                i = end;
            }
            _ if is_ident_start(c) => {
                let end = ident_end(bytes, i);
                tokens.push((Token::Word(source[i..end].to_owned()), start));
                i = end;
            }
            _ if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            _ => {
                tokens.push((Token::Other, start));
                i += 1;
            }
        }
        previous_end = i;
    }
    None
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn ident_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
        i += 1;
    }
    i
}

/// A `"..."` string: its value when it has no escape (a param name has
/// none), and the byte after its closing quote.
fn quoted_string(source: &str, at: usize) -> Option<(Option<String>, usize)> {
    let bytes = source.as_bytes();
    let mut i = at + 1;
    let mut escaped = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                escaped = true;
                i += 2;
            }
            b'"' => {
                let value = (!escaped).then(|| source[at + 1..i].to_owned());
                return Some((value, i + 1));
            }
            b'\n' => return None,
            _ => i += 1,
        }
    }
    None
}

/// The reads of one action's tokens.
fn collect(tokens: &[(Token, usize)], dot_is_root: bool, root_var: bool, out: &mut Vec<ParamRead>) {
    for (at, (token, offset)) in tokens.iter().enumerate() {
        let Token::Field { name, joined } = token else {
            continue;
        };
        if name != "configurations" {
            continue;
        }
        let rooted = match at.checked_sub(1).map(|before| &tokens[before]) {
            Some((Token::Word(word), _)) if word == "$" && *joined => root_var,
            _ if *joined => false,
            _ => dot_is_root,
        };
        if !rooted {
            continue;
        }
        let start = match (*joined, at) {
            (true, at) if at > 0 => tokens[at - 1].1,
            _ => *offset,
        };
        match tokens.get(at + 1) {
            Some((Token::Field { name, joined: true }, _)) => out.push(ParamRead {
                name: name.clone(),
                offset: start,
            }),
            Some((Token::Str(Some(name)), _)) if is_index_call(tokens, at) => {
                out.push(ParamRead {
                    name: name.clone(),
                    offset: start,
                });
            }
            _ => {}
        }
    }
}

/// Whether the `.configurations` at `at` (or `$.configurations`) is the
/// first argument of `index`.
fn is_index_call(tokens: &[(Token, usize)], at: usize) -> bool {
    let first = match &tokens[at] {
        (Token::Field { joined: true, .. }, _) => at.checked_sub(1),
        _ => Some(at),
    };
    first
        .and_then(|first| first.checked_sub(1))
        .is_some_and(|before| matches!(&tokens[before].0, Token::Word(word) if word == "index"))
}

/// Opens or closes a scope for the control word starting the action.
fn enter_or_leave(tokens: &[(Token, usize)], scopes: &mut Vec<(Scope, &'static str)>) {
    let word = |at: usize| match tokens.get(at) {
        Some((Token::Word(word), _)) => word.as_str(),
        _ => "",
    };
    match word(0) {
        "if" => scopes.push((Scope::KeepsDot, "if")),
        "with" => scopes.push((Scope::RebindsDot, "with")),
        "range" => scopes.push((Scope::RebindsDot, "range")),
        "define" | "block" => scopes.push((Scope::Template, "define")),
        "end" => {
            scopes.pop();
        }
        "else" => {
            if let Some((scope, kind)) = scopes.last_mut() {
                *scope = match (word(1), *kind) {
                    ("with", _) => Scope::RebindsDot,
                    (_, "define") => Scope::Template,
                    _ => Scope::KeepsDot,
                };
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(source: &str) -> Vec<String> {
        param_reads(source).into_iter().map(|r| r.name).collect()
    }

    #[test]
    fn the_forms_classes_use_are_found_with_their_offsets() {
        let source =
            "a {{ .configurations.registry }} b {{ index .configurations \"strictSSL\" }}\n\
                      {{- $r := $.configurations.repo -}}";
        let reads = param_reads(source);
        assert_eq!(
            reads.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["registry", "strictSSL", "repo"]
        );
        assert_eq!(
            &source[reads[0].offset..reads[0].offset + 15],
            ".configurations"
        );
        assert_eq!(
            &source[reads[1].offset..reads[1].offset + 15],
            ".configurations"
        );
        assert_eq!(
            &source[reads[2].offset..reads[2].offset + 16],
            "$.configurations"
        );
    }

    #[test]
    fn strings_comments_and_other_chains_are_not_reads() {
        let source = "{{/* .configurations.a */}}{{ \".configurations.b\" }}\
                      {{ `.configurations.c` }}{{ $x.configurations.d }}{{ .connector.configurations.e }}\
                      {{ (.configurations).f }}{{ .configurations }}";
        assert!(names(source).is_empty(), "{:?}", names(source));
    }

    #[test]
    fn a_rebound_dot_is_not_the_params_but_dollar_still_is() {
        let source = "{{ range .connectors }}{{ .configurations.a }}{{ $.configurations.b }}{{ end }}\
                      {{ with .connector }}{{ .configurations.c }}{{ else }}{{ .configurations.d }}{{ end }}\
                      {{ if true }}{{ .configurations.e }}{{ end }}\
                      {{ define \"t\" }}{{ $.configurations.f }}{{ end }}{{ .configurations.g }}";
        assert_eq!(names(source), ["b", "d", "e", "g"]);
    }

    #[test]
    fn a_with_over_the_params_reads_in_its_own_pipeline() {
        assert_eq!(names("{{ with .configurations.a }}{{ . }}{{ end }}"), ["a"]);
        assert_eq!(names("{{- if .configurations.b -}}x{{- end -}}"), ["b"]);
    }

    #[test]
    fn an_unclosed_action_ends_the_search_without_panicking() {
        assert_eq!(names("{{ .configurations.a }}{{ .configurations.b"), ["a"]);
        assert!(names("{{ \"unterminated").is_empty());
    }
}
