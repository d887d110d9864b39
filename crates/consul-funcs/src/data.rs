//! Structured data in and out: `toJSON`, `toJSONPretty`, `toUnescapedJSON`,
//! `toUnescapedJSONPretty`, `toYAML`, `toTOML`, `parseJSON`, `parseYAML`,
//! and the scalar parsers of [`strconv`](super::strconv).

use crate::args::{charge_bytes, string, text};
use crate::funcs::{Ctx, Func, FuncError, FuncResult, Funcs, Param};
use crate::{strconv, toml, yaml, yaml_parse};
use gotemplate::error::REDACTED;
use gotemplate::json::{self, JsonStyle};
use gotemplate::value::{JsonErrorKind, Value, decode_json};

/// Registers the data functions.
pub(crate) fn register(funcs: &mut Funcs) {
    for (name, style) in [
        ("toJSON", JsonStyle::COMPACT),
        ("toJSONPretty", JsonStyle::PRETTY),
        ("toUnescapedJSON", JsonStyle::UNESCAPED),
        ("toUnescapedJSONPretty", JsonStyle::UNESCAPED_PRETTY),
    ] {
        funcs.insert(
            name,
            Func::new(&[Param::Any], move |ctx, a| {
                charge_output(ctx, &a[0])?;
                json::to_json_styled(&a[0], style)
                    .map(string)
                    .map_err(|e| FuncError::new(format!("{name}: {e}")))
            })
            .binary(),
        );
    }
    funcs.insert(
        "toYAML",
        Func::new(&[Param::Any], |ctx, a| {
            if let Some(go_type) = yaml::unmarshalable(&a[0]) {
                // yaml.v2 panics here; the engine reports the panic value.
                return Err(FuncError::new(format!("cannot marshal type: {go_type}")));
            }
            charge_output(ctx, &a[0])?;
            Ok(string(yaml::to_yaml(&a[0])))
        }),
    );
    funcs.insert(
        "toTOML",
        Func::new(&[Param::Any], |ctx, a| {
            if a[0].is_nil() {
                // The encoder asks the type of the nil interface first.
                return Err(FuncError::new(
                    "reflect: call of reflect.Value.Type on zero Value",
                ));
            }
            charge_output(ctx, &a[0])?;
            toml::to_toml(&a[0])
                .map(string)
                .map_err(|e| FuncError::new(format!("toTOML: {}", e.0)))
        }),
    );
    funcs.insert(
        "parseJSON",
        Func::new(&[Param::String], |ctx, a| parse_json(ctx, text(&a[0]))),
    );
    funcs.insert(
        "parseYAML",
        Func::new(&[Param::String], |ctx, a| {
            let s = text(&a[0]);
            charge_bytes(ctx, s.len())?;
            if s.is_empty() {
                return Ok(Value::Map(Default::default()));
            }
            let value = yaml_parse::parse_yaml(s).map_err(FuncError::new)?;
            ctx.charge(value.node_count())?;
            Ok(value)
        }),
    );
    strconv::register(funcs);
}

/// Encoding walks every node and writes a few bytes per node at least.
fn charge_output(ctx: &mut Ctx<'_>, value: &Value) -> Result<(), FuncError> {
    ctx.charge(value.node_count())?;
    charge_bytes(ctx, text_size(value))
}

/// The bytes of text a value holds, a lower bound of any encoding's size.
fn text_size(value: &Value) -> usize {
    match value {
        Value::String(s) | Value::Number(s) => s.len(),
        Value::List(items) => items.iter().map(text_size).sum(),
        Value::Strings(items) => items.iter().map(String::len).sum(),
        Value::Map(m) => m.iter().map(|(k, v)| k.len() + text_size(v)).sum(),
        Value::Struct(s) => s.fields.iter().flatten().map(|(_, v)| text_size(v)).sum(),
        _ => 0,
    }
}

/// consul-template's `parseJSON`: Go's `json.Unmarshal` into `interface{}`,
/// so numbers become float64; an empty string gives an empty map.
fn parse_json(ctx: &mut Ctx<'_>, s: &str) -> FuncResult {
    charge_bytes(ctx, s.len())?;
    if s.is_empty() {
        return Ok(Value::Map(Default::default()));
    }
    let value = decode_json(s).map_err(|e| FuncError::new(go_json_message(e.kind())))?;
    ctx.charge(value.node_count())?;
    numbers_to_floats(value)
}

/// The agent's `json.Unmarshal` message (Go's v1 API on the v2
/// implementation) for a rejected text, with the offending character
/// (which comes from the input, maybe a secret) redacted.
fn go_json_message(kind: JsonErrorKind) -> String {
    match kind {
        JsonErrorKind::UnexpectedEnd => "unexpected end of JSON input".into(),
        JsonErrorKind::TrailingData => {
            format!("invalid character {REDACTED} after top-level value")
        }
        JsonErrorKind::ControlCharacterInString => {
            format!("invalid character {REDACTED} in string")
        }
        JsonErrorKind::InvalidEscape => format!("invalid escape sequence {REDACTED} in string"),
        JsonErrorKind::TooDeep => "exceeded max depth".into(),
        JsonErrorKind::UnexpectedByte => format!("invalid character {REDACTED}"),
    }
}

/// Replaces every `json.Number` by the float64 Go's decoder would store.
fn numbers_to_floats(value: Value) -> FuncResult {
    Ok(match value {
        Value::Number(text) => match gotemplate::strconv::parse_float(&text) {
            Ok(f) => Value::Float(f),
            Err(_) => {
                return Err(FuncError::new(format!(
                    "json: cannot unmarshal number {REDACTED} into Go value of type float64"
                )));
            }
        },
        Value::List(items) => Value::List(
            items
                .into_iter()
                .map(numbers_to_floats)
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(members) => Value::Map(
            members
                .into_iter()
                .map(|(k, v)| numbers_to_floats(v).map(|v| (k, v)))
                .collect::<Result<_, _>>()?,
        ),
        other => other,
    })
}
