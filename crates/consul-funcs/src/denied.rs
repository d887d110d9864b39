//! Functions the agent has that would read, write or run things on the
//! node: they parse (as in the agent) but fail when called, naming
//! themselves and the reason.
//!
//! consul-template's Consul and Nomad functions (`key`, `service`,
//! `nomadVar`, ...) are deliberately not registered: OpenBao's agent does
//! not define them either, so a template using them fails to parse with
//! Go's own `function "key" not defined`, exactly as in the agent.

use crate::funcs::{Func, FuncError, Funcs, Param};

/// The refused functions and why.
pub(crate) const DENIED: &[(&str, &str)] = &[
    (
        "file",
        "file: reading files on the node is not allowed in vault-csi-driver templates",
    ),
    (
        "writeToFile",
        "writeToFile: writing files on the node is not allowed in vault-csi-driver templates",
    ),
    (
        "plugin",
        "plugin: running programs on the node is not allowed in vault-csi-driver templates",
    ),
    (
        "sockaddr",
        "sockaddr: inspecting the node's network is not allowed in vault-csi-driver templates",
    ),
    (
        "spew_dump",
        "spew_dump: writing to the driver's output is not allowed in vault-csi-driver templates",
    ),
    (
        "spew_printf",
        "spew_printf: writing to the driver's output is not allowed in vault-csi-driver templates",
    ),
    (
        "spew_sdump",
        "spew_sdump: Go value dumps are not supported in vault-csi-driver templates",
    ),
    (
        "spew_sprintf",
        "spew_sprintf: Go value dumps are not supported in vault-csi-driver templates",
    ),
];

/// Registers every refused function.
pub(crate) fn register(funcs: &mut Funcs) {
    for &(name, reason) in DENIED {
        funcs.insert(
            name,
            Func::variadic(&[], Param::Any, move |_, _| Err(FuncError::new(reason))),
        );
    }
}
