//! consul-template's `scratch`: a per-execution map reached through
//! methods (`{{ scratch.Set "k" 1 }}`, `.Get`, `.Key`, `.SetX`, `.MapSet`,
//! `.MapSetX`, `.MapValues`).
//!
//! The engine has no method calls on values yet, so `scratch` is
//! registered as a function that fails with a clear message; the methods
//! themselves are here ([`method_params`], [`call_method`]) for the engine
//! to dispatch once a value can carry methods. The state is the engine's
//! per-execution [`Ctx::scratch`], fresh for every execution as in the
//! agent.

use std::collections::BTreeMap;

use super::super::funcs::{Ctx, Func, FuncError, FuncResult, Funcs, Param};
use super::super::quote::quote;
use super::super::value::{GoStruct, Value};
use super::{string, text};

/// Go type of the value `scratch` returns; the engine dispatches its methods.
pub const SCRATCH_TYPE: &str = "libtemplate.Scratch";

/// Registers `scratch`: a handle whose methods (`.Set`, `.Get`, ...) work
/// on the execution's scratch space.
pub fn register(funcs: &mut Funcs) {
    funcs.insert(
        "scratch",
        Func::new(&[], |_, _| {
            Ok(Value::Struct(Box::new(GoStruct::new(
                SCRATCH_TYPE,
                Vec::new(),
            ))))
        }),
    );
}

/// The Go parameter types of a `Scratch` method, for argument checking.
pub fn method_params(name: &str) -> Option<&'static [Param]> {
    Some(match name {
        "Key" | "Get" | "MapValues" => &[Param::String],
        "Set" | "SetX" => &[Param::String, Param::Any],
        "MapSet" | "MapSetX" => &[Param::String, Param::String, Param::Any],
        _ => return None,
    })
}

/// Runs the method `name` on the execution's scratch with checked
/// arguments.
pub fn call_method(ctx: &mut Ctx<'_>, name: &str, args: &[Value]) -> FuncResult {
    run(ctx.scratch(), name, args)
}

/// The methods over a plain map (what [`call_method`] uses).
pub fn run(values: &mut BTreeMap<String, Value>, name: &str, args: &[Value]) -> FuncResult {
    let key = args.first().map(text).unwrap_or_default().to_string();
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Nil);
    match name {
        "Key" => Ok(Value::Bool(values.contains_key(&key))),
        "Get" => Ok(values.get(&key).cloned().unwrap_or(Value::Nil)),
        "Set" => {
            values.insert(key, arg(1));
            Ok(string(""))
        }
        "SetX" => {
            values.entry(key).or_insert_with(|| arg(1));
            Ok(string(""))
        }
        "MapSet" | "MapSetX" => {
            let entry = values
                .entry(key.clone())
                .or_insert_with(|| Value::Map(BTreeMap::new()));
            let Value::Map(map) = entry else {
                return Err(FuncError::new(format!(
                    "{} is not a map",
                    quote(&key, false)
                )));
            };
            let inner = args.get(1).map(text).unwrap_or_default().to_string();
            if name == "MapSet" || !map.contains_key(&inner) {
                map.insert(inner, arg(2));
            }
            Ok(string(""))
        }
        // Values sorted by key; nil (printing `[]`) when there is no map.
        "MapValues" => Ok(match values.get(&key) {
            Some(Value::Map(map)) => Value::List(map.values().cloned().collect()),
            _ => Value::List(Vec::new()),
        }),
        _ => Err(FuncError::new(format!(
            "can't evaluate field {name} in type *template.Scratch"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Value {
        Value::String(text.into())
    }

    #[test]
    fn set_then_get_and_key() {
        let mut m = BTreeMap::new();
        run(&mut m, "Set", &[s("a"), Value::Int(1)]).unwrap();
        assert_eq!(run(&mut m, "Get", &[s("a")]), Ok(Value::Int(1)));
        assert_eq!(run(&mut m, "Key", &[s("a")]), Ok(Value::Bool(true)));
        assert_eq!(run(&mut m, "Key", &[s("b")]), Ok(Value::Bool(false)));
    }

    #[test]
    fn setx_keeps_the_first_value() {
        let mut m = BTreeMap::new();
        run(&mut m, "SetX", &[s("a"), Value::Int(1)]).unwrap();
        run(&mut m, "SetX", &[s("a"), Value::Int(2)]).unwrap();
        assert_eq!(run(&mut m, "Get", &[s("a")]), Ok(Value::Int(1)));
    }

    #[test]
    fn map_values_come_sorted_by_key() {
        let mut m = BTreeMap::new();
        run(&mut m, "MapSet", &[s("m"), s("k2"), Value::Int(2)]).unwrap();
        run(&mut m, "MapSet", &[s("m"), s("k1"), Value::Int(1)]).unwrap();
        assert_eq!(
            run(&mut m, "MapValues", &[s("m")]),
            Ok(Value::List(vec![Value::Int(1), Value::Int(2)]))
        );
    }

    #[test]
    fn map_set_on_a_scalar_fails() {
        let mut m = BTreeMap::new();
        run(&mut m, "Set", &[s("a"), Value::Int(1)]).unwrap();
        let err = run(&mut m, "MapSet", &[s("a"), s("k"), Value::Int(1)]).unwrap_err();
        assert_eq!(err.message(), "\"a\" is not a map");
    }
}
