//! `semver` and `semverCompare` (Masterminds/semver v3.4.0).

use super::add;
use crate::funcs::{Func, FuncError, Funcs, Param};

/// Registers the functions.
pub(super) fn register(funcs: &mut Funcs) {
    for name in ["semver", "semverCompare"] {
        let message = format!(
            "sprig_{name}: not supported in vault-csi-driver templates yet (Masterminds/semver rules are not reproduced)"
        );
        add(
            funcs,
            name,
            Func::variadic(&[], Param::Any, move |_, _| {
                Err(FuncError::new(message.clone()))
            }),
        );
    }
}
