//! Numeric constants in templates, read with Go's rules: every type that
//! can hold the value is recorded (`1` is an int, a uint and a float),
//! like Go's ideal constants. The text is read by [`crate::strconv`], as
//! Go's parser reads it with `strconv.ParseInt(text, 0, 64)`, `ParseUint`
//! and `ParseFloat`; character constants by `strconv.UnquoteChar`.

use super::lex::ItemKind;
use super::{quote, strconv};

/// A number literal and the values it can stand for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Number {
    /// The literal as written.
    pub text: String,
    /// Set when the value fits an `int64`.
    pub int: Option<i64>,
    /// Set when the value fits a `uint64`.
    pub uint: Option<u64>,
    /// Set when the value is a (finite) float.
    pub float: Option<f64>,
    /// Set for complex constants (`1i`, `1+2i`): real and imaginary parts.
    pub complex: Option<(f64, f64)>,
}

/// Parses a number, character or complex literal the way Go's template
/// parser does; the error text is Go's.
pub(crate) fn parse(text: &str, kind: ItemKind) -> Result<Number, String> {
    let mut n = Number {
        text: text.to_string(),
        int: None,
        uint: None,
        float: None,
        complex: None,
    };
    match kind {
        ItemKind::CharConstant => {
            let body = text.get(1..).unwrap_or("");
            let (c, tail) = quote::unquote_char(body, '\'').map_err(|e| e.to_string())?;
            if tail != "'" {
                return Err(format!("malformed character constant: {text}"));
            }
            let code = c.code();
            n.int = Some(i64::from(code));
            n.uint = Some(u64::from(code));
            n.float = Some(f64::from(code));
            return Ok(n);
        }
        ItemKind::Complex => {
            let (re, im) = parse_complex(text)?;
            n.set_complex(re, im);
            return Ok(n);
        }
        _ => {}
    }
    // Go's parser: an imaginary literal is complex when its float part reads.
    if let Some(imag) = text.strip_suffix('i')
        && let Ok(im) = strconv::parse_float(imag)
    {
        n.set_complex(0.0, im);
        return Ok(n);
    }
    n.uint = strconv::parse_uint(text, 0, 64).ok();
    if let Ok(i) = strconv::parse_int(text, 0, 64) {
        n.int = Some(i);
        if i == 0 {
            // "-0" is an unsigned zero too.
            n.uint = Some(0);
        }
    }
    if let Some(i) = n.int {
        n.float = Some(i as f64);
    } else if let Some(u) = n.uint {
        n.float = Some(u as f64);
    } else if let Ok(f) = strconv::parse_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            // Looks like an integer but did not fit: too large.
            return Err(format!("integer overflow: {}", quote::quote(text, false)));
        }
        n.float = Some(f);
        // Go keeps the integer readings of an integral float that fits.
        if f.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
            n.int = Some(f as i64);
        }
        if f.fract() == 0.0 && (0.0..1.844_674_407_370_955_2e19).contains(&f) {
            n.uint = Some(f as u64);
        }
    }
    if n.int.is_none() && n.uint.is_none() && n.float.is_none() {
        return Err(format!(
            "illegal number syntax: {}",
            quote::quote(text, false)
        ));
    }
    Ok(n)
}

impl Number {
    /// A complex constant, with the readings Go's `simplifyComplex` adds
    /// when the imaginary part is zero.
    fn set_complex(&mut self, re: f64, im: f64) {
        self.complex = Some((re, im));
        if im == 0.0 {
            self.float = Some(re);
            if re.fract() == 0.0
                && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&re)
            {
                self.int = Some(re as i64);
            }
            if re.fract() == 0.0 && (0.0..1.844_674_407_370_955_2e19).contains(&re) {
                self.uint = Some(re as u64);
            }
        }
    }
}

/// A complex literal as `fmt.Sscan` reads it: a real part, a signed
/// imaginary part, and `i`.
fn parse_complex(text: &str) -> Result<(f64, f64), String> {
    let bad = || {
        format!(
            "strconv.ParseFloat: parsing {}: invalid syntax",
            quote::quote(text, false)
        )
    };
    let body = text.strip_suffix('i').ok_or_else(bad)?;
    let bytes = body.as_bytes();
    let split = (1..bytes.len())
        .rev()
        .find(|&i| {
            matches!(bytes[i], b'+' | b'-') && !matches!(bytes[i - 1], b'e' | b'E' | b'p' | b'P')
        })
        .ok_or_else(bad)?;
    let re = strconv::parse_float(&body[..split]).map_err(|_| bad())?;
    let im = strconv::parse_float(&body[split..]).map_err(|_| bad())?;
    Ok((re, im))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(text: &str) -> Number {
        parse(text, ItemKind::Number).unwrap()
    }

    #[test]
    fn integers_are_also_floats() {
        let n = num("42");
        assert_eq!((n.int, n.uint, n.float), (Some(42), Some(42), Some(42.0)));
    }

    #[test]
    fn negative_integers_are_not_unsigned() {
        let n = num("-3");
        assert_eq!((n.int, n.uint), (Some(-3), None));
    }

    #[test]
    fn prefixes_and_underscores() {
        assert_eq!(num("0x1F").int, Some(31));
        assert_eq!(num("0o17").int, Some(15));
        assert_eq!(num("017").int, Some(15));
        assert_eq!(num("0b101").int, Some(5));
        assert_eq!(num("1_000").int, Some(1000));
    }

    #[test]
    fn floats_with_integral_values_are_ints_too() {
        let n = num("1e3");
        assert_eq!((n.int, n.float), (Some(1000), Some(1000.0)));
        assert_eq!(num("1.5").int, None);
    }

    #[test]
    fn unsigned_only_values() {
        let n = num("18446744073709551615");
        assert_eq!((n.int, n.uint), (None, Some(u64::MAX)));
    }

    #[test]
    fn too_large_integers_overflow() {
        assert_eq!(
            parse("99999999999999999999", ItemKind::Number).unwrap_err(),
            "integer overflow: \"99999999999999999999\""
        );
        assert_eq!(
            parse("089", ItemKind::Number).unwrap_err(),
            "integer overflow: \"089\""
        );
    }

    #[test]
    fn bad_numbers_are_illegal() {
        assert_eq!(
            parse("0x", ItemKind::Number).unwrap_err(),
            "illegal number syntax: \"0x\""
        );
        assert_eq!(
            parse("1__0", ItemKind::Number).unwrap_err(),
            "illegal number syntax: \"1__0\""
        );
    }

    #[test]
    fn hex_floats() {
        assert_eq!(num("0x1p-2").float, Some(0.25));
    }

    #[test]
    fn hex_float_constants_read_subnormals_exactly() {
        assert_eq!(num("0x1p-1074").float, Some(5e-324));
    }

    #[test]
    fn out_of_range_floats_are_illegal() {
        assert_eq!(
            parse("1e400", ItemKind::Number).unwrap_err(),
            "illegal number syntax: \"1e400\""
        );
    }

    #[test]
    fn negative_zero_is_unsigned_too() {
        let n = num("-0");
        assert_eq!((n.int, n.uint), (Some(0), Some(0)));
    }

    #[test]
    fn integral_floats_that_fit_are_unsigned_too() {
        let n = num("1.8446744073709550e19");
        assert_eq!(n.uint, Some(18_446_744_073_709_549_568));
        assert_eq!(n.int, None);
    }

    #[test]
    fn character_constants_are_numbers() {
        let n = parse("'a'", ItemKind::CharConstant).unwrap();
        assert_eq!(n.int, Some(97));
        assert!(parse("'ab'", ItemKind::CharConstant).is_err());
    }

    #[test]
    fn imaginary_literals_are_complex() {
        assert_eq!(num("2i").complex, Some((0.0, 2.0)));
        assert_eq!(num("2i").float, None);
    }

    #[test]
    fn complex_literals_read_both_parts() {
        let n = parse("-1-0.5i", ItemKind::Complex).unwrap();
        assert_eq!(n.complex, Some((-1.0, -0.5)));
        let n = parse("1.5e+3+2i", ItemKind::Complex).unwrap();
        assert_eq!(n.complex, Some((1500.0, 2.0)));
    }

    #[test]
    fn zero_imaginary_part_simplifies_to_ints_and_floats() {
        let n = num("0i");
        assert_eq!(
            (n.complex, n.int, n.float),
            (Some((0.0, 0.0)), Some(0), Some(0.0))
        );
        let n = parse("3+0i", ItemKind::Complex).unwrap();
        assert_eq!((n.int, n.uint), (Some(3), Some(3)));
    }
}
