//! sprig's date functions (`now`, `date`, `dateInZone`, `dateModify`,
//! `toDate`, `duration`, `durationRound`, `ago`, `unixEpoch`, …) over a
//! `time.Time` object with Go's layout formatting and parsing, Go's
//! `Duration` printing and parsing, and zones from the system zoneinfo.
//!
//! The local zone is UTC (the driver's containers run in UTC).

use std::any::Any;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use gotemplate::go::calendar::{civil_from_days, days_from_civil};
use gotemplate::go::time::{format_duration, parse_duration, quote};
use gotemplate::{FuncMap, Function, Object, Param, Value};

use crate::args;

pub(crate) const RFC3339_NANO: &str = "2006-01-02T15:04:05.999999999Z07:00";
const NANOS: i128 = 1_000_000_000;

/// A time zone: UTC, or a zoneinfo file's transitions.
#[derive(Clone, Debug)]
pub(crate) enum Location {
    Utc,
    Fixed { name: String, offset: i32 },
    Zone(Arc<ZoneInfo>),
}

/// A parsed TZif file: transition instants and the zone type after each.
#[derive(Debug)]
pub(crate) struct ZoneInfo {
    transitions: Vec<(i64, usize)>,
    types: Vec<(i32, String)>,
    first: usize,
}

impl Location {
    /// `(abbreviation, offset seconds)` in force at `unix`.
    fn lookup(&self, unix: i64) -> (String, i32) {
        match self {
            Location::Utc => ("UTC".to_string(), 0),
            Location::Fixed { name, offset } => (name.clone(), *offset),
            Location::Zone(z) => {
                let idx = match z.transitions.partition_point(|(t, _)| *t <= unix) {
                    0 => z.first,
                    n => z.transitions.get(n - 1).map_or(z.first, |(_, i)| *i),
                };
                z.types.get(idx).map_or_else(
                    || ("UTC".to_string(), 0),
                    |(off, abbr)| (abbr.clone(), *off),
                )
            }
        }
    }

    /// `time.LoadLocation`.
    fn load(name: &str) -> Result<Location, String> {
        if name.is_empty() || name == "UTC" || name == "Local" {
            return Ok(Location::Utc);
        }
        let bad =
            name.starts_with('/') || name.split('/').any(|p| p == "..") || name.contains('\\');
        if bad {
            return Err(format!("time: invalid location name {name:?}"));
        }
        let path = format!("/usr/share/zoneinfo/{name}");
        let data = std::fs::read(&path).map_err(|_| format!("unknown time zone {name}"))?;
        parse_tzif(&data)
            .map(|z| Location::Zone(Arc::new(z)))
            .ok_or_else(|| format!("unknown time zone {name}"))
    }
}

fn be_i32(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be_i64(b: &[u8], at: usize) -> Option<i64> {
    Some(i64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Reads a TZif file (the 64-bit section when present).
fn parse_tzif(data: &[u8]) -> Option<ZoneInfo> {
    if data.get(..4)? != b"TZif" {
        return None;
    }
    let counts = |base: usize| -> Option<[usize; 6]> {
        let mut c = [0usize; 6];
        for (i, slot) in c.iter_mut().enumerate() {
            *slot = usize::try_from(be_i32(data, base + 20 + 4 * i)?).ok()?;
        }
        Some(c)
    };
    let c1 = counts(0)?;
    let v1_len = 44 + c1[3] * 5 + c1[4] * 6 + c1[5] + c1[2] * 8 + c1[1] + c1[0];
    let (base, c, wide) = if *data.get(4)? >= b'2' {
        (v1_len, counts(v1_len)?, true)
    } else {
        (0, c1, false)
    };
    let [_isut, _isstd, leap, timecnt, typecnt, charcnt] = c;
    let tsize = if wide { 8 } else { 4 };
    let mut p = base + 44;
    let mut times = Vec::with_capacity(timecnt);
    for i in 0..timecnt {
        let t = if wide {
            be_i64(data, p + i * 8)?
        } else {
            i64::from(be_i32(data, p + i * 4)?)
        };
        times.push(t);
    }
    p += timecnt * tsize;
    let idx: Vec<usize> = data
        .get(p..p + timecnt)?
        .iter()
        .map(|b| *b as usize)
        .collect();
    p += timecnt;
    let mut raw_types = Vec::with_capacity(typecnt);
    for i in 0..typecnt {
        let at = p + i * 6;
        raw_types.push((
            be_i32(data, at)?,
            *data.get(at + 4)?,
            *data.get(at + 5)? as usize,
        ));
    }
    p += typecnt * 6;
    let chars = data.get(p..p + charcnt)?;
    let _ = leap;
    let types: Vec<(i32, String)> = raw_types
        .iter()
        .map(|(off, _, ai)| {
            let tail = chars.get(*ai..).unwrap_or_default();
            let end = tail.iter().position(|b| *b == 0).unwrap_or(tail.len());
            (
                *off,
                crate::args::go_lossy(tail.get(..end).unwrap_or_default()),
            )
        })
        .collect();
    let first = raw_types
        .iter()
        .position(|(_, dst, _)| *dst == 0)
        .unwrap_or(0);
    Some(ZoneInfo {
        transitions: times.into_iter().zip(idx).collect(),
        types,
        first,
    })
}

/// A Go `time.Time`.
#[derive(Clone, Debug)]
pub(crate) struct GoTime {
    /// Nanoseconds since the Unix epoch.
    nanos: i128,
    loc: Location,
    /// Go prints `m=+…` for times that carry a monotonic reading.
    monotonic: bool,
}

impl GoTime {
    pub(crate) fn now() -> GoTime {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        GoTime {
            nanos: d.as_nanos() as i128,
            loc: Location::Utc,
            monotonic: true,
        }
    }

    fn unix(secs: i64) -> GoTime {
        GoTime {
            nanos: i128::from(secs) * NANOS,
            loc: Location::Utc,
            monotonic: false,
        }
    }

    /// The zero `time.Time` (January 1, year 1, UTC).
    fn zero() -> GoTime {
        GoTime {
            nanos: i128::from(-62_135_596_800i64) * NANOS,
            loc: Location::Utc,
            monotonic: false,
        }
    }

    fn unix_secs(&self) -> i64 {
        self.nanos.div_euclid(NANOS) as i64
    }

    fn in_loc(&self, loc: Location) -> GoTime {
        GoTime {
            nanos: self.nanos,
            loc,
            monotonic: false,
        }
    }

    fn add(&self, d: i64) -> GoTime {
        GoTime {
            nanos: self.nanos + i128::from(d),
            loc: self.loc.clone(),
            monotonic: self.monotonic,
        }
    }

    /// The wall-clock fields in the time's zone.
    fn civil(&self) -> Civil {
        let secs = self.unix_secs();
        let (abbr, offset) = self.loc.lookup(secs);
        let local = secs + i64::from(offset);
        let days = local.div_euclid(86_400);
        let sod = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: (sod / 3600) as u32,
            minute: (sod % 3600 / 60) as u32,
            second: (sod % 60) as u32,
            nanos: self.nanos.rem_euclid(NANOS) as u32,
            weekday: (days + 4).rem_euclid(7) as usize,
            yday: (days - days_from_civil(year, 1, 1) + 1) as u32,
            abbr,
            offset,
        }
    }

    /// `Time.Format(layout)`.
    pub(crate) fn format(&self, layout: &str) -> String {
        format_civil(&self.civil(), layout)
    }

    fn go_string(&self) -> String {
        let mut s = self.format("2006-01-02 15:04:05.999999999 -0700 MST");
        if self.monotonic {
            s.push_str(" m=+0.000000001");
        }
        s
    }
}

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
    weekday: usize,
    yday: u32,
    abbr: String,
    offset: i32,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// One element of a Go layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    Pm,
    PmLower,
    Tz,
    Iso8601Tz,
    Iso8601SecondsTz,
    Iso8601ShortTz,
    Iso8601ColonTz,
    Iso8601ColonSecondsTz,
    NumTz,
    NumSecondsTz,
    NumShortTz,
    NumColonTz,
    NumColonSecondsTz,
    /// Fractional seconds: digits, trim trailing zeros, separator.
    Frac(usize, bool, u8),
}

/// Go's `nextStdChunk`: (literal prefix, element, rest).
fn next_chunk(layout: &str) -> (&str, Option<Std>, &str) {
    let b = layout.as_bytes();
    let at = |i: usize, s: &str| b.get(i..i + s.len()) == Some(s.as_bytes());
    let cut = |i: usize, std: Std, n: usize| {
        (
            layout.get(..i).unwrap_or_default(),
            Some(std),
            layout.get(i + n..).unwrap_or_default(),
        )
    };
    let lower_after = |i: usize| b.get(i).is_some_and(u8::is_ascii_lowercase);
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'J' if at(i, "Jan") => {
                if at(i, "January") {
                    return cut(i, Std::LongMonth, 7);
                }
                if !lower_after(i + 3) {
                    return cut(i, Std::Month, 3);
                }
            }
            b'M' => {
                if at(i, "Mon") {
                    if at(i, "Monday") {
                        return cut(i, Std::LongWeekDay, 6);
                    }
                    if !lower_after(i + 3) {
                        return cut(i, Std::WeekDay, 3);
                    }
                }
                if at(i, "MST") {
                    return cut(i, Std::Tz, 3);
                }
            }
            b'0' => {
                if let Some(&n @ b'1'..=b'6') = b.get(i + 1) {
                    let std = [
                        Std::ZeroMonth,
                        Std::ZeroDay,
                        Std::ZeroHour12,
                        Std::ZeroMinute,
                        Std::ZeroSecond,
                        Std::Year,
                    ];
                    if let Some(s) = std.get((n - b'1') as usize) {
                        return cut(i, *s, 2);
                    }
                }
                if at(i, "002") {
                    return cut(i, Std::ZeroYearDay, 3);
                }
            }
            b'1' => {
                if b.get(i + 1) == Some(&b'5') {
                    return cut(i, Std::Hour, 2);
                }
                return cut(i, Std::NumMonth, 1);
            }
            b'2' => {
                if at(i, "2006") {
                    return cut(i, Std::LongYear, 4);
                }
                return cut(i, Std::Day, 1);
            }
            b'_' => {
                if b.get(i + 1) == Some(&b'2') {
                    if at(i + 1, "2006") {
                        return (
                            layout.get(..i + 1).unwrap_or_default(),
                            Some(Std::LongYear),
                            layout.get(i + 5..).unwrap_or_default(),
                        );
                    }
                    return cut(i, Std::UnderDay, 2);
                }
                if at(i, "__2") {
                    return cut(i, Std::UnderYearDay, 3);
                }
            }
            b'3' => return cut(i, Std::Hour12, 1),
            b'4' => return cut(i, Std::Minute, 1),
            b'5' => return cut(i, Std::Second, 1),
            b'P' if b.get(i + 1) == Some(&b'M') => return cut(i, Std::Pm, 2),
            b'p' if b.get(i + 1) == Some(&b'm') => return cut(i, Std::PmLower, 2),
            b'-' => {
                for (pat, std) in [
                    ("-070000", Std::NumSecondsTz),
                    ("-07:00:00", Std::NumColonSecondsTz),
                    ("-0700", Std::NumTz),
                    ("-07:00", Std::NumColonTz),
                    ("-07", Std::NumShortTz),
                ] {
                    if at(i, pat) {
                        return cut(i, std, pat.len());
                    }
                }
            }
            b'Z' => {
                for (pat, std) in [
                    ("Z070000", Std::Iso8601SecondsTz),
                    ("Z07:00:00", Std::Iso8601ColonSecondsTz),
                    ("Z0700", Std::Iso8601Tz),
                    ("Z07:00", Std::Iso8601ColonTz),
                    ("Z07", Std::Iso8601ShortTz),
                ] {
                    if at(i, pat) {
                        return cut(i, std, pat.len());
                    }
                }
            }
            b'.' | b',' => {
                if let Some(&ch @ (b'0' | b'9')) = b.get(i + 1) {
                    let mut j = i + 1;
                    while b.get(j) == Some(&ch) {
                        j += 1;
                    }
                    if !b.get(j).is_some_and(u8::is_ascii_digit) {
                        return cut(i, Std::Frac(j - i - 1, ch == b'9', c), j - i);
                    }
                }
            }
            _ => {}
        }
    }
    (layout, None, "")
}

fn pad(out: &mut String, v: i64, width: usize) {
    if v < 0 {
        out.push('-');
    }
    out.push_str(&format!("{:0width$}", v.unsigned_abs(), width = width));
}

fn format_civil(c: &Civil, layout: &str) -> String {
    let mut out = String::with_capacity(layout.len() + 10);
    let mut rest = layout;
    loop {
        let (prefix, std, tail) = next_chunk(rest);
        out.push_str(prefix);
        let Some(std) = std else { break };
        rest = tail;
        let hour12 = match c.hour % 12 {
            0 => 12,
            h => h,
        };
        match std {
            Std::Year => pad(&mut out, c.year.rem_euclid(100), 2),
            Std::LongYear => pad(&mut out, c.year, 4),
            Std::Month => out.push_str(
                MONTHS
                    .get((c.month as usize).saturating_sub(1))
                    .map_or("", |m| &m[..3]),
            ),
            Std::LongMonth => out.push_str(
                MONTHS
                    .get((c.month as usize).saturating_sub(1))
                    .copied()
                    .unwrap_or(""),
            ),
            Std::NumMonth => out.push_str(&c.month.to_string()),
            Std::ZeroMonth => pad(&mut out, i64::from(c.month), 2),
            Std::WeekDay => out.push_str(DAYS.get(c.weekday).map_or("", |d| &d[..3])),
            Std::LongWeekDay => out.push_str(DAYS.get(c.weekday).copied().unwrap_or("")),
            Std::Day => out.push_str(&c.day.to_string()),
            Std::UnderDay => out.push_str(&format!("{:>2}", c.day)),
            Std::ZeroDay => pad(&mut out, i64::from(c.day), 2),
            Std::UnderYearDay => out.push_str(&format!("{:>3}", c.yday)),
            Std::ZeroYearDay => pad(&mut out, i64::from(c.yday), 3),
            Std::Hour => pad(&mut out, i64::from(c.hour), 2),
            Std::Hour12 => out.push_str(&hour12.to_string()),
            Std::ZeroHour12 => pad(&mut out, i64::from(hour12), 2),
            Std::Minute => out.push_str(&c.minute.to_string()),
            Std::ZeroMinute => pad(&mut out, i64::from(c.minute), 2),
            Std::Second => out.push_str(&c.second.to_string()),
            Std::ZeroSecond => pad(&mut out, i64::from(c.second), 2),
            Std::Pm => out.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
            Std::PmLower => out.push_str(if c.hour >= 12 { "pm" } else { "am" }),
            Std::Tz => {
                if !c.abbr.is_empty() {
                    out.push_str(&c.abbr);
                } else {
                    let (mut tmp, z) = (String::new(), c.offset / 60);
                    tmp.push(if z < 0 { '-' } else { '+' });
                    pad(&mut tmp, i64::from(z.abs() / 60), 2);
                    pad(&mut tmp, i64::from(z.abs() % 60), 2);
                    out.push_str(&tmp);
                }
            }
            Std::Frac(digits, trim, sep) => {
                let s = format!("{:09}", c.nanos);
                let mut frac = s.get(..digits.min(9)).unwrap_or_default().to_string();
                while frac.len() < digits {
                    frac.push('0');
                }
                if trim {
                    let t = frac.trim_end_matches('0');
                    if !t.is_empty() {
                        out.push(char::from(sep));
                        out.push_str(t);
                    }
                } else {
                    out.push(char::from(sep));
                    out.push_str(&frac);
                }
            }
            tz => format_offset(&mut out, tz, c.offset),
        }
    }
    out
}

fn format_offset(out: &mut String, std: Std, offset: i32) {
    use Std::*;
    let iso = matches!(
        std,
        Iso8601Tz | Iso8601SecondsTz | Iso8601ShortTz | Iso8601ColonTz | Iso8601ColonSecondsTz
    );
    if iso && offset == 0 {
        out.push('Z');
        return;
    }
    let z = offset.abs();
    out.push(if offset < 0 { '-' } else { '+' });
    pad(out, i64::from(z / 3600), 2);
    let colon = matches!(
        std,
        Iso8601ColonTz | NumColonTz | Iso8601ColonSecondsTz | NumColonSecondsTz
    );
    if !matches!(std, Iso8601ShortTz | NumShortTz) {
        if colon {
            out.push(':');
        }
        pad(out, i64::from(z / 60 % 60), 2);
    }
    if matches!(
        std,
        Iso8601SecondsTz | NumSecondsTz | NumColonSecondsTz | Iso8601ColonSecondsTz
    ) {
        if colon {
            out.push(':');
        }
        pad(out, i64::from(z % 60), 2);
    }
}

// ---- parsing (time.ParseInLocation with Local = UTC) ----

fn parse_err(value: &str, layout: &str, elem_value: &str, elem: &str) -> String {
    format!(
        "parsing time {} as {}: cannot parse {} as {}",
        quote(value),
        quote(layout),
        quote(elem_value),
        quote(elem)
    )
}

/// Leading decimal digits of `s`: at least `min`, at most `max`.
fn take_num(s: &str, min: usize, max: usize) -> Option<(i64, &str)> {
    let n = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
    if n < min {
        return None;
    }
    let v = s.get(..n)?.parse().ok()?;
    Some((v, s.get(n..)?))
}

fn num_or<'a>(
    v: &'a str,
    min: usize,
    max: usize,
    fail: &dyn Fn(&str) -> String,
) -> Result<(i64, &'a str), String> {
    take_num(v, min, max).ok_or_else(|| fail(v))
}

fn take_name<'a>(s: &'a str, names: &[&str], short: bool) -> Option<(usize, &'a str)> {
    for (i, n) in names.iter().enumerate() {
        let n = if short { n.get(..3)? } else { n };
        if s.len() >= n.len() && s.get(..n.len())?.eq_ignore_ascii_case(n) {
            return Some((i, s.get(n.len()..)?));
        }
    }
    None
}

/// `time.Parse(layout, value)` for the common layout elements.
fn parse_time(layout: &str, value: &str) -> Result<GoTime, String> {
    let (mut year, mut month, mut day) = (1i64, 1u32, 1u32);
    let (mut hour, mut minute, mut second, mut nanos) = (0i64, 0i64, 0i64, 0i64);
    let mut pm: Option<bool> = None;
    let mut offset: Option<i32> = None;
    let mut zone_name: Option<String> = None;
    let mut yday: Option<i64> = None;
    let (mut lrest, mut v) = (layout, value);
    loop {
        let (prefix, std, tail) = next_chunk(lrest);
        let Some(after_prefix) = v.strip_prefix(prefix) else {
            return Err(parse_err(value, layout, v, prefix));
        };
        v = after_prefix;
        let Some(std) = std else {
            if !v.is_empty() {
                return Err(format!(
                    "parsing time {}: extra text: {}",
                    quote(value),
                    quote(v)
                ));
            }
            break;
        };
        let elem = lrest
            .get(prefix.len()..lrest.len() - tail.len())
            .unwrap_or_default()
            .to_string();
        lrest = tail;
        let fail = |at: &str| parse_err(value, layout, at, &elem);
        let before = v;
        match std {
            Std::LongYear => {
                let (y, r) = num_or(v, 4, 4, &fail)?;
                year = y;
                v = r;
            }
            Std::Year => {
                let (y, r) = num_or(v, 2, 2, &fail)?;
                year = if y >= 69 { y + 1900 } else { y + 2000 };
                v = r;
            }
            Std::Month | Std::LongMonth => {
                let (m, r) = take_name(v, &MONTHS, std == Std::Month).ok_or_else(|| fail(v))?;
                month = m as u32 + 1;
                v = r;
            }
            Std::NumMonth | Std::ZeroMonth => {
                let (m, r) = num_or(v, if std == Std::ZeroMonth { 2 } else { 1 }, 2, &fail)?;
                if !(1..=12).contains(&m) {
                    return Err(format!("parsing time {}: month out of range", quote(value)));
                }
                month = m as u32;
                v = r;
            }
            Std::WeekDay | Std::LongWeekDay => {
                let (_, r) = take_name(v, &DAYS, std == Std::WeekDay).ok_or_else(|| fail(v))?;
                v = r;
            }
            Std::Day | Std::UnderDay | Std::ZeroDay => {
                let t = if std == Std::UnderDay {
                    v.strip_prefix(' ').unwrap_or(v)
                } else {
                    v
                };
                let (d, r) = num_or(t, if std == Std::ZeroDay { 2 } else { 1 }, 2, &fail)?;
                day = d as u32;
                v = r;
            }
            Std::UnderYearDay | Std::ZeroYearDay => {
                let t = v.trim_start_matches(' ');
                let (d, r) = num_or(t, 3, 3, &fail)?;
                yday = Some(d);
                v = r;
            }
            Std::Hour => {
                let (h, r) = num_or(v, 2, 2, &fail)?;
                hour = h;
                v = r;
            }
            Std::Hour12 | Std::ZeroHour12 => {
                let (h, r) = num_or(v, if std == Std::ZeroHour12 { 2 } else { 1 }, 2, &fail)?;
                if h > 12 {
                    return Err(format!("parsing time {}: hour out of range", quote(value)));
                }
                hour = h;
                v = r;
            }
            Std::Minute | Std::ZeroMinute => {
                let (m, r) = num_or(v, if std == Std::ZeroMinute { 2 } else { 1 }, 2, &fail)?;
                minute = m;
                v = r;
            }
            Std::Second | Std::ZeroSecond => {
                let (s, r) = num_or(v, if std == Std::ZeroSecond { 2 } else { 1 }, 2, &fail)?;
                second = s;
                v = r;
                // Go accepts a fractional second right after the seconds.
                if let Some(frac) = v.strip_prefix(['.', ',']) {
                    if !matches!(next_chunk(lrest).1, Some(Std::Frac(..)))
                        && frac.starts_with(|c: char| c.is_ascii_digit())
                    {
                        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
                        nanos = frac_nanos(frac.get(..n).unwrap_or_default());
                        v = frac.get(n..).unwrap_or_default();
                    }
                }
            }
            Std::Frac(digits, trim, _) => {
                let body = v.strip_prefix(['.', ',']);
                match (body, trim) {
                    (Some(f), _) => {
                        let n = f.bytes().take_while(u8::is_ascii_digit).count();
                        if !trim && n != digits {
                            return Err(fail(v));
                        }
                        nanos = frac_nanos(f.get(..n).unwrap_or_default());
                        v = f.get(n..).unwrap_or_default();
                    }
                    (None, true) => {}
                    (None, false) => return Err(fail(v)),
                }
            }
            Std::Pm | Std::PmLower => {
                let p = v.get(..2).ok_or_else(|| fail(v))?;
                pm = match p.to_ascii_uppercase().as_str() {
                    "PM" => Some(true),
                    "AM" => Some(false),
                    _ => return Err(fail(v)),
                };
                v = v.get(2..).unwrap_or_default();
            }
            Std::Tz => {
                if v.starts_with("UTC") {
                    offset = Some(0);
                    zone_name = Some("UTC".to_string());
                    v = v.get(3..).unwrap_or_default();
                } else {
                    let n = v.bytes().take_while(u8::is_ascii_uppercase).count();
                    if n < 3 {
                        return Err(fail(v));
                    }
                    zone_name = Some(v.get(..n).unwrap_or_default().to_string());
                    v = v.get(n..).unwrap_or_default();
                }
            }
            tz => {
                let iso = matches!(
                    tz,
                    Std::Iso8601Tz
                        | Std::Iso8601SecondsTz
                        | Std::Iso8601ShortTz
                        | Std::Iso8601ColonTz
                        | Std::Iso8601ColonSecondsTz
                );
                if iso && v.starts_with('Z') {
                    offset = Some(0);
                    v = v.get(1..).unwrap_or_default();
                } else {
                    let (off, r) = parse_offset(v, tz).ok_or_else(|| fail(v))?;
                    offset = Some(off);
                    v = r;
                }
            }
        }
        let _ = before;
    }
    if let Some(p) = pm {
        if p && hour < 12 {
            hour += 12;
        } else if !p && hour == 12 {
            hour = 0;
        }
    }
    if let Some(yd) = yday {
        let start = days_from_civil(year, 1, 1);
        let (_, m, d) = civil_from_days(start + yd - 1);
        month = m;
        day = d;
    }
    let dim = days_in_month(year, month);
    if day < 1 || day > dim {
        return Err(format!("parsing time {}: day out of range", quote(value)));
    }
    if hour > 23 || minute > 59 || second > 59 {
        let what = if hour > 23 {
            "hour"
        } else if minute > 59 {
            "minute"
        } else {
            "second"
        };
        return Err(format!(
            "parsing time {}: {what} out of range",
            quote(value)
        ));
    }
    let local = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    let off = offset.unwrap_or(0);
    let loc = match (offset, zone_name) {
        (Some(0), None) | (None, None) => Location::Utc,
        (_, Some(n)) if n == "UTC" => Location::Utc,
        (Some(o), name) => Location::Fixed {
            name: name.unwrap_or_default(),
            offset: o,
        },
        (None, Some(n)) => Location::Fixed { name: n, offset: 0 },
    };
    Ok(GoTime {
        nanos: i128::from(local - i64::from(off)) * NANOS + i128::from(nanos),
        loc,
        monotonic: false,
    })
}

fn frac_nanos(digits: &str) -> i64 {
    let mut s: String = digits.chars().take(9).collect();
    while s.len() < 9 {
        s.push('0');
    }
    s.parse().unwrap_or(0)
}

fn parse_offset(v: &str, std: Std) -> Option<(i32, &str)> {
    use Std::*;
    let sign = match v.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let colon = matches!(
        std,
        Iso8601ColonTz | NumColonTz | Iso8601ColonSecondsTz | NumColonSecondsTz
    );
    let short = matches!(std, Iso8601ShortTz | NumShortTz);
    let secs = matches!(
        std,
        Iso8601SecondsTz | NumSecondsTz | Iso8601ColonSecondsTz | NumColonSecondsTz
    );
    let (h, mut r) = take_num(v.get(1..)?, 2, 2)?;
    let mut total = h * 3600;
    if !short {
        if colon {
            r = r.strip_prefix(':')?;
        }
        let (m, r2) = take_num(r, 2, 2)?;
        total += m * 60;
        r = r2;
    }
    if secs {
        if colon {
            r = r.strip_prefix(':')?;
        }
        let (s, r2) = take_num(r, 2, 2)?;
        total += s;
        r = r2;
    }
    Some((sign * total as i32, r))
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

// ---- the object ----

impl Object for GoTime {
    fn type_name(&self) -> &'static str {
        "time.Time"
    }

    fn kind_name(&self) -> &'static str {
        "struct"
    }

    fn member(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let c = || self.civil();
        let int = |v: i64| Some(Ok(Value::Int(v)));
        match name {
            "Year" => int(c().year),
            "Month" => Some(Ok(Value::str(
                MONTHS
                    .get((c().month as usize).saturating_sub(1))
                    .copied()
                    .unwrap_or(""),
            ))),
            "Day" => int(i64::from(c().day)),
            "Hour" => int(i64::from(c().hour)),
            "Minute" => int(i64::from(c().minute)),
            "Second" => int(i64::from(c().second)),
            "Nanosecond" => int(i64::from(c().nanos)),
            "YearDay" => int(i64::from(c().yday)),
            "Weekday" => Some(Ok(Value::str(DAYS.get(c().weekday).copied().unwrap_or("")))),
            "Unix" => Some(Ok(Value::Int64(self.unix_secs()))),
            "UnixMilli" => Some(Ok(Value::Int64(self.nanos.div_euclid(1_000_000) as i64))),
            "UnixNano" => Some(Ok(Value::Int64(self.nanos as i64))),
            "IsZero" => Some(Ok(Value::Bool(self.nanos == GoTime::zero().nanos))),
            "String" => Some(Ok(Value::string(GoTime::go_string(self)))),
            "UTC" | "Local" => Some(Ok(time_value(self.in_loc(Location::Utc)))),
            "Format" => Some(args::string(args, 0).map(|l| Value::string(self.format(l)))),
            "Add" => Some(args::int(args, 0).map(|d| time_value(self.add(d)))),
            "AddDate" => Some((|| {
                let (y, m, d) = (
                    args::int(args, 0)?,
                    args::int(args, 1)?,
                    args::int(args, 2)?,
                );
                Ok(time_value(self.add_date(y, m, d)))
            })()),
            "Before" | "After" | "Equal" | "Sub" => Some(time_arg(args).map(|o| match name {
                "Before" => Value::Bool(self.nanos < o.nanos),
                "After" => Value::Bool(self.nanos > o.nanos),
                "Equal" => Value::Bool(self.nanos == o.nanos),
                _ => Value::Int64(saturating_duration(self.nanos - o.nanos)),
            })),
            _ => None,
        }
    }

    fn go_string(&self) -> String {
        GoTime::go_string(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl GoTime {
    /// `Time.AddDate`, normalising overflowing months and days as Go does.
    fn add_date(&self, years: i64, months: i64, days: i64) -> GoTime {
        let c = self.civil();
        let total_months = c.year * 12 + i64::from(c.month) - 1 + years * 12 + months;
        let (y, m) = (
            total_months.div_euclid(12),
            total_months.rem_euclid(12) as u32 + 1,
        );
        let day_num = days_from_civil(y, m, 1) + i64::from(c.day) - 1 + days;
        let local = day_num * 86_400
            + i64::from(c.hour) * 3600
            + i64::from(c.minute) * 60
            + i64::from(c.second);
        let (_, off) = self.loc.lookup(local - i64::from(c.offset));
        GoTime {
            nanos: i128::from(local - i64::from(off)) * NANOS + i128::from(c.nanos),
            loc: self.loc.clone(),
            monotonic: false,
        }
    }
}

fn time_value(t: GoTime) -> Value {
    Value::Object(Arc::new(t))
}

fn time_arg(args: &[Value]) -> Result<GoTime, String> {
    match args.first() {
        Some(Value::Object(o)) => o.as_any().downcast_ref::<GoTime>().cloned().ok_or_else(|| {
            format!(
                "wrong type for value; expected time.Time; got {}",
                o.type_name()
            )
        }),
        Some(other) => Err(format!(
            "wrong type for value; expected time.Time; got {}",
            other.type_name()
        )),
        None => Err("wrong number of args: want 1 got 0".to_string()),
    }
}

/// sprig's handling of a `date interface{}` argument: a time, or Unix
/// seconds as `int`/`int64`; anything else means now.
fn time_of(v: &Value) -> GoTime {
    match v {
        Value::Object(o) => o
            .as_any()
            .downcast_ref::<GoTime>()
            .cloned()
            .unwrap_or_else(GoTime::now),
        Value::Int(i) | Value::Int64(i) => GoTime::unix(*i),
        _ => GoTime::now(),
    }
}

fn date_in_zone(layout: &str, date: &Value, zone: &str) -> String {
    let loc = Location::load(zone).unwrap_or(Location::Utc);
    time_of(date).in_loc(loc).format(layout)
}

/// Registers the date functions.
pub(crate) fn register(m: &mut FuncMap) {
    use Param::{Any, Str};
    const TIME: Param = Param::Object("time.Time");
    m.insert(
        "now",
        Function::new(&[], None, |_| Ok(time_value(GoTime::now()))),
    );
    m.insert(
        "date",
        Function::new(&[Str, Any], None, |a| {
            Ok(Value::string(date_in_zone(
                args::string(a, 0)?,
                args::any(a, 1),
                "Local",
            )))
        }),
    );
    m.insert(
        "htmlDate",
        Function::new(&[Any], None, |a| {
            Ok(Value::string(date_in_zone(
                "2006-01-02",
                args::any(a, 0),
                "Local",
            )))
        }),
    );
    m.insert(
        "htmlDateInZone",
        Function::new(&[Any, Str], None, |a| {
            Ok(Value::string(date_in_zone(
                "2006-01-02",
                args::any(a, 0),
                args::string(a, 1)?,
            )))
        }),
    );
    for name in ["dateInZone", "date_in_zone"] {
        m.insert(
            name,
            Function::new(&[Str, Any, Str], None, |a| {
                Ok(Value::string(date_in_zone(
                    args::string(a, 0)?,
                    args::any(a, 1),
                    args::string(a, 2)?,
                )))
            }),
        );
    }
    for name in ["dateModify", "date_modify"] {
        m.insert(
            name,
            Function::new(&[Str, TIME], None, |a| {
                let t = time_arg(a.get(1..).unwrap_or_default())?;
                Ok(time_value(match parse_duration(args::string(a, 0)?) {
                    Ok(d) => t.add(d),
                    Err(_) => t,
                }))
            }),
        );
    }
    for name in ["mustDateModify", "must_date_modify"] {
        m.insert(
            name,
            Function::new(&[Str, TIME], None, |a| {
                let t = time_arg(a.get(1..).unwrap_or_default())?;
                Ok(time_value(t.add(parse_duration(args::string(a, 0)?)?)))
            }),
        );
    }
    m.insert(
        "ago",
        Function::new(&[Any], None, |a| {
            let t = match args::any(a, 0) {
                Value::Object(_) | Value::Int(_) | Value::Int64(_) => time_of(args::any(a, 0)),
                _ => GoTime::now(),
            };
            let since = saturating_duration(GoTime::now().nanos - t.nanos);
            Ok(Value::string(format_duration(round_duration(
                since,
                1_000_000_000,
            ))))
        }),
    );
    m.insert(
        "duration",
        Function::new(&[Any], None, |a| {
            let n = match args::any(a, 0) {
                Value::Str(s) => s.parse::<i64>().unwrap_or(0),
                Value::Int64(i) => *i,
                _ => 0,
            };
            Ok(Value::string(format_duration(
                n.wrapping_mul(1_000_000_000),
            )))
        }),
    );
    m.insert(
        "durationRound",
        Function::new(&[Any], None, |a| {
            let d = match args::any(a, 0) {
                Value::Str(s) => parse_duration(s).unwrap_or(0),
                Value::Int64(i) => *i,
                Value::Object(o) => o
                    .as_any()
                    .downcast_ref::<GoTime>()
                    .map_or(0, |t| saturating_duration(GoTime::now().nanos - t.nanos)),
                _ => 0,
            };
            Ok(Value::string(duration_round(d)))
        }),
    );
    m.insert(
        "toDate",
        Function::new(&[Str, Str], None, |a| {
            Ok(time_value(
                parse_time(args::string(a, 0)?, args::string(a, 1)?)
                    .unwrap_or_else(|_| GoTime::zero()),
            ))
        }),
    );
    m.insert(
        "mustToDate",
        Function::new(&[Str, Str], None, |a| {
            parse_time(args::string(a, 0)?, args::string(a, 1)?).map(time_value)
        }),
    );
    m.insert(
        "unixEpoch",
        Function::new(&[TIME], None, |a| {
            Ok(Value::string(time_arg(a)?.unix_secs().to_string()))
        }),
    );
}

/// `Duration.Round(m)`: halves away from zero.
/// A difference of times as a Go `Duration`: `t.Sub` and `time.Since`
/// saturate at its bounds (about ±292 years) instead of wrapping.
fn saturating_duration(nanos: i128) -> i64 {
    i64::try_from(nanos).unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX })
}

fn round_duration(d: i64, m: i64) -> i64 {
    let r = d % m;
    if d < 0 {
        let r = -r;
        if r + r < m {
            d + r
        } else {
            d.checked_sub(m - r).unwrap_or(i64::MIN)
        }
    } else if r + r < m {
        d - r
    } else {
        d.checked_add(m - r).unwrap_or(i64::MAX)
    }
}

/// sprig's `durationRound`: the largest whole unit, truncated.
fn duration_round(d: i64) -> String {
    let u = d.unsigned_abs();
    const SECOND: u64 = 1_000_000_000;
    let units: [(u64, &str); 6] = [
        (SECOND * 3600 * 24 * 365, "y"),
        (SECOND * 3600 * 24 * 30, "mo"),
        (SECOND * 3600 * 24, "d"),
        (SECOND * 3600, "h"),
        (SECOND * 60, "m"),
        (SECOND, "s"),
    ];
    for (size, suffix) in units {
        if u > size {
            return format!("{}{suffix}", u / size);
        }
    }
    "0s".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_follows_go_layouts() {
        let t = GoTime::unix(1_700_000_000).add(123_456_789);
        assert_eq!(
            t.format("2006-01-02T15:04:05Z07:00"),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            t.format("Mon Jan _2 3:04PM .000 MST"),
            "Tue Nov 14 10:13PM .123 UTC"
        );
        assert_eq!(t.format(RFC3339_NANO), "2023-11-14T22:13:20.123456789Z");
        assert_eq!(t.format("06 002 -07:00"), "23 318 +00:00");
        assert_eq!(
            GoTime::zero().format("2006-01-02 15:04:05"),
            "0001-01-01 00:00:00"
        );
    }

    #[test]
    fn parse_reads_back_formatted_times() {
        let t = parse_time("2006-01-02", "2024-02-29").unwrap();
        assert_eq!(t.unix_secs(), 1_709_164_800);
        let t = parse_time("2006-01-02T15:04:05Z07:00", "2024-01-01T01:00:00+01:00").unwrap();
        assert_eq!(t.unix_secs(), 1_704_067_200);
        assert_eq!(
            parse_time("2006-01-02", "2024-1-02").unwrap_err(),
            "parsing time \"2024-1-02\" as \"2006-01-02\": cannot parse \"1-02\" as \"01\""
        );
        assert!(parse_time("2006-01-02", "2023-02-29").is_err());
    }

    #[test]
    fn duration_round_keeps_the_largest_whole_unit() {
        assert_eq!(duration_round(3 * 86_400 * 1_000_000_000 + 5), "3d");
    }

    #[test]
    fn zoneinfo_offsets_apply() {
        if let Ok(loc) = Location::load("America/New_York") {
            let t = GoTime::unix(1_700_000_000).in_loc(loc);
            assert_eq!(t.format("15:04 MST -0700"), "17:13 EST -0500");
        }
    }
}
