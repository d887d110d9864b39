//! sprig's list functions: `list`, `append`, `prepend`, `first`, `rest`,
//! `last`, `initial`, `reverse`, `compact`, `uniq`, `without`, `has`,
//! `slice`, `concat`, `chunk` and their `must` forms. Like sprig they take
//! any slice (`[]interface{}` or `[]string`) and fail, naming the reflect
//! kind, on anything else; a nil list is Go's nil dereference.

use gotemplate::value::Value;

use super::add;
use super::conv::{NIL_DEREF, elements, empty, f64_to_i64, kind, slice_len, to_int};
use crate::funcs::{Ctx, Func, FuncError, FuncResult, Funcs, Param};

use Param::{Any, Int};

/// Registers the list functions.
pub(super) fn register(funcs: &mut Funcs) {
    for name in ["list", "tuple"] {
        add(
            funcs,
            name,
            Func::variadic(&[], Any, |ctx, a| {
                ctx.charge(a.len() as u64)?;
                Ok(Value::List(a.to_vec()))
            }),
        );
    }
    for name in ["append", "push", "mustAppend", "mustPush"] {
        add(
            funcs,
            name,
            Func::new(&[Any, Any], |ctx, a| {
                let mut items = items_of(ctx, &a[0], "Cannot push on type")?;
                items.push(a[1].clone());
                Ok(Value::List(items))
            }),
        );
    }
    for name in ["prepend", "mustPrepend"] {
        add(
            funcs,
            name,
            Func::new(&[Any, Any], |ctx, a| {
                let mut items = items_of(ctx, &a[0], "Cannot prepend on type")?;
                items.insert(0, a[1].clone());
                Ok(Value::List(items))
            }),
        );
    }
    for name in ["first", "mustFirst"] {
        add(
            funcs,
            name,
            Func::new(&[Any], |ctx, a| {
                let items = items_of(ctx, &a[0], "Cannot find first on type")?;
                Ok(items.into_iter().next().unwrap_or(Value::Nil))
            }),
        );
    }
    for name in ["last", "mustLast"] {
        add(
            funcs,
            name,
            Func::new(&[Any], |ctx, a| {
                let items = items_of(ctx, &a[0], "Cannot find last on type")?;
                Ok(items.into_iter().last().unwrap_or(Value::Nil))
            }),
        );
    }
    for name in ["rest", "mustRest"] {
        add(
            funcs,
            name,
            Func::new(&[Any], |ctx, a| {
                let mut items = items_of(ctx, &a[0], "Cannot find rest on type")?;
                if !items.is_empty() {
                    items.remove(0);
                }
                Ok(Value::List(items))
            }),
        );
    }
    for name in ["initial", "mustInitial"] {
        add(
            funcs,
            name,
            Func::new(&[Any], |ctx, a| {
                let mut items = items_of(ctx, &a[0], "Cannot find initial on type")?;
                items.pop();
                Ok(Value::List(items))
            }),
        );
    }
    for name in ["reverse", "mustReverse"] {
        add(
            funcs,
            name,
            Func::new(&[Any], |ctx, a| {
                let mut items = items_of(ctx, &a[0], "Cannot find reverse on type")?;
                items.reverse();
                Ok(Value::List(items))
            }),
        );
    }
    for name in ["compact", "mustCompact"] {
        add(
            funcs,
            name,
            Func::new(&[Any], |ctx, a| {
                let items = items_of(ctx, &a[0], "Cannot compact on type")?;
                Ok(Value::List(
                    items.into_iter().filter(|v| !empty(v)).collect(),
                ))
            }),
        );
    }
    for name in ["uniq", "mustUniq"] {
        add(
            funcs,
            name,
            Func::new(&[Any], |ctx, a| {
                let items = items_of(ctx, &a[0], "Cannot find uniq on type")?;
                ctx.charge((items.len() as u64).saturating_mul(items.len() as u64) / 16)?;
                let mut out: Vec<Value> = Vec::new();
                for item in items {
                    if !out.contains(&item) {
                        out.push(item);
                    }
                }
                Ok(Value::List(out))
            }),
        );
    }
    for name in ["without", "mustWithout"] {
        add(
            funcs,
            name,
            Func::variadic(&[Any], Any, |ctx, a| {
                let items = items_of(ctx, &a[0], "Cannot find without on type")?;
                let omit = &a[1..];
                ctx.charge((items.len() as u64).saturating_mul(omit.len() as u64) / 16)?;
                Ok(Value::List(
                    items.into_iter().filter(|v| !omit.contains(v)).collect(),
                ))
            }),
        );
    }
    for name in ["has", "mustHas"] {
        add(
            funcs,
            name,
            Func::new(&[Any, Any], |ctx, a| {
                if a[1].is_nil() {
                    return Ok(Value::Bool(false));
                }
                let items = items_of(ctx, &a[1], "Cannot find has on type")?;
                Ok(Value::Bool(items.contains(&a[0])))
            }),
        );
    }
    for name in ["slice", "mustSlice"] {
        add(funcs, name, Func::variadic(&[Any], Any, slice));
    }
    add(
        funcs,
        "concat",
        Func::variadic(&[], Any, |ctx, a| {
            let mut out = Vec::new();
            for list in a {
                let Some(k) = kind(list) else {
                    return Err(FuncError::new(NIL_DEREF));
                };
                match elements(list) {
                    Some(items) => {
                        ctx.charge(items.len() as u64)?;
                        out.extend(items);
                    }
                    None => {
                        return Err(FuncError::new(format!("Cannot concat type {k} as list")));
                    }
                }
            }
            Ok(Value::List(out))
        }),
    );
    for name in ["chunk", "mustChunk"] {
        add(funcs, name, Func::new(&[Int, Any], chunk));
    }
}

/// The elements of a slice argument, or sprig's `"{what} {kind}"` error.
fn items_of(ctx: &mut Ctx<'_>, list: &Value, what: &str) -> Result<Vec<Value>, FuncError> {
    let Some(k) = kind(list) else {
        return Err(FuncError::new(NIL_DEREF));
    };
    ctx.charge(slice_len(list).unwrap_or(0) as u64 + 1)?;
    elements(list).ok_or_else(|| FuncError::new(format!("{what} {k}")))
}

/// sprig's `slice`: `reflect.Value.Slice(start, end)` keeps the slice's
/// own type; an empty list gives nil.
fn slice(ctx: &mut Ctx<'_>, a: &[Value]) -> FuncResult {
    let list = &a[0];
    let Some(k) = kind(list) else {
        return Err(FuncError::new(NIL_DEREF));
    };
    let Some(len) = slice_len(list) else {
        return Err(FuncError::new(format!(
            "list should be type of slice or array but {k}"
        )));
    };
    if len == 0 {
        return Ok(Value::Nil);
    }
    ctx.charge(len as u64)?;
    let start = a.get(1).map_or(0, to_int);
    let end = if a.len() < 3 {
        len as i64
    } else {
        to_int(&a[2])
    };
    if start < 0 || end < start || end > len as i64 {
        return Err(FuncError::new(
            "reflect.Value.Slice: slice index out of bounds",
        ));
    }
    let (start, end) = (start as usize, end as usize);
    Ok(match list {
        Value::Strings(items) => Value::Strings(items[start..end].to_vec()),
        Value::List(items) => Value::List(items[start..end].to_vec()),
        _ => Value::List(Vec::new()),
    })
}

/// sprig's `chunk`, with its float arithmetic for the chunk count and
/// Go's runtime failures for sizes that make no sense.
fn chunk(ctx: &mut Ctx<'_>, a: &[Value]) -> FuncResult {
    let size = match &a[0] {
        Value::Int(i) | Value::Int64(i) => *i,
        _ => 0,
    };
    let items = items_of(ctx, &a[1], "Cannot chunk type")?;
    let l = items.len() as i64;
    let count = f64_to_i64(((l - 1) as f64 / size as f64).floor() + 1.0);
    if count < 0 {
        return Err(FuncError::new("runtime error: makeslice: len out of range"));
    }
    ctx.charge(count as u64)?;
    let mut out = Vec::new();
    for i in 0..count {
        let mut clen = size;
        if i == count - 1 {
            clen = f64_to_i64((l as f64 % size as f64).floor());
            if clen == 0 {
                clen = size;
            }
        }
        if clen < 0 {
            return Err(FuncError::new("runtime error: makeslice: len out of range"));
        }
        let mut part = Vec::new();
        for j in 0..clen {
            let ix = i.wrapping_mul(size).wrapping_add(j);
            match usize::try_from(ix).ok().and_then(|ix| items.get(ix)) {
                Some(v) => part.push(v.clone()),
                None => return Err(FuncError::new("reflect: slice index out of range")),
            }
        }
        out.push(Value::List(part));
    }
    Ok(Value::List(out))
}
