//! Go's `time` package where templates see it: `ParseDuration`,
//! `Duration.String`, and the quoting its error messages use.

const NANOS_PER_UNIT: [(&str, u64); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

const LIMIT: u64 = 1 << 63;

/// How the `time` package quotes text in its errors: ASCII printable as it
/// is (`"` and `\` escaped), every byte of anything else as `\xHH`.
pub fn quote(s: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c.is_ascii() && c >= ' ' {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        } else {
            let mut bytes = [0; 4];
            for b in c.encode_utf8(&mut bytes).bytes() {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
    out
}

/// `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+` in nanoseconds,
/// with Go's messages, overflow checks and float-rounded fractions.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", quote(text));
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        if !rest.starts_with(|c: char| c == '.' || c.is_ascii_digit()) {
            return Err(invalid());
        }
        let (whole, after_whole) = split_digits(rest);
        let whole_value = leading_int(whole).ok_or_else(invalid)?;
        let (fraction, after_fraction) = match after_whole.strip_prefix('.') {
            Some(tail) => split_digits(tail),
            None => ("", after_whole),
        };
        if whole.is_empty() && fraction.is_empty() {
            return Err(invalid());
        }
        let unit_len = after_fraction
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(after_fraction.len());
        let (unit, tail) = after_fraction.split_at(unit_len);
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {}", quote(text)));
        }
        let Some(&(_, per_unit)) = NANOS_PER_UNIT.iter().find(|(name, _)| *name == unit) else {
            return Err(format!(
                "time: unknown unit {} in duration {}",
                quote(unit),
                quote(text)
            ));
        };
        if whole_value > LIMIT / per_unit {
            return Err(invalid());
        }
        let mut value = whole_value * per_unit;
        let (numerator, scale) = leading_fraction(fraction);
        if numerator > 0 {
            // Go computes the fraction in float64 (exact to the nanosecond
            // for fractions of an hour); the same arithmetic rounds the same.
            value += (numerator as f64 * (per_unit as f64 / scale)) as u64;
            if value > LIMIT {
                return Err(invalid());
            }
        }
        total += value;
        if total > LIMIT {
            return Err(invalid());
        }
        rest = tail;
    }
    if negative {
        return Ok((total as i64).wrapping_neg());
    }
    i64::try_from(total).map_err(|_| invalid())
}

fn split_digits(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(end)
}

/// The integer part; `None` past 2⁶³, where Go reports an invalid duration.
fn leading_int(digits: &str) -> Option<u64> {
    let mut x: u64 = 0;
    for d in digits.bytes() {
        if x > LIMIT / 10 {
            return None;
        }
        x = x * 10 + u64::from(d - b'0');
        if x > LIMIT {
            return None;
        }
    }
    Some(x)
}

/// The fraction's digits as an integer and its power of ten, digits past
/// what fits in 2⁶³ ignored as Go ignores them.
fn leading_fraction(digits: &str) -> (u64, f64) {
    let (mut x, mut scale) = (0u64, 1f64);
    for d in digits.bytes() {
        if x > (LIMIT - 1) / 10 {
            break;
        }
        let y = x * 10 + u64::from(d - b'0');
        if y > LIMIT {
            break;
        }
        x = y;
        scale *= 10.0;
    }
    (x, scale)
}

/// `Duration.String`: `1h2m3.5s`, `1.5µs`, `0s`.
pub fn format_duration(nanos: i64) -> String {
    let mut u = nanos.unsigned_abs();
    let mut out = if u < 1_000_000_000 {
        let (unit, precision) = match u {
            0 => return "0s".to_string(),
            1..=999 => ("ns", 0),
            1_000..=999_999 => ("µs", 3),
            _ => ("ms", 6),
        };
        let fraction = take_fraction(&mut u, precision);
        format!("{u}{fraction}{unit}")
    } else {
        let fraction = take_fraction(&mut u, 9);
        let mut text = format!("{}{fraction}s", u % 60);
        u /= 60;
        if u > 0 {
            text = format!("{}m{text}", u % 60);
            u /= 60;
            if u > 0 {
                text = format!("{u}h{text}");
            }
        }
        text
    };
    if nanos < 0 {
        out.insert(0, '-');
    }
    out
}

/// Takes the low `precision` decimal digits off `u` and prints them as
/// `.ddd` without trailing zeros (nothing when all are zero).
fn take_fraction(u: &mut u64, precision: u32) -> String {
    let digits = *u % 10u64.pow(precision);
    *u /= 10u64.pow(precision);
    if digits == 0 {
        return String::new();
    }
    let text = format!(".{digits:0width$}", width = precision as usize);
    text.trim_end_matches('0').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_as_go_parses_them() {
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("-1.5s"), Ok(-1_500_000_000));
        assert_eq!(parse_duration("+.5us"), Ok(500));
        assert_eq!(parse_duration("1µs2ns"), Ok(1_002));
        assert_eq!(parse_duration("-0"), Ok(0));
        assert_eq!(parse_duration("9223372036854775807ns"), Ok(i64::MAX));
        assert_eq!(parse_duration("-9223372036854775808ns"), Ok(i64::MIN));
        for (text, message) in [
            ("", "time: invalid duration \"\""),
            (".s", "time: invalid duration \".s\""),
            ("1h x", "time: unknown unit \"h x\" in duration \"1h x\""),
            (
                "9223372036854775808ns",
                "time: invalid duration \"9223372036854775808ns\"",
            ),
            ("10", "time: missing unit in duration \"10\""),
            (
                "1é",
                "time: unknown unit \"\\xc3\\xa9\" in duration \"1\\xc3\\xa9\"",
            ),
        ] {
            assert_eq!(parse_duration(text).unwrap_err(), message, "{text}");
        }
    }

    #[test]
    fn durations_print_as_go_prints_them() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(90 * 1_000_000_000), "1m30s");
        assert_eq!(format_duration(1_500), "1.5µs");
        assert_eq!(format_duration(1_000_000), "1ms");
        assert_eq!(format_duration(-3_723_500_000_000), "-1h2m3.5s");
        assert_eq!(format_duration(i64::MIN), "-2562047h47m16.854775808s");
    }
}
