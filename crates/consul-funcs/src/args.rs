//! Small helpers the functions share for their arguments and results.

use gotemplate::{FuncError, Value};

use crate::funcs::Ctx;

/// Bytes of string work that cost one unit of the execution budget.
const BYTES_PER_UNIT: usize = 16;

/// Charges the budget for producing `bytes` bytes, before producing them.
pub(crate) fn charge_bytes(ctx: &mut Ctx<'_>, bytes: usize) -> Result<(), FuncError> {
    let units = bytes / BYTES_PER_UNIT + 1;
    ctx.charge(u64::try_from(units).unwrap_or(u64::MAX))
}

/// The text of a string argument (the engine has checked its type).
pub(crate) fn text(value: &Value) -> &str {
    match value {
        Value::String(s) => s,
        _ => "",
    }
}

/// The bytes of a string argument of a function that takes binary
/// strings.
pub(crate) fn bytes(value: &Value) -> &[u8] {
    match value {
        Value::String(s) => s.as_bytes(),
        Value::Bytes(b) => b,
        _ => &[],
    }
}

/// A string result.
pub(crate) fn string(s: impl Into<String>) -> Value {
    Value::String(s.into())
}
