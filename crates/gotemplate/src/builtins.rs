//! Go's predefined template functions: `not eq ne lt le gt ge len index
//! slice print printf println html js urlquery call` (`and` and `or` are
//! evaluated lazily by the executor). Error texts are Go's, with values
//! replaced by [`REDACTED`].

use super::error::REDACTED;
use super::gofmt::{self, Arg};
use super::quote;
use super::slot::{Ptr, Slot};
use super::value::Value;

/// The parameter types of a builtin, as Go declares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    /// `interface{}`.
    Any,
    /// `reflect.Value`: the function sees the value with its static type.
    Reflect,
    /// `string`.
    String,
    /// `int`.
    Int,
    /// `bool`.
    Bool,
    /// `float64`.
    Float,
    /// `[]interface{}`.
    List,
    /// `map[string]interface{}`.
    Map,
    /// `[]string`.
    Strings,
}

impl Ty {
    /// Go's spelling of the type.
    pub(crate) fn go_type(self) -> &'static str {
        match self {
            Ty::Any => "interface {}",
            Ty::Reflect => "reflect.Value",
            Ty::String => "string",
            Ty::Int => "int",
            Ty::Bool => "bool",
            Ty::Float => "float64",
            Ty::List => "[]interface {}",
            Ty::Map => "map[string]interface {}",
            Ty::Strings => "[]string",
        }
    }

    /// Whether an untyped nil can stand for this type.
    pub(crate) fn can_be_nil(self) -> bool {
        matches!(
            self,
            Ty::Any | Ty::Reflect | Ty::List | Ty::Map | Ty::Strings
        )
    }

    /// The zero value of a nil-able type.
    pub(crate) fn zero(self) -> Slot {
        match self {
            Ty::List => Slot::val(Value::List(Vec::new())),
            Ty::Strings => Slot::val(Value::NilStrings),
            Ty::Map => Slot::val(Value::NilMap),
            _ => Slot::Invalid,
        }
    }

    /// Whether a concrete value is assignable to this type.
    pub(crate) fn accepts(self, value: &Value) -> bool {
        match self {
            Ty::Any | Ty::Reflect => true,
            Ty::String => matches!(value, Value::String(_) | Value::Bytes(_)),
            Ty::Int => matches!(value, Value::Int(_)),
            Ty::Bool => matches!(value, Value::Bool(_)),
            Ty::Float => matches!(value, Value::Float(_)),
            Ty::List => matches!(value, Value::List(_)),
            Ty::Map => matches!(value, Value::Map(_) | Value::NilMap),
            Ty::Strings => matches!(value, Value::Strings(_) | Value::NilStrings),
        }
    }
}

/// Signature of a builtin: fixed parameters and the `...` type.
pub(crate) fn signature(name: &str) -> Option<(&'static [Ty], Option<Ty>)> {
    const R: &[Ty] = &[Ty::Reflect];
    const RR: &[Ty] = &[Ty::Reflect, Ty::Reflect];
    Some(match name {
        "and" | "or" | "call" | "index" | "slice" | "eq" => (R, Some(Ty::Reflect)),
        "html" | "js" | "urlquery" | "print" | "println" => (&[], Some(Ty::Any)),
        "printf" => (&[Ty::String], Some(Ty::Any)),
        "len" | "not" => (R, None),
        "ne" | "lt" | "le" | "gt" | "ge" => (RR, None),
        _ => return None,
    })
}

/// Go's truth: non-zero, non-empty, non-nil.
pub(crate) fn is_true(value: &Value) -> bool {
    match value {
        Value::Nil | Value::NilMap | Value::NilStrings => false,
        Value::Bool(b) => *b,
        Value::Int(i) | Value::Int64(i) => *i != 0,
        Value::Uint(u) => *u != 0,
        Value::Float(f) => *f != 0.0,
        Value::String(s) | Value::Number(s) => !s.is_empty(),
        Value::Bytes(b) => !b.is_empty(),
        Value::List(items) => !items.is_empty(),
        Value::Strings(items) => !items.is_empty(),
        Value::Map(m) => !m.is_empty(),
        Value::StringMap(m) => !m.is_empty(),
        Value::AnyMap(m) => !m.is_empty(),
        // A channel is true while it is not nil, empty or not.
        Value::Chan(_) => true,
        Value::Complex(re, im) => *re != 0.0 || *im != 0.0,
        Value::Struct(s) => s.fields.is_some(),
    }
}

/// Calls the builtin `name` (not `and`/`or`/`call`) on checked arguments.
pub(crate) fn call(name: &str, args: &[Slot]) -> Result<Slot, String> {
    let formats = matches!(
        name,
        "print" | "printf" | "println" | "html" | "js" | "urlquery"
    );
    if formats && args.iter().any(|a| matches!(a.value(), Value::Bytes(_))) {
        // Formatting builds text; binary data would come out altered.
        return Err("binary (non-UTF-8) data can only be written as is".into());
    }
    match name {
        "not" => Ok(bool_slot(!is_true(args[0].value()))),
        "eq" => eq(&args[0], &args[1..]).map(bool_slot),
        "ne" => eq(&args[0], &args[1..2]).map(|b| bool_slot(!b)),
        "lt" => lt(&args[0], &args[1]).map(bool_slot),
        "le" => le(&args[0], &args[1]).map(bool_slot),
        "gt" => le(&args[0], &args[1]).map(|b| bool_slot(!b)),
        "ge" => lt(&args[0], &args[1]).map(|b| bool_slot(!b)),
        "len" => length(&args[0]).map(|n| Slot::val(Value::Int(n))),
        "index" => index(&args[0], &args[1..]),
        "slice" => slice(&args[0], &args[1..]),
        "print" => Ok(string_slot(gofmt::sprint(&values(args)))),
        "println" => Ok(string_slot(gofmt::sprintln(&values(args)))),
        "printf" => {
            let values = values(args);
            let format = match values.first() {
                Some(Value::String(f)) => f.clone(),
                _ => String::new(),
            };
            Ok(string_slot(gofmt::sprintf(&format, &values[1..])))
        }
        "html" => Ok(string_slot(html_escape(&eval_args(args)))),
        "js" => Ok(string_slot(js_escape(&eval_args(args)))),
        "urlquery" => Ok(string_slot(query_escape(&eval_args(args)))),
        _ => Err(format!("unknown builtin {name}")),
    }
}

fn bool_slot(b: bool) -> Slot {
    Slot::val(Value::Bool(b))
}

fn string_slot(s: String) -> Slot {
    Slot::val(Value::String(s))
}

fn values(args: &[Slot]) -> Vec<Value> {
    args.iter().map(Slot::to_value).collect()
}

// ---- comparison ------------------------------------------------------

/// Go's comparison kinds; nil and non-basic values (lists, maps,
/// structs) are all `Invalid`, as in Go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Uint,
    Float,
    Complex,
    Str,
}

fn basic_kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Uint(_) => Kind::Uint,
        Value::Float(_) => Kind::Float,
        Value::Complex(..) => Kind::Complex,
        Value::String(_) | Value::Number(_) | Value::Bytes(_) => Kind::Str,
        _ => Kind::Invalid,
    }
}

/// Go's reflect kind family of a non-basic value, for "comparable kinds".
fn reflect_kind(v: &Value) -> u8 {
    match v {
        Value::Nil => 0,
        Value::List(_) | Value::Strings(_) | Value::NilStrings => 1,
        Value::Map(_) | Value::NilMap | Value::StringMap(_) | Value::AnyMap(_) => 2,
        Value::Struct(_) => 3,
        _ => 4,
    }
}

fn is_nil_value(v: &Value) -> bool {
    match v {
        Value::Nil | Value::NilMap | Value::NilStrings => true,
        Value::Struct(s) => s.fields.is_none(),
        _ => false,
    }
}

fn int_of(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        _ => 0,
    }
}

fn uint_of(v: &Value) -> u64 {
    match v {
        Value::Uint(u) => *u,
        _ => 0,
    }
}

fn float_of(v: &Value) -> f64 {
    match v {
        Value::Float(f) => *f,
        _ => 0.0,
    }
}

/// The bytes of any Go string.
fn str_of(v: &Value) -> &[u8] {
    match v {
        Value::String(s) | Value::Number(s) => s.as_bytes(),
        Value::Bytes(b) => b,
        _ => &[],
    }
}

fn eq(arg1: &Slot, rest: &[Slot]) -> Result<bool, String> {
    let a = arg1.value();
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic_kind(a);
    for arg in rest {
        let b = arg.value();
        let k2 = basic_kind(b);
        let truth = if k1 != k2 {
            match (k1, k2) {
                (Kind::Int, Kind::Uint) => int_of(a) >= 0 && int_of(a) as u64 == uint_of(b),
                (Kind::Uint, Kind::Int) => int_of(b) >= 0 && uint_of(a) == int_of(b) as u64,
                _ => {
                    if !a.is_nil() && !b.is_nil() {
                        return Err(format!(
                            "incompatible types for comparison: {} and {}",
                            a.go_type(),
                            b.go_type()
                        ));
                    }
                    false
                }
            }
        } else {
            match k1 {
                Kind::Bool => a == b,
                Kind::Int => int_of(a) == int_of(b),
                Kind::Uint => uint_of(a) == uint_of(b),
                Kind::Float => float_of(a) == float_of(b),
                Kind::Complex => a == b,
                Kind::Str => str_of(a) == str_of(b),
                Kind::Invalid => {
                    let (r1, r2) = (reflect_kind(a), reflect_kind(b));
                    if r1 != r2 && r1 != 0 && r2 != 0 {
                        return Err(format!(
                            "non-comparable types {REDACTED}: {}, {}: {REDACTED}",
                            a.go_type(),
                            b.go_type()
                        ));
                    }
                    if is_nil_value(a) || is_nil_value(b) {
                        is_nil_value(a) == is_nil_value(b)
                    } else if matches!(
                        b,
                        Value::List(_)
                            | Value::Strings(_)
                            | Value::Map(_)
                            | Value::StringMap(_)
                            | Value::AnyMap(_)
                    ) {
                        return Err(format!("non-comparable type {REDACTED}: {}", b.go_type()));
                    } else {
                        a == b
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn lt(arg1: &Slot, arg2: &Slot) -> Result<bool, String> {
    let (a, b) = (arg1.value(), arg2.value());
    let k1 = basic_kind(a);
    let k2 = basic_kind(b);
    if k1 == Kind::Invalid || k2 == Kind::Invalid {
        return Err("invalid type for comparison".into());
    }
    if k1 != k2 {
        return match (k1, k2) {
            (Kind::Int, Kind::Uint) => Ok(int_of(a) < 0 || (int_of(a) as u64) < uint_of(b)),
            (Kind::Uint, Kind::Int) => Ok(int_of(b) >= 0 && uint_of(a) < int_of(b) as u64),
            _ => Err(format!(
                "incompatible types for comparison: {} and {}",
                a.go_type(),
                b.go_type()
            )),
        };
    }
    match k1 {
        Kind::Bool | Kind::Complex => Err("invalid type for comparison".into()),
        Kind::Int => Ok(int_of(a) < int_of(b)),
        Kind::Uint => Ok(uint_of(a) < uint_of(b)),
        Kind::Float => Ok(float_of(a) < float_of(b)),
        _ => Ok(str_of(a) < str_of(b)),
    }
}

fn le(arg1: &Slot, arg2: &Slot) -> Result<bool, String> {
    if lt(arg1, arg2)? {
        return Ok(true);
    }
    eq(arg1, std::slice::from_ref(arg2))
}

// ---- len, index, slice ---------------------------------------------------

fn length(item: &Slot) -> Result<i64, String> {
    let v = item.value();
    let n = match (item, v) {
        (Slot::Invalid, _) => {
            return Err("reflect: call of reflect.Value.Type on zero Value".into());
        }
        (_, Value::Nil) => return Err("len of nil pointer".into()),
        (_, Value::Struct(s)) if s.fields.is_none() => return Err("len of nil pointer".into()),
        (_, Value::Struct(s)) => return Err(format!("len of type {}", s.type_name)),
        (_, Value::String(s) | Value::Number(s)) => s.len(),
        (_, Value::Bytes(b)) => b.len(),
        (_, Value::List(items)) => items.len(),
        (_, Value::Strings(items)) => items.len(),
        (_, Value::Map(m)) => m.len(),
        (_, Value::StringMap(m)) => m.len(),
        (_, Value::AnyMap(m)) => m.len(),
        // Values wait in the sender until received: none is buffered.
        (_, Value::Chan(_)) => 0,
        (_, Value::NilMap | Value::NilStrings) => 0,
        (_, other) => return Err(format!("len of type {}", other.go_type())),
    };
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Go's `indexArg`: an integer index within `0..=cap`.
fn index_arg(index: &Value, cap: usize) -> Result<usize, String> {
    let x: i64 = match index {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint(u) => *u as i64,
        Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.go_type()
            ));
        }
    };
    match usize::try_from(x) {
        Ok(i) if i <= cap => Ok(i),
        _ => Err(format!("index out of range: {x}")),
    }
}

fn index(item: &Slot, indexes: &[Slot]) -> Result<Slot, String> {
    let mut cur: Slot = match item.ptr() {
        Some(p) if !p.get().is_nil() => Slot::Val(p.clone()),
        _ => return Err("index of untyped nil".into()),
    };
    for index in indexes {
        let idx = index.value();
        let Some(ptr) = cur.ptr().cloned() else {
            return Err("index of nil pointer".into());
        };
        let v = ptr.get();
        cur = match v {
            Value::Nil => return Err("index of nil pointer".into()),
            Value::Struct(s) if s.fields.is_none() => return Err("index of nil pointer".into()),
            Value::List(items) => {
                let x = index_arg(idx, items.len())?;
                if x == items.len() {
                    return Err("reflect: slice index out of range".into());
                }
                Slot::Iface(ptr.index(x))
            }
            Value::NilStrings => {
                index_arg(idx, 0)?;
                return Err("reflect: slice index out of range".into());
            }
            Value::Strings(items) => {
                let x = index_arg(idx, items.len())?;
                match items.get(x) {
                    Some(s) => Slot::Val(Ptr::new(Value::String(s.clone()))),
                    None => return Err("reflect: slice index out of range".into()),
                }
            }
            Value::String(_) | Value::Number(_) | Value::Bytes(_) => {
                let s = str_of(v);
                let x = index_arg(idx, s.len())?;
                match s.get(x) {
                    Some(&b) => Slot::val(Value::Uint(u64::from(b))),
                    None => return Err("reflect: string index out of range".into()),
                }
            }
            Value::AnyMap(entries) => match Value::any_map_get(entries, idx) {
                Some((i, _)) => Slot::Iface(ptr.entry(i)),
                None => Slot::Iface(Ptr::new(Value::Nil)),
            },
            Value::StringMap(m) => {
                let key = match idx {
                    Value::Nil => String::new(),
                    Value::String(k) => k.clone(),
                    other => {
                        return Err(format!(
                            "value has type {}; should be string",
                            other.go_type()
                        ));
                    }
                };
                // A missing key gives the element type's zero value.
                let item = m.get(&key).cloned().unwrap_or_default();
                Slot::Val(Ptr::new(Value::String(item)))
            }
            Value::Map(_) | Value::NilMap => {
                let key = match idx {
                    Value::Nil => String::new(),
                    Value::String(k) => k.clone(),
                    other => {
                        return Err(format!(
                            "value has type {}; should be string",
                            other.go_type()
                        ));
                    }
                };
                match v {
                    Value::Map(m) if m.contains_key(&key) => Slot::Iface(ptr.key(&key)),
                    _ => Slot::Iface(Ptr::new(Value::Nil)),
                }
            }
            Value::Struct(s) => return Err(format!("can't index item of type {}", s.type_name)),
            other => return Err(format!("can't index item of type {}", other.go_type())),
        };
    }
    Ok(cur)
}

fn slice(item: &Slot, indexes: &[Slot]) -> Result<Slot, String> {
    let v = item.value();
    if v.is_nil() {
        return Err("slice of untyped nil".into());
    }
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match v {
        Value::String(_) | Value::Number(_) | Value::Bytes(_) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            str_of(v).len()
        }
        Value::List(items) => items.len(),
        Value::Strings(items) => items.len(),
        Value::NilStrings => 0,
        Value::Struct(s) => return Err(format!("can't slice item of type {}", s.type_name)),
        other => return Err(format!("can't slice item of type {}", other.go_type())),
    };
    let mut idx = [0usize, len, len];
    for (i, index) in indexes.iter().enumerate() {
        idx[i] = index_arg(index.value(), len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(match v {
        // Cutting inside a character leaves bytes that are not UTF-8.
        Value::String(_) | Value::Bytes(_) => {
            Slot::val(Value::from_bytes(str_of(v)[idx[0]..idx[1]].to_vec()))
        }
        Value::Number(s) => Slot::val(Value::Number(byte_slice(s, idx[0], idx[1]))),
        Value::List(items) => Slot::val(Value::List(items[idx[0]..idx[1]].to_vec())),
        Value::Strings(items) => Slot::val(Value::Strings(items[idx[0]..idx[1]].to_vec())),
        Value::NilStrings => Slot::val(Value::NilStrings),
        _ => Slot::Invalid,
    })
}

/// Bytes `from..to` of a `json.Number` (ASCII in practice; a cut inside a
/// character yields U+FFFD).
fn byte_slice(s: &str, from: usize, to: usize) -> String {
    match s.get(from..to) {
        Some(part) => part.to_string(),
        None => String::from_utf8_lossy(&s.as_bytes()[from..to]).into_owned(),
    }
}

// ---- escapers ------------------------------------------------------------

/// `fmt.Sprint` of the arguments as an action prints them (`<no value>`
/// for nil, structs through their pointer); one string is used as is.
pub(crate) fn eval_args(args: &[Slot]) -> String {
    if let [one] = args
        && let Value::String(s) = one.value()
    {
        return s.clone();
    }
    let no_value = Value::String("<no value>".into());
    let prepared: Vec<Arg<'_>> = args
        .iter()
        .map(|a| match a.value() {
            Value::Nil => Arg::Val(&no_value),
            Value::Struct(s) if s.fields.is_some() => Arg::Deref(s),
            other => Arg::Val(other),
        })
        .collect();
    gofmt::sprint_args(&prepared)
}

/// Go's `template.HTMLEscapeString`.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub(crate) fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if c < ' ' => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c if c.is_ascii() => out.push(c),
            c if quote::is_print(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", u32::from(c))),
        }
    }
    out
}

/// Go's `url.QueryEscape`: unreserved characters kept, space as `+`,
/// everything else `%XX`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::decode_json;

    fn v(value: Value) -> Slot {
        Slot::val(value)
    }

    #[test]
    fn truth_follows_go() {
        assert!(!is_true(&Value::Int(0)));
        assert!(is_true(&Value::String("x".into())));
        assert!(!is_true(&Value::Number(String::new())));
        assert!(!is_true(&Value::NilMap));
        assert!(!is_true(&decode_json("[]").unwrap()));
    }

    #[test]
    fn eq_compares_json_numbers_as_text() {
        let n = v(Value::Number("3".into()));
        assert_eq!(eq(&n, &[v(Value::String("3".into()))]), Ok(true));
        assert_eq!(
            eq(&n, &[v(Value::Int(3))]),
            Err("incompatible types for comparison: json.Number and int".into())
        );
    }

    #[test]
    fn eq_with_several_arguments_is_any_of() {
        let a = v(Value::Int(2));
        assert_eq!(eq(&a, &[v(Value::Int(1)), v(Value::Int(2))]), Ok(true));
    }

    #[test]
    fn eq_int_with_float_is_incompatible() {
        assert_eq!(
            eq(&v(Value::Int(1)), &[v(Value::Float(1.0))]),
            Err("incompatible types for comparison: int and float64".into())
        );
    }

    #[test]
    fn eq_nil_against_value_is_false() {
        assert_eq!(eq(&Slot::Invalid, &[v(Value::Int(1))]), Ok(false));
        assert_eq!(eq(&Slot::Invalid, &[Slot::Invalid]), Ok(true));
    }

    #[test]
    fn lists_are_not_comparable() {
        let l = v(decode_json("[1]").unwrap());
        let err = eq(&l, std::slice::from_ref(&l)).unwrap_err();
        assert!(err.starts_with("non-comparable type"), "{err}");
        assert!(!err.contains('1'));
    }

    #[test]
    fn lt_on_strings_and_mixed_ints() {
        assert_eq!(
            lt(&v(Value::String("a".into())), &v(Value::String("b".into()))),
            Ok(true)
        );
        assert_eq!(lt(&v(Value::Int(-1)), &v(Value::Uint(0))), Ok(true));
        assert_eq!(
            lt(&v(Value::Bool(true)), &v(Value::Bool(false))),
            Err("invalid type for comparison".into())
        );
    }

    #[test]
    fn index_reaches_maps_lists_and_strings() {
        let m = v(decode_json(r#"{"api-key":[10,20]}"#).unwrap());
        let got = index(&m, &[v(Value::String("api-key".into())), v(Value::Int(1))]).unwrap();
        assert_eq!(got.value(), &Value::Number("20".into()));
        let got = index(&v(Value::String("abc".into())), &[v(Value::Int(0))]).unwrap();
        assert_eq!(got.value(), &Value::Uint(97));
    }

    #[test]
    fn index_errors_like_go() {
        let l = v(decode_json("[1,2]").unwrap());
        assert_eq!(
            index(&l, &[v(Value::Int(2))]).unwrap_err(),
            "reflect: slice index out of range"
        );
        assert_eq!(
            index(&l, &[v(Value::Int(3))]).unwrap_err(),
            "index out of range: 3"
        );
        assert_eq!(
            index(&Slot::Invalid, &[]).unwrap_err(),
            "index of untyped nil"
        );
        let m = v(decode_json("{}").unwrap());
        assert_eq!(
            index(&m, &[v(Value::Int(1))]).unwrap_err(),
            "value has type int; should be string"
        );
    }

    #[test]
    fn missing_map_key_indexes_to_nil() {
        let m = v(decode_json(r#"{"a":1}"#).unwrap());
        let got = index(&m, &[v(Value::String("b".into()))]).unwrap();
        assert!(got.value().is_nil());
    }

    #[test]
    fn slice_strings_and_lists() {
        let s = v(Value::String("hello".into()));
        let got = slice(&s, &[v(Value::Int(1)), v(Value::Int(3))]).unwrap();
        assert_eq!(got.value(), &Value::String("el".into()));
        let l = v(decode_json("[1,2,3]").unwrap());
        let got = slice(&l, &[v(Value::Int(1))]).unwrap();
        assert_eq!(got.value(), &decode_json("[2,3]").unwrap());
        assert_eq!(
            slice(&l, &[v(Value::Int(2)), v(Value::Int(1))]).unwrap_err(),
            "invalid slice index: 2 > 1"
        );
    }

    #[test]
    fn len_of_various() {
        assert_eq!(length(&v(Value::String("héllo".into()))), Ok(6));
        assert_eq!(length(&v(Value::Int(3))), Err("len of type int".into()));
        assert_eq!(
            length(&Slot::Iface(Ptr::new(Value::Nil))),
            Err("len of nil pointer".into())
        );
    }

    #[test]
    fn escapers_match_go() {
        assert_eq!(
            html_escape("<a href='x'>&\"\0"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&#34;\u{FFFD}"
        );
        assert_eq!(
            js_escape("a'b\"c<d>&=\\\n\u{2028}é"),
            "a\\'b\\\"c\\u003Cd\\u003E\\u0026\\u003D\\\\\\u000A\\u2028é"
        );
        assert_eq!(query_escape("a b&c=d/é~"), "a+b%26c%3Dd%2F%C3%A9~");
    }

    #[test]
    fn eval_args_prints_nil_as_no_value() {
        assert_eq!(eval_args(&[Slot::Invalid]), "<no value>");
        assert_eq!(eval_args(&[v(Value::Int(1)), v(Value::Int(2))]), "1 2");
    }
}
