//! consul-template's function library, as the OpenBao agent (openbao-template
//! v1.0.1) defines it, for this engine: `base64Encode`, `toJSON`, `split`,
//! `regexReplaceAll`, `add`, `env`, ... with the agent's argument order,
//! conversions, output and failures, and without anything that would read
//! or run things on the node.
//!
//! Build it once per render with [`register`]: the functions see only the
//! Pod's environment given here and per-execution state kept by the engine.
//!
//! ```
//! use vault_csi_driver::template::engine::{Options, Template};
//! use vault_csi_driver::template::funcs::Funcs;
//! use vault_csi_driver::template::library;
//! use vault_csi_driver::template::secret::Secrets;
//!
//! let funcs = Funcs::standard();
//! let options = Options {
//!     env: library::pod_env("team-a", "web-0", "uid-1", "web"),
//!     ..Options::default()
//! };
//! let template = Template::parse(r#"{{ env "NAMESPACE" | toUpper }}"#, &funcs, &options).unwrap();
//! let outcome = template.execute(&funcs, &Secrets::new(), &options).unwrap();
//! assert_eq!(outcome.output, b"TEAM-A");
//! ```

use std::collections::BTreeMap;

use super::funcs::{Ctx, FuncError, Funcs};
use super::value::Value;

pub mod collections;
pub mod data;
pub mod denied;
pub mod digest;
pub mod encoding;
pub mod env;
pub mod gotime;
pub mod math;
pub mod regex;
pub mod scratch;
pub mod strconv;
pub mod strings;
pub mod title;
mod title_tables;
pub mod toml;
pub mod yaml;
pub mod yaml_parse;

/// The Pod's environment as `env`, `envOrDefault` and `mustEnv` see it:
/// `NAMESPACE`, `POD_NAME`, `POD_UID`, `SERVICE_ACCOUNT`, never the node's.
pub type PodEnv = BTreeMap<String, String>;

/// The environment of a Pod, from the identity kubelet gives the driver.
pub fn pod_env(namespace: &str, pod_name: &str, pod_uid: &str, service_account: &str) -> PodEnv {
    [
        ("NAMESPACE", namespace),
        ("POD_NAME", pod_name),
        ("POD_UID", pod_uid),
        ("SERVICE_ACCOUNT", service_account),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Adds every function of the library to `funcs`, replacing functions of
/// the same name (none of the engine's standard ones: `secret` stays).
pub fn register(funcs: &mut Funcs) {
    strings::register(funcs);
    encoding::register(funcs);
    data::register(funcs);
    math::register(funcs);
    collections::register(funcs);
    regex::register(funcs);
    env::register(funcs);
    gotime::register(funcs, gotime::system_now);
    scratch::register(funcs);
    denied::register(funcs);
}

/// Bytes of string work that cost one unit of the execution budget.
const BYTES_PER_UNIT: usize = 16;

/// Charges the budget for producing `bytes` bytes, before producing them.
pub(crate) fn charge_bytes(ctx: &mut Ctx<'_>, bytes: usize) -> Result<(), FuncError> {
    let units = bytes / BYTES_PER_UNIT + 1;
    ctx.charge(u64::try_from(units).unwrap_or(u64::MAX))
}

/// The text of a string argument (the engine has checked its type).
pub(crate) fn text(value: &Value) -> &str {
    match value {
        Value::String(s) => s,
        _ => "",
    }
}

/// A string result.
pub(crate) fn string(s: impl Into<String>) -> Value {
    Value::String(s.into())
}
