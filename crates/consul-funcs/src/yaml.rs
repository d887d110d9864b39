//! `toYAML`: what `gopkg.in/yaml.v2`'s `Marshal` writes for a value (its
//! libyaml-derived emitter: block style, sequences not indented under a
//! mapping key, lines folded past 80 columns, quoting decided by how YAML
//! 1.1 would read the plain text back), with surrounding white space
//! trimmed as consulted-template does. Also the YAML 1.1 plain-scalar
//! resolution shared with `parseYAML`.

use gotemplate::float;
use gotemplate::strconv;
use gotemplate::value::Value;

/// Line width past which the emitter folds long scalars at spaces.
const BEST_WIDTH: usize = 80;
/// Spaces per indentation level.
const BEST_INDENT: i64 = 2;

/// `toYAML`'s text for `value` (already trimmed).
pub(crate) fn to_yaml(value: &Value) -> String {
    let node = Node::from_value(value);
    let mut e = Emitter::new();
    e.node(&node, Context::ROOT);
    e.write_indent();
    e.out.trim_matches(is_go_space).to_string()
}

/// Go's `unicode.IsSpace`, which `bytes.TrimSpace` uses.
fn is_go_space(c: char) -> bool {
    c.is_whitespace()
}

/// A node of the YAML document: scalars carry their text and the style
/// the encoder asks for (the emitter may still pick another).
enum Node {
    Scalar { text: String, style: Style },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// The Go type yaml.v2 cannot marshal found in `value`, if any
/// (`complex128`, a channel).
pub(crate) fn unmarshalable(value: &Value) -> Option<&'static str> {
    match value {
        Value::Complex(..) => Some("complex128"),
        Value::Chan(_) => Some("<-chan int64"),
        Value::List(items) => items.iter().find_map(unmarshalable),
        Value::Map(m) => m.values().find_map(unmarshalable),
        Value::AnyMap(entries) => entries
            .iter()
            .find_map(|(k, v)| unmarshalable(k).or_else(|| unmarshalable(v))),
        Value::Struct(s) => s
            .fields
            .iter()
            .flatten()
            .find_map(|(_, v)| unmarshalable(v)),
        _ => None,
    }
}

impl Node {
    fn plain(text: impl Into<String>) -> Node {
        Node::Scalar {
            text: text.into(),
            style: Style::Plain,
        }
    }

    fn from_value(value: &Value) -> Node {
        match value {
            Value::Nil => Node::plain("null"),
            Value::Bool(b) => Node::plain(if *b { "true" } else { "false" }),
            Value::Int(i) | Value::Int64(i) => Node::plain(i.to_string()),
            Value::Uint(u) => Node::plain(u.to_string()),
            Value::Float(f) => Node::plain(format_float(*f)),
            // yaml.v2 encodes a json.Number as the int64 or float64 it
            // holds, or as its text when it is neither.
            Value::Number(text) => {
                if let Ok(i) = strconv::parse_int(text, 10, 64) {
                    Node::plain(i.to_string())
                } else if let Ok(f) = strconv::parse_float(text) {
                    Node::plain(format_float(f))
                } else {
                    string_node(text)
                }
            }
            Value::String(s) => string_node(s),
            // Functions never receive binary strings; kept for completeness.
            Value::Bytes(b) => string_node(&String::from_utf8_lossy(b)),
            Value::List(items) => Node::Seq(items.iter().map(Node::from_value).collect()),
            Value::Strings(items) => Node::Seq(items.iter().map(|s| string_node(s)).collect()),
            Value::NilStrings => Node::Seq(Vec::new()),
            Value::Map(members) => {
                let mut keys: Vec<&String> = members.keys().collect();
                merge_sort(&mut keys, |a, b| key_less(a, b));
                Node::Map(
                    keys.into_iter()
                        .map(|k| (string_node(k), Node::from_value(&members[k])))
                        .collect(),
                )
            }
            Value::NilMap => Node::Map(Vec::new()),
            Value::StringMap(members) => {
                let mut keys: Vec<&String> = members.keys().collect();
                merge_sort(&mut keys, |a, b| key_less(a, b));
                Node::Map(
                    keys.into_iter()
                        .map(|k| (string_node(k), string_node(&members[k])))
                        .collect(),
                )
            }
            Value::Complex(..) | Value::Chan(_) => string_node(&gotemplate::value::format_v(value)),
            Value::AnyMap(entries) => {
                let mut order: Vec<usize> = (0..entries.len()).collect();
                merge_sort(&mut order, |a, b| {
                    any_key_less(&entries[a].0, &entries[b].0)
                });
                Node::Map(
                    order
                        .into_iter()
                        .map(|i| {
                            let (k, v) = &entries[i];
                            let key = match k {
                                Value::String(s) => string_node(s),
                                other => Node::from_value(other),
                            };
                            (key, Node::from_value(v))
                        })
                        .collect(),
                )
            }
            // A struct's fields under their lower-cased names, in order.
            Value::Struct(s) => match &s.fields {
                None => Node::plain("null"),
                Some(fields) => Node::Map(
                    fields
                        .iter()
                        .map(|(name, v)| (string_node(&name.to_lowercase()), Node::from_value(v)))
                        .collect(),
                ),
            },
        }
    }
}

/// yaml.v2's float text: shortest `%g`, with YAML's spellings of the
/// special values.
fn format_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    let mut s = String::new();
    float::write_go_g(&mut s, f);
    s
}

/// A string scalar: literal style when it has a line break, plain when
/// YAML would read the plain text back as the same string, else quoted.
fn string_node(s: &str) -> Node {
    let style = if s.contains('\n') {
        Style::Literal
    } else if matches!(resolve_plain(s), Resolved::Str) && !is_base60_float(s) {
        Style::Plain
    } else {
        Style::DoubleQuoted
    };
    Node::Scalar {
        text: s.to_string(),
        style,
    }
}

// ---- resolution of plain scalars (YAML 1.1 as yaml.v2 reads it) ---------

/// What a plain scalar means to yaml.v2.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Resolved {
    /// `~`, `null`, empty.
    Null,
    /// `true`, `yes`, `on`, `y`, ... and their negatives.
    Bool(bool),
    /// An integer that fits Go's `int`.
    Int(i64),
    /// An integer only a `uint64` holds.
    Uint(u64),
    /// A float (including `.inf`, `.nan`).
    Float(f64),
    /// A timestamp (yaml.v2 hands these to `interface{}` as their text).
    Timestamp,
    /// The merge key `<<`.
    Merge,
    /// Anything else: a string.
    Str,
}

/// yaml.v2's `resolve("", s)` for an untagged plain scalar.
pub(crate) fn resolve_plain(s: &str) -> Resolved {
    let hint = match s.as_bytes().first() {
        None => return Resolved::Null,
        Some(b'+' | b'-') => b'S',
        Some(b'0'..=b'9') => b'D',
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => b'M',
        Some(b'.') => b'.',
        _ => return Resolved::Str,
    };
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Resolved::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Resolved::Bool(false);
        }
        "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        "<<" => return Resolved::Merge,
        _ => {}
    }
    match hint {
        b'.' => match strconv::parse_float(s) {
            Ok(f) => Resolved::Float(f),
            Err(_) => Resolved::Str,
        },
        b'D' | b'S' => {
            if is_timestamp(s) {
                return Resolved::Timestamp;
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if let Ok(i) = strconv::parse_int(&plain, 0, 64) {
                return Resolved::Int(i);
            }
            if let Ok(u) = strconv::parse_uint(&plain, 0, 64) {
                return Resolved::Uint(u);
            }
            if is_yaml_style_float(&plain)
                && let Ok(f) = strconv::parse_float(&plain)
            {
                return Resolved::Float(f);
            }
            // yaml.v2 reads the digits after `0b` with ParseInt, which
            // takes a sign: `0b-101` is -5.
            if let Some(bits) = plain.strip_prefix("0b") {
                if let Ok(i) = strconv::parse_int(bits, 2, 64) {
                    return Resolved::Int(i);
                }
                if let Ok(u) = strconv::parse_uint(bits, 2, 64) {
                    return Resolved::Uint(u);
                }
            } else if let Some(bits) = plain.strip_prefix("-0b")
                && let Ok(i) = strconv::parse_int(&format!("-{bits}"), 2, 64)
            {
                return Resolved::Int(i);
            }
            Resolved::Str
        }
        _ => Resolved::Str,
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
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
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// YAML 1.1 base-60 floats (`1:30`), which yaml.v2 still quotes:
/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    i += 1;
    while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        // [0-5]?[0-9]: one or two digits, a two-digit group starting 0-5.
        match (b.get(i), b.get(i + 1)) {
            (Some(d1 @ b'0'..=b'5'), Some(b'0'..=b'9')) if d1.is_ascii_digit() => i += 2,
            (Some(b'0'..=b'9'), _) => i += 1,
            _ => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// Whether yaml.v2 reads `s` as a timestamp: `time.Parse` with one of
/// `2006-1-2T15:4:5.999999999Z07:00` (also lower-case `t`),
/// `2006-1-2 15:4:5.999999999` or `2006-1-2`.
pub(crate) fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let year: i64 = s[..4].parse().unwrap_or(0);
    let mut i = 5;
    let Some(month) = small_number(b, &mut i) else {
        return false;
    };
    if b.get(i) != Some(&b'-') {
        return false;
    }
    i += 1;
    let Some(day) = small_number(b, &mut i) else {
        return false;
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return false;
    }
    if i == b.len() {
        return true;
    }
    let zoned = match b[i] {
        b'T' | b't' => true,
        b' ' => false,
        _ => return false,
    };
    i += 1;
    let Some(hour) = small_number(b, &mut i) else {
        return false;
    };
    if b.get(i) != Some(&b':') {
        return false;
    }
    i += 1;
    let Some(minute) = small_number(b, &mut i) else {
        return false;
    };
    if b.get(i) != Some(&b':') {
        return false;
    }
    i += 1;
    let Some(second) = small_number(b, &mut i) else {
        return false;
    };
    if hour > 23 || minute > 59 || second > 59 {
        return false;
    }
    // Fractional seconds: a period or comma and digits.
    if matches!(b.get(i), Some(b'.' | b',')) && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    if !zoned {
        return i == b.len();
    }
    match b.get(i) {
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            let rest = &b[i + 1..];
            rest.len() == 5
                && rest[0].is_ascii_digit()
                && rest[1].is_ascii_digit()
                && rest[2] == b':'
                && rest[3].is_ascii_digit()
                && rest[4].is_ascii_digit()
                && (i64::from(rest[0] - b'0') * 10 + i64::from(rest[1] - b'0')) < 24
                && (i64::from(rest[3] - b'0') * 10 + i64::from(rest[4] - b'0')) < 60
        }
        _ => false,
    }
}

/// One or two digits, as Go's `getnum` reads a non-padded field.
fn small_number(b: &[u8], i: &mut usize) -> Option<i64> {
    let first = *b.get(*i)?;
    if !first.is_ascii_digit() {
        return None;
    }
    *i += 1;
    let mut n = i64::from(first - b'0');
    if let Some(&second) = b.get(*i)
        && second.is_ascii_digit()
    {
        *i += 1;
        n = n * 10 + i64::from(second - b'0');
    }
    Some(n)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// ---- key order ---------------------------------------------------------

/// yaml.v2's order of `map[interface{}]interface{}` keys: numbers and
/// booleans (as 0 and 1) by value, then by kind; then by kind (nil before
/// strings); strings among themselves as [`key_less`].
fn any_key_less(a: &Value, b: &Value) -> bool {
    // reflect.Kind numbers, which yaml.v2 compares.
    fn kind(v: &Value) -> u8 {
        match v {
            Value::Bool(_) => 1,
            Value::Int(_) => 2,
            Value::Int64(_) => 6,
            Value::Uint(_) => 11,
            Value::Float(_) => 14,
            Value::String(_) | Value::Bytes(_) => 24,
            _ => 20,
        }
    }
    fn number(v: &Value) -> Option<f64> {
        match v {
            Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            Value::Int(i) | Value::Int64(i) => Some(*i as f64),
            Value::Uint(u) => Some(*u as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }
    let (ak, bk) = (kind(a), kind(b));
    if let (Some(af), Some(bf)) = (number(a), number(b)) {
        if af != bf {
            return af < bf;
        }
        if ak != bk {
            return ak < bk;
        }
        return match (a, b) {
            (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x < y,
            (Value::Uint(x), Value::Uint(y)) => x < y,
            (Value::Bool(x), Value::Bool(y)) => !x & y,
            _ => false,
        };
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) => key_less(x, y),
        _ => ak < bk,
    }
}

/// yaml.v2's order of string map keys: letters compare as characters,
/// letters sort after non-letters, runs of digits compare by value.
pub(crate) fn key_less(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
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
        let mut an: i64 = 0;
        let mut bn: i64 = 0;
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 {
                j -= 1;
                if !is_go_digit(ar[j]) {
                    break;
                }
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && is_go_digit(ar[ai]) {
            an = an.wrapping_mul(10).wrapping_add(digit_value(ar[ai]));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && is_go_digit(br[bi]) {
            bn = bn.wrapping_mul(10).wrapping_add(digit_value(br[bi]));
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

/// Go's `unicode.IsDigit` (general category Nd). Non-ASCII numerals of
/// other categories are rare in keys and are counted as digits here.
fn is_go_digit(c: char) -> bool {
    c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric())
}

/// What Go adds for a digit: `rune - '0'` (also for non-ASCII digits).
fn digit_value(c: char) -> i64 {
    i64::from(u32::from(c)) - i64::from(u32::from('0'))
}

/// A stable merge sort that tolerates an inconsistent comparison (Rust's
/// own sort may panic on one).
pub(crate) fn merge_sort<T: Copy>(items: &mut [T], less: impl Fn(T, T) -> bool + Copy) {
    if items.len() <= 1 {
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

// ---- the emitter -------------------------------------------------------

/// Where a node stands, as the emitter tracks it.
#[derive(Debug, Clone, Copy)]
struct Context {
    mapping: bool,
    simple_key: bool,
}

impl Context {
    const ROOT: Context = Context {
        mapping: false,
        simple_key: false,
    };
    const ITEM: Context = Context {
        mapping: false,
        simple_key: false,
    };
    const SIMPLE_KEY: Context = Context {
        mapping: true,
        simple_key: true,
    };
    const VALUE: Context = Context {
        mapping: true,
        simple_key: false,
    };
}

/// What the scalar analysis found allowed.
struct Analysis {
    multiline: bool,
    flow_plain_allowed: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

struct Emitter {
    out: String,
    column: usize,
    whitespace: bool,
    indention: bool,
    indent: i64,
    indents: Vec<i64>,
    flow_level: usize,
    mapping_context: bool,
}

impl Emitter {
    fn new() -> Emitter {
        Emitter {
            out: String::new(),
            column: 0,
            whitespace: true,
            indention: true,
            indent: -1,
            indents: Vec::new(),
            flow_level: 0,
            mapping_context: false,
        }
    }

    fn node(&mut self, node: &Node, ctx: Context) {
        self.mapping_context = ctx.mapping;
        match node {
            Node::Scalar { text, style } => self.scalar(text, *style, ctx),
            Node::Seq(items) => {
                if self.flow_level > 0 || items.is_empty() {
                    self.flow_sequence(items);
                } else {
                    self.block_sequence(items);
                }
            }
            Node::Map(members) => {
                if self.flow_level > 0 || members.is_empty() {
                    self.flow_mapping(members);
                } else {
                    self.block_mapping(members);
                }
            }
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

    fn block_sequence(&mut self, items: &[Node]) {
        let indentless = self.mapping_context && !self.indention;
        self.increase_indent(false, indentless);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(item, Context::ITEM);
        }
        self.pop_indent();
    }

    fn block_mapping(&mut self, members: &[(Node, Node)]) {
        self.increase_indent(false, false);
        for (key, value) in members {
            self.write_indent();
            if is_simple_key(key) {
                self.node(key, Context::SIMPLE_KEY);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.node(key, Context::VALUE);
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.node(value, Context::VALUE);
        }
        self.pop_indent();
    }

    fn flow_sequence(&mut self, items: &[Node]) {
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
            self.node(item, Context::ITEM);
        }
        self.flow_level -= 1;
        self.pop_indent();
        self.write_indicator("]", false, false, false);
    }

    fn flow_mapping(&mut self, members: &[(Node, Node)]) {
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
            if is_simple_key(key) {
                self.node(key, Context::SIMPLE_KEY);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, false);
                self.node(key, Context::VALUE);
                if self.column > BEST_WIDTH {
                    self.write_indent();
                }
                self.write_indicator(":", true, false, false);
            }
            self.node(value, Context::VALUE);
        }
        self.flow_level -= 1;
        self.pop_indent();
        self.write_indicator("}", false, false, false);
    }

    fn scalar(&mut self, text: &str, requested: Style, ctx: Context) {
        let analysis = analyze(text);
        let mut style = requested;
        if ctx.simple_key && analysis.multiline {
            style = Style::DoubleQuoted;
        }
        if style == Style::Plain {
            if (self.flow_level > 0 && !analysis.flow_plain_allowed)
                || (self.flow_level == 0 && !analysis.block_plain_allowed)
            {
                style = Style::SingleQuoted;
            }
            if text.is_empty() && (self.flow_level > 0 || ctx.simple_key) {
                style = Style::SingleQuoted;
            }
        }
        if style == Style::SingleQuoted && !analysis.single_quoted_allowed {
            style = Style::DoubleQuoted;
        }
        if style == Style::Literal
            && (!analysis.block_allowed || self.flow_level > 0 || ctx.simple_key)
        {
            style = Style::DoubleQuoted;
        }
        self.increase_indent(true, false);
        let allow_breaks = !ctx.simple_key;
        match style {
            Style::Plain => self.write_plain(text, allow_breaks),
            Style::SingleQuoted => self.write_single_quoted(text, allow_breaks),
            Style::DoubleQuoted => self.write_double_quoted(text, allow_breaks),
            Style::Literal => self.write_literal(text),
        }
        self.pop_indent();
    }

    // ---- low-level writes ----

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    /// Copies a line break character of the scalar.
    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
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

    fn write_plain(&mut self, text: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let chars: Vec<char> = text.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_is_space = chars.get(i + 1) == Some(&' ');
                if allow_breaks && !spaces && self.column > BEST_WIDTH && !next_is_space {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break_char(c) {
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

    fn write_single_quoted(&mut self, text: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_is_space = chars.get(i + 1) == Some(&' ');
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i + 1 < chars.len()
                    && !next_is_space
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break_char(c) {
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

    fn write_double_quoted(&mut self, text: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let mut spaces = false;
        // Positions are compared in bytes, as the emitter walks bytes.
        let byte_len = text.len();
        let mut byte_pos = 0;
        for (i, &c) in chars.iter().enumerate() {
            let width = c.len_utf8();
            if !is_printable(c) || c == '\u{FEFF}' || is_break_char(c) || c == '"' || c == '\\' {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\u{7}' => self.put('a'),
                    '\u{8}' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\u{b}' => self.put('v'),
                    '\u{c}' => self.put('f'),
                    '\r' => self.put('r'),
                    '\u{1b}' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{a0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    _ => {
                        let code = u32::from(c);
                        let (letter, digits) = if code <= 0xFF {
                            ('x', 2)
                        } else if code <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(letter);
                        for k in (0..digits).rev() {
                            let digit = (code >> (k * 4)) & 0xF;
                            self.put(
                                char::from_digit(digit, 16).map_or('0', |d| d.to_ascii_uppercase()),
                            );
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && byte_pos + 1 < byte_len
                {
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
            byte_pos += width;
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, text: &str) {
        self.write_indicator("|", true, false, false);
        // Block scalar hints: an indentation digit when the text starts
        // with a space or break, and the chomping indicator.
        let first = text.chars().next();
        if matches!(first, Some(c) if c == ' ' || is_break_char(c)) {
            self.write_indicator(&BEST_INDENT.to_string(), false, false, false);
        }
        let mut rev = text.chars().rev();
        let chomp = match rev.next() {
            None => Some("-"),
            Some(last) if !is_break_char(last) => Some("-"),
            Some(_) => match rev.next() {
                None => Some("+"),
                Some(prev) if is_break_char(prev) => Some("+"),
                Some(_) => None,
            },
        };
        if let Some(chomp) = chomp {
            self.write_indicator(chomp, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for c in text.chars() {
            if is_break_char(c) {
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

/// Whether a key can be written as `key: value` rather than `? key`.
fn is_simple_key(key: &Node) -> bool {
    match key {
        Node::Scalar { text, .. } => !analyze(text).multiline && text.len() <= 128,
        Node::Seq(items) => items.is_empty(),
        Node::Map(members) => members.is_empty(),
    }
}

fn is_break_char(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// The characters libyaml writes as they are (YAML's printable set, but
/// only up to U+FFFD: four-byte characters count as unprintable here).
fn is_printable(c: char) -> bool {
    let code = u32::from(c);
    code == 0x0A
        || (0x20..=0x7E).contains(&code)
        || (0xA0..=0xD7FF).contains(&code)
        || ((0xE000..=0xFFFD).contains(&code) && code != 0xFEFF)
}

/// yaml.v2's `yaml_emitter_analyze_scalar`.
fn analyze(text: &str) -> Analysis {
    if text.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain_allowed: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = false;
    let mut flow_indicators = false;
    let mut line_breaks = false;
    let mut special_characters = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut previous_space = false;
    let mut previous_break = false;

    if text.starts_with("---") || text.starts_with("...") {
        block_indicators = true;
        flow_indicators = true;
    }
    let chars: Vec<char> = text.chars().collect();
    let mut preceded_by_whitespace = true;
    for (i, &c) in chars.iter().enumerate() {
        let last = i + 1 == chars.len();
        let followed_by_whitespace = last || matches!(chars[i + 1], ' ' | '\t');
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
            special_characters = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if last {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break_char(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if last {
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
        preceded_by_whitespace = matches!(c, ' ' | '\t' | '\0') || is_break_char(c);
    }
    let mut a = Analysis {
        multiline: line_breaks,
        flow_plain_allowed: true,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special_characters {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if flow_indicators {
        a.flow_plain_allowed = false;
    }
    if block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use gotemplate::decode_json;

    fn yaml_of(json: &str) -> String {
        to_yaml(&decode_json(json).unwrap())
    }

    #[test]
    fn nested_map_matches_the_agent() {
        let want = "big: 1.2345678901234567e+19\ne: 100000\nf: 1.5\nl:\n- 1\n- x\nm:\n  a: 1\n\"n\": 3\nneg: -7\ns: str";
        assert_eq!(
            yaml_of(
                r#"{"n":3,"f":1.50,"e":1E5,"s":"str","l":[1,"x"],"m":{"a":1},"big":12345678901234567890,"neg":-7}"#
            ),
            want
        );
    }

    #[test]
    fn yaml_words_and_numbers_in_strings_are_quoted() {
        assert_eq!(
            yaml_of(r#"["y","n","on","1","1.5","~","null","","2006-01-02"]"#),
            "- \"y\"\n- \"n\"\n- \"on\"\n- \"1\"\n- \"1.5\"\n- \"~\"\n- \"null\"\n- \"\"\n- \"2006-01-02\""
        );
    }

    #[test]
    fn four_byte_characters_are_escaped() {
        assert_eq!(yaml_of(r#""héllo ✓ 😀""#), "\"héllo ✓ \\U0001F600\"");
    }

    #[test]
    fn multi_line_strings_use_literal_style() {
        assert_eq!(yaml_of(r#"{"ml":"l1\nl2\n"}"#), "ml: |\n  l1\n  l2");
    }

    #[test]
    fn empty_containers_use_flow_style() {
        assert_eq!(yaml_of(r#"{"a":{},"b":[]}"#), "a: {}\nb: []");
    }

    #[test]
    fn keys_sort_with_numbers_by_value() {
        assert!(key_less("a2", "a10"));
        assert!(!key_less("a10", "a2"));
        assert!(key_less("1", "a"));
    }

    #[test]
    fn timestamps_need_a_valid_date() {
        assert!(is_timestamp("2026-11-28T14:29:00.297431907Z"));
        assert!(is_timestamp("2001-2-3"));
        assert!(!is_timestamp("2001-02-30"));
        assert!(!is_timestamp("2001-02-03x"));
    }

    #[test]
    fn plain_integers_take_go_base_prefixes_and_underscores() {
        assert_eq!(resolve_plain("0x1F"), Resolved::Int(31));
        assert_eq!(resolve_plain("017"), Resolved::Int(15));
        assert_eq!(resolve_plain("1_000"), Resolved::Int(1000));
        assert_eq!(
            resolve_plain("18446744073709551615"),
            Resolved::Uint(u64::MAX)
        );
    }

    #[test]
    fn binary_digits_after_0b_may_carry_a_sign() {
        assert_eq!(resolve_plain("0b101"), Resolved::Int(5));
        assert_eq!(resolve_plain("0b-101"), Resolved::Int(-5));
        assert_eq!(resolve_plain("-0b101"), Resolved::Int(-5));
        assert_eq!(resolve_plain("-0b-101"), Resolved::Str);
    }

    #[test]
    fn signed_integers_too_large_for_int64_are_floats() {
        // ParseUint takes no sign, so only the float reading is left.
        assert_eq!(
            resolve_plain("+18446744073709551615"),
            Resolved::Float(1.844_674_407_370_955_2e19)
        );
    }

    #[test]
    fn base60_floats_are_recognised() {
        assert!(is_base60_float("1:30"));
        assert!(is_base60_float("-190:20:30.15"));
        assert!(!is_base60_float("1:60"));
        assert!(!is_base60_float("a:1"));
    }
}
