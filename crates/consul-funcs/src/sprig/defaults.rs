//! sprig's `default`, `empty`, `coalesce`, `all`, `any`, `ternary`, the
//! JSON functions (`toJson`, `toPrettyJson`, `toRawJson`, `fromJson` and
//! their `must` forms) and the reflection functions (`typeOf`, `typeIs`,
//! `typeIsLike`, `kindOf`, `kindIs`, `deepEqual`), plus `fail`.

use gotemplate::json::{self, JsonStyle};
use gotemplate::strconv::parse_float;
use gotemplate::value::Value;
use gotemplate::{decode_json, error::REDACTED};

use super::conv::{NIL_DEREF, empty, kind, type_name};
use super::{add, text_arg};
use crate::args::{charge_bytes, string};
use crate::funcs::{Ctx, Func, FuncError, FuncResult, Funcs, Param};

use Param::{Any, Bool, String as S};

/// Registers the functions.
pub(super) fn register(funcs: &mut Funcs) {
    add(
        funcs,
        "default",
        Func::variadic(&[Any], Any, |_, a| {
            Ok(match a.get(1) {
                Some(given) if !empty(given) => given.clone(),
                _ => a[0].clone(),
            })
        }),
    );
    add(
        funcs,
        "empty",
        Func::new(&[Any], |_, a| Ok(Value::Bool(empty(&a[0])))),
    );
    add(
        funcs,
        "coalesce",
        Func::variadic(&[], Any, |_, a| {
            Ok(a.iter().find(|v| !empty(v)).cloned().unwrap_or(Value::Nil))
        }),
    );
    add(
        funcs,
        "all",
        Func::variadic(&[], Any, |_, a| {
            Ok(Value::Bool(a.iter().all(|v| !empty(v))))
        }),
    );
    add(
        funcs,
        "any",
        Func::variadic(&[], Any, |_, a| {
            Ok(Value::Bool(a.iter().any(|v| !empty(v))))
        }),
    );
    add(
        funcs,
        "ternary",
        Func::new(&[Any, Any, Bool], |_, a| {
            Ok(if matches!(a[2], Value::Bool(true)) {
                a[0].clone()
            } else {
                a[1].clone()
            })
        }),
    );
    add(
        funcs,
        "fail",
        Func::new(&[S], |_, a| Err(FuncError::new(text_arg(a, 0)))),
    );
    for (name, style, must) in [
        ("toJson", JsonStyle::COMPACT, false),
        ("mustToJson", JsonStyle::COMPACT, true),
        ("toPrettyJson", JsonStyle::PRETTY, false),
        ("mustToPrettyJson", JsonStyle::PRETTY, true),
        ("toRawJson", JsonStyle::UNESCAPED, true),
        ("mustToRawJson", JsonStyle::UNESCAPED, true),
    ] {
        add(
            funcs,
            name,
            Func::new(&[Any], move |ctx, a| {
                ctx.charge(a[0].node_count())?;
                match json::to_json_styled(&a[0], style) {
                    Ok(text) => {
                        charge_bytes(ctx, text.len())?;
                        Ok(string(text))
                    }
                    Err(e) if must => Err(FuncError::new(e.to_string())),
                    Err(_) => Ok(string("")),
                }
            }),
        );
    }
    add(
        funcs,
        "fromJson",
        Func::new(&[S], |ctx, a| {
            Ok(from_json(ctx, text_arg(a, 0)).unwrap_or(Value::Nil))
        }),
    );
    add(
        funcs,
        "mustFromJson",
        Func::new(&[S], |ctx, a| from_json(ctx, text_arg(a, 0))),
    );
    add(
        funcs,
        "typeOf",
        Func::new(&[Any], |_, a| Ok(string(type_name(&a[0])))),
    );
    add(
        funcs,
        "typeIs",
        Func::new(&[S, Any], |_, a| {
            Ok(Value::Bool(text_arg(a, 0) == type_name(&a[1])))
        }),
    );
    add(
        funcs,
        "typeIsLike",
        Func::new(&[S, Any], |_, a| {
            let (target, t) = (text_arg(a, 0), type_name(&a[1]));
            Ok(Value::Bool(target == t || format!("*{target}") == t))
        }),
    );
    add(
        funcs,
        "kindOf",
        Func::new(&[Any], |_, a| Ok(string(kind(&a[0]).unwrap_or("invalid")))),
    );
    add(
        funcs,
        "kindIs",
        Func::new(&[S, Any], |_, a| {
            Ok(Value::Bool(
                text_arg(a, 0) == kind(&a[1]).unwrap_or("invalid"),
            ))
        }),
    );
    add(
        funcs,
        "deepEqual",
        Func::new(&[Any, Any], |ctx, a| {
            ctx.charge(a[0].node_count().saturating_add(a[1].node_count()))?;
            Ok(Value::Bool(deep_equal(&a[0], &a[1])))
        }),
    );
    let _ = NIL_DEREF;
}

/// `reflect.DeepEqual`: same Go type and equal contents (NaN is unequal
/// to itself; a nil map or slice differs from an empty one).
fn deep_equal(a: &Value, b: &Value) -> bool {
    a == b
}

/// `json.Unmarshal` into an `interface{}`: numbers become float64.
fn from_json(ctx: &mut Ctx<'_>, text: &str) -> FuncResult {
    charge_bytes(ctx, text.len())?;
    let value = decode_json(text).map_err(|e| FuncError::new(e.to_string()))?;
    let mut failure = None;
    let value = floats(value, &mut failure);
    match failure {
        Some(e) => Err(e),
        None => Ok(value),
    }
}

fn floats(value: Value, failure: &mut Option<FuncError>) -> Value {
    match value {
        Value::Number(text) => match parse_float(&text) {
            Ok(f) => Value::Float(f),
            Err(_) => {
                if failure.is_none() {
                    *failure = Some(FuncError::new(format!(
                        "json: cannot unmarshal number {REDACTED} into Go value of type float64"
                    )));
                }
                Value::Nil
            }
        },
        Value::List(items) => Value::List(items.into_iter().map(|v| floats(v, failure)).collect()),
        Value::Map(m) => Value::Map(
            m.into_iter()
                .map(|(k, v)| (k, floats(v, failure)))
                .collect(),
        ),
        other => other,
    }
}
