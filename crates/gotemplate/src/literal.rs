//! Constants in actions, read as Go reads them: `strconv.Unquote` for
//! strings and char constants, `ParseInt`/`ParseUint`/`ParseFloat` with
//! base prefixes and underscores for numbers.

use crate::ast::Number;
use crate::go::strconv;

const SYNTAX: &str = "invalid syntax";

/// `strconv.UnquoteChar` on bytes: one (possibly escaped) character of a
/// quoted literal, appended to `out` as Go would (bytes for `\x` and octal).
fn unquote_char(s: &str, quote: char, out: &mut Vec<u8>) -> Result<usize, &'static str> {
    let mut chars = s.chars();
    let c = chars.next().ok_or(SYNTAX)?;
    if c == quote && (quote == '\'' || quote == '"') {
        return Err(SYNTAX);
    }
    if c != '\\' {
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        return Ok(c.len_utf8());
    }
    let b = s.as_bytes();
    let e = *b.get(1).ok_or(SYNTAX)?;
    let simple = match e {
        b'a' => Some(7u8),
        b'b' => Some(8),
        b'f' => Some(12),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        b'v' => Some(11),
        b'\\' => Some(b'\\'),
        b'\'' | b'"' => {
            if e as char != quote {
                return Err(SYNTAX);
            }
            Some(e)
        }
        _ => None,
    };
    if let Some(v) = simple {
        out.push(v);
        return Ok(2);
    }
    match e {
        b'x' | b'u' | b'U' => {
            let n = match e {
                b'x' => 2,
                b'u' => 4,
                _ => 8,
            };
            let digits = s.get(2..2 + n).ok_or(SYNTAX)?;
            let v = u32::from_str_radix(digits, 16).map_err(|_| SYNTAX)?;
            if !digits.bytes().all(|d| d.is_ascii_hexdigit()) {
                return Err(SYNTAX);
            }
            if e == b'x' {
                out.push(v as u8);
            } else {
                let c = char::from_u32(v).ok_or(SYNTAX)?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            Ok(2 + n)
        }
        b'0'..=b'7' => {
            let digits = s.get(1..4).ok_or(SYNTAX)?;
            if !digits.bytes().all(|d| (b'0'..=b'7').contains(&d)) {
                return Err(SYNTAX);
            }
            let v = u32::from_str_radix(digits, 8).map_err(|_| SYNTAX)?;
            if v > 255 {
                return Err(SYNTAX);
            }
            out.push(v as u8);
            Ok(4)
        }
        _ => Err(SYNTAX),
    }
}

/// `strconv.Unquote` of a `"..."` or `` `...` `` literal. Bytes that do not
/// form UTF-8 become U+FFFD (a Rust string cannot hold them).
pub(crate) fn unquote(lit: &str) -> Result<String, &'static str> {
    let b = lit.as_bytes();
    if b.len() < 2 || b[0] != b[b.len() - 1] || !matches!(b[0], b'"' | b'`') {
        return Err(SYNTAX);
    }
    let inner = &lit[1..lit.len() - 1];
    match b[0] {
        b'`' => {
            if inner.contains('`') {
                return Err(SYNTAX);
            }
            Ok(inner.replace('\r', ""))
        }
        b'"' => {
            if inner.contains('\n') {
                return Err(SYNTAX);
            }
            if !inner.contains('\\') && !inner.contains('"') {
                return Ok(inner.to_string());
            }
            let mut out = Vec::with_capacity(inner.len());
            let mut i = 0;
            while i < inner.len() {
                i += unquote_char(&inner[i..], '"', &mut out)?;
            }
            Ok(String::from_utf8_lossy(&out).into_owned())
        }
        _ => Err(SYNTAX),
    }
}

/// A char constant `'x'` as Go's `newNumber` reads it.
fn char_constant(text: &str) -> Result<Number, String> {
    let body = text.get(1..).unwrap_or("");
    let mut buf = Vec::new();
    let n = unquote_char(body, '\'', &mut buf).map_err(str::to_string)?;
    if &body[n..] != "'" {
        return Err(format!("malformed character constant: {text}"));
    }
    let v: i64 = if buf.len() == 1 {
        i64::from(buf[0])
    } else {
        std::str::from_utf8(&buf)
            .ok()
            .and_then(|s| s.chars().next())
            .map_or(0xFFFD, |c| c as i64)
    };
    Ok(Number {
        text: text.into(),
        is_int: true,
        is_uint: true,
        is_float: true,
        is_complex: false,
        int: v,
        uint: v as u64,
        float: v as f64,
        imag: 0.0,
    })
}

/// Go's `underscoreOK`: underscores only between digits (or after a prefix).
fn underscore_ok(s: &str) -> bool {
    let mut s = s.as_bytes();
    if let Some(b'+' | b'-') = s.first() {
        s = &s[1..];
    }
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if s.len() >= 2 && s[0] == b'0' && matches!(s[1] | 0x20, b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = s[1] | 0x20 == b'x';
    }
    while i < s.len() {
        let c = s[i];
        if c.is_ascii_digit() || hex && (b'a'..=b'f').contains(&(c | 0x20)) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// `strconv.ParseUint(s, 0, 64)`.
fn parse_uint(s0: &str) -> Option<u64> {
    if s0.is_empty() {
        return None;
    }
    let mut s = s0;
    let mut base = 10u64;
    if s.starts_with('0') {
        let b = s.as_bytes();
        if b.len() >= 3 && b[1] | 0x20 == b'b' {
            base = 2;
            s = &s[2..];
        } else if b.len() >= 3 && b[1] | 0x20 == b'o' {
            base = 8;
            s = &s[2..];
        } else if b.len() >= 3 && b[1] | 0x20 == b'x' {
            base = 16;
            s = &s[2..];
        } else {
            base = 8;
            s = &s[1..];
        }
    }
    let mut n: u64 = 0;
    let mut underscores = false;
    for c in s.bytes() {
        let d = match c {
            b'_' => {
                underscores = true;
                continue;
            }
            b'0'..=b'9' => u64::from(c - b'0'),
            b'a'..=b'z' => u64::from(c - b'a') + 10,
            b'A'..=b'Z' => u64::from(c - b'A') + 10,
            _ => return None,
        };
        if d >= base {
            return None;
        }
        n = n.checked_mul(base)?.checked_add(d)?;
    }
    if underscores && !underscore_ok(s0) {
        return None;
    }
    Some(n)
}

/// `strconv.ParseInt(s, 0, 64)`.
fn parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let u = parse_uint(body)?;
    if neg {
        if u > 1u64 << 63 {
            return None;
        }
        Some((u as i64).wrapping_neg())
    } else {
        i64::try_from(u).ok()
    }
}

/// `strconv.ParseFloat(s, 64)` for what the lexer lets through.
fn parse_float(s: &str) -> Option<f64> {
    if s.contains('_') && !underscore_ok(s) {
        return None;
    }
    let clean: String = s.chars().filter(|c| *c != '_').collect();
    let (neg, body) = match clean.as_bytes().first() {
        Some(b'+') => (false, &clean[1..]),
        Some(b'-') => (true, &clean[1..]),
        _ => (false, clean.as_str()),
    };
    let lower = body.to_ascii_lowercase();
    let v = if let Some(hex) = lower.strip_prefix("0x") {
        parse_hex_float(hex)?
    } else {
        if !body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            return None;
        }
        let v: f64 = body.parse().ok()?;
        if v.is_infinite() {
            return None;
        }
        v
    };
    Some(if neg { -v } else { v })
}

fn parse_hex_float(s: &str) -> Option<f64> {
    let (mant, exp) = s.split_once('p')?;
    let exp: i32 = exp.parse().ok()?;
    let mut m: f64 = 0.0;
    let mut frac_digits = 0i32;
    let mut seen_dot = false;
    let mut any = false;
    for c in mant.chars() {
        if c == '.' {
            if seen_dot {
                return None;
            }
            seen_dot = true;
            continue;
        }
        let d = c.to_digit(16)?;
        any = true;
        m = m * 16.0 + f64::from(d);
        if seen_dot {
            frac_digits += 1;
        }
    }
    if !any {
        return None;
    }
    let v = m * 2f64.powi(exp - 4 * frac_digits);
    if v.is_infinite() {
        return None;
    }
    Some(v)
}

fn in_i64(f: f64) -> bool {
    (-(2f64.powi(63))..2f64.powi(63)).contains(&f)
}

fn in_u64(f: f64) -> bool {
    (0.0..2f64.powi(64)).contains(&f)
}

/// `re±imi` as the lexer's complex item.
fn split_complex(text: &str) -> Option<(f64, f64)> {
    let body = text.strip_suffix('i')?;
    let b = body.as_bytes();
    let cut = (1..b.len())
        .rev()
        .find(|&i| matches!(b[i], b'+' | b'-') && !matches!(b[i - 1] | 0x20, b'e' | b'p'))?;
    let re = parse_float(&body[..cut])?;
    let im = parse_float(&body[cut..])?;
    Some((re, im))
}

/// Go's `simplifyComplex`: a complex constant with no imaginary part is
/// also a float (and maybe an integer).
fn simplify_complex(n: &mut Number) {
    n.is_float = n.imag == 0.0;
    if n.is_float {
        if in_i64(n.float) && (n.float as i64) as f64 == n.float {
            n.is_int = true;
            n.int = n.float as i64;
        }
        if in_u64(n.float) && (n.float as u64) as f64 == n.float {
            n.is_uint = true;
            n.uint = n.float as u64;
        }
    }
}

/// Go's `newNumber`: which of int, uint, float (or complex) the constant is.
pub(crate) fn number(text: &str, is_char: bool, is_complex_item: bool) -> Result<Number, String> {
    if is_char {
        return char_constant(text);
    }
    let mut n = Number {
        text: text.into(),
        is_int: false,
        is_uint: false,
        is_float: false,
        is_complex: false,
        int: 0,
        uint: 0,
        float: 0.0,
        imag: 0.0,
    };
    if is_complex_item {
        let (re, im) = split_complex(text).ok_or_else(|| "expected integer".to_string())?;
        n.float = re;
        n.imag = im;
        n.is_complex = true;
        simplify_complex(&mut n);
        return Ok(n);
    }
    if let Some(imag) = text.strip_suffix('i') {
        if let Some(f) = parse_float(imag) {
            n.imag = f;
            n.is_complex = true;
            simplify_complex(&mut n);
            return Ok(n);
        }
    }
    if let Some(u) = parse_uint(text) {
        n.is_uint = true;
        n.uint = u;
    }
    if let Some(i) = parse_int(text) {
        n.is_int = true;
        n.int = i;
        if i == 0 {
            n.is_uint = true;
        }
    }
    if n.is_int {
        n.is_float = true;
        n.float = n.int as f64;
    } else if n.is_uint {
        n.is_float = true;
        n.float = n.uint as f64;
    } else if let Some(f) = parse_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", strconv::quote(text)));
        }
        n.is_float = true;
        n.float = f;
        if in_i64(f) && (f as i64) as f64 == f {
            n.is_int = true;
            n.int = f as i64;
        }
        if in_u64(f) && (f as u64) as f64 == f {
            n.is_uint = true;
            n.uint = f as u64;
        }
    }
    if !n.is_int && !n.is_uint && !n.is_float {
        return Err(format!("illegal number syntax: {}", strconv::quote(text)));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_take_go_base_prefixes_and_underscores() {
        assert_eq!(number("0x1F", false, false).unwrap().int, 31);
        assert_eq!(number("0b101", false, false).unwrap().int, 5);
        assert_eq!(number("0o17", false, false).unwrap().int, 15);
        assert_eq!(number("017", false, false).unwrap().int, 15);
        assert_eq!(number("1_000", false, false).unwrap().int, 1000);
        assert_eq!(number("-7", false, false).unwrap().int, -7);
    }

    #[test]
    fn floats_with_integral_values_are_also_ints() {
        let n = number("1e3", false, false).unwrap();
        assert!(n.is_float && n.is_int);
        assert_eq!(n.int, 1000);
        let h = number("0x1p-2", false, false).unwrap();
        assert_eq!(h.float, 0.25);
    }

    #[test]
    fn overflowing_and_malformed_numbers_are_refused_as_go_does() {
        assert_eq!(
            number("99999999999999999999", false, false).err().unwrap(),
            "integer overflow: \"99999999999999999999\""
        );
        assert_eq!(
            number("08", false, false).err().unwrap(),
            "integer overflow: \"08\""
        );
        assert!(number("1e400", false, false).is_err());
    }

    #[test]
    fn char_constants_are_numbers() {
        assert_eq!(number("'a'", true, false).unwrap().int, 97);
        assert_eq!(number("'\\n'", true, false).unwrap().int, 10);
        assert_eq!(number("'\\x41'", true, false).unwrap().int, 65);
    }

    #[test]
    fn unquote_handles_escapes_and_raw_strings() {
        assert_eq!(unquote("\"a\\tb\\u00e9\"").unwrap(), "a\tb\u{e9}");
        assert_eq!(unquote("`a\\n\r`").unwrap(), "a\\n");
        assert_eq!(unquote("\"\\xc3\\xa9\"").unwrap(), "\u{e9}");
        assert!(unquote("\"\\'\"").is_err());
    }
}
