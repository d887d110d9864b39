//! sprig's dates: `now`, `date`, `dateInZone`, `htmlDate`,
//! `htmlDateInZone`, `dateModify`, `mustDateModify`, `toDate`,
//! `mustToDate`, `unixEpoch`, `duration`, `durationRound`, `ago`.
//!
//! A `time.Time` is a struct value here whose fields are the results of
//! its common methods (`.Year`, `.Month`, `.Unix`, ...). The agent's
//! local zone is its container's, UTC; `Local`, `UTC` and `""` are served,
//! other zone names are refused (the driver carries no zone database).

use gotemplate::value::{GoStruct, Value};

use super::{add, text_arg};
use crate::args::{charge_bytes, string};
use crate::funcs::{Func, FuncError, Funcs, Param};
use crate::gotime::{self, Clock, Instant};

use Param::{Any, String as S};

/// Go type name of a time value.
pub(crate) const TIME_TYPE: &str = "time.Time";

const NANOS: i64 = 1_000_000_000;

/// Registers the date functions reading `clock` for "now".
pub(super) fn register(funcs: &mut Funcs, clock: Clock) {
    add(
        funcs,
        "now",
        Func::new(&[], move |_, _| Ok(time_value(clock()))),
    );
    add(
        funcs,
        "date",
        Func::new(&[S, Any], move |ctx, a| {
            let layout = text_arg(a, 0);
            charge_bytes(ctx, layout.len().saturating_mul(4))?;
            Ok(string(gotime::format(date_arg(&a[1], clock), layout)))
        }),
    );
    for name in ["dateInZone", "date_in_zone"] {
        add(
            funcs,
            name,
            Func::new(&[S, Any, S], move |ctx, a| {
                let layout = text_arg(a, 0);
                zone(name, text_arg(a, 2))?;
                charge_bytes(ctx, layout.len().saturating_mul(4))?;
                Ok(string(gotime::format(date_arg(&a[1], clock), layout)))
            }),
        );
    }
    add(
        funcs,
        "htmlDate",
        Func::new(&[Any], move |_, a| {
            Ok(string(gotime::format(date_arg(&a[0], clock), "2006-01-02")))
        }),
    );
    add(
        funcs,
        "htmlDateInZone",
        Func::new(&[Any, S], move |_, a| {
            zone("htmlDateInZone", text_arg(a, 1))?;
            Ok(string(gotime::format(date_arg(&a[0], clock), "2006-01-02")))
        }),
    );
    for (name, must) in [
        ("dateModify", false),
        ("date_modify", false),
        ("mustDateModify", true),
        ("must_date_modify", true),
    ] {
        add(
            funcs,
            name,
            Func::new(&[S, Any], move |_, a| {
                let t = time_param(&a[1])?;
                match parse_duration(text_arg(a, 0)) {
                    Ok(d) => Ok(time_value(add_nanos(t, d))),
                    Err(e) if must => Err(FuncError::new(e)),
                    Err(_) => Ok(time_value(t)),
                }
            }),
        );
    }
    add(
        funcs,
        "toDate",
        Func::new(&[S, S], |ctx, a| {
            let (layout, value) = (text_arg(a, 0), text_arg(a, 1));
            charge_bytes(
                ctx,
                layout.len().saturating_add(value.len()).saturating_mul(4),
            )?;
            Ok(time_value(
                super::parsetime::parse(layout, value).unwrap_or(super::parsetime::ZERO_TIME),
            ))
        }),
    );
    add(
        funcs,
        "mustToDate",
        Func::new(&[S, S], |ctx, a| {
            let (layout, value) = (text_arg(a, 0), text_arg(a, 1));
            charge_bytes(
                ctx,
                layout.len().saturating_add(value.len()).saturating_mul(4),
            )?;
            super::parsetime::parse(layout, value)
                .map(time_value)
                .map_err(FuncError::new)
        }),
    );
    add(
        funcs,
        "unixEpoch",
        Func::new(&[Any], |_, a| {
            Ok(string(time_param(&a[0])?.secs.to_string()))
        }),
    );
    add(
        funcs,
        "duration",
        Func::new(&[Any], |_, a| {
            let n = match &a[0] {
                Value::String(s) => gotemplate::strconv::parse_int(s, 10, 64).unwrap_or(0),
                Value::Int64(i) => *i,
                _ => 0,
            };
            Ok(string(duration_string(n.wrapping_mul(NANOS))))
        }),
    );
    add(
        funcs,
        "durationRound",
        Func::new(&[Any], move |_, a| {
            let d = match &a[0] {
                Value::String(s) => parse_duration(s).unwrap_or(0),
                Value::Int64(i) => *i,
                v => match instant_of(v) {
                    Some(t) => since(clock(), t),
                    None => 0,
                },
            };
            Ok(string(duration_round(d)))
        }),
    );
    add(
        funcs,
        "ago",
        Func::new(&[Any], move |_, a| {
            let t = match &a[0] {
                Value::Int64(i) | Value::Int(i) => Instant { secs: *i, nanos: 0 },
                v => instant_of(v).unwrap_or_else(clock),
            };
            Ok(string(duration_string(round_second(since(clock(), t)))))
        }),
    );
}

/// A `time.Time` value.
pub(super) fn time_value(t: Instant) -> Value {
    let part = |layout: &str| gotime::format(t, layout);
    let num = |layout: &str| Value::Int(part(layout).trim().parse().unwrap_or(0));
    let unix_nano = i128::from(t.secs) * i128::from(NANOS) + i128::from(t.nanos);
    let fields = vec![
        ("Year".to_string(), num("2006")),
        ("Month".to_string(), Value::String(part("January"))),
        ("Day".to_string(), num("2")),
        ("Hour".to_string(), num("15")),
        ("Minute".to_string(), num("4")),
        ("Second".to_string(), num("5")),
        ("Nanosecond".to_string(), Value::Int(i64::from(t.nanos))),
        ("YearDay".to_string(), num("__2")),
        ("Weekday".to_string(), Value::String(part("Monday"))),
        ("Unix".to_string(), Value::Int64(t.secs)),
        (
            "UnixMilli".to_string(),
            Value::Int64((unix_nano / 1_000_000) as i64),
        ),
        ("UnixNano".to_string(), Value::Int64(unix_nano as i64)),
    ];
    Value::Struct(Box::new(GoStruct::new(TIME_TYPE, fields)))
}

/// The instant a `time.Time` value holds.
pub(crate) fn instant_of(v: &Value) -> Option<Instant> {
    let Value::Struct(s) = v else {
        return None;
    };
    if s.type_name != TIME_TYPE {
        return None;
    }
    let secs = match s.field("Unix")? {
        Value::Int64(i) => *i,
        _ => return None,
    };
    let nanos = match s.field("Nanosecond")? {
        Value::Int(n) => u32::try_from(*n).ok()?,
        _ => return None,
    };
    Some(Instant { secs, nanos })
}

/// A `time.Time` parameter, with Go's message for anything else.
fn time_param(v: &Value) -> Result<Instant, FuncError> {
    if v.is_nil() {
        return Err(FuncError::new("invalid value; expected time.Time"));
    }
    instant_of(v).ok_or_else(|| {
        FuncError::new(format!(
            "wrong type for value; expected time.Time; got {}",
            v.go_type()
        ))
    })
}

/// sprig's `dateInZone` date argument: a time, or seconds since the epoch
/// as an int or int64; anything else is now.
fn date_arg(v: &Value, clock: Clock) -> Instant {
    match v {
        Value::Int(i) | Value::Int64(i) => Instant { secs: *i, nanos: 0 },
        other => instant_of(other).unwrap_or_else(clock),
    }
}

/// Checks that a zone is one served here.
fn zone(func: &str, name: &str) -> Result<(), FuncError> {
    if matches!(name, "" | "UTC" | "Local") {
        return Ok(());
    }
    Err(FuncError::new(format!(
        "sprig_{func}: time zone {} is not available in vault-csi-driver templates (only UTC, and Local, which is UTC as in the agent's container)",
        gotemplate::quote::quote(name, false)
    )))
}

fn add_nanos(t: Instant, d: i64) -> Instant {
    let total = i128::from(t.secs) * i128::from(NANOS) + i128::from(t.nanos) + i128::from(d);
    Instant {
        secs: total.div_euclid(i128::from(NANOS)) as i64,
        nanos: total.rem_euclid(i128::from(NANOS)) as u32,
    }
}

/// `now.Sub(t)`, saturating as Go's `Time.Sub` does.
fn since(now: Instant, t: Instant) -> i64 {
    let d = (i128::from(now.secs) - i128::from(t.secs)) * i128::from(NANOS) + i128::from(now.nanos)
        - i128::from(t.nanos);
    d.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// `Duration.Round(time.Second)`.
fn round_second(d: i64) -> i64 {
    let m = NANOS;
    let r = d % m;
    let less_than_half = |x: i64| (x as u64).wrapping_add(x as u64) < m as u64;
    if d < 0 {
        let r = -r;
        if less_than_half(r) {
            return d + r;
        }
        return d.checked_sub(m - r).unwrap_or(i64::MIN);
    }
    if less_than_half(r) {
        return d - r;
    }
    d.checked_add(m - r).unwrap_or(i64::MAX)
}

/// Go's `time.Duration.String`.
pub(super) fn duration_string(d: i64) -> String {
    let neg = d < 0;
    let mut u = d.unsigned_abs();
    let mut out: Vec<u8> = Vec::new();
    // Built backwards, as Go does.
    let frac = |out: &mut Vec<u8>, mut v: u64, prec: usize| -> u64 {
        let mut print = false;
        for _ in 0..prec {
            let digit = v % 10;
            print = print || digit != 0;
            if print {
                out.push(b'0' + digit as u8);
            }
            v /= 10;
        }
        if print {
            out.push(b'.');
        }
        v
    };
    let int = |out: &mut Vec<u8>, mut v: u64| {
        if v == 0 {
            out.push(b'0');
        }
        while v > 0 {
            out.push(b'0' + (v % 10) as u8);
            v /= 10;
        }
    };
    if u < NANOS as u64 {
        out.push(b's');
        let prec = if u == 0 {
            return "0s".into();
        } else if u < 1_000 {
            out.push(b'n');
            0
        } else if u < 1_000_000 {
            out.extend_from_slice(&[0xB5, 0xC2]);
            3
        } else {
            out.push(b'm');
            6
        };
        u = frac(&mut out, u, prec);
        int(&mut out, u);
    } else {
        out.push(b's');
        u = frac(&mut out, u, 9);
        int(&mut out, u % 60);
        u /= 60;
        if u > 0 {
            out.push(b'm');
            int(&mut out, u % 60);
            u /= 60;
            if u > 0 {
                out.push(b'h');
                int(&mut out, u);
            }
        }
    }
    if neg {
        out.push(b'-');
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// sprig's `durationRound`: the largest whole unit, `y` `mo` `d` `h` `m` `s`.
fn duration_round(d: i64) -> String {
    let u = d.unsigned_abs();
    let hour = 3_600 * NANOS as u64;
    let units = [
        (hour * 24 * 365, "y"),
        (hour * 24 * 30, "mo"),
        (hour * 24, "d"),
        (hour, "h"),
        (60 * NANOS as u64, "m"),
        (NANOS as u64, "s"),
    ];
    for (size, name) in units {
        if u > size {
            return format!("{}{name}", u / size);
        }
    }
    "0s".into()
}

/// `time`'s own quoting in its error messages.
fn time_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if (c as u32) >= 0x80 || c < ' ' {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// Go's `time.ParseDuration`.
pub(super) fn parse_duration(orig: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", time_quote(orig));
    let mut s = orig.as_bytes();
    let mut neg = false;
    if let Some(&c) = s.first()
        && (c == b'-' || c == b'+')
    {
        neg = c == b'-';
        s = &s[1..];
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut d: u64 = 0;
    const LIMIT: u64 = 1 << 63;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(invalid());
        }
        let mut v: u64 = 0;
        let mut i = 0;
        while i < s.len() && s[i].is_ascii_digit() {
            if v > LIMIT / 10 {
                return Err(invalid());
            }
            v = v * 10 + u64::from(s[i] - b'0');
            if v > LIMIT {
                return Err(invalid());
            }
            i += 1;
        }
        let pre = i > 0;
        s = &s[i..];
        let (mut f, mut scale, mut post) = (0u64, 1f64, false);
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let mut i = 0;
            let mut overflow = false;
            while i < s.len() && s[i].is_ascii_digit() {
                if !overflow {
                    if f > (LIMIT - 1) / 10 {
                        overflow = true;
                    } else {
                        let y = f * 10 + u64::from(s[i] - b'0');
                        if y > LIMIT {
                            overflow = true;
                        } else {
                            f = y;
                            scale *= 10.0;
                        }
                    }
                }
                i += 1;
            }
            post = i > 0;
            s = &s[i..];
        }
        if !pre && !post {
            return Err(invalid());
        }
        let i = s
            .iter()
            .position(|&c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if i == 0 {
            return Err(format!(
                "time: missing unit in duration {}",
                time_quote(orig)
            ));
        }
        let unit_text = String::from_utf8_lossy(&s[..i]).into_owned();
        s = &s[i..];
        let unit: u64 = match unit_text.as_str() {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    time_quote(&unit_text),
                    time_quote(orig)
                ));
            }
        };
        if v > LIMIT / unit {
            return Err(invalid());
        }
        v *= unit;
        if f > 0 {
            v += (f as f64 * (unit as f64 / scale)) as u64;
            if v > LIMIT {
                return Err(invalid());
            }
        }
        d += v;
        if d > LIMIT {
            return Err(invalid());
        }
    }
    if neg {
        return Ok((d as i64).wrapping_neg());
    }
    if d > LIMIT - 1 {
        return Err(invalid());
    }
    Ok(d as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_go() {
        for (d, want) in [
            (0, "0s"),
            (1, "1ns"),
            (1_100, "1.1µs"),
            (2_200_000, "2.2ms"),
            (3_300_000_000, "3.3s"),
            (4 * 60 * NANOS + 5 * NANOS, "4m5s"),
            (
                5 * 3600 * NANOS + 6 * 60 * NANOS + 7_001 * 1_000_000,
                "5h6m7.001s",
            ),
            (-NANOS, "-1s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
        ] {
            assert_eq!(duration_string(d), want, "{d}");
        }
    }

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_duration("1h30m"), Ok(5_400 * NANOS));
        assert_eq!(parse_duration("-1.5h"), Ok(-5_400 * NANOS));
        assert_eq!(parse_duration(".5s"), Ok(NANOS / 2));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(
            parse_duration("1"),
            Err("time: missing unit in duration \"1\"".into())
        );
        assert_eq!(
            parse_duration("1x"),
            Err("time: unknown unit \"x\" in duration \"1x\"".into())
        );
        assert_eq!(
            parse_duration(""),
            Err("time: invalid duration \"\"".into())
        );
    }

    #[test]
    fn rounding_keeps_sprig_units() {
        assert_eq!(duration_round(3_600 * NANOS * 24 * 400), "1y");
        assert_eq!(duration_round(-61 * NANOS), "1m");
        assert_eq!(duration_round(NANOS), "0s");
    }
}
