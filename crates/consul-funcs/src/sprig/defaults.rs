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
use crate::funcs::{Ctx, Func, FuncError, Funcs, Param};

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
                match json::to_json_styled(&marshalers(&a[0]), style) {
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
        Func::new(&[S], |ctx, a| Ok(from_json(ctx, text_arg(a, 0))?.0)),
    );
    add(
        funcs,
        "mustFromJson",
        Func::new(&[S], |ctx, a| match from_json(ctx, text_arg(a, 0))? {
            (_, Some(e)) => Err(e),
            (value, None) => Ok(value),
        }),
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

/// The value with times and versions replaced by what their
/// `MarshalJSON` methods write: RFC 3339 with nanoseconds, and the
/// version's `String`.
fn marshalers(v: &Value) -> Value {
    match v {
        Value::Struct(s) if s.type_name == super::date::TIME_TYPE => super::date::instant_of(v)
            .map_or(Value::Nil, |t| {
                Value::String(crate::gotime::format(
                    t,
                    "2006-01-02T15:04:05.999999999Z07:00",
                ))
            }),
        Value::Struct(_) => super::conv::stringer(v).map_or_else(|| v.clone(), Value::String),
        Value::List(items) => Value::List(items.iter().map(marshalers).collect()),
        Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), marshalers(v))).collect()),
        other => other.clone(),
    }
}

/// `reflect.DeepEqual`: same Go type and equal contents (NaN is unequal
/// to itself; a nil map or slice differs from an empty one).
fn deep_equal(a: &Value, b: &Value) -> bool {
    a == b
}

/// `json.Unmarshal` into an `interface{}`: numbers become float64; one
/// out of float64's range fails, naming where it is (`.0`, `.a.b`), and
/// decodes as 0.
/// Gives the value (nil for malformed JSON) and the error Go reports.
fn from_json(ctx: &mut Ctx<'_>, text: &str) -> Result<(Value, Option<FuncError>), FuncError> {
    charge_bytes(ctx, text.len())?;
    let value = match decode_json(text) {
        Ok(value) => value,
        Err(e) => return Ok((Value::Nil, Some(FuncError::new(e.to_string())))),
    };
    let mut failure = None;
    let mut path = Vec::new();
    let value = floats(value, &mut path, &mut failure);
    Ok((value, failure))
}

fn floats(value: Value, path: &mut Vec<String>, failure: &mut Option<FuncError>) -> Value {
    match value {
        Value::Number(text) => match parse_float(&text) {
            Ok(f) => Value::Float(f),
            Err(_) => {
                if failure.is_none() {
                    let at = if path.is_empty() {
                        "Go value".to_string()
                    } else {
                        format!(".{}", path.join("."))
                    };
                    *failure = Some(FuncError::new(format!(
                        "json: cannot unmarshal number {REDACTED} into {at} of type float64"
                    )));
                }
                Value::Float(0.0)
            }
        },
        Value::List(items) => Value::List(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    path.push(i.to_string());
                    let v = floats(v, path, failure);
                    path.pop();
                    v
                })
                .collect(),
        ),
        Value::Map(m) => Value::Map(
            m.into_iter()
                .map(|(k, v)| {
                    path.push(k.clone());
                    let v = floats(v, path, failure);
                    path.pop();
                    (k, v)
                })
                .collect(),
        ),
        other => other,
    }
}
