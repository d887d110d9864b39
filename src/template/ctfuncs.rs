//! consul-template's pure functions that Vault users need most: JSON,
//! base64, string helpers, `split`/`join`, `contains`/`in`, the `parse*`
//! family, and `secrets` (a Vault LIST, through the dependency mechanism).
//! Error messages follow consul-template's wording with input values
//! replaced by [`REDACTED`].

use std::collections::BTreeMap;

use super::decode::decode_json;
use super::error::REDACTED;
use super::funcs::{Func, FuncError, FuncResult, Funcs, Param};
use super::json::{self, JsonStyle};
use super::number;
use super::secret::{RequestKind, SecretRequest};
use super::value::Value;

/// Adds the functions of this module to `funcs`.
pub fn register(funcs: &mut Funcs) {
    let string1 =
        |f: fn(&str) -> FuncResult| Func::new(&[Param::String], move |_, args| f(text(&args[0])));
    let string2 = |f: fn(&str, &str) -> FuncResult| {
        Func::new(&[Param::String, Param::String], move |_, args| {
            f(text(&args[0]), text(&args[1]))
        })
    };
    let json_style = |name: &'static str, style: JsonStyle| {
        Func::new(&[Param::Any], move |_, args| {
            json::to_json_styled(&args[0], style)
                .map(Value::String)
                .map_err(|e| FuncError::new(format!("{name}: {e}")))
        })
    };
    funcs.insert("toJSON", json_style("toJSON", JsonStyle::COMPACT));
    funcs.insert(
        "toJSONPretty",
        json_style("toJSONPretty", JsonStyle::PRETTY),
    );
    funcs.insert(
        "toUnescapedJSON",
        json_style("toUnescapedJSON", JsonStyle::UNESCAPED),
    );
    funcs.insert(
        "toUnescapedJSONPretty",
        json_style("toUnescapedJSONPretty", JsonStyle::UNESCAPED_PRETTY),
    );
    funcs.insert(
        "toYAML",
        Func::new(&[Param::Any], |ctx, args| {
            ctx.charge(args[0].node_count())?;
            ok_string(super::yaml::to_yaml(&args[0]))
        }),
    );
    funcs.insert(
        "base64Encode",
        string1(|s| ok_string(base64_encode(s.as_bytes(), STD))),
    );
    funcs.insert(
        "base64URLEncode",
        string1(|s| ok_string(base64_encode(s.as_bytes(), URL))),
    );
    funcs.insert("base64Decode", string1(|s| decoded("base64Decode", s, STD)));
    funcs.insert(
        "base64URLDecode",
        string1(|s| decoded("base64URLDecode", s, URL)),
    );
    funcs.insert("toLower", string1(|s| ok_string(to_lower(s))));
    funcs.insert("toUpper", string1(|s| ok_string(to_upper(s))));
    funcs.insert("toTitle", string1(|s| ok_string(to_title(s))));
    funcs.insert("trimSpace", string1(|s| ok_string(s.trim().to_string())));
    funcs.insert(
        "trim",
        string2(|cutset, s| ok_string(s.trim_matches(|c| cutset.contains(c)).to_string())),
    );
    funcs.insert(
        "trimPrefix",
        string2(|prefix, s| ok_string(s.strip_prefix(prefix).unwrap_or(s).to_string())),
    );
    funcs.insert(
        "trimSuffix",
        string2(|suffix, s| ok_string(s.strip_suffix(suffix).unwrap_or(s).to_string())),
    );
    funcs.insert("split", string2(split));
    funcs.insert(
        "join",
        Func::new(&[Param::String, Param::Strings], |_, args| match &args[1] {
            Value::Strings(items) => ok_string(items.join(text(&args[0]))),
            _ => ok_string(String::new()),
        }),
    );
    funcs.insert(
        "replaceAll",
        Func::new(
            &[Param::String, Param::String, Param::String],
            |ctx, args| {
                let (from, to, s) = (text(&args[0]), text(&args[1]), text(&args[2]));
                // An empty pattern inserts `to` between every character.
                ctx.charge(u64::try_from(s.len() / 64).unwrap_or(u64::MAX))?;
                ok_string(s.replace(from, to))
            },
        ),
    );
    funcs.insert(
        "contains",
        Func::new(&[Param::Any, Param::Any], |_, args| {
            Ok(Value::Bool(contained(&args[1], &args[0])))
        }),
    );
    funcs.insert(
        "in",
        Func::new(&[Param::Any, Param::Any], |_, args| {
            Ok(Value::Bool(contained(&args[0], &args[1])))
        }),
    );
    funcs.insert("parseJSON", string1(parse_json));
    funcs.insert("parseBool", string1(parse_bool));
    funcs.insert("parseInt", string1(parse_int));
    funcs.insert("parseUint", string1(parse_uint));
    funcs.insert("parseFloat", string1(parse_float));
    // The environment is the Pod's (Options::env), never the node's.
    funcs.insert(
        "env",
        Func::new(&[Param::String], |ctx, args| {
            ok_string(ctx.env(text(&args[0])).unwrap_or("").to_string())
        }),
    );
    funcs.insert(
        "envOrDefault",
        Func::new(&[Param::String, Param::String], |ctx, args| {
            let value = ctx.env(text(&args[0])).unwrap_or(text(&args[1]));
            ok_string(value.to_string())
        }),
    );
    funcs.insert(
        "mustEnv",
        Func::new(&[Param::String], |ctx, args| {
            let name = text(&args[0]);
            match ctx.env(name) {
                Some(value) if !value.is_empty() => ok_string(value.to_string()),
                _ => Err(FuncError::new(format!(
                    "required environment variable {name} is empty"
                ))),
            }
        }),
    );
    // The agent's functions that would read, write or run things on the
    // node parse, but fail when called.
    for (name, why) in [
        (
            "file",
            "file is not available: templates cannot read files on the node",
        ),
        (
            "writeToFile",
            "writeToFile is not available: templates cannot write files on the node",
        ),
        (
            "plugin",
            "plugin is not available: templates cannot run programs on the node",
        ),
        ("executeTemplate", "executeTemplate is not available here"),
        (
            "sockaddr",
            "sockaddr is not available: it inspects the node's network",
        ),
    ] {
        funcs.deny(name, why);
    }
    funcs.insert(
        "secrets",
        Func::new(&[Param::String], |ctx, args| {
            let path = text(&args[0]);
            if path.is_empty() {
                return Ok(Value::NilStrings);
            }
            let request =
                SecretRequest::with_args(RequestKind::List, path, &[]).map_err(FuncError::new)?;
            if request.path.is_empty() {
                return Err(FuncError::new("vault.list: invalid format: \"\""));
            }
            // Missing answers are a nil list; answers given as a plain list
            // are taken as the keys they are.
            Ok(match ctx.dependency(request) {
                Some(Value::List(items)) => list_keys(&items),
                Some(other) => other,
                None => Value::NilStrings,
            })
        }),
    );
}

/// Sorted string keys, as consul-template returns a listing; nil if none.
fn list_keys(items: &[Value]) -> Value {
    let mut keys: Vec<String> = items
        .iter()
        .filter_map(|i| match i {
            Value::String(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    if keys.is_empty() {
        return Value::NilStrings;
    }
    keys.sort();
    Value::Strings(keys)
}

fn text(v: &Value) -> &str {
    match v {
        Value::String(s) => s,
        _ => "",
    }
}

fn ok_string(s: String) -> FuncResult {
    Ok(Value::String(s))
}

// ---- base64 -------------------------------------------------------------

/// A base64 alphabet.
struct Alphabet(&'static [u8; 64]);

const STD: Alphabet = Alphabet(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
const URL: Alphabet = Alphabet(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

/// Padded base64, as Go's `StdEncoding`/`URLEncoding` write it.
fn base64_encode(bytes: &[u8], alphabet: Alphabet) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(alphabet.0[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Go's padded base64 decoding (`StdEncoding`/`URLEncoding`, not strict):
/// `\r` and `\n` are skipped; on failure, the byte offset Go reports.
fn base64_decode(s: &str, alphabet: &Alphabet) -> Result<Vec<u8>, usize> {
    let src = s.as_bytes();
    let value = |c: u8| alphabet.0.iter().position(|&a| a == c).map(|p| p as u8);
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0;
    loop {
        // One quantum of up to four symbols.
        let mut buf = [0u8; 4];
        let mut len = 4;
        let mut j = 0;
        let mut done = false;
        while j < 4 {
            if si == src.len() {
                match j {
                    0 => return Ok(out),
                    // A partial quantum without its padding.
                    _ => return Err(si - j),
                }
            }
            let c = src[si];
            si += 1;
            if let Some(v) = value(c) {
                buf[j] = v;
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' {
                return Err(si - 1);
            }
            // Padding ends the input.
            match j {
                0 | 1 => return Err(si - 1),
                2 => {
                    while si < src.len() && matches!(src[si], b'\n' | b'\r') {
                        si += 1;
                    }
                    if si == src.len() {
                        return Err(src.len());
                    }
                    if src[si] != b'=' {
                        return Err(si - 1);
                    }
                    si += 1;
                }
                _ => {}
            }
            while si < src.len() && matches!(src[si], b'\n' | b'\r') {
                si += 1;
            }
            if si < src.len() {
                return Err(si);
            }
            len = j;
            done = true;
            break;
        }
        let n = (u32::from(buf[0]) << 18)
            | (u32::from(buf[1]) << 12)
            | (u32::from(buf[2]) << 6)
            | u32::from(buf[3]);
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..len - 1]);
        if done {
            return Ok(out);
        }
    }
}

fn decoded(name: &str, s: &str, alphabet: Alphabet) -> FuncResult {
    match base64_decode(s, &alphabet) {
        // Binary data stays bytes, written to the file unchanged.
        Ok(bytes) => Ok(Value::from_bytes(bytes)),
        Err(at) => Err(FuncError::new(format!(
            "{name}: illegal base64 data at input byte {at}"
        ))),
    }
}

// ---- case --------------------------------------------------------------

/// Go's `strings.ToLower`: one character at a time (no context rules).
fn to_lower(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut lower = c.to_lowercase();
            match (lower.next(), lower.next()) {
                (Some(l), None) => l,
                // U+0130 lowercases to "i̇" in full mapping, "i" in Go's.
                _ if c == '\u{130}' => 'i',
                _ => c,
            }
        })
        .collect()
}

/// Go's `strings.ToUpper`: one character at a time; characters whose
/// uppercase is several characters (`ß`) stay as they are.
fn to_upper(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut upper = c.to_uppercase();
            match (upper.next(), upper.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

/// `cases.Title(language.Und, cases.NoLower)`: the first cased letter
/// after a word break is title-cased, everything else is kept. Digits,
/// uncased letters, marks and the joiners `_ . : ' ’ ·` neither break a
/// word nor start one; any other character breaks.
fn to_title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut at_start = true;
    for c in s.chars() {
        if is_cased(c) {
            if at_start {
                push_titlecase(&mut out, c);
                at_start = false;
            } else {
                out.push(c);
            }
        } else {
            let keeps_word = matches!(c, '_' | '.' | ':' | '\'' | '’' | '·')
                || c.is_alphabetic()
                || (c.is_numeric() && !is_other_number(c))
                || is_mark(c);
            if !keeps_word {
                at_start = true;
            }
            out.push(c);
        }
    }
    out
}

/// Letters with case: upper, lower or title case.
fn is_cased(c: char) -> bool {
    c.is_uppercase() || c.is_lowercase() || titlecase_digraph(c).is_some_and(|t| t == c)
}

/// Numbers other than decimal digits (`²`, `½`), which break words.
fn is_other_number(c: char) -> bool {
    c.is_numeric()
        && c.to_digit(10).is_none()
        && !matches!(u32::from(c), 0x660..=0x669 | 0x6F0..=0x6F9 | 0x966..=0x96F | 0xFF10..=0xFF19)
}

/// Combining marks (most are in these blocks).
fn is_mark(c: char) -> bool {
    matches!(u32::from(c), 0x300..=0x36F | 0x483..=0x489 | 0x591..=0x5BD | 0x610..=0x61A | 0x64B..=0x65F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// The title-case form of the Latin digraphs (`ǆ` → `ǅ`).
fn titlecase_digraph(c: char) -> Option<char> {
    match u32::from(c) {
        0x1C4..=0x1C6 => Some('\u{1C5}'),
        0x1C7..=0x1C9 => Some('\u{1C8}'),
        0x1CA..=0x1CC => Some('\u{1CB}'),
        0x1F1..=0x1F3 => Some('\u{1F2}'),
        _ => None,
    }
}

fn push_titlecase(out: &mut String, c: char) {
    if let Some(t) = titlecase_digraph(c) {
        out.push(t);
        return;
    }
    // Where title case differs from upper case: the first letter only.
    let special = match c {
        'ß' => "Ss",
        'ﬀ' => "Ff",
        'ﬁ' => "Fi",
        'ﬂ' => "Fl",
        'ﬃ' => "Ffi",
        'ﬄ' => "Ffl",
        'ﬅ' | 'ﬆ' => "St",
        'և' => "Եւ",
        _ => "",
    };
    if special.is_empty() {
        out.extend(c.to_uppercase());
    } else {
        out.push_str(special);
    }
}

// ---- split, contains -----------------------------------------------------

/// consul-template's `split`: the input is trimmed first; empty gives an
/// empty list; an empty separator splits into characters.
fn split(sep: &str, s: &str) -> FuncResult {
    let s = s.trim();
    if s.is_empty() {
        return Ok(Value::Strings(Vec::new()));
    }
    let parts: Vec<String> = if sep.is_empty() {
        s.chars().map(String::from).collect()
    } else {
        s.split(sep).map(str::to_string).collect()
    };
    Ok(Value::Strings(parts))
}

/// consul-template's `in(l, v)`: `v` is an element of the list `l` (ints
/// with ints, floats with floats, strings of the same type), or `v` is a
/// substring of the string `l` of the same type.
fn contained(list: &Value, v: &Value) -> bool {
    let same_string = |a: &Value, b: &Value| match (a, b) {
        (Value::String(x), Value::String(y)) | (Value::Number(x), Value::Number(y)) => x == y,
        _ => false,
    };
    let matches = |item: &Value| match (item, v) {
        (Value::Int(a) | Value::Int64(a), Value::Int(b) | Value::Int64(b)) => a == b,
        (Value::Float(a), Value::Float(b)) => a == b,
        _ => same_string(item, v),
    };
    match list {
        Value::List(items) => items.iter().any(matches),
        Value::Strings(items) => items.iter().any(|s| matches(&Value::String(s.clone()))),
        Value::String(l) => matches!(v, Value::String(x) if l.contains(x.as_str())),
        Value::Number(l) => matches!(v, Value::Number(x) if l.contains(x.as_str())),
        _ => false,
    }
}

// ---- parse* --------------------------------------------------------------

/// `parseJSON`: Go's `json.Unmarshal` into `interface{}`, so numbers are
/// `float64`; an empty string is an empty map.
fn parse_json(s: &str) -> FuncResult {
    if s.is_empty() {
        return Ok(Value::Map(BTreeMap::new()));
    }
    let value = decode_json(s).map_err(|e| FuncError::new(e.to_string()))?;
    numbers_to_floats(value)
}

fn numbers_to_floats(value: Value) -> FuncResult {
    Ok(match value {
        Value::Number(text) => match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Value::Float(f),
            _ => {
                return Err(FuncError::new(format!(
                    "json: cannot unmarshal number {REDACTED} into Go value of type float64"
                )));
            }
        },
        Value::List(items) => Value::List(
            items
                .into_iter()
                .map(numbers_to_floats)
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(members) => Value::Map(
            members
                .into_iter()
                .map(|(k, v)| numbers_to_floats(v).map(|v| (k, v)))
                .collect::<Result<_, _>>()?,
        ),
        other => other,
    })
}

fn parse_bool(s: &str) -> FuncResult {
    match s {
        "" => Ok(Value::Bool(false)),
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(Value::Bool(true)),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(Value::Bool(false)),
        _ => Err(FuncError::new(format!(
            "parseBool: strconv.ParseBool: parsing {REDACTED}: invalid syntax"
        ))),
    }
}

/// The reason Go's base-10 integer parsers give for `s`.
fn int_syntax(s: &str, signed: bool) -> Result<(), &'static str> {
    let digits = if signed {
        s.strip_prefix(['+', '-']).unwrap_or(s)
    } else {
        s
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("invalid syntax");
    }
    Ok(())
}

fn parse_int(s: &str) -> FuncResult {
    if s.is_empty() {
        return Ok(Value::Int64(0));
    }
    let why = match int_syntax(s, true) {
        Ok(()) => match s.parse::<i64>() {
            Ok(i) => return Ok(Value::Int64(i)),
            Err(_) => "value out of range",
        },
        Err(why) => why,
    };
    Err(FuncError::new(format!(
        "parseInt: strconv.ParseInt: parsing {REDACTED}: {why}"
    )))
}

fn parse_uint(s: &str) -> FuncResult {
    if s.is_empty() {
        return Ok(Value::Uint(0));
    }
    let why = match int_syntax(s, false) {
        Ok(()) => match s.parse::<u64>() {
            Ok(u) => return Ok(Value::Uint(u)),
            Err(_) => "value out of range",
        },
        Err(why) => why,
    };
    Err(FuncError::new(format!(
        "parseUint: strconv.ParseUint: parsing {REDACTED}: {why}"
    )))
}

fn parse_float(s: &str) -> FuncResult {
    if s.is_empty() {
        return Ok(Value::Float(0.0));
    }
    let lower = s.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    let negative = lower.starts_with('-');
    let special = match unsigned {
        "inf" | "infinity" if lower.len() - unsigned.len() <= 1 => Some(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }),
        "nan" if lower.len() == 3 => Some(f64::NAN),
        _ => None,
    };
    if let Some(f) = special {
        return Ok(Value::Float(f));
    }
    match number::parse_float(s) {
        Some(f) => Ok(Value::Float(f)),
        None => {
            let why = if s.parse::<f64>().is_ok_and(f64::is_infinite) {
                "value out of range"
            } else {
                "invalid syntax"
            };
            Err(FuncError::new(format!(
                "parseFloat: strconv.ParseFloat: parsing {REDACTED}: {why}"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_with_padding() {
        assert_eq!(base64_encode(b"hello", STD), "aGVsbG8=");
        assert_eq!(base64_encode(b"he", STD), "aGU=");
        assert_eq!(base64_encode(&[0xfb, 0xff], URL), "-_8=");
        assert_eq!(base64_decode("aGVsbG8=", &STD), Ok(b"hello".to_vec()));
        assert_eq!(base64_decode("aGVs\nbG8=", &STD), Ok(b"hello".to_vec()));
    }

    #[test]
    fn base64_decode_reports_the_bad_offset() {
        assert_eq!(base64_decode("abc", &STD), Err(0));
        assert_eq!(base64_decode("aGVsbG8", &STD), Err(4));
        assert_eq!(base64_decode("a!==", &STD), Err(1));
        assert_eq!(base64_decode("aGVsbG8=x", &STD), Err(8));
        assert_eq!(base64_decode("aG==", &STD), Ok(b"h".to_vec()));
        assert_eq!(base64_decode("aG=", &STD), Err(3));
    }

    #[test]
    fn binary_base64_decodes_to_bytes() {
        assert_eq!(
            decoded("base64Decode", "+/8=", STD).unwrap(),
            Value::Bytes(vec![0xfb, 0xff])
        );
    }

    #[test]
    fn case_mapping_is_per_character() {
        assert_eq!(to_upper("straße ǆ"), "STRAßE Ǆ");
        assert_eq!(to_lower("İSTANBUL ΣΑΣ"), "istanbul σασ");
    }

    #[test]
    fn title_follows_word_breaks_like_x_text() {
        // As the agent printed them.
        assert_eq!(
            to_title("hello wORLD foo-bar o'neil 3rd x_y a.b c:d e/f g–h émile ǆa"),
            "Hello WORLD Foo-Bar O'neil 3Rd X_y A.b C:d E/F G–H Émile ǅa"
        );
        assert_eq!(
            to_title("a1b a²b aˈb ßq ﬁq ŉq a\u{300}b"),
            "A1b A²B Aˈb Ssq Fiq ʼNq A\u{300}b"
        );
    }

    #[test]
    fn split_trims_and_handles_empty() {
        assert_eq!(
            split(",", " a,b ").unwrap(),
            Value::Strings(vec!["a".into(), "b".into()])
        );
        assert_eq!(split(",", "  ").unwrap(), Value::Strings(Vec::new()));
        assert_eq!(
            split("", "ab").unwrap(),
            Value::Strings(vec!["a".into(), "b".into()])
        );
    }

    #[test]
    fn in_compares_by_type() {
        let list = decode_json(r#"["a",3,1.5]"#).unwrap();
        assert!(contained(&list, &Value::String("a".into())));
        assert!(contained(&list, &Value::Number("3".into())));
        assert!(!contained(&list, &Value::Int(3)));
        assert!(contained(
            &Value::String("abc".into()),
            &Value::String("b".into())
        ));
    }

    #[test]
    fn parse_json_uses_floats() {
        assert_eq!(
            parse_json(r#"{"a":[1,2.5]}"#).unwrap(),
            Value::Map(
                [(
                    "a".into(),
                    Value::List(vec![Value::Float(1.0), Value::Float(2.5)])
                )]
                .into()
            )
        );
        assert_eq!(parse_json("").unwrap(), Value::Map(BTreeMap::new()));
    }

    #[test]
    fn parse_numbers_and_bools() {
        assert_eq!(parse_int("-12").unwrap(), Value::Int64(-12));
        assert!(parse_int("1_000").is_err());
        assert_eq!(parse_bool("T").unwrap(), Value::Bool(true));
        assert_eq!(parse_float("1e3").unwrap(), Value::Float(1000.0));
        assert!(parse_float("abc").unwrap_err().message().contains(REDACTED));
    }
}
