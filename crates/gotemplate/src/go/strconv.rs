//! Go's `strconv` quoting: `Quote`, `QuoteToASCII`, `QuoteRune`,
//! `CanBackquote`, and `IsPrint` from Go's own table.

use super::tables::PRINT;

/// `strconv.IsPrint` (the same set as `unicode.IsPrint`): letters, marks,
/// numbers, punctuation, symbols and the ASCII space.
pub fn is_print(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        return (0x20..0x7F).contains(&u);
    }
    PRINT
        .binary_search_by(|&(lo, hi)| {
            if hi < u {
                std::cmp::Ordering::Less
            } else if lo > u {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// `strconv.Quote`: `"` + the escaped text + `"`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    quote_into(&mut out, s, false);
    out
}

/// `strconv.Quote` (or `QuoteToASCII` when `ascii_only`) appended to `out`.
pub fn quote_into(out: &mut String, s: &str, ascii_only: bool) {
    out.push('"');
    for c in s.chars() {
        escape_rune(out, c, '"', ascii_only);
    }
    out.push('"');
}

/// `strconv.QuoteRune` (or `QuoteRuneToASCII` when `ascii_only`) appended
/// to `out`.
pub fn quote_rune_into(out: &mut String, c: char, ascii_only: bool) {
    out.push('\'');
    escape_rune(out, c, '\'', ascii_only);
    out.push('\'');
}

/// `strconv.CanBackquote`: whether `` `s` `` reads back as `s`.
pub fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !(c < ' ' || c == '\u{7f}')))
}

/// How one rune of a quoted string is written.
enum Escape {
    Raw(char),
    /// `\"`, `\\`, `\'`
    Backslash(char),
    /// `\n` and the other one-letter escapes.
    Short(&'static str),
    /// `\xHH`, `\uHHHH` or `\UHHHHHHHH`
    Hex(u32),
}

fn escape(c: char, quote: char, ascii_only: bool) -> Escape {
    if c == quote || c == '\\' {
        return Escape::Backslash(c);
    }
    let raw = if ascii_only {
        c.is_ascii() && is_print(c)
    } else {
        is_print(c)
    };
    if raw {
        return Escape::Raw(c);
    }
    match c {
        '\u{7}' => Escape::Short("\\a"),
        '\u{8}' => Escape::Short("\\b"),
        '\u{c}' => Escape::Short("\\f"),
        '\n' => Escape::Short("\\n"),
        '\r' => Escape::Short("\\r"),
        '\t' => Escape::Short("\\t"),
        '\u{b}' => Escape::Short("\\v"),
        _ => Escape::Hex(c as u32),
    }
}

impl Escape {
    fn len(&self) -> usize {
        match self {
            Escape::Raw(c) => c.len_utf8(),
            Escape::Backslash(_) | Escape::Short(_) => 2,
            Escape::Hex(u) if *u < 0x20 || *u == 0x7f => 4,
            Escape::Hex(u) if *u < 0x10000 => 6,
            Escape::Hex(_) => 10,
        }
    }

    fn write(&self, out: &mut String) {
        use std::fmt::Write as _;
        match *self {
            Escape::Raw(c) => out.push(c),
            Escape::Backslash(c) => {
                out.push('\\');
                out.push(c);
            }
            Escape::Short(s) => out.push_str(s),
            Escape::Hex(u) => {
                let _ = if u < 0x20 || u == 0x7f {
                    write!(out, "\\x{u:02x}")
                } else if u < 0x10000 {
                    write!(out, "\\u{u:04x}")
                } else {
                    write!(out, "\\U{u:08x}")
                };
            }
        }
    }
}

fn escape_rune(out: &mut String, c: char, quote: char, ascii_only: bool) {
    escape(c, quote, ascii_only).write(out);
}

/// The length of `strconv.Quote(s)` (or `QuoteToASCII`), without building
/// it: printers check it fits before they quote.
pub fn quoted_len(s: &str, ascii_only: bool) -> usize {
    s.chars()
        .map(|c| escape(c, '"', ascii_only).len())
        .fold(2, usize::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_runes_follow_gos_table_at_its_boundaries() {
        for (c, printable) in [
            (' ', true),
            ('~', true),
            ('\u{7f}', false),
            ('\u{a0}', false),
            ('\u{a1}', true),
            ('\u{ad}', false),
            ('\u{200b}', false),
            ('\u{e000}', false),
            ('\u{feff}', false),
            ('\u{e0001}', false),
            ('\u{e0100}', true),
            ('\u{e01ef}', true),
            ('\u{e01f0}', false),
            ('\u{f0000}', false),
        ] {
            assert_eq!(is_print(c), printable, "{:04X}", c as u32);
        }
    }

    #[test]
    fn quoting_escapes_what_go_escapes() {
        assert_eq!(quote("a\"b\n\u{1}é"), "\"a\\\"b\\n\\x01é\"");
        assert_eq!(quote("\u{e0001}\u{e0100}"), "\"\\U000e0001\u{e0100}\"");
        let mut ascii = String::new();
        quote_into(&mut ascii, "é\u{7f}", true);
        assert_eq!(ascii, "\"\\u00e9\\x7f\"");
        let mut rune = String::new();
        quote_rune_into(&mut rune, '\'', false);
        assert_eq!(rune, "'\\''");
        assert!(can_backquote("a\tb"));
        for text in ["", "a\"\\\n\u{1}\u{7f}é\u{e0001}\u{e0100}"] {
            for ascii in [false, true] {
                let mut q = String::new();
                quote_into(&mut q, text, ascii);
                assert_eq!(quoted_len(text, ascii), q.len(), "{text:?}");
            }
        }
        assert!(!can_backquote("a`b"));
    }
}
