//! sprig's numbers: `int64`, `int`, `float64`, `atoi`, `toDecimal`,
//! `add`, `sub`, `mul`, `div`, `mod`, `max`, `min` over int64 (wrapping as
//! Go does), `maxf`, `minf`, `floor`, `ceil`, `round`, `until`,
//! `untilStep`, `seq`, and `addf`/`subf`/`mulf`/`divf`/`add1f`, which go
//! through `shopspring/decimal` v1.3.1 (exact decimal arithmetic of each
//! float's shortest form, division to 16 places).

use num_bigint::BigInt;
use num_traits::{Signed, Zero};

use gotemplate::strconv::{NumErrorKind, parse_float, parse_int};
use gotemplate::value::{Value, format_v};

use super::conv::{to_float64, to_int, to_int64};
use super::{add, int, text_arg};
use crate::args::string;
use crate::funcs::{Ctx, Func, FuncError, FuncResult, Funcs, Param};

use Param::{Any, Int};

const DIVIDE_BY_ZERO: &str = "runtime error: integer divide by zero";

/// Registers the number functions.
pub(super) fn register(funcs: &mut Funcs) {
    add(
        funcs,
        "atoi",
        Func::new(&[Param::String], |_, a| {
            Ok(Value::Int(atoi(text_arg(a, 0))))
        }),
    );
    add(
        funcs,
        "int64",
        Func::new(&[Any], |_, a| Ok(Value::Int64(to_int64(&a[0])))),
    );
    add(
        funcs,
        "int",
        Func::new(&[Any], |_, a| Ok(Value::Int(to_int(&a[0])))),
    );
    add(
        funcs,
        "float64",
        Func::new(&[Any], |_, a| Ok(Value::Float(to_float64(&a[0])))),
    );
    add(
        funcs,
        "toDecimal",
        Func::new(&[Any], |_, a| {
            Ok(Value::Int64(
                parse_int(&super::conv::sprint_v(&a[0]), 8, 64).unwrap_or(0),
            ))
        }),
    );
    add(
        funcs,
        "add1",
        Func::new(&[Any], |_, a| {
            Ok(Value::Int64(to_int64(&a[0]).wrapping_add(1)))
        }),
    );
    add(
        funcs,
        "add",
        Func::variadic(&[], Any, |_, a| {
            Ok(Value::Int64(
                a.iter().fold(0i64, |acc, v| acc.wrapping_add(to_int64(v))),
            ))
        }),
    );
    add(
        funcs,
        "sub",
        Func::new(&[Any, Any], |_, a| {
            Ok(Value::Int64(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))))
        }),
    );
    add(
        funcs,
        "div",
        Func::new(&[Any, Any], |_, a| {
            let (x, y) = (to_int64(&a[0]), to_int64(&a[1]));
            if y == 0 {
                return Err(FuncError::new(DIVIDE_BY_ZERO));
            }
            Ok(Value::Int64(x.wrapping_div(y)))
        }),
    );
    add(
        funcs,
        "mod",
        Func::new(&[Any, Any], |_, a| {
            let (x, y) = (to_int64(&a[0]), to_int64(&a[1]));
            if y == 0 {
                return Err(FuncError::new(DIVIDE_BY_ZERO));
            }
            Ok(Value::Int64(x.wrapping_rem(y)))
        }),
    );
    add(
        funcs,
        "mul",
        Func::variadic(&[Any], Any, |_, a| {
            Ok(Value::Int64(
                a[1..]
                    .iter()
                    .fold(to_int64(&a[0]), |acc, v| acc.wrapping_mul(to_int64(v))),
            ))
        }),
    );
    for name in ["biggest", "max"] {
        add(funcs, name, extreme_int(true));
    }
    add(funcs, "min", extreme_int(false));
    add(
        funcs,
        "maxf",
        Func::variadic(&[Any], Any, |_, a| {
            Ok(Value::Float(
                a[1..]
                    .iter()
                    .fold(to_float64(&a[0]), |acc, v| go_max(acc, to_float64(v))),
            ))
        }),
    );
    add(
        funcs,
        "minf",
        Func::variadic(&[Any], Any, |_, a| {
            Ok(Value::Float(
                a[1..]
                    .iter()
                    .fold(to_float64(&a[0]), |acc, v| go_min(acc, to_float64(v))),
            ))
        }),
    );
    add(
        funcs,
        "floor",
        Func::new(&[Any], |_, a| Ok(Value::Float(to_float64(&a[0]).floor()))),
    );
    add(
        funcs,
        "ceil",
        Func::new(&[Any], |_, a| Ok(Value::Float(to_float64(&a[0]).ceil()))),
    );
    add(
        funcs,
        "round",
        Func::variadic(&[Any, Int], Param::Float, |_, a| {
            let on = match a.get(2) {
                Some(Value::Float(f)) => *f,
                _ => 0.5,
            };
            Ok(Value::Float(round(to_float64(&a[0]), int(&a[1]), on)))
        }),
    );
    add(
        funcs,
        "until",
        Func::new(&[Int], |ctx, a| {
            let count = int(&a[0]);
            until_step(ctx, 0, count, if count < 0 { -1 } else { 1 })
        }),
    );
    add(
        funcs,
        "untilStep",
        Func::new(&[Int, Int, Int], |ctx, a| {
            until_step(ctx, int(&a[0]), int(&a[1]), int(&a[2]))
        }),
    );
    add(
        funcs,
        "seq",
        Func::variadic(&[], Int, |ctx, a| {
            let p: Vec<i64> = a.iter().map(int).collect();
            let list = match p.as_slice() {
                [end] => {
                    let inc = if *end < 1 { -1 } else { 1 };
                    until_step(ctx, 1, end.wrapping_add(inc), inc)?
                }
                [start, end] => {
                    let step = if end < start { -1 } else { 1 };
                    until_step(ctx, *start, end.wrapping_add(step), step)?
                }
                [start, step, end] => {
                    let mut inc = 1;
                    if end < start {
                        inc = -1;
                        if *step > 0 {
                            return Ok(string(""));
                        }
                    }
                    until_step(ctx, *start, end.wrapping_add(inc), *step)?
                }
                _ => return Ok(string("")),
            };
            let Value::List(items) = list else {
                return Ok(string(""));
            };
            let parts: Vec<String> = items.iter().map(format_v).collect();
            Ok(string(parts.join(" ")))
        }),
    );
    add(
        funcs,
        "add1f",
        Func::new(&[Any], |_, a| decimal_op(&a[0], &[Value::Int(1)], Op::Add)),
    );
    add(
        funcs,
        "addf",
        Func::variadic(&[], Any, |_, a| decimal_op(&Value::Float(0.0), a, Op::Add)),
    );
    for (name, op) in [("subf", Op::Sub), ("mulf", Op::Mul), ("divf", Op::Div)] {
        add(
            funcs,
            name,
            Func::variadic(&[Any], Any, move |_, a| decimal_op(&a[0], &a[1..], op)),
        );
    }
}

/// `strconv.Atoi` with its error ignored: 0 for bad syntax, the nearest
/// bound when out of range.
fn atoi(s: &str) -> i64 {
    match parse_int(s, 10, 64) {
        Ok(v) => v,
        Err(e) if e.kind == NumErrorKind::Range => {
            if s.starts_with('-') {
                i64::MIN
            } else {
                i64::MAX
            }
        }
        Err(_) => 0,
    }
}

fn extreme_int(max: bool) -> Func {
    Func::variadic(&[Any], Any, move |_, a| {
        let mut acc = to_int64(&a[0]);
        for v in &a[1..] {
            let b = to_int64(v);
            if (max && b > acc) || (!max && b < acc) {
                acc = b;
            }
        }
        Ok(Value::Int64(acc))
    })
}

/// Go's `math.Max`.
fn go_max(x: f64, y: f64) -> f64 {
    if x == f64::INFINITY || y == f64::INFINITY {
        return f64::INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && x == y {
        return if x.is_sign_negative() { y } else { x };
    }
    if x > y { x } else { y }
}

/// Go's `math.Min`.
fn go_min(x: f64, y: f64) -> f64 {
    if x == f64::NEG_INFINITY || y == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && x == y {
        return if x.is_sign_negative() { x } else { y };
    }
    if x < y { x } else { y }
}

/// sprig's `untilStep` as a list of `int`s, charged before it is built.
fn until_step(ctx: &mut Ctx<'_>, start: i64, stop: i64, step: i64) -> FuncResult {
    let (start, stop, step) = (i128::from(start), i128::from(stop), i128::from(step));
    let count = if stop < start {
        if step >= 0 {
            0
        } else {
            (start - stop + (-step) - 1) / (-step)
        }
    } else if step <= 0 {
        0
    } else {
        (stop - start + step - 1) / step
    };
    ctx.charge(u64::try_from(count).unwrap_or(u64::MAX))?;
    let mut out = Vec::new();
    let mut i = start;
    for _ in 0..count {
        out.push(Value::Int(i as i64));
        i += step;
    }
    Ok(Value::List(out))
}

/// Go's `math.Pow(10, y)` for an integer `y`: repeated squaring of the
/// mantissa with the exponent kept apart, as Go computes it.
fn pow10(y: i64) -> f64 {
    if y == 0 {
        return 1.0;
    }
    if y == 1 {
        return 10.0;
    }
    let yi = y.unsigned_abs();
    // 10 = 0.625 * 2^4
    let (mut x1, mut xe) = (0.625f64, 4i64);
    let (mut a1, mut ae) = (1.0f64, 0i64);
    let mut i = yi;
    while i != 0 {
        if !(-(1 << 12)..=(1 << 12)).contains(&xe) {
            ae += xe;
            break;
        }
        if i & 1 == 1 {
            a1 *= x1;
            ae += xe;
        }
        x1 *= x1;
        xe <<= 1;
        if x1 < 0.5 {
            x1 += x1;
            xe -= 1;
        }
        i >>= 1;
    }
    if y < 0 {
        a1 = 1.0 / a1;
        ae = -ae;
    }
    ldexp(a1, ae)
}

/// Go's `math.Ldexp` (results in the subnormal range may round twice,
/// where Go rounds once; `round` never gets there).
fn ldexp(frac: f64, exp: i64) -> f64 {
    if frac == 0.0 || frac.is_infinite() || frac.is_nan() {
        return frac;
    }
    let mut x = frac;
    let mut e = exp.clamp(-4000, 4000) as i32;
    while e > 1023 {
        x *= 2f64.powi(1023);
        e -= 1023;
    }
    while e < -1022 {
        x *= 2f64.powi(-1022);
        e += 1022;
    }
    x * 2f64.powi(e)
}

/// sprig's `round`.
fn round(val: f64, places: i64, round_on: f64) -> f64 {
    let pow = pow10(places);
    let digit = pow * val;
    let div = digit - digit.trunc();
    let rounded = if div >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    rounded / pow
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// A `decimal.Decimal`: `coef * 10^exp`.
#[derive(Debug, Clone)]
struct Dec {
    coef: BigInt,
    exp: i64,
}

/// Precision of `decimal.Div` (`DivisionPrecision`).
const DIVISION_PRECISION: i64 = 16;

fn ten_pow(n: i64) -> BigInt {
    num_traits::pow(BigInt::from(10u8), usize::try_from(n).unwrap_or(0))
}

impl Dec {
    /// `decimal.NewFromFloat`: the shortest decimal that reads back as `f`.
    fn from_f64(f: f64) -> Result<Dec, FuncError> {
        if f.is_nan() || f.is_infinite() {
            return Err(FuncError::new(format!(
                "Cannot create a Decimal from {}",
                format_v(&Value::Float(f))
            )));
        }
        if f == 0.0 {
            return Ok(Dec {
                coef: BigInt::zero(),
                exp: 0,
            });
        }
        let text = format!("{f:e}");
        let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
        let exp: i64 = exp.parse().unwrap_or(0);
        let (int_part, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits = format!("{int_part}{frac}");
        let coef: BigInt = digits.parse().unwrap_or_default();
        Ok(Dec {
            coef,
            exp: exp - frac.len() as i64,
        })
    }

    fn aligned(&self, other: &Dec) -> (BigInt, BigInt, i64) {
        let exp = self.exp.min(other.exp);
        (
            &self.coef * ten_pow(self.exp - exp),
            &other.coef * ten_pow(other.exp - exp),
            exp,
        )
    }

    fn apply(&self, op: Op, other: &Dec) -> Result<Dec, FuncError> {
        Ok(match op {
            Op::Add => {
                let (a, b, exp) = self.aligned(other);
                Dec { coef: a + b, exp }
            }
            Op::Sub => {
                let (a, b, exp) = self.aligned(other);
                Dec { coef: a - b, exp }
            }
            Op::Mul => Dec {
                coef: &self.coef * &other.coef,
                exp: self.exp + other.exp,
            },
            Op::Div => {
                if other.coef.is_zero() {
                    return Err(FuncError::new("decimal division by 0"));
                }
                // self/other * 10^16, truncated, then rounded half away
                // from zero on the remainder (decimal's DivRound).
                let shift = self.exp + DIVISION_PRECISION - other.exp;
                let (num, den) = if shift >= 0 {
                    (&self.coef * ten_pow(shift), other.coef.clone())
                } else {
                    (self.coef.clone(), &other.coef * ten_pow(-shift))
                };
                let q = &num / &den;
                let r = &num - &q * &den;
                let mut q = q;
                if r.abs() * 2u8 >= den.abs() {
                    if num.is_negative() != den.is_negative() {
                        q -= 1u8;
                    } else {
                        q += 1u8;
                    }
                }
                Dec {
                    coef: q,
                    exp: -DIVISION_PRECISION,
                }
            }
        })
    }

    /// `Decimal.Float64`: the nearest float64.
    fn to_f64(&self) -> f64 {
        let text = format!("{}e{}", self.coef, self.exp);
        match parse_float(&text) {
            Ok(f) => f,
            Err(_) => {
                let digits = self.coef.abs().to_string().len() as i64;
                let magnitude = if digits + self.exp > 0 {
                    f64::INFINITY
                } else {
                    0.0
                };
                if self.coef.is_negative() {
                    -magnitude
                } else {
                    magnitude
                }
            }
        }
    }
}

/// sprig's `execDecimalOp`.
fn decimal_op(first: &Value, rest: &[Value], op: Op) -> FuncResult {
    // Exponents are bounded by float64's range, so the big integers stay
    // below about 1,400 digits whatever the input.
    let mut acc = Dec::from_f64(to_float64(first))?;
    for v in rest {
        let d = Dec::from_f64(to_float64(v))?;
        acc = acc.apply(op, &d)?;
        // Keep products from growing without bound over many arguments.
        if acc.coef.bits() > 20_000 {
            acc = Dec::from_f64(acc.to_f64())?;
        }
    }
    Ok(Value::Float(acc.to_f64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(op: Op, a: f64, b: f64) -> f64 {
        match decimal_op(&Value::Float(a), &[Value::Float(b)], op) {
            Ok(Value::Float(f)) => f,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn decimal_arithmetic_is_exact_on_shortest_forms() {
        assert_eq!(dec(Op::Add, 0.1, 0.2), 0.3);
        assert_eq!(dec(Op::Mul, 1.1, 1.1), 1.21);
        assert_eq!(dec(Op::Div, 1.0, 3.0), 0.3333333333333333);
        assert_eq!(dec(Op::Div, 2.0, 3.0), 0.6666666666666667);
        assert_eq!(dec(Op::Sub, 1.0, 0.9), 0.1);
    }

    #[test]
    fn decimal_division_by_zero_fails() {
        assert!(decimal_op(&Value::Float(1.0), &[Value::Int(0)], Op::Div).is_err());
    }

    #[test]
    fn pow10_matches_exact_powers() {
        for (n, want) in [
            (0, 1.0),
            (2, 100.0),
            (3, 1000.0),
            (-1, 0.1),
            (-2, 0.01),
            (22, 1e22),
        ] {
            assert_eq!(pow10(n), want, "{n}");
        }
    }

    #[test]
    fn round_follows_sprig() {
        assert_eq!(round(123.555555, 3, 0.5), 123.556);
        assert_eq!(round(123.5555, 3, 0.5), 123.556);
        assert_eq!(round(-1.5, 0, 0.5), -2.0);
    }

    #[test]
    fn atoi_ignores_errors() {
        assert_eq!(atoi("12"), 12);
        assert_eq!(atoi("x"), 0);
        assert_eq!(atoi("99999999999999999999"), i64::MAX);
    }
}
