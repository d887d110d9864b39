//! consul-template's function library as the OpenBao agent (openbao-template
//! v1.0.1) defines it, for the [`gotemplate`] engine: `secret`, `pkiCert`,
//! `base64Encode`, `toJSON`, `split`, `regexReplaceAll`, `add`, `env`, ...
//! with the agent's argument order, conversions, output and failures, and
//! without anything that would read or run things on the node.
//!
//! It depends on the engine, never the reverse: the engine knows nothing of
//! Vault. Data comes in through [`Execution`], this library's per-execution
//! state: a template run records the [`SecretRequest`]s it makes; the host
//! fetches them (this crate does no I/O) and runs it again, which
//! [`render`] does for a whole set of templates.
//!
//! ```
//! use std::sync::Arc;
//! use consul_funcs::{Job, Secrets, pod_env, render_ready, secret_from_response, standard};
//! use gotemplate::{Options, Template, decode_json};
//!
//! let funcs = standard();
//! let options = Options::default();
//! let template = Template::parse(
//!     r#"{{ env "NAMESPACE" | toUpper }}: {{ with secret "secret/app" }}{{ .Data.data.user }}{{ end }}"#,
//!     &funcs,
//!     &options,
//! )
//! .unwrap();
//! let env = Arc::new(pod_env("team-a", "web-0", "uid-1", "web"));
//! let mut secrets = Secrets::new();
//! let rendered = render_ready(
//!     &[Job { template: &template, options: &options }],
//!     &funcs,
//!     &env,
//!     &mut secrets,
//!     |request| {
//!         // The host reads Vault here (`request.path`, `request.kind`, ...).
//!         assert_eq!(request.path, "secret/app");
//!         let body = r#"{"data":{"data":{"user":"bob"}}}"#;
//!         Ok::<_, String>((secret_from_response(&decode_json(body).unwrap()), ()))
//!     },
//! )
//! .unwrap();
//! assert_eq!(rendered.outputs[0], b"TEAM-A: bob");
//! assert_eq!(rendered.rounds, 2);
//! ```
#![forbid(unsafe_code)]

mod args;
mod collections;
mod data;
mod denied;
mod encoding;
mod env;
#[cfg(test)]
mod exec_tests;
mod execute_template;
mod funcs;
#[cfg(test)]
mod fuzz_tests;
pub mod gotime;
mod math;
mod mergo;
mod regex;
mod render;
mod request;
mod scratch;
mod secret;
pub mod sprig;
mod strconv;
mod strings;
#[cfg(test)]
mod test_support;
mod title;
mod title_tables;
mod toml;
mod yaml;
mod yaml_parse;

pub use funcs::{Ctx, Execution, Func, Funcs, PodEnv, pod_env};
pub use render::{Answers, Job, Outcome, RenderError, Rendered, execute, render, render_ready};
pub use request::{RequestKind, SecretRequest, Secrets};
pub use secret::{pem_encoded, secret_from_response, secret_without_content};

/// Every function a template may call: `secret`, `secrets`, `pkiCert` and
/// the rest of the library.
pub fn standard() -> Funcs {
    let mut funcs = Funcs::new();
    register(&mut funcs);
    funcs
}

/// Adds every function of the library to `funcs`, replacing functions of
/// the same name.
pub fn register(funcs: &mut Funcs) {
    secret::register(funcs);
    strings::register(funcs);
    encoding::register(funcs);
    data::register(funcs);
    math::register(funcs);
    collections::register(funcs);
    regex::register(funcs);
    env::register(funcs);
    gotime::register(funcs, gotime::system_now);
    scratch::register(funcs);
    execute_template::register(funcs);
    sprig::register(funcs, gotime::system_now);
    denied::register(funcs);
}
