//! The template lexer: splits text into plain text and the tokens inside
//! action delimiters, applying the trim markers (`{{- ` and ` -}}`) and
//! dropping comments, with the positions and line numbers Go reports.

use super::quote;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemKind {
    /// A lexing error; the value is the message.
    Error,
    /// `true` or `false`.
    Bool,
    /// A printable ASCII character without a meaning of its own (`,`).
    Char,
    /// A character constant (`'a'`).
    CharConstant,
    /// A complex constant (`1+2i`).
    Complex,
    /// `=`.
    Assign,
    /// `:=`.
    Declare,
    /// End of input.
    Eof,
    /// `.Name`.
    Field,
    /// A name not starting with `.` or `$` (a function).
    Identifier,
    /// The left delimiter.
    LeftDelim,
    /// `(`.
    LeftParen,
    /// A number.
    Number,
    /// `|`.
    Pipe,
    /// A raw string with its backquotes.
    RawString,
    /// The right delimiter.
    RightDelim,
    /// `)`.
    RightParen,
    /// A run of spaces inside an action.
    Space,
    /// A quoted string with its quotes.
    String,
    /// Plain text outside actions.
    Text,
    /// `$` or `$name`.
    Variable,
    /// `block`.
    Block,
    /// `break`.
    Break,
    /// `continue`.
    Continue,
    /// `.` on its own.
    Dot,
    /// `define`.
    Define,
    /// `else`.
    Else,
    /// `end`.
    End,
    /// `if`.
    If,
    /// `nil`.
    Nil,
    /// `range`.
    Range,
    /// `template`.
    Template,
    /// `with`.
    With,
}

impl ItemKind {
    /// Keywords print as `<word>` in error messages.
    pub(crate) fn is_keyword(self) -> bool {
        matches!(
            self,
            ItemKind::Block
                | ItemKind::Break
                | ItemKind::Continue
                | ItemKind::Dot
                | ItemKind::Define
                | ItemKind::Else
                | ItemKind::End
                | ItemKind::If
                | ItemKind::Nil
                | ItemKind::Range
                | ItemKind::Template
                | ItemKind::With
        )
    }
}

/// A token: its kind, byte offset, text and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    /// What the token is.
    pub kind: ItemKind,
    /// Byte offset of its start in the template text.
    pub pos: usize,
    /// Its text (the message for [`ItemKind::Error`]).
    pub val: String,
    /// 1-based line of its start.
    pub line: usize,
}

impl std::fmt::Display for Item {
    /// How Go's parser names a token in messages: `EOF`, `<end>`, `"x"`,
    /// or the first ten characters of a long token quoted and `...`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            ItemKind::Eof => f.write_str("EOF"),
            ItemKind::Error => f.write_str(&self.val),
            k if k.is_keyword() => write!(f, "<{}>", self.val),
            _ if self.val.chars().count() > 10 => {
                let head: String = self.val.chars().take(10).collect();
                write!(f, "{}...", quote::quote(&head, false))
            }
            _ => f.write_str(&quote::quote(&self.val, false)),
        }
    }
}

/// The default delimiters.
pub(crate) const LEFT_DELIM: &str = "{{";
/// The default delimiters.
pub(crate) const RIGHT_DELIM: &str = "}}";
const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    LeftDelim,
    Comment,
    RightDelim,
    InsideAction,
    Space,
    Identifier,
    Field,
    Variable,
    Char,
    Number,
    Quote,
    RawQuote,
    Done,
}

/// A lexer over one template text; [`Lexer::next_item`] yields tokens on
/// demand, so an error stops the scan exactly where Go's does.
pub(crate) struct Lexer<'a> {
    input: &'a str,
    left: &'a str,
    right: &'a str,
    pos: usize,
    start: usize,
    at_eof: bool,
    paren_depth: usize,
    line: usize,
    start_line: usize,
    inside_action: bool,
    item: Option<Item>,
}

/// Go's space characters inside actions and for trimming.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Letters, digits and `_`, as Go's identifiers allow.
fn is_alphanumeric(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

fn has_left_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(char::from(b[1]))
}

fn has_right_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(char::from(b[0])) && b[1] == b'-'
}

/// Go's `%#U`: `U+0041 'A'`, or just `U+0001` when not printable.
pub(crate) fn describe_char(c: char) -> String {
    let u = u32::from(c);
    if quote::is_print(c) {
        format!("U+{u:04X} '{c}'")
    } else {
        format!("U+{u:04X}")
    }
}

impl<'a> Lexer<'a> {
    /// A lexer for `input`; empty delimiters mean `{{` and `}}`.
    pub(crate) fn new(input: &'a str, left: &'a str, right: &'a str) -> Lexer<'a> {
        Lexer {
            input,
            left: if left.is_empty() { LEFT_DELIM } else { left },
            right: if right.is_empty() { RIGHT_DELIM } else { right },
            pos: 0,
            start: 0,
            at_eof: false,
            paren_depth: 0,
            line: 1,
            start_line: 1,
            inside_action: false,
            item: None,
        }
    }

    /// The next token; after an error or EOF, EOF again.
    pub(crate) fn next_item(&mut self) -> Item {
        self.item = None;
        let mut state = if self.inside_action {
            State::InsideAction
        } else {
            State::Text
        };
        loop {
            state = self.step(state);
            if let Some(item) = self.item.take() {
                return item;
            }
            if state == State::Done {
                return Item {
                    kind: ItemKind::Eof,
                    pos: self.pos,
                    val: "EOF".into(),
                    line: self.start_line,
                };
            }
        }
    }

    fn step(&mut self, state: State) -> State {
        match state {
            State::Text => self.lex_text(),
            State::LeftDelim => self.lex_left_delim(),
            State::Comment => self.lex_comment(),
            State::RightDelim => self.lex_right_delim(),
            State::InsideAction => self.lex_inside_action(),
            State::Space => self.lex_space(),
            State::Identifier => self.lex_identifier(),
            State::Field => self.lex_field_or_variable(ItemKind::Field),
            State::Variable => self.lex_variable(),
            State::Char => self.lex_char(),
            State::Number => self.lex_number(),
            State::Quote => self.lex_quote(),
            State::RawQuote => self.lex_raw_quote(),
            State::Done => State::Done,
        }
    }

    // ---- scanning primitives -----------------------------------------

    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn next(&mut self) -> Option<char> {
        let Some(c) = self.rest().chars().next() else {
            self.at_eof = true;
            return None;
        };
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn peek(&mut self) -> Option<char> {
        let c = self.next();
        self.backup();
        c
    }

    fn backup(&mut self) {
        if !self.at_eof
            && self.pos > 0
            && let Some(c) = self.input[..self.pos].chars().next_back()
        {
            self.pos -= c.len_utf8();
            if c == '\n' {
                self.line -= 1;
            }
        }
    }

    fn this_item(&mut self, kind: ItemKind) -> Item {
        let item = Item {
            kind,
            pos: self.start,
            val: self.input[self.start..self.pos].to_string(),
            line: self.start_line,
        };
        self.start = self.pos;
        self.start_line = self.line;
        item
    }

    fn emit(&mut self, kind: ItemKind) -> State {
        let item = self.this_item(kind);
        self.emit_item(item)
    }

    fn emit_item(&mut self, item: Item) -> State {
        self.item = Some(item);
        State::Done
    }

    fn ignore(&mut self) {
        self.line += count_newlines(&self.input[self.start..self.pos]);
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.next() {
            Some(c) if valid.contains(c) => true,
            _ => {
                self.backup();
                false
            }
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while let Some(c) = self.next() {
            if !valid.contains(c) {
                break;
            }
        }
        self.backup();
    }

    fn errorf(&mut self, message: String) -> State {
        self.item = Some(Item {
            kind: ItemKind::Error,
            pos: self.start,
            val: message,
            line: self.start_line,
        });
        // Go empties the input so that every later call yields EOF.
        self.input = &self.input[..0];
        self.start = 0;
        self.pos = 0;
        State::Done
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        if has_right_trim_marker(rest) && rest[2..].starts_with(self.right) {
            return (true, true);
        }
        if rest.starts_with(self.right) {
            return (true, false);
        }
        (false, false)
    }

    fn at_terminator(&mut self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if is_space(c) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            _ => self.rest().starts_with(self.right),
        }
    }

    // ---- states --------------------------------------------------------

    fn lex_text(&mut self) -> State {
        if let Some(x) = self.rest().find(self.left) {
            if x > 0 {
                self.pos += x;
                let delim_end = self.pos + self.left.len();
                let trim = if has_left_trim_marker(&self.input[delim_end..]) {
                    right_trim_length(&self.input[self.start..self.pos])
                } else {
                    0
                };
                self.pos -= trim;
                self.line += count_newlines(&self.input[self.start..self.pos]);
                let item = self.this_item(ItemKind::Text);
                self.pos += trim;
                self.ignore();
                if !item.val.is_empty() {
                    self.item = Some(item);
                    // The delimiter is lexed on the next call.
                    return State::Done;
                }
            }
            return State::LeftDelim;
        }
        self.pos = self.input.len();
        if self.pos > self.start {
            self.line += count_newlines(&self.input[self.start..self.pos]);
            return self.emit(ItemKind::Text);
        }
        self.emit(ItemKind::Eof)
    }

    fn lex_left_delim(&mut self) -> State {
        self.pos += self.left.len();
        let trim = has_left_trim_marker(self.rest());
        let after_marker = if trim { 2 } else { 0 };
        if self.input[self.pos + after_marker..].starts_with(LEFT_COMMENT) {
            self.pos += after_marker;
            self.ignore();
            return State::Comment;
        }
        let item = self.this_item(ItemKind::LeftDelim);
        self.inside_action = true;
        self.pos += after_marker;
        self.ignore();
        self.paren_depth = 0;
        self.emit_item(item)
    }

    fn lex_comment(&mut self) -> State {
        self.pos += LEFT_COMMENT.len();
        let Some(x) = self.rest().find(RIGHT_COMMENT) else {
            return self.errorf("unclosed comment".into());
        };
        self.pos += x + RIGHT_COMMENT.len();
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.errorf("comment ends before closing delimiter".into());
        }
        self.line += count_newlines(&self.input[self.start..self.pos]);
        self.start = self.pos;
        self.start_line = self.line;
        if trim {
            self.pos += 2;
        }
        self.pos += self.right.len();
        if trim {
            self.pos += left_trim_length(self.rest());
        }
        self.ignore();
        State::Text
    }

    fn lex_right_delim(&mut self) -> State {
        let (_, trim) = self.at_right_delim();
        if trim {
            self.pos += 2;
            self.ignore();
        }
        self.pos += self.right.len();
        let item = self.this_item(ItemKind::RightDelim);
        if trim {
            self.pos += left_trim_length(self.rest());
            self.ignore();
        }
        self.inside_action = false;
        self.emit_item(item)
    }

    fn lex_inside_action(&mut self) -> State {
        let (delim, _) = self.at_right_delim();
        if delim {
            if self.paren_depth == 0 {
                return State::RightDelim;
            }
            return self.errorf("unclosed left paren".into());
        }
        let Some(c) = self.next() else {
            return self.errorf("unclosed action".into());
        };
        match c {
            c if is_space(c) => {
                self.backup();
                State::Space
            }
            '=' => self.emit(ItemKind::Assign),
            ':' => {
                if self.next() != Some('=') {
                    return self.errorf("expected :=".into());
                }
                self.emit(ItemKind::Declare)
            }
            '|' => self.emit(ItemKind::Pipe),
            '"' => State::Quote,
            '`' => State::RawQuote,
            '$' => State::Variable,
            '\'' => State::Char,
            '.' => {
                // ".5" is a number, ".x" a field.
                match self.input.as_bytes().get(self.pos) {
                    Some(b) if b.is_ascii_digit() => {
                        self.backup();
                        State::Number
                    }
                    Some(_) => State::Field,
                    None => {
                        self.backup();
                        State::Number
                    }
                }
            }
            '+' | '-' | '0'..='9' => {
                self.backup();
                State::Number
            }
            c if is_alphanumeric(c) => {
                self.backup();
                State::Identifier
            }
            '(' => {
                self.paren_depth += 1;
                self.emit(ItemKind::LeftParen)
            }
            ')' => {
                if self.paren_depth == 0 {
                    return self.errorf("unexpected right paren".into());
                }
                self.paren_depth -= 1;
                self.emit(ItemKind::RightParen)
            }
            c if c.is_ascii() && quote::is_print(c) => self.emit(ItemKind::Char),
            c => self.errorf(format!(
                "unrecognized character in action: {}",
                describe_char(c)
            )),
        }
    }

    fn lex_space(&mut self) -> State {
        let mut spaces = 0;
        while let Some(c) = self.peek() {
            if !is_space(c) {
                break;
            }
            self.next();
            spaces += 1;
        }
        // A space may begin " -}}"; leave it for the delimiter.
        let before = self.pos - 1;
        if has_right_trim_marker(&self.input[before..])
            && self.input[before + 2..].starts_with(self.right)
        {
            self.backup();
            if spaces == 1 {
                return State::RightDelim;
            }
        }
        self.emit(ItemKind::Space)
    }

    fn lex_identifier(&mut self) -> State {
        loop {
            let c = self.next();
            if c.is_some_and(is_alphanumeric) {
                continue;
            }
            self.backup();
            let word = &self.input[self.start..self.pos];
            if !self.at_terminator() {
                return self.bad_character(c);
            }
            let kind = match word {
                "block" => ItemKind::Block,
                "break" => ItemKind::Break,
                "continue" => ItemKind::Continue,
                "define" => ItemKind::Define,
                "else" => ItemKind::Else,
                "end" => ItemKind::End,
                "if" => ItemKind::If,
                "range" => ItemKind::Range,
                "nil" => ItemKind::Nil,
                "template" => ItemKind::Template,
                "with" => ItemKind::With,
                "true" | "false" => ItemKind::Bool,
                _ => ItemKind::Identifier,
            };
            return self.emit(kind);
        }
    }

    fn bad_character(&mut self, c: Option<char>) -> State {
        let what = c.map_or_else(|| "U+FFFFFFFFFFFFFFFF".to_string(), describe_char);
        self.errorf(format!("bad character {what}"))
    }

    fn lex_variable(&mut self) -> State {
        if self.at_terminator() {
            return self.emit(ItemKind::Variable);
        }
        self.lex_field_or_variable(ItemKind::Variable)
    }

    fn lex_field_or_variable(&mut self, kind: ItemKind) -> State {
        if self.at_terminator() {
            return self.emit(if kind == ItemKind::Variable {
                ItemKind::Variable
            } else {
                ItemKind::Dot
            });
        }
        let mut c;
        loop {
            c = self.next();
            if !c.is_some_and(is_alphanumeric) {
                self.backup();
                break;
            }
        }
        if !self.at_terminator() {
            return self.bad_character(c);
        }
        self.emit(kind)
    }

    fn lex_char(&mut self) -> State {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some(c) if c != '\n' => {}
                    _ => return self.errorf("unterminated character constant".into()),
                },
                None | Some('\n') => {
                    return self.errorf("unterminated character constant".into());
                }
                Some('\'') => break,
                Some(_) => {}
            }
        }
        self.emit(ItemKind::CharConstant)
    }

    fn lex_number(&mut self) -> State {
        if !self.scan_number() {
            let text = self.input[self.start..self.pos].to_string();
            return self.errorf(format!("bad number syntax: {}", quote::quote(&text, false)));
        }
        if matches!(self.peek(), Some('+' | '-')) {
            if !self.scan_number() || !self.input[..self.pos].ends_with('i') {
                let text = self.input[self.start..self.pos].to_string();
                return self.errorf(format!("bad number syntax: {}", quote::quote(&text, false)));
            }
            return self.emit(ItemKind::Complex);
        }
        self.emit(ItemKind::Number)
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek().is_some_and(is_alphanumeric) {
            self.next();
            return false;
        }
        true
    }

    fn lex_quote(&mut self) -> State {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some(c) if c != '\n' => {}
                    _ => return self.errorf("unterminated quoted string".into()),
                },
                None | Some('\n') => return self.errorf("unterminated quoted string".into()),
                Some('"') => break,
                Some(_) => {}
            }
        }
        self.emit(ItemKind::String)
    }

    fn lex_raw_quote(&mut self) -> State {
        loop {
            match self.next() {
                None => return self.errorf("unterminated raw quoted string".into()),
                Some('`') => break,
                Some(_) => {}
            }
        }
        self.emit(ItemKind::RawString)
    }
}

fn count_newlines(s: &str) -> usize {
    s.bytes().filter(|&b| b == b'\n').count()
}

fn right_trim_length(s: &str) -> usize {
    s.len() - s.trim_end_matches(is_space).len()
}

fn left_trim_length(s: &str) -> usize {
    s.len() - s.trim_start_matches(is_space).len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds_and_vals(input: &str) -> Vec<(ItemKind, String)> {
        let mut lexer = Lexer::new(input, "", "");
        let mut out = Vec::new();
        loop {
            let item = lexer.next_item();
            let done = matches!(item.kind, ItemKind::Eof | ItemKind::Error);
            out.push((item.kind, item.val));
            if done {
                return out;
            }
        }
    }

    fn vals(input: &str) -> Vec<String> {
        kinds_and_vals(input).into_iter().map(|(_, v)| v).collect()
    }

    #[test]
    fn text_and_action_tokens() {
        assert_eq!(
            vals("a{{ .X | f 1 }}b"),
            [
                "a", "{{", " ", ".X", " ", "|", " ", "f", " ", "1", " ", "}}", "b", ""
            ]
        );
    }

    #[test]
    fn left_trim_marker_trims_preceding_space() {
        assert_eq!(vals("a \n\t{{- 3}}"), ["a", "{{", "3", "}}", ""]);
    }

    #[test]
    fn right_trim_marker_trims_following_space() {
        assert_eq!(vals("{{3 -}} \n b"), ["{{", "3", "}}", "b", ""]);
    }

    #[test]
    fn trim_marker_needs_a_space() {
        assert_eq!(vals("{{-3}}"), ["{{", "-3", "}}", ""]);
    }

    #[test]
    fn trim_marker_accepts_newline_as_its_space() {
        assert_eq!(vals("x {{-\n3\n-}} y"), ["x", "{{", "3", "}}", "y", ""]);
    }

    #[test]
    fn comments_are_dropped_with_their_trim() {
        assert_eq!(vals("a {{- /* c */ -}} b"), ["a", "b", ""]);
        assert_eq!(vals("a{{/* c */}}b"), ["a", "b", ""]);
    }

    #[test]
    fn unclosed_comment_is_an_error() {
        assert_eq!(vals("{{/* x"), ["unclosed comment"]);
        assert_eq!(
            vals("{{/* x */ y}}"),
            ["comment ends before closing delimiter"]
        );
    }

    #[test]
    fn fields_chain_and_variables() {
        assert_eq!(
            kinds_and_vals("{{$x.a.b $ .}}")[1..7],
            [
                (ItemKind::Variable, "$x".into()),
                (ItemKind::Field, ".a".into()),
                (ItemKind::Field, ".b".into()),
                (ItemKind::Space, " ".into()),
                (ItemKind::Variable, "$".into()),
                (ItemKind::Space, " ".into()),
            ]
        );
    }

    #[test]
    fn dashed_field_is_a_bad_character() {
        assert_eq!(
            vals("{{ .api-key }}").last().unwrap(),
            "bad character U+002D '-'"
        );
    }

    #[test]
    fn numbers_in_go_syntax() {
        let items = kinds_and_vals("{{1 -2 0x1F 0o17 0b101 1_000 1.5e3 .5 'a' 1+2i}}");
        let numbers: Vec<_> = items
            .iter()
            .filter(|(k, _)| {
                matches!(
                    k,
                    ItemKind::Number | ItemKind::CharConstant | ItemKind::Complex
                )
            })
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(
            numbers,
            [
                "1", "-2", "0x1F", "0o17", "0b101", "1_000", "1.5e3", ".5", "'a'", "1+2i"
            ]
        );
    }

    #[test]
    fn bad_number_is_reported_quoted() {
        assert_eq!(vals("{{3x}}").last().unwrap(), "bad number syntax: \"3x\"");
    }

    #[test]
    fn keywords_and_booleans() {
        let kinds: Vec<_> = kinds_and_vals("{{if true}}{{else}}{{end}}")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            kinds,
            [
                ItemKind::LeftDelim,
                ItemKind::If,
                ItemKind::Space,
                ItemKind::Bool,
                ItemKind::RightDelim,
                ItemKind::LeftDelim,
                ItemKind::Else,
                ItemKind::RightDelim,
                ItemKind::LeftDelim,
                ItemKind::End,
                ItemKind::RightDelim,
                ItemKind::Eof
            ]
        );
    }

    #[test]
    fn unterminated_string_is_an_error() {
        assert_eq!(
            vals("{{\"abc}}").last().unwrap(),
            "unterminated quoted string"
        );
        assert_eq!(
            vals("{{`abc}}").last().unwrap(),
            "unterminated raw quoted string"
        );
    }

    #[test]
    fn newline_inside_action_is_space() {
        assert_eq!(vals("{{1\n2}}"), ["{{", "1", "\n", "2", "}}", ""]);
    }

    #[test]
    fn unclosed_action_at_end() {
        assert_eq!(vals("{{ 1").last().unwrap(), "unclosed action");
    }

    #[test]
    fn paren_errors() {
        assert_eq!(vals("{{ (1 }}").last().unwrap(), "unclosed left paren");
        assert_eq!(vals("{{ 1) }}").last().unwrap(), "unexpected right paren");
    }

    #[test]
    fn custom_delimiters() {
        let mut lexer = Lexer::new("a[[ .X ]]b{{c}}", "[[", "]]");
        let mut got = Vec::new();
        loop {
            let item = lexer.next_item();
            if item.kind == ItemKind::Eof {
                break;
            }
            got.push(item.val);
        }
        assert_eq!(got, ["a", "[[", " ", ".X", " ", "]]", "b{{c}}"]);
    }

    #[test]
    fn lines_are_counted_across_text_and_actions() {
        let mut lexer = Lexer::new("a\nb{{\n.X}}\n{{.Y}}", "", "");
        let mut lines = Vec::new();
        loop {
            let item = lexer.next_item();
            if item.kind == ItemKind::Eof {
                break;
            }
            lines.push((item.val, item.line));
        }
        let field_lines: Vec<_> = lines.iter().filter(|(v, _)| v.starts_with('.')).collect();
        assert_eq!(
            field_lines,
            [&(".X".to_string(), 3), &(".Y".to_string(), 4)]
        );
    }

    #[test]
    fn unrecognized_character_is_described() {
        assert_eq!(
            vals("{{ \u{1} }}").last().unwrap(),
            "unrecognized character in action: U+0001"
        );
        assert_eq!(vals("{{ é }}")[2], "é");
    }

    #[test]
    fn items_print_like_go() {
        let item = |kind, val: &str| Item {
            kind,
            pos: 0,
            val: val.into(),
            line: 1,
        };
        assert_eq!(item(ItemKind::End, "end").to_string(), "<end>");
        assert_eq!(item(ItemKind::Identifier, "abc").to_string(), "\"abc\"");
        assert_eq!(
            item(ItemKind::String, "\"0123456789abc\"").to_string(),
            "\"\\\"012345678\"..."
        );
        assert_eq!(item(ItemKind::Eof, "").to_string(), "EOF");
    }
}
