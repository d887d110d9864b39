//! The engine's entry points: parse a template once, then execute it as
//! often as needed.
//!
//! ```
//! use gotemplate::{Ctx, Func, Funcs, Options, Template, Value};
//!
//! // A host with its own per-execution state: here, a counter.
//! let mut funcs: Funcs<u32> = Funcs::new();
//! funcs.insert(
//!     "next",
//!     Func::new(&[], |ctx: &mut Ctx<'_, u32>, _| {
//!         *ctx.host() += 1;
//!         Ok(Value::Number(ctx.host().to_string()))
//!     }),
//! );
//! let options = Options::default();
//! let template = Template::parse("{{ next }},{{ next }},{{ len \"héllo\" }}", &funcs, &options).unwrap();
//! let mut calls = 0;
//! let outcome = template.execute(&funcs, &mut calls, &options).unwrap();
//! assert_eq!(outcome.output, b"1,2,6");
//! assert_eq!(calls, 2);
//! ```

use std::collections::HashMap;

use super::builtins;
use super::error::{ErrorKind, TemplateError};
use super::exec::{self, Env};
use super::funcs::Funcs;
use super::limits::Limits;
use super::parse::{self, Tree};
use super::value::Value;

pub use super::exec::Outcome;

/// How to parse and execute a template.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    /// The template's name in messages; the agent uses `""`.
    pub name: String,
    /// Left delimiter (`""`: `{{`).
    pub left_delim: String,
    /// Right delimiter (`""`: `}}`).
    pub right_delim: String,
    /// `error_on_missing_key`: a missing map key fails execution.
    pub missing_key_error: bool,
    /// Resource limits.
    pub limits: Limits,
}

/// A parsed template: the top-level tree and every `define`/`block`.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    name: String,
    text: String,
    trees: HashMap<String, Tree>,
}

impl Template {
    /// Parses `text`. Functions must exist in `funcs` or be builtins, as
    /// Go checks at parse time.
    pub fn parse<H>(
        text: &str,
        funcs: &Funcs<H>,
        options: &Options,
    ) -> Result<Template, TemplateError> {
        let max = options.limits.max_template_bytes;
        if text.len() > max {
            return Err(TemplateError::new(
                ErrorKind::Limit,
                format!(
                    "template: {}: template exceeds the limit of {max} bytes",
                    options.name
                ),
            ));
        }
        let has_function = |name: &str| funcs.contains(name) || builtins::signature(name).is_some();
        let trees = parse::parse(
            &options.name,
            text,
            &options.left_delim,
            &options.right_delim,
            &has_function,
        )
        .map_err(|e| TemplateError::new(ErrorKind::Parse, e.0))?;
        Ok(Template {
            name: options.name.clone(),
            text: text.to_string(),
            trees,
        })
    }

    /// The top-level template's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Names of all templates in the set (top level, `define`, `block`).
    pub fn defined(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.trees.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// One execution with no data (dot is nil, as the agent runs its
    /// templates); `host` is the state the host's functions share (see
    /// [`Ctx::host`](crate::funcs::Ctx::host)).
    pub fn execute<H>(
        &self,
        funcs: &Funcs<H>,
        host: &mut H,
        options: &Options,
    ) -> Result<Outcome, TemplateError> {
        self.execute_with_dot(funcs, host, options, Value::Nil)
    }

    /// One execution with `data` as dot (and `$`), as Go's
    /// `Template.Execute(w, data)`.
    pub fn execute_with_dot<H>(
        &self,
        funcs: &Funcs<H>,
        host: &mut H,
        options: &Options,
        data: Value,
    ) -> Result<Outcome, TemplateError> {
        let env = Env {
            funcs,
            missing_key_error: options.missing_key_error,
            limits: options.limits,
        };
        exec::execute(
            &self.trees,
            &self.text,
            &self.name,
            &self.name,
            &env,
            host,
            data,
        )
    }
}

#[cfg(test)]
mod thread_safety {
    use super::*;

    fn shareable<T: Send + Sync>() {}

    #[test]
    fn parsed_templates_functions_and_options_can_be_shared_across_threads() {
        shareable::<Template>();
        shareable::<Funcs>();
        shareable::<Options>();
    }
}
