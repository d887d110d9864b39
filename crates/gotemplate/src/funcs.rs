//! The registry of template functions beyond Go's builtins.
//!
//! A function declares its parameters as Go types ([`Param`]); the engine
//! checks and converts arguments exactly as `text/template` does for a Go
//! function of that signature (so `toUpper` on a `json.Number` fails with
//! `wrong type for value; expected string; got json.Number`), then calls
//! the closure with plain [`Value`]s:
//!
//! ```
//! use gotemplate::{Func, FuncError, Funcs, Param, Value};
//!
//! let mut funcs: Funcs = Funcs::new();
//! funcs.insert(
//!     "toUpper",
//!     Func::new(&[Param::String], |_ctx, args| match &args[0] {
//!         Value::String(s) => Ok(Value::String(s.to_uppercase())),
//!         _ => Err(FuncError::new("expected a string")),
//!     }),
//! );
//! ```
//!
//! A host that needs per-execution state (data fetched from elsewhere, a
//! scratch space) names its type as `H`: every function then reaches it
//! through [`Ctx::host`], and [`Template::execute`] takes a `&mut H`. The
//! engine never looks inside it.
//!
//! Rules for implementations: return `Value::Nil` for Go's nil interface;
//! never put a secret value in a [`FuncError`] (messages reach logs);
//! charge [`Ctx::charge`] for work that grows with the input (loops, large
//! outputs); do no I/O during execution: fetch between executions.
//!
//! [`Template::execute`]: crate::engine::Template::execute

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

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

type Body<H> = dyn Fn(&mut Ctx<'_, H>, &[Value]) -> FuncResult + Send + Sync;

/// A function: its parameter types and its body, which sees the host's
/// state `H` through its [`Ctx`].
pub struct Func<H = ()> {
    params: Vec<Param>,
    variadic: Option<Param>,
    binary: bool,
    body: Arc<Body<H>>,
}

impl<H> Clone for Func<H> {
    fn clone(&self) -> Self {
        Func {
            params: self.params.clone(),
            variadic: self.variadic,
            binary: self.binary,
            body: Arc::clone(&self.body),
        }
    }
}

impl<H> fmt::Debug for Func<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Func")
            .field("params", &self.params)
            .field("variadic", &self.variadic)
            .finish_non_exhaustive()
    }
}

impl<H> Func<H> {
    /// A function with exactly these parameters.
    pub fn new(
        params: &[Param],
        body: impl Fn(&mut Ctx<'_, H>, &[Value]) -> FuncResult + Send + Sync + 'static,
    ) -> Func<H> {
        Func {
            params: params.to_vec(),
            variadic: None,
            binary: false,
            body: Arc::new(body),
        }
    }

    /// A function with these fixed parameters followed by any number of
    /// `rest` (Go's `...T`).
    pub fn variadic(
        params: &[Param],
        rest: Param,
        body: impl Fn(&mut Ctx<'_, H>, &[Value]) -> FuncResult + Send + Sync + 'static,
    ) -> Func<H> {
        Func {
            params: params.to_vec(),
            variadic: Some(rest),
            binary: false,
            body: Arc::new(body),
        }
    }

    /// The same function, also called with binary (non-UTF-8) strings
    /// ([`Value::Bytes`]) as arguments; other functions are refused them.
    pub fn binary(mut self) -> Func<H> {
        self.binary = true;
        self
    }

    /// Whether the function takes binary strings.
    pub fn takes_binary(&self) -> bool {
        self.binary
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
    pub fn call(&self, ctx: &mut Ctx<'_, H>, args: &[Value]) -> FuncResult {
        (self.body)(ctx, args)
    }
}

/// Named functions available to templates, on top of Go's builtins (which
/// a function of the same name overrides, as in Go), and what the host
/// tells the engine about its own struct types: their fields (so a nil
/// pointer of the type still knows them) and their methods.
pub struct Funcs<H = ()> {
    map: HashMap<String, Func<H>>,
    /// Methods by struct type, then by name.
    methods: HashMap<String, HashMap<String, Func<H>>>,
    struct_fields: HashMap<String, &'static [&'static str]>,
}

impl<H> Default for Funcs<H> {
    fn default() -> Self {
        Funcs {
            map: HashMap::new(),
            methods: HashMap::new(),
            struct_fields: HashMap::new(),
        }
    }
}

impl<H> Clone for Funcs<H> {
    fn clone(&self) -> Self {
        Funcs {
            map: self.map.clone(),
            methods: self.methods.clone(),
            struct_fields: self.struct_fields.clone(),
        }
    }
}

impl<H> fmt::Debug for Funcs<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.map.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Funcs")
            .field("names", &names)
            .finish_non_exhaustive()
    }
}

impl<H> Funcs<H> {
    /// No functions but the builtins.
    pub fn new() -> Funcs<H> {
        Funcs::default()
    }

    /// Adds or replaces a function.
    pub fn insert(&mut self, name: &str, func: Func<H>) {
        self.map.insert(name.to_string(), func);
    }

    /// Registers a name that parses but fails when called, for functions
    /// that must not run in this host.
    pub fn deny(&mut self, name: &str, reason: &'static str) {
        self.insert(
            name,
            Func::variadic(&[], Param::Any, move |_, _| Err(FuncError::new(reason))),
        );
    }

    /// The function of that name.
    pub fn get(&self, name: &str) -> Option<&Func<H>> {
        self.map.get(name)
    }

    /// Whether a function of that name is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Declares the exported fields of the struct type `type_name` (as a
    /// [`GoStruct`](crate::value::GoStruct) names it), in declaration order:
    /// a nil pointer of the type then fails on them as Go's does ("nil
    /// pointer evaluating"), and on other names with "can't evaluate field".
    pub fn insert_struct_fields(&mut self, type_name: &str, fields: &'static [&'static str]) {
        self.struct_fields.insert(type_name.to_string(), fields);
    }

    /// The declared fields of a struct type.
    pub fn struct_fields(&self, type_name: &str) -> Option<&'static [&'static str]> {
        self.struct_fields.get(type_name).copied()
    }

    /// Adds a method to the struct type `type_name`: `{{ $v.Name args }}`
    /// on a value of that type calls it, with Go's argument checks.
    pub fn insert_method(&mut self, type_name: &str, name: &str, func: Func<H>) {
        self.methods
            .entry(type_name.to_string())
            .or_default()
            .insert(name.to_string(), func);
    }

    /// Whether the struct type has any registered method.
    pub fn has_methods(&self, type_name: &str) -> bool {
        self.methods.contains_key(type_name)
    }

    /// The method `name` of the struct type `type_name`.
    pub fn method(&self, type_name: &str, name: &str) -> Option<&Func<H>> {
        self.methods.get(type_name)?.get(name)
    }
}

/// What a function sees of the execution: the host's state, the step
/// budget, the receiver of a method call and the set of templates being
/// executed.
pub struct Ctx<'a, H = ()> {
    pub(crate) host: &'a mut H,
    pub(crate) budget: &'a mut u64,
    pub(crate) receiver: Option<Value>,
    pub(crate) set: Option<&'a dyn NestedExecution<H>>,
}

impl<H> Ctx<'_, H> {
    /// The host's per-execution state.
    pub fn host(&mut self) -> &mut H {
        self.host
    }

    /// The host's per-execution state, read-only.
    pub fn host_ref(&self) -> &H {
        self.host
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

    /// The value a method was called on (`None` for a plain function).
    pub fn receiver(&self) -> Option<&Value> {
        self.receiver.as_ref()
    }

    /// Executes the template `name` of the set being executed with `dot`
    /// as its data, as Go's `Template.ExecuteTemplate` does on the set: a
    /// fresh scope (`$` is `dot`), the same options, functions, host state
    /// and budget. The error is Go's, in full (`template: no template "x"
    /// associated with template ""`, or the nested execution's error).
    pub fn execute_template(&mut self, name: &str, dot: Value) -> Result<Vec<u8>, FuncError> {
        let Some(set) = self.set else {
            return Err(FuncError::new(format!(
                "template: no template {} associated with template \"\"",
                crate::quote::quote(name, false)
            )));
        };
        set.execute(self.host, self.budget, name, dot)
            .map_err(FuncError::new)
    }
}

/// Runs another template of the set being executed, for
/// [`Ctx::execute_template`]; the executor implements it, so this module
/// needs nothing of the executor's.
pub(crate) trait NestedExecution<H> {
    /// Executes the template `name` with `dot`, sharing `host` and `budget`.
    fn execute(
        &self,
        host: &mut H,
        budget: &mut u64,
        name: &str,
        dot: Value,
    ) -> Result<Vec<u8>, String>;
}
