//! What a template asks Vault for, the answers the caller fetched, and the
//! value consul-template's `secret` returns: a `*dependency.Secret`.
//!
//! Rendering is two-phase, as in the agent: an execution records every
//! [`SecretRequest`] it meets; those not yet in [`Secrets`] make `secret`
//! return nil (so `with`/`range` over them do nothing). The caller fetches
//! them, adds them to [`Secrets`], and executes again until nothing is
//! missing.

use std::collections::{BTreeMap, HashMap};

use super::value::{GoStruct, Value};

/// Which template function asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestKind {
    /// `secret "path"`: a `GET`.
    Read,
    /// `secret "path" "k=v" ...`: a `PUT` with the arguments as a JSON
    /// object of strings (even when every argument was empty).
    Write,
    /// `secrets`: a `LIST` of the keys under a path.
    List,
    /// `pkiCert`: a certificate issued by a PKI role.
    PkiCert,
}

/// One thing a template needs from Vault, normalised so that equal
/// requests compare equal (the agent fetches each once).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretRequest {
    /// The function that asked.
    pub kind: RequestKind,
    /// The path as the template gave it, spaces and outer `/` trimmed; a
    /// query such as `?version=2` is kept for the caller to apply.
    pub path: String,
    /// `key=value` arguments, keys and values trimmed, sorted by key, one
    /// per key (the last one given wins), empty ones dropped.
    pub args: Vec<String>,
}

impl SecretRequest {
    /// A `secret "path"` read.
    pub fn read(path: &str) -> SecretRequest {
        SecretRequest {
            kind: RequestKind::Read,
            path: trim_path(path),
            args: Vec::new(),
        }
    }

    /// A `secret "path" "k=v" ...` request; `Err` names the argument
    /// position that is not `k=v` (its text is not repeated, as it may
    /// have come from another secret).
    pub fn with_args(
        kind: RequestKind,
        path: &str,
        args: &[String],
    ) -> Result<SecretRequest, String> {
        let mut pairs = BTreeMap::new();
        for (i, arg) in args.iter().enumerate() {
            if arg.is_empty() {
                continue;
            }
            let Some((k, v)) = arg.split_once('=') else {
                return Err(format!("argument {} is not a k=v pair", i + 2));
            };
            pairs.insert(k.trim().to_string(), v.trim().to_string());
        }
        Ok(SecretRequest {
            kind,
            path: trim_path(path),
            args: pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect(),
        })
    }

    /// The arguments as the JSON body's members.
    pub fn body(&self) -> BTreeMap<String, String> {
        self.args
            .iter()
            .filter_map(|a| a.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

/// consul-template trims spaces, then slashes, from a path.
fn trim_path(path: &str) -> String {
    path.trim().trim_matches('/').to_string()
}

/// The answers fetched so far, keyed by request.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    answers: HashMap<SecretRequest, Value>,
}

impl Secrets {
    /// No answers yet.
    pub fn new() -> Secrets {
        Secrets::default()
    }

    /// Stores the value a request's function returns (for `secret`, build
    /// it with [`secret_from_response`]).
    pub fn insert(&mut self, request: SecretRequest, value: Value) {
        self.answers.insert(request, value);
    }

    /// The stored answer.
    pub fn get(&self, request: &SecretRequest) -> Option<&Value> {
        self.answers.get(request)
    }

    /// Whether an answer is stored.
    pub fn contains(&self, request: &SecretRequest) -> bool {
        self.answers.contains_key(request)
    }

    /// How many answers are stored.
    pub fn len(&self) -> usize {
        self.answers.len()
    }

    /// Whether no answer is stored.
    pub fn is_empty(&self) -> bool {
        self.answers.is_empty()
    }
}

/// Go type of the secret value, as `%T` prints it without the star.
pub const SECRET_TYPE: &str = "dependency.Secret";
/// Go type of its `Auth` field.
pub const AUTH_TYPE: &str = "dependency.SecretAuth";
/// Go type of its `WrapInfo` field.
pub const WRAP_INFO_TYPE: &str = "dependency.SecretWrapInfo";

/// Field names of the struct types a template can meet, in declaration
/// order; a nil pointer still knows which fields its type has.
pub fn struct_fields(type_name: &str) -> Option<&'static [&'static str]> {
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
    let metadata = match a.get("metadata") {
        Some(Value::Map(m)) if !m.is_empty() => Value::Map(
            m.iter()
                .filter_map(|(k, v)| match v {
                    Value::String(s) => Some((k.clone(), Value::String(s.clone()))),
                    _ => None,
                })
                .collect(),
        ),
        _ => Value::NilMap,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::value::{decode_json, format_v, print_for_template};

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
