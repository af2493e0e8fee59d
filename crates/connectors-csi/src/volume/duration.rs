//! Go's `time.ParseDuration` syntax (`30m`, `1h30m`, `1.5h`, `300ms`), so
//! `token.expiration` reads as it does upstream.

use std::time::Duration;

/// Nanoseconds per unit, with Go's unit spellings.
fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "µs" | "μs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// Parses a Go duration. Negative durations are an error here (none of ours
/// can be negative), with Go's own messages for malformed text.
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("time: invalid duration {text:?}");
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (whole, after_whole) = split_digits(rest);
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
            return Err(format!("time: missing unit in duration {text:?}"));
        }
        let per_unit = unit_nanos(unit)
            .ok_or_else(|| format!("time: unknown unit {unit:?} in duration {text:?}"))?;
        total = total
            .checked_add(component_nanos(whole, fraction, per_unit).ok_or_else(invalid)?)
            .ok_or_else(invalid)?;
        rest = tail;
    }
    // Go's Duration is an int64 of nanoseconds.
    if total > i64::MAX as u128 {
        return Err(invalid());
    }
    if negative && total > 0 {
        return Err(format!("{text:?} is negative"));
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| invalid())?;
    let nanos = u32::try_from(total % 1_000_000_000).map_err(|_| invalid())?;
    Ok(Duration::new(secs, nanos))
}

fn split_digits(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(end)
}

/// `whole.fraction` units in nanoseconds, the fraction truncated as Go does.
fn component_nanos(whole: &str, fraction: &str, per_unit: u128) -> Option<u128> {
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut nanos = whole.checked_mul(per_unit)?;
    let mut scale: u128 = 1;
    let mut value: u128 = 0;
    // Digits past what a u128 can scale add nothing measurable.
    for digit in fraction.bytes().take(30) {
        value = value * 10 + u128::from(digit - b'0');
        scale *= 10;
    }
    nanos = nanos.checked_add(value.checked_mul(per_unit)? / scale)?;
    Some(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_duration_forms_parse() {
        let secs = |t: &str| parse_go_duration(t).unwrap().as_secs_f64();
        assert_eq!(secs("30m"), 1800.0);
        assert_eq!(secs("1h30m"), 5400.0);
        assert_eq!(secs("1.5h"), 5400.0);
        assert_eq!(secs("+2h"), 7200.0);
        assert_eq!(secs("0"), 0.0);
        assert_eq!(secs("-0"), 0.0);
        assert_eq!(secs(".5s"), 0.5);
        assert_eq!(
            parse_go_duration("300ms").unwrap(),
            Duration::from_millis(300)
        );
        assert_eq!(
            parse_go_duration("1µs2ns").unwrap(),
            Duration::from_nanos(1002)
        );
    }

    #[test]
    fn malformed_durations_get_go_messages() {
        for (text, message) in [
            ("", "time: invalid duration \"\""),
            ("h", "time: invalid duration \"h\""),
            (".h", "time: invalid duration \".h\""),
            ("10", "time: missing unit in duration \"10\""),
            ("1d", "time: unknown unit \"d\" in duration \"1d\""),
            ("9999999999h", "time: invalid duration \"9999999999h\""),
            ("-5m", "\"-5m\" is negative"),
        ] {
            assert_eq!(parse_go_duration(text).unwrap_err(), message, "{text}");
        }
    }
}
