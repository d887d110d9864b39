//! sprig's string functions: `upper`, `trunc`, `abbrev`, `wrap`,
//! `quote`, `cat`, `indent`, `splitList`, `toStrings`, `join`, ... with
//! `goutils` v1.1.1 and `xstrings` v1.4.0 semantics (some of which work on
//! bytes, not characters, and are kept that way).

use std::collections::BTreeMap;

use gotemplate::quote::quote;
use gotemplate::value::Value;

use super::conv::{elements, sprint_v, strval};
use super::{add, bounds, int, repeat_charged, text_arg};
use crate::args::{charge_bytes, string};
use crate::funcs::{Func, FuncError, FuncResult, Funcs, Param};
use crate::title::{simple_lower, simple_upper, to_lower, to_upper};

use Param::{Any, Int, String as S};

/// Registers the string functions.
pub(super) fn register(funcs: &mut Funcs) {
    add(funcs, "hello", Func::new(&[], |_, _| Ok(string("Hello!"))));
    add(funcs, "trim", unary(|s| s.trim().to_string()));
    add(funcs, "upper", unary(to_upper));
    add(funcs, "lower", unary(to_lower));
    add(funcs, "title", unary(go_title));
    add(funcs, "untitle", unary(uncapitalize));
    add(funcs, "nospace", unary(delete_white_space));
    add(funcs, "initials", unary(initials));
    add(funcs, "swapcase", unary(swap_case));
    add(funcs, "camelcase", unary(camel_case));
    add(funcs, "snakecase", unary(|s| snake_case(s, '_')));
    add(funcs, "kebabcase", unary(|s| snake_case(s, '-')));
    add(funcs, "regexQuoteMeta", unary(quote_meta));
    add(
        funcs,
        "abbrev",
        Func::new(&[Int, S], |ctx, a| {
            let s = text_arg(a, 1);
            charge_bytes(ctx, s.len())?;
            let width = int(&a[0]);
            if width < 4 {
                return Ok(string(s));
            }
            Ok(bytes_value(abbreviate_full(s.as_bytes(), 0, width)))
        }),
    );
    add(
        funcs,
        "abbrevboth",
        Func::new(&[Int, Int, S], |ctx, a| {
            let s = text_arg(a, 2);
            charge_bytes(ctx, s.len())?;
            let (left, right) = (int(&a[0]), int(&a[1]));
            if right < 4 || left > 0 && right < 7 {
                return Ok(string(s));
            }
            Ok(bytes_value(abbreviate_full(s.as_bytes(), left, right)))
        }),
    );
    add(
        funcs,
        "trunc",
        Func::new(&[Int, S], |ctx, a| {
            let s = text_arg(a, 1).as_bytes();
            charge_bytes(ctx, s.len())?;
            let c = int(&a[0]);
            let len = s.len() as i64;
            let out = if c < 0 && len + c > 0 {
                &s[(len + c) as usize..]
            } else if c >= 0 && len > c {
                &s[..c as usize]
            } else {
                s
            };
            Ok(Value::from_bytes(out.to_vec()))
        }),
    );
    add(
        funcs,
        "substr",
        Func::new(&[Int, Int, S], |ctx, a| {
            let s = text_arg(a, 2).as_bytes();
            charge_bytes(ctx, s.len())?;
            let (start, end) = (int(&a[0]), int(&a[1]));
            let len = s.len() as i64;
            let (from, to) = if start < 0 {
                (0, end)
            } else if end < 0 || end > len {
                (start, len)
            } else {
                (start, end)
            };
            let (from, to) = bounds(from, to, len)?;
            Ok(Value::from_bytes(s[from..to].to_vec()))
        }),
    );
    add(
        funcs,
        "repeat",
        Func::new(&[Int, S], |ctx, a| {
            repeat_charged(ctx, text_arg(a, 1), int(&a[0])).map(string)
        }),
    );
    for name in ["trimall", "trimAll"] {
        add(
            funcs,
            name,
            binary(|cutset, s| s.trim_matches(|c| cutset.contains(c)).to_string()),
        );
    }
    add(
        funcs,
        "trimSuffix",
        binary(|suffix, s| s.strip_suffix(suffix).unwrap_or(s).to_string()),
    );
    add(
        funcs,
        "trimPrefix",
        binary(|prefix, s| s.strip_prefix(prefix).unwrap_or(s).to_string()),
    );
    add(
        funcs,
        "contains",
        Func::new(&[S, S], |_, a| {
            Ok(Value::Bool(text_arg(a, 1).contains(text_arg(a, 0))))
        }),
    );
    add(
        funcs,
        "hasPrefix",
        Func::new(&[S, S], |_, a| {
            Ok(Value::Bool(text_arg(a, 1).starts_with(text_arg(a, 0))))
        }),
    );
    add(
        funcs,
        "hasSuffix",
        Func::new(&[S, S], |_, a| {
            Ok(Value::Bool(text_arg(a, 1).ends_with(text_arg(a, 0))))
        }),
    );
    add(
        funcs,
        "wrap",
        Func::new(&[Int, S], |ctx, a| {
            let s = text_arg(a, 1);
            charge_bytes(ctx, s.len().saturating_mul(2))?;
            Ok(bytes_value(wrap_custom(
                s.as_bytes(),
                int(&a[0]),
                b"",
                false,
            )))
        }),
    );
    add(
        funcs,
        "wrapWith",
        Func::new(&[Int, S, S], |ctx, a| {
            let (sep, s) = (text_arg(a, 1), text_arg(a, 2));
            charge_bytes(ctx, s.len().saturating_mul(sep.len().max(1) + 1))?;
            Ok(bytes_value(wrap_custom(
                s.as_bytes(),
                int(&a[0]),
                sep.as_bytes(),
                true,
            )))
        }),
    );
    add(
        funcs,
        "quote",
        Func::variadic(&[], Any, |ctx, a| {
            let parts: Vec<String> = a
                .iter()
                .filter(|v| !v.is_nil())
                .map(|v| quote(&strval(v), false))
                .collect();
            joined(ctx, &parts, " ")
        }),
    );
    add(
        funcs,
        "squote",
        Func::variadic(&[], Any, |ctx, a| {
            let parts: Vec<String> = a
                .iter()
                .filter(|v| !v.is_nil())
                .map(|v| format!("'{}'", sprint_v(v)))
                .collect();
            joined(ctx, &parts, " ")
        }),
    );
    add(
        funcs,
        "cat",
        Func::variadic(&[], Any, |ctx, a| {
            let parts: Vec<String> = a.iter().filter(|v| !v.is_nil()).map(sprint_v).collect();
            joined(ctx, &parts, " ")
        }),
    );
    add(
        funcs,
        "indent",
        Func::new(&[Int, S], |ctx, a| {
            indent(ctx, int(&a[0]), text_arg(a, 1)).map(string)
        }),
    );
    add(
        funcs,
        "nindent",
        Func::new(&[Int, S], |ctx, a| {
            indent(ctx, int(&a[0]), text_arg(a, 1)).map(|s| string(format!("\n{s}")))
        }),
    );
    add(
        funcs,
        "replace",
        Func::new(&[S, S, S], |ctx, a| {
            let (old, new, src) = (text_arg(a, 0), text_arg(a, 1), text_arg(a, 2));
            let count = if old.is_empty() {
                src.chars().count() + 1
            } else {
                src.matches(old).count()
            };
            charge_bytes(
                ctx,
                src.len().saturating_add(count.saturating_mul(new.len())),
            )?;
            Ok(string(src.replace(old, new)))
        }),
    );
    add(
        funcs,
        "plural",
        Func::new(&[S, S, Int], |_, a| {
            Ok(string(if int(&a[2]) == 1 {
                text_arg(a, 0)
            } else {
                text_arg(a, 1)
            }))
        }),
    );
    add(
        funcs,
        "toString",
        Func::new(&[Any], |ctx, a| {
            ctx.charge(a[0].node_count())?;
            Ok(string(strval(&a[0])))
        }),
    );
    add(
        funcs,
        "splitList",
        Func::new(&[S, S], |ctx, a| {
            let (sep, s) = (text_arg(a, 0), text_arg(a, 1));
            charge_bytes(ctx, s.len())?;
            let parts = go_split_n(s, sep, -1);
            ctx.charge(parts.len() as u64)?;
            Ok(Value::Strings(parts))
        }),
    );
    add(
        funcs,
        "split",
        Func::new(&[S, S], |ctx, a| {
            let (sep, s) = (text_arg(a, 0), text_arg(a, 1));
            charge_bytes(ctx, s.len())?;
            let parts = go_split_n(s, sep, -1);
            ctx.charge(parts.len() as u64)?;
            Ok(numbered(parts))
        }),
    );
    add(
        funcs,
        "splitn",
        Func::new(&[S, Int, S], |ctx, a| {
            let (sep, s) = (text_arg(a, 0), text_arg(a, 2));
            charge_bytes(ctx, s.len())?;
            let parts = go_split_n(s, sep, int(&a[1]));
            ctx.charge(parts.len() as u64)?;
            Ok(numbered(parts))
        }),
    );
    add(
        funcs,
        "toStrings",
        Func::new(&[Any], |ctx, a| {
            ctx.charge(a[0].node_count())?;
            Ok(Value::Strings(strslice(&a[0])))
        }),
    );
    add(
        funcs,
        "join",
        Func::new(&[S, Any], |ctx, a| {
            ctx.charge(a[1].node_count())?;
            joined(ctx, &strslice(&a[1]), text_arg(a, 0))
        }),
    );
    add(
        funcs,
        "sortAlpha",
        Func::new(&[Any], |ctx, a| {
            ctx.charge(a[0].node_count())?;
            match &a[0] {
                Value::List(_) | Value::Strings(_) | Value::NilStrings => {
                    let mut items = strslice(&a[0]);
                    items.sort_unstable();
                    Ok(Value::Strings(items))
                }
                other => Ok(Value::Strings(vec![strval(other)])),
            }
        }),
    );
}

/// A `func(string) string` that costs in proportion to its input.
fn unary(f: impl Fn(&str) -> String + Send + Sync + 'static) -> Func {
    Func::new(&[S], move |ctx, a| {
        let s = text_arg(a, 0);
        charge_bytes(ctx, s.len().saturating_mul(2))?;
        Ok(string(f(s)))
    })
}

/// A `func(a, b string) string`.
fn binary(f: impl Fn(&str, &str) -> String + Send + Sync + 'static) -> Func {
    Func::new(&[S, S], move |ctx, a| {
        let s = text_arg(a, 1);
        charge_bytes(ctx, s.len())?;
        Ok(string(f(text_arg(a, 0), s)))
    })
}

fn joined(ctx: &mut crate::funcs::Ctx<'_>, parts: &[String], sep: &str) -> FuncResult {
    let total = parts.iter().map(String::len).sum::<usize>()
        + sep.len().saturating_mul(parts.len().saturating_sub(1));
    charge_bytes(ctx, total)?;
    Ok(string(parts.join(sep)))
}

/// Bytes that came from slicing a string: a string again when they are
/// still UTF-8.
fn bytes_value(bytes: Vec<u8>) -> Value {
    Value::from_bytes(bytes)
}

/// `map[string]string{"_0": ..., "_1": ...}`, as sprig's `split` gives.
fn numbered(parts: Vec<String>) -> Value {
    let map: BTreeMap<String, Value> = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| (format!("_{i}"), Value::String(p)))
        .collect();
    Value::Map(map)
}

/// Go's `strings.SplitN` (`n < 0`: all parts; `n == 0`: none).
pub(super) fn go_split_n(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    let limit = if n < 0 { usize::MAX } else { n as usize };
    if sep.is_empty() {
        let mut out = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            if out.len() + 1 == limit {
                out.push(rest.to_string());
                break;
            }
            let c = rest.chars().next().map_or(1, char::len_utf8);
            out.push(rest[..c].to_string());
            rest = &rest[c..];
        }
        return out;
    }
    s.splitn(limit, sep).map(str::to_string).collect()
}

/// sprig's `strslice`: a `[]string` as is; other slices element by
/// element through `strval`, nils dropped; nil as an empty list; anything
/// else as a one-element list.
pub(super) fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::Strings(items) => items.clone(),
        Value::Nil => Vec::new(),
        other => match elements(other) {
            Some(items) => items.iter().filter(|i| !i.is_nil()).map(strval).collect(),
            None => vec![strval(other)],
        },
    }
}

/// sprig's `indent`: the pad before the text and after every newline.
fn indent(ctx: &mut crate::funcs::Ctx<'_>, spaces: i64, s: &str) -> Result<String, FuncError> {
    let pad = repeat_charged(ctx, " ", spaces)?;
    let lines = s.matches('\n').count() + 1;
    charge_bytes(ctx, s.len().saturating_add(lines.saturating_mul(pad.len())))?;
    Ok(format!("{pad}{}", s.replace('\n', &format!("\n{pad}"))))
}

/// goutils' `AbbreviateFull` (byte offsets, so it may cut a character);
/// computed in i128 so extreme widths and offsets cannot overflow.
fn abbreviate_full(s: &[u8], offset: i64, max_width: i64) -> Vec<u8> {
    let (offset, max_width) = (i128::from(offset), i128::from(max_width));
    let len = s.len() as i128;
    if s.is_empty() || max_width < 4 {
        return Vec::new();
    }
    if len <= max_width {
        return s.to_vec();
    }
    let mut offset = offset.min(len);
    if len - offset < max_width - 3 {
        offset = len - (max_width - 3);
    }
    let marker = b"...";
    if offset <= 4 {
        let mut out = s[..(max_width - 3) as usize].to_vec();
        out.extend_from_slice(marker);
        return out;
    }
    if max_width < 7 {
        return Vec::new();
    }
    let mut out = marker.to_vec();
    if offset + max_width - 3 < len {
        out.extend(abbreviate_full(
            &s[offset as usize..],
            0,
            (max_width - 3) as i64,
        ));
    } else {
        out.extend_from_slice(&s[(len - (max_width - 3)) as usize..]);
    }
    out
}

/// goutils' `WrapCustom`, on bytes as in Go.
fn wrap_custom(s: &[u8], width: i64, newline: &[u8], wrap_long: bool) -> Vec<u8> {
    if s.is_empty() {
        return Vec::new();
    }
    let newline: &[u8] = if newline.is_empty() { b"\n" } else { newline };
    let width = width.max(1) as usize;
    let len = s.len();
    let mut offset = 0usize;
    let mut out = Vec::with_capacity(len);
    while len - offset > width {
        if s[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = width + offset + 1;
        let space = s[offset..end].iter().rposition(|&b| b == b' ');
        if let Some(at) = space {
            out.extend_from_slice(&s[offset..offset + at]);
            out.extend_from_slice(newline);
            offset += at + 1;
        } else if wrap_long {
            out.extend_from_slice(&s[offset..offset + width]);
            out.extend_from_slice(newline);
            offset += width;
        } else {
            let end = width + offset;
            match s[end..].iter().position(|&b| b == b' ') {
                None => {
                    out.extend_from_slice(&s[offset..]);
                    offset = len;
                }
                Some(i) => {
                    out.extend_from_slice(&s[offset..end + i]);
                    out.extend_from_slice(newline);
                    offset = end + i + 1;
                }
            }
        }
    }
    out.extend_from_slice(&s[offset..]);
    out
}

/// Go's `unicode.IsSpace` (the White_Space property).
fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// A byte read as the Latin-1 character of that code, as goutils' byte
/// loops (`rune(str[i])`) do.
fn latin1(b: u8) -> char {
    char::from(b)
}

/// goutils' `DeleteWhiteSpace`: byte by byte; when anything is removed,
/// the kept bytes are re-encoded as Latin-1 characters.
fn delete_white_space(s: &str) -> String {
    let kept: Vec<u8> = s.bytes().filter(|&b| !is_space(latin1(b))).collect();
    if kept.len() == s.len() {
        return s.to_string();
    }
    kept.into_iter().map(latin1).collect()
}

/// goutils' `Initials`: the first byte of every space-separated word, as a
/// Latin-1 character.
fn initials(s: &str) -> String {
    let mut out = String::new();
    let mut last_was_gap = true;
    for b in s.bytes() {
        let c = latin1(b);
        if is_space(c) {
            last_was_gap = true;
        } else if last_was_gap {
            out.push(c);
            last_was_gap = false;
        }
    }
    out
}

/// goutils' `Uncapitalize`: the first character of every word in lower case.
fn uncapitalize(s: &str) -> String {
    let mut next = true;
    s.chars()
        .map(|c| {
            if is_space(c) {
                next = true;
                c
            } else if next {
                next = false;
                simple_lower(c)
            } else {
                c
            }
        })
        .collect()
}

/// Title-case letters (general category Lt).
fn is_title(c: char) -> bool {
    matches!(c as u32, 0x1C5 | 0x1C8 | 0x1CB | 0x1F2 | 0x1F88..=0x1F8F | 0x1F98..=0x1F9F | 0x1FA8..=0x1FAF | 0x1FBC | 0x1FCC | 0x1FFC)
}

/// Characters that Rust counts as upper or lower case through the
/// Other_Uppercase/Other_Lowercase properties while Go's `IsUpper`/
/// `IsLower` (categories Lu/Ll) do not, among those with a case mapping.
fn other_cased(c: char) -> bool {
    matches!(c as u32, 0x345 | 0x2160..=0x217F | 0x24B6..=0x24E9)
}

/// Go's `unicode.IsUpper` (category Lu).
pub(super) fn is_upper(c: char) -> bool {
    c.is_uppercase() && !other_cased(c)
}

/// Go's `unicode.IsLower` (category Ll).
fn is_lower(c: char) -> bool {
    c.is_lowercase() && !other_cased(c)
}

/// Go's `unicode.ToTitle`.
fn simple_title(c: char) -> char {
    match c as u32 {
        0x1C4..=0x1C6 => '\u{1C5}',
        0x1C7..=0x1C9 => '\u{1C8}',
        0x1CA..=0x1CC => '\u{1CB}',
        0x1F1..=0x1F3 => '\u{1F2}',
        // Georgian letters are their own title case.
        0x10D0..=0x10FA | 0x10FD..=0x10FF => c,
        _ => simple_upper(c),
    }
}

/// goutils' `SwapCase`: upper and title case to lower, lower case to upper
/// (to title case at the start of a word).
fn swap_case(s: &str) -> String {
    let mut whitespace = true;
    s.chars()
        .map(|c| {
            if is_upper(c) || is_title(c) {
                whitespace = false;
                simple_lower(c)
            } else if is_lower(c) {
                if whitespace {
                    whitespace = false;
                    simple_title(c)
                } else {
                    simple_upper(c)
                }
            } else {
                whitespace = is_space(c);
                c
            }
        })
        .collect()
}

/// Go's `strings.Title`: the first letter after a separator in title case.
fn go_title(s: &str) -> String {
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let sep = if (prev as u32) < 0x80 {
                !(prev.is_ascii_alphanumeric() || prev == '_')
            } else {
                is_space(prev)
            };
            prev = c;
            if sep { simple_title(c) } else { c }
        })
        .collect()
}

/// Go's `regexp.QuoteMeta`.
fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || is_space(c)
}

/// xstrings' `ToCamelCase`.
fn camel_case(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    let mut r0 = None;
    for c in chars.by_ref() {
        if !is_connector(c) {
            r0 = Some(simple_upper(c));
            break;
        }
        out.push(c);
    }
    let Some(mut r0) = r0 else {
        return out;
    };
    for c in chars {
        let r1 = r0;
        r0 = c;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            r0 = simple_upper(r0);
        } else {
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

/// Go's `unicode.IsPunct` (category P); exact for Latin-1, the general
/// punctuation block and CJK punctuation, where templates meet it.
fn is_punct(c: char) -> bool {
    match c as u32 {
        0..=0x7F => c.is_ascii_punctuation() && !"$+<=>^`|~".contains(c),
        0xA1 | 0xA7 | 0xAB | 0xB6 | 0xB7 | 0xBB | 0xBF => true,
        0x2010..=0x2027 | 0x2030..=0x2043 | 0x2045..=0x2051 | 0x2053..=0x205E => true,
        0x3001..=0x3003 | 0x3008..=0x3011 | 0x3014..=0x301F | 0xFF01..=0xFF03 => true,
        _ => false,
    }
}

/// xstrings' `isAlphabet`: a letter that is not a CJK ideograph.
fn is_alphabet(c: char) -> bool {
    if !c.is_alphabetic() {
        return false;
    }
    let r = c as u32;
    !(0x4E00..=0x9FCC).contains(&r)
        && !(0x3400..=0x4D85).contains(&r)
        && !(0x20000..=0x2A6D6).contains(&r)
        && !(0x2A700..=0x2B734).contains(&r)
        && !(0x2B740..=0x2B81D).contains(&r)
        && !(0xF900..=0xFA6D).contains(&r)
        && !(0xFA70..=0xFAD9).contains(&r)
        && !(0x2F800..=0x2FA1D).contains(&r)
}

/// Go's `unicode.IsNumber` (category N).
fn is_number(c: char) -> bool {
    c.is_numeric()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Word {
    Invalid,
    Number,
    Upper,
    Alphabet,
    Connector,
    Punct,
    Other,
}

/// xstrings' `nextWord` over characters (a Rust string has no invalid
/// runes, so `Invalid` only marks the end).
fn next_word(s: &str) -> (Word, &str, &str) {
    let mut it = s.char_indices().peekable();
    let Some((_, r)) = it.next() else {
        return (Word::Invalid, "", "");
    };
    let mut offset = r.len_utf8();
    let take_while = |offset: &mut usize, pred: &dyn Fn(char) -> bool| {
        for c in s[*offset..].chars() {
            if !pred(c) {
                break;
            }
            *offset += c.len_utf8();
        }
    };
    let wt = if is_connector(r) {
        take_while(&mut offset, &is_connector);
        Word::Connector
    } else if is_punct(r) {
        take_while(&mut offset, &is_punct);
        Word::Punct
    } else if is_upper(r) {
        if let Some(next) = s[offset..].chars().next() {
            if is_upper(next) {
                let mut prev_size = next.len_utf8();
                offset += prev_size;
                let mut last = next;
                let mut stopped = false;
                for c in s[offset..].chars() {
                    last = c;
                    if !is_upper(c) {
                        stopped = true;
                        break;
                    }
                    prev_size = c.len_utf8();
                    offset += prev_size;
                }
                if stopped && is_alphabet(last) {
                    offset -= prev_size;
                }
            } else if is_alphabet(next) {
                offset += next.len_utf8();
                take_while(&mut offset, &|c| is_alphabet(c) && !is_upper(c));
            }
        }
        Word::Upper
    } else if is_alphabet(r) {
        take_while(&mut offset, &|c| is_alphabet(c) && !is_upper(c));
        Word::Alphabet
    } else if is_number(r) {
        take_while(&mut offset, &is_number);
        Word::Number
    } else {
        take_while(&mut offset, &|c| {
            !(is_connector(c) || is_alphabet(c) || is_number(c) || is_punct(c))
        });
        Word::Other
    };
    (wt, &s[..offset], &s[offset..])
}

fn lower_word(out: &mut String, wt: Word, word: &str, connector: char) {
    if wt != Word::Upper && wt != Word::Connector {
        out.push_str(word);
        return;
    }
    for c in word.chars() {
        if is_connector(c) {
            out.push(connector);
        } else if is_upper(c) {
            out.push(simple_lower(c));
        } else {
            out.push(c);
        }
    }
}

/// xstrings' `camelCaseToLowerCase` (`ToSnakeCase`, `ToKebabCase`).
fn snake_case(s: &str, connector: char) -> String {
    let mut out = String::new();
    if s.is_empty() {
        return out;
    }
    let (mut wt, mut word, mut remaining) = next_word(s);
    while !remaining.is_empty() {
        if wt != Word::Connector {
            lower_word(&mut out, wt, word, connector);
        }
        let prev = wt;
        let last = word;
        (wt, word, remaining) = next_word(remaining);
        match prev {
            Word::Number => {
                while wt == Word::Alphabet || wt == Word::Number {
                    lower_word(&mut out, wt, word, connector);
                    (wt, word, remaining) = next_word(remaining);
                }
                if wt != Word::Invalid && wt != Word::Punct && wt != Word::Connector {
                    out.push(connector);
                }
            }
            Word::Connector => lower_word(&mut out, prev, last, connector),
            Word::Punct => {}
            _ => {
                if wt != Word::Number {
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                if remaining.is_empty() {
                    continue;
                }
                let last = word;
                (wt, word, remaining) = next_word(remaining);
                if wt != Word::Alphabet {
                    lower_word(&mut out, Word::Number, last, connector);
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                out.push(connector);
                lower_word(&mut out, Word::Number, last, connector);
                while wt == Word::Alphabet || wt == Word::Number {
                    lower_word(&mut out, wt, word, connector);
                    (wt, word, remaining) = next_word(remaining);
                }
                if wt != Word::Invalid && wt != Word::Connector && wt != Word::Punct {
                    out.push(connector);
                }
            }
        }
    }
    lower_word(&mut out, wt, word, connector);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xstrings_snake_case_samples() {
        for (input, want) in [
            ("FirstName", "first_name"),
            ("HTTPServer", "http_server"),
            ("NoHTTPS", "no_https"),
            ("GO_PATH", "go_path"),
            ("GO PATH", "go_path"),
            ("GO-PATH", "go_path"),
            ("http2xx", "http_2xx"),
            ("HTTP20xOK", "http_20x_ok"),
            ("Duration2m3s", "duration_2m3s"),
            ("Bld4Floor3rd", "bld4_floor_3rd"),
        ] {
            assert_eq!(snake_case(input, '_'), want, "{input}");
        }
    }

    #[test]
    fn xstrings_camel_case_samples() {
        for (input, want) in [
            ("some_words", "SomeWords"),
            ("http_server", "HttpServer"),
            ("no_https", "NoHttps"),
            ("_complex__case_", "_Complex_Case_"),
            ("some words", "SomeWords"),
        ] {
            assert_eq!(camel_case(input), want, "{input}");
        }
    }

    #[test]
    fn goutils_abbreviate_samples() {
        let ab = |s: &str, o, w| String::from_utf8(abbreviate_full(s.as_bytes(), o, w)).unwrap();
        assert_eq!(ab("abcdefghijklmno", 0, 10), "abcdefg...");
        assert_eq!(ab("abcdefghijklmno", 5, 10), "...fghi...");
        assert_eq!(ab("abcdefghijklmno", 12, 10), "...ijklmno");
        assert_eq!(ab("abc", 0, 4), "abc");
    }

    #[test]
    fn goutils_wrap_samples() {
        let w = |s: &str, n, sep: &str, long| {
            String::from_utf8(wrap_custom(s.as_bytes(), n, sep.as_bytes(), long)).unwrap()
        };
        assert_eq!(
            w(
                "Here is one line of text that is going to be wrapped after 20 columns.",
                20,
                "",
                false
            ),
            "Here is one line of\ntext that is going\nto be wrapped after\n20 columns."
        );
        assert_eq!(
            w(
                "Click here, https://commons.apache.org, to jump",
                20,
                "<br />",
                true
            ),
            "Click here,<br />https://commons.apac<br />he.org, to jump"
        );
    }
}
