//! The engine's entry points: parse a template once, execute it against
//! the secrets fetched so far, and drive the execute-fetch rounds.
//!
//! ```
//! use vault_csi_driver::template::engine::{Options, Template, render};
//! use vault_csi_driver::template::funcs::Funcs;
//! use vault_csi_driver::template::secret::{Secrets, secret_from_response};
//! use vault_csi_driver::template::value::decode_json;
//!
//! let funcs = Funcs::standard();
//! let options = Options::default();
//! let template = Template::parse(
//!     r#"{{ with secret "secret/app" }}user={{ .Data.data.user }}{{ end }}"#,
//!     &funcs,
//!     &options,
//! )
//! .unwrap();
//! let mut secrets = Secrets::new();
//! let rendered = render(&template, &funcs, &options, &mut secrets, |request| {
//!     // The caller reads Vault here (`request.path`, `request.kind`, ...).
//!     assert_eq!(request.path, "secret/app");
//!     let body = r#"{"data":{"data":{"user":"bob"}}}"#;
//!     Ok::<_, String>(secret_from_response(&decode_json(body).unwrap()))
//! })
//! .unwrap();
//! assert_eq!(rendered.output, b"user=bob");
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;

use super::builtins;
use super::error::{ErrorKind, TemplateError};
use super::exec::{self, Env};
use super::funcs::Funcs;
use super::limits::Limits;
use super::parse::{self, Tree};
use super::secret::{SecretRequest, Secrets};
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
    /// The Pod's environment, for `env` and friends.
    pub env: BTreeMap<String, String>,
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
    pub fn parse(text: &str, funcs: &Funcs, options: &Options) -> Result<Template, TemplateError> {
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

    /// One execution with the answers in `secrets`. The output is final
    /// only when [`Outcome::missing`] is empty; otherwise fetch those and
    /// execute again (see [`render`]).
    pub fn execute(
        &self,
        funcs: &Funcs,
        secrets: &Secrets,
        options: &Options,
    ) -> Result<Outcome, TemplateError> {
        let env = Env {
            funcs,
            secrets,
            env: &options.env,
            missing_key_error: options.missing_key_error,
            limits: options.limits,
        };
        exec::execute(&self.trees, &self.text, &self.name, &self.name, &env)
    }
}

/// A finished rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The file's contents.
    pub output: Vec<u8>,
    /// The requests the final execution made (for refresh scheduling).
    pub used: Vec<SecretRequest>,
    /// Executions it took (1 when nothing was missing).
    pub rounds: usize,
}

/// Why [`render`] failed.
#[derive(Debug, Clone, PartialEq)]
pub enum RenderError<E> {
    /// Parsing or executing the template failed (in any round: the agent
    /// too fails on an error while data is still missing).
    Template(TemplateError),
    /// The caller could not fetch a request.
    Fetch {
        /// What was asked.
        request: SecretRequest,
        /// The caller's error.
        error: E,
    },
    /// New requests kept appearing after [`Limits::max_rounds`] rounds.
    TooManyRounds(usize),
}

impl<E: fmt::Display> fmt::Display for RenderError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::Template(e) => write!(f, "{e}"),
            RenderError::Fetch { request, error } => {
                write!(f, "fetching {}: {error}", request.path)
            }
            RenderError::TooManyRounds(n) => write!(
                f,
                "secrets still missing after {n} rounds (each depending on the last)"
            ),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for RenderError<E> {}

/// Executes `template` until every request it makes has an answer:
/// missing requests go to `fetch` (once each), whose answers are added to
/// `secrets` (shared with other templates of the same volume if the caller
/// wishes), bounded by [`Limits::max_rounds`].
pub fn render<E>(
    template: &Template,
    funcs: &Funcs,
    options: &Options,
    secrets: &mut Secrets,
    mut fetch: impl FnMut(&SecretRequest) -> Result<Value, E>,
) -> Result<Rendered, RenderError<E>> {
    let max_rounds = options.limits.max_rounds.max(1);
    for round in 1..=max_rounds {
        let outcome = template
            .execute(funcs, secrets, options)
            .map_err(RenderError::Template)?;
        if outcome.missing.is_empty() {
            return Ok(Rendered {
                output: outcome.output,
                used: outcome.used,
                rounds: round,
            });
        }
        for request in outcome.missing {
            if secrets.contains(&request) {
                continue;
            }
            let value = fetch(&request).map_err(|error| RenderError::Fetch {
                request: request.clone(),
                error,
            })?;
            secrets.insert(request, value);
        }
    }
    Err(RenderError::TooManyRounds(max_rounds))
}

/// [`render`] with an asynchronous fetch (the driver's Vault client):
/// executions run between fetches, never across an `.await`, so the future
/// is `Send` when the fetch future is.
pub async fn render_async<E, F, Fut>(
    template: &Template,
    funcs: &Funcs,
    options: &Options,
    secrets: &mut Secrets,
    mut fetch: F,
) -> Result<Rendered, RenderError<E>>
where
    F: FnMut(SecretRequest) -> Fut,
    Fut: Future<Output = Result<Value, E>>,
{
    let max_rounds = options.limits.max_rounds.max(1);
    for round in 1..=max_rounds {
        let outcome = template
            .execute(funcs, secrets, options)
            .map_err(RenderError::Template)?;
        if outcome.missing.is_empty() {
            return Ok(Rendered {
                output: outcome.output,
                used: outcome.used,
                rounds: round,
            });
        }
        for request in outcome.missing {
            if secrets.contains(&request) {
                continue;
            }
            match fetch(request.clone()).await {
                Ok(value) => secrets.insert(request, value),
                Err(error) => return Err(RenderError::Fetch { request, error }),
            }
        }
    }
    Err(RenderError::TooManyRounds(max_rounds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::secret::secret_from_response;
    use crate::template::value::decode_json;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    /// Polls a future that never waits (the fetch below is ready at once).
    fn block_on<F: Future>(future: F) -> F::Output {
        let mut future = pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn async_render_fetches_then_renders() {
        let funcs = Funcs::standard();
        let options = Options::default();
        let t = Template::parse(
            "{{ with secret \"a\" }}{{ .Data.x }}{{ end }}",
            &funcs,
            &options,
        )
        .unwrap();
        let mut secrets = Secrets::new();
        let future = render_async(&t, &funcs, &options, &mut secrets, |request| async move {
            assert_eq!(request.path, "a");
            Ok::<_, String>(secret_from_response(
                &decode_json(r#"{"data":{"x":"y"}}"#).unwrap(),
            ))
        });
        assert_send(&future);
        let rendered = block_on(future).unwrap();
        assert_eq!(
            (rendered.output.as_slice(), rendered.rounds),
            (&b"y"[..], 2)
        );
    }

    #[test]
    fn fetch_errors_name_the_request() {
        let funcs = Funcs::standard();
        let options = Options::default();
        let t = Template::parse("{{ secret \"a/b\" }}", &funcs, &options).unwrap();
        let e = render(&t, &funcs, &options, &mut Secrets::new(), |_| Err("denied")).unwrap_err();
        assert_eq!(e.to_string(), "fetching a/b: denied");
    }

    #[test]
    fn endless_dependency_chains_stop() {
        let funcs = Funcs::standard();
        let mut options = Options::default();
        options.limits.max_rounds = 3;
        // Each answer names a new path to read.
        let t = Template::parse(
            "{{ with secret \"p0\" }}{{ with secret .Data.next }}{{ with secret .Data.next }}{{ with secret .Data.next }}{{ end }}{{ end }}{{ end }}{{ end }}",
            &funcs,
            &options,
        )
        .unwrap();
        let mut n = 0;
        let e = render(&t, &funcs, &options, &mut Secrets::new(), |_| {
            n += 1;
            Ok::<_, String>(secret_from_response(
                &decode_json(&format!(r#"{{"data":{{"next":"p{n}"}}}}"#)).unwrap(),
            ))
        })
        .unwrap_err();
        assert_eq!(e, RenderError::TooManyRounds(3));
    }
}

#[cfg(test)]
mod thread_safety {
    use super::*;

    fn shareable<T: Send + Sync>() {}

    #[test]
    fn parsed_templates_functions_and_answers_can_be_shared_across_threads() {
        shareable::<Template>();
        shareable::<Funcs>();
        shareable::<Secrets>();
        shareable::<Options>();
    }
}
