//! Go's `strconv` quoting rules: `Quote`, `QuoteRune`, `Unquote` and
//! `UnquoteChar`, and the `unicode.IsPrint` test they rely on.

use std::fmt::Write;

/// Why a Go literal could not be unquoted (Go says `invalid syntax`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntaxError;

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invalid syntax")
    }
}

impl std::error::Error for SyntaxError {}

/// Whether Go's `unicode.IsPrint` holds: letters, marks, numbers,
/// punctuation, symbols and the ASCII space. Without Unicode tables this
/// treats every assigned-looking character as printable except controls,
/// non-ASCII spaces, format characters and private-use code points.
pub fn is_print(c: char) -> bool {
    let u = u32::from(c);
    if u < 0x80 {
        return (0x20..0x7f).contains(&u);
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !is_format_or_private(u)
}

/// Unicode `Cf` (format) characters and private-use areas.
fn is_format_or_private(u: u32) -> bool {
    matches!(u,
        0xAD
        | 0x600..=0x605
        | 0x61C
        | 0x6DD
        | 0x70F
        | 0x890..=0x891
        | 0x8E2
        | 0x180E
        | 0x200B..=0x200F
        | 0x202A..=0x202E
        | 0x2060..=0x2064
        | 0x2066..=0x206F
        | 0xFEFF
        | 0xFFF9..=0xFFFB
        | 0x110BD
        | 0x110CD
        | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A
        | 0xE0001
        | 0xE0020..=0xE007F
        | 0xE000..=0xF8FF
        | 0xF0000..=0xFFFFD
        | 0x100000..=0x10FFFD
        // Noncharacters are unassigned, so not printable.
        | 0xFFFE..=0xFFFF)
}

/// Go's `strconv.Quote` (`ascii_only`: `QuoteToASCII`).
pub fn quote(s: &str, ascii_only: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"', ascii_only);
    }
    out.push('"');
    out
}

/// Go's `strconv.QuoteRune` (`ascii_only`: `QuoteRuneToASCII`) for a code
/// point; values that are not valid runes print as U+FFFD.
pub fn quote_rune(r: u32, ascii_only: bool) -> String {
    let c = char::from_u32(r).unwrap_or('\u{FFFD}');
    let mut out = String::from("'");
    push_escaped(&mut out, c, '\'', ascii_only);
    out.push('\'');
    out
}

/// Whether Go's `strconv.CanBackquote` holds: no backquote, no control
/// character other than tab, no U+FEFF.
pub fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !(c < ' ' || c == '\u{7f}')))
}

fn push_escaped(out: &mut String, c: char, quote: char, ascii_only: bool) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    let plain = if ascii_only {
        c.is_ascii() && is_print(c)
    } else {
        is_print(c)
    };
    if plain {
        out.push(c);
        return;
    }
    let short = match c {
        '\u{7}' => "\\a",
        '\u{8}' => "\\b",
        '\u{c}' => "\\f",
        '\n' => "\\n",
        '\r' => "\\r",
        '\t' => "\\t",
        '\u{b}' => "\\v",
        _ => "",
    };
    if !short.is_empty() {
        out.push_str(short);
        return;
    }
    let u = u32::from(c);
    // Writing to a String cannot fail.
    let _ = if u < 0x20 || u == 0x7f {
        write!(out, "\\x{u:02x}")
    } else if u < 0x10000 {
        write!(out, "\\u{u:04x}")
    } else {
        write!(out, "\\U{u:08x}")
    };
}

/// Go's `strconv.Unquote` for the three literal forms a template allows:
/// `"..."`, `` `...` `` and `'.'`. Escapes that produce bytes which are not
/// UTF-8 (`"\xff"`) become U+FFFD, as Rust strings hold only UTF-8.
pub fn unquote(text: &str) -> Result<String, SyntaxError> {
    let bytes = text.as_bytes();
    if bytes.len() < 2 {
        return Err(SyntaxError);
    }
    let quote = bytes[0];
    if bytes[bytes.len() - 1] != quote {
        return Err(SyntaxError);
    }
    let inner = &text[1..text.len() - 1];
    match quote {
        b'`' => {
            if inner.contains('`') {
                return Err(SyntaxError);
            }
            // Go drops carriage returns from raw strings.
            Ok(inner.replace('\r', ""))
        }
        b'"' | b'\'' => {
            if inner.contains('\n') {
                return Err(SyntaxError);
            }
            let mut out = Vec::with_capacity(inner.len());
            let mut rest = inner;
            let mut count = 0;
            while !rest.is_empty() {
                let (piece, tail) = unquote_char(rest, char::from(quote))?;
                piece.push_to(&mut out);
                rest = tail;
                count += 1;
            }
            if quote == b'\'' && count != 1 {
                return Err(SyntaxError);
            }
            Ok(String::from_utf8(out)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
        }
        _ => Err(SyntaxError),
    }
}

/// One decoded element of a quoted literal: a character or, from `\x` and
/// octal escapes in strings, a raw byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unquoted {
    /// A Unicode scalar value.
    Char(char),
    /// A single byte (`\xff`, `\377`).
    Byte(u8),
}

impl Unquoted {
    /// The code point Go's `UnquoteChar` returns for this element.
    pub fn code(self) -> u32 {
        match self {
            Unquoted::Char(c) => u32::from(c),
            Unquoted::Byte(b) => u32::from(b),
        }
    }

    fn push_to(self, out: &mut Vec<u8>) {
        match self {
            Unquoted::Char(c) => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            Unquoted::Byte(b) => out.push(b),
        }
    }
}

/// Go's `strconv.UnquoteChar`: decodes the first character or escape of
/// `s`, a literal body quoted with `quote`, and returns the rest.
pub fn unquote_char(s: &str, quote: char) -> Result<(Unquoted, &str), SyntaxError> {
    let mut chars = s.chars();
    let c = chars.next().ok_or(SyntaxError)?;
    if c == quote && (quote == '\'' || quote == '"') {
        return Err(SyntaxError);
    }
    if c != '\\' {
        return Ok((Unquoted::Char(c), chars.as_str()));
    }
    let rest = chars.as_str();
    let mut chars = rest.chars();
    let e = chars.next().ok_or(SyntaxError)?;
    let tail = chars.as_str();
    let simple = match e {
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{b}'),
        '\\' => Some('\\'),
        '\'' | '"' if e == quote => Some(e),
        _ => None,
    };
    if let Some(c) = simple {
        return Ok((Unquoted::Char(c), tail));
    }
    match e {
        'x' | 'u' | 'U' => {
            let n = match e {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            let digits = tail.get(..n).ok_or(SyntaxError)?;
            if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(SyntaxError);
            }
            let v = u32::from_str_radix(digits, 16).map_err(|_| SyntaxError)?;
            let tail = &tail[n..];
            if e == 'x' {
                let byte = u8::try_from(v).map_err(|_| SyntaxError)?;
                // In a character literal `\xNN` is a code point, in a string a byte.
                return Ok(if quote == '\'' {
                    (Unquoted::Char(char::from(byte)), tail)
                } else {
                    (Unquoted::Byte(byte), tail)
                });
            }
            let c = char::from_u32(v).ok_or(SyntaxError)?;
            Ok((Unquoted::Char(c), tail))
        }
        '0'..='7' => {
            let digits = rest.get(..3).ok_or(SyntaxError)?;
            if !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                return Err(SyntaxError);
            }
            let v = u32::from_str_radix(digits, 8).map_err(|_| SyntaxError)?;
            let byte = u8::try_from(v).map_err(|_| SyntaxError)?;
            let tail = &rest[3..];
            Ok(if quote == '\'' {
                (Unquoted::Char(char::from(byte)), tail)
            } else {
                (Unquoted::Byte(byte), tail)
            })
        }
        _ => Err(SyntaxError),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_escapes_like_go() {
        assert_eq!(quote("a\"b\\c\n\t\u{7}", false), r#""a\"b\\c\n\t\a""#);
        assert_eq!(quote("\u{1}\u{7f}", false), r#""\x01\x7f""#);
        assert_eq!(quote("héllo ✓", false), "\"héllo ✓\"");
        assert_eq!(quote("héllo", true), r#""h\u00e9llo""#);
        assert_eq!(quote("😀", true), r#""\U0001f600""#);
        assert_eq!(quote("\u{a0}\u{200b}", false), r#""\u00a0\u200b""#);
    }

    #[test]
    fn quote_rune_uses_single_quotes() {
        assert_eq!(quote_rune(u32::from('a'), false), "'a'");
        assert_eq!(quote_rune(u32::from('\''), false), r"'\''");
        assert_eq!(quote_rune(0x11_0000, false), "'\u{FFFD}'");
    }

    #[test]
    fn unquote_handles_go_escapes() {
        assert_eq!(
            unquote(r#""a\tb\x41\101\u00e9\U0001F600""#).unwrap(),
            "a\tbAAé😀"
        );
        assert_eq!(unquote("`raw\\n\r`").unwrap(), "raw\\n");
        assert_eq!(unquote(r"'\n'").unwrap(), "\n");
    }

    #[test]
    fn unquote_rejects_bad_escapes() {
        for bad in [
            r#""\q""#,
            r#""\'""#,
            r#""\x4""#,
            r#""\400""#,
            r#""\uD800""#,
            "'ab'",
            "''",
        ] {
            assert_eq!(unquote(bad), Err(SyntaxError), "{bad}");
        }
    }

    #[test]
    fn unquote_maps_invalid_bytes_to_replacement() {
        assert_eq!(unquote(r#""\xff""#).unwrap(), "\u{FFFD}");
    }

    #[test]
    fn can_backquote_refuses_controls_and_backquotes() {
        assert!(can_backquote("a\tb"));
        assert!(!can_backquote("a`b"));
        assert!(!can_backquote("a\nb"));
    }
}
