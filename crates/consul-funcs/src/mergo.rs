//! mergo's merge (v0.3.15), as both consul-template's `mergeMap` and
//! sprig's `merge`/`mergeOverwrite` call it on `map[string]interface{}`.

use std::collections::BTreeMap;

use gotemplate::Value;

/// Whether `mergo` counts a value as empty (and so replaceable).
pub(crate) fn is_empty(value: &Value) -> bool {
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

/// Merges `src` into `dst`: without `overwrite`, keys missing or empty in
/// `dst` take `src`'s value and nested maps merge; with it, `src` wins,
/// nested maps still merging.
pub(crate) fn merge_into(
    dst: &mut BTreeMap<String, Value>,
    src: &BTreeMap<String, Value>,
    overwrite: bool,
) {
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
