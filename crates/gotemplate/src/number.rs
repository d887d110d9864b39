//! Numeric constants in templates, read with Go's rules: every type that
//! can hold the value is recorded (`1` is an int, a uint and a float),
//! like Go's ideal constants.

use super::lex::ItemKind;
use super::quote;

/// A number literal and the values it can stand for.
#[derive(Debug, Clone, PartialEq)]
pub struct Number {
    /// The literal as written.
    pub text: String,
    /// Set when the value fits an `int64`.
    pub int: Option<i64>,
    /// Set when the value fits a `uint64`.
    pub uint: Option<u64>,
    /// Set when the value is a (finite) float.
    pub float: Option<f64>,
    /// Complex literals (`1i`, `1+2i`) are recognised but not evaluated.
    pub is_complex: bool,
}

/// Parses a number, character or complex literal the way Go's template
/// parser does; the error text is Go's.
pub fn parse(text: &str, kind: ItemKind) -> Result<Number, String> {
    let mut n = Number {
        text: text.to_string(),
        int: None,
        uint: None,
        float: None,
        is_complex: false,
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
            n.is_complex = true;
            return Ok(n);
        }
        _ => {}
    }
    if let Some(imag) = text.strip_suffix('i')
        && parse_float(imag).is_some()
    {
        n.is_complex = true;
        return Ok(n);
    }
    let u = parse_uint(text);
    if let Some(u) = u {
        n.uint = Some(u);
    }
    if let Some(i) = parse_int(text) {
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
    } else if let Some(f) = parse_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            // Looks like an integer but did not fit: too large.
            return Err(format!("integer overflow: {}", quote::quote(text, false)));
        }
        n.float = Some(f);
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

/// Go's `underscoreOK`: underscores only between digits (or after a base
/// prefix), never first or last.
fn underscore_ok(s: &str) -> bool {
    let b = s.strip_prefix(['+', '-']).unwrap_or(s).as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1] | 0x20, b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1] | 0x20 == b'x';
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && (c | 0x20).is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// Go's `strconv.ParseUint(s, 0, 64)`: base from the prefix (`0x`, `0o`,
/// `0b`, or a leading `0` for octal), underscores between digits.
pub fn parse_uint(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let b = s.as_bytes();
    let (base, digits) = if b[0] == b'0' && b.len() >= 2 {
        match b[1] | 0x20 {
            b'x' => (16, &s[2..]),
            b'o' => (8, &s[2..]),
            b'b' => (2, &s[2..]),
            _ => (8, &s[1..]),
        }
    } else {
        (10, s)
    };
    if s.contains('_') && !underscore_ok(s) {
        return None;
    }
    let digits: String = digits.chars().filter(|&c| c != '_').collect();
    if digits.is_empty() {
        // "0x" alone is invalid; "0" handled by the octal branch only
        // when longer than one byte.
        return None;
    }
    u64::from_str_radix(&digits, base).ok()
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
pub fn parse_int(s: &str) -> Option<i64> {
    let (neg, magnitude) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = parse_uint(magnitude)?;
    if neg {
        if u <= 1u64 << 63 {
            Some((u as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(u).ok()
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for Go literal syntax (decimal or hex
/// mantissa, underscores); out-of-range values fail.
pub fn parse_float(s: &str) -> Option<f64> {
    if s.contains('_') && !underscore_ok(s) {
        return None;
    }
    let clean: String = s.chars().filter(|&c| c != '_').collect();
    let (neg, body) = match clean.as_bytes().first() {
        Some(b'-') => (true, &clean[1..]),
        Some(b'+') => (false, &clean[1..]),
        _ => (false, clean.as_str()),
    };
    let value =
        if body.len() > 2 && body.as_bytes()[0] == b'0' && (body.as_bytes()[1] | 0x20) == b'x' {
            parse_hex_float(&body[2..])?
        } else {
            // Rust would also take "inf" and "nan"; Go literals never reach
            // here in those forms, but refuse them anyway.
            if !body
                .bytes()
                .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
            {
                return None;
            }
            body.parse::<f64>().ok()?
        };
    if !value.is_finite() {
        return None;
    }
    Some(if neg { -value } else { value })
}

/// A hex float body after `0x`: hex digits, optional point, `p` exponent
/// (required by Go).
fn parse_hex_float(body: &str) -> Option<f64> {
    let (mantissa, exp) = body.split_once(['p', 'P'])?;
    let exp: i32 = exp.parse().ok()?;
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut value = 0f64;
    for c in int_part.chars() {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        value += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    Some(value * 2f64.powi(exp))
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
    fn character_constants_are_numbers() {
        let n = parse("'a'", ItemKind::CharConstant).unwrap();
        assert_eq!(n.int, Some(97));
        assert!(parse("'ab'", ItemKind::CharConstant).is_err());
    }

    #[test]
    fn imaginary_literals_are_complex() {
        assert!(num("2i").is_complex);
    }
}
