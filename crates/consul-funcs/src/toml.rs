//! `toTOML`: what `github.com/BurntSushi/toml` v1.5's `Encoder` writes for
//! a value (keys sorted, plain values before sub-tables, sub-tables
//! indented two spaces per level, nil values left out), with surrounding
//! white space trimmed as consul-template does.

use gotemplate::float;
use gotemplate::strconv;
use gotemplate::value::Value;

/// Why the encoder refused a value (Go's messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TomlError(pub String);

/// `toTOML`'s text for `value`, or the encoder's error.
pub(crate) fn to_toml(value: &Value) -> Result<String, TomlError> {
    let mut enc = Encoder {
        out: String::new(),
        written: false,
        key: String::new(),
    };
    enc.encode(&[], &plain_maps(value))?;
    Ok(enc.out.trim_matches(char::is_whitespace).to_string())
}

/// The value with every `map[string]string` as a map of strings, which
/// the encoder treats alike.
fn plain_maps(value: &Value) -> Value {
    match value {
        Value::StringMap(m) => Value::Map(
            m.iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        ),
        Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), plain_maps(v))).collect()),
        Value::List(items) => Value::List(items.iter().map(plain_maps).collect()),
        other => other.clone(),
    }
}

/// The TOML type of a value, for deciding tables from plain keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Nil: left out (and refused inside arrays).
    Nil,
    Plain,
    Table,
    TableArray,
}

fn kind_of(value: &Value) -> Result<Kind, TomlError> {
    Ok(match value {
        Value::Nil | Value::NilMap | Value::NilStrings => Kind::Nil,
        Value::Struct(s) if s.fields.is_none() => Kind::Nil,
        Value::AnyMap(_) => {
            return Err(TomlError(
                "toml: cannot encode a map with non-string key type".into(),
            ));
        }
        Value::Map(_) | Value::Struct(_) => Kind::Table,
        Value::List(items) => {
            if items.is_empty() {
                return Ok(Kind::Plain);
            }
            let mut all_tables = true;
            for item in items {
                match kind_of(item)? {
                    Kind::Nil => {
                        return Err(TomlError(
                            "toml: cannot encode array with nil element".into(),
                        ));
                    }
                    Kind::Table => {}
                    _ => all_tables = false,
                }
            }
            if all_tables {
                Kind::TableArray
            } else {
                Kind::Plain
            }
        }
        _ => Kind::Plain,
    })
}

/// The members of a map or struct, in the order the encoder visits them:
/// map keys sorted bytewise, struct fields in declaration order.
fn members(value: &Value) -> Vec<(&str, &Value)> {
    match value {
        Value::Map(m) => m.iter().map(|(k, v)| (k.as_str(), v)).collect(),
        Value::Struct(s) => s
            .fields
            .iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v))
            .collect(),
        _ => Vec::new(),
    }
}

struct Encoder {
    out: String,
    written: bool,
    /// The dotted key of the value being written (empty at the top).
    key: String,
}

impl Encoder {
    fn write(&mut self, s: &str) {
        self.out.push_str(s);
        self.written = true;
    }

    fn newline(&mut self) {
        if self.written {
            self.write("\n");
        }
    }

    fn indent(&self, key: &[String]) -> String {
        "  ".repeat(key.len().saturating_sub(1))
    }

    fn encode(&mut self, key: &[String], value: &Value) -> Result<(), TomlError> {
        match kind_of(value)? {
            Kind::Nil => Ok(()),
            Kind::Table => self.table(key, value),
            Kind::TableArray => self.table_array(key, value),
            Kind::Plain => self.key_value(key, value, false),
        }
    }

    fn table(&mut self, key: &[String], value: &Value) -> Result<(), TomlError> {
        if key.len() == 1 {
            self.newline();
        }
        if !key.is_empty() {
            let header = format!("{}[{}]", self.indent(key), dotted(key));
            self.write(&header);
            self.newline();
        }
        self.map_body(key, value, false)
    }

    fn table_array(&mut self, key: &[String], value: &Value) -> Result<(), TomlError> {
        if key.is_empty() {
            return Err(TomlError(
                "toml: top-level values must be Go maps or structs".into(),
            ));
        }
        let Value::List(items) = value else {
            return Ok(());
        };
        for item in items {
            self.newline();
            let header = format!("{}[[{}]]", self.indent(key), dotted(key));
            self.write(&header);
            self.newline();
            self.map_body(key, item, false)?;
        }
        Ok(())
    }

    /// The members of a table: plain keys first, then sub-tables, each
    /// group sorted; inline tables are written `{k = v, ...}`.
    fn map_body(&mut self, key: &[String], value: &Value, inline: bool) -> Result<(), TomlError> {
        let mut direct = Vec::new();
        let mut sub = Vec::new();
        for (k, v) in members(value) {
            match kind_of(v)? {
                Kind::Table | Kind::TableArray => sub.push((k, v)),
                _ => direct.push((k, v)),
            }
        }
        if matches!(value, Value::Map(_)) {
            direct.sort_by(|a, b| a.0.cmp(b.0));
            sub.sort_by(|a, b| a.0.cmp(b.0));
        }
        if inline {
            self.write("{");
        }
        let total = direct.len() + sub.len();
        let mut index = 0;
        let trail = !sub.is_empty();
        for (group, trailing) in [(direct, trail), (sub, false)] {
            let len = group.len();
            for (i, (k, v)) in group.into_iter().enumerate() {
                index += 1;
                if kind_of(v)? == Kind::Nil {
                    continue;
                }
                if inline {
                    self.key_value(&[k.to_string()], v, true)?;
                    // Maps separate by position in their group, structs by
                    // position among all fields.
                    let more = if matches!(value, Value::Map(_)) {
                        trailing || i + 1 != len
                    } else {
                        index != total
                    };
                    if more {
                        self.write(", ");
                    }
                } else {
                    let mut child = key.to_vec();
                    child.push(k.to_string());
                    self.encode(&child, v)?;
                }
            }
        }
        if inline {
            self.write("}");
        }
        Ok(())
    }

    fn key_value(&mut self, key: &[String], value: &Value, inline: bool) -> Result<(), TomlError> {
        if let Some(last) = key.last() {
            let prefix = format!("{}{} = ", self.indent(key), quote_key(last));
            self.write(&prefix);
        }
        self.key = key.join(".");
        self.element(value)?;
        if !key.is_empty() && !inline {
            self.newline();
        }
        Ok(())
    }

    fn element(&mut self, value: &Value) -> Result<(), TomlError> {
        match value {
            Value::Number(text) => {
                if text.is_empty() {
                    self.write("0");
                } else if let Ok(i) = strconv::parse_int(text, 10, 64) {
                    self.write(&i.to_string());
                } else if let Ok(f) = strconv::parse_float(text) {
                    self.float(f);
                } else {
                    // Go quotes the text here; it may be secret.
                    return Err(TomlError(
                        "unable to convert [redacted] to int64 or float64".into(),
                    ));
                }
            }
            Value::String(s) => {
                let quoted = format!("\"{}\"", escape(s));
                self.write(&quoted);
            }
            // Functions never receive binary strings; kept for completeness.
            Value::Bytes(b) => {
                let quoted = format!("\"{}\"", escape(&String::from_utf8_lossy(b)));
                self.write(&quoted);
            }
            Value::Bool(b) => self.write(if *b { "true" } else { "false" }),
            Value::Int(i) | Value::Int64(i) => self.write(&i.to_string()),
            Value::Uint(u) => self.write(&u.to_string()),
            Value::Float(f) => self.float(*f),
            Value::Complex(..) | Value::Chan(_) => {
                let kind = if matches!(value, Value::Chan(_)) {
                    "chan"
                } else {
                    "complex128"
                };
                // The encoder names the key only for a value at the top.
                return Err(TomlError(if self.key.is_empty() {
                    format!("unsupported type for key '': {kind}")
                } else {
                    format!("unsupported type: {kind}")
                }));
            }
            Value::List(items) => {
                // Checks for nil elements as Go does before writing.
                kind_of(value)?;
                self.write("[");
                for (i, item) in items.iter().enumerate() {
                    self.element(item)?;
                    if i + 1 != items.len() {
                        self.write(", ");
                    }
                }
                self.write("]");
            }
            Value::Strings(items) => {
                let quoted: Vec<String> =
                    items.iter().map(|s| format!("\"{}\"", escape(s))).collect();
                let list = format!("[{}]", quoted.join(", "));
                self.write(&list);
            }
            Value::NilStrings => self.write("[]"),
            Value::Map(_) | Value::Struct(_) | Value::NilMap => self.map_body(&[], value, true)?,
            Value::StringMap(_) => self.map_body(&[], &plain_maps(value), true)?,
            Value::AnyMap(_) => {
                return Err(TomlError(
                    "toml: cannot encode a map with non-string key type".into(),
                ));
            }
            Value::Nil => {
                return Err(TomlError(
                    "reflect: call of reflect.Value.Type on zero Value".into(),
                ));
            }
        }
        Ok(())
    }

    fn float(&mut self, f: f64) {
        if f.is_nan() {
            let s = if f.is_sign_negative() { "-nan" } else { "nan" };
            self.write(s);
        } else if f.is_infinite() {
            self.write(if f < 0.0 { "-inf" } else { "inf" });
        } else {
            let mut s = float::format_float(f, 'f', -1);
            if !s.contains('.') {
                s.push_str(".0");
            }
            self.write(&s);
        }
    }
}

/// Whether a key can be written bare.
fn is_bare(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn quote_key(key: &str) -> String {
    if key.is_empty() {
        "\"\"".into()
    } else if is_bare(key) {
        key.to_string()
    } else {
        format!("\"{}\"", escape(key))
    }
}

fn dotted(key: &[String]) -> String {
    key.iter()
        .map(|k| quote_key(k))
        .collect::<Vec<_>>()
        .join(".")
}

/// The encoder's string escapes: quote, backslash, control characters
/// and DEL; everything else as is.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\0'..='\u{1f}' | '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use gotemplate::decode_json;

    fn toml_of(json: &str) -> Result<String, TomlError> {
        to_toml(&decode_json(json).unwrap())
    }

    #[test]
    fn plain_keys_come_before_tables() {
        let want = "big = 12345678901234567000.0\ne = 100000.0\nf = 1.5\nl = [1, \"x\"]\nn = 3\nneg = -7\ns = \"str\"\n\n[m]\n  a = 1";
        assert_eq!(
            toml_of(r#"{"n":3,"f":1.50,"e":1E5,"s":"str","l":[1,"x"],"m":{"a":1},"big":12345678901234567890,"neg":-7}"#).unwrap(),
            want
        );
    }

    #[test]
    fn nil_in_an_array_is_refused() {
        assert_eq!(
            toml_of(r#"{"l":[1,null]}"#).unwrap_err().0,
            "toml: cannot encode array with nil element"
        );
    }

    #[test]
    fn nil_values_are_left_out() {
        assert_eq!(toml_of(r#"{"a":null,"b":1}"#).unwrap(), "b = 1");
    }

    #[test]
    fn odd_keys_are_quoted() {
        assert_eq!(
            toml_of(r#"{"a b":1,"":2}"#).unwrap(),
            "\"\" = 2\n\"a b\" = 1"
        );
    }
}
