//! The conversions sprig's `interface{}` functions apply to their
//! arguments: `strval` (`fmt.Sprint` with `Stringer`s), `spf13/cast`
//! v1.5.1's `ToInt64`/`ToInt`/`ToFloat64`, `empty`, and the reflect kind
//! and type names sprig puts in its messages.

use gotemplate::strconv::{parse_float, parse_int};
use gotemplate::value::{Value, format_v};

/// sprig's `strval`: strings as they are, everything else as `%v`.
pub(crate) fn strval(v: &Value) -> String {
    match v {
        Value::String(s) | Value::Number(s) => s.clone(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => sprint_v(other),
    }
}

/// What the `String` method of a time or a semantic version gives (the
/// engine knows no methods, so `fmt` would print their fields instead).
pub(crate) fn stringer(v: &Value) -> Option<String> {
    let Value::Struct(s) = v else {
        return None;
    };
    if s.type_name == super::date::TIME_TYPE {
        let t = super::date::instant_of(v)?;
        return Some(crate::gotime::format(
            t,
            "2006-01-02 15:04:05.999999999 -0700 MST",
        ));
    }
    if s.type_name == super::semver::VERSION_TYPE {
        let field = |name: &str| s.field(name).map(format_v).unwrap_or_default();
        let mut text = format!("{}.{}.{}", field("Major"), field("Minor"), field("Patch"));
        for (sep, name) in [('-', "Prerelease"), ('+', "Metadata")] {
            let part = field(name);
            if !part.is_empty() {
                text.push(sep);
                text.push_str(&part);
            }
        }
        return Some(text);
    }
    None
}

/// `fmt.Sprintf("%v", v)`, calling the `String` method of times and
/// versions as Go does.
pub(crate) fn sprint_v(v: &Value) -> String {
    stringer(v).unwrap_or_else(|| format_v(v))
}

/// Go's `int64(f)` on amd64: NaN and out-of-range values give the
/// "integer indefinite" `math.MinInt64`.
pub(crate) fn f64_to_i64(f: f64) -> i64 {
    // 2^63 is exact as a float; the valid range is [-2^63, 2^63).
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() || !(-LIMIT..LIMIT).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// cast's `trimZeroDecimal`: `"12.000"` reads as `"12"`.
fn trim_zero_decimal(s: &str) -> &str {
    let b = s.as_bytes();
    let mut found_zero = false;
    for i in (1..=b.len()).rev() {
        match b[i - 1] {
            b'.' => {
                if found_zero {
                    return &s[..i - 1];
                }
            }
            b'0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

/// `cast.ToInt64E`: `None` where cast fails (and `ToInt64` gives 0).
pub(crate) fn to_int64_e(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) | Value::Int64(i) => Some(*i),
        Value::Uint(u) => Some(*u as i64),
        Value::Float(f) => Some(f64_to_i64(*f)),
        Value::String(s) | Value::Number(s) => parse_int(trim_zero_decimal(s), 0, 0).ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        Value::Nil => Some(0),
        _ => None,
    }
}

/// `cast.ToInt64`.
pub(crate) fn to_int64(v: &Value) -> i64 {
    to_int64_e(v).unwrap_or(0)
}

/// `cast.ToInt` (Go's `int` is 64 bits here).
pub(crate) fn to_int(v: &Value) -> i64 {
    to_int64(v)
}

/// `cast.ToFloat64`.
pub(crate) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Uint(u) => *u as f64,
        Value::Float(f) => *f,
        Value::String(s) | Value::Number(s) => parse_float(s).unwrap_or(0.0),
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => 0.0,
    }
}

/// sprig's `empty`: the zero value of its type (nil, 0, false, empty
/// string, list or map, a nil pointer); structs are never empty.
pub(crate) fn empty(v: &Value) -> bool {
    match v {
        Value::Nil | Value::NilMap | Value::NilStrings => true,
        Value::Bool(b) => !b,
        Value::Number(s) | Value::String(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Strings(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::Int(i) | Value::Int64(i) => *i == 0,
        Value::Uint(u) => *u == 0,
        Value::Float(f) => *f == 0.0,
        Value::Struct(s) => s.fields.is_none() && s.type_name != super::date::TIME_TYPE,
        Value::StringMap(m) => m.is_empty(),
        Value::AnyMap(m) => m.is_empty(),
        Value::Complex(re, im) => *re == 0.0 && *im == 0.0,
        // reflect's Len of a channel counts what is buffered: nothing here.
        Value::Chan(_) => true,
    }
}

/// `reflect.Kind.String()` of a value; `None` for a nil interface (where
/// Go's `reflect.TypeOf(v).Kind()` dereferences nil).
pub(crate) fn kind(v: &Value) -> Option<&'static str> {
    Some(match v {
        Value::Nil => return None,
        Value::Bool(_) => "bool",
        Value::Number(_) | Value::String(_) | Value::Bytes(_) => "string",
        Value::List(_) | Value::Strings(_) | Value::NilStrings => "slice",
        Value::Map(_) | Value::NilMap => "map",
        Value::Int(_) => "int",
        Value::Int64(_) => "int64",
        Value::Uint(_) => "uint64",
        Value::Float(_) => "float64",
        Value::Struct(s) if s.type_name == super::date::TIME_TYPE => "struct",
        Value::Struct(_) => "ptr",
        Value::StringMap(_) | Value::AnyMap(_) => "map",
        Value::Complex(..) => "complex128",
        Value::Chan(_) => "chan",
    })
}

/// `fmt.Sprintf("%T", v)`.
pub(crate) fn type_name(v: &Value) -> String {
    match v {
        Value::Struct(s) if s.type_name == super::date::TIME_TYPE => s.type_name.clone(),
        Value::Struct(s) if s.type_name == super::crypto::CERT_TYPE => s.type_name.clone(),
        other => other.go_type(),
    }
}

/// What Go's runtime says when sprig calls `reflect.TypeOf(nil).Kind()`.
pub(crate) const NIL_DEREF: &str =
    "runtime error: invalid memory address or nil pointer dereference";

/// The elements of a slice or array value, as `reflect.Value.Index`
/// hands them out; `None` for other kinds.
pub(crate) fn elements(v: &Value) -> Option<Vec<Value>> {
    match v {
        Value::List(l) => Some(l.clone()),
        Value::Strings(l) => Some(l.iter().cloned().map(Value::String).collect()),
        Value::NilStrings => Some(Vec::new()),
        _ => None,
    }
}

/// The length of a slice value without copying it.
pub(crate) fn slice_len(v: &Value) -> Option<usize> {
    match v {
        Value::List(l) => Some(l.len()),
        Value::Strings(l) => Some(l.len()),
        Value::NilStrings => Some(0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cast_reads_prefixed_and_decimal_strings() {
        assert_eq!(to_int64(&Value::String("0x1F".into())), 31);
        assert_eq!(to_int64(&Value::String("12.000".into())), 12);
        assert_eq!(to_int64(&Value::String("12.5".into())), 0);
        assert_eq!(to_int64(&Value::String("1_000".into())), 1000);
        assert_eq!(to_int64(&Value::Float(-2.9)), -2);
        assert_eq!(to_int64(&Value::Float(f64::NAN)), i64::MIN);
    }

    #[test]
    fn cast_float_reads_strings_and_bools() {
        assert_eq!(to_float64(&Value::String("1.5".into())), 1.5);
        assert_eq!(to_float64(&Value::String("x".into())), 0.0);
        assert_eq!(to_float64(&Value::Bool(true)), 1.0);
    }

    #[test]
    fn trailing_zero_decimals_are_trimmed_only_after_a_zero() {
        assert_eq!(trim_zero_decimal("10.0"), "10");
        assert_eq!(trim_zero_decimal("10."), "10.");
        assert_eq!(trim_zero_decimal("1.50"), "1.50");
    }
}
