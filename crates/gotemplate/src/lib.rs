//! Go's `text/template`, byte for byte: the lexer, parser and executor,
//! Go's values as templates see them (`interface{}` from `encoding/json`,
//! `json.Number`, pointers to structs), `fmt`'s verbs, `strconv`'s number
//! syntax and quoting, and `encoding/json`'s output.
//!
//! The engine does no I/O. A host adds functions through [`Funcs`]; data
//! that functions fetch from elsewhere reaches them through the host's own
//! per-execution state (`H` in [`Funcs<H>`], [`Ctx::host`]), so a host can
//! run a template, see what it asked for, fetch that, and run it again.
//!
//! ```
//! use gotemplate::{Funcs, Options, Template, decode_json};
//!
//! let funcs: Funcs = Funcs::new();
//! let options = Options::default();
//! let template = Template::parse(
//!     "{{ range $k, $v := . }}{{ $k }}={{ printf \"%v\" $v }};{{ end }}",
//!     &funcs,
//!     &options,
//! )
//! .unwrap();
//! let data = decode_json(r#"{"b":[1,2],"a":1.50}"#).unwrap();
//! let outcome = template.execute_with_dot(&funcs, &mut (), &options, data).unwrap();
//! assert_eq!(outcome.output, b"a=1.50;b=[1 2];");
//! ```
#![forbid(unsafe_code)]

mod builtins;
pub mod decode;
pub mod engine;
pub mod error;
mod exec;
pub mod float;
pub mod funcs;
pub mod gofmt;
pub mod json;
mod lex;
pub mod limits;
pub mod number;
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
