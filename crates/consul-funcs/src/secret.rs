//! The value consul-template's `secret` returns, a `*dependency.Secret`,
//! and the functions that read Vault: `secret`, `secrets` and `pkiCert`.

use std::collections::BTreeMap;

use gotemplate::{FuncError, GoStruct, Param, Value};

use crate::funcs::{Func, Funcs, dependency};
use crate::request::{RequestKind, SecretRequest};

/// Go type of the secret value, as `%T` prints it without the star.
pub(crate) const SECRET_TYPE: &str = "dependency.Secret";
/// Go type of its `Auth` field.
pub(crate) const AUTH_TYPE: &str = "dependency.SecretAuth";
/// Go type of its `WrapInfo` field.
pub(crate) const WRAP_INFO_TYPE: &str = "dependency.SecretWrapInfo";
/// Go type of what `pkiCert` returns (a struct value, not a pointer).
pub(crate) const PEM_TYPE: &str = "dependency.PemEncoded";

/// The value `pkiCert` returns: consul-template's `PemEncoded`, a struct
/// value with the PEM blocks `.Cert`, `.Key` and `.CA` (each as Go's
/// `pem.EncodeToMemory` writes it, ending in a newline, or empty), and a
/// method `.Data` that returns it again (for templates written for
/// `secret`'s `.Data`).
pub fn pem_encoded(cert: &str, key: &str, ca: &str) -> Value {
    Value::Struct(Box::new(GoStruct::value(
        PEM_TYPE,
        vec![
            ("Cert".into(), Value::String(cert.to_string())),
            ("Key".into(), Value::String(key.to_string())),
            ("CA".into(), Value::String(ca.to_string())),
        ],
    )))
}

/// Field names of the struct types a template can meet, in declaration
/// order; a nil pointer still knows which fields its type has.
fn struct_fields(type_name: &str) -> Option<&'static [&'static str]> {
    match type_name {
        SECRET_TYPE => Some(&[
            "RequestID",
            "LeaseID",
            "LeaseDuration",
            "Renewable",
            "Data",
            "Warnings",
            "Auth",
            "WrapInfo",
        ]),
        AUTH_TYPE => Some(&[
            "ClientToken",
            "Accessor",
            "Policies",
            "Metadata",
            "LeaseDuration",
            "Renewable",
        ]),
        WRAP_INFO_TYPE => Some(&["Token", "TTL", "CreationTime", "WrappedAccessor"]),
        _ => None,
    }
}

/// What `secret` returns for a write Vault answered with no content (204):
/// a nil `*dependency.Secret`, false in `with`, `<nil>` when printed.
pub fn secret_without_content() -> Value {
    Value::Struct(Box::new(GoStruct::nil(SECRET_TYPE)))
}

/// Builds the `*dependency.Secret` a template sees from a decoded Vault
/// response (`{"request_id":..., "data":{...}, ...}`): `.Data` is the
/// response's `data` when it has members and a nil map otherwise; the
/// other fields are copied the way consul-template copies them.
pub fn secret_from_response(response: &Value) -> Value {
    let empty = BTreeMap::new();
    let fields = match response {
        Value::Map(m) => m,
        _ => &empty,
    };
    let data = match fields.get("data") {
        Some(Value::Map(m)) if !m.is_empty() => Value::Map(m.clone()),
        _ => Value::NilMap,
    };
    let auth = match fields.get("auth") {
        Some(Value::Map(a)) => auth_struct(a),
        _ => GoStruct::nil(AUTH_TYPE),
    };
    let wrap = match fields.get("wrap_info") {
        Some(Value::Map(w)) => wrap_struct(w),
        _ => GoStruct::nil(WRAP_INFO_TYPE),
    };
    Value::Struct(Box::new(GoStruct::new(
        SECRET_TYPE,
        vec![
            ("RequestID".into(), string_field(fields, "request_id")),
            ("LeaseID".into(), string_field(fields, "lease_id")),
            (
                "LeaseDuration".into(),
                Value::Int(int_field(fields, "lease_duration")),
            ),
            (
                "Renewable".into(),
                Value::Bool(bool_field(fields, "renewable")),
            ),
            ("Data".into(), data),
            ("Warnings".into(), string_list(fields.get("warnings"))),
            ("Auth".into(), Value::Struct(Box::new(auth))),
            ("WrapInfo".into(), Value::Struct(Box::new(wrap))),
        ],
    )))
}

fn auth_struct(a: &BTreeMap<String, Value>) -> GoStruct {
    // A map[string]string: a missing key reads as "", not <no value>.
    let metadata = match a.get("metadata") {
        Some(Value::Map(m)) if !m.is_empty() => Value::StringMap(
            m.iter()
                .filter_map(|(k, v)| match v {
                    Value::String(s) => Some((k.clone(), s.clone())),
                    _ => None,
                })
                .collect(),
        ),
        // Go's nil map of that type; a lookup in it gives "" too (its JSON
        // would be null, where this gives {}).
        _ => Value::StringMap(BTreeMap::new()),
    };
    GoStruct::new(
        AUTH_TYPE,
        vec![
            ("ClientToken".into(), string_field(a, "client_token")),
            ("Accessor".into(), string_field(a, "accessor")),
            ("Policies".into(), string_list(a.get("policies"))),
            ("Metadata".into(), metadata),
            (
                "LeaseDuration".into(),
                Value::Int(int_field(a, "lease_duration")),
            ),
            ("Renewable".into(), Value::Bool(bool_field(a, "renewable"))),
        ],
    )
}

fn wrap_struct(w: &BTreeMap<String, Value>) -> GoStruct {
    GoStruct::new(
        WRAP_INFO_TYPE,
        vec![
            ("Token".into(), string_field(w, "token")),
            ("TTL".into(), Value::Int(int_field(w, "ttl"))),
            // A time.Time in Go; the RFC 3339 text is kept as is.
            ("CreationTime".into(), string_field(w, "creation_time")),
            (
                "WrappedAccessor".into(),
                string_field(w, "wrapped_accessor"),
            ),
        ],
    )
}

fn string_field(m: &BTreeMap<String, Value>, key: &str) -> Value {
    match m.get(key) {
        Some(Value::String(s)) => Value::String(s.clone()),
        _ => Value::String(String::new()),
    }
}

fn int_field(m: &BTreeMap<String, Value>, key: &str) -> i64 {
    match m.get(key) {
        Some(Value::Number(n)) => n.parse::<i64>().unwrap_or(0),
        Some(Value::Int(i)) => *i,
        _ => 0,
    }
}

fn bool_field(m: &BTreeMap<String, Value>, key: &str) -> bool {
    matches!(m.get(key), Some(Value::Bool(true)))
}

fn string_list(v: Option<&Value>) -> Value {
    match v {
        Some(Value::List(items)) if !items.is_empty() => Value::Strings(
            items
                .iter()
                .filter_map(|i| match i {
                    Value::String(s) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
        ),
        // consul-template copies only non-empty lists: nil otherwise.
        _ => Value::NilStrings,
    }
}

/// Registers `secret`, `secrets` and `pkiCert`, and the fields of the
/// struct types they return.
pub(crate) fn register(funcs: &mut Funcs) {
    funcs.insert("secret", secret_func());
    funcs.insert("secrets", secrets_func());
    funcs.insert("pkiCert", pki_cert_func());
    funcs.insert_method(
        PEM_TYPE,
        "Data",
        Func::new(&[], |ctx, _| {
            Ok(ctx.receiver().cloned().unwrap_or(Value::Nil))
        }),
    );
    for type_name in [SECRET_TYPE, AUTH_TYPE, WRAP_INFO_TYPE] {
        if let Some(fields) = struct_fields(type_name) {
            funcs.insert_struct_fields(type_name, fields);
        }
    }
}

/// consul-template's `pkiCert "pki/issue/role" "k=v" ...`: a certificate
/// ([`pem_encoded`]) that the caller keeps from the volume while it is
/// good; nil while the answer is missing.
fn pki_cert_func() -> Func {
    Func::variadic(&[], Param::String, |ctx, args| {
        let Some((Value::String(path), rest)) = args.split_first() else {
            return Err(FuncError::new("vault.read: invalid format: \"\""));
        };
        let request = SecretRequest::with_args(RequestKind::PkiCert, path, &string_args(rest))
            .map_err(FuncError::new)?;
        if request.path.is_empty() {
            return Err(FuncError::new("vault.read: invalid format: \"\""));
        }
        Ok(dependency(ctx, request).unwrap_or(Value::Nil))
    })
}

/// `k=v` arguments as strings; a non-string argument counts as empty.
fn string_args(args: &[Value]) -> Vec<String> {
    args.iter()
        .map(|a| match a {
            Value::String(s) => s.clone(),
            _ => String::new(),
        })
        .collect()
}

/// consul-template's `secrets "path"`: the keys under a path (a LIST),
/// sorted; nil while the answer is missing.
fn secrets_func() -> Func {
    Func::new(&[Param::String], |ctx, args| {
        let path = match &args[0] {
            Value::String(s) => s.as_str(),
            _ => "",
        };
        if path.is_empty() {
            return Ok(Value::NilStrings);
        }
        let request =
            SecretRequest::with_args(RequestKind::List, path, &[]).map_err(FuncError::new)?;
        if request.path.is_empty() {
            return Err(FuncError::new("vault.list: invalid format: \"\""));
        }
        Ok(match dependency(ctx, request) {
            Some(Value::List(items)) => {
                let mut keys: Vec<String> = items
                    .iter()
                    .filter_map(|i| match i {
                        Value::String(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect();
                keys.sort();
                if keys.is_empty() {
                    Value::NilStrings
                } else {
                    Value::Strings(keys)
                }
            }
            Some(other) => other,
            None => Value::NilStrings,
        })
    })
}

/// consul-template's `secret "path" ["k=v" ...]`: a read, or a write when
/// arguments are given; nil while the answer is missing.
fn secret_func() -> Func {
    Func::variadic(&[], Param::String, |ctx, args| {
        let Some((path, rest)) = args.split_first() else {
            return Ok(Value::Nil);
        };
        let Value::String(path) = path else {
            return Err(FuncError::new("path is not a string"));
        };
        let rest = string_args(rest);
        // Any argument, even an empty one, makes it a write.
        let kind = if rest.is_empty() {
            RequestKind::Read
        } else {
            RequestKind::Write
        };
        let request = SecretRequest::with_args(kind, path, &rest).map_err(FuncError::new)?;
        if request.path.is_empty() {
            let what = if kind == RequestKind::Write {
                "vault.write"
            } else {
                "vault.read"
            };
            return Err(FuncError::new(format!("{what}: invalid format: \"\"")));
        }
        Ok(dependency(ctx, request).unwrap_or(Value::Nil))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gotemplate::value::{decode_json, format_v, print_for_template};

    #[test]
    fn read_paths_are_trimmed() {
        assert_eq!(SecretRequest::read(" /secret/app/ ").path, "secret/app");
    }

    #[test]
    fn write_args_are_normalised() {
        let args = vec![
            "b = 2".to_string(),
            String::new(),
            "a=1".into(),
            "b=3".into(),
        ];
        let req = SecretRequest::with_args(RequestKind::Write, "pki/issue/r", &args).unwrap();
        assert_eq!(req.args, ["a=1", "b=3"]);
        assert_eq!(req.body().get("b").map(String::as_str), Some("3"));
    }

    #[test]
    fn argument_without_equals_is_refused_without_echo() {
        let args = vec!["hunter2".to_string()];
        let err = SecretRequest::with_args(RequestKind::Write, "p", &args).unwrap_err();
        assert!(!err.contains("hunter2"));
    }

    #[test]
    fn secret_prints_like_the_agent() {
        let response = decode_json(
            r#"{"request_id":"r-1","lease_id":"","lease_duration":2764800,"renewable":false,"data":{"n":3,"user":"bob"},"warnings":null,"auth":null,"wrap_info":null}"#,
        )
        .unwrap();
        let secret = secret_from_response(&response);
        assert_eq!(
            print_for_template(&secret),
            "{r-1  2764800 false map[n:3 user:bob] [] <nil> <nil>}"
        );
        assert_eq!(
            format_v(&secret),
            "&{r-1  2764800 false map[n:3 user:bob] [] <nil> <nil>}"
        );
    }

    #[test]
    fn empty_data_is_a_nil_map() {
        let response = decode_json(r#"{"data":{}}"#).unwrap();
        let Value::Struct(s) = secret_from_response(&response) else {
            panic!("not a struct");
        };
        assert_eq!(s.field("Data"), Some(&Value::NilMap));
    }
}
