//! `parseYAML`: what `gopkg.in/yaml.v2`'s `Unmarshal` into `interface{}`
//! gives for the first document of a text: YAML 1.1 plain scalars (`yes`,
//! `0x1F`, `1_000`, `.inf`, ...), quoted scalars as strings, timestamps as
//! their text, block and flow collections, literal and folded block
//! scalars, anchors and aliases (with yaml.v2's guard against excessive
//! aliasing), tags and merge keys (`<<`).
//!
//! Mappings become `map[interface{}]interface{}` ([`Value::AnyMap`]) with
//! typed keys (`1`, `true`, `null` are not strings), as yaml.v2 builds them.
//! Syntax errors are reported as `yaml: line N: ...` like yaml.v2, though
//! not always with libyaml's exact wording.

use std::collections::BTreeMap;

use crate::encoding;
use crate::yaml::{Resolved, resolve_plain};
use gotemplate::decode::MAX_DEPTH;
use gotemplate::value::Value;

/// A node of the document; aliases point at earlier nodes by index.
#[derive(Debug)]
enum Node {
    Scalar {
        tag: String,
        value: String,
        plain: bool,
    },
    Seq(Vec<usize>),
    Map(Vec<usize>),
    Alias(usize),
}

/// Parses YAML text as `parseYAML` does (the caller handles the empty
/// string); a document without content gives nil.
pub(crate) fn parse_yaml(text: &str) -> Result<Value, String> {
    let mut parser = Parser::new(text);
    let Some(root) = parser.document()? else {
        return Ok(Value::Nil);
    };
    let mut decoder = Decoder {
        nodes: &parser.nodes,
        decode_count: 0,
        alias_count: 0,
        alias_depth: 0,
        active_aliases: Vec::new(),
    };
    decoder.decode(root, 0)
}

// ---- the parser --------------------------------------------------------

/// Node properties: `&anchor` and `!tag`.
#[derive(Debug, Default, Clone)]
struct Props {
    anchor: Option<String>,
    tag: Option<String>,
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    column: usize,
    nodes: Vec<Node>,
    anchors: BTreeMap<String, usize>,
    depth: usize,
}

/// Most nodes one text may hold.
const MAX_NODES: usize = 1_000_000;

impl Parser {
    fn new(text: &str) -> Parser {
        let mut chars: Vec<char> = text.chars().collect();
        // A byte order mark at the start is not content.
        if chars.first() == Some(&'\u{FEFF}') {
            chars.remove(0);
        }
        Parser {
            chars,
            pos: 0,
            line: 0,
            column: 0,
            nodes: Vec::new(),
            anchors: BTreeMap::new(),
            depth: 0,
        }
    }

    // ---- low level ----

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' || (c == '\r' && self.peek() != Some('\n')) {
            self.line += 1;
            self.column = 0;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn error<T>(&self, message: &str) -> Result<T, String> {
        if self.line == 0 {
            Err(format!("yaml: {message}"))
        } else {
            Err(format!("yaml: line {}: {message}", self.line + 1))
        }
    }

    fn at_break(&self) -> bool {
        matches!(self.peek(), None | Some('\n' | '\r'))
    }

    /// Whether the character at `offset` is blank, a break or the end.
    fn blank_or_end_at(&self, offset: usize) -> bool {
        matches!(self.peek_at(offset), None | Some(' ' | '\t' | '\n' | '\r'))
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.bump();
        }
    }

    /// Skips spaces, comments and line breaks; returns whether a line
    /// break was crossed.
    fn skip_to_token(&mut self) -> Result<bool, String> {
        let mut crossed = false;
        loop {
            match self.peek() {
                Some(' ') => {
                    self.bump();
                }
                Some('\t') => {
                    // Tabs may separate tokens but never indent.
                    if self.column == 0 || crossed && self.line_is_blank_so_far() {
                        let rest_blank = self.rest_of_line_blank();
                        if !rest_blank {
                            return self.error("found character that cannot start any token");
                        }
                    }
                    self.bump();
                }
                Some('#') => {
                    while !self.at_break() {
                        self.bump();
                    }
                }
                Some('\n' | '\r') => {
                    self.bump();
                    crossed = true;
                }
                _ => return Ok(crossed),
            }
        }
    }

    fn line_is_blank_so_far(&self) -> bool {
        let mut i = self.pos;
        while i > 0 {
            match self.chars[i - 1] {
                '\n' | '\r' => return true,
                ' ' | '\t' => i -= 1,
                _ => return false,
            }
        }
        true
    }

    fn rest_of_line_blank(&self) -> bool {
        let mut i = self.pos;
        while let Some(&c) = self.chars.get(i) {
            match c {
                ' ' | '\t' => i += 1,
                '\n' | '\r' | '#' => return true,
                _ => return false,
            }
        }
        true
    }

    /// A document marker (`---` or `...`) at the start of a line.
    fn at_document_marker(&self) -> bool {
        if self.column != 0 {
            return false;
        }
        let three: String = self.chars.iter().skip(self.pos).take(3).collect();
        (three == "---" || three == "...") && self.blank_or_end_at(3)
    }

    fn push(&mut self, node: Node, props: &Props) -> Result<usize, String> {
        if self.nodes.len() >= MAX_NODES {
            return self.error("document too large");
        }
        self.nodes.push(node);
        let index = self.nodes.len() - 1;
        if let Some(anchor) = &props.anchor {
            self.anchors.insert(anchor.clone(), index);
        }
        Ok(index)
    }

    fn scalar(&mut self, value: String, plain: bool, props: &Props) -> Result<usize, String> {
        let tag = props.tag.clone().unwrap_or_default();
        self.push(Node::Scalar { tag, value, plain }, props)
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.error(&format!("exceeded max depth of {MAX_DEPTH}"));
        }
        Ok(())
    }

    // ---- documents ----

    /// The first document's root node, or `None` when it has no content.
    fn document(&mut self) -> Result<Option<usize>, String> {
        self.skip_to_token()?;
        // Directives, then an optional `---`.
        while self.column == 0 && self.peek() == Some('%') {
            while !self.at_break() {
                self.bump();
            }
            self.skip_to_token()?;
        }
        let mut explicit = false;
        if self.at_document_marker() && self.peek() == Some('-') {
            for _ in 0..3 {
                self.bump();
            }
            explicit = true;
            self.skip_to_token()?;
        }
        if self.peek().is_none() || self.at_document_marker() {
            return Ok(None);
        }
        let _ = explicit;
        let root = self.block_node(-1, false)?;
        self.skip_to_token()?;
        if self.peek().is_some() && !self.at_document_marker() {
            return self.error("did not find expected <document start>");
        }
        Ok(Some(root))
    }

    // ---- block context ----

    /// A node in block context whose lines are indented more than
    /// `parent`; `in_mapping_value` allows an indentless sequence at the
    /// parent's indentation.
    fn block_node(&mut self, parent: i64, in_mapping_value: bool) -> Result<usize, String> {
        self.enter()?;
        let result = self.block_node_inner(parent, in_mapping_value);
        self.depth -= 1;
        result
    }

    fn block_node_inner(&mut self, parent: i64, in_mapping_value: bool) -> Result<usize, String> {
        let crossed = self.skip_to_token()?;
        let mut props = Props::default();
        let mut props_line_start = None;
        loop {
            if self.peek().is_none() || self.at_document_marker() {
                return self.scalar(String::new(), true, &props);
            }
            let col = self.column as i64;
            let indentless = in_mapping_value
                && col == parent
                && self.peek() == Some('-')
                && self.blank_or_end_at(1);
            if (crossed || props_line_start.is_some()) && col <= parent && !indentless {
                return self.scalar(String::new(), true, &props);
            }
            match self.peek() {
                Some('&') | Some('!') => {
                    if props_line_start.is_none() {
                        props_line_start = Some(col);
                    }
                    self.properties(&mut props)?;
                    self.skip_spaces();
                    if self.at_break() || self.peek() == Some('#') {
                        self.skip_to_token()?;
                        // The node follows on later lines.
                        if self.peek().is_none()
                            || self.at_document_marker()
                            || (self.column as i64) <= parent
                                && !(in_mapping_value
                                    && self.column as i64 == parent
                                    && self.peek() == Some('-')
                                    && self.blank_or_end_at(1))
                        {
                            return self.scalar(String::new(), true, &props);
                        }
                        props_line_start = None;
                    }
                    continue;
                }
                _ => {}
            }
            break;
        }
        let col = self.column as i64;
        // On the line of its key, a mapping value cannot open a block
        // collection of its own.
        let same_line_value = in_mapping_value && !crossed && props_line_start.is_none();
        if same_line_value && self.peek() == Some('-') && self.blank_or_end_at(1) {
            return self.error("block sequence entries are not allowed in this context");
        }
        match self.peek() {
            Some('*') => {
                let alias = self.alias()?;
                self.skip_spaces();
                if self.peek() == Some(':') && self.blank_or_end_at(1) {
                    return self.block_mapping(col, Some(KeyStart::Node(alias)), props);
                }
                Ok(alias)
            }
            Some('-') if self.blank_or_end_at(1) => self.block_sequence(col, props),
            Some('?') if self.blank_or_end_at(1) => self.block_mapping(col, None, props),
            Some('[' | '{') => {
                let node = self.flow_node()?;
                if let Some(anchor) = &props.anchor {
                    self.anchors.insert(anchor.clone(), node);
                }
                self.skip_spaces();
                if self.peek() == Some(':') && self.blank_or_end_at(1) {
                    return self.block_mapping(col, Some(KeyStart::Node(node)), props);
                }
                Ok(node)
            }
            Some('|' | '>') => {
                let text = self.block_scalar(parent)?;
                self.scalar(text, false, &props)
            }
            Some('"' | '\'') => {
                let text = self.quoted_scalar(parent)?;
                self.skip_spaces();
                if self.peek() == Some(':') && self.blank_or_end_at(1) {
                    if same_line_value {
                        return self.error("mapping values are not allowed in this context");
                    }
                    let key = self.scalar(text, false, &Props::default())?;
                    return self.block_mapping(col, Some(KeyStart::Node(key)), props);
                }
                self.scalar(text, false, &props)
            }
            Some(c) if is_indicator_start(c, self.blank_or_end_at(1)) => {
                self.error("found character that cannot start any token")
            }
            Some(_) => {
                let (text, is_key) = self.plain_scalar(parent, false)?;
                if is_key && same_line_value {
                    return self.error("mapping values are not allowed in this context");
                }
                if is_key {
                    let key = self.scalar(text, true, &Props::default())?;
                    return self.block_mapping(col, Some(KeyStart::Node(key)), props);
                }
                self.scalar(text, true, &props)
            }
            None => self.scalar(String::new(), true, &props),
        }
    }

    fn properties(&mut self, props: &mut Props) -> Result<(), String> {
        match self.peek() {
            Some('&') => {
                self.bump();
                let name = self.anchor_name();
                if name.is_empty() {
                    return self.error("did not find expected alphabetic or numeric character");
                }
                props.anchor = Some(name);
            }
            Some('!') => {
                props.tag = Some(self.tag()?);
            }
            _ => {}
        }
        Ok(())
    }

    fn anchor_name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                name.push(c);
                self.bump();
            } else {
                break;
            }
        }
        name
    }

    /// A tag, expanded as libyaml does (`!!x` is `tag:yaml.org,2002:x`).
    fn tag(&mut self) -> Result<String, String> {
        self.bump();
        let mut text = String::new();
        if self.peek() == Some('<') {
            self.bump();
            while let Some(c) = self.peek() {
                self.bump();
                if c == '>' {
                    return Ok(text);
                }
                text.push(c);
            }
            return self.error("did not find the expected '>'");
        }
        while let Some(c) = self.peek() {
            if matches!(c, ' ' | '\t' | '\n' | '\r' | ',' | '[' | ']' | '{' | '}') {
                break;
            }
            text.push(c);
            self.bump();
        }
        Ok(match text.strip_prefix('!') {
            Some(rest) => format!("tag:yaml.org,2002:{rest}"),
            None => format!("!{text}"),
        })
    }

    fn alias(&mut self) -> Result<usize, String> {
        self.bump();
        let name = self.anchor_name();
        if name.is_empty() {
            return self.error("did not find expected alphabetic or numeric character");
        }
        let Some(&target) = self.anchors.get(&name) else {
            return Err(format!("yaml: unknown anchor '{name}' referenced"));
        };
        self.push(Node::Alias(target), &Props::default())
    }

    fn block_sequence(&mut self, indent: i64, props: Props) -> Result<usize, String> {
        let mut items = Vec::new();
        loop {
            // At a `-` in column `indent`.
            self.bump();
            let item = self.block_node(indent, false)?;
            items.push(item);
            self.skip_to_token()?;
            if self.peek().is_none() || self.at_document_marker() {
                break;
            }
            let col = self.column as i64;
            if col < indent {
                break;
            }
            if col == indent && self.peek() == Some('-') && self.blank_or_end_at(1) {
                continue;
            }
            if col == indent {
                break;
            }
            return self.error("did not find expected '-' indicator");
        }
        self.push(Node::Seq(items), &props)
    }

    /// A block mapping at column `indent`; `first_key` is a key already
    /// read (its `:` not yet consumed).
    fn block_mapping(
        &mut self,
        indent: i64,
        first_key: Option<KeyStart>,
        props: Props,
    ) -> Result<usize, String> {
        self.enter()?;
        let mut children = Vec::new();
        let mut pending = first_key;
        loop {
            let key = match pending.take() {
                Some(KeyStart::Node(key)) => {
                    // At the `:`.
                    self.bump();
                    key
                }
                None => {
                    if self.peek() == Some('?') && self.blank_or_end_at(1) {
                        self.bump();
                        let key = self.block_node(indent, false)?;
                        self.skip_to_token()?;
                        if self.column as i64 == indent
                            && self.peek() == Some(':')
                            && self.blank_or_end_at(1)
                        {
                            self.bump();
                        } else {
                            let value = self.scalar(String::new(), true, &Props::default())?;
                            children.push(key);
                            children.push(value);
                            if !self.next_entry(indent)? {
                                break;
                            }
                            continue;
                        }
                        key
                    } else {
                        let key = self.block_key()?;
                        self.bump();
                        key
                    }
                }
            };
            let value = self.block_node(indent, true)?;
            children.push(key);
            children.push(value);
            if !self.next_entry(indent)? {
                break;
            }
        }
        self.depth -= 1;
        self.push(Node::Map(children), &props)
    }

    /// Moves to the next key of a mapping at `indent`; false at its end.
    fn next_entry(&mut self, indent: i64) -> Result<bool, String> {
        self.skip_to_token()?;
        if self.peek().is_none() || self.at_document_marker() {
            return Ok(false);
        }
        let col = self.column as i64;
        if col < indent {
            return Ok(false);
        }
        if col > indent {
            return self.error("mapping values are not allowed in this context");
        }
        Ok(true)
    }

    /// A simple key of a block mapping, up to its `:`.
    fn block_key(&mut self) -> Result<usize, String> {
        let mut props = Props::default();
        while matches!(self.peek(), Some('&' | '!')) {
            self.properties(&mut props)?;
            self.skip_spaces();
        }
        let key = match self.peek() {
            Some('*') => self.alias()?,
            Some('"' | '\'') => {
                let text = self.quoted_scalar(-1)?;
                self.scalar(text, false, &props)?
            }
            Some('[' | '{') => self.flow_node()?,
            Some('-') if self.blank_or_end_at(1) => {
                return self.error("block sequence entries are not allowed in this context");
            }
            Some(c) if is_indicator_start(c, self.blank_or_end_at(1)) => {
                return self.error("found character that cannot start any token");
            }
            _ => {
                let (text, is_key) = self.plain_scalar(i64::MAX, false)?;
                if !is_key {
                    return self.error("could not find expected ':'");
                }
                self.scalar(text, true, &props)?
            }
        };
        self.skip_spaces();
        if self.peek() == Some(':') && self.blank_or_end_at(1) {
            Ok(key)
        } else {
            self.error("could not find expected ':'")
        }
    }

    // ---- scalars ----

    /// A plain scalar; in block context it may continue on lines
    /// indented more than `parent`. Returns the text and whether a `:`
    /// making it a mapping key follows (on its first line).
    fn plain_scalar(&mut self, parent: i64, flow: bool) -> Result<(String, bool), String> {
        let mut text = String::new();
        let first_line = self.line;
        let mut pending_breaks = 0usize;
        loop {
            // One line's worth.
            let mut line_text = String::new();
            let mut spaces = String::new();
            while let Some(c) = self.peek() {
                if c == ':'
                    && (self.blank_or_end_at(1)
                        || flow && matches!(self.peek_at(1), Some(',' | '[' | ']' | '{' | '}')))
                {
                    if self.line == first_line && text.is_empty() {
                        return Ok((line_text, true));
                    }
                    if flow {
                        break;
                    }
                    return self.error("mapping values are not allowed in this context");
                }
                if flow && matches!(c, ',' | '[' | ']' | '{' | '}') {
                    break;
                }
                if c == '#' && !spaces.is_empty() {
                    break;
                }
                if matches!(c, '\n' | '\r') {
                    break;
                }
                if matches!(c, ' ' | '\t') {
                    spaces.push(c);
                    self.bump();
                    continue;
                }
                line_text.push_str(&spaces);
                spaces.clear();
                line_text.push(c);
                self.bump();
            }
            if !line_text.is_empty() {
                if !text.is_empty() || pending_breaks > 0 {
                    if pending_breaks == 1 {
                        text.push(' ');
                    } else {
                        for _ in 1..pending_breaks {
                            text.push('\n');
                        }
                    }
                }
                text.push_str(&line_text);
            }
            // Continue on the next line?
            if !self.at_break() {
                break;
            }
            let save = (self.pos, self.line, self.column);
            let mut breaks = 0;
            while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
                if matches!(self.peek(), Some('\n' | '\r')) {
                    breaks += 1;
                }
                self.bump();
            }
            let continues = match self.peek() {
                None => false,
                Some('#') => false,
                Some(_) if self.at_document_marker() => false,
                // In block context a continuation line is indented more
                // than the enclosing collection (even one starting `- `).
                Some(c) => {
                    if flow {
                        !matches!(c, ',' | ']' | '}')
                    } else {
                        (self.column as i64) > parent
                    }
                }
            };
            if !continues {
                self.pos = save.0;
                self.line = save.1;
                self.column = save.2;
                break;
            }
            pending_breaks = breaks;
        }
        Ok((text, false))
    }

    fn quoted_scalar(&mut self, parent: i64) -> Result<String, String> {
        let _ = parent;
        let quote = self.bump().unwrap_or('"');
        let mut text = String::new();
        loop {
            let Some(c) = self.peek() else {
                return self.error("found unexpected end of stream");
            };
            if self.column == 0 && self.at_document_marker() {
                return self.error("found unexpected document indicator");
            }
            match c {
                '\'' if quote == '\'' => {
                    self.bump();
                    if self.peek() == Some('\'') {
                        self.bump();
                        text.push('\'');
                    } else {
                        return Ok(text);
                    }
                }
                '"' if quote == '"' => {
                    self.bump();
                    return Ok(text);
                }
                '\\' if quote == '"' => {
                    self.bump();
                    if self.at_break() {
                        // An escaped line break joins the lines.
                        self.bump();
                        while matches!(self.peek(), Some(' ' | '\t')) {
                            self.bump();
                        }
                        continue;
                    }
                    let e = self.bump().unwrap_or(' ');
                    match e {
                        '0' => text.push('\0'),
                        'a' => text.push('\u{7}'),
                        'b' => text.push('\u{8}'),
                        't' | '\t' => text.push('\t'),
                        'n' => text.push('\n'),
                        'v' => text.push('\u{b}'),
                        'f' => text.push('\u{c}'),
                        'r' => text.push('\r'),
                        'e' => text.push('\u{1b}'),
                        ' ' => text.push(' '),
                        '"' => text.push('"'),
                        '/' => text.push('/'),
                        '\'' => text.push('\''),
                        '\\' => text.push('\\'),
                        'N' => text.push('\u{85}'),
                        '_' => text.push('\u{a0}'),
                        'L' => text.push('\u{2028}'),
                        'P' => text.push('\u{2029}'),
                        'x' | 'u' | 'U' => {
                            let len = match e {
                                'x' => 2,
                                'u' => 4,
                                _ => 8,
                            };
                            let mut code = 0u32;
                            for _ in 0..len {
                                let Some(d) = self.peek().and_then(|c| c.to_digit(16)) else {
                                    return self.error("did not find expected hexdecimal number");
                                };
                                code = code * 16 + d;
                                self.bump();
                            }
                            match char::from_u32(code) {
                                Some(ch) => text.push(ch),
                                None => {
                                    return self
                                        .error("found invalid Unicode character escape code");
                                }
                            }
                        }
                        _ => return self.error("found unknown escape character"),
                    }
                }
                ' ' | '\t' | '\n' | '\r' => {
                    // Folding: trailing blanks dropped, one break is a
                    // space, more breaks are newlines.
                    let mut blanks = String::new();
                    while matches!(self.peek(), Some(' ' | '\t')) {
                        blanks.push(self.bump().unwrap_or(' '));
                    }
                    if !self.at_break() {
                        text.push_str(&blanks);
                        continue;
                    }
                    let mut breaks = 0;
                    while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
                        if matches!(self.peek(), Some('\n' | '\r')) {
                            breaks += 1;
                        }
                        self.bump();
                    }
                    if breaks == 1 {
                        text.push(' ');
                    } else {
                        for _ in 1..breaks {
                            text.push('\n');
                        }
                    }
                }
                _ => {
                    text.push(c);
                    self.bump();
                }
            }
        }
    }

    /// A literal (`|`) or folded (`>`) block scalar.
    fn block_scalar(&mut self, parent: i64) -> Result<String, String> {
        let literal = self.bump() == Some('|');
        let mut chomp = 0i8; // -1 strip, 0 clip, 1 keep
        let mut explicit: Option<usize> = None;
        for _ in 0..2 {
            match self.peek() {
                Some('+') if chomp == 0 => {
                    chomp = 1;
                    self.bump();
                }
                Some('-') if chomp == 0 => {
                    chomp = -1;
                    self.bump();
                }
                Some(d @ '1'..='9') if explicit.is_none() => {
                    explicit = d.to_digit(10).map(|d| d as usize);
                    self.bump();
                }
                Some('0') => return self.error("found an indentation indicator equal to 0"),
                _ => {}
            }
        }
        self.skip_spaces();
        if self.peek() == Some('#') {
            while !self.at_break() {
                self.bump();
            }
        }
        if !self.at_break() {
            return self.error("did not find expected comment or line break");
        }
        self.bump();
        let base = parent.max(-1) + 1;
        let mut indent = explicit.map(|d| base as usize + d - 1 + usize::from(parent < 0));
        // Lines: (indentation, text) until a less indented non-empty line.
        let mut lines: Vec<(usize, String)> = Vec::new();
        loop {
            let save = (self.pos, self.line, self.column);
            let mut spaces = 0;
            while self.peek() == Some(' ') {
                self.bump();
                spaces += 1;
            }
            if self.peek().is_none() {
                break;
            }
            if self.at_break() {
                lines.push((spaces, String::new()));
                self.bump();
                continue;
            }
            if spaces == 0 && self.at_document_marker() {
                self.pos = save.0;
                self.line = save.1;
                self.column = save.2;
                break;
            }
            let needed = *indent.get_or_insert(spaces.max(base.max(0) as usize));
            if spaces < needed || (spaces as i64) <= parent {
                self.pos = save.0;
                self.line = save.1;
                self.column = save.2;
                break;
            }
            let mut line = " ".repeat(spaces - needed);
            while !self.at_break() {
                line.push(self.bump().unwrap_or(' '));
            }
            lines.push((spaces, line));
            if self.peek().is_some() {
                self.bump();
            } else {
                // The last line had no break.
                lines.push((usize::MAX, String::new()));
                break;
            }
        }
        let ended_without_break = matches!(lines.last(), Some((usize::MAX, _)));
        if ended_without_break {
            lines.pop();
        }
        let indent = indent.unwrap_or(0);
        // Trailing empty lines are handled by chomping.
        let mut trailing = 0;
        while matches!(lines.last(), Some((_, l)) if l.is_empty()) {
            lines.pop();
            trailing += 1;
        }
        let mut text = String::new();
        let mut prev_more_indented = false;
        let mut prev_empty_run = 0;
        let mut seen_content = false;
        for (spaces, line) in &lines {
            if line.is_empty() {
                prev_empty_run += 1;
                continue;
            }
            let more_indented = *spaces > indent || line.starts_with(['\t']);
            if seen_content {
                if literal {
                    text.push('\n');
                    for _ in 0..prev_empty_run {
                        text.push('\n');
                    }
                } else if prev_empty_run > 0 || more_indented || prev_more_indented {
                    if more_indented || prev_more_indented {
                        text.push('\n');
                    }
                    for _ in 0..prev_empty_run {
                        text.push('\n');
                    }
                } else {
                    text.push(' ');
                }
            } else {
                for _ in 0..prev_empty_run {
                    text.push('\n');
                }
            }
            text.push_str(line);
            seen_content = true;
            prev_more_indented = more_indented;
            prev_empty_run = 0;
        }
        let has_content = !text.is_empty() || !lines.is_empty();
        let final_break = has_content && !(ended_without_break && trailing == 0);
        match chomp {
            -1 => {}
            0 => {
                if final_break {
                    text.push('\n');
                }
            }
            _ => {
                if final_break {
                    text.push('\n');
                }
                for _ in 0..trailing {
                    text.push('\n');
                }
                if !has_content && trailing > 0 {
                    text.pop();
                }
            }
        }
        Ok(text)
    }

    // ---- flow context ----

    fn flow_node(&mut self) -> Result<usize, String> {
        self.enter()?;
        let result = self.flow_node_inner();
        self.depth -= 1;
        result
    }

    fn flow_node_inner(&mut self) -> Result<usize, String> {
        self.skip_to_token()?;
        let mut props = Props::default();
        while matches!(self.peek(), Some('&' | '!')) {
            self.properties(&mut props)?;
            self.skip_to_token()?;
        }
        match self.peek() {
            Some('[') => {
                self.bump();
                let mut items = Vec::new();
                loop {
                    self.skip_to_token()?;
                    match self.peek() {
                        Some(']') => {
                            self.bump();
                            break;
                        }
                        None => return self.error("did not find expected ',' or ']'"),
                        _ => {}
                    }
                    let item = self.flow_entry(true)?;
                    items.push(item);
                    self.skip_to_token()?;
                    match self.peek() {
                        Some(',') => {
                            self.bump();
                        }
                        Some(']') => {}
                        _ => return self.error("did not find expected ',' or ']'"),
                    }
                }
                self.push(Node::Seq(items), &props)
            }
            Some('{') => {
                self.bump();
                let mut children = Vec::new();
                loop {
                    self.skip_to_token()?;
                    match self.peek() {
                        Some('}') => {
                            self.bump();
                            break;
                        }
                        None => return self.error("did not find expected ',' or '}'"),
                        _ => {}
                    }
                    let (key, value) = self.flow_pair()?;
                    children.push(key);
                    children.push(value);
                    self.skip_to_token()?;
                    match self.peek() {
                        Some(',') => {
                            self.bump();
                        }
                        Some('}') => {}
                        _ => return self.error("did not find expected ',' or '}'"),
                    }
                }
                self.push(Node::Map(children), &props)
            }
            Some('*') => self.alias(),
            Some('"' | '\'') => {
                let text = self.quoted_scalar(-1)?;
                self.scalar(text, false, &props)
            }
            Some(',' | ']' | '}') => self.scalar(String::new(), true, &props),
            Some(c)
                if is_indicator_start(c, self.blank_or_end_at(1))
                    && c != '-'
                    && c != '?'
                    && c != ':' =>
            {
                self.error("found character that cannot start any token")
            }
            _ => {
                let (text, _) = self.plain_scalar(-1, true)?;
                self.scalar(text, true, &props)
            }
        }
    }

    /// An entry of a flow sequence: a node, or a single-pair mapping.
    fn flow_entry(&mut self, _in_seq: bool) -> Result<usize, String> {
        let explicit = self.peek() == Some('?') && self.blank_or_end_at(1);
        if explicit {
            self.bump();
        }
        let node = self.flow_node()?;
        self.skip_to_token()?;
        if self.peek() == Some(':') {
            self.bump();
            self.skip_to_token()?;
            let value = if matches!(self.peek(), Some(',' | ']')) {
                self.scalar(String::new(), true, &Props::default())?
            } else {
                self.flow_node()?
            };
            return self.push(Node::Map(vec![node, value]), &Props::default());
        }
        if explicit {
            let value = self.scalar(String::new(), true, &Props::default())?;
            return self.push(Node::Map(vec![node, value]), &Props::default());
        }
        Ok(node)
    }

    fn flow_pair(&mut self) -> Result<(usize, usize), String> {
        if self.peek() == Some('?') && self.blank_or_end_at(1) {
            self.bump();
        }
        let key = self.flow_node()?;
        self.skip_to_token()?;
        if self.peek() == Some(':') {
            self.bump();
            self.skip_to_token()?;
            let value = if matches!(self.peek(), Some(',' | '}')) {
                self.scalar(String::new(), true, &Props::default())?
            } else {
                self.flow_node()?
            };
            Ok((key, value))
        } else {
            let value = self.scalar(String::new(), true, &Props::default())?;
            Ok((key, value))
        }
    }
}

/// A key already read at the start of a block mapping.
enum KeyStart {
    Node(usize),
}

/// Characters that cannot start a plain scalar in block context.
fn is_indicator_start(c: char, blank_follows: bool) -> bool {
    match c {
        ',' | '[' | ']' | '{' | '}' | '#' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%'
        | '@' | '`' => true,
        '-' | '?' | ':' => blank_follows,
        '\t' => true,
        _ => false,
    }
}

// ---- decoding (yaml.v2's decoder into interface{}) --------------------

struct Decoder<'n> {
    nodes: &'n [Node],
    decode_count: u64,
    alias_count: u64,
    alias_depth: u64,
    active_aliases: Vec<usize>,
}

const TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// yaml.v2's `allowedAliasRatio`.
fn allowed_alias_ratio(decode_count: u64) -> f64 {
    const THRESHOLD: f64 = 400_000.0;
    const SCALE: f64 = 4_000_000.0;
    let count = decode_count as f64;
    if count <= THRESHOLD {
        0.99
    } else if count >= SCALE {
        0.10
    } else {
        0.99 - 0.89 * ((count - THRESHOLD) / (SCALE - THRESHOLD))
    }
}

impl Decoder<'_> {
    fn decode(&mut self, index: usize, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(format!("yaml: exceeded max depth of {MAX_DEPTH}"));
        }
        self.decode_count += 1;
        if self.alias_depth > 0 {
            self.alias_count += 1;
        }
        if (self.alias_count > 100
            && self.decode_count > 1000
            && self.alias_count as f64 / self.decode_count as f64
                > allowed_alias_ratio(self.decode_count))
            || self.decode_count > 10_000_000
        {
            return Err("yaml: document contains excessive aliasing".into());
        }
        let nodes = self.nodes;
        match &nodes[index] {
            Node::Scalar { tag, value, plain } => scalar(tag, value, *plain),
            Node::Seq(children) => {
                let mut items = Vec::with_capacity(children.len());
                for &child in children {
                    items.push(self.decode(child, depth + 1)?);
                }
                Ok(Value::List(items))
            }
            Node::Map(children) => {
                let mut entries = Vec::new();
                self.fill_map(&mut entries, children, depth)?;
                Ok(Value::any_map(entries))
            }
            Node::Alias(target) => {
                if self.active_aliases.contains(target) {
                    return Err("yaml: anchor value contains itself".into());
                }
                self.active_aliases.push(*target);
                self.alias_depth += 1;
                let value = self.decode(*target, depth + 1);
                self.alias_depth -= 1;
                self.active_aliases.pop();
                value
            }
        }
    }

    fn resolve_alias(&self, mut index: usize) -> usize {
        let mut hops = 0;
        while let Node::Alias(target) = &self.nodes[index] {
            index = *target;
            hops += 1;
            if hops > self.nodes.len() {
                break;
            }
        }
        index
    }

    fn fill_map(
        &mut self,
        map: &mut Vec<(Value, Value)>,
        children: &[usize],
        depth: usize,
    ) -> Result<(), String> {
        for pair in children.chunks(2) {
            let [key, value] = pair else {
                break;
            };
            if self.is_merge_key(*key) {
                self.merge(map, *value, depth)?;
                continue;
            }
            let key = match self.decode(*key, depth + 1)? {
                Value::List(_) | Value::Map(_) | Value::AnyMap(_) => {
                    return Err("yaml: invalid map key".into());
                }
                other => other,
            };
            let value = self.decode(*value, depth + 1)?;
            // Later keys replace earlier equal ones (Value::any_map).
            map.push((key, value));
        }
        Ok(())
    }

    fn is_merge_key(&self, index: usize) -> bool {
        matches!(&self.nodes[index], Node::Scalar { tag, value, plain }
            if value == "<<" && ((tag.is_empty() && *plain) || tag == &format!("{TAG_PREFIX}merge")))
    }

    /// `<<: *a` or `<<: [*a, *b]`: earlier maps in a list take precedence.
    fn merge(
        &mut self,
        map: &mut Vec<(Value, Value)>,
        index: usize,
        depth: usize,
    ) -> Result<(), String> {
        let want_map =
            || "yaml: map merge requires map or sequence of maps as the value".to_string();
        let target = self.resolve_alias(index);
        match &self.nodes[target] {
            Node::Map(_) => self.merge_one(map, index, depth),
            Node::Seq(children) if !matches!(&self.nodes[index], Node::Alias(_)) => {
                let children = children.clone();
                for &child in children.iter().rev() {
                    if !matches!(&self.nodes[self.resolve_alias(child)], Node::Map(_)) {
                        return Err(want_map());
                    }
                    self.merge_one(map, child, depth)?;
                }
                Ok(())
            }
            _ => Err(want_map()),
        }
    }

    fn merge_one(
        &mut self,
        map: &mut Vec<(Value, Value)>,
        index: usize,
        depth: usize,
    ) -> Result<(), String> {
        if let Value::AnyMap(merged) = self.decode(index, depth + 1)? {
            map.extend(merged);
        }
        Ok(())
    }
}

/// A scalar as yaml.v2 decodes it into `interface{}`.
fn scalar(tag: &str, value: &str, plain: bool) -> Result<Value, String> {
    let short = tag.strip_prefix(TAG_PREFIX);
    if tag.is_empty() && !plain {
        return Ok(Value::String(value.to_string()));
    }
    match short {
        // Tags yaml.v2 does not resolve leave the text as it is.
        None if !tag.is_empty() => return Ok(Value::String(value.to_string())),
        Some("str") => return Ok(Value::String(value.to_string())),
        Some("binary") => {
            let cleaned: String = value.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = encoding::Base64::Std
                .decode(cleaned.as_bytes())
                .map_err(|_| "yaml: !!binary value contains invalid base64 data".to_string())?;
            return Ok(Value::from_bytes(bytes));
        }
        Some("bool" | "int" | "float" | "null" | "timestamp") | None => {}
        Some(_) => return Ok(Value::String(value.to_string())),
    }
    let resolved = resolve_plain(value);
    let value_of = |r: &Resolved| match r {
        Resolved::Null => Value::Nil,
        Resolved::Bool(b) => Value::Bool(*b),
        Resolved::Int(i) => Value::Int(*i),
        Resolved::Uint(u) => Value::Uint(*u),
        Resolved::Float(f) => Value::Float(*f),
        Resolved::Timestamp | Resolved::Merge | Resolved::Str => Value::String(value.to_string()),
    };
    let Some(wanted) = short else {
        return Ok(value_of(&resolved));
    };
    match (&resolved, wanted) {
        (Resolved::Null, "null")
        | (Resolved::Bool(_), "bool")
        | (Resolved::Int(_) | Resolved::Uint(_), "int")
        | (Resolved::Float(_), "float")
        | (Resolved::Timestamp, "timestamp") => Ok(value_of(&resolved)),
        (Resolved::Int(i), "float") => Ok(Value::Float(*i as f64)),
        (Resolved::Uint(u), "float") => Ok(Value::Float(*u as f64)),
        _ => Err(format!("yaml: cannot decode a scalar as a !!{wanted}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gotemplate::json::to_json;
    use gotemplate::value::format_v;

    fn v(text: &str) -> String {
        format_v(&parse_yaml(text).unwrap())
    }

    fn j(text: &str) -> String {
        to_json(&parse_yaml(text).unwrap()).unwrap()
    }

    #[test]
    fn yaml_1_1_plain_scalars_resolve() {
        assert_eq!(
            v("[yes, no, on, ~, 0x1F, 1_000, .inf, 1.5, abc, '1']"),
            "[true false true <nil> 31 1000 +Inf 1.5 abc 1]"
        );
    }

    #[test]
    fn binary_tags_decode_base64_across_lines() {
        assert_eq!(v("!!binary |\n  Zm9v\n  YmFy\n"), "foobar");
        assert_eq!(
            parse_yaml("!!binary Zm9vYg").unwrap_err(),
            "yaml: !!binary value contains invalid base64 data"
        );
    }

    #[test]
    fn block_collections_nest() {
        assert_eq!(
            j("a: 1\nb:\n- x\n- 2\nc:\n  d: yes\n  e: ~\n"),
            r#"{"a":1,"b":["x",2],"c":{"d":true,"e":null}}"#
        );
        assert_eq!(
            j("- a\n- b: 1\n  c: 2\n- - x\n  - y\n"),
            r#"["a",{"b":1,"c":2},["x",true]]"#
        );
    }

    #[test]
    fn block_scalars_follow_chomping() {
        assert_eq!(
            j("a: |\n  l1\n  l2\nb: >\n  f1\n  f2\n\n  f3\nc: |-\n  x\nd: |+\n  y\n\n"),
            r#"{"a":"l1\nl2\n","b":"f1 f2\nf3\n","c":"x","d":"y\n\n"}"#
        );
    }

    #[test]
    fn quoted_and_multi_line_plain_scalars() {
        assert_eq!(
            j("a: 'it''s'\nb: \"q\\t\\u00e9\"\nc: plain text  # comment\nd: multi\n  line\n"),
            r#"{"a":"it's","b":"q\té","c":"plain text","d":"multi line"}"#
        );
    }

    #[test]
    fn flow_collections() {
        assert_eq!(
            j("{a: [1, 2, {b: c}], d: 'e'}"),
            r#"{"a":[1,2,{"b":"c"}],"d":"e"}"#
        );
    }

    #[test]
    fn mapping_keys_keep_their_types_in_the_agents_order() {
        // nil, then strings, uint64, int, float64, bool.
        assert_eq!(v("a: 1\nb: [x, 2]\n3: c"), "map[a:1 b:[x 2] 3:c]");
        assert_eq!(
            v("true: b\n1.5: f\n-1: i\n18446744073709551615: u\ns: s\n~: n"),
            "map[<nil>:false s:s 18446744073709551615:u -1:i 1.5:f true:b]"
        );
        let Ok(Value::AnyMap(entries)) = parse_yaml("1: x\n") else {
            panic!("not a map[interface{{}}]interface{{}}");
        };
        assert_eq!(entries[0].0, Value::Int(1));
    }

    #[test]
    fn later_keys_replace_earlier_ones() {
        assert_eq!(v("a: 1\na: 2"), "map[a:2]");
    }

    #[test]
    fn anchors_tags_and_merge_keys() {
        assert_eq!(
            j("a: &x 1\nb: *x\nc: !!str 3\nd: !!float 1\nh: 2001-12-14"),
            r#"{"a":1,"b":1,"c":"3","d":1,"h":"2001-12-14"}"#
        );
        assert_eq!(
            v("base: &b {p: 1, q: 2}\nd:\n  <<: *b\n  q: 3"),
            "map[base:map[p:1 q:2] d:map[p:1 q:3]]"
        );
    }

    #[test]
    fn empty_documents_are_nil() {
        assert_eq!(parse_yaml("# only comment").unwrap(), Value::Nil);
        assert_eq!(parse_yaml("---\n").unwrap(), Value::Nil);
    }

    #[test]
    fn mapping_value_on_the_same_line_is_an_error() {
        assert_eq!(
            parse_yaml("a: b: c").unwrap_err(),
            "yaml: mapping values are not allowed in this context"
        );
    }

    #[test]
    fn unknown_anchors_are_refused() {
        assert!(parse_yaml("a: *x").is_err());
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut doc = String::from("a0: &a0 [x,x,x,x,x,x,x,x,x,x]\n");
        for i in 1..9 {
            let p = i - 1;
            doc.push_str(&format!(
                "a{i}: &a{i} [*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p}]\n"
            ));
        }
        assert!(parse_yaml(&doc).is_err());
    }

    #[test]
    fn only_the_first_document_counts() {
        assert_eq!(v("a: 1\n---\nb: 2"), "map[a:1]");
    }

    #[test]
    fn deep_flow_nesting_is_refused_not_overflowing() {
        let doc = "[".repeat(100_000);
        assert!(parse_yaml(&doc).is_err());
    }

    #[test]
    fn deep_block_nesting_is_refused_not_overflowing() {
        let doc = "- ".repeat(100_000) + "x";
        assert!(parse_yaml(&doc).is_err());
        let doc: String = (0..1_000)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect();
        assert!(parse_yaml(&doc).is_err());
    }
}
