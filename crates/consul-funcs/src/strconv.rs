//! `parseBool`, `parseInt`, `parseUint`, `parseFloat`: Go's `strconv`
//! parsers (base 10 for integers) from the engine, with an empty string
//! parsing as zero. Errors name the input as `[redacted]`: it may be a
//! secret.

use crate::args::text;
use crate::funcs::{Func, FuncError, Funcs, Param};
use gotemplate::strconv::{self, NumError};
use gotemplate::value::Value;

/// Registers the parsers.
pub(crate) fn register(funcs: &mut Funcs) {
    funcs.insert(
        "parseBool",
        Func::new(&[Param::String], |_, a| {
            let s = text(&a[0]);
            if s.is_empty() {
                return Ok(Value::Bool(false));
            }
            strconv::parse_bool(s)
                .map(Value::Bool)
                .map_err(|e| failure("parseBool", &e))
        }),
    );
    funcs.insert(
        "parseInt",
        Func::new(&[Param::String], |_, a| {
            let s = text(&a[0]);
            if s.is_empty() {
                return Ok(Value::Int64(0));
            }
            strconv::parse_int(s, 10, 64)
                .map(Value::Int64)
                .map_err(|e| failure("parseInt", &e))
        }),
    );
    funcs.insert(
        "parseUint",
        Func::new(&[Param::String], |_, a| {
            let s = text(&a[0]);
            if s.is_empty() {
                return Ok(Value::Uint(0));
            }
            strconv::parse_uint(s, 10, 64)
                .map(Value::Uint)
                .map_err(|e| failure("parseUint", &e))
        }),
    );
    funcs.insert(
        "parseFloat",
        Func::new(&[Param::String], |_, a| {
            let s = text(&a[0]);
            if s.is_empty() {
                return Ok(Value::Float(0.0));
            }
            strconv::parse_float(s)
                .map(Value::Float)
                .map_err(|e| failure("parseFloat", &e))
        }),
    );
}

/// consul-template wraps the `strconv` error in the function's name.
pub(crate) fn failure(name: &str, why: &NumError) -> FuncError {
    FuncError::new(format!("{name}: {}", why.redacted()))
}

#[cfg(test)]
mod tests {
    use crate::request::Secrets;
    use crate::test_support::execute;
    use gotemplate::{Options, Template};

    fn run(text: &str) -> Result<String, String> {
        let funcs = crate::standard();
        let options = Options::default();
        let template = Template::parse(text, &funcs, &options).map_err(|e| e.to_string())?;
        execute(&template, &funcs, &Secrets::new(), &options)
            .map(|outcome| String::from_utf8(outcome.output).unwrap())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn empty_text_parses_as_zero() {
        assert_eq!(
            run(r#"{{ parseInt "" }} {{ parseUint "" }} {{ parseFloat "" }} {{ parseBool "" }}"#),
            Ok("0 0 0 false".into())
        );
    }

    #[test]
    fn parse_int_is_base_ten_without_underscores() {
        assert_eq!(run(r#"{{ parseInt "-0042" }}"#), Ok("-42".into()));
        for text in ["0x10", "1_000"] {
            let e = run(&format!("{{{{ parseInt {text:?} }}}}")).unwrap_err();
            assert!(
                e.ends_with(
                    "error calling parseInt: parseInt: strconv.ParseInt: parsing [redacted]: invalid syntax"
                ),
                "{e}"
            );
        }
    }

    #[test]
    fn parse_int_overflow_is_out_of_range() {
        let e = run(r#"{{ parseInt "9223372036854775808" }}"#).unwrap_err();
        assert!(
            e.ends_with("parseInt: strconv.ParseInt: parsing [redacted]: value out of range"),
            "{e}"
        );
    }

    #[test]
    fn parse_uint_refuses_a_sign() {
        let e = run(r#"{{ parseUint "+5" }}"#).unwrap_err();
        assert!(
            e.ends_with("parseUint: strconv.ParseUint: parsing [redacted]: invalid syntax"),
            "{e}"
        );
    }

    #[test]
    fn parse_float_reads_go_float_syntax() {
        assert_eq!(
            run(
                r#"{{ parseFloat "1_000.5" }} {{ parseFloat "0x1p-1074" }} {{ parseFloat "-Inf" }}"#
            ),
            Ok("1000.5 5e-324 -Inf".into())
        );
    }

    #[test]
    fn parse_float_overflow_is_out_of_range() {
        let e = run(r#"{{ parseFloat "1e400" }}"#).unwrap_err();
        assert!(
            e.ends_with("parseFloat: strconv.ParseFloat: parsing [redacted]: value out of range"),
            "{e}"
        );
    }

    #[test]
    fn parse_bool_refuses_yes() {
        let e = run(r#"{{ parseBool "yes" }}"#).unwrap_err();
        assert!(
            e.ends_with("parseBool: strconv.ParseBool: parsing [redacted]: invalid syntax"),
            "{e}"
        );
    }
}
