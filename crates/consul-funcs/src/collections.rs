//! `explodeMap`, `mergeMap`, `mergeMapWithOverride` and `loop`.

use std::collections::BTreeMap;

use crate::funcs::{Ctx, Func, FuncError, FuncResult, Funcs, Param};
use crate::mergo::merge_into;
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
