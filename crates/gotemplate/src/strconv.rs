//! Go's `strconv` number parsers: `ParseBool`, `ParseInt`, `ParseUint` and
//! `ParseFloat(s, 64)`, with Go's syntax (signs, `0x`/`0o`/`0b` and legacy
//! `0` prefixes for base 0, `_` separators, hexadecimal floats, `Inf` and
//! `NaN`), rounding and errors. The template lexer, `json.Number`'s methods
//! and every host function read numbers through these.

use std::fmt;

use super::error::REDACTED;
use super::quote;

/// Why a number did not parse, as `strconv` words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumErrorKind {
    /// Not a number of the expected form: `invalid syntax`.
    Syntax,
    /// A number, but outside the type's range: `value out of range`.
    Range,
    /// A base other than 0 or 2 to 36: `invalid base N`.
    Base(u32),
    /// A bit size above 64: `invalid bit size N`.
    BitSize(u32),
}

impl fmt::Display for NumErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NumErrorKind::Syntax => f.write_str("invalid syntax"),
            NumErrorKind::Range => f.write_str("value out of range"),
            NumErrorKind::Base(base) => write!(f, "invalid base {base}"),
            NumErrorKind::BitSize(bits) => write!(f, "invalid bit size {bits}"),
        }
    }
}

/// Go's `*strconv.NumError`: which parser failed, on what, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumError {
    /// The Go function name: `ParseInt`, `ParseUint`, `ParseFloat`, `ParseBool`.
    pub func: &'static str,
    /// The input as given.
    pub num: String,
    /// Why it failed.
    pub kind: NumErrorKind,
}

impl NumError {
    fn new(func: &'static str, num: &str, kind: NumErrorKind) -> NumError {
        NumError {
            func,
            num: num.to_string(),
            kind,
        }
    }

    /// Go's message with the input replaced by [`REDACTED`], for errors a
    /// template author sees (the input may be a secret):
    /// `strconv.ParseInt: parsing [redacted]: invalid syntax`.
    pub fn redacted(&self) -> String {
        format!("strconv.{}: parsing {REDACTED}: {}", self.func, self.kind)
    }
}

/// Go's message: `strconv.ParseInt: parsing "12x": invalid syntax`.
impl fmt::Display for NumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "strconv.{}: parsing {}: {}",
            self.func,
            quote::quote(&self.num, false),
            self.kind
        )
    }
}

impl std::error::Error for NumError {}

/// `strconv.ParseBool`: exactly `1 t T TRUE true True 0 f F FALSE false False`.
pub fn parse_bool(s: &str) -> Result<bool, NumError> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(NumError::new("ParseBool", s, NumErrorKind::Syntax)),
    }
}

/// `strconv.ParseUint(s, base, bit_size)`. Base 0 reads the base from the
/// prefix (`0x`, `0o`, `0b`, or a bare leading `0` for octal) and allows
/// `_` between digits; bit size 0 means 64. No sign is accepted.
pub fn parse_uint(s: &str, base: u32, bit_size: u32) -> Result<u64, NumError> {
    uint_for("ParseUint", s, base, bit_size)
}

/// `ParseUint`'s work, with errors named after `func` and the whole input.
fn uint_for(func: &'static str, s: &str, base: u32, bit_size: u32) -> Result<u64, NumError> {
    let fail = |kind| Err(NumError::new(func, s, kind));
    if s.is_empty() {
        return fail(NumErrorKind::Syntax);
    }
    let base0 = base == 0;
    let b = s.as_bytes();
    let (base, digits) = match base {
        2..=36 => (base, b),
        0 if b[0] == b'0' => match b.get(1).map(|c| c | 0x20) {
            Some(b'b') if b.len() >= 3 => (2, &b[2..]),
            Some(b'o') if b.len() >= 3 => (8, &b[2..]),
            Some(b'x') if b.len() >= 3 => (16, &b[2..]),
            _ => (8, &b[1..]),
        },
        0 => (10, b),
        _ => return fail(NumErrorKind::Base(base)),
    };
    let bit_size = match bit_size {
        0 => 64,
        1..=64 => bit_size,
        _ => return fail(NumErrorKind::BitSize(bit_size)),
    };
    let max = u64::MAX >> (64 - bit_size);
    let wide_base = u64::from(base);
    let mut n: u64 = 0;
    let mut underscores = false;
    for &c in digits {
        let d = match c {
            b'_' if base0 => {
                underscores = true;
                continue;
            }
            b'0'..=b'9' => c - b'0',
            _ if (c | 0x20).is_ascii_lowercase() => (c | 0x20) - b'a' + 10,
            _ => return fail(NumErrorKind::Syntax),
        };
        if u32::from(d) >= base {
            return fail(NumErrorKind::Syntax);
        }
        // Go reports overflow at the digit where it happens, before any
        // later syntax error.
        match n
            .checked_mul(wide_base)
            .and_then(|n| n.checked_add(u64::from(d)))
        {
            Some(next) if next <= max => n = next,
            _ => return fail(NumErrorKind::Range),
        }
    }
    if underscores && !underscore_ok(s) {
        return fail(NumErrorKind::Syntax);
    }
    Ok(n)
}

/// `strconv.ParseInt(s, base, bit_size)`: an optional `+` or `-`, then
/// what [`parse_uint`] reads; bit size 0 means 64.
pub fn parse_int(s: &str, base: u32, bit_size: u32) -> Result<i64, NumError> {
    const FUNC: &str = "ParseInt";
    if s.is_empty() {
        return Err(NumError::new(FUNC, s, NumErrorKind::Syntax));
    }
    let (negative, magnitude) = match s.as_bytes()[0] {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let magnitude = match uint_for(FUNC, magnitude, base, bit_size) {
        Ok(u) => u,
        Err(e) if e.kind == NumErrorKind::Range => u64::MAX,
        Err(e) => return Err(NumError::new(FUNC, s, e.kind)),
    };
    let bit_size = if bit_size == 0 { 64 } else { bit_size };
    let cutoff = 1u64 << (bit_size - 1);
    if (!negative && magnitude >= cutoff) || (negative && magnitude > cutoff) {
        return Err(NumError::new(FUNC, s, NumErrorKind::Range));
    }
    // `cutoff` is at most 2^63, whose negation is i64::MIN.
    let value = magnitude as i64;
    Ok(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// `strconv.ParseFloat(s, 64)`: decimal or hexadecimal (`0x1.8p3`, the
/// `p` exponent required) mantissas, `_` between digits, `inf`,
/// `infinity` and `nan` in any case (the first two signed). Both forms are
/// correctly rounded, subnormals included; a finite text beyond the
/// float64 range is a range error.
pub fn parse_float(s: &str) -> Result<f64, NumError> {
    const FUNC: &str = "ParseFloat";
    let syntax = || NumError::new(FUNC, s, NumErrorKind::Syntax);
    if let Some(special) = special(s) {
        return Ok(special);
    }
    let read = read_float(s).ok_or_else(syntax)?;
    if read.len != s.len() {
        return Err(syntax());
    }
    let value = if read.hex {
        hex_float(read.mantissa, read.exp, read.truncated)
    } else {
        // The text is valid Go syntax here; without its underscores it is
        // also valid for Rust's parser, which rounds correctly.
        let clean: String = s.chars().filter(|&c| c != '_').collect();
        clean.parse::<f64>().map_err(|_| syntax())?
    };
    if value.is_infinite() {
        return Err(NumError::new(FUNC, s, NumErrorKind::Range));
    }
    Ok(if read.negative && read.hex {
        -value
    } else {
        value
    })
}

/// Go's `special`: `inf`, `infinity` (optionally signed) and `nan`,
/// ignoring case; anything longer is left to fail as syntax.
fn special(s: &str) -> Option<f64> {
    let (sign, body) = match s.as_bytes().first()? {
        b'+' => (1.0, &s[1..]),
        b'-' => (-1.0, &s[1..]),
        _ => (1.0, s),
    };
    if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        return Some(sign * f64::INFINITY);
    }
    // Go takes no sign on NaN.
    if s.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    None
}

/// What Go's `readFloat` gathers from a float's text.
struct ReadFloat {
    /// Up to 19 decimal or 16 hexadecimal significant digits.
    mantissa: u64,
    /// Power of two (hex) the mantissa is scaled by; decimal texts go to
    /// Rust's parser and leave this unused.
    exp: i64,
    negative: bool,
    /// Non-zero digits beyond the mantissa's capacity were dropped.
    truncated: bool,
    hex: bool,
    /// Bytes of `s` that form the number.
    len: usize,
}

/// Go's `readFloat`: the longest prefix of `s` in float syntax, or `None`
/// when there is none (or its underscores are misplaced).
fn read_float(s: &str) -> Option<ReadFloat> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut negative = false;
    match b.first()? {
        b'+' => i += 1,
        b'-' => {
            negative = true;
            i += 1;
        }
        _ => {}
    }
    let mut hex = false;
    let (base, max_digits, exp_char) = if i + 2 < b.len() && b[i] == b'0' && b[i + 1] | 0x20 == b'x'
    {
        i += 2;
        hex = true;
        (16u64, 16, b'p')
    } else {
        (10u64, 19, b'e')
    };
    let mut underscores = false;
    let mut saw_dot = false;
    let mut saw_digits = false;
    let mut mantissa: u64 = 0;
    let mut truncated = false;
    let mut nd: i64 = 0; // digits after leading zeros
    let mut nd_mant: i64 = 0; // digits kept in the mantissa
    let mut dp: i64 = 0; // position of the point, in digits
    while i < b.len() {
        let c = b[i];
        let digit = match c {
            b'_' => {
                underscores = true;
                i += 1;
                continue;
            }
            b'.' => {
                if saw_dot {
                    break;
                }
                saw_dot = true;
                dp = nd;
                i += 1;
                continue;
            }
            b'0'..=b'9' => u64::from(c - b'0'),
            _ if hex && (b'a'..=b'f').contains(&(c | 0x20)) => u64::from((c | 0x20) - b'a' + 10),
            _ => break,
        };
        saw_digits = true;
        i += 1;
        if digit == 0 && nd == 0 {
            // A leading zero only moves the point.
            dp -= 1;
            continue;
        }
        nd += 1;
        if nd_mant < max_digits {
            mantissa = mantissa * base + digit;
            nd_mant += 1;
        } else if digit != 0 {
            truncated = true;
        }
    }
    if !saw_digits {
        return None;
    }
    if !saw_dot {
        dp = nd;
    }
    if hex {
        dp *= 4;
        nd_mant *= 4;
    }
    if i < b.len() && b[i] | 0x20 == exp_char {
        i += 1;
        let mut exp_sign = 1;
        match b.get(i) {
            Some(b'+') => i += 1,
            Some(b'-') => {
                exp_sign = -1;
                i += 1;
            }
            _ => {}
        }
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let mut e: i64 = 0;
        while let Some(&c) = b.get(i) {
            if c == b'_' {
                underscores = true;
            } else if c.is_ascii_digit() {
                // Beyond 10000 the value is 0 or infinite either way.
                if e < 10_000 {
                    e = e * 10 + i64::from(c - b'0');
                }
            } else {
                break;
            }
            i += 1;
        }
        dp += e * exp_sign;
    } else if hex {
        // Go requires the exponent of a hexadecimal float.
        return None;
    }
    if underscores && !underscore_ok(&s[..i]) {
        return None;
    }
    Some(ReadFloat {
        mantissa,
        exp: if mantissa == 0 { 0 } else { dp - nd_mant },
        negative,
        truncated,
        hex,
        len: i,
    })
}

/// Go's `atofHex` for float64: `mantissa × 2^exp` rounded to nearest even,
/// through the subnormals; `truncated` stands for lost non-zero low bits.
/// Overflow gives infinity.
fn hex_float(mut mantissa: u64, mut exp: i64, truncated: bool) -> f64 {
    const MANT_BITS: u32 = 52;
    const EXP_BITS: u32 = 11;
    const BIAS: i64 = -1023;
    const MAX_EXP: i64 = (1 << EXP_BITS) + BIAS - 2;
    const MIN_EXP: i64 = BIAS + 1;
    exp += i64::from(MANT_BITS);
    // Normalise to a leading 1 followed by 52 bits and two rounding bits,
    // the lowest of which is sticky.
    while mantissa != 0 && mantissa >> (MANT_BITS + 2) == 0 {
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
    // Too small for a normal float: shift into the subnormal range.
    while mantissa > 1 && exp < MIN_EXP - 2 {
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
        // Subnormal or zero.
        exp = BIAS;
    }
    if exp > MAX_EXP {
        return f64::INFINITY;
    }
    let biased = u64::try_from(exp - BIAS).unwrap_or(0) & ((1 << EXP_BITS) - 1);
    f64::from_bits((mantissa & ((1 << MANT_BITS) - 1)) | (biased << MANT_BITS))
}

/// Go's `underscoreOK`: `_` only between digits or after a base prefix,
/// never first or last.
fn underscore_ok(s: &str) -> bool {
    let b = s.strip_prefix(['+', '-']).unwrap_or(s).as_bytes();
    // What came last: '^' start, '0' digit or prefix, '_', '!' other.
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1] | 0x20, b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1] | 0x20 == b'x';
    }
    for &c in &b[i..] {
        if c.is_ascii_digit() || (hex && (b'a'..=b'f').contains(&(c | 0x20))) {
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
    }
    saw != b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(s: &str) -> Result<i64, NumErrorKind> {
        parse_int(s, 0, 64).map_err(|e| e.kind)
    }

    fn uint(s: &str) -> Result<u64, NumErrorKind> {
        parse_uint(s, 0, 64).map_err(|e| e.kind)
    }

    fn float(s: &str) -> Result<f64, NumErrorKind> {
        parse_float(s).map_err(|e| e.kind)
    }

    use NumErrorKind::{Range, Syntax};

    #[test]
    fn bool_accepts_go_spellings_only() {
        assert_eq!(parse_bool("T"), Ok(true));
        assert_eq!(parse_bool("False"), Ok(false));
        assert_eq!(
            parse_bool("yes").unwrap_err().to_string(),
            "strconv.ParseBool: parsing \"yes\": invalid syntax"
        );
    }

    #[test]
    fn base_zero_reads_hex_prefix_in_either_case() {
        assert_eq!(int("0x1F"), Ok(31));
        assert_eq!(int("0X1f"), Ok(31));
        assert_eq!(int("0x"), Err(Syntax));
        assert_eq!(int("0xg"), Err(Syntax));
    }

    #[test]
    fn base_zero_reads_octal_prefix_in_either_case() {
        assert_eq!(int("0o17"), Ok(15));
        assert_eq!(int("0O17"), Ok(15));
        assert_eq!(int("0o8"), Err(Syntax));
    }

    #[test]
    fn base_zero_reads_binary_prefix_in_either_case() {
        assert_eq!(int("0b101"), Ok(5));
        assert_eq!(int("0B101"), Ok(5));
        assert_eq!(int("0b2"), Err(Syntax));
    }

    #[test]
    fn base_zero_reads_a_leading_zero_as_legacy_octal() {
        assert_eq!(int("017"), Ok(15));
        assert_eq!(int("0"), Ok(0));
        assert_eq!(int("08"), Err(Syntax));
        assert_eq!(int("-017"), Ok(-15));
    }

    #[test]
    fn explicit_base_takes_no_prefix() {
        assert_eq!(parse_int("0x10", 16, 64).map_err(|e| e.kind), Err(Syntax));
        assert_eq!(parse_int("ff", 16, 64), Ok(255));
        assert_eq!(parse_int("Zz", 36, 64), Ok(36 * 35 + 35));
        assert_eq!(parse_int("0x10", 10, 64).map_err(|e| e.kind), Err(Syntax));
    }

    #[test]
    fn bad_base_and_bit_size_are_errors() {
        assert_eq!(
            parse_int("1", 1, 64).unwrap_err().to_string(),
            "strconv.ParseInt: parsing \"1\": invalid base 1"
        );
        assert_eq!(
            parse_uint("1", 37, 64).unwrap_err().to_string(),
            "strconv.ParseUint: parsing \"1\": invalid base 37"
        );
        assert_eq!(
            parse_int("1", 10, 65).unwrap_err().to_string(),
            "strconv.ParseInt: parsing \"1\": invalid bit size 65"
        );
    }

    #[test]
    fn underscores_between_digits_with_base_zero() {
        assert_eq!(int("1_000"), Ok(1000));
        assert_eq!(int("-1_0_0"), Ok(-100));
        assert_eq!(int("0x_1F"), Ok(31));
        assert_eq!(int("0_17"), Ok(15));
        assert_eq!(int("0b1_0"), Ok(2));
    }

    #[test]
    fn underscores_misplaced_are_syntax_errors() {
        for s in ["_1", "1_", "1__0", "0x_", "_0x1", "-_1", "0x1_"] {
            assert_eq!(int(s), Err(Syntax), "{s}");
        }
    }

    #[test]
    fn underscores_need_base_zero() {
        assert_eq!(parse_int("1_000", 10, 64).map_err(|e| e.kind), Err(Syntax));
        assert_eq!(parse_uint("1_000", 10, 64).map_err(|e| e.kind), Err(Syntax));
    }

    #[test]
    fn int_takes_either_sign() {
        assert_eq!(int("+5"), Ok(5));
        assert_eq!(int("-5"), Ok(-5));
        assert_eq!(int("+-5"), Err(Syntax));
        assert_eq!(int("-"), Err(Syntax));
        assert_eq!(int(""), Err(Syntax));
    }

    #[test]
    fn uint_takes_no_sign() {
        assert_eq!(uint("+5"), Err(Syntax));
        assert_eq!(uint("-5"), Err(Syntax));
        assert_eq!(uint("0x+5"), Err(Syntax));
        assert_eq!(parse_uint("+5", 10, 64).map_err(|e| e.kind), Err(Syntax));
    }

    #[test]
    fn int64_overflow_is_a_range_error() {
        assert_eq!(int("9223372036854775807"), Ok(i64::MAX));
        assert_eq!(int("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(
            parse_int("9223372036854775808", 10, 64)
                .unwrap_err()
                .to_string(),
            "strconv.ParseInt: parsing \"9223372036854775808\": value out of range"
        );
        assert_eq!(int("-9223372036854775809"), Err(Range));
        assert_eq!(int("0x8000000000000000"), Err(Range));
    }

    #[test]
    fn uint64_overflow_is_a_range_error() {
        assert_eq!(uint("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(uint("0xffffffffffffffff"), Ok(u64::MAX));
        assert_eq!(
            parse_uint("18446744073709551616", 10, 64)
                .unwrap_err()
                .to_string(),
            "strconv.ParseUint: parsing \"18446744073709551616\": value out of range"
        );
    }

    #[test]
    fn overflow_is_reported_before_later_bad_digits() {
        assert_eq!(uint("99999999999999999999x"), Err(Range));
        assert_eq!(int("99999999999999999999x"), Err(Range));
    }

    #[test]
    fn smaller_bit_sizes_bound_the_range() {
        assert_eq!(parse_int("127", 10, 8), Ok(127));
        assert_eq!(parse_int("-128", 10, 8), Ok(-128));
        assert_eq!(parse_int("128", 10, 8).map_err(|e| e.kind), Err(Range));
        assert_eq!(parse_uint("4095", 8, 12).map_err(|e| e.kind), Err(Syntax));
        assert_eq!(parse_uint("7777", 8, 12), Ok(0o7777));
        assert_eq!(parse_uint("10000", 8, 12).map_err(|e| e.kind), Err(Range));
    }

    #[test]
    fn syntax_error_names_the_function_and_input() {
        assert_eq!(
            parse_int("12x", 10, 64).unwrap_err().to_string(),
            "strconv.ParseInt: parsing \"12x\": invalid syntax"
        );
        assert_eq!(
            parse_int("12x", 10, 64).unwrap_err().redacted(),
            "strconv.ParseInt: parsing [redacted]: invalid syntax"
        );
    }

    #[test]
    fn float_reads_decimal_forms() {
        assert_eq!(float("1.5"), Ok(1.5));
        assert_eq!(float(".5"), Ok(0.5));
        assert_eq!(float("5."), Ok(5.0));
        assert_eq!(float("1E3"), Ok(1000.0));
        assert_eq!(float("1e+3"), Ok(1000.0));
        assert_eq!(float("007"), Ok(7.0));
    }

    #[test]
    fn float_takes_either_sign() {
        assert_eq!(float("+1.5"), Ok(1.5));
        assert_eq!(float("-1.5"), Ok(-1.5));
        assert!(float("-0").unwrap().is_sign_negative());
        assert!(float("-0x0p0").unwrap().is_sign_negative());
        assert_eq!(float("+-1"), Err(Syntax));
    }

    #[test]
    fn float_rounds_decimal_text_correctly() {
        assert_eq!(float("0.1"), Ok(0.1));
        assert_eq!(
            float("2.2250738585072011e-308"),
            Ok(2.225_073_858_507_201e-308)
        );
        assert_eq!(float("4.9406564584124654e-324"), Ok(5e-324));
        assert_eq!(float("2.4703282292062328e-324"), Ok(5e-324));
        assert_eq!(float("1e-400"), Ok(0.0));
    }

    #[test]
    fn float_underscores_between_digits() {
        assert_eq!(float("1_000"), Ok(1000.0));
        assert_eq!(float("1_000.000_1"), Ok(1000.0001));
        assert_eq!(float("1e1_0"), Ok(1e10));
        assert_eq!(float("0x_1p0"), Ok(1.0));
        for s in [
            "_1", "1_", "1__0", "_1.0", "1_.0", "1._0", "1.0_", "1__0.0", "1_e5", "1e_5",
        ] {
            assert_eq!(float(s), Err(Syntax), "{s}");
        }
    }

    #[test]
    fn float_reads_inf_and_nan_in_any_case() {
        assert_eq!(float("inf"), Ok(f64::INFINITY));
        assert_eq!(float("+Inf"), Ok(f64::INFINITY));
        assert_eq!(float("-INFINITY"), Ok(f64::NEG_INFINITY));
        assert!(float("NaN").unwrap().is_nan());
        assert!(float("nAn").unwrap().is_nan());
        for s in ["+nan", "-nan", "infin", "infinityy", "in"] {
            assert_eq!(float(s), Err(Syntax), "{s}");
        }
    }

    #[test]
    fn float_refuses_malformed_text() {
        for s in [
            "", ".", "+", "1e", "1e+", "1.2.3", " 1", "1 ", "e5", "0x", "1i", "0x.p1",
        ] {
            assert_eq!(float(s), Err(Syntax), "{s:?}");
        }
    }

    #[test]
    fn float_out_of_range_is_a_range_error() {
        assert_eq!(
            parse_float("1e400").unwrap_err().to_string(),
            "strconv.ParseFloat: parsing \"1e400\": value out of range"
        );
        assert_eq!(float("-1e400"), Err(Range));
        assert_eq!(float("1e99999999999999999999"), Err(Range));
        assert_eq!(float("1.7976931348623157e308"), Ok(f64::MAX));
        // Halfway to the next power of two rounds up, out of range.
        assert_eq!(float("1.7976931348623159e308"), Err(Range));
    }

    #[test]
    fn hex_float_needs_the_p_exponent() {
        assert_eq!(float("0x1p0"), Ok(1.0));
        assert_eq!(float("0x1"), Err(Syntax));
        assert_eq!(float("0x1.8"), Err(Syntax));
        assert_eq!(float("0x1e3"), Err(Syntax));
    }

    #[test]
    fn hex_float_reads_mantissa_and_binary_exponent() {
        assert_eq!(float("0x1.8p3"), Ok(12.0));
        assert_eq!(float("0X1P-2"), Ok(0.25));
        assert_eq!(float("0x.8p1"), Ok(1.0));
        assert_eq!(float("0x1Fp+0"), Ok(31.0));
        assert_eq!(float("-0x10p-4"), Ok(-1.0));
        assert_eq!(float("0x0.0000001p28"), Ok(1.0));
    }

    #[test]
    fn hex_float_smallest_subnormal_is_exact() {
        assert_eq!(float("0x1p-1074"), Ok(5e-324));
        assert_eq!(float("0x1p-1074"), Ok(f64::from_bits(1)));
        assert_eq!(float("0x1p-1022"), Ok(f64::MIN_POSITIVE));
        assert_eq!(float("0x1.8p-1074"), Ok(f64::from_bits(2)));
        assert_eq!(float("0x1p-1075"), Ok(0.0));
        assert_eq!(float("0x1.0000001p-1075"), Ok(5e-324));
    }

    #[test]
    fn hex_float_largest_finite_is_exact() {
        assert_eq!(float("0x1.fffffffffffffp1023"), Ok(f64::MAX));
    }

    #[test]
    fn hex_float_overflow_is_a_range_error() {
        assert_eq!(float("0x1p1024"), Err(Range));
        assert_eq!(float("0x1.fffffffffffff8p1023"), Err(Range));
        assert_eq!(float("0x1p99999"), Err(Range));
    }

    #[test]
    fn hex_float_long_mantissas_round_like_integer_conversion() {
        // A 120-bit mantissa converts to f64 with one correct rounding
        // (`as`); scaling by a power of two is exact while the result
        // stays normal, so both readings must agree bit for bit.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..2000 {
            let mantissa = (u128::from(next()) << 56) ^ u128::from(next());
            let exp = i32::try_from(next() % 400).unwrap() - 200;
            let want = (mantissa as f64) * 2f64.powi(exp);
            let text = format!("0x{mantissa:x}p{exp}");
            assert_eq!(float(&text).map(f64::to_bits), Ok(want.to_bits()), "{text}");
            // The same value with the point moved two digits left.
            let digits = format!("{mantissa:x}");
            let (int_part, frac_part) = digits.split_at(digits.len() - 2);
            let text = format!("0x{int_part}.{frac_part}p{}", exp + 8);
            assert_eq!(float(&text).map(f64::to_bits), Ok(want.to_bits()), "{text}");
        }
    }

    #[test]
    fn hex_float_rounds_to_nearest_even() {
        assert_eq!(float("0x1.fffffffffffff8p0"), Ok(2.0));
        assert_eq!(float("0x1.00000000000008p0"), Ok(1.0));
        assert_eq!(float("0x1.00000000000018p0"), Ok(1.0 + 2.0 * f64::EPSILON));
        // A dropped non-zero digit breaks the tie upwards.
        assert_eq!(float("0x1.000000000000080001p0"), Ok(1.0 + f64::EPSILON));
    }
}
