//! consul-template's `executeTemplate "name" [data]`: runs a template
//! `define`d in the same text with `data` as dot (nil without it) and
//! returns what it wrote, as a string that can be piped on.

use crate::funcs::{Func, FuncError, Funcs, Param};
use gotemplate::value::Value;

/// Registers `executeTemplate`.
pub(crate) fn register(funcs: &mut Funcs) {
    funcs.insert(
        "executeTemplate",
        Func::variadic(&[Param::String], Param::Any, |ctx, args| {
            let name = match &args[0] {
                Value::String(s) => s.as_str(),
                _ => "",
            };
            let dot = match &args[1..] {
                [] => Value::Nil,
                [one] => one.clone(),
                more => {
                    return Err(FuncError::new(format!(
                        "executeTemplate: wrong number of arguments, expected 1 or 2, but got {}",
                        more.len() + 1
                    )));
                }
            };
            let out = ctx.execute_template(name, dot)?;
            Ok(Value::from_bytes(out))
        }),
    );
}
