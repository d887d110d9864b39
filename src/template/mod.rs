//! Vault Agent's template language: Go's `text/template` with
//! consul-template's functions, rendering secrets byte for byte as the
//! agent does. [`engine`] is the entry point; [`value`] the data model.

pub mod builtins;
pub mod decode;
pub mod engine;
pub mod error;
pub mod exec;
#[cfg(test)]
mod exec_tests;
pub mod float;
pub mod funcs;
#[cfg(test)]
mod fuzz_tests;
pub mod gofmt;
pub mod json;
pub mod lex;
pub mod library;
pub mod limits;
pub mod number;
pub mod parse;
pub mod quote;
pub mod secret;
pub mod slot;
pub mod value;
