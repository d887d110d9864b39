//! Strict JSON decoding into [`Value`], as Go's `json.Decoder` with
//! `UseNumber()` decodes into `interface{}`.
//!
//! The parser keeps its own stack instead of recursing. Everything else
//! that walks a [`Value`] (printing, encoding, `Clone`, `Drop`) recurses, so
//! nesting is capped well below Go's 10000 to keep those walks inside a
//! 2 MiB thread stack even in debug builds.

use std::collections::BTreeMap;
use std::fmt;

use super::value::Value;

/// Deepest nesting of arrays and objects accepted. Go allows 10000; real
/// secrets nest a handful of levels, and recursive walks of a value nested
/// 10000 deep overflow a 2 MiB stack, so the limit is lower.
pub const MAX_DEPTH: usize = 512;

/// Why a JSON text was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonErrorKind {
    /// The text ended inside a value.
    UnexpectedEnd,
    /// A byte that cannot appear at this point.
    UnexpectedByte,
    /// A backslash escape other than the nine JSON allows.
    InvalidEscape,
    /// A raw control character (below U+0020) inside a string.
    ControlCharacterInString,
    /// Something other than whitespace after the value.
    TrailingData,
    /// Arrays and objects nested deeper than [`MAX_DEPTH`].
    TooDeep,
}

/// A rejected JSON text. It names only a byte offset, never the input's
/// content, because the input may be a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonError {
    offset: usize,
    kind: JsonErrorKind,
}

impl JsonError {
    /// Byte offset into the input where decoding stopped.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// What went wrong.
    pub fn kind(&self) -> JsonErrorKind {
        self.kind
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            JsonErrorKind::UnexpectedEnd => "unexpected end of input",
            JsonErrorKind::UnexpectedByte => "unexpected character",
            JsonErrorKind::InvalidEscape => "invalid escape in string",
            JsonErrorKind::ControlCharacterInString => "control character in string",
            JsonErrorKind::TrailingData => "data after the top-level value",
            JsonErrorKind::TooDeep => "nesting exceeds the maximum depth",
        };
        write!(f, "invalid JSON at byte {}: {what}", self.offset)
    }
}

impl std::error::Error for JsonError {}

/// Decodes one JSON text (RFC 8259) into a [`Value`]; numbers keep their
/// literal text, a repeated object key keeps its last value, and a
/// malformed `\u` surrogate becomes U+FFFD, all as Go does.
pub fn decode_json(text: &str) -> Result<Value, JsonError> {
    decode_json_bytes(text.as_bytes())
}

/// Like [`decode_json`] for raw bytes: each byte of invalid UTF-8 inside a
/// string becomes U+FFFD, as Go's decoder does.
pub fn decode_json_bytes(bytes: &[u8]) -> Result<Value, JsonError> {
    Parser { bytes, pos: 0 }.document()
}

/// Whether `text` is a JSON number literal (Go's `isValidNumber`).
pub fn is_valid_number(text: &str) -> bool {
    scan_number(text.as_bytes(), 0) == Ok(text.len())
}

/// Returns the end of the number literal starting at `start`, or the
/// offset of the byte where a required digit is missing.
fn scan_number(bytes: &[u8], start: usize) -> Result<usize, usize> {
    let digits_from = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let required_digits_from = |i: usize| match digits_from(i) {
        end if end == i => Err(i),
        end => Ok(end),
    };
    let mut i = start;
    if bytes.get(i) == Some(&b'-') {
        i += 1;
    }
    match bytes.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits_from(i + 1),
        _ => return Err(i),
    }
    if bytes.get(i) == Some(&b'.') {
        i = required_digits_from(i + 1)?;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        i = required_digits_from(i)?;
    }
    Ok(i)
}

/// An array or object still being filled; objects carry the pending key.
enum Frame {
    List(Vec<Value>),
    Map(BTreeMap<String, Value>, String),
}

/// What the opening of a value produced.
enum Start {
    /// A complete value (scalar or empty container).
    Done(Value),
    /// A non-empty container was opened; its first member comes next.
    Opened(Frame),
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn document(mut self) -> Result<Value, JsonError> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            let mut value = match self.start_value(stack.len())? {
                Start::Opened(frame) => {
                    stack.push(frame);
                    continue;
                }
                Start::Done(value) => value,
            };
            // Hand the finished value to its container, closing every
            // container that ends right after it.
            loop {
                let Some(frame) = stack.pop() else {
                    return self.finish(value);
                };
                match self.add_member(frame, value)? {
                    Start::Opened(frame) => {
                        stack.push(frame);
                        break;
                    }
                    Start::Done(closed) => value = closed,
                }
            }
        }
    }

    /// Reads a scalar or the opening of a container at nesting `depth`.
    fn start_value(&mut self, depth: usize) -> Result<Start, JsonError> {
        self.skip_whitespace();
        let value = match self.peek() {
            None => return Err(self.error(JsonErrorKind::UnexpectedEnd)),
            Some(b'{' | b'[') if depth >= MAX_DEPTH => {
                return Err(self.error(JsonErrorKind::TooDeep));
            }
            Some(b'{') => return self.open_object(),
            Some(b'[') => return self.open_array(),
            Some(b'"') => Value::String(self.string()?),
            Some(b't') => self.literal("true", Value::Bool(true))?,
            Some(b'f') => self.literal("false", Value::Bool(false))?,
            Some(b'n') => self.literal("null", Value::Nil)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(_) => return Err(self.error(JsonErrorKind::UnexpectedByte)),
        };
        Ok(Start::Done(value))
    }

    fn open_object(&mut self) -> Result<Start, JsonError> {
        self.pos += 1;
        self.skip_whitespace();
        if self.eat(b'}') {
            return Ok(Start::Done(Value::Map(BTreeMap::new())));
        }
        let key = self.key()?;
        Ok(Start::Opened(Frame::Map(BTreeMap::new(), key)))
    }

    fn open_array(&mut self) -> Result<Start, JsonError> {
        self.pos += 1;
        self.skip_whitespace();
        if self.eat(b']') {
            return Ok(Start::Done(Value::List(Vec::new())));
        }
        Ok(Start::Opened(Frame::List(Vec::new())))
    }

    /// Stores `value` in `frame`, then reads `,` (frame stays open) or the
    /// closing bracket (frame becomes a finished value).
    fn add_member(&mut self, frame: Frame, value: Value) -> Result<Start, JsonError> {
        self.skip_whitespace();
        let next = self.next_byte()?;
        match frame {
            Frame::List(mut items) => {
                items.push(value);
                match next {
                    b',' => Ok(Start::Opened(Frame::List(items))),
                    b']' => Ok(Start::Done(Value::List(items))),
                    _ => Err(self.error_before(JsonErrorKind::UnexpectedByte)),
                }
            }
            Frame::Map(mut members, key) => {
                // Later duplicates replace earlier ones, as in Go.
                members.insert(key, value);
                match next {
                    b',' => {
                        self.skip_whitespace();
                        let key = self.key()?;
                        Ok(Start::Opened(Frame::Map(members, key)))
                    }
                    b'}' => Ok(Start::Done(Value::Map(members))),
                    _ => Err(self.error_before(JsonErrorKind::UnexpectedByte)),
                }
            }
        }
    }

    /// An object key and the colon after it.
    fn key(&mut self) -> Result<String, JsonError> {
        if self.peek() != Some(b'"') {
            return Err(self.error_or_end(JsonErrorKind::UnexpectedByte));
        }
        let key = self.string()?;
        self.skip_whitespace();
        if !self.eat(b':') {
            return Err(self.error_or_end(JsonErrorKind::UnexpectedByte));
        }
        Ok(key)
    }

    fn finish(mut self, value: Value) -> Result<Value, JsonError> {
        self.skip_whitespace();
        if self.pos < self.bytes.len() {
            return Err(self.error(JsonErrorKind::TrailingData));
        }
        Ok(value)
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, JsonError> {
        for expected in word.bytes() {
            match self.peek() {
                Some(b) if b == expected => self.pos += 1,
                _ => return Err(self.error_or_end(JsonErrorKind::UnexpectedByte)),
            }
        }
        Ok(value)
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        match scan_number(self.bytes, start) {
            Ok(end) => {
                self.pos = end;
                let text = self.bytes[start..end]
                    .iter()
                    .map(|&b| char::from(b))
                    .collect();
                Ok(Value::Number(text))
            }
            Err(failed_at) => {
                self.pos = failed_at;
                Err(self.error_or_end(JsonErrorKind::UnexpectedByte))
            }
        }
    }

    /// A string starting at the opening quote.
    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let run_start = self.pos;
            while self
                .peek()
                .is_some_and(|b| b != b'"' && b != b'\\' && b >= 0x20)
            {
                self.pos += 1;
            }
            push_utf8_lossy(&mut out, &self.bytes[run_start..self.pos]);
            match self.peek() {
                None => return Err(self.error(JsonErrorKind::UnexpectedEnd)),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => self.escape(&mut out)?,
                Some(_) => return Err(self.error(JsonErrorKind::ControlCharacterInString)),
            }
        }
    }

    /// One backslash escape, the backslash being at the current position.
    fn escape(&mut self, out: &mut String) -> Result<(), JsonError> {
        self.pos += 1;
        let replacement = match self.peek() {
            None => return Err(self.error(JsonErrorKind::UnexpectedEnd)),
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                let unit = self.hex4()?;
                out.push(self.code_point(unit)?);
                return Ok(());
            }
            Some(_) => return Err(self.error(JsonErrorKind::InvalidEscape)),
        };
        self.pos += 1;
        out.push(replacement);
        Ok(())
    }

    /// Resolves a `\u` unit; a high surrogate pairs with an immediately
    /// following `\u` low surrogate, anything else unpaired is U+FFFD and
    /// the following escape is read on its own (Go's rule).
    fn code_point(&mut self, unit: u16) -> Result<char, JsonError> {
        if (0xD800..0xDC00).contains(&unit) && self.rest().starts_with(b"\\u") {
            let saved = self.pos;
            self.pos += 2;
            let low = self.hex4()?;
            if (0xDC00..0xE000).contains(&low) {
                let combined =
                    0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                return Ok(char::from_u32(combined).unwrap_or('\u{FFFD}'));
            }
            self.pos = saved;
        }
        Ok(char::from_u32(u32::from(unit)).unwrap_or('\u{FFFD}'))
    }

    fn hex4(&mut self) -> Result<u16, JsonError> {
        let mut unit: u16 = 0;
        for _ in 0..4 {
            let digit = match self.peek() {
                None => return Err(self.error(JsonErrorKind::UnexpectedEnd)),
                Some(b) => char::from(b).to_digit(16),
            };
            let Some(digit) = digit else {
                return Err(self.error(JsonErrorKind::InvalidEscape));
            };
            // Four hex digits always fit in 16 bits.
            unit = (unit << 4) | digit as u16;
            self.pos += 1;
        }
        Ok(unit)
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn rest(&self) -> &[u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let hit = self.peek() == Some(byte);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn next_byte(&mut self) -> Result<u8, JsonError> {
        let byte = self
            .peek()
            .ok_or_else(|| self.error(JsonErrorKind::UnexpectedEnd))?;
        self.pos += 1;
        Ok(byte)
    }

    fn error(&self, kind: JsonErrorKind) -> JsonError {
        JsonError {
            offset: self.pos,
            kind,
        }
    }

    /// An error about the byte just consumed by [`Self::next_byte`].
    fn error_before(&self, kind: JsonErrorKind) -> JsonError {
        JsonError {
            offset: self.pos.saturating_sub(1),
            kind,
        }
    }

    /// `kind` at the current byte, or an unexpected end past the input.
    fn error_or_end(&self, kind: JsonErrorKind) -> JsonError {
        if self.pos >= self.bytes.len() {
            self.error(JsonErrorKind::UnexpectedEnd)
        } else {
            self.error(kind)
        }
    }
}

/// Appends `bytes`, turning each byte that is not part of valid UTF-8 into
/// U+FFFD (one per byte, as Go's decoder does).
fn push_utf8_lossy(out: &mut String, mut bytes: &[u8]) {
    loop {
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                out.push_str(text);
                return;
            }
            Err(err) => {
                let valid = err.valid_up_to();
                if let Ok(text) = std::str::from_utf8(&bytes[..valid]) {
                    out.push_str(text);
                }
                out.push('\u{FFFD}');
                bytes = &bytes[valid + 1..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(text: &str) -> String {
        match decode_json(text) {
            Ok(Value::String(s)) => s,
            other => panic!("expected a string, got {other:?}"),
        }
    }

    fn kind(text: &str) -> JsonErrorKind {
        decode_json(text).expect_err("should be rejected").kind()
    }

    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    /// A small deterministic generator, enough for fuzz-style inputs.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn numbers_keep_their_literal_text() {
        for literal in ["1.50", "1E5", "1.5e-7", "-0", "12345678901234567890", "0"] {
            assert_eq!(decode_json(literal), Ok(Value::Number(literal.into())));
        }
    }

    #[test]
    fn object_members_are_collected_in_a_map() {
        let value = decode_json(r#" {"b": [1, "x", null, true, false], "a": {}} "#).unwrap();
        let mut members = BTreeMap::new();
        members.insert("a".to_string(), Value::Map(BTreeMap::new()));
        members.insert(
            "b".to_string(),
            Value::List(vec![
                Value::Number("1".into()),
                Value::String("x".into()),
                Value::Nil,
                Value::Bool(true),
                Value::Bool(false),
            ]),
        );
        assert_eq!(value, Value::Map(members));
    }

    #[test]
    fn duplicate_key_keeps_the_last_value() {
        let value = decode_json(r#"{"k": 1, "k": 2}"#).unwrap();
        let Value::Map(members) = value else {
            panic!("not a map")
        };
        assert_eq!(members.get("k"), Some(&Value::Number("2".into())));
        assert_eq!(members.len(), 1);
    }

    #[test]
    fn simple_escapes_decode() {
        assert_eq!(string(r#""\"\\\/\b\f\n\r\t""#), "\"\\/\u{8}\u{c}\n\r\t");
    }

    #[test]
    fn unicode_escape_decodes_either_case() {
        assert_eq!(string(r#""\u00e9\u00E9\u2028""#), "éé\u{2028}");
    }

    #[test]
    fn surrogate_pair_decodes_to_one_character() {
        assert_eq!(string(r#""\ud83d\ude00""#), "😀");
    }

    #[test]
    fn unpaired_surrogates_become_replacement_characters() {
        // OpenBao stored this input as "\u{FFFD}x\u{FFFD}y\u{FFFD}z".
        assert_eq!(
            string(r#""\ud800x\udc00y\ud83dz""#),
            "\u{FFFD}x\u{FFFD}y\u{FFFD}z"
        );
    }

    #[test]
    fn high_surrogate_before_other_escape_keeps_that_escape() {
        assert_eq!(string(r#""\ud800\u0041""#), "\u{FFFD}A");
        assert_eq!(string(r#""\ud800\ud83d\ude00""#), "\u{FFFD}😀");
    }

    #[test]
    fn invalid_utf8_byte_becomes_one_replacement_each() {
        let value = decode_json_bytes(b"\"a\xe2\x82b\xff\"").unwrap();
        assert_eq!(value, Value::String("a\u{FFFD}\u{FFFD}b\u{FFFD}".into()));
    }

    #[test]
    fn raw_non_ascii_text_is_kept() {
        assert_eq!(string("\"héllo ✓ 😀\""), "héllo ✓ 😀");
    }

    #[test]
    fn top_level_scalars_decode() {
        assert_eq!(decode_json("null"), Ok(Value::Nil));
        assert_eq!(decode_json(" true\n"), Ok(Value::Bool(true)));
        assert_eq!(decode_json("\"\""), Ok(Value::String(String::new())));
    }

    #[test]
    fn trailing_data_is_rejected_at_its_offset() {
        let err = decode_json("{} x").unwrap_err();
        assert_eq!((err.kind(), err.offset()), (JsonErrorKind::TrailingData, 3));
        assert_eq!(kind("1 2"), JsonErrorKind::TrailingData);
    }

    #[test]
    fn leading_zero_is_rejected() {
        assert_eq!(kind("01"), JsonErrorKind::TrailingData);
        assert_eq!(kind("[01]"), JsonErrorKind::UnexpectedByte);
    }

    #[test]
    fn malformed_numbers_are_rejected() {
        for text in ["-", "1.", ".5", "1e", "1e+", "+1", "-a", "1.e5", "[1.]"] {
            assert!(decode_json(text).is_err(), "{text} accepted");
        }
    }

    #[test]
    fn empty_input_is_an_unexpected_end() {
        assert_eq!(kind(""), JsonErrorKind::UnexpectedEnd);
        assert_eq!(kind(" \n\t"), JsonErrorKind::UnexpectedEnd);
    }

    #[test]
    fn only_json_whitespace_is_skipped() {
        assert_eq!(kind("\u{c}1"), JsonErrorKind::UnexpectedByte);
        assert_eq!(kind("\u{a0}1"), JsonErrorKind::UnexpectedByte);
    }

    #[test]
    fn raw_control_character_in_string_is_rejected() {
        assert_eq!(kind("\"a\nb\""), JsonErrorKind::ControlCharacterInString);
    }

    #[test]
    fn unknown_escape_is_rejected() {
        assert_eq!(kind(r#""\x""#), JsonErrorKind::InvalidEscape);
        assert_eq!(kind(r#""\u12G4""#), JsonErrorKind::InvalidEscape);
    }

    #[test]
    fn misspelled_literals_are_rejected() {
        assert_eq!(kind("tru"), JsonErrorKind::UnexpectedEnd);
        assert_eq!(kind("trux"), JsonErrorKind::UnexpectedByte);
        assert_eq!(kind("nul"), JsonErrorKind::UnexpectedEnd);
        assert_eq!(kind("True"), JsonErrorKind::UnexpectedByte);
    }

    #[test]
    fn object_syntax_errors_are_rejected() {
        for text in [
            r#"{"a"}"#,
            r#"{"a":1,}"#,
            "{a:1}",
            r#"{"a":1 "b":2}"#,
            "[1,]",
            "[1 2]",
            "{,}",
        ] {
            assert!(decode_json(text).is_err(), "{text} accepted");
        }
    }

    #[test]
    fn nesting_up_to_the_limit_is_accepted() {
        assert!(decode_json(&nested(MAX_DEPTH)).is_ok());
    }

    #[test]
    fn nesting_beyond_the_limit_is_rejected() {
        assert_eq!(kind(&nested(MAX_DEPTH + 1)), JsonErrorKind::TooDeep);
        assert_eq!(kind(&"[".repeat(1_000_000)), JsonErrorKind::TooDeep);
    }

    #[test]
    fn error_message_names_no_input_content() {
        let err = decode_json(r#"{"password": "hunter2"#).unwrap_err();
        let message = err.to_string();
        assert!(!message.contains("hunter2"), "{message}");
        assert_eq!(message, "invalid JSON at byte 21: unexpected end of input");
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let text =
            r#"{"a": [1, -2.5e+3, "x\u00e9\ud83d\ude00\n", {"b": null}], "c": true, "d": false}"#;
        assert!(decode_json(text).is_ok());
        for end in 0..text.len() {
            assert!(
                decode_json_bytes(&text.as_bytes()[..end]).is_err(),
                "prefix {end} accepted"
            );
        }
    }

    #[test]
    fn random_inputs_never_panic() {
        const PIECES: &[&[u8]] = &[
            b"{", b"}", b"[", b"]", b":", b",", b"\"", b"\\", b"u", b"d8", b"dc", b"0", b"1", b"-",
            b".", b"e", b"+", b" ", b"\n", b"true", b"null", b"a", b"\xe2", b"\xff", b"\x01",
        ];
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let mut input = Vec::new();
            for _ in 0..rng.below(24) {
                input.extend_from_slice(PIECES[rng.below(PIECES.len())]);
            }
            let _ = decode_json_bytes(&input);
        }
    }

    #[test]
    fn number_validity_follows_json_grammar() {
        assert!(is_valid_number("-12.5E+3"));
        assert!(!is_valid_number("1.5 "));
        assert!(!is_valid_number(""));
        assert!(!is_valid_number("0x10"));
    }
}
