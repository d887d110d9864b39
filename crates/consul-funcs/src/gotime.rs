//! `timestamp`: the current time in UTC, RFC 3339 by default, `unix` for
//! seconds since the epoch, or any Go reference-time layout
//! (`2006-01-02 15:04:05.000 MST`, `Jan _2`, `3:04PM`, ...).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::args::{string, text};
use crate::funcs::{Func, FuncError, Funcs, Param};

/// A point in time: seconds since the Unix epoch and nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instant {
    /// Whole seconds since 1970-01-01T00:00:00Z (negative before).
    pub secs: i64,
    /// Nanoseconds within the second, 0..1e9.
    pub nanos: u32,
}

/// Where `timestamp` gets the time from.
pub type Clock = fn() -> Instant;

/// The system clock.
pub fn system_now() -> Instant {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => Instant {
            secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nanos: d.subsec_nanos(),
        },
        Err(_) => Instant { secs: 0, nanos: 0 },
    }
}

/// Registers `timestamp` reading `clock`.
pub fn register(funcs: &mut Funcs, clock: Clock) {
    funcs.insert(
        "timestamp",
        Func::variadic(&[], Param::String, move |ctx, a| match a {
            [] => Ok(string(format(clock(), RFC3339))),
            [layout] => {
                let layout = text(layout);
                if layout == "unix" {
                    return Ok(string(clock().secs.to_string()));
                }
                crate::args::charge_bytes(ctx, layout.len().saturating_mul(4))?;
                Ok(string(format(clock(), layout)))
            }
            _ => Err(FuncError::new(format!(
                "timestamp: wrong number of arguments, expected 0 or 1, but got {}",
                a.len()
            ))),
        }),
    );
}

/// Go's `time.RFC3339` layout.
pub const RFC3339: &str = "2006-01-02T15:04:05Z07:00";

/// One element of a layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    Pm,
    PmLower,
    Tz,
    /// A numeric zone that prints `Z` for UTC (`Z0700`, `Z07:00`, ...).
    IsoTz,
    /// A numeric zone: `+00`, `+0000`, `+00:00`, `+000000`, `+00:00:00`.
    NumTz {
        colon: bool,
        minutes: bool,
        seconds: bool,
    },
    /// Fractional seconds: digits, trailing zeros trimmed, separator.
    Frac {
        digits: usize,
        trim: bool,
        sep: char,
    },
}

/// Go's `nextStdChunk`: the literal text before the first element, the
/// element, and the rest.
pub(crate) fn next_chunk(layout: &str) -> (&str, Option<Std>, &str) {
    let b = layout.as_bytes();
    let at = |i: usize, s: &str| layout.get(i..).is_some_and(|rest| rest.starts_with(s));
    let lower_follows = |i: usize| b.get(i).is_some_and(u8::is_ascii_lowercase);
    let mut i = 0;
    while i < b.len() {
        let found: Option<(usize, Std, usize)> = match b[i] {
            b'J' if at(i, "January") => Some((i, Std::LongMonth, i + 7)),
            b'J' if at(i, "Jan") && !lower_follows(i + 3) => Some((i, Std::Month, i + 3)),
            b'M' if at(i, "Monday") => Some((i, Std::LongWeekDay, i + 6)),
            b'M' if at(i, "Mon") && !lower_follows(i + 3) => Some((i, Std::WeekDay, i + 3)),
            b'M' if at(i, "MST") => Some((i, Std::Tz, i + 3)),
            b'0' => match b.get(i + 1) {
                Some(b'1') => Some((i, Std::ZeroMonth, i + 2)),
                Some(b'2') => Some((i, Std::ZeroDay, i + 2)),
                Some(b'3') => Some((i, Std::ZeroHour12, i + 2)),
                Some(b'4') => Some((i, Std::ZeroMinute, i + 2)),
                Some(b'5') => Some((i, Std::ZeroSecond, i + 2)),
                Some(b'6') => Some((i, Std::Year, i + 2)),
                Some(b'0') if b.get(i + 2) == Some(&b'2') => Some((i, Std::ZeroYearDay, i + 3)),
                _ => None,
            },
            b'1' if b.get(i + 1) == Some(&b'5') => Some((i, Std::Hour, i + 2)),
            b'1' => Some((i, Std::NumMonth, i + 1)),
            b'2' if at(i, "2006") => Some((i, Std::LongYear, i + 4)),
            b'2' => Some((i, Std::Day, i + 1)),
            // `_2006` is a literal underscore and a year.
            b'_' if at(i, "_2006") => Some((i + 1, Std::LongYear, i + 5)),
            b'_' if at(i, "_2") => Some((i, Std::UnderDay, i + 2)),
            b'_' if at(i, "__2") => Some((i, Std::UnderYearDay, i + 3)),
            b'3' => Some((i, Std::Hour12, i + 1)),
            b'4' => Some((i, Std::Minute, i + 1)),
            b'5' => Some((i, Std::Second, i + 1)),
            b'P' if b.get(i + 1) == Some(&b'M') => Some((i, Std::Pm, i + 2)),
            b'p' if b.get(i + 1) == Some(&b'm') => Some((i, Std::PmLower, i + 2)),
            b'-' => numeric_zone(layout, i, false),
            b'Z' => numeric_zone(layout, i, true),
            b'.' | b',' => {
                let digit = b.get(i + 1).copied();
                if matches!(digit, Some(b'0' | b'9')) {
                    let mut j = i + 1;
                    while b.get(j).copied() == digit {
                        j += 1;
                    }
                    if b.get(j).is_some_and(u8::is_ascii_digit) {
                        None
                    } else {
                        Some((
                            i,
                            Std::Frac {
                                digits: j - (i + 1),
                                trim: digit == Some(b'9'),
                                sep: char::from(b[i]),
                            },
                            j,
                        ))
                    }
                } else {
                    None
                }
            }
            _ => None,
        };
        if let Some((start, std, end)) = found {
            return (&layout[..start], Some(std), &layout[end..]);
        }
        i += 1;
    }
    (layout, None, "")
}

/// The zone elements starting with `-` (always numeric) or `Z` (`Z` for UTC).
fn numeric_zone(layout: &str, i: usize, iso: bool) -> Option<(usize, Std, usize)> {
    let rest = &layout[i + 1..];
    let forms: [(&str, bool, bool, bool); 5] = [
        ("070000", false, true, true),
        ("07:00:00", true, true, true),
        ("0700", false, true, false),
        ("07:00", true, true, false),
        ("07", false, false, false),
    ];
    for (form, colon, minutes, seconds) in forms {
        if rest.starts_with(form) {
            let std = if iso {
                Std::IsoTz
            } else {
                Std::NumTz {
                    colon,
                    minutes,
                    seconds,
                }
            };
            let _ = (colon, minutes, seconds);
            return Some((i, std, i + 1 + form.len()));
        }
    }
    None
}

/// Go's month names, January first.
pub(crate) const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
/// Go's weekday names, Sunday first.
pub(crate) const LONG_DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// The calendar fields of an instant in UTC.
struct Civil {
    year: i64,
    month: usize,
    day: i64,
    yday: i64,
    weekday: usize,
    hour: i64,
    minute: i64,
    second: i64,
}

fn civil(t: Instant) -> Civil {
    let days = t.secs.div_euclid(86_400);
    let rem = t.secs.rem_euclid(86_400);
    // Days to civil date (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let cumulative = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let month_index = usize::try_from(month - 1).unwrap_or(0).min(11);
    let yday = cumulative[month_index] + day + i64::from(leap && month > 2);
    Civil {
        year,
        month: month_index + 1,
        day,
        yday,
        // 1970-01-01 was a Thursday.
        weekday: usize::try_from((days + 4).rem_euclid(7)).unwrap_or(0),
        hour: rem / 3600,
        minute: rem % 3600 / 60,
        second: rem % 60,
    }
}

/// Go's `appendInt`: decimal, zero-padded to `width`.
fn push_int(out: &mut String, x: i64, width: usize) {
    if x < 0 {
        out.push('-');
    }
    let digits = x.unsigned_abs().to_string();
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(&digits);
}

/// `t.UTC().Format(layout)`.
pub fn format(t: Instant, layout: &str) -> String {
    let c = civil(t);
    let mut out = String::with_capacity(layout.len() + 10);
    let mut layout = layout;
    while !layout.is_empty() {
        let (prefix, std, rest) = next_chunk(layout);
        out.push_str(prefix);
        let Some(std) = std else {
            break;
        };
        layout = rest;
        let hour12 = if c.hour % 12 == 0 { 12 } else { c.hour % 12 };
        match std {
            Std::Year => push_int(&mut out, c.year.abs() % 100, 2),
            Std::LongYear => push_int(&mut out, c.year, 4),
            Std::Month => out.push_str(&LONG_MONTHS[c.month - 1][..3]),
            Std::LongMonth => out.push_str(LONG_MONTHS[c.month - 1]),
            Std::NumMonth => push_int(&mut out, c.month as i64, 0),
            Std::ZeroMonth => push_int(&mut out, c.month as i64, 2),
            Std::WeekDay => out.push_str(&LONG_DAYS[c.weekday][..3]),
            Std::LongWeekDay => out.push_str(LONG_DAYS[c.weekday]),
            Std::Day => push_int(&mut out, c.day, 0),
            Std::UnderDay => {
                if c.day < 10 {
                    out.push(' ');
                }
                push_int(&mut out, c.day, 0);
            }
            Std::ZeroDay => push_int(&mut out, c.day, 2),
            Std::UnderYearDay => {
                if c.yday < 100 {
                    out.push(' ');
                    if c.yday < 10 {
                        out.push(' ');
                    }
                }
                push_int(&mut out, c.yday, 0);
            }
            Std::ZeroYearDay => push_int(&mut out, c.yday, 3),
            Std::Hour => push_int(&mut out, c.hour, 2),
            Std::Hour12 => push_int(&mut out, hour12, 0),
            Std::ZeroHour12 => push_int(&mut out, hour12, 2),
            Std::Minute => push_int(&mut out, c.minute, 0),
            Std::ZeroMinute => push_int(&mut out, c.minute, 2),
            Std::Second => push_int(&mut out, c.second, 0),
            Std::ZeroSecond => push_int(&mut out, c.second, 2),
            Std::Pm => out.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
            Std::PmLower => out.push_str(if c.hour >= 12 { "pm" } else { "am" }),
            Std::Tz => out.push_str("UTC"),
            Std::IsoTz => out.push('Z'),
            Std::NumTz {
                colon,
                minutes,
                seconds,
            } => {
                out.push_str("+00");
                if colon {
                    out.push(':');
                }
                if minutes {
                    out.push_str("00");
                }
                if seconds {
                    if colon {
                        out.push(':');
                    }
                    out.push_str("00");
                }
            }
            Std::Frac { digits, trim, sep } => push_fraction(&mut out, t.nanos, digits, trim, sep),
        }
    }
    out
}

/// Go's `appendNano`.
fn push_fraction(out: &mut String, nanos: u32, digits: usize, trim: bool, sep: char) {
    if trim && (digits == 0 || nanos == 0) {
        return;
    }
    let mut frac = format!("{nanos:09}");
    frac.truncate(digits.min(9));
    let mut text = String::new();
    text.push(sep);
    text.push_str(&frac);
    if trim {
        while text.ends_with('0') {
            text.pop();
        }
        if text.ends_with(sep) {
            text.pop();
        }
    }
    out.push_str(&text);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2009-11-10T23:04:05.123456789Z, a Tuesday.
    const T: Instant = Instant {
        secs: 1_257_894_245,
        nanos: 123_456_789,
    };

    #[test]
    fn rfc3339_prints_z_for_utc() {
        assert_eq!(format(T, RFC3339), "2009-11-10T23:04:05Z");
    }

    #[test]
    fn names_and_padding_follow_go() {
        assert_eq!(
            format(T, "Mon Monday Jan January 1 01 2 02 _2 __2 002 06 2006"),
            "Tue Tuesday Nov November 11 11 10 10 10 314 314 09 2009"
        );
    }

    #[test]
    fn clock_fields_follow_go() {
        assert_eq!(
            format(T, "15 3 03 4 04 5 05 PM pm"),
            "23 11 11 4 04 5 05 PM pm"
        );
    }

    #[test]
    fn zones_are_utc() {
        assert_eq!(
            format(T, "MST Z07:00 Z0700 -07:00 -0700 -07 -07:00:00"),
            "UTC Z Z +00:00 +0000 +00 +00:00:00"
        );
    }

    #[test]
    fn fractions_keep_or_trim_zeros() {
        assert_eq!(format(T, ".000 .999999 ,00"), ".123 .123456 ,12");
        let whole = Instant { secs: 0, nanos: 0 };
        assert_eq!(format(whole, "05.999|05.000"), "00|00.000");
    }

    #[test]
    fn words_starting_like_elements_stay_literal() {
        assert_eq!(format(T, "Month Janet"), "Month Janet");
    }

    #[test]
    fn dates_before_the_epoch_are_computed() {
        let t = Instant {
            secs: -86_400,
            nanos: 0,
        };
        assert_eq!(format(t, "2006-01-02 Mon"), "1969-12-31 Wed");
    }
}
