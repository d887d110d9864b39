//! `add`, `subtract`, `multiply`, `divide`, `modulo`, `minimum`,
//! `maximum`. consul-template declares them `f(b, a)` and computes
//! `a OP b`: the last argument (the piped value) is the left operand, so
//! `{{ 2 | subtract 5 }}` is `2 - 5`. Integers are int64 (wrapping on
//! overflow), unsigned stay uint64 only with another unsigned, anything
//! with a float is float64; other types, `json.Number` included, are
//! refused.

use crate::funcs::{Func, FuncError, FuncResult, Funcs, Param};
use gotemplate::error::REDACTED;
use gotemplate::value::Value;

/// Registers the math functions.
pub(crate) fn register(funcs: &mut Funcs) {
    for op in [
        Op::Add,
        Op::Subtract,
        Op::Multiply,
        Op::Divide,
        Op::Modulo,
        Op::Minimum,
        Op::Maximum,
    ] {
        funcs.insert(
            op.name(),
            Func::new(&[Param::Any, Param::Any], move |_, args| {
                compute(op, &args[1], &args[0])
            }),
        );
    }
}

/// One of the math functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// `add`.
    Add,
    /// `subtract`.
    Subtract,
    /// `multiply`.
    Multiply,
    /// `divide`.
    Divide,
    /// `modulo` (integers only).
    Modulo,
    /// `minimum`.
    Minimum,
    /// `maximum`.
    Maximum,
}

impl Op {
    /// The template name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Subtract => "subtract",
            Op::Multiply => "multiply",
            Op::Divide => "divide",
            Op::Modulo => "modulo",
            Op::Minimum => "minimum",
            Op::Maximum => "maximum",
        }
    }
}

/// A number as Go's reflection sees its kind.
#[derive(Debug, Clone, Copy)]
enum Num {
    Int(i64),
    Uint(u64),
    Float(f64),
}

fn num(value: &Value, op: Op) -> Option<Num> {
    match value {
        Value::Int(i) | Value::Int64(i) => Some(Num::Int(*i)),
        Value::Uint(u) => Some(Num::Uint(*u)),
        Value::Float(f) if op != Op::Modulo => Some(Num::Float(*f)),
        _ => None,
    }
}

fn unknown(op: Op, value: &Value) -> FuncError {
    FuncError::new(format!(
        "{}: unknown type for {REDACTED} ({})",
        op.name(),
        value.go_type()
    ))
}

const DIVIDE_BY_ZERO: &str = "runtime error: integer divide by zero";

/// `a OP b`, with Go's conversions.
pub(crate) fn compute(op: Op, a: &Value, b: &Value) -> FuncResult {
    let x = num(a, op).ok_or_else(|| unknown(op, a))?;
    let y = num(b, op).ok_or_else(|| unknown(op, b))?;
    if matches!(op, Op::Minimum | Op::Maximum) {
        return Ok(extreme(op == Op::Minimum, x, y));
    }
    Ok(match (x, y) {
        (Num::Float(x), y) => Value::Float(float_op(op, x, as_f64(y))),
        (x, Num::Float(y)) => Value::Float(float_op(op, as_f64(x), y)),
        (Num::Uint(x), Num::Uint(y)) => Value::Uint(uint_op(op, x, y)?),
        (x, y) => Value::Int64(int_op(op, as_i64(x), as_i64(y))?),
    })
}

fn as_f64(n: Num) -> f64 {
    match n {
        Num::Int(i) => i as f64,
        Num::Uint(u) => u as f64,
        Num::Float(f) => f,
    }
}

/// Go's `int64(x)`: unsigned values wrap.
fn as_i64(n: Num) -> i64 {
    match n {
        Num::Int(i) => i,
        Num::Uint(u) => u as i64,
        Num::Float(f) => f as i64,
    }
}

fn float_op(op: Op, x: f64, y: f64) -> f64 {
    match op {
        Op::Add => x + y,
        Op::Subtract => x - y,
        Op::Multiply => x * y,
        _ => x / y,
    }
}

fn int_op(op: Op, x: i64, y: i64) -> Result<i64, FuncError> {
    Ok(match op {
        Op::Add => x.wrapping_add(y),
        Op::Subtract => x.wrapping_sub(y),
        Op::Multiply => x.wrapping_mul(y),
        Op::Divide | Op::Modulo if y == 0 => return Err(FuncError::new(DIVIDE_BY_ZERO)),
        Op::Divide => x.wrapping_div(y),
        _ => x.wrapping_rem(y),
    })
}

fn uint_op(op: Op, x: u64, y: u64) -> Result<u64, FuncError> {
    Ok(match op {
        Op::Add => x.wrapping_add(y),
        Op::Subtract => x.wrapping_sub(y),
        Op::Multiply => x.wrapping_mul(y),
        Op::Divide | Op::Modulo if y == 0 => return Err(FuncError::new(DIVIDE_BY_ZERO)),
        Op::Divide => x / y,
        _ => x % y,
    })
}

/// `minimum`/`maximum`: compares after converting as Go does, and answers
/// with whichever operand won, keeping its own type.
fn extreme(min: bool, a: Num, b: Num) -> Value {
    let a_wins = match (a, b) {
        (Num::Int(x), Num::Int(y)) => pick(min, x, y),
        (Num::Int(x), Num::Uint(y)) => pick(min, x, y as i64),
        (Num::Uint(x), Num::Int(y)) => pick(min, x as i64, y),
        (Num::Uint(x), Num::Uint(y)) => pick(min, x, y),
        (x, y) => {
            let (x, y) = (as_f64(x), as_f64(y));
            if min { x < y } else { x > y }
        }
    };
    let winner = if a_wins { a } else { b };
    match winner {
        Num::Int(i) => Value::Int64(i),
        Num::Uint(u) => Value::Uint(u),
        Num::Float(f) => Value::Float(f),
    }
}

fn pick<T: PartialOrd>(min: bool, x: T, y: T) -> bool {
    if min { x < y } else { x > y }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_argument_is_the_left_operand() {
        assert_eq!(
            compute(Op::Subtract, &Value::Int(2), &Value::Int(5)),
            Ok(Value::Int64(-3))
        );
    }

    #[test]
    fn int_and_float_mix_to_float() {
        assert_eq!(
            compute(Op::Add, &Value::Int(1), &Value::Float(0.5)),
            Ok(Value::Float(1.5))
        );
    }

    #[test]
    fn int_and_uint_mix_to_int() {
        assert_eq!(
            compute(Op::Add, &Value::Uint(3), &Value::Int(-5)),
            Ok(Value::Int64(-2))
        );
    }

    #[test]
    fn integer_division_truncates_and_refuses_zero() {
        assert_eq!(
            compute(Op::Divide, &Value::Int(-7), &Value::Int(2)),
            Ok(Value::Int64(-3))
        );
        assert!(compute(Op::Divide, &Value::Int(1), &Value::Int(0)).is_err());
    }

    #[test]
    fn modulo_refuses_floats() {
        let err = compute(Op::Modulo, &Value::Float(1.0), &Value::Int(2)).unwrap_err();
        assert_eq!(
            err.message(),
            "modulo: unknown type for [redacted] (float64)"
        );
    }

    #[test]
    fn json_numbers_are_refused() {
        assert!(compute(Op::Add, &Value::Number("1".into()), &Value::Int(1)).is_err());
    }

    #[test]
    fn minimum_keeps_the_winners_type() {
        assert_eq!(
            compute(Op::Minimum, &Value::Int(1), &Value::Float(2.5)),
            Ok(Value::Int64(1))
        );
        assert_eq!(
            compute(Op::Maximum, &Value::Int(1), &Value::Float(2.5)),
            Ok(Value::Float(2.5))
        );
    }

    #[test]
    fn overflow_wraps_like_go() {
        assert_eq!(
            compute(Op::Add, &Value::Int(i64::MAX), &Value::Int(1)),
            Ok(Value::Int64(i64::MIN))
        );
    }
}
