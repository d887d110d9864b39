//! `parseBool`, `parseInt`, `parseUint`, `parseFloat`: Go's `strconv`
//! parsers (base 10 for integers), with an empty string parsing as zero.
//! Errors name the input as `[redacted]`: it may be a secret.

use crate::args::text;
use crate::funcs::{Func, FuncError, Funcs, Param};
use gotemplate::error::REDACTED;
use gotemplate::value::Value;

/// Registers the parsers.
pub fn register(funcs: &mut Funcs) {
    funcs.insert(
        "parseBool",
        Func::new(&[Param::String], |_, a| {
            let s = text(&a[0]);
            if s.is_empty() {
                return Ok(Value::Bool(false));
            }
            parse_bool(s).map(Value::Bool).ok_or_else(|| {
                FuncError::new(format!(
                    "parseBool: strconv.ParseBool: parsing {REDACTED}: invalid syntax"
                ))
            })
        }),
    );
    funcs.insert(
        "parseInt",
        Func::new(&[Param::String], |_, a| {
            let s = text(&a[0]);
            if s.is_empty() {
                return Ok(Value::Int64(0));
            }
            parse_i64(s)
                .map(Value::Int64)
                .map_err(|why| failure("parseInt", "ParseInt", why))
        }),
    );
    funcs.insert(
        "parseUint",
        Func::new(&[Param::String], |_, a| {
            let s = text(&a[0]);
            if s.is_empty() {
                return Ok(Value::Uint(0));
            }
            parse_u64(s)
                .map(Value::Uint)
                .map_err(|why| failure("parseUint", "ParseUint", why))
        }),
    );
    funcs.insert(
        "parseFloat",
        Func::new(&[Param::String], |_, a| {
            let s = text(&a[0]);
            if s.is_empty() {
                return Ok(Value::Float(0.0));
            }
            parse_f64(s)
                .map(Value::Float)
                .map_err(|why| failure("parseFloat", "ParseFloat", why))
        }),
    );
}

fn failure(name: &str, go_name: &str, why: NumError) -> FuncError {
    FuncError::new(format!(
        "{name}: strconv.{go_name}: parsing {REDACTED}: {}",
        why.message()
    ))
}

/// Why a number did not parse, as `strconv` words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumError {
    /// Not a number of the expected form.
    Syntax,
    /// A number, but outside the type's range.
    Range,
}

impl NumError {
    /// Go's wording.
    pub fn message(self) -> &'static str {
        match self {
            NumError::Syntax => "invalid syntax",
            NumError::Range => "value out of range",
        }
    }
}

/// `strconv.ParseBool`.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `strconv.ParseUint(s, 10, 64)`: ASCII digits only, no sign.
pub fn parse_u64(s: &str) -> Result<u64, NumError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NumError::Syntax);
    }
    s.parse::<u64>().map_err(|_| NumError::Range)
}

/// `strconv.ParseInt(s, 10, 64)`: an optional sign, then ASCII digits.
pub fn parse_i64(s: &str) -> Result<i64, NumError> {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = parse_u64(digits)?;
    if negative {
        if magnitude <= 1 << 63 {
            Ok((magnitude as i64).wrapping_neg())
        } else {
            Err(NumError::Range)
        }
    } else {
        i64::try_from(magnitude).map_err(|_| NumError::Range)
    }
}

/// `strconv.ParseFloat(s, 64)`: Go's float literal syntax (decimal or
/// hexadecimal mantissa, `_` between digits), `Inf`/`Infinity`/`NaN` in any
/// case; out-of-range values are a range error.
pub fn parse_f64(s: &str) -> Result<f64, NumError> {
    if let Some(special) = special(s) {
        return Ok(special);
    }
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let hex = body.len() > 2 && body.as_bytes()[0] == b'0' && (body.as_bytes()[1] | 0x20) == b'x';
    let value = if hex {
        parse_hex_body(&body[2..])?
    } else {
        parse_decimal_body(body)?
    };
    if s.contains('_') && !underscore_ok(s) {
        return Err(NumError::Syntax);
    }
    if value.is_infinite() {
        return Err(NumError::Range);
    }
    Ok(if negative { -value } else { value })
}

/// `inf`, `infinity` (optionally signed) and `nan`, ignoring case.
fn special(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => None,
    }
}

/// A decimal mantissa with optional exponent; `_` may appear anywhere
/// here (its placement is checked separately).
fn parse_decimal_body(body: &str) -> Result<f64, NumError> {
    let clean: String = body.chars().filter(|&c| c != '_').collect();
    let bytes = clean.as_bytes();
    let mut i = 0;
    let mut digits = 0;
    let mut dot = false;
    while i < bytes.len() {
        match bytes[i] {
            b'0'..=b'9' => digits += 1,
            b'.' if !dot => dot = true,
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return Err(NumError::Syntax);
    }
    if i < bytes.len() {
        if bytes[i] | 0x20 != b'e' {
            return Err(NumError::Syntax);
        }
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if i == bytes.len() || !bytes[i..].iter().all(u8::is_ascii_digit) {
            return Err(NumError::Syntax);
        }
    }
    // Rust's parser rounds correctly, as Go's does.
    clean.parse::<f64>().map_err(|_| NumError::Syntax)
}

/// A hexadecimal mantissa after `0x`, with its required `p` exponent,
/// rounded to nearest even like Go's `atofHex`.
fn parse_hex_body(body: &str) -> Result<f64, NumError> {
    let clean: String = body.chars().filter(|&c| c != '_').collect();
    let (mantissa_text, exp_text) = clean.split_once(['p', 'P']).ok_or(NumError::Syntax)?;
    let (int_part, frac_part) = mantissa_text.split_once('.').unwrap_or((mantissa_text, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(NumError::Syntax);
    }
    let exp_digits = exp_text.strip_prefix(['+', '-']).unwrap_or(exp_text);
    if exp_digits.is_empty() || !exp_digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NumError::Syntax);
    }
    let mut exp: i64 = exp_digits.bytes().fold(0i64, |e, d| {
        if e < 10_000 {
            e * 10 + i64::from(d - b'0')
        } else {
            e
        }
    });
    if exp_text.starts_with('-') {
        exp = -exp;
    }
    // Collect up to 16 significant hex digits; remember dropped non-zero
    // bits as a sticky bit.
    let mut mantissa: u64 = 0;
    let mut kept = 0;
    let mut truncated = false;
    let mut seen_nonzero = false;
    for (i, c) in int_part.chars().chain(frac_part.chars()).enumerate() {
        let d = u64::from(c.to_digit(16).ok_or(NumError::Syntax)?);
        let in_fraction = i >= int_part.len();
        if !seen_nonzero && d == 0 {
            if in_fraction {
                exp -= 4;
            }
            continue;
        }
        seen_nonzero = true;
        if kept < 16 {
            mantissa = mantissa * 16 + d;
            kept += 1;
            if in_fraction {
                exp -= 4;
            }
        } else {
            if d != 0 {
                truncated = true;
            }
            if !in_fraction {
                exp += 4;
            }
        }
    }
    Ok(round_binary(mantissa, exp, truncated))
}

/// `mantissa × 2^exp` rounded to a float64 (ties to even), with
/// `truncated` standing for lost non-zero low bits.
fn round_binary(mut mantissa: u64, mut exp: i64, truncated: bool) -> f64 {
    const MANT_BITS: i64 = 52;
    const BIAS: i64 = -1023;
    if mantissa == 0 {
        return 0.0;
    }
    let max_exp = (1 << 11) + BIAS - 2;
    let min_exp = BIAS + 1;
    exp += MANT_BITS;
    while mantissa >> (MANT_BITS + 2) == 0 {
        mantissa <<= 1;
        exp -= 1;
    }
    if truncated {
        mantissa |= 1;
    }
    while mantissa >> (1 + MANT_BITS + 2) != 0 {
        mantissa = (mantissa >> 1) | (mantissa & 1);
        exp += 1;
    }
    while mantissa > 1 && exp < min_exp - 2 {
        mantissa = (mantissa >> 1) | (mantissa & 1);
        exp += 1;
    }
    let mut round = mantissa & 3;
    mantissa >>= 2;
    round |= mantissa & 1;
    exp += 2;
    if round == 3 {
        mantissa += 1;
        if mantissa == 1 << (1 + MANT_BITS) {
            mantissa >>= 1;
            exp += 1;
        }
    }
    if mantissa >> MANT_BITS == 0 {
        exp = BIAS;
    }
    if exp > max_exp {
        return f64::INFINITY;
    }
    let bits = (mantissa & ((1 << MANT_BITS) - 1)) | (((exp - BIAS) as u64) & 0x7FF) << MANT_BITS;
    f64::from_bits(bits)
}

/// Go's `underscoreOK`: `_` only between digits (or after a base prefix).
fn underscore_ok(s: &str) -> bool {
    let mut b = s.as_bytes();
    if let Some(b'-' | b'+') = b.first() {
        b = &b[1..];
    }
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
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bool_accepts_go_spellings_only() {
        assert_eq!(parse_bool("T"), Some(true));
        assert_eq!(parse_bool("False"), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }

    #[test]
    fn int_takes_a_sign_but_no_prefix_or_underscore() {
        assert_eq!(parse_i64("+5"), Ok(5));
        assert_eq!(parse_i64("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(parse_i64("9223372036854775808"), Err(NumError::Range));
        assert_eq!(parse_i64("0x10"), Err(NumError::Syntax));
        assert_eq!(parse_i64("1_000"), Err(NumError::Syntax));
    }

    #[test]
    fn uint_refuses_a_plus_sign() {
        assert_eq!(parse_u64("+5"), Err(NumError::Syntax));
        assert_eq!(parse_u64("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_u64("18446744073709551616"), Err(NumError::Range));
    }

    #[test]
    fn float_accepts_go_literal_forms() {
        assert_eq!(parse_f64("1_000"), Ok(1000.0));
        assert_eq!(parse_f64("0x1p-2"), Ok(0.25));
        assert_eq!(parse_f64(".5"), Ok(0.5));
        assert_eq!(parse_f64("5."), Ok(5.0));
        assert_eq!(parse_f64("-Infinity"), Ok(f64::NEG_INFINITY));
        assert!(parse_f64("nan").unwrap().is_nan());
    }

    #[test]
    fn float_refuses_malformed_text() {
        for s in [
            "", ".", "1e", "1_", "_1", "1__0", "0x1", "infin", "1.2.3", " 1",
        ] {
            assert_eq!(parse_f64(s), Err(NumError::Syntax), "{s}");
        }
    }

    #[test]
    fn float_overflow_is_a_range_error() {
        assert_eq!(parse_f64("1e400"), Err(NumError::Range));
        assert_eq!(parse_f64("0x1p2000"), Err(NumError::Range));
    }

    #[test]
    fn hex_float_rounds_to_nearest_even() {
        assert_eq!(parse_f64("0x1.fffffffffffff8p0"), Ok(2.0));
        assert_eq!(parse_f64("0x1p-1074"), Ok(5e-324));
    }
}
