//! `env`, `envOrDefault` and `mustEnv`, over the Pod's environment only:
//! nothing of the node's process environment is ever visible.

use crate::args::{string, text};
use crate::funcs::{Ctx, Func, FuncError, Funcs, Param};

/// Registers `env`, `envOrDefault` and `mustEnv`, which read the Pod's
/// environment from the execution options, never the node's.
pub(crate) fn register(funcs: &mut Funcs) {
    funcs.insert(
        "env",
        Func::new(&[Param::String], |ctx, a| {
            Ok(string(lookup(ctx, text(&a[0])).unwrap_or_default()))
        }),
    );
    funcs.insert(
        "envOrDefault",
        Func::new(&[Param::String, Param::String], |ctx, a| {
            Ok(string(
                lookup(ctx, text(&a[0])).unwrap_or_else(|| text(&a[1]).to_string()),
            ))
        }),
    );
    funcs.insert(
        "mustEnv",
        Func::new(&[Param::String], |ctx, a| {
            let name = text(&a[0]);
            match ctx.host_ref().env(name) {
                Some(value) if !value.is_empty() => Ok(string(value)),
                _ => Err(FuncError::new(format!(
                    "required environment variable {name} is empty"
                ))),
            }
        }),
    );
}

/// The agent reads `BAO_X` as `VAULT_X` when only the latter is set.
fn lookup(ctx: &Ctx<'_>, name: &str) -> Option<String> {
    if let Some(value) = ctx.host_ref().env(name) {
        return Some(value.to_string());
    }
    let rest = name.strip_prefix("BAO_")?;
    ctx.host_ref()
        .env(&format!("VAULT_{rest}"))
        .map(str::to_string)
}
