//! sprig's dictionaries: `dict`, `get`, `set`, `unset`, `hasKey`, `pluck`,
//! `keys`, `pick`, `omit`, `values`, `merge`, `mergeOverwrite` (mergo
//! v0.3.15), `dig` and `deepCopy`.
//!
//! Go maps are references: `set`, `unset` and `merge` change the map they
//! are given, and templates may rely on that (`{{ $_ := set $d "k" 1 }}`
//! then `$d`). Values here are copies, so these functions return the
//! changed map and leave the variable as it was. `keys` and `values` list
//! in key order, one of the orders Go's random map iteration gives.

use std::collections::BTreeMap;

use gotemplate::value::Value;

use super::conv::{strval, type_name};
use super::{add, text_arg};
use crate::funcs::{Ctx, Func, FuncError, FuncResult, Funcs, Param};
use crate::mergo::merge_into;

use Param::{Any, Map, String as S};

/// Registers the dictionary functions.
pub(super) fn register(funcs: &mut Funcs) {
    add(
        funcs,
        "dict",
        Func::variadic(&[], Any, |ctx, a| {
            ctx.charge(a.len() as u64)?;
            let mut map = BTreeMap::new();
            for pair in a.chunks(2) {
                let value = pair
                    .get(1)
                    .cloned()
                    .unwrap_or_else(|| Value::String(String::new()));
                map.insert(strval(&pair[0]), value);
            }
            Ok(Value::Map(map))
        }),
    );
    add(
        funcs,
        "get",
        Func::new(&[Map, S], |_, a| {
            Ok(members(&a[0])
                .get(text_arg(a, 1))
                .cloned()
                .unwrap_or_else(|| Value::String(String::new())))
        }),
    );
    add(
        funcs,
        "set",
        Func::new(&[Map, S, Any], |ctx, a| {
            let mut map = owned(ctx, &a[0])?;
            map.insert(text_arg(a, 1).to_string(), a[2].clone());
            Ok(Value::Map(map))
        }),
    );
    add(
        funcs,
        "unset",
        Func::new(&[Map, S], |ctx, a| {
            let mut map = owned(ctx, &a[0])?;
            map.remove(text_arg(a, 1));
            Ok(nil_or_map(&a[0], map))
        }),
    );
    add(
        funcs,
        "hasKey",
        Func::new(&[Map, S], |_, a| {
            Ok(Value::Bool(members(&a[0]).contains_key(text_arg(a, 1))))
        }),
    );
    add(
        funcs,
        "pluck",
        Func::variadic(&[S], Map, |ctx, a| {
            ctx.charge(a.len() as u64)?;
            let key = text_arg(a, 0);
            Ok(Value::List(
                a[1..]
                    .iter()
                    .filter_map(|d| members(d).get(key).cloned())
                    .collect(),
            ))
        }),
    );
    add(
        funcs,
        "keys",
        Func::variadic(&[], Map, |ctx, a| {
            let mut out = Vec::new();
            for d in a {
                let m = members(d);
                ctx.charge(m.len() as u64 + 1)?;
                out.extend(m.keys().cloned());
            }
            Ok(Value::Strings(out))
        }),
    );
    add(
        funcs,
        "values",
        Func::new(&[Map], |ctx, a| {
            let m = members(&a[0]);
            ctx.charge(a[0].node_count())?;
            Ok(Value::List(m.values().cloned().collect()))
        }),
    );
    add(
        funcs,
        "pick",
        Func::variadic(&[Map], S, |ctx, a| {
            ctx.charge(a[0].node_count())?;
            let m = members(&a[0]);
            let mut out = BTreeMap::new();
            for k in &a[1..] {
                let k = super::text_arg(std::slice::from_ref(k), 0);
                if let Some(v) = m.get(k) {
                    out.insert(k.to_string(), v.clone());
                }
            }
            Ok(Value::Map(out))
        }),
    );
    add(
        funcs,
        "omit",
        Func::variadic(&[Map], S, |ctx, a| {
            ctx.charge(a[0].node_count())?;
            let mut m = members(&a[0]).clone();
            for k in &a[1..] {
                m.remove(super::text_arg(std::slice::from_ref(k), 0));
            }
            Ok(Value::Map(m))
        }),
    );
    for (name, overwrite) in [
        ("merge", false),
        ("mustMerge", false),
        ("mergeOverwrite", true),
        ("mustMergeOverwrite", true),
    ] {
        add(
            funcs,
            name,
            Func::variadic(&[Map], Map, move |ctx, a| {
                let cost: u64 = a.iter().map(Value::node_count).sum();
                ctx.charge(cost)?;
                let mut dst = members(&a[0]).clone();
                for src in &a[1..] {
                    merge_into(&mut dst, members(src), overwrite);
                }
                Ok(Value::Map(dst))
            }),
        );
    }
    for name in ["deepCopy", "mustDeepCopy"] {
        add(
            funcs,
            name,
            Func::new(&[Any], |ctx, a| {
                ctx.charge(a[0].node_count())?;
                Ok(a[0].clone())
            }),
        );
    }
    add(funcs, "dig", Func::variadic(&[], Any, dig));
}

static EMPTY: BTreeMap<String, Value> = BTreeMap::new();

fn members(v: &Value) -> &BTreeMap<String, Value> {
    match v {
        Value::Map(m) => m,
        _ => &EMPTY,
    }
}

/// A map argument to change; Go panics writing to a nil map.
fn owned(ctx: &mut Ctx<'_>, v: &Value) -> Result<BTreeMap<String, Value>, FuncError> {
    ctx.charge(v.node_count())?;
    match v {
        Value::Map(m) => Ok(m.clone()),
        _ => Err(FuncError::new("assignment to entry in nil map")),
    }
}

/// `delete` on a nil map is allowed and leaves it nil.
fn nil_or_map(original: &Value, map: BTreeMap<String, Value>) -> Value {
    match original {
        Value::NilMap => Value::NilMap,
        _ => Value::Map(map),
    }
}

/// The message of a failed Go type assertion `x.(T)`.
fn assertion(value: &Value, want: &str) -> FuncError {
    let have = if value.is_nil() {
        "nil".to_string()
    } else {
        type_name(value)
    };
    FuncError::new(format!(
        "interface conversion: interface {{}} is {have}, not {want}"
    ))
}

const MAP_TYPE: &str = "map[string]interface {}";

/// sprig's `dig "a" "b" default $dict`.
fn dig(ctx: &mut Ctx<'_>, a: &[Value]) -> FuncResult {
    if a.len() < 3 {
        return Err(FuncError::new("dig needs at least three arguments"));
    }
    ctx.charge(a.len() as u64)?;
    let dict = &a[a.len() - 1];
    if !matches!(dict, Value::Map(_) | Value::NilMap) {
        return Err(assertion(dict, MAP_TYPE));
    }
    let default = &a[a.len() - 2];
    let mut keys = Vec::new();
    for k in &a[..a.len() - 2] {
        match k {
            Value::String(s) => keys.push(s.as_str()),
            other => return Err(assertion(other, "string")),
        }
    }
    let mut current = dict;
    for (i, key) in keys.iter().enumerate() {
        let Some(step) = members(current).get(*key) else {
            return Ok(default.clone());
        };
        if i + 1 == keys.len() {
            return Ok(step.clone());
        }
        if !matches!(step, Value::Map(_) | Value::NilMap) {
            return Err(assertion(step, MAP_TYPE));
        }
        current = step;
    }
    Ok(default.clone())
}
