//! What a template asks Vault for, and the answers the host fetched.
//!
//! Rendering is two-phase, as in the agent: an execution records every
//! [`SecretRequest`] it meets; those not yet in [`Secrets`] make `secret`
//! return nil (so `with`/`range` over them do nothing). The host fetches
//! them, adds them to [`Secrets`], and executes again until nothing is
//! missing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use gotemplate::Value;

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

    /// A `secret "path" "k=v" ...` request; `Err` is Go's message for an
    /// argument that is not `k=v`, without its text (it may have come
    /// from another secret).
    pub fn with_args(
        kind: RequestKind,
        path: &str,
        args: &[String],
    ) -> Result<SecretRequest, String> {
        let mut pairs = BTreeMap::new();
        for arg in args {
            if arg.is_empty() {
                continue;
            }
            let Some((k, v)) = arg.split_once('=') else {
                // Go names the argument itself, which may be a secret.
                return Err(format!("not k=v pair {}", gotemplate::error::REDACTED));
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

/// The answers fetched so far, keyed by request. Cloning is cheap (the
/// map is shared until one of the clones changes it), so each execution
/// can hold its own handle.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    answers: Arc<HashMap<SecretRequest, Value>>,
}

impl Secrets {
    /// No answers yet.
    pub fn new() -> Secrets {
        Secrets::default()
    }

    /// Stores the value a request's function returns (for `secret`, build
    /// it with [`secret_from_response`]).
    pub fn insert(&mut self, request: SecretRequest, value: Value) {
        Arc::make_mut(&mut self.answers).insert(request, value);
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
