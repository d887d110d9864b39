//! `explodeMap`, `mergeMap`, `mergeMapWithOverride` and `loop`.

use std::collections::BTreeMap;

use crate::funcs::{Ctx, Func, FuncError, FuncResult, Funcs, Param};
use crate::strconv;
use gotemplate::decode::MAX_DEPTH;
use gotemplate::error::REDACTED;
use gotemplate::quote::quote;
use gotemplate::value::{GoChan, Value};

/// Registers the collection functions.
pub(crate) fn register(funcs: &mut Funcs) {
    funcs.insert(
        "explodeMap",
        Func::new(&[Param::Map], |ctx, a| explode_map(ctx, &a[0])),
    );
    funcs.insert(
        "mergeMap",
        Func::new(&[Param::Map, Param::Map], |ctx, a| {
            merge_map(ctx, &a[0], &a[1], false)
        }),
    );
    funcs.insert(
        "mergeMapWithOverride",
        Func::new(&[Param::Map, Param::Map], |ctx, a| {
            merge_map(ctx, &a[0], &a[1], true)
        }),
    );
    funcs.insert("loop", Func::variadic(&[], Param::Any, loop_range));
}

fn members(value: &Value) -> BTreeMap<String, Value> {
    match value {
        Value::Map(m) => m.clone(),
        _ => BTreeMap::new(),
    }
}

/// consul-template's `explodeMap`: keys with `/` become nested maps
/// (`a/b: 1` becomes `a: {b: 1}`), visiting keys in sorted order.
fn explode_map(ctx: &mut Ctx<'_>, input: &Value) -> FuncResult {
    let input = members(input);
    ctx.charge(u64::try_from(input.len()).unwrap_or(u64::MAX))?;
    let mut out = BTreeMap::new();
    for (key, value) in input {
        explode_into(&mut out, &key, value, &key)
            .map_err(|e| FuncError::new(format!("explodeMap: {e}")))?;
    }
    Ok(Value::Map(out))
}

fn explode_into(
    map: &mut BTreeMap<String, Value>,
    key: &str,
    value: Value,
    parent: &str,
) -> Result<(), String> {
    let parts: Vec<&str> = key.split('/').collect();
    if parts.len() > MAX_DEPTH {
        return Err(format!("key nests deeper than {MAX_DEPTH} levels"));
    }
    let Some((last, path)) = parts.split_last() else {
        return Ok(());
    };
    let mut current = map;
    let mut parent_key = parent;
    for (i, top) in path.iter().enumerate() {
        let nest = current
            .entry((*top).to_string())
            .or_insert_with(|| Value::Map(BTreeMap::new()));
        let Value::Map(nest) = nest else {
            return Err(format!(
                "not a map: {}: {} already has value {REDACTED}",
                quote(parent_key, false),
                quote(top, false)
            ));
        };
        current = nest;
        // Go names the remaining key as the parent of the next level.
        parent_key = key.splitn(i + 2, '/').last().unwrap_or(parent_key);
    }
    if !last.is_empty() {
        current.insert((*last).to_string(), value);
    }
    Ok(())
}

/// Whether `mergo` counts a value as empty (and so replaceable).
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Nil | Value::NilMap => true,
        Value::Bool(b) => !b,
        Value::Int(i) | Value::Int64(i) => *i == 0,
        Value::Uint(u) => *u == 0,
        Value::Float(f) => *f == 0.0,
        Value::String(s) | Value::Number(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        Value::List(items) => items.is_empty(),
        Value::Strings(items) => items.is_empty(),
        Value::StringMap(m) => m.is_empty(),
        Value::AnyMap(m) => m.is_empty(),
        Value::Chan(_) => false,
        Value::Complex(re, im) => *re == 0.0 && *im == 0.0,
        Value::NilStrings => true,
        Value::Map(m) => m.is_empty(),
        Value::Struct(s) => s.fields.is_none(),
    }
}

/// `mergo.Map(&dst, src)` (v0.3.15) as consul-template calls it: without
/// override, keys missing or empty in `dst` take `src`'s value and nested
/// maps merge; with override, `src` wins, nested maps still merging. Go
/// changes `dst` in place; here a merged copy is returned.
fn merge_map(ctx: &mut Ctx<'_>, dst: &Value, src: &Value, overwrite: bool) -> FuncResult {
    ctx.charge(dst.node_count().saturating_add(src.node_count()))?;
    let mut out = members(dst);
    merge_into(&mut out, &members(src), overwrite);
    Ok(Value::Map(out))
}

fn merge_into(dst: &mut BTreeMap<String, Value>, src: &BTreeMap<String, Value>, overwrite: bool) {
    for (key, src_value) in src {
        if src_value.is_nil() {
            if overwrite {
                dst.insert(key.clone(), Value::Nil);
            }
            continue;
        }
        let dst_value = dst.get(key).cloned();
        match src_value {
            Value::Map(src_map) => {
                if let Some(Value::Map(mut nested)) = dst_value.clone() {
                    merge_into(&mut nested, src_map, overwrite);
                    dst.insert(key.clone(), Value::Map(nested));
                }
            }
            Value::List(_) | Value::Strings(_) => {
                // mergo looks at whether the whole destination is empty here.
                let take_src = overwrite || dst.is_empty();
                let list = match (&dst_value, take_src) {
                    (_, true) => src_value.clone(),
                    (Some(existing), false) if !existing.is_nil() => existing.clone(),
                    _ => Value::List(Vec::new()),
                };
                dst.insert(key.clone(), list);
            }
            _ => {}
        }
        // A non-empty value in dst stays when src brings a list, or a map
        // where dst has a map (merged above).
        let current = dst.get(key);
        let dst_present_nonempty = match &dst_value {
            Some(v) => !is_empty(current.unwrap_or(v)),
            None => false,
        };
        let src_list = matches!(src_value, Value::List(_) | Value::Strings(_));
        let both_maps =
            matches!(src_value, Value::Map(_)) && matches!(current, Some(Value::Map(_)));
        if dst_present_nonempty && (src_list || both_maps) {
            continue;
        }
        if overwrite || dst_value.is_none() || dst_value.as_ref().is_some_and(is_empty) {
            dst.insert(key.clone(), src_value.clone());
        }
    }
}

/// consul-template's `loop`: `loop N` counts 0..N, `loop A B` counts A..B
/// (B excluded); numbers may be given as integers or decimal strings. It
/// returns a `<-chan int64`, as in Go: `range` receives the values; `len`
/// of it is 0 and `index` refuses it.
fn loop_range(_: &mut Ctx<'_>, args: &[Value]) -> FuncResult {
    let (start, stop) = match args {
        [stop] => (0, to_i64(stop)?),
        [start, stop] => (to_i64(start)?, to_i64(stop)?),
        _ => {
            return Err(FuncError::new(format!(
                "loop: wrong number of arguments, expected 1 or 2, but got {}",
                args.len()
            )));
        }
    };
    // Values are made as a range receives them, each at the cost of a step.
    Ok(Value::Chan(GoChan::counting(start, stop)))
}

fn to_i64(value: &Value) -> Result<i64, FuncError> {
    match value {
        Value::Int(i) | Value::Int64(i) => Ok(*i),
        Value::Uint(u) => Ok(*u as i64),
        Value::String(s) | Value::Number(s) => {
            if s.is_empty() {
                return Ok(0);
            }
            gotemplate::strconv::parse_int(s, 10, 64)
                .map_err(|why| strconv::failure("parseInt", &why))
        }
        other => Err(FuncError::new(format!(
            "loop: bad argument type: {}",
            other.go_type()
        ))),
    }
}
