//! sprig's arithmetic (`add`, `div`, `max`, `round`, …), the `*f` functions
//! over shopspring/decimal, and the numeric conversions (`int`, `int64`,
//! `float64`, `atoi`, `toDecimal`).

use gotemplate::{FuncMap, Function, Param, Value};

use crate::args;
use crate::cast::{sprint_v, to_float64, to_int64};
use crate::random;

const DIVIDE_BY_ZERO: &str = "runtime error: integer divide by zero";

/// Registers the math and conversion functions.
pub(crate) fn register(m: &mut FuncMap) {
    use Param::{Any, Float, Int, Str};
    m.insert(
        "add1",
        Function::new(&[Any], None, |a| {
            Ok(Value::Int64(to_int64(args::any(a, 0)).wrapping_add(1)))
        }),
    );
    m.insert(
        "add",
        Function::new(&[], Some(Any), |a| {
            Ok(Value::Int64(
                a.iter().map(to_int64).fold(0i64, i64::wrapping_add),
            ))
        }),
    );
    m.insert(
        "sub",
        Function::new(&[Any, Any], None, |a| {
            let (x, y) = (to_int64(args::any(a, 0)), to_int64(args::any(a, 1)));
            Ok(Value::Int64(x.wrapping_sub(y)))
        }),
    );
    m.insert(
        "div",
        Function::new(&[Any, Any], None, |a| {
            let (x, y) = (to_int64(args::any(a, 0)), to_int64(args::any(a, 1)));
            if y == 0 {
                return Err(DIVIDE_BY_ZERO.to_string());
            }
            Ok(Value::Int64(x.wrapping_div(y)))
        }),
    );
    m.insert(
        "mod",
        Function::new(&[Any, Any], None, |a| {
            let (x, y) = (to_int64(args::any(a, 0)), to_int64(args::any(a, 1)));
            if y == 0 {
                return Err(DIVIDE_BY_ZERO.to_string());
            }
            Ok(Value::Int64(x.wrapping_rem(y)))
        }),
    );
    m.insert(
        "mul",
        Function::new(&[Any], Some(Any), |a| {
            Ok(Value::Int64(
                a.iter().map(to_int64).fold(1i64, i64::wrapping_mul),
            ))
        }),
    );
    m.insert(
        "randInt",
        Function::new(&[Int, Int], None, |a| {
            let (lo, hi) = (args::int(a, 0)?, args::int(a, 1)?);
            let n = hi.wrapping_sub(lo);
            if n <= 0 {
                return Err("invalid argument to Intn".to_string());
            }
            Ok(Value::Int(random::below(n as u64)? as i64 + lo))
        }),
    );
    m.insert(
        "add1f",
        Function::new(&[Any], None, |a| {
            decimal_op(args::any(a, 0), &[Value::Int(1)], Op::Add)
        }),
    );
    m.insert(
        "addf",
        Function::new(&[], Some(Any), |a| {
            decimal_op(&Value::Float(0.0), a, Op::Add)
        }),
    );
    for (name, op) in [("subf", Op::Sub), ("mulf", Op::Mul), ("divf", Op::Div)] {
        m.insert(
            name,
            Function::new(&[Any], Some(Any), move |a| {
                decimal_op(args::any(a, 0), a.get(1..).unwrap_or_default(), op)
            }),
        );
    }
    for name in ["max", "biggest"] {
        m.insert(
            name,
            Function::new(&[Any], Some(Any), |a| {
                Ok(Value::Int64(a.iter().map(to_int64).max().unwrap_or(0)))
            }),
        );
    }
    m.insert(
        "min",
        Function::new(&[Any], Some(Any), |a| {
            Ok(Value::Int64(a.iter().map(to_int64).min().unwrap_or(0)))
        }),
    );
    m.insert(
        "maxf",
        Function::new(&[Any], Some(Any), |a| {
            let mut it = a.iter().map(to_float64);
            let first = it.next().unwrap_or(0.0);
            Ok(Value::Float(it.fold(first, go_max)))
        }),
    );
    m.insert(
        "minf",
        Function::new(&[Any], Some(Any), |a| {
            let mut it = a.iter().map(to_float64);
            let first = it.next().unwrap_or(0.0);
            Ok(Value::Float(it.fold(first, go_min)))
        }),
    );
    m.insert(
        "ceil",
        Function::new(&[Any], None, |a| {
            Ok(Value::Float(to_float64(args::any(a, 0)).ceil()))
        }),
    );
    m.insert(
        "floor",
        Function::new(&[Any], None, |a| {
            Ok(Value::Float(to_float64(args::any(a, 0)).floor()))
        }),
    );
    m.insert(
        "round",
        Function::new(&[Any, Int], Some(Float), |a| {
            let round_on = a.get(2).map_or(Ok(0.5), |_| args::float(a, 2))?;
            Ok(Value::Float(round(
                to_float64(args::any(a, 0)),
                args::int(a, 1)?,
                round_on,
            )))
        }),
    );
    m.insert(
        "atoi",
        Function::new(&[Str], None, |a| Ok(Value::Int(atoi(args::string(a, 0)?)))),
    );
    m.insert(
        "int64",
        Function::new(&[Any], None, |a| {
            Ok(Value::Int64(to_int64(args::any(a, 0))))
        }),
    );
    m.insert(
        "int",
        Function::new(&[Any], None, |a| Ok(Value::Int(to_int64(args::any(a, 0))))),
    );
    m.insert(
        "float64",
        Function::new(&[Any], None, |a| {
            Ok(Value::Float(to_float64(args::any(a, 0))))
        }),
    );
    m.insert(
        "toDecimal",
        Function::new(&[Any], None, |a| {
            Ok(Value::Int64(
                parse_octal(&sprint_v(args::any(a, 0))).unwrap_or(0),
            ))
        }),
    );
}

/// `math.Max`: NaN wins, +0 beats -0.
fn go_max(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == 0.0 && y == 0.0 {
        if x.is_sign_positive() {
            x
        } else {
            y
        }
    } else if x > y {
        x
    } else {
        y
    }
}

/// `math.Min`: NaN wins, -0 beats +0.
fn go_min(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == 0.0 && y == 0.0 {
        if x.is_sign_negative() {
            x
        } else {
            y
        }
    } else if x < y {
        x
    } else {
        y
    }
}

/// sprig's `round`: away from zero once the fraction reaches `round_on`.
fn round(val: f64, places: i64, round_on: f64) -> f64 {
    let pow = 10f64.powf(places as f64);
    let digit = pow * val;
    let frac = digit - digit.trunc();
    let r = if frac >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    r / pow
}

/// `strconv.Atoi`, 0 on error.
fn atoi(s: &str) -> i64 {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    // `strconv.Atoi` returns the nearest int with its range error, and
    // sprig drops only the error.
    s.parse::<i64>().unwrap_or(if s.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// `strconv.ParseInt(s, 8, 64)`.
fn parse_octal(s: &str) -> Option<i64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    i64::from_str_radix(s, 8).ok()
}

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// sprig's `execDecimalOp`: each operand becomes the shortest decimal of
/// its float64, the operation is exact (division: 16 places, half away
/// from zero), and the result is read back as a float64.
fn decimal_op(first: &Value, rest: &[Value], op: Op) -> Result<Value, String> {
    let mut acc = Dec::from_f64(to_float64(first))?;
    for v in rest {
        let d = Dec::from_f64(to_float64(v))?;
        acc = match op {
            Op::Add => acc.add(d),
            Op::Sub => acc.add(d.neg()),
            Op::Mul => acc.mul(d),
            Op::Div => acc.div(d)?,
        };
    }
    Ok(Value::Float(acc.to_f64()))
}

/// A decimal `m × 10^e`; falls back to float arithmetic (`Float`) when the
/// 128-bit mantissa would overflow.
#[derive(Clone, Copy, Debug)]
enum Dec {
    Exact { m: i128, e: i32 },
    Float(f64),
}

impl Dec {
    fn from_f64(f: f64) -> Result<Dec, String> {
        if f.is_nan() {
            return Err("Cannot create a Decimal from NaN".to_string());
        }
        if f.is_infinite() {
            let sign = if f > 0.0 { "+" } else { "-" };
            return Err(format!("Cannot create a Decimal from {sign}Inf"));
        }
        // `{:e}` is the shortest round-trip form: "-1.25e-3".
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let (int_part, frac) = mant.split_once('.').unwrap_or((mant, ""));
        let digits = format!("{int_part}{frac}");
        let m: i128 = digits.parse().unwrap_or(0);
        Ok(Dec::Exact {
            m,
            e: exp - frac.len() as i32,
        })
    }

    fn to_f64(self) -> f64 {
        match self {
            Dec::Exact { m, e } => format!("{m}e{e}").parse().unwrap_or(0.0),
            Dec::Float(f) => f,
        }
    }

    fn neg(self) -> Dec {
        match self {
            Dec::Exact { m, e } => Dec::Exact { m: -m, e },
            Dec::Float(f) => Dec::Float(-f),
        }
    }

    fn scaled(m: i128, by: i32) -> Option<i128> {
        10i128.checked_pow(u32::try_from(by).ok()?)?.checked_mul(m)
    }

    fn add(self, o: Dec) -> Dec {
        if let (Dec::Exact { m: m1, e: e1 }, Dec::Exact { m: m2, e: e2 }) = (self, o) {
            let e = e1.min(e2);
            let sum = Dec::scaled(m1, e1 - e)
                .zip(Dec::scaled(m2, e2 - e))
                .and_then(|(a, b)| a.checked_add(b));
            if let Some(m) = sum {
                return Dec::Exact { m, e };
            }
        }
        Dec::Float(self.to_f64() + o.to_f64())
    }

    fn mul(self, o: Dec) -> Dec {
        if let (Dec::Exact { m: m1, e: e1 }, Dec::Exact { m: m2, e: e2 }) = (self, o) {
            if let Some(m) = m1.checked_mul(m2) {
                return Dec::Exact { m, e: e1 + e2 };
            }
        }
        Dec::Float(self.to_f64() * o.to_f64())
    }

    fn div(self, o: Dec) -> Result<Dec, String> {
        if o.to_f64() == 0.0 {
            return Err("decimal division by 0".to_string());
        }
        if let (Dec::Exact { m: m1, e: e1 }, Dec::Exact { m: m2, e: e2 }) = (self, o) {
            // q = m1/m2 × 10^(e1-e2), kept to 16 decimal places.
            let shift = e1 - e2 + 16;
            let num = if shift >= 0 {
                Dec::scaled(m1, shift)
            } else {
                None
            };
            if let Some(num) = num {
                let q = num / m2;
                let r = num % m2;
                let twice = r.unsigned_abs().checked_mul(2);
                let q = match twice {
                    Some(t) if t >= m2.unsigned_abs() => {
                        if (num < 0) != (m2 < 0) {
                            q - 1
                        } else {
                            q + 1
                        }
                    }
                    _ => q,
                };
                return Ok(Dec::Exact { m: q, e: -16 });
            }
        }
        Ok(Dec::Float(self.to_f64() / o.to_f64()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: Value) -> f64 {
        match v {
            Value::Float(x) => x,
            other => panic!("not a float: {other:?}"),
        }
    }

    #[test]
    fn decimal_ops_avoid_binary_rounding() {
        let addf = decimal_op(&Value::Float(0.1), &[Value::Float(0.2)], Op::Add).unwrap();
        assert_eq!(f(addf), 0.3);
        let mulf = decimal_op(&Value::Float(1.1), &[Value::Float(3.0)], Op::Mul).unwrap();
        assert_eq!(f(mulf), 3.3);
        let divf = decimal_op(&Value::Float(2.0), &[Value::Float(3.0)], Op::Div).unwrap();
        assert_eq!(f(divf), 0.6666666666666667);
        assert!(decimal_op(&Value::Float(1.0), &[Value::Int(0)], Op::Div).is_err());
    }

    #[test]
    fn round_and_conversions_follow_sprig() {
        assert_eq!(round(123.555555, 3, 0.5), 123.556);
        assert_eq!(round(123.5, 0, 0.6), 123.0);
        assert_eq!(atoi("42"), 42);
        assert_eq!(atoi("4x"), 0);
        assert_eq!(parse_octal("777"), Some(511));
        assert_eq!(parse_octal("8"), None);
    }
}
