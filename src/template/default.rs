//! The two default templates of the Vault Agent Injector, applied to a
//! secret's `.Data`:
//!
//! - `map`: `{{ with secret "P" }}{{ range $k, $v := .Data }}{{ $k }}: {{ $v }}\n{{ end }}{{ end }}`
//! - `json`: `{{ with secret "P" }}{{ .Data | toJSON }}\n{{ end }}`
//!
//! `.Data` is consul-template's `map[string]interface{}` field. It copies
//! the response's `data` only when it has members, so an absent, `null` or
//! empty `data` is a nil map: nothing for `map`, `null` for `json`.

use super::json::{JsonStyle, MarshalError, write_json};
use super::value::{Value, write_for_template};

/// The `map` default: one `key: value` line per member in key order, each
/// value printed as `{{ $v }}` prints it (`<no value>` for a JSON null).
pub fn render_map(data: &Value) -> String {
    let mut out = String::new();
    // `.Data` is typed as a map in Go, so no other shape reaches `range`.
    if let Value::Map(members) = data {
        for (key, value) in members {
            out.push_str(key);
            out.push_str(": ");
            write_for_template(&mut out, value);
            out.push('\n');
        }
    }
    out
}

/// The `json` default: `toJSON` of `.Data` and a newline.
pub fn render_json(data: &Value) -> Result<String, MarshalError> {
    let mut out = String::new();
    if is_nil_map(data) {
        out.push_str("null");
    } else {
        write_json(&mut out, data, JsonStyle::COMPACT)?;
    }
    out.push('\n');
    Ok(out)
}

/// Whether Go's `.Data` would be a nil map for this decoded `data`.
fn is_nil_map(data: &Value) -> bool {
    match data {
        Value::Nil => true,
        Value::Map(members) => members.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::value::decode_json;

    // Each fixture is the `data` object of a secret as OpenBao 2.7.2 served
    // it; the expected strings are the files its agent rendered.
    const MIXED: &str = r#"{"empty":"","f":false,"nested":{"a":{},"b":[],"z":[1,"a",null,true]},"nul":null,"sp":"a b","t":true}"#;
    const NUMBERS: &str =
        r#"{"big":12345678901234567890,"e":1E5,"e2":1.5e-7,"n":1.50,"neg":-0,"z":0}"#;
    const KEYS: &str = r#"{"":7,"\u003ck\u003e":5,"B":1,"Z":4,"_":3,"a":2,"ä":6}"#;
    const LISTS: &str = r#"{"l":[[1,2],[],{"k":null}],"m":{"x":{"y":{"z":[null]}}}}"#;
    const ESCAPES: &str = "{\"ctl\":\"\\u0000\\u0001\\b\\f\\n\\r\\t\\u001f\u{7f}\",\"html\":\"\\u003ca\\u003e\\u0026b\",\"ls\":\"x\\u2028y\\u2029z\",\"q\":\"\\\"\\\\/\",\"sur\":\"😀\",\"uni\":\"héllo ✓ 😀\"}";
    const KV2: &str = r#"{"data":{"list":[1,null],"n":1.5,"nul":null,"password":"p\u003ca\u003e\u0026ss","username":"admin"},"metadata":{"created_time":"2026-11-28T13:51:13.719127318Z","custom_metadata":null,"deletion_time":"","destroyed":false,"version":1}}"#;

    fn map_of(text: &str) -> String {
        render_map(&decode_json(text).expect("fixture is valid JSON"))
    }

    fn json_of(text: &str) -> String {
        render_json(&decode_json(text).expect("fixture is valid JSON")).expect("encodable")
    }

    #[test]
    fn map_prints_null_member_as_no_value() {
        let want = "empty: \nf: false\nnested: map[a:map[] b:[] z:[1 a <nil> true]]\nnul: <no value>\nsp: a b\nt: true\n";
        assert_eq!(map_of(MIXED), want);
    }

    #[test]
    fn map_prints_numbers_as_stored() {
        let want = "big: 12345678901234567890\ne: 1E5\ne2: 1.5e-7\nn: 1.50\nneg: -0\nz: 0\n";
        assert_eq!(map_of(NUMBERS), want);
    }

    #[test]
    fn map_orders_keys_bytewise() {
        assert_eq!(map_of(KEYS), ": 7\n<k>: 5\nB: 1\nZ: 4\n_: 3\na: 2\nä: 6\n");
    }

    #[test]
    fn map_prints_nested_nulls_as_nil() {
        let want = "l: [[1 2] [] map[k:<nil>]]\nm: map[x:map[y:map[z:[<nil>]]]]\n";
        assert_eq!(map_of(LISTS), want);
    }

    #[test]
    fn map_writes_strings_unescaped() {
        let want = "ctl: \u{0}\u{1}\u{8}\u{c}\n\r\t\u{1f}\u{7f}\nhtml: <a>&b\nls: x\u{2028}y\u{2029}z\nq: \"\\/\nsur: 😀\nuni: héllo ✓ 😀\n";
        assert_eq!(map_of(ESCAPES), want);
    }

    #[test]
    fn map_of_kv2_secret_prints_data_and_metadata_maps() {
        let want = "data: map[list:[1 <nil>] n:1.5 nul:<nil> password:p<a>&ss username:admin]\nmetadata: map[created_time:2026-11-28T13:51:13.719127318Z custom_metadata:<nil> deletion_time: destroyed:false version:1]\n";
        assert_eq!(map_of(KV2), want);
    }

    #[test]
    fn json_is_compact_marshal_plus_newline() {
        for text in [MIXED, NUMBERS, KEYS, LISTS, ESCAPES, KV2] {
            assert_eq!(json_of(text), format!("{text}\n"));
        }
    }

    #[test]
    fn nil_data_renders_nothing_for_map() {
        assert_eq!(render_map(&Value::Nil), "");
    }

    #[test]
    fn nil_data_renders_null_for_json() {
        assert_eq!(render_json(&Value::Nil).unwrap(), "null\n");
    }

    #[test]
    fn empty_data_is_a_nil_map_for_json() {
        assert_eq!(json_of("{}"), "null\n");
    }

    #[test]
    fn json_reports_unencodable_floats() {
        let data = Value::Map([("x".to_string(), Value::Float(f64::NAN))].into());
        assert!(render_json(&data).is_err());
    }
}
