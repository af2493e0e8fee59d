//! Conversions with spf13/cast's rules (`int`, `int64`, `float64`, and the
//! arithmetic functions) and sprig's `strval`/`strslice`.

use gotemplate::{ElemType, Value};

/// `cast.ToInt64`: numbers truncate, strings parse as Go integer literals
/// (after dropping a `.000` tail), bools are 0/1, anything else is 0.
pub(crate) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Float(f) => float_to_int(*f),
        Value::Str(s) => parse_go_int(trim_zero_decimal(s)).unwrap_or(0),
        Value::Bool(b) => i64::from(*b),
        _ => 0,
    }
}

/// `cast.ToFloat64`.
pub(crate) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Str(s) => parse_go_float(s).unwrap_or(0.0),
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => 0.0,
    }
}

/// Go's `int64(f)` on amd64: out-of-range and NaN give the "integer
/// indefinite" value rather than saturating as Rust's `as` does.
pub(crate) fn float_to_int(f: f64) -> i64 {
    // 2^63: the first float64 beyond int64's range.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() || !(-LIMIT..LIMIT).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// cast's `trimZeroDecimal`: `"12.000"` → `"12"`, anything else unchanged.
fn trim_zero_decimal(s: &str) -> &str {
    let mut found_zero = false;
    for (i, b) in s.bytes().enumerate().rev() {
        match b {
            b'.' if found_zero => return s.get(..i).unwrap_or(s),
            b'.' => return s,
            b'0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

/// `strconv.ParseInt(s, 0, 64)`: sign, `0x`/`0o`/`0b`/`0` prefixes and
/// underscores between digits.
pub(crate) fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, s.get(1..)?),
        Some(b'+') => (false, s.get(1..)?),
        _ => (false, s),
    };
    let mag = parse_go_uint(body)?;
    if neg {
        if mag > 1u64 << 63 {
            None
        } else {
            Some((mag as i64).wrapping_neg())
        }
    } else if mag > i64::MAX as u64 {
        None
    } else {
        Some(mag as i64)
    }
}

fn parse_go_uint(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d, true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d, true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d, true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower.get(1..)?, true)
    } else {
        (10, lower.as_str(), false)
    };
    if !underscores_ok(digits, prefixed) {
        return None;
    }
    let cleaned: String = digits.chars().filter(|c| *c != '_').collect();
    if cleaned.is_empty() {
        return None;
    }
    u64::from_str_radix(&cleaned, radix).ok()
}

/// Go only accepts `_` between digits (or right after a base prefix).
fn underscores_ok(digits: &str, prefixed: bool) -> bool {
    if !digits.contains('_') {
        return true;
    }
    let mut prev_digit = prefixed;
    let bytes = digits.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'_' {
            let next_digit = bytes.get(i + 1).is_some_and(|n| *n != b'_');
            if !prev_digit || !next_digit {
                return false;
            }
            prev_digit = false;
        } else {
            prev_digit = true;
        }
    }
    true
}

/// `strconv.ParseFloat(s, 64)` for the decimal forms, infinities and NaN.
pub(crate) fn parse_go_float(s: &str) -> Option<f64> {
    let body = s.trim_start_matches(['+', '-']);
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        if s.len() - body.len() > 1 {
            return None;
        }
        return s.parse::<f64>().ok();
    }
    if !body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-' | b'_'))
        || body.is_empty()
        || !float_underscores_ok(body.as_bytes())
    {
        return None;
    }
    let cleaned: String = s.chars().filter(|c| *c != '_').collect();
    // Go reports out-of-range literals (1e400) as an error, not ±Inf.
    cleaned.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Go's `ParseFloat` takes `1_000.5`: each `_` must sit between two digits.
fn float_underscores_ok(body: &[u8]) -> bool {
    body.iter().enumerate().all(|(i, b)| {
        *b != b'_'
            || (i > 0
                && body.get(i - 1).is_some_and(u8::is_ascii_digit)
                && body.get(i + 1).is_some_and(u8::is_ascii_digit))
    })
}

/// sprig's `strval`: strings as they are, Stringers through `String()`,
/// everything else with `%v`.
pub(crate) fn strval(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        Value::Object(o) => o.go_string(),
        other => gotemplate::fmt::sprint(std::slice::from_ref(other)),
    }
}

/// `fmt.Sprintf("%v", v)`.
pub(crate) fn sprint_v(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        other => gotemplate::fmt::sprint(std::slice::from_ref(other)),
    }
}

/// sprig's `strslice` (`toStrings`, `join`): a `[]string` from a list,
/// skipping nils; a single non-list value becomes a one-element list. The
/// copies are counted against the render budget: a list can hold the same
/// big string many times.
pub(crate) fn strslice(v: &Value) -> Result<Vec<String>, String> {
    let items: Vec<&Value> = match v {
        Value::List(l) if l.elem == ElemType::Str => l.items.iter().collect(),
        Value::List(l) => l
            .items
            .iter()
            .filter(|i| !matches!(i, Value::Nil))
            .collect(),
        Value::Nil => Vec::new(),
        other => vec![other],
    };
    let mut tally = gotemplate::budget::Tally::new();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let text = strval(item);
        tally
            .add_string(text.len())
            .map_err(|why| crate::args::exhausted("strslice", why))?;
        out.push(text);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_with_go_prefixes_and_zero_decimals() {
        assert_eq!(to_int64(&Value::str("0x1F")), 31);
        assert_eq!(to_int64(&Value::str("010")), 8);
        assert_eq!(to_int64(&Value::str("0b101")), 5);
        assert_eq!(to_int64(&Value::str("1_000")), 1000);
        assert_eq!(to_int64(&Value::str("12.000")), 12);
        assert_eq!(to_int64(&Value::str("12.5")), 0);
        assert_eq!(to_int64(&Value::str("-9223372036854775808")), i64::MIN);
        assert_eq!(to_int64(&Value::str("9223372036854775808")), 0);
        assert_eq!(to_int64(&Value::Float(-3.9)), -3);
        assert_eq!(to_int64(&Value::Bool(true)), 1);
    }

    #[test]
    fn floats_parse_decimal_forms_only() {
        assert_eq!(to_float64(&Value::str("1.5e3")), 1500.0);
        assert_eq!(to_float64(&Value::str("abc")), 0.0);
        assert_eq!(to_float64(&Value::str("1_000.5")), 1000.5);
        assert_eq!(to_float64(&Value::str("1__0")), 0.0);
        assert_eq!(to_float64(&Value::str("_1")), 0.0);
        assert_eq!(to_float64(&Value::str("1._5")), 0.0);
        assert_eq!(to_float64(&Value::str("0x10")), 0.0);
        assert!(to_float64(&Value::str("-Inf")).is_infinite());
        assert_eq!(to_float64(&Value::Int(3)), 3.0);
    }
}
