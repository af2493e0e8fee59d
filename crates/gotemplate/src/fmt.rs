//! Go's `fmt` printing of template values: `Sprint`, `Sprintln`, `Sprintf`,
//! with Go's verbs, flags, widths, argument indexes and `%!v(BADxxx)` forms.
//!
//! Printing is bounded: what a value prints can be far larger than the value
//! (a list holding one big list many times), so a printer stops where its
//! output could not fit — the render budget's room for a value, the output
//! limit for the executor's output — instead of after.

mod float;

use crate::budget;
use crate::go::strconv;
use crate::value::Value;

/// `fmt.Sprint(args...)`: spaces between operands when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    sprint_into(&mut out, args);
    out
}

/// `fmt.Sprint` appending to `out`.
pub(crate) fn sprint_into(out: &mut String, args: &[Value]) {
    let mut p = Printer::new(out);
    let mut prev_string = false;
    for (i, arg) in args.iter().enumerate() {
        let is_string = matches!(arg, Value::Str(_));
        if i > 0 && !is_string && !prev_string {
            p.buf.push(' ');
        }
        p.print_plain(arg);
        prev_string = is_string;
    }
}

/// `fmt.Sprintln(args...)`: spaces between all operands, newline at the end.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    sprintln_into(&mut out, args);
    out
}

/// `fmt.Sprintln` appending to `out`.
pub(crate) fn sprintln_into(out: &mut String, args: &[Value]) {
    let mut p = Printer::new(out);
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            p.buf.push(' ');
        }
        p.print_plain(arg);
    }
    p.buf.push('\n');
}

/// `fmt.Sprintf(format, args...)` with Go's verbs, flags and `%!v(BADxxx)` forms.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    sprintf_into(&mut out, format, args);
    out
}

/// What `fmt.Sprint(v)` prints for one value (`%v` without flags), the
/// executor printing a pipeline result into its output: false, with the
/// output cut short, when `out` would grow past `limit` bytes.
pub(crate) fn write_value(out: &mut String, v: &Value, limit: usize) -> bool {
    let mut p = Printer::bounded(out, limit);
    p.print_plain(v);
    !p.full
}

/// How Go's `%v` prints a `complex128`: `(1+2i)`.
pub(crate) fn complex_string(re: f64, im: f64) -> String {
    let mut out = String::from("(");
    let mut p = Printer::new(&mut out);
    p.fmt_float(re, 'g', -1);
    p.f.plus = true;
    p.fmt_float(im, 'g', -1);
    out.push_str("i)");
    out
}

fn push_int(out: &mut String, i: i64) {
    use std::fmt::Write;
    let _ = write!(out, "{i}");
}

/// Formatting flags of one verb, as Go's `fmt.fmt` keeps them.
#[derive(Clone, Copy, Default)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    plus_v: bool,
    sharp_v: bool,
    wid: Option<usize>,
    prec: Option<usize>,
}

/// Writes formatted values into a borrowed output buffer, up to a limit.
struct Printer<'a> {
    buf: &'a mut String,
    f: Flags,
    /// The length `buf` must not pass.
    limit: usize,
    /// The length `buf` had at the start.
    start: usize,
    /// Whether the limit is the render budget's (passing it exhausts the
    /// budget) rather than the output's.
    budgeted: bool,
    /// Set once something did not fit: the printer writes nothing more.
    full: bool,
}

const LOWER_HEX: &[u8; 17] = b"0123456789abcdefx";
const UPPER_HEX: &[u8; 17] = b"0123456789ABCDEFX";

impl<'a> Printer<'a> {
    /// A printer of a value: bounded by what the render may still build.
    fn new(buf: &'a mut String) -> Self {
        let limit = budget::write_limit(buf);
        Printer {
            f: Flags::default(),
            limit,
            start: buf.len(),
            budgeted: true,
            full: false,
            buf,
        }
    }

    /// A printer into output bounded by `limit`.
    fn bounded(buf: &'a mut String, limit: usize) -> Self {
        Printer {
            f: Flags::default(),
            limit,
            start: buf.len(),
            budgeted: false,
            full: false,
            buf,
        }
    }

    /// Whether `n` more bytes fit; if not, the printer is full from now on
    /// (and a budgeted one exhausts the budget).
    fn room_for(&mut self, n: usize) -> bool {
        if !self.full && self.buf.len().saturating_add(n) <= self.limit {
            return true;
        }
        if !self.full {
            self.full = true;
            if self.budgeted {
                budget::overrun(self.buf.len() - self.start + n);
            }
        }
        false
    }

    /// `%v` without flags, with the fast paths of the common values.
    fn print_plain(&mut self, v: &Value) {
        match v {
            Value::Str(s) => {
                if self.room_for(s.len()) {
                    self.buf.push_str(s);
                }
            }
            Value::Bool(b) => self.buf.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) | Value::Int64(i) => push_int(self.buf, *i),
            // Integral floats below 1e6 print as integers under `%g`
            // shortest; skipping the digit generation is the common case
            // for JSON data.
            Value::Float(x)
                if x.fract() == 0.0 && x.abs() < 1e6 && !(*x == 0.0 && x.is_sign_negative()) =>
            {
                push_int(self.buf, *x as i64)
            }
            _ => {
                self.f = Flags::default();
                self.print_arg(v, 'v');
            }
        }
    }

    fn write_padding(&mut self, n: usize) {
        if !self.room_for(n) {
            return;
        }
        let c = if self.f.zero { '0' } else { ' ' };
        self.buf.extend(std::iter::repeat_n(c, n));
    }

    /// Pads `s` to the width, on the left unless `-` was given.
    fn pad(&mut self, s: &str) {
        let Some(wid) = self.f.wid.filter(|w| *w > 0) else {
            if self.room_for(s.len()) {
                self.buf.push_str(s);
            }
            return;
        };
        if !self.room_for(s.len().max(wid)) {
            return;
        }
        let width = wid.saturating_sub(s.chars().count());
        if self.f.minus {
            self.buf.push_str(s);
            self.write_padding(width);
        } else {
            self.write_padding(width);
            self.buf.push_str(s);
        }
    }

    fn print_arg(&mut self, v: &Value, verb: char) {
        if verb == 'T' {
            if let Value::Nil = v {
                self.pad("<nil>");
                return;
            }
            let name = v.type_name();
            let shown = self.truncate(&name);
            self.pad(shown);
            return;
        }
        match v {
            Value::Nil => match verb {
                'v' => self.pad("<nil>"),
                _ => self.bad_verb(verb, v),
            },
            _ => self.print_value(v, verb, 0),
        }
    }

    /// Go's `printValue`: `depth > 0` inside slices and maps, where a nil
    /// interface prints `<nil>` whatever the verb.
    fn print_value(&mut self, v: &Value, verb: char, depth: usize) {
        if !self.room_for(0) {
            return;
        }
        if depth > crate::value::MAX_NESTING && matches!(v, Value::List(_) | Value::Map(_)) {
            // A map that holds itself (`set $d "self" $d`) would recurse
            // forever; Go's fmt overflows its stack there, we cut the output.
            self.buf.push_str("...");
            return;
        }
        match v {
            Value::Nil => {
                if self.f.sharp_v {
                    self.pad("interface {}(nil)");
                } else if depth == 0 && verb != 'v' {
                    self.bad_verb(verb, v);
                } else {
                    self.pad("<nil>");
                }
            }
            Value::Bool(b) => match verb {
                't' | 'v' => self.pad(if *b { "true" } else { "false" }),
                _ => self.bad_verb(verb, v),
            },
            Value::Int(i) | Value::Int64(i) => self.fmt_int(*i, verb, v),
            Value::Float(x) => self.fmt_float_verb(*x, verb, v),
            Value::Str(s) => self.fmt_string(s, verb, v),
            Value::List(l) => {
                if self.f.sharp_v {
                    self.buf.push_str(&v.type_name());
                    self.buf.push('{');
                    for (i, item) in l.items.iter().enumerate() {
                        if self.full {
                            break;
                        }
                        if i > 0 {
                            self.buf.push_str(", ");
                        }
                        self.print_value(item, verb, depth + 1);
                    }
                    self.buf.push('}');
                    return;
                }
                self.buf.push('[');
                for (i, item) in l.items.iter().enumerate() {
                    if self.full {
                        break;
                    }
                    if i > 0 {
                        self.buf.push(' ');
                    }
                    self.print_value(item, verb, depth + 1);
                }
                self.buf.push(']');
            }
            Value::Map(m) => {
                if self.f.sharp_v {
                    self.buf.push_str(&v.type_name());
                    self.buf.push('{');
                } else {
                    self.buf.push_str("map[");
                }
                for (i, (k, item)) in m.snapshot().iter().enumerate() {
                    if self.full {
                        break;
                    }
                    if i > 0 {
                        self.buf.push_str(if self.f.sharp_v { ", " } else { " " });
                    }
                    self.fmt_string(k, verb, &Value::Str(k.clone()));
                    self.buf.push(':');
                    self.print_value(item, verb, depth + 1);
                }
                self.buf.push(if self.f.sharp_v { '}' } else { ']' });
            }
            Value::Object(o) => match verb {
                'v' | 's' | 'x' | 'X' | 'q' => {
                    let s = o.go_string();
                    self.fmt_string(&s, verb, v);
                }
                _ => self.bad_verb(verb, v),
            },
        }
    }

    /// `%!verb(type=value)`.
    fn bad_verb(&mut self, verb: char, v: &Value) {
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push('(');
        match v {
            Value::Nil => self.buf.push_str("<nil>"),
            _ => {
                self.buf.push_str(&v.type_name());
                self.buf.push('=');
                // Go prints the operand with 'v' but keeps the flags.
                self.print_value(v, 'v', 0);
            }
        }
        self.buf.push(')');
    }

    fn fmt_int(&mut self, i: i64, verb: char, v: &Value) {
        match verb {
            'v' if self.f.sharp_v => self.fmt_integer(i, 10, verb, LOWER_HEX),
            'v' | 'd' => self.fmt_integer(i, 10, verb, LOWER_HEX),
            'b' => self.fmt_integer(i, 2, verb, LOWER_HEX),
            'o' | 'O' => self.fmt_integer(i, 8, verb, LOWER_HEX),
            'x' => self.fmt_integer(i, 16, verb, LOWER_HEX),
            'X' => self.fmt_integer(i, 16, verb, UPPER_HEX),
            'c' => {
                let c = char_of(i);
                let mut tmp = [0u8; 4];
                let s = c.encode_utf8(&mut tmp);
                self.pad(s);
            }
            'q' => {
                let c = char_of(i);
                let mut s = String::new();
                strconv::quote_rune_into(&mut s, c, self.f.plus);
                self.pad(&s);
            }
            'U' => self.fmt_unicode(i),
            _ => self.bad_verb(verb, v),
        }
    }

    /// Go's `fmtInteger`.
    fn fmt_integer(&mut self, i: i64, base: u64, verb: char, digits: &[u8; 17]) {
        let negative = i < 0;
        let mut u = i.unsigned_abs();
        let mut prec = 0usize;
        if let Some(p) = self.f.prec {
            prec = p;
            if p == 0 && u == 0 {
                let old = self.f.zero;
                self.f.zero = false;
                let w = self.f.wid.unwrap_or(0);
                self.write_padding(w);
                self.f.zero = old;
                return;
            }
        } else if let (true, Some(w)) = (self.f.zero, self.f.wid) {
            prec = w;
            if negative || self.f.plus || self.f.space {
                prec = prec.saturating_sub(1);
            }
        }
        let mut buf: Vec<u8> = Vec::with_capacity(24);
        loop {
            let d = (u % base) as usize;
            buf.push(digits.get(d).copied().unwrap_or(b'0'));
            u /= base;
            if u == 0 {
                break;
            }
        }
        while buf.len() < prec {
            buf.push(b'0');
        }
        if self.f.sharp {
            match base {
                2 => buf.extend_from_slice(b"b0"),
                8 if buf.last() != Some(&b'0') => buf.push(b'0'),
                16 => {
                    buf.push(digits[16]);
                    buf.push(b'0');
                }
                _ => {}
            }
        }
        if verb == 'O' {
            buf.extend_from_slice(b"o0");
        }
        if negative {
            buf.push(b'-');
        } else if self.f.plus {
            buf.push(b'+');
        } else if self.f.space {
            buf.push(b' ');
        }
        buf.reverse();
        let s = String::from_utf8(buf).unwrap_or_default();
        let old = self.f.zero;
        self.f.zero = false;
        self.pad(&s);
        self.f.zero = old;
    }

    fn fmt_unicode(&mut self, i: i64) {
        let mut s = format!("U+{:04X}", i as u64);
        if self.f.sharp {
            if let Some(c) = u32::try_from(i).ok().and_then(char::from_u32) {
                if strconv::is_print(c) {
                    s.push_str(" '");
                    s.push(c);
                    s.push('\'');
                }
            }
        }
        let old = self.f.zero;
        self.f.zero = false;
        self.pad(&s);
        self.f.zero = old;
    }

    fn fmt_float_verb(&mut self, x: f64, verb: char, v: &Value) {
        match verb {
            'v' => self.fmt_float(x, 'g', -1),
            'b' | 'g' | 'G' | 'x' | 'X' => self.fmt_float(x, verb, -1),
            'f' | 'e' | 'E' => self.fmt_float(x, verb, 6),
            'F' => self.fmt_float(x, 'f', 6),
            _ => self.bad_verb(verb, v),
        }
    }

    /// Go's `fmt.fmtFloat`: strconv formatting plus sign, `#` and padding.
    fn fmt_float(&mut self, x: f64, verb: char, default_prec: i32) {
        let prec = self
            .f
            .prec
            .map(|p| i32::try_from(p).unwrap_or(i32::MAX))
            .unwrap_or(default_prec);
        let mut num = float::format(x, verb, prec);
        if !(num.starts_with('-') || num.starts_with('+')) {
            num.insert(0, '+');
        }
        if self.f.space && num.starts_with('+') && !self.f.plus {
            num.replace_range(0..1, " ");
        }
        if num[1..].starts_with('I') || num[1..].starts_with('N') {
            let old = self.f.zero;
            self.f.zero = false;
            if num[1..].starts_with('N') && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            self.pad(&num);
            self.f.zero = old;
            return;
        }
        if self.f.sharp && verb != 'b' {
            num = sharpen_float(&num, verb, prec);
        }
        if self.f.plus || !num.starts_with('+') {
            if let (true, Some(w)) = (self.f.zero, self.f.wid) {
                if w > num.len() {
                    let (sign, rest) = num.split_at(1);
                    self.buf.push_str(sign);
                    self.write_padding(w - num.len());
                    self.buf.push_str(rest);
                    return;
                }
            }
            self.pad(&num);
            return;
        }
        self.pad(&num[1..]);
    }

    fn fmt_string(&mut self, s: &str, verb: char, v: &Value) {
        match verb {
            'v' if self.f.sharp_v => self.quote(s, false),
            'v' | 's' => {
                let t = self.truncate(s);
                self.pad(t);
            }
            'x' => self.fmt_sbx(s, LOWER_HEX),
            'X' => self.fmt_sbx(s, UPPER_HEX),
            'q' => {
                let t = self.truncate(s);
                if self.f.sharp && strconv::can_backquote(t) {
                    let q = format!("`{t}`");
                    self.pad(&q);
                    return;
                }
                self.quote(t, self.f.plus);
            }
            _ => self.bad_verb(verb, v),
        }
    }

    /// `strconv.Quote` (or `QuoteToASCII`) padded, when it fits.
    fn quote(&mut self, s: &str, ascii_only: bool) {
        if !self.room_for(strconv::quoted_len(s, ascii_only)) {
            return;
        }
        let mut q = String::new();
        strconv::quote_into(&mut q, s, ascii_only);
        self.pad(&q);
    }

    fn truncate<'s>(&self, s: &'s str) -> &'s str {
        if let Some(p) = self.f.prec {
            if let Some((i, _)) = s.char_indices().nth(p) {
                return &s[..i];
            }
        }
        s
    }

    /// Go's `fmtSbx`: hex of the bytes of a string.
    fn fmt_sbx(&mut self, s: &str, digits: &[u8; 17]) {
        let bytes = s.as_bytes();
        let length = self.f.prec.map_or(bytes.len(), |p| p.min(bytes.len()));
        let mut width = 2 * length;
        if width > 0 {
            if self.f.space {
                if self.f.sharp {
                    width *= 2;
                }
                width += length - 1;
            } else if self.f.sharp {
                width += 2;
            }
        } else {
            if let Some(w) = self.f.wid {
                self.write_padding(w);
            }
            return;
        }
        let wid = self.f.wid.unwrap_or(0);
        if !self.room_for(width.max(wid)) {
            return;
        }
        if wid > width && !self.f.minus {
            self.write_padding(wid - width);
        }
        let mut out = String::with_capacity(width);
        if self.f.sharp {
            out.push('0');
            out.push(digits[16] as char);
        }
        for (i, c) in bytes.iter().take(length).enumerate() {
            if self.f.space && i > 0 {
                out.push(' ');
                if self.f.sharp {
                    out.push('0');
                    out.push(digits[16] as char);
                }
            }
            out.push(digits[(c >> 4) as usize] as char);
            out.push(digits[(c & 0xF) as usize] as char);
        }
        self.buf.push_str(&out);
        if wid > width && self.f.minus {
            self.write_padding(wid - width);
        }
    }
}

fn char_of(i: i64) -> char {
    u32::try_from(i)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// The `#` flag on floats: keep a decimal point, and for `%g` keep trailing
/// zeros up to the precision.
fn sharpen_float(num: &str, verb: char, prec: i32) -> String {
    let mut digits: i32 = match verb {
        'v' | 'g' | 'G' | 'x' => {
            if prec == -1 {
                6
            } else {
                prec
            }
        }
        _ => 0,
    };
    let bytes = num.as_bytes();
    let mut body = String::new();
    let mut tail = String::new();
    let mut has_point = false;
    let mut saw_nonzero = false;
    body.push(bytes[0] as char);
    let mut i = 1;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'.' => {
                has_point = true;
                body.push('.');
            }
            b'p' | b'P' => {
                tail.push_str(&num[i..]);
                break;
            }
            b'e' | b'E' if verb != 'x' && verb != 'X' => {
                tail.push_str(&num[i..]);
                break;
            }
            _ => {
                if c != b'0' {
                    saw_nonzero = true;
                }
                if saw_nonzero {
                    digits -= 1;
                }
                body.push(c as char);
            }
        }
        i += 1;
    }
    if !has_point {
        if body.len() == 2 && body.ends_with('0') {
            digits -= 1;
        }
        body.push('.');
    }
    while digits > 0 {
        body.push('0');
        digits -= 1;
    }
    body.push_str(&tail);
    body
}

/// Where `Sprintf` is in its format and its arguments (Go's `pp` state).
struct Scan<'f> {
    format: &'f str,
    i: usize,
    arg_num: usize,
    num_args: usize,
    reordered: bool,
    good_arg_num: bool,
}

impl Scan<'_> {
    fn at(&self, c: u8) -> bool {
        self.format.as_bytes().get(self.i) == Some(&c)
    }

    /// Go's `argNumber` here: reads an explicit `[n]`; whether there was one.
    fn arg_index(&mut self) -> bool {
        let (n, i, found) = arg_number(
            self.arg_num,
            self.format,
            self.i,
            self.num_args,
            &mut self.reordered,
            &mut self.good_arg_num,
        );
        self.arg_num = n;
        self.i = i;
        found
    }

    /// A `*` width or precision: the next argument as an int, if it is one.
    fn star(&mut self, args: &[Value]) -> (i64, bool) {
        self.i += 1;
        let (num, ok, n) = int_from_arg(args, self.arg_num);
        self.arg_num = n;
        (num, ok)
    }

    /// A literal width or precision.
    fn number(&mut self) -> (usize, bool) {
        let (num, ok, i) = parse_num(self.format.as_bytes(), self.i, self.format.len());
        self.i = i;
        (num, ok)
    }
}

impl Printer<'_> {
    /// Prints one operand; `%v` takes `#` and `+` as its own flags.
    fn print_verb(&mut self, arg: &Value, verb: char) {
        if verb == 'v' {
            self.f.sharp_v = self.f.sharp;
            self.f.sharp = false;
            self.f.plus_v = self.f.plus;
            self.f.plus = false;
        }
        self.print_arg(arg, verb);
    }

    /// Flags up to the verb; when the verb follows at once and its argument
    /// exists, prints it and returns true (Go's fast path).
    fn flags(&mut self, s: &mut Scan, args: &[Value]) -> bool {
        let fmt = s.format.as_bytes();
        while let Some(&c) = fmt.get(s.i) {
            match c {
                b'#' => self.f.sharp = true,
                b'0' => self.f.zero = !self.f.minus,
                b'+' => self.f.plus = true,
                b'-' => {
                    self.f.minus = true;
                    self.f.zero = false;
                }
                b' ' => self.f.space = true,
                _ => {
                    if c.is_ascii_lowercase() && s.arg_num < args.len() {
                        self.print_verb(&args[s.arg_num], c as char);
                        s.arg_num += 1;
                        s.i += 1;
                        return true;
                    }
                    return false;
                }
            }
            s.i += 1;
        }
        false
    }

    /// `[n]*` or digits: the width.
    fn width(&mut self, s: &mut Scan, args: &[Value]) -> bool {
        let after_index = s.arg_index();
        if !s.at(b'*') {
            let (w, ok) = s.number();
            if ok {
                self.f.wid = Some(w);
                if after_index {
                    s.good_arg_num = false;
                }
            }
            return after_index;
        }
        let (num, ok) = s.star(args);
        if !ok {
            self.buf.push_str("%!(BADWIDTH)");
        }
        if num < 0 {
            self.f.wid = Some(num.unsigned_abs() as usize);
            self.f.minus = true;
            self.f.zero = false;
        } else if ok {
            self.f.wid = Some(num as usize);
        }
        false
    }

    /// `.` then `[n]*` or digits: the precision.
    fn precision(&mut self, s: &mut Scan, args: &[Value], after_index: bool) -> bool {
        if !(s.i + 1 < s.format.len() && s.at(b'.')) {
            return after_index;
        }
        s.i += 1;
        if after_index {
            s.good_arg_num = false;
        }
        let after_index = s.arg_index();
        if !s.at(b'*') {
            let (prec, ok) = s.number();
            self.f.prec = Some(if ok { prec } else { 0 });
            return after_index;
        }
        let (num, ok) = s.star(args);
        let ok = ok && num >= 0;
        self.f.prec = if ok { Some(num as usize) } else { None };
        if !ok {
            self.buf.push_str("%!(BADPREC)");
        }
        false
    }
}

/// `fmt.Sprintf` appending to `out`.
pub(crate) fn sprintf_into(out: &mut String, format: &str, args: &[Value]) {
    let mut p = Printer::new(out);
    let mut s = Scan {
        format,
        i: 0,
        arg_num: 0,
        num_args: args.len(),
        reordered: false,
        good_arg_num: true,
    };
    let end = format.len();
    while s.i < end && !p.full {
        s.good_arg_num = true;
        let last = s.i;
        s.i = format[last..].find('%').map_or(end, |k| last + k);
        if !p.room_for(s.i - last) {
            return;
        }
        p.buf.push_str(&format[last..s.i]);
        if s.i >= end {
            break;
        }
        s.i += 1;
        p.f = Flags::default();
        if p.flags(&mut s, args) {
            continue;
        }
        let after_index = p.width(&mut s, args);
        if !p.precision(&mut s, args, after_index) {
            s.arg_index();
        }
        if s.i >= end {
            p.buf.push_str("%!(NOVERB)");
            break;
        }
        let Some(verb) = format[s.i..].chars().next() else {
            break;
        };
        s.i += verb.len_utf8();
        if verb == '%' {
            p.buf.push('%');
        } else if !s.good_arg_num {
            p.buf.push_str("%!");
            p.buf.push(verb);
            p.buf.push_str("(BADINDEX)");
        } else if s.arg_num >= args.len() {
            p.buf.push_str("%!");
            p.buf.push(verb);
            p.buf.push_str("(MISSING)");
        } else {
            p.print_verb(&args[s.arg_num], verb);
            s.arg_num += 1;
        }
    }
    let (reordered, arg_num) = (s.reordered, s.arg_num);
    if p.full {
        return;
    }
    if !reordered && arg_num < args.len() {
        p.f = Flags::default();
        p.buf.push_str("%!(EXTRA ");
        for (k, arg) in args[arg_num..].iter().enumerate() {
            if k > 0 {
                p.buf.push_str(", ");
            }
            if let Value::Nil = arg {
                p.buf.push_str("<nil>");
            } else {
                p.buf.push_str(&arg.type_name());
                p.buf.push('=');
                p.print_arg(arg, 'v');
            }
        }
        p.buf.push(')');
    }
}

/// Go's `tooLarge`: widths and precisions beyond 1e6 are refused.
fn too_large(x: i64) -> bool {
    !(-1_000_000..=1_000_000).contains(&x)
}

fn int_from_arg(args: &[Value], arg_num: usize) -> (i64, bool, usize) {
    let Some(arg) = args.get(arg_num) else {
        return (0, false, arg_num);
    };
    let (num, ok) = match arg {
        Value::Int(i) | Value::Int64(i) => (*i, true),
        _ => (0, false),
    };
    if too_large(num) {
        return (0, false, arg_num + 1);
    }
    (num, ok, arg_num + 1)
}

fn parse_num(fmt: &[u8], start: usize, end: usize) -> (usize, bool, usize) {
    if start >= end {
        return (0, false, end);
    }
    let mut num: usize = 0;
    let mut i = start;
    let mut found = false;
    while i < end && fmt[i].is_ascii_digit() {
        if num > 1_000_000 {
            return (0, false, end);
        }
        num = num * 10 + (fmt[i] - b'0') as usize;
        found = true;
        i += 1;
    }
    (num, found, i)
}

/// Go's `argNumber`: an explicit `[n]` index.
fn arg_number(
    arg_num: usize,
    format: &str,
    i: usize,
    num_args: usize,
    reordered: &mut bool,
    good: &mut bool,
) -> (usize, usize, bool) {
    let fmt = format.as_bytes();
    if fmt.len() <= i || fmt[i] != b'[' {
        return (arg_num, i, false);
    }
    *reordered = true;
    let (index, wid, ok) = parse_arg_number(&fmt[i..]);
    if ok && index >= 0 && (index as usize) < num_args {
        return (index as usize, i + wid, true);
    }
    *good = false;
    (arg_num, i + wid, ok)
}

fn parse_arg_number(fmt: &[u8]) -> (i64, usize, bool) {
    if fmt.len() < 3 {
        return (0, 1, false);
    }
    for i in 1..fmt.len() {
        if fmt[i] == b']' {
            let (width, ok, newi) = parse_num(fmt, 1, i);
            if !ok || newi != i {
                return (0, i + 1, false);
            }
            return (width as i64 - 1, i + 1, true);
        }
    }
    (0, 1, false)
}

#[cfg(test)]
mod tests;
