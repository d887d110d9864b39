//! Go's `encoding/json` output for [`Value`]s, as consul-template's
//! `toJSON`, `toJSONPretty`, `toUnescapedJSON` and `toUnescapedJSONPretty`
//! produce it.

use std::collections::BTreeMap;
use std::fmt::{self, Write};

use super::decode::is_valid_number;
use super::float;
use super::value::Value;

/// A value Go's JSON encoder refuses.
#[derive(Debug, Clone, PartialEq)]
pub enum MarshalError {
    /// NaN or an infinity (Go: `json: unsupported value: +Inf`).
    UnsupportedFloat(f64),
    /// A `json.Number` whose text is not a JSON number.
    InvalidNumber,
    /// A type JSON has no form for (`complex128`).
    UnsupportedType(&'static str),
    /// A `map[interface{}]interface{}` key that is neither a string nor an
    /// integer, reported as the agent's encoder does: within the object
    /// at the JSON pointer (none at the top), after a byte offset.
    NonStringKey {
        /// JSON pointer of the object being written.
        within: Option<String>,
        /// Byte offset in the output.
        offset: usize,
    },
}

impl fmt::Display for MarshalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MarshalError::UnsupportedFloat(x) => {
                let mut text = String::new();
                float::write_go_g(&mut text, *x);
                write!(f, "json: unsupported value: {text}")
            }
            // Go quotes the literal here; it is left out as it may be secret.
            MarshalError::InvalidNumber => f.write_str("json: invalid number literal"),
            MarshalError::UnsupportedType(t) => write!(f, "json: unsupported type: {t}"),
            MarshalError::NonStringKey { within, offset } => {
                f.write_str(
                    "json: unsupported value: jsontext: object member name must be a string",
                )?;
                if let Some(pointer) = within {
                    write!(f, " within {}", crate::quote::quote(pointer, false))?;
                }
                write!(f, " after offset {offset}")
            }
        }
    }
}

impl std::error::Error for MarshalError {}

/// How to lay out the JSON text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonStyle {
    /// Write `<`, `>` and `&` as `\u003c`, `\u003e`, `\u0026` (Go's default).
    pub escape_html: bool,
    /// Indent with two spaces per level, one member per line.
    pub pretty: bool,
}

impl JsonStyle {
    /// `json.Marshal`, used by `toJSON`.
    pub const COMPACT: JsonStyle = JsonStyle {
        escape_html: true,
        pretty: false,
    };
    /// `json.MarshalIndent(v, "", "  ")`, used by `toJSONPretty`.
    pub const PRETTY: JsonStyle = JsonStyle {
        escape_html: true,
        pretty: true,
    };
    /// An encoder with HTML escaping off, used by `toUnescapedJSON`.
    pub const UNESCAPED: JsonStyle = JsonStyle {
        escape_html: false,
        pretty: false,
    };
    /// The same with two-space indent, used by `toUnescapedJSONPretty`.
    pub const UNESCAPED_PRETTY: JsonStyle = JsonStyle {
        escape_html: false,
        pretty: true,
    };
}

/// Go's `json.Marshal` (consul-template's `toJSON`): sorted keys, no spaces.
pub fn to_json(value: &Value) -> Result<String, MarshalError> {
    to_json_styled(value, JsonStyle::COMPACT)
}

/// Go's `json.MarshalIndent(v, "", "  ")` (`toJSONPretty`).
pub fn to_json_pretty(value: &Value) -> Result<String, MarshalError> {
    to_json_styled(value, JsonStyle::PRETTY)
}

/// `toUnescapedJSON`: `<>&` kept as is. consul-template trims the newline
/// Go's encoder appends, so none is added here.
pub fn to_unescaped_json(value: &Value) -> Result<String, MarshalError> {
    to_json_styled(value, JsonStyle::UNESCAPED)
}

/// `toUnescapedJSONPretty`: indented, `<>&` kept as is, no final newline.
pub fn to_unescaped_json_pretty(value: &Value) -> Result<String, MarshalError> {
    to_json_styled(value, JsonStyle::UNESCAPED_PRETTY)
}

/// Encodes `value` in the given style into a new string.
pub fn to_json_styled(value: &Value, style: JsonStyle) -> Result<String, MarshalError> {
    let mut out = String::new();
    write_json(&mut out, value, style)?;
    Ok(out)
}

/// Appends the JSON encoding of `value`. On error `out` may hold a partial
/// encoding, which callers discard (Go returns no output either).
pub fn write_json(out: &mut String, value: &Value, style: JsonStyle) -> Result<(), MarshalError> {
    Encoder {
        out,
        style,
        depth: 0,
    }
    .value(value)
}

/// Appends `text` as a JSON string literal, escaped as Go does.
pub fn write_json_string(out: &mut String, text: &str, escape_html: bool) {
    out.push('"');
    let bytes = text.as_bytes();
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let Some((escape, width)) = escape_at(bytes, i, escape_html) else {
            i += 1;
            continue;
        };
        // Escapes start at ASCII bytes or at the lead byte of U+2028/9, so
        // both slice ends fall on character boundaries.
        out.push_str(&text[copied..i]);
        match escape {
            Escape::Short(short) => out.push_str(short),
            Escape::Unicode(b) => push_unicode_escape(out, b),
        }
        i += width;
        copied = i;
    }
    out.push_str(&text[copied..]);
    out.push('"');
}

/// Appends a Go string that is not UTF-8 as a JSON string: the agent's
/// encoder (Go's `encoding/json` on its v2 implementation) writes each
/// byte that does not start a valid character as a raw U+FFFD.
pub fn write_json_bytes(out: &mut String, bytes: &[u8], escape_html: bool) {
    let mut text = String::new();
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        text.clear();
        write_json_string(&mut text, chunk.valid(), escape_html);
        // Drop the quotes the string writer added.
        out.push_str(&text[1..text.len() - 1]);
        for _ in chunk.invalid() {
            out.push('\u{FFFD}');
        }
    }
    out.push('"');
}

/// How an escaped character is written.
enum Escape {
    /// A fixed escape such as `\n` or `\u2028`.
    Short(&'static str),
    /// `\u00XX` for this byte.
    Unicode(u8),
}

/// The escape Go uses for the character at byte `i`, with its width in
/// bytes, or `None` when it is written as is.
fn escape_at(bytes: &[u8], i: usize, escape_html: bool) -> Option<(Escape, usize)> {
    let b = *bytes.get(i)?;
    let short = match b {
        b'"' => "\\\"",
        b'\\' => "\\\\",
        b'\n' => "\\n",
        b'\r' => "\\r",
        b'\t' => "\\t",
        0x08 => "\\b",
        0x0c => "\\f",
        0x00..=0x1f => return Some((Escape::Unicode(b), 1)),
        b'<' | b'>' | b'&' if escape_html => return Some((Escape::Unicode(b), 1)),
        // U+2028 and U+2029 end lines in JavaScript; Go always escapes them.
        0xE2 => match bytes.get(i + 1..i + 3)? {
            [0x80, 0xA8] => return Some((Escape::Short("\\u2028"), 3)),
            [0x80, 0xA9] => return Some((Escape::Short("\\u2029"), 3)),
            _ => return None,
        },
        _ => return None,
    };
    Some((Escape::Short(short), 1))
}

/// `\u00XX` with lowercase hex, as Go writes it.
fn push_unicode_escape(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push_str("\\u00");
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 0xF)]));
}

/// Prefixes the JSON pointer of a key error with the member `segment` it
/// was found under; other errors pass unchanged.
fn within(error: MarshalError, segment: &str) -> MarshalError {
    match error {
        MarshalError::NonStringKey { within, offset } => {
            let segment = segment.replace('~', "~0").replace('/', "~1");
            MarshalError::NonStringKey {
                within: Some(format!("/{segment}{}", within.unwrap_or_default())),
                offset,
            }
        }
        other => other,
    }
}

struct Encoder<'a> {
    out: &'a mut String,
    style: JsonStyle,
    depth: usize,
}

impl Encoder<'_> {
    fn value(&mut self, value: &Value) -> Result<(), MarshalError> {
        match value {
            Value::Nil => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Number(text) => self.number(text)?,
            Value::String(text) => write_json_string(self.out, text, self.style.escape_html),
            Value::Bytes(bytes) => write_json_bytes(self.out, bytes, self.style.escape_html),
            Value::List(items) => self.list(items)?,
            Value::Strings(items) => {
                let items: Vec<Value> = items.iter().cloned().map(Value::String).collect();
                self.list(&items)?;
            }
            Value::Map(members) => self.map(members)?,
            Value::StringMap(members) => {
                let members = members
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                self.map(&members)?;
            }
            Value::Complex(..) => return Err(MarshalError::UnsupportedType("complex128")),
            Value::AnyMap(entries) => self.any_map(entries)?,
            Value::Chan(_) => return Err(MarshalError::UnsupportedType("<-chan int64")),
            Value::Int(i) | Value::Int64(i) => push_display(self.out, i),
            Value::Uint(u) => push_display(self.out, u),
            Value::Float(f) => self.float(*f)?,
            Value::NilMap | Value::NilStrings => self.out.push_str("null"),
            Value::Struct(s) => match &s.fields {
                None => self.out.push_str("null"),
                Some(fields) => self.fields(fields)?,
            },
        }
        Ok(())
    }

    /// A struct encodes as an object of its fields in declaration order
    /// (the secret types carry no JSON tags).
    fn fields(&mut self, fields: &[(String, Value)]) -> Result<(), MarshalError> {
        self.out.push('{');
        self.depth += 1;
        for (i, (name, item)) in fields.iter().enumerate() {
            self.separator(i);
            write_json_string(self.out, name, self.style.escape_html);
            self.out
                .push_str(if self.style.pretty { ": " } else { ":" });
            self.value(item)?;
        }
        self.depth -= 1;
        self.close(!fields.is_empty(), '}');
        Ok(())
    }

    fn number(&mut self, text: &str) -> Result<(), MarshalError> {
        // Go encodes an empty json.Number as 0.
        if text.is_empty() {
            self.out.push('0');
        } else if is_valid_number(text) {
            self.out.push_str(text);
        } else {
            return Err(MarshalError::InvalidNumber);
        }
        Ok(())
    }

    fn float(&mut self, f: f64) -> Result<(), MarshalError> {
        if !f.is_finite() {
            return Err(MarshalError::UnsupportedFloat(f));
        }
        float::write_go_json(self.out, f);
        Ok(())
    }

    fn list(&mut self, items: &[Value]) -> Result<(), MarshalError> {
        self.out.push('[');
        self.depth += 1;
        for (i, item) in items.iter().enumerate() {
            self.separator(i);
            self.value(item).map_err(|e| within(e, &i.to_string()))?;
        }
        self.depth -= 1;
        self.close(!items.is_empty(), ']');
        Ok(())
    }

    fn map(&mut self, members: &BTreeMap<String, Value>) -> Result<(), MarshalError> {
        self.out.push('{');
        self.depth += 1;
        for (i, (key, item)) in members.iter().enumerate() {
            self.separator(i);
            self.member(key, item)?;
        }
        self.depth -= 1;
        self.close(!members.is_empty(), '}');
        Ok(())
    }

    /// One `"name": value`.
    fn member(&mut self, key: &str, item: &Value) -> Result<(), MarshalError> {
        write_json_string(self.out, key, self.style.escape_html);
        self.out
            .push_str(if self.style.pretty { ": " } else { ":" });
        self.value(item).map_err(|e| within(e, key))
    }

    /// A `map[interface{}]interface{}`: string keys as they are, integer
    /// keys as their decimal text, in the order of the names; any other
    /// key fails.
    fn any_map(&mut self, entries: &[(Value, Value)]) -> Result<(), MarshalError> {
        let mut named = Vec::with_capacity(entries.len());
        for (key, item) in entries {
            let name = match key {
                Value::String(s) => s.clone(),
                Value::Int(i) | Value::Int64(i) => i.to_string(),
                Value::Uint(u) => u.to_string(),
                // Reported at this object, just inside it; the members
                // around it add its pointer on the way out.
                _ => {
                    return Err(MarshalError::NonStringKey {
                        within: None,
                        offset: self.out.len() + 2,
                    });
                }
            };
            named.push((name, item));
        }
        named.sort_by(|a, b| a.0.cmp(&b.0));
        self.out.push('{');
        self.depth += 1;
        for (i, (key, item)) in named.iter().enumerate() {
            self.separator(i);
            self.member(key, item)?;
        }
        self.depth -= 1;
        self.close(!named.is_empty(), '}');
        Ok(())
    }

    /// What goes before member `index`: a comma after the first, and in
    /// pretty mode a line break and indentation.
    fn separator(&mut self, index: usize) {
        if index > 0 {
            self.out.push(',');
        }
        self.newline();
    }

    /// Closes a container; empty ones stay `{}` / `[]` even when pretty.
    fn close(&mut self, had_members: bool, bracket: char) {
        if had_members {
            self.newline();
        }
        self.out.push(bracket);
    }

    fn newline(&mut self) {
        if self.style.pretty {
            self.out.push('\n');
            for _ in 0..self.depth {
                self.out.push_str("  ");
            }
        }
    }
}

fn push_display(out: &mut String, value: impl fmt::Display) {
    // Writing to a String cannot fail.
    let _ = write!(out, "{value}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::decode_json;

    // Fixtures are `data` objects as OpenBao 2.7.2 served them; the expected
    // strings are what its agent rendered with the matching function.
    const MIXED: &str = r#"{"empty":"","f":false,"nested":{"a":{},"b":[],"z":[1,"a",null,true]},"nul":null,"sp":"a b","t":true}"#;
    const NUMBERS: &str =
        r#"{"big":12345678901234567890,"e":1E5,"e2":1.5e-7,"n":1.50,"neg":-0,"z":0}"#;
    const KEYS: &str = r#"{"":7,"\u003ck\u003e":5,"B":1,"Z":4,"_":3,"a":2,"ä":6}"#;
    const LISTS: &str = r#"{"l":[[1,2],[],{"k":null}],"m":{"x":{"y":{"z":[null]}}}}"#;
    const ESCAPES: &str = "{\"ctl\":\"\\u0000\\u0001\\b\\f\\n\\r\\t\\u001f\u{7f}\",\"html\":\"\\u003ca\\u003e\\u0026b\",\"ls\":\"x\\u2028y\\u2029z\",\"q\":\"\\\"\\\\/\",\"sur\":\"😀\",\"uni\":\"héllo ✓ 😀\"}";

    fn fixture(text: &str) -> Value {
        decode_json(text).expect("fixture is valid JSON")
    }

    fn string(text: &str) -> Value {
        Value::String(text.into())
    }

    #[test]
    fn compact_output_reproduces_go_marshal() {
        for text in [MIXED, NUMBERS, KEYS, LISTS, ESCAPES] {
            assert_eq!(to_json(&fixture(text)).unwrap(), text);
        }
    }

    #[test]
    fn html_characters_are_escaped() {
        assert_eq!(
            to_json(&string("<a>&b")).unwrap(),
            r#""\u003ca\u003e\u0026b""#
        );
    }

    #[test]
    fn unescaped_output_keeps_html_characters() {
        assert_eq!(to_unescaped_json(&string("<a>&b")).unwrap(), r#""<a>&b""#);
    }

    #[test]
    fn unescaped_output_keeps_html_characters_in_keys() {
        let want = r#"{"":7,"<k>":5,"B":1,"Z":4,"_":3,"a":2,"ä":6}"#;
        assert_eq!(to_unescaped_json(&fixture(KEYS)).unwrap(), want);
    }

    #[test]
    fn control_characters_use_go_escapes() {
        let text = "\u{0}\u{1}\u{8}\u{c}\n\r\t\u{1f}\u{7f}";
        let want = "\"\\u0000\\u0001\\b\\f\\n\\r\\t\\u001f\u{7f}\"";
        assert_eq!(to_json(&string(text)).unwrap(), want);
    }

    #[test]
    fn line_and_paragraph_separators_are_always_escaped() {
        let value = string("x\u{2028}y\u{2029}z");
        assert_eq!(to_json(&value).unwrap(), r#""x\u2028y\u2029z""#);
        assert_eq!(to_unescaped_json(&value).unwrap(), r#""x\u2028y\u2029z""#);
    }

    #[test]
    fn quote_and_backslash_are_escaped_but_slash_is_not() {
        assert_eq!(to_json(&string("\"\\/")).unwrap(), r#""\"\\/""#);
    }

    #[test]
    fn non_ascii_text_is_written_raw() {
        assert_eq!(to_json(&string("héllo ✓ 😀")).unwrap(), "\"héllo ✓ 😀\"");
    }

    #[test]
    fn pretty_output_indents_two_spaces_per_level() {
        let want = "{\n  \"l\": [\n    [\n      1,\n      2\n    ],\n    [],\n    {\n      \"k\": null\n    }\n  ],\n  \"m\": {\n    \"x\": {\n      \"y\": {\n        \"z\": [\n          null\n        ]\n      }\n    }\n  }\n}";
        assert_eq!(to_json_pretty(&fixture(LISTS)).unwrap(), want);
    }

    #[test]
    fn pretty_output_keeps_empty_containers_on_one_line() {
        let want = "{\n  \"empty\": \"\",\n  \"f\": false,\n  \"nested\": {\n    \"a\": {},\n    \"b\": [],\n    \"z\": [\n      1,\n      \"a\",\n      null,\n      true\n    ]\n  },\n  \"nul\": null,\n  \"sp\": \"a b\",\n  \"t\": true\n}";
        assert_eq!(to_json_pretty(&fixture(MIXED)).unwrap(), want);
    }

    #[test]
    fn pretty_output_escapes_html_characters() {
        let want = "{\n  \"ctl\": \"\\u0000\\u0001\\b\\f\\n\\r\\t\\u001f\u{7f}\",\n  \"html\": \"\\u003ca\\u003e\\u0026b\",\n  \"ls\": \"x\\u2028y\\u2029z\",\n  \"q\": \"\\\"\\\\/\",\n  \"sur\": \"😀\",\n  \"uni\": \"héllo ✓ 😀\"\n}";
        assert_eq!(to_json_pretty(&fixture(ESCAPES)).unwrap(), want);
    }

    #[test]
    fn unescaped_pretty_output_keeps_html_characters() {
        let want = "{\n  \"ctl\": \"\\u0000\\u0001\\b\\f\\n\\r\\t\\u001f\u{7f}\",\n  \"html\": \"<a>&b\",\n  \"ls\": \"x\\u2028y\\u2029z\",\n  \"q\": \"\\\"\\\\/\",\n  \"sur\": \"😀\",\n  \"uni\": \"héllo ✓ 😀\"\n}";
        assert_eq!(to_unescaped_json_pretty(&fixture(ESCAPES)).unwrap(), want);
    }

    #[test]
    fn pretty_scalars_and_empty_map_have_no_line_breaks() {
        assert_eq!(to_json_pretty(&Value::Bool(true)).unwrap(), "true");
        assert_eq!(to_json_pretty(&fixture("{}")).unwrap(), "{}");
        assert_eq!(to_json_pretty(&Value::Nil).unwrap(), "null");
    }

    #[test]
    fn nil_encodes_as_null() {
        assert_eq!(to_json(&Value::Nil).unwrap(), "null");
    }

    #[test]
    fn json_numbers_keep_their_literal_text() {
        assert_eq!(to_json(&fixture("[1.50,1E5,-0]")).unwrap(), "[1.50,1E5,-0]");
    }

    #[test]
    fn empty_json_number_encodes_as_zero() {
        assert_eq!(to_json(&Value::Number(String::new())).unwrap(), "0");
    }

    #[test]
    fn invalid_json_number_is_an_error_without_its_text() {
        let err = to_json(&Value::Number("s3cret".into())).unwrap_err();
        assert_eq!(err, MarshalError::InvalidNumber);
        assert!(!err.to_string().contains("s3cret"));
    }

    #[test]
    fn integers_encode_in_decimal() {
        let value = Value::List(vec![Value::Int(-42), Value::Uint(u64::MAX)]);
        assert_eq!(to_json(&value).unwrap(), "[-42,18446744073709551615]");
    }

    #[test]
    fn floats_use_the_json_layout() {
        let value = Value::List(vec![
            Value::Float(1e21),
            Value::Float(1e20),
            Value::Float(1e-7),
        ]);
        assert_eq!(
            to_json(&value).unwrap(),
            "[1e+21,100000000000000000000,1e-7]"
        );
    }

    #[test]
    fn infinity_is_unsupported_like_go() {
        let err = to_json(&Value::Float(f64::INFINITY)).unwrap_err();
        assert_eq!(err.to_string(), "json: unsupported value: +Inf");
    }

    #[test]
    fn nan_is_unsupported_like_go() {
        let err = to_json(&Value::Float(f64::NAN)).unwrap_err();
        assert_eq!(err.to_string(), "json: unsupported value: NaN");
    }
}
