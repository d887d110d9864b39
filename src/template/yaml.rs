//! YAML output as consul-template's `toYAML` produces it with
//! `gopkg.in/yaml.v2` 2.4: block style, keys in yaml.v2's natural order,
//! scalars plain when they would read back as the same string, otherwise
//! double-quoted (or single-quoted, or literal blocks for multi-line text),
//! long lines folded at 80 columns.

use std::collections::BTreeMap;

use super::float;
use super::value::{GoStruct, Value};

/// Preferred indentation and line width of yaml.v2's emitter.
const BEST_INDENT: i64 = 2;
const BEST_WIDTH: usize = 80;

/// `yaml.Marshal(value)` with surrounding white space trimmed.
pub fn to_yaml(value: &Value) -> String {
    let mut e = Emitter {
        out: String::new(),
        column: 0,
        whitespace: true,
        indention: true,
        indent: -1,
        indents: Vec::new(),
        flow_level: 0,
        root: false,
        mapping_context: false,
        simple_key_context: false,
    };
    e.node(&Node::of(value), true, false, false, false);
    // The document end starts a new line; Go then trims the output.
    e.out.trim_matches(is_go_space).to_string()
}

fn is_go_space(c: char) -> bool {
    c.is_whitespace()
}

/// What the encoder turns a value into before emitting it.
enum Node {
    Scalar { text: String, style: Style },
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

/// The scalar style the encoder asks for (the emitter may fall back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

impl Node {
    fn of(value: &Value) -> Node {
        match value {
            Value::Nil => plain("null"),
            Value::Bool(b) => plain(if *b { "true" } else { "false" }),
            Value::Int(i) | Value::Int64(i) => plain(&i.to_string()),
            Value::Uint(u) => plain(&u.to_string()),
            Value::Float(f) => float_node(*f),
            Value::Number(text) => number_node(text),
            Value::String(s) => string_node(s),
            Value::Bytes(b) => string_node(&String::from_utf8_lossy(b)),
            Value::List(items) => Node::Seq(items.iter().map(Node::of).collect()),
            Value::Strings(items) => Node::Seq(items.iter().map(|s| string_node(s)).collect()),
            Value::NilStrings => Node::Seq(Vec::new()),
            Value::Map(members) => Node::Map(sorted_members(members)),
            Value::NilMap => Node::Map(Vec::new()),
            Value::Struct(s) => struct_node(s),
        }
    }
}

fn plain(text: &str) -> Node {
    Node::Scalar {
        text: text.to_string(),
        style: Style::Plain,
    }
}

fn float_node(f: f64) -> Node {
    let text = match float::non_finite(f) {
        Some("+Inf") => ".inf".to_string(),
        Some("-Inf") => "-.inf".to_string(),
        Some(_) => ".nan".to_string(),
        None => {
            let mut s = String::new();
            float::write_go_g(&mut s, f);
            s
        }
    };
    Node::Scalar {
        text,
        style: Style::Plain,
    }
}

/// A `json.Number` becomes an int64 if it is one, else a float64, else
/// its text.
fn number_node(text: &str) -> Node {
    if let Ok(i) = text.parse::<i64>() {
        return plain(&i.to_string());
    }
    match text.parse::<f64>() {
        Ok(f) => float_node(f),
        Err(_) => string_node(text),
    }
}

/// Fields of a struct under lower-cased names, nil pointers as null.
fn struct_node(s: &GoStruct) -> Node {
    match &s.fields {
        None => plain("null"),
        Some(fields) => Node::Map(
            fields
                .iter()
                .map(|(name, value)| (name.to_lowercase(), Node::of(value)))
                .collect(),
        ),
    }
}

fn string_node(s: &str) -> Node {
    let style = if s.contains('\n') {
        Style::Literal
    } else if resolves_to_string(s) && !is_base60_float(s) {
        Style::Plain
    } else {
        Style::DoubleQuoted
    };
    Node::Scalar {
        text: s.to_string(),
        style,
    }
}

// ---- what a plain scalar would read back as --------------------------------

/// Whether yaml.v2 reads the plain scalar `s` back as a string (and not a
/// bool, null, number or timestamp).
fn resolves_to_string(s: &str) -> bool {
    const SPECIAL: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "n", "N", "no",
        "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "", "~", "null", "Null",
        "NULL", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
        "-.Inf", "-.INF",
    ];
    if SPECIAL.contains(&s) {
        return false;
    }
    let Some(&first) = s.as_bytes().first() else {
        return false;
    };
    match first {
        b'.' => super::number::parse_float(s).is_none(),
        b'+' | b'-' | b'0'..=b'9' => {
            if is_timestamp(s) {
                return false;
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if super::number::parse_int(&plain).is_some()
                || super::number::parse_uint(&plain).is_some()
            {
                return false;
            }
            if is_yaml_float(&plain) && plain.parse::<f64>().is_ok() {
                return false;
            }
            let binary = |digits: &str, negative: bool| {
                !digits.is_empty()
                    && digits.bytes().all(|b| b == b'0' || b == b'1')
                    && u64::from_str_radix(digits, 2).is_ok_and(|v| !negative || v <= 1 << 63)
            };
            if let Some(digits) = plain.strip_prefix("0b") {
                return !binary(digits, false);
            }
            if let Some(digits) = plain.strip_prefix("-0b") {
                return !binary(digits, true);
            }
            true
        }
        _ => true,
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`, which yaml.v2
/// quotes so YAML 1.1 readers do not take it for a base-60 number.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    if !b.get(i).is_some_and(u8::is_ascii_digit) || !s.contains(':') {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let group = &b[start..i];
        let ok = match group {
            [d] => d.is_ascii_digit(),
            [a, d] => (b'0'..=b'5').contains(a) && d.is_ascii_digit(),
            _ => false,
        };
        if !ok {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// yaml.v2's timestamp check: four digits and `-`, then one of the date or
/// date-time layouts it accepts.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let rest = &s[5..];
    // month-day, then optionally [Tt ]h:m:s[.frac][zone]
    let (date, time) = match rest.find(['T', 't', ' ']) {
        Some(at) => (&rest[..at], Some(&rest[at..])),
        None => (rest, None),
    };
    let mut parts = date.split('-');
    let (Some(month), Some(day), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let small = |p: &str, max: u32| {
        (1..=2).contains(&p.len())
            && p.bytes().all(|c| c.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|v| (1..=max).contains(&v))
    };
    if !small(month, 12) || !small(day, 31) {
        return false;
    }
    let Some(time) = time else {
        return true;
    };
    let space = time.starts_with(' ');
    let time = &time[1..];
    let (clock, zone) = match time.find(['Z', '+', '-']) {
        Some(at) => (&time[..at], &time[at..]),
        None => (time, ""),
    };
    // Space-separated times have no zone; T-separated ones need one.
    if space != zone.is_empty() {
        return false;
    }
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    if !frac.bytes().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let mut hms = hms.split(':');
    let (Some(h), Some(m), Some(sec), None) = (hms.next(), hms.next(), hms.next(), hms.next())
    else {
        return false;
    };
    let clock_part = |p: &str, max: u32| {
        (1..=2).contains(&p.len())
            && p.bytes().all(|c| c.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|v| v <= max)
    };
    if !clock_part(h, 23) || !clock_part(m, 59) || !clock_part(sec, 59) {
        return false;
    }
    match zone {
        "" | "Z" => true,
        z => {
            let z = &z[1..];
            let (zh, zm) = z.split_once(':').unwrap_or(("", ""));
            zh.len() == 2 && zm.len() == 2 && clock_part(zh, 23) && clock_part(zm, 59)
        }
    }
}

// ---- key order --------------------------------------------------------------

/// Map members in yaml.v2's order: letters by code point, runs of digits
/// by value, letters after other characters.
fn sorted_members(members: &BTreeMap<String, Value>) -> Vec<(String, Node)> {
    let mut keys: Vec<&String> = members.keys().collect();
    merge_sort(&mut keys, &|a, b| key_less(a, b));
    keys.into_iter()
        .map(|k| (k.clone(), Node::of(&members[k])))
        .collect()
}

/// A stable merge sort over a "less" function (which may not be a perfect
/// total order, so the standard sort, which may panic then, is avoided).
fn merge_sort<T: Copy>(items: &mut [T], less: &dyn Fn(T, T) -> bool) {
    if items.len() < 2 {
        return;
    }
    let mid = items.len() / 2;
    merge_sort(&mut items[..mid], less);
    merge_sort(&mut items[mid..], less);
    let mut merged = Vec::with_capacity(items.len());
    let (mut i, mut j) = (0, mid);
    while i < mid && j < items.len() {
        if less(items[j], items[i]) {
            merged.push(items[j]);
            j += 1;
        } else {
            merged.push(items[i]);
            i += 1;
        }
    }
    merged.extend_from_slice(&items[i..mid]);
    merged.extend_from_slice(&items[j..]);
    items.copy_from_slice(&merged);
}

fn key_less(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let digit = |c: char| c.is_numeric();
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && digit(ar[j - 1]) {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let value = |c: char| i64::from(u32::from(c)) - i64::from(u32::from('0'));
        let mut ai = i;
        while ai < ar.len() && digit(ar[ai]) {
            an = an.wrapping_mul(10).wrapping_add(value(ar[ai]));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && digit(br[bi]) {
            bn = bn.wrapping_mul(10).wrapping_add(value(br[bi]));
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

// ---- the emitter --------------------------------------------------------------

/// What the emitter's analysis allows for one scalar.
struct Analysis {
    multiline: bool,
    flow_plain: bool,
    block_plain: bool,
    single_quoted: bool,
    block: bool,
}

struct Emitter {
    out: String,
    /// Characters written on the current line.
    column: usize,
    /// The last thing written was white space.
    whitespace: bool,
    /// Only indentation has been written on this line.
    indention: bool,
    indent: i64,
    indents: Vec<i64>,
    flow_level: usize,
    root: bool,
    mapping_context: bool,
    simple_key_context: bool,
}

/// yaml.v2's "printable": LF, ASCII graphics and space, U+00A0..U+D7FF,
/// U+E000..U+FFFD without U+FEFF (so tabs and astral characters are not).
fn is_printable(c: char) -> bool {
    let u = u32::from(c);
    u == 0x0A
        || (0x20..=0x7E).contains(&u)
        || (0xA0..=0xD7FF).contains(&u)
        || ((0xE000..=0xFFFD).contains(&u) && u != 0xFEFF)
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn analyze(value: &str) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain: false,
            block_plain: true,
            single_quoted: true,
            block: false,
        };
    }
    let chars: Vec<char> = value.chars().collect();
    let mut block_indicators = false;
    let mut flow_indicators = false;
    let mut line_breaks = false;
    let mut special = false;
    let (mut leading_space, mut leading_break) = (false, false);
    let (mut trailing_space, mut trailing_break) = (false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    if value.starts_with("---") || value.starts_with("...") {
        block_indicators = true;
        flow_indicators = true;
    }
    let mut preceded_by_whitespace = true;
    let n = chars.len();
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_whitespace = i + 1 >= n || is_blank(chars[i + 1]);
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                '?' | ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '-' if followed_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_indicators = true,
                ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '#' if preceded_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i + 1 == n {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if i + 1 == n {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blank(c) || is_break(c) || c == '\0';
    }
    let mut a = Analysis {
        multiline: line_breaks,
        flow_plain: true,
        block_plain: true,
        single_quoted: true,
        block: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain = false;
        a.block_plain = false;
    }
    if trailing_space {
        a.block = false;
    }
    if break_space {
        a.flow_plain = false;
        a.block_plain = false;
        a.single_quoted = false;
    }
    if space_break || special {
        a.flow_plain = false;
        a.block_plain = false;
        a.single_quoted = false;
        a.block = false;
    }
    if line_breaks {
        a.flow_plain = false;
        a.block_plain = false;
    }
    if flow_indicators {
        a.flow_plain = false;
    }
    if block_indicators {
        a.block_plain = false;
    }
    a
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    /// Copies a line break character; `\n` as the emitter's break.
    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn write_indent(&mut self) {
        let indent = usize::try_from(self.indent.max(0)).unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in indicator.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn node(&mut self, node: &Node, root: bool, _sequence: bool, mapping: bool, simple_key: bool) {
        self.root = root;
        self.mapping_context = mapping;
        self.simple_key_context = simple_key;
        match node {
            Node::Scalar { text, style } => self.scalar(text, *style),
            Node::Seq(items) => self.sequence(items),
            Node::Map(members) => self.mapping(members),
        }
    }

    fn scalar(&mut self, text: &str, requested: Style) {
        let a = analyze(text);
        let mut style = requested;
        if self.simple_key_context && a.multiline {
            style = Style::DoubleQuoted;
        }
        if style == Style::Plain {
            let allowed = if self.flow_level > 0 {
                a.flow_plain
            } else {
                a.block_plain
            };
            if !allowed || (text.is_empty() && (self.flow_level > 0 || self.simple_key_context)) {
                style = Style::SingleQuoted;
            }
        }
        if style == Style::SingleQuoted && !a.single_quoted {
            style = Style::DoubleQuoted;
        }
        if style == Style::Literal && (!a.block || self.flow_level > 0 || self.simple_key_context) {
            style = Style::DoubleQuoted;
        }
        self.increase_indent(true, false);
        let allow_breaks = !self.simple_key_context;
        match style {
            Style::Plain => self.write_plain(text, allow_breaks),
            Style::SingleQuoted => self.write_single_quoted(text, allow_breaks),
            Style::DoubleQuoted => self.write_double_quoted(text, allow_breaks),
            Style::Literal => self.write_literal(text),
        }
        self.pop_indent();
    }

    fn sequence(&mut self, items: &[Node]) {
        if self.flow_level > 0 || items.is_empty() {
            self.write_indicator("[", true, true, false);
            self.increase_indent(true, false);
            self.flow_level += 1;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    self.write_indicator(",", false, false, false);
                }
                if self.column > BEST_WIDTH {
                    self.write_indent();
                }
                self.node(item, false, true, false, false);
            }
            self.flow_level -= 1;
            self.pop_indent();
            self.write_indicator("]", false, false, false);
            return;
        }
        let indentless = self.mapping_context && !self.indention;
        self.increase_indent(false, indentless);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(item, false, true, false, false);
        }
        self.pop_indent();
    }

    fn mapping(&mut self, members: &[(String, Node)]) {
        if self.flow_level > 0 || members.is_empty() {
            self.write_indicator("{", true, true, false);
            self.increase_indent(true, false);
            self.flow_level += 1;
            for (i, (key, value)) in members.iter().enumerate() {
                if i > 0 {
                    self.write_indicator(",", false, false, false);
                }
                if self.column > BEST_WIDTH {
                    self.write_indent();
                }
                let key_node = string_node(key);
                if simple_key(key) {
                    self.node(&key_node, false, false, true, true);
                    self.write_indicator(":", false, false, false);
                } else {
                    self.write_indicator("?", true, false, false);
                    self.node(&key_node, false, false, true, false);
                    if self.column > BEST_WIDTH {
                        self.write_indent();
                    }
                    self.write_indicator(":", true, false, false);
                }
                self.node(value, false, false, true, false);
            }
            self.flow_level -= 1;
            self.pop_indent();
            self.write_indicator("}", false, false, false);
            return;
        }
        self.increase_indent(false, false);
        for (key, value) in members {
            self.write_indent();
            let key_node = string_node(key);
            if simple_key(key) {
                self.node(&key_node, false, false, true, true);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.node(&key_node, false, false, true, false);
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.node(value, false, false, true, false);
        }
        self.pop_indent();
    }

    fn write_plain(&mut self, value: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_space = chars.get(i + 1) == Some(&' ');
                if allow_breaks && !spaces && self.column > BEST_WIDTH && !next_space {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let n = chars.len();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_space = chars.get(i + 1) == Some(&' ');
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i + 1 < n
                    && !next_space
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let n = chars.len();
        // yaml.v2 tests for a byte order mark at the start of the value
        // for every character, so such a value is escaped throughout.
        let bom = value.starts_with('\u{FEFF}');
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || bom || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                let short = match c {
                    '\0' => Some('0'),
                    '\u{7}' => Some('a'),
                    '\u{8}' => Some('b'),
                    '\t' => Some('t'),
                    '\n' => Some('n'),
                    '\u{b}' => Some('v'),
                    '\u{c}' => Some('f'),
                    '\r' => Some('r'),
                    '\u{1b}' => Some('e'),
                    '"' => Some('"'),
                    '\\' => Some('\\'),
                    '\u{85}' => Some('N'),
                    '\u{a0}' => Some('_'),
                    '\u{2028}' => Some('L'),
                    '\u{2029}' => Some('P'),
                    _ => None,
                };
                match short {
                    Some(s) => self.put(s),
                    None => {
                        let u = u32::from(c);
                        let (letter, digits) = if u <= 0xFF {
                            ('x', 2)
                        } else if u <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(letter);
                        for k in (0..digits).rev() {
                            let d = (u >> (k * 4)) & 0xF;
                            self.put(char::from_digit(d, 16).unwrap_or('0').to_ascii_uppercase());
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i > 0 && i + 1 < n {
                    self.write_indent();
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        // Hints: an indentation digit when the text starts with space or a
        // break; `-` without a final break, `+` with more than one.
        let chars: Vec<char> = value.chars().collect();
        if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
            let hint = char::from_digit(BEST_INDENT as u32, 10).unwrap_or('2');
            self.write_indicator(&hint.to_string(), false, false, false);
        }
        let chomp = match chars.as_slice() {
            [] => Some('-'),
            [.., last] if !is_break(*last) => Some('-'),
            [_] => Some('+'),
            [.., before, _] if is_break(*before) => Some('+'),
            _ => None,
        };
        if let Some(c) = chomp {
            self.write_indicator(&c.to_string(), false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for &c in &chars {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

/// Whether a mapping key can be written as a simple key: one line and at
/// most 128 bytes.
fn simple_key(key: &str) -> bool {
    !key.chars().any(is_break) && key.len() <= 128
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::value::decode_json;

    fn yaml(json: &str) -> String {
        to_yaml(&decode_json(json).unwrap())
    }

    #[test]
    fn block_mappings_and_indentless_sequences() {
        assert_eq!(
            yaml(r#"{"b":{"c":1},"a":["x","z"],"e":[],"f":{}}"#),
            "a:\n- x\n- z\nb:\n  c: 1\ne: []\nf: {}"
        );
    }

    #[test]
    fn strings_that_read_as_other_types_are_quoted() {
        assert_eq!(
            yaml(r#"["true","yes","null","","1","1.5","0x1F","2001-02-03","1:20","abc"]"#),
            "- \"true\"\n- \"yes\"\n- \"null\"\n- \"\"\n- \"1\"\n- \"1.5\"\n- \"0x1F\"\n- \"2001-02-03\"\n- \"1:20\"\n- abc"
        );
    }

    #[test]
    fn indicators_force_quoting() {
        assert_eq!(
            yaml(r##"["- a","a: b","#x","a #b","x,y","@a"]"##),
            "- '- a'\n- 'a: b'\n- '#x'\n- 'a #b'\n- x,y\n- '@a'"
        );
    }

    #[test]
    fn multi_line_strings_are_literal_blocks() {
        assert_eq!(yaml(r#"{"k":"l1\nl2\n"}"#), "k: |\n  l1\n  l2");
        assert_eq!(yaml(r#"{"k":"l1\nl2"}"#), "k: |-\n  l1\n  l2");
    }

    #[test]
    fn special_characters_are_escaped() {
        assert_eq!(yaml(r#"["a\tb","😀"]"#), "- \"a\\tb\"\n- \"\\U0001F600\"");
    }

    #[test]
    fn numbers_keep_their_kind() {
        assert_eq!(
            yaml("[1,1.5,1E5,12345678901234567890]"),
            "- 1\n- 1.5\n- 100000\n- 1.2345678901234567e+19"
        );
    }

    #[test]
    fn keys_sort_naturally() {
        assert_eq!(
            yaml(r#"{"k10":1,"k9":2,"a":3,"_":4}"#),
            "_: 4\na: 3\nk9: 2\nk10: 1"
        );
    }

    #[test]
    fn long_plain_strings_fold_at_80_columns() {
        let words = vec!["word"; 30].join(" ");
        let out = to_yaml(&Value::String(words));
        assert!(out.lines().count() > 1, "{out}");
    }
}
