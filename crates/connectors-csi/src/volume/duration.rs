//! Go's `time.ParseDuration` syntax (`30m`, `1h30m`, `1.5h`, `300ms`), so
//! `token.expiration` reads as it does upstream.

use std::time::Duration;

use gotemplate::go::time;

/// Parses a Go duration with Go's own parser and messages. Negative
/// durations are an error here: none of ours can be negative.
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let nanos = time::parse_duration(text)?;
    u64::try_from(nanos)
        .map(Duration::from_nanos)
        .map_err(|_| format!("{} is negative", time::quote(text)))
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
