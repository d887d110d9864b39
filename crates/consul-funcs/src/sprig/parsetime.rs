//! Go's `time.ParseInLocation` with the agent's local zone (UTC), for
//! `toDate` and `mustToDate`: the same layout elements as formatting,
//! Go's leniencies (one- or two-digit days, fractional seconds after a
//! seconds element) and its range checks. Error messages are Go's with
//! the parsed text shown as `[redacted]` (it may come from a secret).

use gotemplate::error::REDACTED;
use gotemplate::quote::quote;

use crate::gotime::{Instant, LONG_DAYS, LONG_MONTHS, Std, next_chunk};

/// `time.Time{}`: January 1, year 1, 00:00:00 UTC.
pub(super) const ZERO_TIME: Instant = Instant {
    secs: -62_135_596_800,
    nanos: 0,
};

const SHORT_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const SHORT_DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

fn time_quote(s: &str) -> String {
    quote(s, false)
}

fn is_digit(s: &[u8], i: usize) -> bool {
    s.get(i).is_some_and(u8::is_ascii_digit)
}

fn getnum(s: &[u8], fixed: bool) -> Option<(i64, &[u8])> {
    if !is_digit(s, 0) {
        return None;
    }
    if !is_digit(s, 1) {
        if fixed {
            return None;
        }
        return Some((i64::from(s[0] - b'0'), &s[1..]));
    }
    Some((
        i64::from(s[0] - b'0') * 10 + i64::from(s[1] - b'0'),
        &s[2..],
    ))
}

fn getnum3(s: &[u8], fixed: bool) -> Option<(i64, &[u8])> {
    let mut n = 0i64;
    let mut i = 0;
    while i < 3 && is_digit(s, i) {
        n = n * 10 + i64::from(s[i] - b'0');
        i += 1;
    }
    if i == 0 || (fixed && i != 3) {
        return None;
    }
    Some((n, &s[i..]))
}

fn lookup<'a>(table: &[&str], value: &'a [u8]) -> Option<(usize, &'a [u8])> {
    table.iter().enumerate().find_map(|(i, name)| {
        let n = name.len();
        (value.len() >= n && value[..n].eq_ignore_ascii_case(name.as_bytes()))
            .then(|| (i, &value[n..]))
    })
}

/// Go's `time.atoi`: an optional sign and decimal digits.
fn atoi(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) || digits.len() > 18 {
        return None;
    }
    let n: i64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(if neg { -n } else { n })
}

fn parse_nanoseconds(value: &[u8], nbytes: usize) -> Result<i64, ()> {
    if !matches!(value.first(), Some(b'.' | b',')) {
        return Err(());
    }
    let nbytes = nbytes.min(10);
    let mut ns = atoi(value.get(1..nbytes).ok_or(())?).ok_or(())?;
    if ns < 0 {
        return Err(());
    }
    for _ in 0..(10 - nbytes) {
        ns *= 10;
    }
    Ok(ns)
}

fn parse_time_zone(value: &[u8]) -> Option<usize> {
    if value.len() < 3 {
        return None;
    }
    if value.len() >= 4 && (&value[..4] == b"ChST" || &value[..4] == b"MeST") {
        return Some(4);
    }
    if &value[..3] == b"GMT" {
        return Some(parse_gmt(value));
    }
    if value[0] == b'+' || value[0] == b'-' {
        let n = parse_signed_offset(value);
        return (n > 0).then_some(n);
    }
    let upper = value
        .iter()
        .take(6)
        .take_while(|c| c.is_ascii_uppercase())
        .count();
    match upper {
        5 if value[4] == b'T' => Some(5),
        4 if value[3] == b'T' || &value[..4] == b"WITA" => Some(4),
        3 => Some(3),
        _ => None,
    }
}

fn parse_gmt(value: &[u8]) -> usize {
    let rest = &value[3..];
    if rest.is_empty() {
        return 3;
    }
    3 + parse_signed_offset(rest)
}

fn parse_signed_offset(value: &[u8]) -> usize {
    let Some(&sign) = value.first() else {
        return 0;
    };
    if sign != b'-' && sign != b'+' {
        return 0;
    }
    let digits = value[1..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return 0;
    }
    let Some(x) = atoi(&value[1..1 + digits]) else {
        return 0;
    };
    if x > 23 {
        return 0;
    }
    1 + digits
}

fn skip<'a>(mut value: &'a [u8], mut prefix: &[u8]) -> Option<&'a [u8]> {
    while let Some(&p) = prefix.first() {
        if p == b' ' {
            if value.first().is_some_and(|&c| c != b' ') {
                return None;
            }
            prefix = trim_spaces(prefix);
            value = trim_spaces(value);
            continue;
        }
        if value.first() != Some(&p) {
            return None;
        }
        prefix = &prefix[1..];
        value = &value[1..];
    }
    Some(value)
}

fn trim_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| c == b' ').count();
    &s[n..]
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in(month: i64, year: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

const DAYS_BEFORE: [i64; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];

/// Days since 1970-01-01 of a civil date (months may run over).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `time.Date(...)` in UTC, normalizing overflowing fields.
fn date(year: i64, month: i64, day: i64, hour: i64, min: i64, sec: i64, nsec: i64) -> Instant {
    let m0 = month - 1;
    let year = year + m0.div_euclid(12);
    let month = m0.rem_euclid(12) + 1;
    let days = days_from_civil(year, month, 1) + day - 1;
    let total = i128::from(days) * 86_400
        + i128::from(hour) * 3600
        + i128::from(min) * 60
        + i128::from(sec)
        + i128::from(nsec.div_euclid(1_000_000_000));
    Instant {
        secs: total.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64,
        nanos: nsec.rem_euclid(1_000_000_000) as u32,
    }
}

/// Parses `value` with the Go `layout`; Go's error message on failure.
pub(super) fn parse(layout: &str, value: &str) -> Result<Instant, String> {
    let err_elem = |layout_elem: &str| {
        format!(
            "parsing time {REDACTED} as {}: cannot parse {REDACTED} as {}",
            time_quote(layout),
            time_quote(layout_elem)
        )
    };
    let err_msg = |message: &str| format!("parsing time {REDACTED}{message}");
    let (mut am, mut pm) = (false, false);
    let (mut year, mut month, mut day, mut yday) = (0i64, -1i64, -1i64, -1i64);
    let (mut hour, mut min, mut sec, mut nsec) = (0i64, 0i64, 0i64, 0i64);
    let mut offset: Option<i64> = None;
    let mut rest_layout = layout;
    let mut v = value.as_bytes();
    loop {
        let (prefix, std, suffix) = next_chunk(rest_layout);
        let std_text = &rest_layout[prefix.len()..rest_layout.len() - suffix.len()];
        v = skip(v, prefix.as_bytes()).ok_or_else(|| err_elem(prefix))?;
        let Some(std) = std else {
            if !v.is_empty() {
                return Err(err_msg(&format!(": extra text: {REDACTED}")));
            }
            break;
        };
        rest_layout = suffix;
        let mut range: Option<&str> = None;
        let parsed: Option<&[u8]> = match std {
            Std::Year => (v.len() >= 2).then(|| &v[..2]).and_then(atoi).map(|y| {
                year = if y >= 69 { y + 1900 } else { y + 2000 };
                &v[2..]
            }),
            Std::LongYear => {
                if v.len() < 4 || !is_digit(v, 0) {
                    None
                } else {
                    atoi(&v[..4]).map(|y| {
                        year = y;
                        &v[4..]
                    })
                }
            }
            Std::Month => lookup(&SHORT_MONTHS, v).map(|(i, r)| {
                month = i as i64 + 1;
                r
            }),
            Std::LongMonth => lookup(&LONG_MONTHS, v).map(|(i, r)| {
                month = i as i64 + 1;
                r
            }),
            Std::NumMonth | Std::ZeroMonth => getnum(v, std == Std::ZeroMonth).map(|(m, r)| {
                month = m;
                if !(1..=12).contains(&m) {
                    range = Some("month");
                }
                r
            }),
            Std::WeekDay => lookup(&SHORT_DAYS, v).map(|(_, r)| r),
            Std::LongWeekDay => lookup(&LONG_DAYS, v).map(|(_, r)| r),
            Std::Day | Std::UnderDay | Std::ZeroDay => {
                let w = if std == Std::UnderDay && v.first() == Some(&b' ') {
                    &v[1..]
                } else {
                    v
                };
                getnum(w, std == Std::ZeroDay).map(|(d, r)| {
                    day = d;
                    r
                })
            }
            Std::UnderYearDay | Std::ZeroYearDay => {
                let mut w = v;
                for _ in 0..2 {
                    if std == Std::UnderYearDay && w.first() == Some(&b' ') {
                        w = &w[1..];
                    }
                }
                getnum3(w, std == Std::ZeroYearDay).map(|(d, r)| {
                    yday = d;
                    r
                })
            }
            Std::Hour => getnum(v, false).map(|(h, r)| {
                hour = h;
                if !(0..24).contains(&h) {
                    range = Some("hour");
                }
                r
            }),
            Std::Hour12 | Std::ZeroHour12 => getnum(v, std == Std::ZeroHour12).map(|(h, r)| {
                hour = h;
                if !(0..=12).contains(&h) {
                    range = Some("hour");
                }
                r
            }),
            Std::Minute | Std::ZeroMinute => getnum(v, std == Std::ZeroMinute).map(|(m, r)| {
                min = m;
                if !(0..60).contains(&m) {
                    range = Some("minute");
                }
                r
            }),
            Std::Second | Std::ZeroSecond => match getnum(v, std == Std::ZeroSecond) {
                None => None,
                Some((s, r)) => {
                    sec = s;
                    if !(0..60).contains(&s) {
                        range = Some("second");
                        Some(r)
                    } else if r.len() >= 2
                        && matches!(r[0], b'.' | b',')
                        && is_digit(r, 1)
                        && !matches!(next_chunk(rest_layout).1, Some(Std::Frac { .. }))
                    {
                        let mut n = 2;
                        while is_digit(r, n) {
                            n += 1;
                        }
                        match parse_nanoseconds(r, n) {
                            Ok(ns) => {
                                nsec = ns;
                                Some(&r[n..])
                            }
                            Err(()) => None,
                        }
                    } else {
                        Some(r)
                    }
                }
            },
            Std::Pm | Std::PmLower => {
                if v.len() < 2 {
                    None
                } else {
                    let (up, low) = if std == Std::Pm {
                        (b"PM", b"AM")
                    } else {
                        (b"pm", b"am")
                    };
                    if &v[..2] == up {
                        pm = true;
                        Some(&v[2..])
                    } else if &v[..2] == low {
                        am = true;
                        Some(&v[2..])
                    } else {
                        None
                    }
                }
            }
            Std::IsoTz | Std::NumTz { .. } => {
                if std == Std::IsoTz && v.first() == Some(&b'Z') {
                    offset = Some(0);
                    Some(&v[1..])
                } else {
                    let iso_form = std_text.trim_start_matches(['Z', '-']);
                    numeric_offset(v, iso_form).map(|(off, r, why)| {
                        offset = Some(off);
                        range = why;
                        r
                    })
                }
            }
            Std::Tz => {
                if v.len() >= 3 && &v[..3] == b"UTC" {
                    offset = Some(0);
                    Some(&v[3..])
                } else {
                    // A zone name with no known offset: the wall clock is
                    // read as UTC, as Go does for names its local zone lacks.
                    parse_time_zone(v).map(|n| &v[n..])
                }
            }
            Std::Frac { digits, trim, .. } => {
                if !trim {
                    let n = 1 + digits;
                    if v.len() < n {
                        None
                    } else {
                        match parse_nanoseconds(v, n) {
                            Ok(ns) => {
                                nsec = ns;
                                Some(&v[n..])
                            }
                            Err(()) => None,
                        }
                    }
                } else if v.len() < 2 || !matches!(v[0], b'.' | b',') || !is_digit(v, 1) {
                    Some(v)
                } else {
                    let mut i = 0;
                    while is_digit(v, i + 1) {
                        i += 1;
                    }
                    match parse_nanoseconds(v, 1 + i) {
                        Ok(ns) => {
                            nsec = ns;
                            Some(&v[1 + i..])
                        }
                        Err(()) => None,
                    }
                }
            }
        };
        if let Some(what) = range {
            return Err(err_msg(&format!(": {what} out of range")));
        }
        match parsed {
            Some(rest) => v = rest,
            None => return Err(err_elem(std_text)),
        }
    }
    if pm && hour < 12 {
        hour += 12;
    } else if am && hour == 12 {
        hour = 0;
    }
    if yday >= 0 {
        let (mut m, mut d) = (0i64, 0i64);
        if is_leap(year) {
            if yday == 31 + 29 {
                m = 2;
                d = 29;
            } else if yday > 31 + 29 {
                yday -= 1;
            }
        }
        if !(1..=365).contains(&yday) {
            return Err(err_msg(": day-of-year out of range"));
        }
        if m == 0 {
            m = (yday - 1) / 31 + 1;
            if DAYS_BEFORE[m as usize] < yday {
                m += 1;
            }
            d = yday - DAYS_BEFORE[(m - 1) as usize];
        }
        if month >= 0 && month != m {
            return Err(err_msg(": day-of-year does not match month"));
        }
        month = m;
        if day >= 0 && day != d {
            return Err(err_msg(": day-of-year does not match day"));
        }
        day = d;
    } else {
        if month < 0 {
            month = 1;
        }
        if day < 0 {
            day = 1;
        }
    }
    if day < 1 || day > days_in(month, year) {
        return Err(err_msg(": day out of range"));
    }
    let t = date(year, month, day, hour, min, sec, nsec);
    Ok(match offset {
        Some(off) => Instant {
            secs: t.secs.saturating_sub(off),
            nanos: t.nanos,
        },
        None => t,
    })
}

/// A numeric zone offset in the form the layout element names: the
/// offset in seconds east of UTC, the rest, and a range complaint.
fn numeric_offset<'a>(v: &'a [u8], form: &str) -> Option<(i64, &'a [u8], Option<&'static str>)> {
    let (sign, h, m, s, rest): (u8, &[u8], &[u8], &[u8], &[u8]) = match form {
        "07:00" => {
            if v.len() < 6 || v[3] != b':' {
                return None;
            }
            (v[0], &v[1..3], &v[4..6], b"00", &v[6..])
        }
        "07" => {
            if v.len() < 3 {
                return None;
            }
            (v[0], &v[1..3], b"00", b"00", &v[3..])
        }
        "07:00:00" => {
            if v.len() < 9 || v[3] != b':' || v[6] != b':' {
                return None;
            }
            (v[0], &v[1..3], &v[4..6], &v[7..9], &v[9..])
        }
        "070000" => {
            if v.len() < 7 {
                return None;
            }
            (v[0], &v[1..3], &v[3..5], &v[5..7], &v[7..])
        }
        _ => {
            if v.len() < 5 {
                return None;
            }
            (v[0], &v[1..3], &v[3..5], b"00", &v[5..])
        }
    };
    let (hr, _) = getnum(h, true)?;
    let (mm, _) = getnum(m, true)?;
    let (ss, _) = getnum(s, true)?;
    let mut why = None;
    if hr > 24 {
        why = Some("time zone offset hour");
    }
    if mm > 60 {
        why = Some("time zone offset minute");
    }
    if ss > 60 {
        why = Some("time zone offset second");
    }
    let off = (hr * 60 + mm) * 60 + ss;
    match sign {
        b'+' => Some((off, rest, why)),
        b'-' => Some((-off, rest, why)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(layout: &str, value: &str) -> i64 {
        parse(layout, value).unwrap().secs
    }

    #[test]
    fn parses_common_layouts() {
        assert_eq!(secs("2006-01-02", "2017-12-31"), 1_514_678_400);
        assert_eq!(
            secs("2006-01-02T15:04:05Z07:00", "2017-12-31T10:00:00+02:00"),
            1_514_707_200
        );
        assert_eq!(
            secs("Jan 2 2006 3:04PM", "dec 31 2017 1:00AM"),
            1_514_682_000
        );
        assert_eq!(
            parse("2006-01-02 15:04:05", "2017-12-31 10:00:00.5")
                .unwrap()
                .nanos,
            500_000_000
        );
    }

    #[test]
    fn errors_follow_go_without_the_value() {
        assert_eq!(
            parse("2006-01-02", "2017-13-01").unwrap_err(),
            "parsing time [redacted]: month out of range"
        );
        assert_eq!(
            parse("2006-01-02", "2017-02-30").unwrap_err(),
            "parsing time [redacted]: day out of range"
        );
        assert_eq!(
            parse("2006-01-02", "x").unwrap_err(),
            "parsing time [redacted] as \"2006-01-02\": cannot parse [redacted] as \"2006\""
        );
        assert_eq!(
            parse("2006", "2017 x").unwrap_err(),
            "parsing time [redacted]: extra text: [redacted]"
        );
    }
}
