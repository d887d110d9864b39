//! consul-template's `scratch`: a per-execution map reached through
//! methods (`{{ scratch.Set "k" 1 }}`, `.Get`, `.Key`, `.SetX`, `.MapSet`,
//! `.MapSetX`, `.MapValues`), registered with the engine as methods of the
//! handle's struct type. The state is the execution's
//! ([`Execution::scratch`](crate::funcs::Execution::scratch)), fresh for
//! every execution as in the agent.

use std::collections::BTreeMap;

use crate::args::{string, text};
use crate::funcs::{Ctx, Func, FuncError, FuncResult, Funcs, Param};
use gotemplate::quote::quote;
use gotemplate::value::{GoStruct, Value};

/// Go type of the value `scratch` returns; the engine dispatches its methods.
pub(crate) const SCRATCH_TYPE: &str = "template.Scratch";

/// The methods of the handle, with their Go parameter types.
const METHODS: [(&str, &[Param]); 7] = [
    ("Key", &[Param::String]),
    ("Get", &[Param::String]),
    ("MapValues", &[Param::String]),
    ("Set", &[Param::String, Param::Any]),
    ("SetX", &[Param::String, Param::Any]),
    ("MapSet", &[Param::String, Param::String, Param::Any]),
    ("MapSetX", &[Param::String, Param::String, Param::Any]),
];

/// Registers `scratch`: a handle whose methods (`.Set`, `.Get`, ...) work
/// on the execution's scratch space.
pub(crate) fn register(funcs: &mut Funcs) {
    funcs.insert(
        "scratch",
        Func::new(&[], |_, _| {
            Ok(Value::Struct(Box::new(GoStruct::new(
                SCRATCH_TYPE,
                Vec::new(),
            ))))
        }),
    );
    for (name, params) in METHODS {
        funcs.insert_method(
            SCRATCH_TYPE,
            name,
            Func::new(params, move |ctx, args| call_method(ctx, name, args)),
        );
    }
}

/// Runs the method `name` on the execution's scratch with checked
/// arguments.
fn call_method(ctx: &mut Ctx<'_>, name: &str, args: &[Value]) -> FuncResult {
    run(ctx.host().scratch(), name, args)
}

/// The methods over a plain map (what [`call_method`] uses).
pub(crate) fn run(values: &mut BTreeMap<String, Value>, name: &str, args: &[Value]) -> FuncResult {
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
