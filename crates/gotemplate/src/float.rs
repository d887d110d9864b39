//! Go's `strconv` layouts of a `float64`, built on Rust's shortest
//! round-trip digits (both pick the shortest digit string that reads back
//! to the same value, and the closest one when several qualify).

use std::fmt::Write;

/// Shortest decimal digits of a finite float: value = 0.d1d2d3... × 10^dp.
struct Digits {
    negative: bool,
    /// ASCII digits without leading zeros; empty for zero (as Go has it).
    digits: Vec<u8>,
    /// Position of the decimal point relative to the first digit.
    point: i32,
}

impl Digits {
    fn of(f: f64) -> Digits {
        let mut text = String::with_capacity(32);
        // `{:e}` without a precision yields the shortest round-trip digits.
        let _ = write!(text, "{:e}", f.abs());
        let (mantissa, exponent) = text.split_once('e').unwrap_or((text.as_str(), "0"));
        let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
        let exponent: i32 = exponent.parse().unwrap_or(0);
        let zero = digits.iter().all(|&d| d == b'0');
        Digits {
            negative: f.is_sign_negative(),
            digits: if zero { Vec::new() } else { digits },
            point: if zero { 0 } else { exponent + 1 },
        }
    }

    fn count(&self) -> i32 {
        i32::try_from(self.digits.len()).unwrap_or(i32::MAX)
    }

    /// The digit at `index`, or `0` beyond either end.
    fn digit(&self, index: i32) -> char {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.digits.get(i))
            .map_or('0', |&d| char::from(d))
    }
}

/// Writes `f` as Go's `strconv.FormatFloat(f, 'g', -1, 64)`, which is also
/// what `fmt`'s `%v` prints: `1e+06`, `0.30000000000000004`, `+Inf`, `NaN`.
pub fn write_go_g(out: &mut String, f: f64) {
    if let Some(special) = non_finite(f) {
        out.push_str(special);
        return;
    }
    let d = Digits::of(f);
    let exponent = d.point - 1;
    // The shortest form switches to exponent notation outside [1e-4, 1e6).
    if !(-4..6).contains(&exponent) {
        write_exponent(out, &d, d.count() - 1);
    } else {
        write_fixed(out, &d, (d.count() - d.point).max(0));
    }
}

/// Writes a finite `f` the way Go's `encoding/json` does: plain decimals,
/// exponent form (`1e+21`, `1e-7`) only below 1e-6 or from 1e21 on.
pub fn write_go_json(out: &mut String, f: f64) {
    let d = Digits::of(f);
    let magnitude = f.abs();
    if magnitude != 0.0 && !(1e-6..1e21).contains(&magnitude) {
        let start = out.len();
        write_exponent(out, &d, d.count() - 1);
        shorten_negative_exponent(out, start);
    } else {
        write_fixed(out, &d, (d.count() - d.point).max(0));
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

/// `d.ddde±dd`: Go pads the exponent to at least two digits.
fn write_exponent(out: &mut String, d: &Digits, precision: i32) {
    if d.negative {
        out.push('-');
    }
    out.push(d.digit(0));
    if precision > 0 {
        out.push('.');
        for i in 1..=precision {
            out.push(d.digit(i));
        }
    }
    let exponent = if d.digits.is_empty() { 0 } else { d.point - 1 };
    out.push('e');
    out.push(if exponent < 0 { '-' } else { '+' });
    let magnitude = exponent.unsigned_abs();
    if magnitude < 10 {
        out.push('0');
    }
    let _ = write!(out, "{magnitude}");
}

/// `ddd.ddd` with `precision` digits after the point.
fn write_fixed(out: &mut String, d: &Digits, precision: i32) {
    if d.negative {
        out.push('-');
    }
    if d.point > 0 {
        for i in 0..d.point {
            out.push(d.digit(i));
        }
    } else {
        out.push('0');
    }
    if precision > 0 {
        out.push('.');
        for i in 1..=precision {
            out.push(d.digit(d.point + i - 1));
        }
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
