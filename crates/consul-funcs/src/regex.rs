//! `regexMatch` and `regexReplaceAll` with Go's RE2 syntax and Go's
//! replacement templates (`$1`, `${1}`, `$name`, `${name}`, `$$`).
//!
//! Patterns are translated to the `regex` crate's dialect first: Go's
//! `\d`, `\w`, `\s`, `\b` are ASCII-only (the crate's are Unicode), Go
//! reads `\<`, `&&`, `--`, `[` in a class and a malformed `{` literally
//! where the crate would not, and Go knows `\Q...\E` and octal escapes.

use regex::Regex;

use crate::args::{charge_bytes, string, text};
use crate::funcs::{Func, FuncError, Funcs, Param};
use gotemplate::error::REDACTED;
use gotemplate::value::Value;

/// Registers the regular-expression functions.
pub(crate) fn register(funcs: &mut Funcs) {
    // regexReplaceAll(re, replacement, s)
    funcs.insert(
        "regexReplaceAll",
        Func::new(&[Param::String, Param::String, Param::String], |ctx, a| {
            let (pattern, replacement, s) = (text(&a[0]), text(&a[1]), text(&a[2]));
            charge_bytes(ctx, pattern.len().saturating_mul(8).saturating_add(s.len()))?;
            let re = compile(pattern)?;
            let out = replace_all(&re, s, replacement, &mut |n| charge_bytes(ctx, n))?;
            Ok(string(out))
        }),
    );
    // regexMatch(re, s)
    funcs.insert(
        "regexMatch",
        Func::new(&[Param::String, Param::String], |ctx, a| {
            let (pattern, s) = (text(&a[0]), text(&a[1]));
            charge_bytes(ctx, pattern.len().saturating_mul(8).saturating_add(s.len()))?;
            Ok(Value::Bool(compile(pattern)?.is_match(s)))
        }),
    );
}

/// Largest repetition count Go accepts.
const MAX_REPEAT: u32 = 1000;

/// Compiles a Go pattern.
pub(crate) fn compile(pattern: &str) -> Result<Regex, FuncError> {
    let translated = translate(pattern).map_err(|why| parse_error(&why))?;
    regex::RegexBuilder::new(&translated)
        .size_limit(1 << 24)
        .build()
        .map_err(|e| {
            let why = match e {
                regex::Error::CompiledTooBig(_) => "expression too large".to_string(),
                regex::Error::Syntax(text) => {
                    let line = text
                        .lines()
                        .rev()
                        .find(|l| l.starts_with("error:"))
                        .unwrap_or("invalid syntax")
                        .trim_start_matches("error: ");
                    go_error_code(line).to_string()
                }
                _ => "invalid syntax".to_string(),
            };
            parse_error(&why)
        })
}

/// Go's `error parsing regexp: CODE: `PART``. The part of the pattern
/// Go quotes is redacted where it was not already named, as patterns can
/// be built from secrets.
fn parse_error(why: &str) -> FuncError {
    if why.contains('`') {
        FuncError::new(format!("error parsing regexp: {why}"))
    } else {
        FuncError::new(format!("error parsing regexp: {why}: {REDACTED}"))
    }
}

/// Go's error code for what the `regex` crate reports.
fn go_error_code(crate_message: &str) -> &str {
    match crate_message {
        "unclosed group" => "missing closing )",
        "unopened group" => "unexpected )",
        "unclosed character class" => "missing closing ]",
        "repetition operator missing expression" => "missing argument to repetition operator",
        "invalid character class range, the start must be <= the end" => {
            "invalid character class range"
        }
        other => other,
    }
}

/// `\x{..}`: a literal character in the crate's syntax, safe anywhere.
fn literal(out: &mut String, c: char) {
    out.push_str(&format!("\\x{{{:X}}}", u32::from(c)));
}

const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";
const SPACE: &str = "\\t\\n\\x{C}\\r ";

/// Rewrites a Go (RE2) pattern in the `regex` crate's syntax.
pub(crate) fn translate(pattern: &str) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() * 2);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => i = escape(&chars, i, &mut out, false)?,
            '[' => i = class(&chars, i, &mut out)?,
            '(' => i = group_start(&chars, i, &mut out)?,
            '{' => {
                match repeat(&chars, i)? {
                    Some(end) => {
                        out.extend(&chars[i..end]);
                        i = end;
                    }
                    // Not a repetition: a literal brace, as in Go.
                    None => {
                        literal(&mut out, '{');
                        i += 1;
                    }
                }
            }
            // Whitespace and `#` mean nothing special in Go.
            ' ' | '#' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}' => {
                literal(&mut out, c);
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// A `{n}`, `{n,}` or `{n,m}` at `i`: its end, or `None` when Go would
/// read the brace literally.
fn repeat(chars: &[char], i: usize) -> Result<Option<usize>, String> {
    let mut j = i + 1;
    let number = |j: &mut usize| -> Option<u32> {
        let start = *j;
        while chars.get(*j).is_some_and(char::is_ascii_digit) {
            *j += 1;
        }
        if *j == start {
            return None;
        }
        let digits: String = chars[start..*j].iter().collect();
        Some(digits.parse::<u32>().unwrap_or(u32::MAX))
    };
    let Some(min) = number(&mut j) else {
        return Ok(None);
    };
    let mut max = Some(min);
    if chars.get(j) == Some(&',') {
        j += 1;
        max = if chars.get(j) == Some(&'}') {
            None
        } else {
            match number(&mut j) {
                Some(m) => Some(m),
                None => return Ok(None),
            }
        };
    }
    if chars.get(j) != Some(&'}') {
        return Ok(None);
    }
    if min > MAX_REPEAT || max.is_some_and(|m| m > MAX_REPEAT || m < min) {
        let text: String = chars[i..=j].iter().collect();
        return Err(format!("invalid repeat count: `{text}`"));
    }
    Ok(Some(j + 1))
}

/// `(`: groups and flags. Go knows the flags `i`, `m`, `s`, `U` only.
fn group_start(chars: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    if chars.get(i + 1) != Some(&'?') {
        out.push('(');
        return Ok(i + 1);
    }
    match chars.get(i + 2) {
        Some('P') | Some('<') => {
            // A named group: copy through the closing `>`.
            let start = if chars.get(i + 2) == Some(&'P') {
                i + 3
            } else {
                i + 2
            };
            if chars.get(start) != Some(&'<') {
                return Err("invalid or unsupported Perl syntax".into());
            }
            let Some(close) = chars[start..].iter().position(|&c| c == '>') else {
                return Err("invalid named capture".into());
            };
            let name: String = chars[start + 1..start + close].iter().collect();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("invalid named capture: `{name}`"));
            }
            out.push_str(&format!("(?P<{name}>"));
            Ok(start + close + 1)
        }
        _ => {
            let mut j = i + 2;
            let mut flags = String::new();
            while let Some(&c) = chars.get(j) {
                match c {
                    'i' | 'm' | 's' | 'U' | '-' => flags.push(c),
                    ':' | ')' => break,
                    _ => return Err("invalid or unsupported Perl syntax".into()),
                }
                j += 1;
            }
            let Some(&end) = chars.get(j) else {
                return Err("missing closing )".into());
            };
            out.push_str("(?");
            out.push_str(&flags);
            out.push(end);
            Ok(j + 1)
        }
    }
}

/// An escape at `i`, inside a class or not; returns the next position.
fn escape(chars: &[char], i: usize, out: &mut String, in_class: bool) -> Result<usize, String> {
    let Some(&c) = chars.get(i + 1) else {
        return Err("trailing backslash at end of expression".into());
    };
    let class_or = |out: &mut String, inner: &str, negated: bool| match (in_class, negated) {
        (true, false) => out.push_str(inner),
        (true, true) | (false, true) => out.push_str(&format!("[^{inner}]")),
        (false, false) => out.push_str(&format!("[{inner}]")),
    };
    match c {
        'd' => class_or(out, DIGIT, false),
        'D' => class_or(out, DIGIT, true),
        'w' => class_or(out, WORD, false),
        'W' => class_or(out, WORD, true),
        's' => class_or(out, SPACE, false),
        'S' => class_or(out, SPACE, true),
        'b' | 'B' if !in_class => out.push_str(&format!("(?-u:\\{c})")),
        'A' | 'z' if !in_class => {
            out.push('\\');
            out.push(c);
        }
        'a' => literal(out, '\u{7}'),
        'f' => literal(out, '\u{c}'),
        't' => literal(out, '\t'),
        'n' => literal(out, '\n'),
        'r' => literal(out, '\r'),
        'v' => literal(out, '\u{b}'),
        'x' => {
            // \xHH or \x{H...}: pass through after checking.
            if chars.get(i + 2) == Some(&'{') {
                let Some(close) = chars[i + 3..].iter().position(|&c| c == '}') else {
                    return Err("invalid escape sequence: `\\x{`".into());
                };
                let hex: String = chars[i + 3..i + 3 + close].iter().collect();
                let code = u32::from_str_radix(&hex, 16)
                    .map_err(|_| "invalid escape sequence".to_string())?;
                let ch = char::from_u32(code).ok_or("invalid escape sequence")?;
                literal(out, ch);
                return Ok(i + 4 + close);
            }
            let hex: String = chars
                .get(i + 2..i + 4)
                .map(|s| s.iter().collect())
                .unwrap_or_default();
            let code = if hex.len() == 2 {
                u32::from_str_radix(&hex, 16).ok()
            } else {
                None
            };
            let ch = code
                .and_then(char::from_u32)
                .ok_or("invalid escape sequence")?;
            literal(out, ch);
            return Ok(i + 4);
        }
        '0'..='7' => {
            // Octal: `\0` to `\377`; a single non-zero digit would be a
            // back-reference, which Go refuses.
            if c != '0' && !chars.get(i + 2).is_some_and(|d| ('0'..='7').contains(d)) {
                return Err(format!("invalid escape sequence: `\\{c}`"));
            }
            let mut j = i + 1;
            let mut code = 0u32;
            while j < i + 4 && chars.get(j).is_some_and(|d| ('0'..='7').contains(d)) {
                code = code * 8 + chars[j].to_digit(8).unwrap_or(0);
                j += 1;
            }
            literal(out, char::from_u32(code).unwrap_or('\0'));
            return Ok(j);
        }
        'p' | 'P' => {
            // Unicode classes: \pL or \p{Name}.
            out.push('\\');
            out.push(c);
            if chars.get(i + 2) == Some(&'{') {
                let Some(close) = chars[i + 2..].iter().position(|&c| c == '}') else {
                    return Err("invalid character class range".into());
                };
                out.extend(&chars[i + 2..=i + 2 + close]);
                return Ok(i + 3 + close);
            }
            let Some(&name) = chars.get(i + 2) else {
                return Err("invalid character class range".into());
            };
            out.push(name);
            return Ok(i + 3);
        }
        'Q' if !in_class => {
            // Literal text up to `\E` or the end.
            let mut j = i + 2;
            while j < chars.len() {
                if chars[j] == '\\' && chars.get(j + 1) == Some(&'E') {
                    return Ok(j + 2);
                }
                literal(out, chars[j]);
                j += 1;
            }
            return Ok(j);
        }
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => literal(out, c),
        _ => return Err(format!("invalid escape sequence: `\\{c}`")),
    }
    Ok(i + 2)
}

/// A bracketed class at `i`; returns the position after its `]`.
fn class(chars: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    let mut j = i + 1;
    out.push('[');
    if chars.get(j) == Some(&'^') {
        out.push('^');
        j += 1;
    }
    let mut first = true;
    loop {
        let Some(&c) = chars.get(j) else {
            return Err("missing closing ]".into());
        };
        match c {
            ']' if !first => {
                out.push(']');
                return Ok(j + 1);
            }
            '[' if chars.get(j + 1) == Some(&':') => {
                // An ASCII class `[:name:]` or `[:^name:]`.
                let rest: String = chars[j..].iter().take(12).collect();
                let Some(end) = rest.get(2..).and_then(|r| r.find(":]")).map(|e| e + 2) else {
                    literal(out, '[');
                    j += 1;
                    first = false;
                    continue;
                };
                let name = &rest[2..end];
                let bare = name.strip_prefix('^').unwrap_or(name);
                const NAMES: [&str; 14] = [
                    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower",
                    "print", "punct", "space", "upper", "word", "xdigit",
                ];
                if !NAMES.contains(&bare) {
                    return Err(format!("invalid character class range: `[:{name}:]`"));
                }
                out.push_str(&format!("[:{name}:]"));
                j += end + 2;
            }
            '\\' => j = escape(chars, j, out, true)?,
            '-' => {
                // A range dash, or a literal one at either end.
                let at_end = chars.get(j + 1) == Some(&']');
                if first || at_end {
                    literal(out, '-');
                } else {
                    out.push('-');
                }
                j += 1;
            }
            // Set operators and nested classes of the crate are plain
            // characters to Go.
            '[' | '&' | '~' | ']' | ' ' | '#' => {
                literal(out, c);
                j += 1;
            }
            _ => {
                out.push(c);
                j += 1;
            }
        }
        first = false;
    }
}

/// Go's `Regexp.ReplaceAllString`: each match replaced by `replacement`
/// expanded with its groups; an empty match right after a match is kept.
pub(crate) fn replace_all(
    re: &Regex,
    s: &str,
    replacement: &str,
    charge: &mut dyn FnMut(usize) -> Result<(), FuncError>,
) -> Result<String, FuncError> {
    let names: Vec<Option<&str>> = re.capture_names().collect();
    let mut out = String::new();
    let mut last_end = 0;
    let mut search = 0;
    while search <= s.len() {
        let Some(caps) = re.captures_at(s, search) else {
            break;
        };
        let Some(whole) = caps.get(0) else {
            break;
        };
        out.push_str(&s[last_end..whole.start()]);
        if whole.end() > last_end || whole.start() == 0 {
            let before = out.len();
            expand(&mut out, replacement, &caps, &names);
            charge(out.len() - before)?;
        }
        last_end = whole.end();
        let width = s[search..].chars().next().map_or(1, char::len_utf8);
        if search + width > whole.end() {
            search += width;
        } else if search + 1 > whole.end() {
            search += 1;
        } else {
            search = whole.end();
        }
    }
    out.push_str(&s[last_end.min(s.len())..]);
    Ok(out)
}

/// Go's `Regexp.expand` for a string template.
fn expand(out: &mut String, template: &str, caps: &regex::Captures<'_>, names: &[Option<&str>]) {
    let mut rest = template;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        let Some((name, num, after)) = extract(rest) else {
            out.push('$');
            continue;
        };
        rest = after;
        let group = match num {
            Some(n) => caps.get(n),
            None => names
                .iter()
                .position(|n| *n == Some(name))
                .and_then(|i| caps.get(i)),
        };
        if let Some(m) = group {
            out.push_str(m.as_str());
        }
    }
    out.push_str(rest);
}

/// Go's `extract`: a group name or number after `$`, braced or not.
fn extract(s: &str) -> Option<(&str, Option<usize>, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let len: usize = body
        .chars()
        .take_while(|c| c.is_alphabetic() || is_nd(*c) || *c == '_')
        .map(char::len_utf8)
        .sum();
    if len == 0 {
        return None;
    }
    let name = &body[..len];
    let mut rest = &body[len..];
    if braced {
        rest = rest.strip_prefix('}')?;
    }
    let mut num: Option<usize> = Some(0);
    for b in name.bytes() {
        num = match num {
            Some(n) if b.is_ascii_digit() && n < 100_000_000 => {
                Some(n * 10 + usize::from(b - b'0'))
            }
            _ => None,
        };
    }
    if name.len() > 1 && name.starts_with('0') {
        num = None;
    }
    Some((name, num, rest))
}

/// Decimal digits (Go's `unicode.IsDigit`), approximated by Rust's
/// numeric test for non-ASCII characters.
fn is_nd(c: char) -> bool {
    c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replace(pattern: &str, replacement: &str, s: &str) -> String {
        let re = compile(pattern).unwrap();
        replace_all(&re, s, replacement, &mut |_| Ok(())).unwrap()
    }

    #[test]
    fn digit_classes_are_ascii_only() {
        assert!(!compile(r"^\d$").unwrap().is_match("٣"));
        assert!(compile(r"^\d$").unwrap().is_match("3"));
    }

    #[test]
    fn dollar_digit_letters_name_a_group() {
        // `$1x` is the group named `1x`, which does not exist.
        assert_eq!(replace("(a)", "$1x", "a"), "");
        assert_eq!(replace("(a)", "${1}x", "a"), "ax");
    }

    #[test]
    fn named_groups_and_dollar_escape() {
        assert_eq!(replace("(?P<w>b+)", "[$w]$$", "abbc"), "a[bb]$c");
    }

    #[test]
    fn empty_matches_follow_go() {
        assert_eq!(replace("a*", "-", "baaac"), "-b-c-");
    }

    #[test]
    fn quoted_text_is_literal() {
        assert!(compile(r"\Qa.b\E").unwrap().is_match("a.b"));
        assert!(!compile(r"\Qa.b\E").unwrap().is_match("axb"));
    }

    #[test]
    fn malformed_braces_are_literal() {
        assert!(compile("a{,2}").unwrap().is_match("a{,2}"));
        assert!(compile("x{").unwrap().is_match("x{"));
    }

    #[test]
    fn large_repeat_counts_are_refused() {
        assert!(compile("a{1001}").is_err());
    }

    #[test]
    fn class_set_operators_are_plain_characters() {
        assert!(compile("[a&&b]").unwrap().is_match("&"));
        assert!(compile("[[a]").unwrap().is_match("["));
    }

    #[test]
    fn escaped_angle_brackets_are_literal() {
        assert!(compile(r"\<a\>").unwrap().is_match("<a>"));
    }

    #[test]
    fn degenerate_ascii_class_is_not_a_panic() {
        assert!(compile("[[:]").is_ok() || compile("[[:]").is_err());
        assert!(compile("[[:]]").is_ok() || compile("[[:]]").is_err());
    }

    #[test]
    fn perl_extended_flag_is_refused() {
        assert!(compile("(?x)a").is_err());
    }
}
