//! Turns fetched secrets into file bytes.

use crate::inject::DefaultFormat;
use crate::template::{decode, default, json, value::Value};

/// Why a file could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Vault's answer was not JSON (never quoted: it may hold secrets).
    #[error("Vault's answer is not valid JSON ({0})")]
    BadResponse(String),
    /// The data cannot be written as JSON (e.g. a NaN).
    #[error("{0}")]
    Json(#[from] json::MarshalError),
}

/// Renders the injector's default template over one secret response body
/// (`None`: Vault answered a write with no content, so the template sees nil).
pub fn default_template(format: DefaultFormat, body: Option<&str>) -> Result<Vec<u8>, RenderError> {
    let data = match body {
        Some(body) => secret_data(body)?,
        None => return Ok(Vec::new()),
    };
    let text = match format {
        DefaultFormat::Map => default::render_map(&data),
        DefaultFormat::Json => default::render_json(&data)?,
    };
    Ok(text.into_bytes())
}

/// The `.Data` a template sees: the response's `data`, nil when absent or
/// empty (the agent copies `data` only when it has entries).
pub fn secret_data(body: &str) -> Result<Value, RenderError> {
    let response =
        decode::decode_json(body).map_err(|e| RenderError::BadResponse(e.to_string()))?;
    let Value::Map(mut fields) = response else {
        return Err(RenderError::BadResponse("not an object".into()));
    };
    Ok(match fields.remove("data") {
        Some(Value::Map(map)) if !map.is_empty() => Value::Map(map),
        Some(Value::Map(_)) | Some(Value::Nil) | None => Value::Nil,
        Some(other) => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_format_lists_keys_in_order() {
        let body = r#"{"request_id":"r","data":{"user":"bob","n":3}}"#;
        let out = default_template(DefaultFormat::Map, Some(body)).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "n: 3\nuser: bob\n");
    }

    #[test]
    fn json_format_escapes_html() {
        let body = r#"{"data":{"p":"a<b>&c"}}"#;
        let out = default_template(DefaultFormat::Json, Some(body)).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"p\":\"a\\u003cb\\u003e\\u0026c\"}\n"
        );
    }

    #[test]
    fn empty_data_is_nil() {
        assert_eq!(secret_data(r#"{"data":{}}"#).unwrap(), Value::Nil);
        assert_eq!(secret_data(r#"{"data":null}"#).unwrap(), Value::Nil);
    }

    #[test]
    fn a_bad_body_is_reported_without_its_content() {
        let err = secret_data("{\"data\": \"hunter2").unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }
}
