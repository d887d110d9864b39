#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod builtins;
pub mod decode;
pub mod engine;
pub mod error;
mod exec;
#[cfg(test)]
mod exec_tests;
pub mod float;
pub mod funcs;
pub mod gofmt;
pub mod json;
mod lex;
pub mod limits;
mod number;
mod parse;
pub mod quote;
mod slot;
pub mod strconv;
pub mod value;

pub use decode::decode_json;
pub use engine::{Options, Outcome, Template};
pub use error::{ErrorKind, TemplateError};
pub use funcs::{Ctx, Func, FuncError, FuncResult, Funcs, Param};
pub use limits::Limits;
pub use value::{GoStruct, Value};
