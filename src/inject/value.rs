//! Scalar annotation values, parsed the way the injector and the agent parse them.
//!
//! Each parser takes an already trimmed, non-blank value and says only whether
//! it is valid; the caller turns a failure into an error that names the key.

use std::time::Duration;

/// Largest Go `time.Duration`, in nanoseconds (it is an int64).
const GO_DURATION_MAX: u64 = i64::MAX as u64;

/// Go's duration units and their length in nanoseconds. Both spellings of the
/// micro sign are accepted, as Go does.
const UNITS: [(&str, u64); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),
    ("\u{3bc}s", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Why a duration was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DurationError {
    /// Not in the accepted syntax, or too large for Go.
    Syntax,
    /// Syntactically fine but below zero.
    Negative,
}

/// Go's `strconv.ParseBool`: exactly `1 t T TRUE true True 0 f F FALSE false False`.
pub(super) fn bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// An unsigned decimal without sign, like Go's `strconv.ParseUint(s, 10, 32)`.
pub(super) fn u32_decimal(s: &str) -> Option<u32> {
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A Linux user or group id as Go's `ParseInt` reads it (sign allowed), kept
/// only when it is a usable id: `u32::MAX` means "unchanged" to `chown`.
pub(super) fn id(s: &str) -> Option<u32> {
    let n: i64 = s.parse().ok()?;
    u32::try_from(n).ok().filter(|&n| n != u32::MAX)
}

/// An octal file mode of at most 12 bits, as consul-template reads `perms`
/// (`ParseUint(s, 8, 12)`): `644`, `0644` and `0000644` are all 0o644.
pub(super) fn perms(s: &str) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    let mut mode: u32 = 0;
    for b in s.bytes() {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        mode = mode * 8 + u32::from(b - b'0');
        if mode > 0o7777 {
            return None;
        }
    }
    Some(mode)
}

/// A fraction in (0, 1], as a lease-renewal threshold must be.
pub(super) fn fraction(s: &str) -> Option<f64> {
    let f: f64 = s.parse().ok()?;
    (f > 0.0 && f <= 1.0).then_some(f)
}

/// Go's `time.ParseDuration` (`300ms`, `1.5h`, `2h45m`, `0`), refusing
/// negative results: every duration the driver reads is a wait or a limit.
pub(crate) fn go_duration(input: &str) -> Result<Duration, DurationError> {
    let (negative, mut s) = match input.as_bytes().first() {
        Some(b'-') => (true, &input[1..]),
        Some(b'+') => (false, &input[1..]),
        _ => (false, input),
    };
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(DurationError::Syntax);
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        let (value, rest) = duration_term(s)?;
        total = total
            .checked_add(value)
            .filter(|&t| t <= GO_DURATION_MAX)
            .ok_or(DurationError::Syntax)?;
        s = rest;
    }
    if negative && total > 0 {
        return Err(DurationError::Negative);
    }
    Ok(Duration::from_nanos(total))
}

/// One `<number>[.<fraction>]<unit>` term of a Go duration: its length in
/// nanoseconds and the rest of the input.
fn duration_term(s: &str) -> Result<(u64, &str), DurationError> {
    let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
    let (int_digits, mut s) = s.split_at(int_len);
    let mut value: u64 = 0;
    for d in int_digits.bytes() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .filter(|&v| v <= GO_DURATION_MAX)
            .ok_or(DurationError::Syntax)?;
    }

    // Go keeps reading fraction digits after they stop fitting and just
    // ignores them; so does this.
    let mut fraction: u64 = 0;
    let mut scale: f64 = 1.0;
    let mut frac_len = 0;
    if let Some(rest) = s.strip_prefix('.') {
        frac_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let mut overflow = false;
        for d in rest[..frac_len].bytes() {
            match fraction
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d - b'0')))
                .filter(|&v| !overflow && v <= GO_DURATION_MAX)
            {
                Some(v) => {
                    fraction = v;
                    scale *= 10.0;
                }
                None => overflow = true,
            }
        }
        s = &rest[frac_len..];
    }
    if int_len == 0 && frac_len == 0 {
        return Err(DurationError::Syntax);
    }

    // The unit runs up to the next number; '.' and digits are ASCII, so the
    // split lands on a character boundary.
    let unit_len = s
        .find(|c: char| c == '.' || c.is_ascii_digit())
        .unwrap_or(s.len());
    let (unit, rest) = s.split_at(unit_len);
    let unit_ns = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|&(_, ns)| ns)
        .ok_or(DurationError::Syntax)?;

    let mut ns = value.checked_mul(unit_ns).ok_or(DurationError::Syntax)?;
    if fraction > 0 {
        // Truncation toward zero is what Go does here too.
        let extra = (fraction as f64 * (unit_ns as f64 / scale)) as u64;
        ns = ns.checked_add(extra).ok_or(DurationError::Syntax)?;
    }
    if ns > GO_DURATION_MAX {
        return Err(DurationError::Syntax);
    }
    Ok((ns, rest))
}

/// The agent's looser duration syntax (`ParseDurationSecond`): a bare integer
/// is seconds, an integer followed by `d` is days, anything else is a Go
/// duration.
pub(super) fn duration_or_seconds(s: &str) -> Result<Duration, DurationError> {
    if let Ok(seconds) = s.parse::<i64>() {
        return whole_units(seconds, 1);
    }
    if let Some(days) = s.strip_suffix('d') {
        let days: i64 = days.parse().map_err(|_| DurationError::Syntax)?;
        return whole_units(days, 86_400);
    }
    go_duration(s)
}

/// `count` units of `unit_secs` seconds, within Go's duration range.
fn whole_units(count: i64, unit_secs: u64) -> Result<Duration, DurationError> {
    let count = u64::try_from(count).map_err(|_| DurationError::Negative)?;
    count
        .checked_mul(unit_secs)
        .and_then(|s| s.checked_mul(1_000_000_000))
        .filter(|&ns| ns <= GO_DURATION_MAX)
        .map(Duration::from_nanos)
        .ok_or(DurationError::Syntax)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Result<Duration, DurationError> {
        Ok(Duration::from_millis(n))
    }

    #[test]
    fn bool_accepts_exactly_go_spellings() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(bool(t), Some(true), "{t}");
        }
        for f in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(bool(f), Some(false), "{f}");
        }
        for bad in ["yes", "no", "tRUE", "on", "2", "", "true "] {
            assert_eq!(bool(bad), None, "{bad}");
        }
    }

    #[test]
    fn u32_decimal_refuses_signs_and_overflow() {
        assert_eq!(u32_decimal("0"), Some(0));
        assert_eq!(u32_decimal("4294967295"), Some(u32::MAX));
        assert_eq!(u32_decimal("+3"), None);
        assert_eq!(u32_decimal("-1"), None);
        assert_eq!(u32_decimal("4294967296"), None);
        assert_eq!(u32_decimal("0x10"), None);
        assert_eq!(u32_decimal(""), None);
    }

    #[test]
    fn id_is_a_usable_uid() {
        assert_eq!(id("0"), Some(0));
        assert_eq!(id("+1000"), Some(1000));
        assert_eq!(id("4294967294"), Some(4_294_967_294));
        assert_eq!(id("4294967295"), None);
        assert_eq!(id("-1"), None);
        assert_eq!(id("1e3"), None);
    }

    #[test]
    fn perms_are_twelve_bit_octal() {
        assert_eq!(perms("644"), Some(0o644));
        assert_eq!(perms("0644"), Some(0o644));
        assert_eq!(perms("0000400"), Some(0o400));
        assert_eq!(perms("7777"), Some(0o7777));
        assert_eq!(perms("10000"), None);
        assert_eq!(perms("0o644"), None);
        assert_eq!(perms("0x1a4"), None);
        assert_eq!(perms("0648"), None);
        assert_eq!(perms("-644"), None);
        assert_eq!(perms("77777777777777777777777"), None);
        assert_eq!(perms(""), None);
    }

    #[test]
    fn fraction_is_in_zero_one_inclusive_of_one() {
        assert_eq!(fraction("0.9"), Some(0.9));
        assert_eq!(fraction("1"), Some(1.0));
        assert_eq!(fraction(".5"), Some(0.5));
        assert_eq!(fraction("5e-1"), Some(0.5));
        assert_eq!(fraction("0"), None);
        assert_eq!(fraction("1.01"), None);
        assert_eq!(fraction("-0.5"), None);
        assert_eq!(fraction("NaN"), None);
        assert_eq!(fraction("inf"), None);
        assert_eq!(fraction("ninety"), None);
    }

    #[test]
    fn go_duration_reads_go_syntax() {
        assert_eq!(go_duration("5m"), ms(300_000));
        assert_eq!(go_duration("1h30m"), ms(5_400_000));
        assert_eq!(go_duration("30s"), ms(30_000));
        assert_eq!(go_duration("500ms"), ms(500));
        assert_eq!(go_duration("1.5h"), ms(5_400_000));
        assert_eq!(go_duration(".5s"), ms(500));
        assert_eq!(go_duration("1.s"), ms(1_000));
        assert_eq!(go_duration("+2s"), ms(2_000));
        assert_eq!(go_duration("0"), Ok(Duration::ZERO));
        assert_eq!(go_duration("-0s"), Ok(Duration::ZERO));
        assert_eq!(
            go_duration("1h2m3s4ms5us6ns"),
            Ok(Duration::new(3723, 4_005_006))
        );
        assert_eq!(go_duration("7\u{b5}s"), Ok(Duration::from_micros(7)));
        assert_eq!(go_duration("7\u{3bc}s"), Ok(Duration::from_micros(7)));
        assert_eq!(
            go_duration("2562047h"),
            Ok(Duration::from_secs(2_562_047 * 3600))
        );
    }

    #[test]
    fn go_duration_refuses_what_go_refuses() {
        for bad in [
            "",
            "5",
            "30",
            "m",
            ".s",
            "1d",
            "5 m",
            "5M",
            "1h-5m",
            "+",
            "-",
            "1.2.3s",
            "2562048h",
            "99999999999999999999ns",
            "\u{e9}",
            "5\u{e9}",
        ] {
            assert_eq!(go_duration(bad), Err(DurationError::Syntax), "{bad:?}");
        }
    }

    #[test]
    fn go_duration_refuses_negatives() {
        assert_eq!(go_duration("-5m"), Err(DurationError::Negative));
    }

    #[test]
    fn go_duration_ignores_fraction_digits_beyond_precision() {
        assert_eq!(
            go_duration("1.0000000000000000000000001s"),
            Ok(Duration::from_secs(1))
        );
    }

    #[test]
    fn duration_or_seconds_takes_integers_as_seconds_and_d_as_days() {
        assert_eq!(duration_or_seconds("300"), ms(300_000));
        assert_eq!(duration_or_seconds("+30"), ms(30_000));
        assert_eq!(duration_or_seconds("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(duration_or_seconds("1h30m"), ms(5_400_000));
        assert_eq!(duration_or_seconds("-30"), Err(DurationError::Negative));
        assert_eq!(duration_or_seconds("-1d"), Err(DurationError::Negative));
        assert_eq!(duration_or_seconds("1.5d"), Err(DurationError::Syntax));
        assert_eq!(duration_or_seconds("d"), Err(DurationError::Syntax));
        assert_eq!(
            duration_or_seconds("9223372036854775807"),
            Err(DurationError::Syntax)
        );
    }
}
