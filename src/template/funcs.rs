//! The registry of template functions beyond Go's builtins.
//!
//! A function declares its parameters as Go types ([`Param`]); the engine
//! checks and converts arguments exactly as `text/template` does for a Go
//! function of that signature (so `toUpper` on a `json.Number` fails with
//! `wrong type for value; expected string; got json.Number`, as in the
//! agent), then calls the closure with plain [`Value`]s:
//!
//! ```
//! use vault_csi_driver::template::funcs::{Func, FuncError, Funcs, Param};
//! use vault_csi_driver::template::value::Value;
//!
//! let mut funcs = Funcs::new();
//! funcs.insert(
//!     "toUpper",
//!     Func::new(&[Param::String], |_ctx, args| match &args[0] {
//!         Value::String(s) => Ok(Value::String(s.to_uppercase())),
//!         _ => Err(FuncError::new("expected a string")),
//!     }),
//! );
//! ```
//!
//! Rules for implementations: return `Value::Nil` for Go's nil interface;
//! never put a secret value in a [`FuncError`] (messages reach logs and
//! Kubernetes events); charge [`Ctx::charge`] for work that grows with the
//! input (loops, large outputs); do no I/O: Vault answers come through
//! [`Ctx::dependency`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use super::secret::{RequestKind, SecretRequest, Secrets};
use super::value::Value;

/// The Go type of a function parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// `interface{}`: any value; a missing one arrives as [`Value::Nil`].
    Any,
    /// `string`: a Go string only (a `json.Number` is refused).
    String,
    /// `int`.
    Int,
    /// `bool`.
    Bool,
    /// `float64`.
    Float,
    /// `[]interface{}`: a list; nil arrives as an empty list.
    List,
    /// `map[string]interface{}`: nil arrives as [`Value::NilMap`].
    Map,
    /// `[]string`: only a [`Value::Strings`] (not a list of strings, as in
    /// Go); nil arrives as an empty one.
    Strings,
}

impl Param {
    /// The Go spelling used in error messages.
    pub fn go_type(self) -> &'static str {
        match self {
            Param::Any => "interface {}",
            Param::String => "string",
            Param::Int => "int",
            Param::Bool => "bool",
            Param::Float => "float64",
            Param::List => "[]interface {}",
            Param::Map => "map[string]interface {}",
            Param::Strings => "[]string",
        }
    }
}

/// A function's failure. The engine reports it as Go does:
/// `error calling NAME: MESSAGE`. It must not contain secret values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncError(String);

impl FuncError {
    /// A failure with this message.
    pub fn new(message: impl Into<String>) -> FuncError {
        FuncError(message.into())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FuncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FuncError {}

/// What a function returns.
pub type FuncResult = Result<Value, FuncError>;

type Body = dyn Fn(&mut Ctx<'_>, &[Value]) -> FuncResult + Send + Sync;

/// A function: its parameter types and its body.
#[derive(Clone)]
pub struct Func {
    params: Vec<Param>,
    variadic: Option<Param>,
    body: Arc<Body>,
}

impl fmt::Debug for Func {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Func")
            .field("params", &self.params)
            .field("variadic", &self.variadic)
            .finish_non_exhaustive()
    }
}

impl Func {
    /// A function with exactly these parameters.
    pub fn new(
        params: &[Param],
        body: impl Fn(&mut Ctx<'_>, &[Value]) -> FuncResult + Send + Sync + 'static,
    ) -> Func {
        Func {
            params: params.to_vec(),
            variadic: None,
            body: Arc::new(body),
        }
    }

    /// A function with these fixed parameters followed by any number of
    /// `rest` (Go's `...T`).
    pub fn variadic(
        params: &[Param],
        rest: Param,
        body: impl Fn(&mut Ctx<'_>, &[Value]) -> FuncResult + Send + Sync + 'static,
    ) -> Func {
        Func {
            params: params.to_vec(),
            variadic: Some(rest),
            body: Arc::new(body),
        }
    }

    /// The fixed parameters.
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// The type of the trailing `...` parameter, if any.
    pub fn rest(&self) -> Option<Param> {
        self.variadic
    }

    /// Runs the body on already-checked arguments.
    pub fn call(&self, ctx: &mut Ctx<'_>, args: &[Value]) -> FuncResult {
        (self.body)(ctx, args)
    }
}

/// Named functions available to templates, on top of Go's builtins (which
/// a function of the same name overrides, as in Go).
#[derive(Debug, Clone, Default)]
pub struct Funcs {
    map: HashMap<String, Func>,
}

impl Funcs {
    /// No functions but the builtins.
    pub fn new() -> Funcs {
        Funcs::default()
    }

    /// Every function a template may call: `secret`, `secrets` and the
    /// consul-template library (`env` reads [`Ctx::env`], the Pod's).
    pub fn standard() -> Funcs {
        let mut funcs = Funcs::new();
        funcs.insert("secret", secret_func());
        funcs.insert("secrets", secrets_func());
        funcs.insert("pkiCert", pki_cert_func());
        super::library::register(&mut funcs);
        funcs
    }

    /// Adds or replaces a function.
    pub fn insert(&mut self, name: &str, func: Func) {
        self.map.insert(name.to_string(), func);
    }

    /// Registers a name that parses but fails when called, for functions
    /// the agent has that must not run here (`file`, `plugin`, ...).
    pub fn deny(&mut self, name: &str, reason: &'static str) {
        self.insert(
            name,
            Func::variadic(&[], Param::Any, move |_, _| Err(FuncError::new(reason))),
        );
    }

    /// The function of that name.
    pub fn get(&self, name: &str) -> Option<&Func> {
        self.map.get(name)
    }

    /// Whether a function of that name is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }
}

/// Execution-wide state a function may use.
pub struct Ctx<'a> {
    pub(crate) secrets: &'a Secrets,
    pub(crate) used: &'a mut Vec<SecretRequest>,
    pub(crate) missing: &'a mut Vec<SecretRequest>,
    pub(crate) env: &'a BTreeMap<String, String>,
    pub(crate) scratch: &'a mut BTreeMap<String, Value>,
    pub(crate) budget: &'a mut u64,
}

impl Ctx<'_> {
    /// Records that the template needs `request` and returns its answer
    /// when the caller supplied one; `None` means it is still missing (the
    /// function should then return what consul-template returns for
    /// missing data, usually nil).
    pub fn dependency(&mut self, request: SecretRequest) -> Option<Value> {
        if !self.used.contains(&request) {
            self.used.push(request.clone());
        }
        match self.secrets.get(&request) {
            Some(value) => {
                // Copying the answer costs in proportion to its size.
                let _ = self.charge(value.node_count());
                Some(value.clone())
            }
            None => {
                if !self.missing.contains(&request) {
                    self.missing.push(request);
                }
                None
            }
        }
    }

    /// An environment variable of the Pod (never the node's).
    pub fn env(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(String::as_str)
    }

    /// The template's scratch space (consul-template's `scratch`).
    pub fn scratch(&mut self) -> &mut BTreeMap<String, Value> {
        self.scratch
    }

    /// Spends `units` of the execution budget; fails when it runs out.
    pub fn charge(&mut self, units: u64) -> Result<(), FuncError> {
        if *self.budget < units {
            *self.budget = 0;
            return Err(FuncError::new("execution step limit exceeded"));
        }
        *self.budget -= units;
        Ok(())
    }
}

/// consul-template's `pkiCert "pki/issue/role" "k=v" ...`: a certificate
/// (`.Cert`, `.Key`, `.CA`, `.CAChain`, `.Data`) that the caller keeps from
/// the volume while it is good; nil while the answer is missing.
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
        Ok(ctx.dependency(request).unwrap_or(Value::Nil))
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
        Ok(match ctx.dependency(request) {
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
        Ok(ctx.dependency(request).unwrap_or(Value::Nil))
    })
}
