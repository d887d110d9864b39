//! `urlParse` and `urlJoin` (Go's `net/url`).

use super::add;
use crate::funcs::{Func, FuncError, Funcs, Param};

/// Registers the functions.
pub(super) fn register(funcs: &mut Funcs) {
    for name in ["urlParse", "urlJoin"] {
        let message = format!(
            "sprig_{name}: not supported in vault-csi-driver templates yet (Go's parser is not reproduced)"
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
