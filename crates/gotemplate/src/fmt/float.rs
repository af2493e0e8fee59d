//! Go's `strconv.FormatFloat` for the `e`, `f`, `g` verbs: shortest
//! round-trip digits or correctly rounded to a precision.

/// Decimal digits of `|x|` as Go's `decimalSlice`: `0.d1d2d3… × 10^dp`,
/// no trailing zeros; zero has no digits.
/// More digits than any double's exact decimal expansion needs (767
/// significant, 1074 fractional, so twice this covers the fractional case).
const EXACT_DIGITS: usize = 800;

struct Decimal {
    digits: Vec<u8>,
    dp: i32,
}

impl Decimal {
    /// From Rust's `{:e}` rendering (`d.ddde±x`), which is either shortest
    /// round-trip or correctly rounded, like Go's.
    fn from_exp_form(s: &str) -> Decimal {
        let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let mut digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
        if digits.is_empty() {
            return Decimal { digits, dp: 0 };
        }
        Decimal {
            digits,
            dp: exp + 1,
        }
    }

    fn shortest(x: f64) -> Decimal {
        Decimal::from_exp_form(&format!("{:e}", x.abs()))
    }

    /// `n` significant digits. Rust's formatter refuses precisions above
    /// `u16::MAX`; a double has at most 767 significant decimal digits and
    /// trailing zeros are dropped here anyway (the verbs pad them back).
    fn significant(x: f64, n: usize) -> Decimal {
        let n = n.min(EXACT_DIGITS);
        Decimal::from_exp_form(&format!("{:.*e}", n.saturating_sub(1), x.abs()))
    }

    fn nd(&self) -> i32 {
        self.digits.len() as i32
    }
}

/// `strconv.FormatFloat(x, verb, prec, 64)` for verbs e E f g G (others
/// fall back to `g`). The result has a leading `-` when negative.
pub(super) fn format(x: f64, verb: char, prec: i32) -> String {
    if x.is_nan() {
        return "NaN".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    let mut out = String::new();
    if x.is_sign_negative() {
        out.push('-');
    }
    match verb {
        'b' => fmt_binary(&mut out, x),
        'x' | 'X' => fmt_hex(&mut out, x, prec, verb),
        'e' | 'E' => {
            let d = if prec < 0 {
                Decimal::shortest(x)
            } else {
                Decimal::significant(x, prec as usize + 1)
            };
            let p = if prec < 0 { (d.nd() - 1).max(0) } else { prec };
            fmt_e(&mut out, &d, p, verb);
        }
        'f' | 'F' => {
            if prec < 0 {
                let d = Decimal::shortest(x);
                fmt_f(&mut out, &d, (d.nd() - d.dp).max(0));
            } else {
                // Past 1074 fractional digits a double's expansion is zeros
                // (and Rust's formatter refuses precisions above u16::MAX).
                let prec = prec as usize;
                let computed = prec.min(EXACT_DIGITS * 2);
                out.push_str(&format!("{:.*}", computed, x.abs()));
                out.extend(std::iter::repeat_n('0', prec - computed));
            }
        }
        _ => {
            let upper = verb == 'G';
            let shortest = prec < 0;
            let (d, mut prec) = if shortest {
                let d = Decimal::shortest(x);
                let n = d.nd();
                (d, n)
            } else {
                let p = if prec == 0 { 1 } else { prec };
                (Decimal::significant(x, p as usize), p)
            };
            let mut eprec = prec;
            if eprec > d.nd() && d.nd() >= d.dp {
                eprec = d.nd();
            }
            if shortest {
                eprec = 6;
            }
            let exp = d.dp - 1;
            if exp < -4 || exp >= eprec {
                if prec > d.nd() {
                    prec = d.nd();
                }
                fmt_e(
                    &mut out,
                    &d,
                    (prec - 1).max(0),
                    if upper { 'E' } else { 'e' },
                );
            } else {
                if prec > d.dp {
                    prec = d.nd();
                }
                fmt_f(&mut out, &d, (prec - d.dp).max(0));
            }
        }
    }
    out
}

/// `d.ddddde±dd`
fn fmt_e(out: &mut String, d: &Decimal, prec: i32, verb: char) {
    out.push(d.digits.first().map_or('0', |c| *c as char));
    if prec > 0 {
        out.push('.');
        let mut i = 1usize;
        let m = (d.digits.len()).min(prec as usize + 1);
        while i < m {
            out.push(d.digits[i] as char);
            i += 1;
        }
        while i <= prec as usize {
            out.push('0');
            i += 1;
        }
    }
    out.push(if verb == 'E' { 'E' } else { 'e' });
    let exp = if d.digits.is_empty() { 0 } else { d.dp - 1 };
    push_exponent(out, exp);
}

/// A signed exponent of at least two digits, as `%e` and `%x` print it.
fn push_exponent(out: &mut String, exp: i32) {
    out.push(if exp < 0 { '-' } else { '+' });
    let magnitude = exp.unsigned_abs();
    if magnitude < 10 {
        out.push('0');
    }
    out.push_str(&magnitude.to_string());
}

/// `ddd.ddd`
fn fmt_f(out: &mut String, d: &Decimal, prec: i32) {
    if d.dp > 0 {
        let m = d.digits.len().min(d.dp as usize);
        for c in &d.digits[..m] {
            out.push(*c as char);
        }
        for _ in m..d.dp as usize {
            out.push('0');
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            let j = d.dp + i - 1;
            let c = if j >= 0 && (j as usize) < d.digits.len() {
                d.digits[j as usize] as char
            } else {
                '0'
            };
            out.push(c);
        }
    }
}

/// The IEEE fields of `|x|`: integer mantissa and binary exponent such that
/// `|x| = mant × 2^(exp - 52)`, denormals included.
fn fields(x: f64) -> (u64, i32) {
    let bits = x.to_bits();
    let mut exp = ((bits >> 52) & 0x7ff) as i32;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        exp += 1;
    } else {
        mant |= 1u64 << 52;
    }
    (mant, exp - 1023)
}

/// `%b`: `mantissa p±exponent`, the exponent of two applying to the integer.
fn fmt_binary(out: &mut String, x: f64) {
    let (mant, exp) = fields(x);
    let exp = exp - 52;
    out.push_str(&mant.to_string());
    out.push('p');
    if exp >= 0 {
        out.push('+');
    }
    out.push_str(&exp.to_string());
}

/// `%x`: `0x1.8p+01`, hex digits of the mantissa, rounded (half to even)
/// to `prec` digits when a precision is given.
fn fmt_hex(out: &mut String, x: f64, prec: i32, verb: char) {
    let (mut mant, mut exp) = fields(x);
    if mant == 0 {
        exp = 0;
    }
    // Leading 1 at bit 60, four bits per hex digit after it.
    mant <<= 60 - 52;
    while mant != 0 && mant & (1u64 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    if (0..15).contains(&prec) {
        let shift = (prec * 4) as u32;
        let extra = (mant << shift) & ((1u64 << 60) - 1);
        mant >>= 60 - shift;
        if extra | (mant & 1) > 1u64 << 59 {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1u64 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let digits: &[u8; 16] = if verb == 'X' {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    out.push('0');
    out.push(verb);
    out.push(if (mant >> 60) & 1 == 1 { '1' } else { '0' });
    mant <<= 4;
    if prec < 0 && mant != 0 {
        out.push('.');
        while mant != 0 {
            out.push(digits[((mant >> 60) & 15) as usize] as char);
            mant <<= 4;
        }
    } else if prec > 0 {
        out.push('.');
        for _ in 0..prec {
            out.push(digits[((mant >> 60) & 15) as usize] as char);
            mant <<= 4;
        }
    }
    out.push(if verb == 'X' { 'P' } else { 'p' });
    push_exponent(out, exp);
}
