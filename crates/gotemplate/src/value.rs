//! The values a Go template sees: what Go's JSON decoder (with
//! `UseNumber()`) puts in an `interface{}`, plus the numbers a template
//! computes itself; and how `fmt` and `text/template` print them.

use std::collections::BTreeMap;
use std::fmt::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use super::float;

pub use super::decode::{JsonError, JsonErrorKind, decode_json, decode_json_bytes};

/// A Go value held in an `interface{}`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A nil interface (JSON `null`).
    Nil,
    /// A `bool`.
    Bool(bool),
    /// A `json.Number`: a string type that keeps the literal text (`1.50`).
    Number(String),
    /// A `string`.
    String(String),
    /// A `string` whose bytes are not UTF-8 (`base64Decode` of binary
    /// data). It is written to the output as is; most functions refuse it.
    Bytes(Vec<u8>),
    /// A `[]interface{}`.
    List(Vec<Value>),
    /// A `[]string` (`split`, `secrets`, a secret's `Warnings`): prints and
    /// encodes like a list of strings, but Go keeps the two types apart
    /// (`join` takes only `[]string`).
    Strings(Vec<String>),
    /// A nil `[]string`: prints `[]` but encodes as JSON `null` (a secret's
    /// `Warnings` when there were none).
    NilStrings,
    /// A `map[string]interface{}`; Go prints and encodes it in key order.
    Map(BTreeMap<String, Value>),
    /// An `int` (Go's `int` is 64 bits on the platforms that matter).
    Int(i64),
    /// An `int64`, as `parseInt` and `json.Number.Int64` return; it prints
    /// like an `int` but its type name differs and it is not an `int`
    /// argument.
    Int64(i64),
    /// A `uint64`.
    Uint(u64),
    /// A `float64`.
    Float(f64),
    /// A pointer to a Go struct (`*dependency.Secret`): fields are looked up
    /// by exact name, unlike map keys reached through a missing-key rule.
    Struct(Box<GoStruct>),
    /// A nil `map[string]interface{}`: prints `map[]` like an empty map but
    /// encodes as JSON `null` (a secret's `.Data` when the response had none).
    NilMap,
    /// A `map[string]string` (`splitToMap`): a missing key reads as `""`,
    /// the zero value of its element type, and it is no
    /// `map[string]interface{}` argument.
    StringMap(BTreeMap<String, String>),
    /// A `complex128`, from an imaginary constant (`1i`, `1+2i`).
    Complex(f64, f64),
    /// A `<-chan int64` (what `loop` returns).
    Chan(GoChan),
    /// A `map[interface{}]interface{}` (what `parseYAML` builds): keys are
    /// scalars of any type, kept in the order Go's `fmt` and `range` visit
    /// them (see [`any_key_order`]); build it with [`Value::any_map`].
    AnyMap(Vec<(Value, Value)>),
}

/// A receive-only channel of `int64` that yields `start..stop`, each
/// value once to whichever `range` receives it first: copies are the same
/// channel (equal only to themselves), a `range` that breaks leaves the
/// rest for the next one, and nothing is allocated for the values.
#[derive(Debug, Clone)]
pub struct GoChan(Arc<ChanState>);

#[derive(Debug)]
struct ChanState {
    next: AtomicI64,
    stop: i64,
}

impl GoChan {
    /// A channel that yields `start`, `start + 1`, ... up to `stop`
    /// (excluded), then is closed.
    pub fn counting(start: i64, stop: i64) -> GoChan {
        GoChan(Arc::new(ChanState {
            next: AtomicI64::new(start),
            stop,
        }))
    }

    /// The next value; `None` once the channel is drained.
    pub fn recv(&self) -> Option<i64> {
        let state = &self.0;
        state
            .next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < state.stop).then_some(n + 1)
            })
            .ok()
    }
}

impl PartialEq for GoChan {
    fn eq(&self, other: &GoChan) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// What Go prints for a channel or other reference it formats as an
/// address: addresses differ from run to run, so a fixed stand-in.
pub const ADDRESS: &str = "0xc000010000";

/// A pointer to a struct, as `text/template` sees `*dependency.Secret`,
/// or a struct held by value (`dependency.PemEncoded`).
#[derive(Debug, Clone, PartialEq)]
pub struct GoStruct {
    /// The struct's Go type name without the pointer star (`dependency.Secret`).
    pub type_name: String,
    /// Exported fields in declaration order; `None` is a typed nil pointer.
    pub fields: Option<Vec<(String, Value)>>,
    /// A struct value rather than a pointer: `%v` prints no `&`, `%T` no `*`.
    pub by_value: bool,
}

impl GoStruct {
    /// A non-nil pointer to a struct with these fields.
    pub fn new(type_name: impl Into<String>, fields: Vec<(String, Value)>) -> GoStruct {
        GoStruct {
            type_name: type_name.into(),
            fields: Some(fields),
            by_value: false,
        }
    }

    /// A struct value (not a pointer) with these fields.
    pub fn value(type_name: impl Into<String>, fields: Vec<(String, Value)>) -> GoStruct {
        GoStruct {
            type_name: type_name.into(),
            fields: Some(fields),
            by_value: true,
        }
    }

    /// A nil pointer of type `*type_name`.
    pub fn nil(type_name: impl Into<String>) -> GoStruct {
        GoStruct {
            type_name: type_name.into(),
            fields: None,
            by_value: false,
        }
    }

    /// The field named exactly `name`, if the pointer is non-nil and has it.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields
            .as_ref()?
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value)
    }
}

/// The order in which the agent's Go visits the keys of a
/// `map[interface{}]interface{}`: nil first, then by dynamic type (in the
/// order of the types' addresses in its binary: string, uint64, int,
/// float64, bool), then by value.
pub fn any_key_order(a: &Value, b: &Value) -> std::cmp::Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Nil => 0,
            Value::String(_) | Value::Bytes(_) => 1,
            Value::Uint(_) => 2,
            Value::Int(_) | Value::Int64(_) => 3,
            Value::Float(_) => 4,
            Value::Bool(_) => 5,
            _ => 6,
        }
    }
    fn bytes(v: &Value) -> &[u8] {
        match v {
            Value::String(s) => s.as_bytes(),
            Value::Bytes(b) => b,
            _ => &[],
        }
    }
    rank(a).cmp(&rank(b)).then_with(|| match (a, b) {
        (Value::String(_) | Value::Bytes(_), Value::String(_) | Value::Bytes(_)) => {
            bytes(a).cmp(bytes(b))
        }
        (Value::Uint(x), Value::Uint(y)) => x.cmp(y),
        (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x.cmp(y),
        (Value::Float(x), Value::Float(y)) => x.total_cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => std::cmp::Ordering::Equal,
    })
}

impl Value {
    /// A `map[interface{}]interface{}` of these entries; a later entry
    /// replaces an earlier one with an equal key.
    pub fn any_map(entries: Vec<(Value, Value)>) -> Value {
        let mut entries = entries;
        // Stable: of equal keys, the one given last ends up last.
        entries.sort_by(|a, b| any_key_order(&a.0, &b.0));
        let mut out: Vec<(Value, Value)> = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            match out.last_mut() {
                Some(last) if last.0 == key => last.1 = value,
                _ => out.push((key, value)),
            }
        }
        Value::AnyMap(out)
    }

    /// The position and value of the `map[interface{}]interface{}` entry
    /// whose key equals `key`.
    pub fn any_map_get<'a>(
        entries: &'a [(Value, Value)],
        key: &Value,
    ) -> Option<(usize, &'a Value)> {
        let i = entries
            .binary_search_by(|(k, _)| any_key_order(k, key))
            .ok()?;
        let (k, v) = &entries[i];
        (k == key).then_some((i, v))
    }

    /// A Go string from bytes: [`Value::String`] when they are UTF-8,
    /// [`Value::Bytes`] otherwise.
    pub fn from_bytes(bytes: Vec<u8>) -> Value {
        match String::from_utf8(bytes) {
            Ok(text) => Value::String(text),
            Err(e) => Value::Bytes(e.into_bytes()),
        }
    }

    /// Whether this is a nil interface.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// How many values this one holds, itself included: the cost of
    /// copying it, for execution budgets.
    pub fn node_count(&self) -> u64 {
        match self {
            Value::List(items) => 1 + items.iter().map(Value::node_count).sum::<u64>(),
            Value::Strings(items) => 1 + items.len() as u64,
            Value::Map(members) => 1 + members.values().map(Value::node_count).sum::<u64>(),
            Value::StringMap(members) => 1 + members.len() as u64,
            Value::AnyMap(entries) => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.node_count() + v.node_count())
                    .sum::<u64>()
            }
            Value::Struct(s) => {
                1 + s
                    .fields
                    .iter()
                    .flatten()
                    .map(|(_, v)| v.node_count())
                    .sum::<u64>()
            }
            _ => 1,
        }
    }

    /// The Go type `fmt`'s `%T` prints for this value (`<nil>` for nil).
    pub fn go_type(&self) -> String {
        match self {
            Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Number(_) => "json.Number".into(),
            Value::String(_) | Value::Bytes(_) => "string".into(),
            Value::List(_) => "[]interface {}".into(),
            Value::Strings(_) | Value::NilStrings => "[]string".into(),
            Value::Map(_) | Value::NilMap => "map[string]interface {}".into(),
            Value::StringMap(_) => "map[string]string".into(),
            Value::Complex(..) => "complex128".into(),
            Value::AnyMap(_) => "map[interface {}]interface {}".into(),
            Value::Chan(_) => "<-chan int64".into(),
            Value::Int(_) => "int".into(),
            Value::Int64(_) => "int64".into(),
            Value::Uint(_) => "uint64".into(),
            Value::Float(_) => "float64".into(),
            Value::Struct(s) if s.by_value => s.type_name.clone(),
            Value::Struct(s) => format!("*{}", s.type_name),
        }
    }
}

/// Prints like Go's `%v` (see [`write_v`]).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        write_v(&mut text, self);
        f.write_str(&text)
    }
}

/// Go's `fmt.Sprint(x)` (the `%v` verb) of a value in an `interface{}`.
pub fn format_v(value: &Value) -> String {
    let mut out = String::new();
    write_v(&mut out, value);
    out
}

/// Appends Go's `%v` of `value`: `map[a:1 b:[x y]]`, `<nil>` for nil,
/// strings and `json.Number`s as their raw text.
pub fn write_v(out: &mut String, value: &Value) {
    match value {
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(text) | Value::String(text) => out.push_str(text),
        // Text output cannot hold these bytes; the engine writes them raw.
        Value::Bytes(bytes) => out.push_str(&String::from_utf8_lossy(bytes)),
        Value::List(items) => write_list_v(out, items),
        Value::Strings(items) => {
            out.push('[');
            out.push_str(&items.join(" "));
            out.push(']');
        }
        Value::Map(members) => write_map_v(out, members),
        Value::Int(i) | Value::Int64(i) => push_display(out, i),
        Value::Uint(u) => push_display(out, u),
        Value::Float(f) => float::write_go_g(out, *f),
        Value::Struct(s) => {
            if s.fields.is_some() && !s.by_value {
                out.push('&');
            }
            write_struct_v(out, s);
        }
        Value::NilMap => out.push_str("map[]"),
        Value::NilStrings => out.push_str("[]"),
        Value::StringMap(members) => {
            out.push_str("map[");
            for (i, (key, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(key);
                out.push(':');
                out.push_str(item);
            }
            out.push(']');
        }
        Value::Complex(re, im) => write_complex_v(out, *re, *im),
        Value::Chan(_) => out.push_str(ADDRESS),
        Value::AnyMap(entries) => {
            out.push_str("map[");
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_v(out, key);
                out.push(':');
                write_v(out, item);
            }
            out.push(']');
        }
    }
}

/// Go's `%v` of a `complex128`: `(1+2i)`, each part as `%g` would print
/// it, the imaginary one always signed.
fn write_complex_v(out: &mut String, re: f64, im: f64) {
    out.push('(');
    float::write_go_g(out, re);
    if !im.is_sign_negative() && !im.is_nan() {
        out.push('+');
    }
    float::write_go_g(out, im);
    out.push_str("i)");
}

/// Appends a struct's `%v` without the pointer's `&`: `{a b <nil>}`, or
/// `<nil>` for a nil pointer.
fn write_struct_v(out: &mut String, s: &GoStruct) {
    let Some(fields) = &s.fields else {
        out.push_str("<nil>");
        return;
    };
    out.push('{');
    for (i, (_, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_v(out, value);
    }
    out.push('}');
}

/// What `{{ x }}` in Go's `text/template` prints for `x` (see
/// [`write_for_template`]).
pub fn print_for_template(value: &Value) -> String {
    let mut out = String::new();
    write_for_template(&mut out, value);
    out
}

/// Appends what an action `{{ x }}` prints. The template engine unwraps an
/// `interface{}` result before printing, so a nil interface at the top
/// (a variable, field, map entry or pipeline result) prints `<no value>`;
/// nil nested inside a map or list is printed by `fmt` as `<nil>`. A
/// pointer to a struct is printed through (`{...}`, no `&`).
pub fn write_for_template(out: &mut String, value: &Value) {
    match value {
        Value::Nil => out.push_str("<no value>"),
        Value::Struct(s) => write_struct_v(out, s),
        other => write_v(out, other),
    }
}

fn write_list_v(out: &mut String, items: &[Value]) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_v(out, item);
    }
    out.push(']');
}

fn write_map_v(out: &mut String, members: &BTreeMap<String, Value>) {
    out.push_str("map[");
    for (i, (key, item)) in members.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(key);
        out.push(':');
        write_v(out, item);
    }
    out.push(']');
}

fn push_display(out: &mut String, value: impl fmt::Display) {
    // Writing to a String cannot fail.
    let _ = write!(out, "{value}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(text: &str) -> Value {
        decode_json(text).expect("test JSON is valid")
    }

    #[test]
    fn nil_inside_map_prints_nil() {
        assert_eq!(format_v(&decoded(r#"{"k":null}"#)), "map[k:<nil>]");
    }

    #[test]
    fn nil_inside_list_prints_nil() {
        assert_eq!(format_v(&decoded("[null]")), "[<nil>]");
    }

    #[test]
    fn top_level_nil_prints_nil_for_fmt() {
        assert_eq!(format_v(&Value::Nil), "<nil>");
    }

    #[test]
    fn top_level_nil_prints_no_value_in_a_template() {
        assert_eq!(print_for_template(&Value::Nil), "<no value>");
    }

    #[test]
    fn template_printing_of_non_nil_is_fmt_printing() {
        let value = decoded(r#"{"a":[null,1]}"#);
        assert_eq!(print_for_template(&value), "map[a:[<nil> 1]]");
    }

    #[test]
    fn map_keys_print_sorted_with_nested_values() {
        // As the agent printed `{{ .Data.nested }}` for this object.
        let value = decoded(r#"{"z":[1,"a",null,true],"b":[],"a":{}}"#);
        assert_eq!(format_v(&value), "map[a:map[] b:[] z:[1 a <nil> true]]");
    }

    #[test]
    fn deeply_nested_containers_print_like_go() {
        let value = decoded(r#"[[1,2],[],{"k":null},{"x":{"y":{"z":[null]}}}]"#);
        assert_eq!(
            format_v(&value),
            "[[1 2] [] map[k:<nil>] map[x:map[y:map[z:[<nil>]]]]]"
        );
    }

    #[test]
    fn json_number_prints_its_literal_text() {
        for literal in ["1.50", "1E5", "1.5e-7", "-0", "12345678901234567890"] {
            assert_eq!(format_v(&decoded(literal)), literal);
        }
    }

    #[test]
    fn strings_print_raw() {
        assert_eq!(
            format_v(&Value::String("p@ss w\"ord <a>&\n".into())),
            "p@ss w\"ord <a>&\n"
        );
    }

    #[test]
    fn empty_string_prints_nothing() {
        assert_eq!(format_v(&decoded(r#"{"e":""}"#)), "map[e:]");
    }

    #[test]
    fn strings_with_spaces_are_not_quoted_in_lists() {
        assert_eq!(format_v(&decoded(r#"["a b","c"]"#)), "[a b c]");
    }

    #[test]
    fn booleans_print_as_words() {
        assert_eq!(format_v(&Value::Bool(true)), "true");
        assert_eq!(format_v(&Value::Bool(false)), "false");
    }

    #[test]
    fn integers_print_in_decimal() {
        assert_eq!(format_v(&Value::Int(-42)), "-42");
        assert_eq!(format_v(&Value::Uint(u64::MAX)), "18446744073709551615");
    }

    #[test]
    fn floats_print_in_shortest_g_form() {
        assert_eq!(format_v(&Value::Float(1e6)), "1e+06");
        assert_eq!(format_v(&Value::Float(0.1 + 0.2)), "0.30000000000000004");
        assert_eq!(format_v(&Value::List(vec![Value::Float(1e-5)])), "[1e-05]");
    }

    #[test]
    fn display_is_fmt_printing() {
        let value = decoded(r#"{"a":[1,null]}"#);
        assert_eq!(value.to_string(), format_v(&value));
    }

    #[test]
    fn only_nil_is_nil() {
        assert!(Value::Nil.is_nil());
        assert!(!Value::String(String::new()).is_nil());
    }
}
