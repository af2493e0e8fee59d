//! RFC 3339 timestamps, as kubelet writes `expirationTimestamp`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Parses `2030-01-02T03:04:05Z` (fraction and `±hh:mm` offset allowed).
pub fn parse_rfc3339(text: &str) -> Result<SystemTime, String> {
    let bad = || format!("{text:?} is not an RFC 3339 timestamp");
    let bytes = text.as_bytes();
    if bytes.len() < 20 || !matches!(bytes.get(10), Some(b'T' | b't' | b' ')) {
        return Err(bad());
    }
    let (date, rest) = text.split_at(10);
    let rest = &rest[1..];
    let year = field(date, 0, 4, b'-')?;
    let month = field(date, 5, 2, b'-')?;
    let day = field(date, 8, 2, 0)?;
    let hour = field(rest, 0, 2, b':')?;
    let minute = field(rest, 3, 2, b':')?;
    let second = field(rest, 6, 2, 0)?;
    let mut tail = rest.get(8..).ok_or_else(bad)?;
    let mut nanos: u64 = 0;
    if let Some(fraction) = tail.strip_prefix('.') {
        let digits = fraction
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(fraction.len());
        if digits == 0 {
            return Err(bad());
        }
        for (i, digit) in fraction.bytes().take(digits).enumerate() {
            if i < 9 {
                nanos = nanos * 10 + u64::from(digit - b'0');
            }
        }
        nanos *= 10u64.pow(9u32.saturating_sub(digits as u32));
        tail = &fraction[digits..];
    }
    let offset_secs: i64 = match tail {
        "Z" | "z" => 0,
        _ if tail.len() == 6 && matches!(tail.as_bytes().first(), Some(b'+' | b'-')) => {
            let hours = field(tail, 1, 2, b':')?;
            let minutes = field(tail, 4, 2, 0)?;
            let sign = if tail.starts_with('-') { -1 } else { 1 };
            sign * (hours * 3600 + minutes * 60)
        }
        _ => return Err(bad()),
    };
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(bad());
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    let secs = u64::try_from(secs).map_err(|_| bad())?;
    Ok(UNIX_EPOCH + Duration::new(secs, nanos as u32))
}

/// The decimal field at `start..start+len`, followed by `sep` (0: anything).
fn field(text: &str, start: usize, len: usize, sep: u8) -> Result<i64, String> {
    let bad = || format!("{text:?} is not an RFC 3339 timestamp");
    let digits = text.get(start..start + len).ok_or_else(bad)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if sep != 0 && text.as_bytes().get(start + len) != Some(&sep) {
        return Err(bad());
    }
    digits.parse().map_err(|_| bad())
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(text: &str) -> f64 {
        parse_rfc3339(text)
            .unwrap()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
    }

    #[test]
    fn utc_offsets_and_fractions_parse() {
        assert_eq!(unix("1970-01-01T00:00:00Z"), 0.0);
        assert_eq!(unix("2024-02-29T12:00:00Z"), 1_709_208_000.0);
        assert_eq!(unix("2024-02-29T14:00:00+02:00"), 1_709_208_000.0);
        assert_eq!(unix("2024-02-29T12:00:00.5Z"), 1_709_208_000.5);
    }

    #[test]
    fn malformed_timestamps_are_rejected() {
        for bad in [
            "",
            "tomorrow",
            "2024-02-29",
            "2024-13-01T00:00:00Z",
            "2024-02-29T12:00:00",
            "2024-02-29T12:00:00.Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }
}
