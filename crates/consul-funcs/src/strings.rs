//! String functions: `toLower`, `toUpper`, `toTitle`, `trimSpace`, `trim`,
//! `trimPrefix`, `trimSuffix`, `split`, `join`, `replaceAll`, `indent`,
//! `splitToMap`, and the membership tests `in`, `contains`, `containsAll`,
//! `containsAny`, `containsNone`, `containsNotAll`.

use std::collections::BTreeMap;

use crate::args::{charge_bytes, string, text};
use crate::funcs::{Ctx, Func, FuncError, FuncResult, Funcs, Param};
use crate::title;
use gotemplate::value::Value;

/// Registers the string functions.
pub(crate) fn register(funcs: &mut Funcs) {
    use Param::{Any, Int, String as S};
    funcs.insert("toLower", unary(title::to_lower));
    funcs.insert("toUpper", unary(title::to_upper));
    funcs.insert("toTitle", unary(title::to_title));
    funcs.insert("trimSpace", unary(|s| s.trim().to_string()));
    funcs.insert(
        "trim",
        Func::new(&[S, S], |ctx, a| {
            let (cutset, s) = (text(&a[0]), text(&a[1]));
            charge_bytes(ctx, s.len())?;
            Ok(string(s.trim_matches(|c| cutset.contains(c))))
        }),
    );
    funcs.insert(
        "trimPrefix",
        Func::new(&[S, S], |ctx, a| {
            let (prefix, s) = (text(&a[0]), text(&a[1]));
            charge_bytes(ctx, s.len())?;
            Ok(string(s.strip_prefix(prefix).unwrap_or(s)))
        }),
    );
    funcs.insert(
        "trimSuffix",
        Func::new(&[S, S], |ctx, a| {
            let (suffix, s) = (text(&a[0]), text(&a[1]));
            charge_bytes(ctx, s.len())?;
            Ok(string(s.strip_suffix(suffix).unwrap_or(s)))
        }),
    );
    funcs.insert(
        "split",
        Func::new(&[S, S], |ctx, a| split(ctx, text(&a[0]), text(&a[1]))),
    );
    funcs.insert(
        "join",
        Func::new(&[S, Param::Strings], |ctx, a| join(ctx, text(&a[0]), &a[1])),
    );
    funcs.insert(
        "replaceAll",
        Func::new(&[S, S, S], |ctx, a| {
            replace_all(ctx, text(&a[0]), text(&a[1]), text(&a[2]))
        }),
    );
    funcs.insert(
        "indent",
        Func::new(&[Int, S], |ctx, a| indent(ctx, &a[0], text(&a[1]))),
    );
    funcs.insert(
        "splitToMap",
        Func::new(&[S, S, S], |ctx, a| {
            split_to_map(ctx, text(&a[0]), text(&a[1]), text(&a[2]))
        }),
    );
    funcs.insert(
        "in",
        Func::new(&[Any, Any], |ctx, a| membership(ctx, &a[0], &a[1])),
    );
    // `contains` is `in` with its arguments swapped, for pipelines.
    funcs.insert(
        "contains",
        Func::new(&[Any, Any], |ctx, a| membership(ctx, &a[1], &a[0])),
    );
    funcs.insert("containsAll", contains_some(true, true));
    funcs.insert("containsAny", contains_some(false, false));
    funcs.insert("containsNone", contains_some(true, false));
    funcs.insert("containsNotAll", contains_some(false, true));
}

/// A `func(string) string` that costs in proportion to its input.
fn unary(f: fn(&str) -> String) -> Func {
    Func::new(&[Param::String], move |ctx, a| {
        let s = text(&a[0]);
        charge_bytes(ctx, s.len())?;
        Ok(string(f(s)))
    })
}

/// consul-template's `split`: surrounding white space trimmed first, an
/// empty string gives an empty list, an empty separator splits into
/// characters (Go's `strings.Split`).
fn split(ctx: &mut Ctx<'_>, sep: &str, s: &str) -> FuncResult {
    let s = s.trim();
    charge_bytes(ctx, s.len())?;
    if s.is_empty() {
        return Ok(Value::Strings(Vec::new()));
    }
    let parts: Vec<String> = go_split(s, sep).into_iter().map(str::to_string).collect();
    ctx.charge(u64::try_from(parts.len()).unwrap_or(u64::MAX))?;
    Ok(Value::Strings(parts))
}

/// Go's `strings.Split`.
fn go_split<'a>(s: &'a str, sep: &str) -> Vec<&'a str> {
    if sep.is_empty() {
        return s
            .char_indices()
            .map(|(i, c)| &s[i..i + c.len_utf8()])
            .collect();
    }
    s.split(sep).collect()
}

/// `join(sep, []string)`: the engine lets only a `[]string` through, as Go.
fn join(ctx: &mut Ctx<'_>, sep: &str, list: &Value) -> FuncResult {
    let parts: Vec<&str> = match list {
        Value::Strings(items) => items.iter().map(String::as_str).collect(),
        _ => Vec::new(),
    };
    let total = parts.iter().map(|p| p.len()).sum::<usize>()
        + sep.len().saturating_mul(parts.len().saturating_sub(1));
    charge_bytes(ctx, total)?;
    Ok(string(parts.join(sep)))
}

/// Go's `strings.Replace(s, from, to, -1)`; an empty `from` inserts `to`
/// before every character and at the end.
fn replace_all(ctx: &mut Ctx<'_>, from: &str, to: &str, s: &str) -> FuncResult {
    let count = if from.is_empty() {
        s.chars().count() + 1
    } else {
        s.matches(from).count()
    };
    let size = s
        .len()
        .saturating_add(count.saturating_mul(to.len()))
        .saturating_sub(count.saturating_mul(from.len()));
    charge_bytes(ctx, size)?;
    Ok(string(s.replace(from, to)))
}

/// consul-template's `indent`: `spaces` spaces before every non-empty line.
fn indent(ctx: &mut Ctx<'_>, spaces: &Value, s: &str) -> FuncResult {
    let spaces = match spaces {
        Value::Int(n) => *n,
        _ => 0,
    };
    let Ok(width) = usize::try_from(spaces) else {
        return Err(FuncError::new("indent value must be a positive integer"));
    };
    let lines = s.split('\n').filter(|line| !line.is_empty()).count();
    if lines == 0 {
        return Ok(string(s));
    }
    charge_bytes(ctx, s.len().saturating_add(lines.saturating_mul(width)))?;
    let prefix = " ".repeat(width);
    let mut out = String::new();
    let mut at_line_start = true;
    for c in s.chars() {
        if at_line_start && c != '\n' {
            out.push_str(&prefix);
        }
        out.push(c);
        at_line_start = c == '\n';
    }
    Ok(string(out))
}

/// consul-template's `splitToMap`: split on `sep1`, then each part at the
/// first `sep2` into key and value; parts without `sep2` are skipped.
fn split_to_map(ctx: &mut Ctx<'_>, sep1: &str, sep2: &str, s: &str) -> FuncResult {
    let s = s.trim();
    charge_bytes(ctx, s.len())?;
    let mut map = BTreeMap::new();
    if s.is_empty() {
        return Ok(Value::StringMap(map));
    }
    for part in go_split(s, sep1) {
        if let Some((k, v)) = part.split_once(sep2) {
            map.insert(k.to_string(), v.to_string());
        }
    }
    ctx.charge(u64::try_from(map.len()).unwrap_or(u64::MAX))?;
    Ok(Value::StringMap(map))
}

/// Go reflects on a nil interface and panics; the template engine turns
/// the panic into this error.
const NIL_TYPE_PANIC: &str = "reflect: call of reflect.Value.Type on zero Value";

/// consul-template's `in(l, v)`: whether the list `l` holds `v`, or the
/// string `l` contains `v`. Elements compare only within a kind: integers
/// with integers, floats with floats, strings with strings of the same Go
/// type (a `json.Number` never equals a `string`).
fn membership(ctx: &mut Ctx<'_>, l: &Value, v: &Value) -> FuncResult {
    contains_value(ctx, l, v).map(Value::Bool)
}

fn contains_value(ctx: &mut Ctx<'_>, l: &Value, v: &Value) -> Result<bool, FuncError> {
    match l {
        Value::Strings(items) => {
            ctx.charge(u64::try_from(items.len()).unwrap_or(u64::MAX))?;
            if !items.is_empty() && v.is_nil() {
                return Err(FuncError::new(NIL_TYPE_PANIC));
            }
            Ok(matches!(v, Value::String(needle) if items.contains(needle)))
        }
        Value::List(items) => {
            ctx.charge(u64::try_from(items.len()).unwrap_or(u64::MAX))?;
            for item in items {
                let hit = match (item, v) {
                    (Value::Int(a) | Value::Int64(a), Value::Int(b) | Value::Int64(b)) => a == b,
                    (Value::Float(a), Value::Float(b)) => a == b,
                    (Value::String(_) | Value::Number(_), Value::Nil) => {
                        return Err(FuncError::new(NIL_TYPE_PANIC));
                    }
                    (Value::String(a), Value::String(b)) | (Value::Number(a), Value::Number(b)) => {
                        a == b
                    }
                    _ => false,
                };
                if hit {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Value::String(haystack) | Value::Number(haystack) => {
            charge_bytes(ctx, haystack.len())?;
            match (l, v) {
                (_, Value::Nil) => Err(FuncError::new(NIL_TYPE_PANIC)),
                (Value::String(_), Value::String(needle))
                | (Value::Number(_), Value::Number(needle)) => {
                    Ok(haystack.contains(needle.as_str()))
                }
                _ => Ok(false),
            }
        }
        _ => Ok(false),
    }
}

/// `containsAll`/`containsAny`/`containsNone`/`containsNotAll(v, l)`:
/// tests each element of the list `v` with `in(l, element)`; stops at the
/// first element whose result is not `invert`, answering `!ret_true`.
fn contains_some(ret_true: bool, invert: bool) -> Func {
    Func::new(&[Param::List, Param::Any], move |ctx, a| {
        let items = match &a[0] {
            Value::List(items) => items.as_slice(),
            _ => &[],
        };
        for item in items {
            if contains_value(ctx, &a[1], item)? != invert {
                return Ok(Value::Bool(!ret_true));
            }
        }
        Ok(Value::Bool(ret_true))
    })
}
