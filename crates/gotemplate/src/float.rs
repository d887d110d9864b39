//! Go's `strconv.FormatFloat` for a `float64`, every verb (`e E f g G b x
//! X`), and the layouts built on it: `%v`'s shortest `g` and
//! `encoding/json`'s. `fmt`, `toJSON`, `toYAML` and `toTOML` all print
//! floats through here.

use std::fmt::Write;

/// Writes `f` as Go's `strconv.FormatFloat(f, 'g', -1, 64)`, which is also
/// what `fmt`'s `%v` prints: `1e+06`, `0.30000000000000004`, `+Inf`, `NaN`.
pub fn write_go_g(out: &mut String, f: f64) {
    write_float(out, f, 'g', -1);
}

/// Writes a finite `f` the way Go's `encoding/json` does: plain decimals,
/// exponent form (`1e+21`, `1e-7`) only below 1e-6 or from 1e21 on.
pub fn write_go_json(out: &mut String, f: f64) {
    if f.is_sign_negative() {
        out.push('-');
    }
    let magnitude = f.abs();
    let d = Decimal::shortest(magnitude);
    if magnitude != 0.0 && !(1e-6..1e21).contains(&magnitude) {
        let start = out.len();
        d.write_e(out, d.nd() - 1, 'e');
        shorten_negative_exponent(out, start);
    } else {
        d.write_f(out, (d.nd() - d.dp).max(0));
    }
}

/// Go's `FormatFloat` spelling of infinities and NaN, `None` when finite.
pub fn non_finite(f: f64) -> Option<&'static str> {
    if f.is_nan() {
        Some("NaN")
    } else if f.is_infinite() {
        Some(if f > 0.0 { "+Inf" } else { "-Inf" })
    } else {
        None
    }
}

/// Go's JSON encoder turns `e-07` into `e-7` (only for negative exponents).
fn shorten_negative_exponent(out: &mut String, start: usize) {
    let tail = &out.as_bytes()[start..];
    let n = tail.len();
    if n >= 4 && tail[n - 4] == b'e' && tail[n - 3] == b'-' && tail[n - 2] == b'0' {
        out.remove(start + n - 2);
    }
}

/// Go's `strconv.FormatFloat(v, verb, prec, 64)` for the verbs `e E f g G
/// b x X` (`prec` -1: the shortest digits that read back exactly).
pub fn format_float(v: f64, verb: char, prec: i64) -> String {
    let mut out = String::new();
    write_float(&mut out, v, verb, prec);
    out
}

/// [`format_float`] appending to `out`.
pub fn write_float(out: &mut String, v: f64, verb: char, prec: i64) {
    if let Some(special) = non_finite(v) {
        out.push_str(special);
        return;
    }
    match verb {
        'b' => return format_binary(out, v),
        'x' | 'X' => return format_hex(out, v, verb, prec),
        _ => {}
    }
    let neg = v.is_sign_negative();
    let a = v.abs();
    if neg {
        out.push('-');
    }
    // Precision is capped: Go would print thousands of zeros, which is
    // never what a template wants and would only cost memory.
    let prec = prec.min(1000);
    match verb {
        'f' => {
            let d = if prec < 0 {
                Decimal::shortest(a)
            } else {
                let _ = write!(out, "{a:.*}", prec as usize);
                return;
            };
            let frac = (d.nd() - d.dp).max(0);
            d.write_f(out, frac);
        }
        'e' | 'E' => {
            let d = if prec < 0 {
                Decimal::shortest(a)
            } else {
                Decimal::significant(a, prec as usize + 1)
            };
            let p = if prec < 0 { d.nd() - 1 } else { prec as i32 };
            d.write_e(out, p, verb);
        }
        _ => {
            // 'g' / 'G'
            let e = if verb == 'G' { 'E' } else { 'e' };
            let shortest = prec < 0;
            let d = if shortest {
                Decimal::shortest(a)
            } else {
                let digits = if prec == 0 { 1 } else { prec as usize };
                Decimal::significant(a, digits).trimmed()
            };
            let mut p = if shortest {
                d.nd()
            } else if prec == 0 {
                1
            } else {
                prec as i32
            };
            let mut eprec = p;
            if eprec > d.nd() && d.nd() >= d.dp {
                eprec = d.nd();
            }
            if shortest {
                eprec = 6;
            }
            let exp = d.dp - 1;
            if exp < -4 || exp >= eprec {
                if p > d.nd() {
                    p = d.nd();
                }
                d.write_e(out, p - 1, e);
            } else {
                if p > d.dp {
                    p = d.nd();
                }
                d.write_f(out, (p - d.dp).max(0));
            }
        }
    }
}

/// Decimal digits of a non-negative finite float: 0.d1d2... × 10^dp.
///
/// Rust's shortest round-trip digits (`{:e}`) are Go's: both pick the
/// shortest digit string that reads back to the same value, and the
/// closest one when several qualify.
struct Decimal {
    digits: Vec<u8>,
    dp: i32,
}

impl Decimal {
    fn shortest(a: f64) -> Decimal {
        Decimal::from_exp_text(&format!("{a:e}"))
    }

    fn significant(a: f64, n: usize) -> Decimal {
        Decimal::from_exp_text(&format!("{a:.*e}", n.saturating_sub(1)))
    }

    fn from_exp_text(text: &str) -> Decimal {
        let (mantissa, exponent) = text.split_once('e').unwrap_or((text, "0"));
        let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
        let exponent: i32 = exponent.parse().unwrap_or(0);
        if digits.iter().all(|&d| d == b'0') {
            // Go keeps no digits for zero; the point stays at 0.
            return Decimal {
                digits: Vec::new(),
                dp: 0,
            };
        }
        Decimal {
            digits,
            dp: exponent + 1,
        }
    }

    fn trimmed(mut self) -> Decimal {
        while self.digits.last() == Some(&b'0') {
            self.digits.pop();
        }
        if self.digits.is_empty() {
            self.dp = 0;
        }
        self
    }

    fn nd(&self) -> i32 {
        i32::try_from(self.digits.len()).unwrap_or(i32::MAX)
    }

    fn digit(&self, i: i32) -> char {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.digits.get(i))
            .map_or('0', |&d| char::from(d))
    }

    /// `d.ddde±dd` with `prec` digits after the point.
    fn write_e(&self, out: &mut String, prec: i32, e: char) {
        out.push(self.digit(0));
        if prec > 0 {
            out.push('.');
            for i in 1..=prec {
                out.push(self.digit(i));
            }
        }
        out.push(e);
        let exp = if self.digits.is_empty() {
            0
        } else {
            self.dp - 1
        };
        out.push(if exp < 0 { '-' } else { '+' });
        let m = exp.unsigned_abs();
        if m < 10 {
            out.push('0');
        }
        let _ = write!(out, "{m}");
    }

    /// `ddd.ddd` with `prec` digits after the point.
    fn write_f(&self, out: &mut String, prec: i32) {
        if self.dp > 0 {
            for i in 0..self.dp {
                out.push(self.digit(i));
            }
        } else {
            out.push('0');
        }
        if prec > 0 {
            out.push('.');
            for i in 0..prec {
                out.push(self.digit(self.dp + i));
            }
        }
    }
}

/// `%b`: decimal mantissa and binary exponent, `4503599627370496p-52`.
fn format_binary(out: &mut String, v: f64) {
    let bits = v.to_bits();
    let neg = bits >> 63 != 0;
    let mut exp = ((bits >> 52) & 0x7ff) as i64;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        exp += 1;
    } else {
        mant |= 1u64 << 52;
    }
    exp += -1023 - 52;
    if neg {
        out.push('-');
    }
    let _ = write!(out, "{mant}p");
    if exp >= 0 {
        out.push('+');
    }
    let _ = write!(out, "{exp}");
}

/// `%x` / `%X`: hexadecimal mantissa and binary exponent, `0x1.8p+00`.
fn format_hex(out: &mut String, v: f64, verb: char, prec: i64) {
    let bits = v.to_bits();
    let neg = bits >> 63 != 0;
    let mut exp = ((bits >> 52) & 0x7ff) as i64;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        exp += 1;
    } else {
        mant |= 1u64 << 52;
    }
    exp -= 1023;
    if mant == 0 {
        exp = 0;
    }
    // Put the leading 1 at bit 60.
    mant <<= 60 - 52;
    while mant != 0 && mant & (1u64 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    if (0..15).contains(&prec) {
        let shift = (prec * 4) as u32;
        let extra = (mant << shift) & ((1u64 << 60) - 1);
        mant >>= 60 - shift;
        if extra | (mant & 1) > 1u64 << 59 {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1u64 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let hex: &[u8; 16] = if verb == 'X' {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    if neg {
        out.push('-');
    }
    out.push('0');
    out.push(verb);
    out.push(char::from(b'0' + ((mant >> 60) & 1) as u8));
    mant <<= 4;
    if prec < 0 && mant != 0 {
        out.push('.');
        while mant != 0 {
            out.push(char::from(hex[((mant >> 60) & 15) as usize]));
            mant <<= 4;
        }
    } else if prec > 0 {
        out.push('.');
        for _ in 0..prec.min(1000) {
            out.push(char::from(hex[((mant >> 60) & 15) as usize]));
            mant <<= 4;
        }
    }
    out.push(if verb == 'X' { 'P' } else { 'p' });
    out.push(if exp < 0 { '-' } else { '+' });
    let m = exp.unsigned_abs();
    if m < 10 {
        out.push('0');
    }
    let _ = write!(out, "{m}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(f: f64) -> String {
        let mut s = String::new();
        write_go_g(&mut s, f);
        s
    }

    fn json(f: f64) -> String {
        let mut s = String::new();
        write_go_json(&mut s, f);
        s
    }

    /// (input, `%v`, `toJSON`) as printed by OpenBao 2.7.2's agent for
    /// `{{ parseFloat "input" }}` and `{{ toJSON (parseFloat "input") }}`.
    const AGENT_FLOATS: &[(&str, &str, &str)] = &[
        ("0", "0", "0"),
        ("-0", "-0", "-0"),
        ("1", "1", "1"),
        ("-1", "-1", "-1"),
        ("0.1", "0.1", "0.1"),
        ("0.3", "0.3", "0.3"),
        ("1.5", "1.5", "1.5"),
        ("100", "100", "100"),
        ("123456", "123456", "123456"),
        ("999999", "999999", "999999"),
        ("1000000", "1e+06", "1000000"),
        ("1234567", "1.234567e+06", "1234567"),
        ("12345678", "1.2345678e+07", "12345678"),
        ("1e20", "1e+20", "100000000000000000000"),
        ("1e21", "1e+21", "1e+21"),
        ("1e22", "1e+22", "1e+22"),
        (
            "123456789012345678901",
            "1.2345678901234568e+20",
            "123456789012345680000",
        ),
        ("0.0001", "0.0001", "0.0001"),
        ("0.00001", "1e-05", "0.00001"),
        ("0.000001", "1e-06", "0.000001"),
        ("0.0000001", "1e-07", "1e-7"),
        ("1.5e-7", "1.5e-07", "1.5e-7"),
        ("5e-324", "5e-324", "5e-324"),
        (
            "1.7976931348623157e308",
            "1.7976931348623157e+308",
            "1.7976931348623157e+308",
        ),
        (
            "2.2250738585072014e-308",
            "2.2250738585072014e-308",
            "2.2250738585072014e-308",
        ),
        ("1e100", "1e+100", "1e+100"),
        ("1.23e-5", "1.23e-05", "0.0000123"),
        ("0.000123", "0.000123", "0.000123"),
        ("123456.7", "123456.7", "123456.7"),
        ("3.14159", "3.14159", "3.14159"),
        ("9.999999e5", "999999.9", "999999.9"),
        ("9.99e-7", "9.99e-07", "9.99e-7"),
        ("1e23", "1e+23", "1e+23"),
        ("2e15", "2e+15", "2000000000000000"),
        ("4.35", "4.35", "4.35"),
        ("0.000012345", "1.2345e-05", "0.000012345"),
        ("123e-20", "1.23e-18", "1.23e-18"),
        ("-1.5e-10", "-1.5e-10", "-1.5e-10"),
        ("-2e21", "-2e+21", "-2e+21"),
        ("1e-100", "1e-100", "1e-100"),
        ("1.5e300", "1.5e+300", "1.5e+300"),
    ];

    #[test]
    fn g_format_matches_agent_output() {
        for (input, want, _) in AGENT_FLOATS {
            let f: f64 = input.parse().unwrap();
            assert_eq!(g(f), *want, "input {input}");
        }
    }

    #[test]
    fn json_format_matches_agent_output() {
        for (input, _, want) in AGENT_FLOATS {
            let f: f64 = input.parse().unwrap();
            assert_eq!(json(f), *want, "input {input}");
        }
    }

    #[test]
    fn format_float_matches_strconv() {
        assert_eq!(format_float(0.0, 'e', -1), "0e+00");
        assert_eq!(format_float(1.0, 'g', 0), "1");
        assert_eq!(format_float(0.125, 'f', 2), "0.12");
        assert_eq!(format_float(1e21, 'f', -1), "1000000000000000000000");
        assert_eq!(format_float(1.0, 'b', -1), "4503599627370496p-52");
        assert_eq!(format_float(0.0, 'x', -1), "0x0p+00");
    }

    #[test]
    fn shortest_forms_print_like_go() {
        assert_eq!(format_float(0.1, 'g', -1), "0.1");
        assert_eq!(format_float(1e6, 'g', -1), "1e+06");
        assert_eq!(format_float(1e21, 'g', -1), "1e+21");
        assert_eq!(format_float(1e21, 'e', -1), "1e+21");
        assert_eq!(format_float(1e6, 'f', -1), "1000000");
        assert_eq!(format_float(0.1, 'e', -1), "1e-01");
        assert_eq!(format_float(123.456, 'E', -1), "1.23456E+02");
        assert_eq!(format_float(1e-7, 'G', -1), "1E-07");
    }

    #[test]
    fn shortest_forms_read_back_to_the_same_float() {
        let values = [
            0.1,
            1.0 / 3.0,
            1e21,
            1e6,
            123_456.7,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            -2.5e-10,
            9_007_199_254_740_993.0,
        ];
        for v in values {
            for verb in ['g', 'e', 'f', 'x'] {
                let text = format_float(v, verb, -1);
                let back = crate::strconv::parse_float(&text).unwrap();
                assert_eq!(back.to_bits(), v.to_bits(), "{v} as {verb}: {text}");
            }
        }
    }

    #[test]
    fn sum_of_tenths_prints_all_digits() {
        assert_eq!(g(0.1 + 0.2), "0.30000000000000004");
    }

    #[test]
    fn infinities_and_nan_print_like_go() {
        assert_eq!(g(f64::INFINITY), "+Inf");
        assert_eq!(g(f64::NEG_INFINITY), "-Inf");
        assert_eq!(g(f64::NAN), "NaN");
    }

    #[test]
    fn negative_zero_keeps_its_sign() {
        assert_eq!(g(-0.0), "-0");
        assert_eq!(json(-0.0), "-0");
    }

    #[test]
    fn exponent_switch_points_for_g() {
        assert_eq!(g(999999.5), "999999.5");
        assert_eq!(g(0.0001), "0.0001");
        assert_eq!(g(0.00009999), "9.999e-05");
    }

    #[test]
    fn exponent_switch_points_for_json() {
        assert_eq!(json(9.999999999999999e20), "999999999999999900000");
        assert_eq!(json(9.99999999999999e-7), "9.99999999999999e-7");
    }
}
