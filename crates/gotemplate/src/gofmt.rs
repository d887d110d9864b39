//! Go's `fmt.Sprintf`, `fmt.Sprint` and `fmt.Sprintln` over [`Value`]s:
//! verbs, flags, widths, precisions, argument indexes and the `%!verb(...)`
//! error forms, as the template builtins `printf`, `print` and `println`
//! produce them.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::float;
use super::quote;
use super::value::{GoStruct, Value};

/// One argument of a print function.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    /// A value as passed to `fmt`.
    Val(&'a Value),
    /// A struct reached through its pointer, as `text/template` hands it to
    /// `fmt` when printing an action's result (`{...}` without `&`).
    Deref(&'a GoStruct),
}

/// `fmt.Sprintf(format, args...)`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let args: Vec<Arg<'_>> = args.iter().map(Arg::Val).collect();
    sprintf_args(format, &args)
}

/// `fmt.Sprint(args...)`: spaces only between operands when neither is a
/// string.
pub fn sprint(args: &[Value]) -> String {
    let args: Vec<Arg<'_>> = args.iter().map(Arg::Val).collect();
    sprint_args(&args)
}

/// `fmt.Sprintln(args...)`: spaces between all operands and a newline.
pub fn sprintln(args: &[Value]) -> String {
    let mut p = Printer::default();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            p.buf.push(' ');
        }
        p.print_arg(Arg::Val(arg), 'v');
    }
    p.buf.push('\n');
    p.buf
}

/// `fmt.Sprint` over prepared arguments.
pub fn sprint_args(args: &[Arg<'_>]) -> String {
    let mut p = Printer::default();
    let mut prev_string = false;
    for (i, arg) in args.iter().enumerate() {
        let is_string = matches!(arg, Arg::Val(Value::String(_) | Value::Number(_)));
        if i > 0 && !is_string && !prev_string {
            p.buf.push(' ');
        }
        p.print_arg(*arg, 'v');
        prev_string = is_string;
    }
    p.buf
}

/// `fmt.Sprintf` over prepared arguments.
pub fn sprintf_args(format: &str, args: &[Arg<'_>]) -> String {
    let mut p = Printer::default();
    p.do_printf(format, args);
    p.buf
}

const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";
const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Widths and precisions above this are treated as absent, as in Go.
const TOO_LARGE: usize = 1_000_000;

#[derive(Debug, Default, Clone, Copy)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    plus_v: bool,
    sharp_v: bool,
    wid: Option<usize>,
    prec: Option<usize>,
}

#[derive(Default)]
struct Printer {
    buf: String,
    f: Flags,
    /// Inside a `%!verb(...)`: stringer methods are not consulted.
    erroring: bool,
    reordered: bool,
    good_arg_num: bool,
}

/// How an integer is signed, for formatting.
#[derive(Clone, Copy)]
enum Int {
    Signed(i64),
    Unsigned(u64),
}

impl Printer {
    // ---- printf driver ------------------------------------------------

    fn do_printf(&mut self, format: &str, args: &[Arg<'_>]) {
        let bytes = format.as_bytes();
        let end = bytes.len();
        let mut arg_num = 0usize;
        let mut after_index;
        self.reordered = false;
        let mut i = 0;
        'outer: while i < end {
            self.good_arg_num = true;
            let last = i;
            while i < end && bytes[i] != b'%' {
                i += 1;
            }
            if i > last {
                self.buf.push_str(&format[last..i]);
            }
            if i >= end {
                break;
            }
            i += 1; // the '%'
            self.f = Flags::default();
            // Flags, and the fast path for a plain verb.
            while i < end {
                let c = bytes[i];
                match c {
                    b'#' => self.f.sharp = true,
                    b'0' => self.f.zero = !self.f.minus,
                    b'+' => self.f.plus = true,
                    b'-' => {
                        self.f.minus = true;
                        self.f.zero = false;
                    }
                    b' ' => self.f.space = true,
                    _ => {
                        if c.is_ascii_lowercase() && arg_num < args.len() {
                            let verb = char::from(c);
                            if verb == 'v' {
                                self.f.sharp_v = self.f.sharp;
                                self.f.sharp = false;
                                self.f.plus_v = self.f.plus;
                                self.f.plus = false;
                            }
                            self.print_arg(args[arg_num], verb);
                            arg_num += 1;
                            i += 1;
                            continue 'outer;
                        }
                        break;
                    }
                }
                i += 1;
            }
            // Argument index, then width.
            (arg_num, i, after_index) = self.arg_number(arg_num, format, i, args.len());
            if i < end && bytes[i] == b'*' {
                i += 1;
                let (wid, ok, next) = int_from_arg(args, arg_num);
                arg_num = next;
                match wid {
                    Some(w) if ok => {
                        if w < 0 {
                            self.f.minus = true;
                            self.f.zero = false;
                        }
                        self.f.wid = Some(w.unsigned_abs() as usize);
                    }
                    _ => {
                        self.f.wid = None;
                        self.buf.push_str("%!(BADWIDTH)");
                    }
                }
                after_index = false;
            } else {
                let (wid, next) = parse_num(bytes, i, end);
                self.f.wid = wid;
                i = next;
                if after_index && self.f.wid.is_some() {
                    self.good_arg_num = false;
                }
            }
            // Precision.
            if i < end && bytes[i] == b'.' {
                i += 1;
                if after_index {
                    self.good_arg_num = false;
                }
                (arg_num, i, after_index) = self.arg_number(arg_num, format, i, args.len());
                if i < end && bytes[i] == b'*' {
                    i += 1;
                    let (prec, ok, next) = int_from_arg(args, arg_num);
                    arg_num = next;
                    // A negative precision counts as a bad one.
                    match prec {
                        Some(p) if ok && p >= 0 => self.f.prec = Some(p as usize),
                        _ => {
                            self.f.prec = None;
                            self.buf.push_str("%!(BADPREC)");
                        }
                    }
                    after_index = false;
                } else {
                    let (prec, next) = parse_num(bytes, i, end);
                    i = next;
                    self.f.prec = Some(prec.unwrap_or(0));
                }
            }
            if !after_index {
                (arg_num, i, after_index) = self.arg_number(arg_num, format, i, args.len());
            }
            let _ = after_index;
            if i >= end {
                self.buf.push_str("%!(NOVERB)");
                break;
            }
            let verb = format[i..].chars().next().unwrap_or('\u{FFFD}');
            i += verb.len_utf8();
            if verb == '%' {
                self.buf.push('%');
            } else if !self.good_arg_num {
                self.bad_arg_num(verb);
            } else if arg_num >= args.len() {
                self.missing_arg(verb);
            } else {
                if verb == 'v' {
                    self.f.sharp_v = self.f.sharp;
                    self.f.sharp = false;
                    self.f.plus_v = self.f.plus;
                    self.f.plus = false;
                }
                self.print_arg(args[arg_num], verb);
                arg_num += 1;
            }
        }
        if !self.reordered && arg_num < args.len() {
            self.f = Flags::default();
            self.buf.push_str("%!(EXTRA ");
            for (i, arg) in args[arg_num..].iter().enumerate() {
                if i > 0 {
                    self.buf.push_str(", ");
                }
                match arg {
                    Arg::Val(Value::Nil) => self.buf.push_str("<nil>"),
                    _ => {
                        self.buf.push_str(&arg_type(*arg));
                        self.buf.push('=');
                        self.print_arg(*arg, 'v');
                    }
                }
            }
            self.buf.push(')');
        }
    }

    /// Reads an `[n]` argument index at `i`.
    fn arg_number(
        &mut self,
        arg_num: usize,
        format: &str,
        i: usize,
        num_args: usize,
    ) -> (usize, usize, bool) {
        let bytes = format.as_bytes();
        if i >= bytes.len() || bytes[i] != b'[' {
            return (arg_num, i, false);
        }
        self.reordered = true;
        let (index, wid, ok) = parse_arg_number(&bytes[i..]);
        if ok && let Some(index) = index.filter(|&n| n < num_args) {
            return (index, i + wid, true);
        }
        self.good_arg_num = false;
        (arg_num, i + wid, ok)
    }

    fn bad_arg_num(&mut self, verb: char) {
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push_str("(BADINDEX)");
    }

    fn missing_arg(&mut self, verb: char) {
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push_str("(MISSING)");
    }

    // ---- per-argument printing ----------------------------------------

    fn print_arg(&mut self, arg: Arg<'_>, verb: char) {
        let value = match arg {
            Arg::Deref(s) => {
                match verb {
                    'T' => self.fmt_s(&s.type_name),
                    _ => self.print_struct(s, verb, 0),
                }
                return;
            }
            Arg::Val(value) => value,
        };
        if value.is_nil() {
            match verb {
                'T' | 'v' => self.pad_str("<nil>"),
                _ => self.bad_verb(verb, Some(value)),
            }
            return;
        }
        match verb {
            'T' => {
                self.fmt_s(&value.go_type());
                return;
            }
            'p' => {
                self.fmt_pointer(value, verb);
                return;
            }
            _ => {}
        }
        self.print_value(value, verb, 0);
    }

    fn print_value(&mut self, value: &Value, verb: char, depth: usize) {
        match value {
            Value::Nil => self.pad_str("<nil>"),
            Value::Bool(b) => self.fmt_bool(*b, verb, value),
            Value::Int(i) | Value::Int64(i) => self.fmt_integer(Int::Signed(*i), verb, value),
            Value::Uint(u) => self.fmt_integer(Int::Unsigned(*u), verb, value),
            Value::Float(f) => self.fmt_float(*f, verb, value),
            Value::String(s) | Value::Number(s) => self.fmt_string(s, verb, value),
            // Builtins refuse binary strings before formatting; this is a
            // fallback that keeps the text readable.
            Value::Bytes(b) => self.fmt_string(&String::from_utf8_lossy(b), verb, value),
            Value::List(items) => self.print_list(items, verb, depth),
            Value::Strings(items) => self.print_strings(items, verb),
            Value::NilStrings if self.f.sharp_v => self.buf.push_str("[]string(nil)"),
            Value::NilStrings => self.buf.push_str("[]"),
            Value::Map(members) => self.print_map(Some(members), verb, depth),
            Value::StringMap(members) => self.print_string_map(members, verb),
            Value::AnyMap(entries) => self.print_any_map(entries, verb, depth),
            Value::Chan(_) => self.fmt_pointer(value, verb),
            Value::Complex(re, im) => self.fmt_complex(*re, *im, verb, value),
            Value::NilMap => self.print_map(None, verb, depth),
            Value::Struct(s) => {
                if s.fields.is_none() || verb == 'p' {
                    self.fmt_pointer(value, verb);
                } else if s.by_value {
                    self.print_struct(s, verb, depth + 1);
                } else {
                    // Go prints `&` and the struct only at the top; nested
                    // pointers would be addresses, which no one can match.
                    self.buf.push('&');
                    self.print_struct(s, verb, depth + 1);
                }
            }
        }
    }

    /// An element of a container, held in an `interface{}`; a nil one is
    /// written without padding, as Go does.
    fn print_elem(&mut self, value: &Value, verb: char, depth: usize) {
        if value.is_nil() {
            if self.f.sharp_v {
                self.buf.push_str("interface {}(nil)");
            } else {
                self.buf.push_str("<nil>");
            }
            return;
        }
        self.print_value(value, verb, depth);
    }

    fn print_list(&mut self, items: &[Value], verb: char, depth: usize) {
        if self.f.sharp_v {
            self.buf.push_str("[]interface {}{");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    self.buf.push_str(", ");
                }
                self.print_elem(item, verb, depth + 1);
            }
            self.buf.push('}');
            return;
        }
        self.buf.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.buf.push(' ');
            }
            self.print_elem(item, verb, depth + 1);
        }
        self.buf.push(']');
    }

    fn print_strings(&mut self, items: &[String], verb: char) {
        if self.f.sharp_v {
            self.buf.push_str("[]string{");
        } else {
            self.buf.push('[');
        }
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.buf.push_str(if self.f.sharp_v { ", " } else { " " });
            }
            let value = Value::String(item.clone());
            self.fmt_string(item, verb, &value);
        }
        self.buf.push(if self.f.sharp_v { '}' } else { ']' });
    }

    fn print_map(&mut self, members: Option<&BTreeMap<String, Value>>, verb: char, depth: usize) {
        if self.f.sharp_v {
            self.buf.push_str("map[string]interface {}");
            let Some(members) = members else {
                self.buf.push_str("(nil)");
                return;
            };
            self.buf.push('{');
            for (i, (key, item)) in members.iter().enumerate() {
                if i > 0 {
                    self.buf.push_str(", ");
                }
                self.fmt_string(key, verb, &Value::Nil);
                self.buf.push(':');
                self.print_elem(item, verb, depth + 1);
            }
            self.buf.push('}');
            return;
        }
        self.buf.push_str("map[");
        for (i, (key, item)) in members.into_iter().flatten().enumerate() {
            if i > 0 {
                self.buf.push(' ');
            }
            let key_value = Value::String(key.clone());
            self.fmt_string(key, verb, &key_value);
            self.buf.push(':');
            self.print_elem(item, verb, depth + 1);
        }
        self.buf.push(']');
    }

    fn print_any_map(&mut self, entries: &[(Value, Value)], verb: char, depth: usize) {
        if self.f.sharp_v {
            self.buf.push_str("map[interface {}]interface {}{");
        } else {
            self.buf.push_str("map[");
        }
        for (i, (key, item)) in entries.iter().enumerate() {
            if i > 0 {
                self.buf.push_str(if self.f.sharp_v { ", " } else { " " });
            }
            self.print_elem(key, verb, depth + 1);
            self.buf.push(':');
            self.print_elem(item, verb, depth + 1);
        }
        self.buf.push(if self.f.sharp_v { '}' } else { ']' });
    }

    fn print_string_map(&mut self, members: &BTreeMap<String, String>, verb: char) {
        if self.f.sharp_v {
            self.buf.push_str("map[string]string{");
        } else {
            self.buf.push_str("map[");
        }
        for (i, (key, item)) in members.iter().enumerate() {
            if i > 0 {
                self.buf.push_str(if self.f.sharp_v { ", " } else { " " });
            }
            self.fmt_string(key, verb, &Value::String(key.clone()));
            self.buf.push(':');
            self.fmt_string(item, verb, &Value::String(item.clone()));
        }
        self.buf.push(if self.f.sharp_v { '}' } else { ']' });
    }

    /// Go's `fmtComplex`: both parts with the verb, flags and width, the
    /// imaginary one always signed, in `(` `i)`.
    fn fmt_complex(&mut self, re: f64, im: f64, verb: char, value: &Value) {
        if !matches!(
            verb,
            'v' | 'b' | 'g' | 'G' | 'x' | 'X' | 'f' | 'F' | 'e' | 'E'
        ) {
            self.bad_verb(verb, Some(value));
            return;
        }
        let plus = self.f.plus;
        self.buf.push('(');
        self.fmt_float(re, verb, value);
        self.f.plus = true;
        self.fmt_float(im, verb, value);
        self.buf.push_str("i)");
        self.f.plus = plus;
    }

    fn print_struct(&mut self, s: &GoStruct, verb: char, depth: usize) {
        let Some(fields) = &s.fields else {
            self.pad_str("<nil>");
            return;
        };
        if self.f.sharp_v {
            self.buf.push_str(&s.type_name);
        }
        self.buf.push('{');
        for (i, (name, value)) in fields.iter().enumerate() {
            if i > 0 {
                self.buf.push_str(if self.f.sharp_v { ", " } else { " " });
            }
            if self.f.plus_v || self.f.sharp_v {
                self.buf.push_str(name);
                self.buf.push(':');
            }
            match value {
                Value::Struct(inner) if inner.fields.is_none() && self.f.sharp_v => {
                    let _ = write!(self.buf, "(*{})(nil)", inner.type_name);
                }
                _ => self.print_value(value, verb, depth + 1),
            }
        }
        self.buf.push('}');
    }

    fn fmt_pointer(&mut self, value: &Value, verb: char) {
        let is_nil_ptr = matches!(value, Value::Struct(s) if s.fields.is_none());
        let is_ref = matches!(
            value,
            Value::Struct(_)
                | Value::Map(_)
                | Value::NilMap
                | Value::List(_)
                | Value::Strings(_)
                | Value::NilStrings
                | Value::Chan(_)
        );
        if !is_ref {
            self.bad_verb(verb, Some(value));
            return;
        }
        let nil = is_nil_ptr || matches!(value, Value::NilMap);
        match verb {
            'v' if nil => {
                if self.f.sharp_v {
                    let _ = write!(self.buf, "({})(nil)", value.go_type());
                } else {
                    self.pad_str("<nil>");
                }
            }
            // Addresses differ from run to run; a fixed stand-in is printed.
            'v' | 'p' => self.pad_str(if nil { "0x0" } else { crate::value::ADDRESS }),
            _ => self.bad_verb(verb, Some(value)),
        }
    }

    /// `%!verb(type=value)`, printed with the flags in force.
    fn bad_verb(&mut self, verb: char, value: Option<&Value>) {
        self.erroring = true;
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push('(');
        match value {
            Some(v) if !v.is_nil() => {
                self.buf.push_str(&v.go_type());
                self.buf.push('=');
                self.print_arg(Arg::Val(v), 'v');
            }
            _ => self.buf.push_str("<nil>"),
        }
        self.buf.push(')');
        self.erroring = false;
    }

    // ---- scalars -------------------------------------------------------

    fn fmt_bool(&mut self, b: bool, verb: char, value: &Value) {
        match verb {
            't' | 'v' => self.pad_str(if b { "true" } else { "false" }),
            _ => self.bad_verb(verb, Some(value)),
        }
    }

    fn fmt_string(&mut self, s: &str, verb: char, value: &Value) {
        match verb {
            'v' if self.f.sharp_v => self.fmt_q(s),
            'v' | 's' => self.fmt_s(s),
            'x' => self.fmt_sx(s, LOWER_HEX, 'x'),
            'X' => self.fmt_sx(s, UPPER_HEX, 'X'),
            'q' => self.fmt_q(s),
            _ => self.bad_verb(verb, Some(value)),
        }
    }

    fn fmt_integer(&mut self, v: Int, verb: char, value: &Value) {
        match verb {
            'v' if self.f.sharp_v && matches!(v, Int::Unsigned(_)) => {
                let sharp = self.f.sharp;
                self.f.sharp = true;
                self.fmt_int_base(v, 16, verb, LOWER_HEX);
                self.f.sharp = sharp;
            }
            'v' | 'd' => self.fmt_int_base(v, 10, verb, LOWER_HEX),
            'b' => self.fmt_int_base(v, 2, verb, LOWER_HEX),
            'o' | 'O' => self.fmt_int_base(v, 8, verb, LOWER_HEX),
            'x' => self.fmt_int_base(v, 16, verb, LOWER_HEX),
            'X' => self.fmt_int_base(v, 16, verb, UPPER_HEX),
            'c' => {
                let c = code_point(v).and_then(char::from_u32).unwrap_or('\u{FFFD}');
                self.pad_str(c.encode_utf8(&mut [0u8; 4]));
            }
            'q' => {
                let code = code_point(v).unwrap_or(0xFFFD);
                let quoted = quote::quote_rune(code, self.f.plus);
                self.pad_str(&quoted);
            }
            'U' => self.fmt_unicode(v),
            _ => self.bad_verb(verb, Some(value)),
        }
    }

    fn fmt_int_base(&mut self, v: Int, base: u64, verb: char, digits: &[u8; 16]) {
        let (negative, mut u) = match v {
            Int::Signed(i) => (i < 0, i.unsigned_abs()),
            Int::Unsigned(u) => (false, u),
        };
        let mut prec = 0usize;
        if let Some(p) = self.f.prec {
            prec = p;
            if p == 0 && u == 0 {
                let zero = self.f.zero;
                self.f.zero = false;
                self.write_padding(self.f.wid.unwrap_or(0));
                self.f.zero = zero;
                return;
            }
        } else if self.f.zero
            && !self.f.minus
            && let Some(w) = self.f.wid
        {
            prec = w;
            if negative || self.f.plus || self.f.space {
                prec = prec.saturating_sub(1);
            }
        }
        // Digits right to left.
        let mut out: Vec<u8> = Vec::with_capacity(prec.max(24) + 4);
        loop {
            out.push(digits[(u % base) as usize]);
            u /= base;
            if u == 0 {
                break;
            }
        }
        while out.len() < prec {
            out.push(b'0');
        }
        if self.f.sharp {
            match base {
                2 => out.extend_from_slice(b"b0"),
                8 if out.last() != Some(&b'0') => {
                    out.push(b'0');
                }
                16 => {
                    out.push(if digits == UPPER_HEX { b'X' } else { b'x' });
                    out.push(b'0');
                }
                _ => {}
            }
        }
        if verb == 'O' {
            out.extend_from_slice(b"o0");
        }
        if negative {
            out.push(b'-');
        } else if self.f.plus {
            out.push(b'+');
        } else if self.f.space {
            out.push(b' ');
        }
        out.reverse();
        let text = String::from_utf8(out).unwrap_or_default();
        let zero = self.f.zero;
        self.f.zero = false;
        self.pad_str(&text);
        self.f.zero = zero;
    }

    fn fmt_unicode(&mut self, v: Int) {
        let u = match v {
            Int::Signed(i) => i as u64,
            Int::Unsigned(u) => u,
        };
        let mut text = format!("{u:X}");
        let prec = self.f.prec.unwrap_or(4).max(4);
        while text.len() < prec {
            text.insert(0, '0');
        }
        text.insert_str(0, "U+");
        if self.f.sharp
            && let Some(c) = u32::try_from(u).ok().and_then(char::from_u32)
            && quote::is_print(c)
        {
            text.push_str(" '");
            text.push(c);
            text.push('\'');
        }
        let zero = self.f.zero;
        self.f.zero = false;
        self.pad_str(&text);
        self.f.zero = zero;
    }

    fn fmt_float(&mut self, v: f64, verb: char, value: &Value) {
        let (verb, default_prec) = match verb {
            'v' => ('g', -1),
            'b' | 'g' | 'G' | 'x' | 'X' => (verb, -1),
            'f' | 'e' | 'E' => (verb, 6),
            'F' => ('f', 6),
            _ => {
                self.bad_verb(verb, Some(value));
                return;
            }
        };
        let prec = self
            .f
            .prec
            .map_or(default_prec, |p| i64::try_from(p).unwrap_or(i64::MAX));
        let mut num = float::format_float(v, verb, prec).into_bytes();
        // Reserve a sign position.
        if num.first() == Some(&b'-') || num.first() == Some(&b'+') {
        } else {
            num.insert(0, b'+');
        }
        if self.f.space && num[0] == b'+' && !self.f.plus {
            num[0] = b' ';
        }
        if num.get(1) == Some(&b'I') || num.get(1) == Some(&b'N') {
            let zero = self.f.zero;
            self.f.zero = false;
            if num[1] == b'N' && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            self.pad_str(&String::from_utf8(num).unwrap_or_default());
            self.f.zero = zero;
            return;
        }
        if self.f.sharp && verb != 'b' {
            num = sharp_float(num, verb, prec);
        }
        let text = String::from_utf8(num).unwrap_or_default();
        if self.f.plus || !text.starts_with('+') {
            if self.f.zero
                && !self.f.minus
                && let Some(w) = self.f.wid
                && w > text.len()
            {
                self.buf.push_str(&text[..1]);
                self.write_padding(w - text.len());
                self.buf.push_str(&text[1..]);
                return;
            }
            self.pad_str(&text);
            return;
        }
        self.pad_str(&text[1..]);
    }

    // ---- strings -------------------------------------------------------

    fn truncate<'s>(&self, s: &'s str) -> &'s str {
        match self.f.prec {
            Some(p) => match s.char_indices().nth(p) {
                Some((at, _)) => &s[..at],
                None => s,
            },
            None => s,
        }
    }

    fn fmt_s(&mut self, s: &str) {
        let s = self.truncate(s);
        self.pad_str(s);
    }

    fn fmt_q(&mut self, s: &str) {
        let s = self.truncate(s);
        if self.f.sharp && quote::can_backquote(s) {
            let text = format!("`{s}`");
            self.pad_str(&text);
            return;
        }
        let text = quote::quote(s, self.f.plus);
        self.pad_str(&text);
    }

    fn fmt_sx(&mut self, s: &str, digits: &[u8; 16], x: char) {
        let bytes = s.as_bytes();
        let length = self.f.prec.map_or(bytes.len(), |p| p.min(bytes.len()));
        let mut width = 2 * length;
        if width > 0 {
            if self.f.space {
                if self.f.sharp {
                    width *= 2;
                }
                width += length - 1;
            } else if self.f.sharp {
                width += 2;
            }
        } else {
            if let Some(w) = self.f.wid {
                self.write_padding(w);
            }
            return;
        }
        let wid = self.f.wid.unwrap_or(0);
        if wid > width && !self.f.minus {
            self.write_padding(wid - width);
        }
        if self.f.sharp {
            self.buf.push('0');
            self.buf.push(x);
        }
        for (i, &c) in bytes[..length].iter().enumerate() {
            if self.f.space && i > 0 {
                self.buf.push(' ');
                if self.f.sharp {
                    self.buf.push('0');
                    self.buf.push(x);
                }
            }
            self.buf.push(char::from(digits[usize::from(c >> 4)]));
            self.buf.push(char::from(digits[usize::from(c & 0xF)]));
        }
        if wid > width && self.f.minus {
            self.write_padding(wid - width);
        }
    }

    // ---- padding -------------------------------------------------------

    fn pad_str(&mut self, s: &str) {
        let Some(wid) = self.f.wid else {
            self.buf.push_str(s);
            return;
        };
        let count = s.chars().count();
        if count >= wid {
            self.buf.push_str(s);
        } else if self.f.minus {
            self.buf.push_str(s);
            self.write_padding(wid - count);
        } else {
            self.write_padding(wid - count);
            self.buf.push_str(s);
        }
    }

    fn write_padding(&mut self, n: usize) {
        let pad = if self.f.zero && !self.f.minus {
            '0'
        } else {
            ' '
        };
        self.buf.extend(std::iter::repeat_n(pad, n));
    }
}

/// The code point for `%c`/`%q` on an integer, `None` when out of range.
fn code_point(v: Int) -> Option<u32> {
    match v {
        Int::Signed(i) => u32::try_from(i).ok(),
        Int::Unsigned(u) => u32::try_from(u).ok(),
    }
}

fn arg_type(arg: Arg<'_>) -> String {
    match arg {
        Arg::Val(v) => v.go_type(),
        Arg::Deref(s) => s.type_name.clone(),
    }
}

/// Parses a decimal number at `start`; `None` when there are no digits or
/// the number is too large.
fn parse_num(bytes: &[u8], start: usize, end: usize) -> (Option<usize>, usize) {
    if start >= end {
        return (None, end);
    }
    let mut num = 0usize;
    let mut i = start;
    let mut any = false;
    while i < end && bytes[i].is_ascii_digit() {
        if num > TOO_LARGE {
            return (None, end);
        }
        num = num * 10 + usize::from(bytes[i] - b'0');
        any = true;
        i += 1;
    }
    (any.then_some(num), i)
}

/// Parses `[n]`: the zero-based index (if valid), the bytes consumed and
/// whether the brackets were well formed.
fn parse_arg_number(format: &[u8]) -> (Option<usize>, usize, bool) {
    if format.len() < 3 {
        return (None, 1, false);
    }
    for i in 1..format.len() {
        if format[i] == b']' {
            let (width, next) = parse_num(format, 1, i);
            return match width {
                Some(w) if next == i => (w.checked_sub(1), i + 1, true),
                _ => (None, i + 1, false),
            };
        }
    }
    (None, 1, false)
}

/// Reads an `int` argument for `*` widths and precisions: the value (when
/// the argument is an integer), whether it was usable, and the next index.
fn int_from_arg(args: &[Arg<'_>], arg_num: usize) -> (Option<i64>, bool, usize) {
    let Some(arg) = args.get(arg_num) else {
        return (None, false, arg_num);
    };
    let num = match arg {
        Arg::Val(Value::Int(i) | Value::Int64(i)) => Some(*i),
        Arg::Val(Value::Uint(u)) => i64::try_from(*u).ok(),
        _ => None,
    };
    let num = num.filter(|n| n.unsigned_abs() <= TOO_LARGE as u64);
    (num, num.is_some(), arg_num + 1)
}

/// The `#` flag on floats: always a decimal point, and for `%g` the
/// trailing zeros up to the precision.
fn sharp_float(mut num: Vec<u8>, verb: char, prec: i64) -> Vec<u8> {
    let mut digits: i64 = match verb {
        'v' | 'g' | 'G' | 'x' => {
            if prec == -1 {
                6
            } else {
                prec
            }
        }
        _ => 0,
    };
    let mut tail: Vec<u8> = Vec::new();
    let mut has_point = false;
    let mut saw_nonzero = false;
    let mut i = 1;
    while i < num.len() {
        match num[i] {
            b'.' => has_point = true,
            b'p' | b'P' => {
                tail.extend_from_slice(&num[i..]);
                num.truncate(i);
                break;
            }
            b'e' | b'E' if verb != 'x' && verb != 'X' => {
                tail.extend_from_slice(&num[i..]);
                num.truncate(i);
                break;
            }
            c => {
                if c != b'0' {
                    saw_nonzero = true;
                }
                if saw_nonzero {
                    digits -= 1;
                }
            }
        }
        i += 1;
    }
    if !has_point {
        if num.len() == 2 && num[1] == b'0' {
            digits -= 1;
        }
        num.push(b'.');
    }
    while digits > 0 {
        num.push(b'0');
        digits -= 1;
    }
    num.extend_from_slice(&tail);
    num
}

#[cfg(test)]
// The float inputs are the ones given to the agent, not approximations.
#[allow(clippy::approx_constant)]
mod tests {
    use super::*;
    use crate::value::decode_json;

    fn s(text: &str) -> Value {
        Value::String(text.into())
    }

    fn n(text: &str) -> Value {
        Value::Number(text.into())
    }

    fn i(v: i64) -> Value {
        Value::Int(v)
    }

    fn f(v: f64) -> Value {
        Value::Float(v)
    }

    // Expected strings below are what OpenBao 2.7.2's agent printed.

    #[test]
    fn integer_and_string_flags() {
        let got = sprintf(
            "%05s|%-05d|%05d|%+05d|% d|%x|%X|%#x|%o|%#o|%O|%b|%c|%q|%U|%#U|%-5s|%5.1s|%.2s",
            &[
                s("ab"),
                i(42),
                i(-42),
                i(42),
                i(42),
                i(255),
                i(255),
                i(255),
                i(8),
                i(8),
                i(8),
                i(5),
                i(65),
                i(65),
                i(0x1F600),
                i(0x41),
                s("x"),
                s("héllo"),
                s("héllo"),
            ],
        );
        assert_eq!(
            got,
            "000ab|42   |-0042|+0042| 42|ff|FF|0xff|10|010|0o10|101|A|'A'|U+1F600|U+0041 'A'|x    |    h|hé"
        );
    }

    #[test]
    fn float_verbs_and_flags() {
        let got = sprintf(
            "%e|%E|%f|%F|%g|%G|%.2f|%8.3f|%-8.2f|%+.1e|%08.3f|%+08.2f|% .2f|%.0f|%.3g|%g|%g|%#g|%#.3g|%.0e|%#.0f|%#.0e",
            &[
                f(1234.5678),
                f(1234.5678),
                f(1234.5678),
                f(1234.5678),
                f(1234.5678),
                f(0.00001234),
                f(3.14159),
                f(3.14159),
                f(3.14159),
                f(12345.678),
                f(-3.14159),
                f(3.14159),
                f(3.14159),
                f(2.5),
                f(1234.0),
                f(100000000.0),
                f(0.0001),
                f(1.0),
                f(1.0),
                f(15.0),
                f(2.0),
                f(2.0),
            ],
        );
        assert_eq!(
            got,
            "1.234568e+03|1.234568E+03|1234.567800|1234.567800|1234.5678|1.234E-05|3.14|   3.142|3.14    |+1.2e+04|-003.142|+0003.14| 3.14|2|1.23e+03|1e+08|0.0001|1.00000|1.00|2e+01|2.|2.e+00"
        );
    }

    #[test]
    fn more_float_forms() {
        let got = sprintf(
            "%6.2f|%-6.2f|%06.2f|%+.2e|%x|%X|%#v|%#v|%#v|%#v",
            &[
                f(1.005),
                f(2.5),
                f(-1.5),
                f(0.000123),
                f(1.5),
                f(-2.0),
                f(1.0),
                f(1e6),
                f(1.5e-7),
                s("s"),
            ],
        );
        assert_eq!(
            got,
            "  1.00|2.50  |-01.50|+1.23e-04|0x1.8p+00|-0X1P+01|1|1e+06|1.5e-07|\"s\""
        );
        let got = sprintf(
            "%v %v %v %v %v|%.3v|%10.4v|%v",
            &[
                f(1e21),
                f(1e20),
                f(123456789.0),
                f(0.000012),
                f(-0.0),
                f(3.14159),
                f(3.14159),
                f(100000.0),
            ],
        );
        assert_eq!(
            got,
            "1e+21 1e+20 1.23456789e+08 1.2e-05 -0|3.14|     3.142|100000"
        );
    }

    #[test]
    fn string_hex_and_quote_forms() {
        let got = sprintf(
            "%x|%X|% x|%#x|%# x|%q|%#q|%+q|%v|%#v|%s|%d",
            &[
                s("hi"),
                s("hi"),
                s("hi"),
                s("hi"),
                s("hi"),
                s("a\"b"),
                s("a\"b"),
                s("héllo"),
                s("s"),
                s("s"),
                i(5),
                s("x"),
            ],
        );
        assert_eq!(
            got,
            r#"6869|6869|68 69|0x6869|0x68 0x69|"a\"b"|`a"b`|"h\u00e9llo"|s|"s"|%!s(int=5)|%!d(string=x)"#
        );
    }

    #[test]
    fn list_verbs_apply_to_each_element() {
        let list = decode_json(r#"["a","b c",3,null,true]"#).unwrap();
        let got = sprintf(
            "%v|%d|%s|%5v|%x|%#v",
            &[
                list.clone(),
                list.clone(),
                list.clone(),
                list.clone(),
                list.clone(),
                list,
            ],
        );
        assert_eq!(
            got,
            "[a b c 3 <nil> true]|[%!d(string=a) %!d(string=b c) %!d(json.Number=3) <nil> %!d(bool=true)]|[a b c 3 <nil> %!s(bool=true)]|[    a   b c     3 <nil>  true]|[61 622063 33 <nil> %!x(bool=true)]|[]interface {}{\"a\", \"b c\", \"3\", interface {}(nil), true}"
        );
    }

    #[test]
    fn argument_indexes_and_star_widths() {
        let got = sprintf(
            "%[2]d %[1]d|%[3]d|%[0]d|%*d|%-*d|%.*f|%*d|%[1]*d|%d %d %[1]d %d|%!|%|%t|%t|%5t|%v",
            &[
                i(1),
                i(2),
                i(5),
                i(42),
                i(5),
                i(42),
                i(2),
                f(3.14159),
                s("x"),
                i(7),
            ],
        );
        assert_eq!(
            got,
            "2 1|5|%!d(BADINDEX)|                                         5|2                                         |%!(BADPREC)%!f(string=x)|%!d(MISSING)|2|5 42 1 2|%!!(int=5)|%!|(int=42)%!t(int=5)|%!t(int=42)|%!t(int=    2)|3.14159"
        );
    }

    #[test]
    fn missing_extra_and_bad_verbs() {
        assert_eq!(sprintf("%s %d", &[]), "%!s(MISSING) %!d(MISSING)");
        assert_eq!(sprintf("%d", &[i(1), i(2)]), "1%!(EXTRA int=2)");
        assert_eq!(sprintf("%!", &[]), "%!!(MISSING)");
        assert_eq!(sprintf("%z", &[i(3)]), "%!z(int=3)");
        assert_eq!(sprintf("%", &[]), "%!(NOVERB)");
        assert_eq!(
            sprintf(
                "%d|%s|%v",
                &[Value::Bool(true), Value::Bool(true), Value::Nil]
            ),
            "%!d(bool=true)|%!s(bool=true)|<nil>"
        );
        assert_eq!(
            sprintf("x", &[Value::Nil, s("a")]),
            "x%!(EXTRA <nil>, string=a)"
        );
    }

    #[test]
    fn bad_verb_keeps_width_and_precision() {
        assert_eq!(sprintf("%5.2f", &[n("1.50")]), "%!f(json.Number=   1.)");
        assert_eq!(sprintf("%d", &[n("5432")]), "%!d(json.Number=5432)");
    }

    #[test]
    fn json_number_formats_as_text() {
        assert_eq!(
            sprintf(
                "%s %v %q %x %T",
                &[n("5432"), n("5432"), n("5432"), n("5432"), n("5432")]
            ),
            "5432 5432 \"5432\" 35343332 json.Number"
        );
    }

    #[test]
    fn zero_precision_zero_value_prints_padding_only() {
        assert_eq!(
            sprintf(
                "%5.3d|%.0d|%+d|%x|%-8x|%08b",
                &[i(7), i(0), i(-3), i(-255), i(255), i(5)]
            ),
            "  007||-3|-ff|ff      |00000101"
        );
    }

    #[test]
    fn types_print_with_t() {
        assert_eq!(
            sprintf(
                "%T %T %T %T %T",
                &[i(1), f(1.0), s("s"), Value::Bool(true), Value::Nil]
            ),
            "int float64 string bool <nil>"
        );
    }

    #[test]
    fn sprint_spaces_only_between_non_strings() {
        let args = [i(1), i(2), s("a"), s("b"), i(3), Value::Nil, i(4)];
        assert_eq!(sprint(&args), "1 2ab3 <nil> 4");
        assert_eq!(
            sprint(&[n("3"), n("3"), i(1), i(2), s("x"), i(3)]),
            "331 2x3"
        );
        assert_eq!(sprint(&[]), "");
    }

    #[test]
    fn sprintln_spaces_everything_and_ends_with_newline() {
        assert_eq!(sprintln(&[i(1), s("a"), i(2)]), "1 a 2\n");
    }

    #[test]
    fn map_with_bad_verb_marks_keys_and_values() {
        let m = decode_json(r#"{"a":"x","n":1,"z":null}"#).unwrap();
        assert_eq!(
            sprintf("%d", &[m]),
            "map[%!d(string=a):%!d(string=x) %!d(string=n):%!d(json.Number=1) %!d(string=z):<nil>]"
        );
    }

    #[test]
    fn struct_pointer_prints_with_ampersand() {
        let st = Value::Struct(Box::new(GoStruct::new(
            "dependency.Secret",
            vec![
                ("A".into(), s("x")),
                ("B".into(), i(0)),
                (
                    "C".into(),
                    Value::Struct(Box::new(GoStruct::nil("dependency.SecretAuth"))),
                ),
            ],
        )));
        assert_eq!(sprintf("%v", std::slice::from_ref(&st)), "&{x 0 <nil>}");
        assert_eq!(
            sprintf("%+v", std::slice::from_ref(&st)),
            "&{A:x B:0 C:<nil>}"
        );
        assert_eq!(sprintf("%T", &[st]), "*dependency.Secret");
    }

    #[test]
    fn nil_struct_pointer_prints_nil() {
        let st = Value::Struct(Box::new(GoStruct::nil("dependency.SecretAuth")));
        assert_eq!(sprintf("%+v", &[st]), "<nil>");
    }
}
