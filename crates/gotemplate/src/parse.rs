//! Parse trees for templates and the parser that builds them, with Go's
//! grammar, checks and error messages (`template: NAME:LINE: ...`).

use std::collections::HashMap;

use super::lex::{Item, ItemKind, Lexer};
use super::number::{self, Number};
use super::quote;

/// Deepest nesting of parenthesised pipelines (Go allows 10000; the
/// recursion here must fit a small thread stack).
pub(crate) const MAX_PAREN_DEPTH: usize = 100;
/// Deepest nesting of `if`/`with`/`range`/`block` bodies.
pub(crate) const MAX_CONTROL_DEPTH: usize = 100;
/// Most commands in one pipeline, as in Go.
const MAX_PIPELINE_CMDS: usize = 100_000;

/// A parsed template: its name and body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tree {
    /// The template's name (`""` for the top level of a file).
    pub name: String,
    /// Its body.
    pub root: List,
}

/// A sequence of nodes.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct List {
    /// Byte offset of the list's start.
    pub pos: usize,
    /// The nodes in order.
    pub nodes: Vec<Node>,
}

/// A statement-level node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// Plain text, written as is.
    Text {
        /// Byte offset.
        pos: usize,
        /// The text.
        text: String,
    },
    /// `{{pipeline}}`.
    Action {
        /// Byte offset.
        pos: usize,
        /// The pipeline.
        pipe: Pipe,
    },
    /// `{{if}}`.
    If(Box<Branch>),
    /// `{{range}}`.
    Range(Box<Branch>),
    /// `{{with}}`.
    With(Box<Branch>),
    /// `{{template "name" pipeline}}`.
    Template {
        /// Byte offset.
        pos: usize,
        /// The template invoked.
        name: String,
        /// What becomes dot; `None` for nil.
        pipe: Option<Pipe>,
    },
    /// `{{break}}`.
    Break {
        /// Byte offset.
        pos: usize,
    },
    /// `{{continue}}`.
    Continue {
        /// Byte offset.
        pos: usize,
    },
}

/// The parts of `if`, `range` and `with`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Branch {
    /// Byte offset (of the pipeline).
    pub pos: usize,
    /// The condition or the value ranged over.
    pub pipe: Pipe,
    /// The body.
    pub list: List,
    /// The `{{else}}` part.
    pub else_list: Option<List>,
}

/// A pipeline: optional variable declarations and commands joined by `|`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pipe {
    /// Byte offset.
    pub pos: usize,
    /// `$x = ...` rather than `$x := ...`.
    pub is_assign: bool,
    /// The declared or assigned variables.
    pub decl: Vec<Variable>,
    /// The commands; each one's result is the last argument of the next.
    pub cmds: Vec<Command>,
}

/// A variable reference with optional field chain: `$x.a.b`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Variable {
    /// Byte offset.
    pub pos: usize,
    /// The name (with `$`) followed by field names.
    pub ident: Vec<String>,
}

/// One command of a pipeline: operands separated by spaces.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Command {
    /// Byte offset.
    pub pos: usize,
    /// The operands; the first one decides what the command does.
    pub args: Vec<Operand>,
}

/// An operand of a command.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    /// `.A.B`.
    Field {
        /// Byte offset.
        pos: usize,
        /// Field names without dots.
        ident: Vec<String>,
    },
    /// `(pipeline).A.B` or another term followed by fields.
    Chain {
        /// Byte offset.
        pos: usize,
        /// The term the fields apply to.
        node: Box<Operand>,
        /// Field names without dots.
        fields: Vec<String>,
    },
    /// A function name.
    Identifier {
        /// Byte offset.
        pos: usize,
        /// The name.
        name: String,
    },
    /// `$x.a`.
    Variable(Variable),
    /// `.`.
    Dot {
        /// Byte offset.
        pos: usize,
    },
    /// `nil`.
    Nil {
        /// Byte offset.
        pos: usize,
    },
    /// `true` / `false`.
    Bool {
        /// Byte offset.
        pos: usize,
        /// The value.
        value: bool,
    },
    /// A numeric constant.
    Number {
        /// Byte offset.
        pos: usize,
        /// The number in every type that can hold it.
        number: Box<Number>,
    },
    /// A string constant.
    String {
        /// Byte offset.
        pos: usize,
        /// The literal as written, with quotes.
        quoted: String,
        /// The unquoted text.
        text: String,
    },
    /// A parenthesised pipeline.
    Pipe(Box<Pipe>),
}

impl Operand {
    /// Byte offset of the operand.
    pub(crate) fn pos(&self) -> usize {
        match self {
            Operand::Field { pos, .. }
            | Operand::Chain { pos, .. }
            | Operand::Identifier { pos, .. }
            | Operand::Dot { pos }
            | Operand::Nil { pos }
            | Operand::Bool { pos, .. }
            | Operand::Number { pos, .. }
            | Operand::String { pos, .. } => *pos,
            Operand::Variable(v) => v.pos,
            Operand::Pipe(p) => p.pos,
        }
    }
}

// ---- Go's String() of nodes, used in error messages -------------------

impl std::fmt::Display for Operand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Operand::Field { ident, .. } => {
                for id in ident {
                    write!(f, ".{id}")?;
                }
                Ok(())
            }
            Operand::Chain { node, fields, .. } => {
                if let Operand::Pipe(p) = node.as_ref() {
                    write!(f, "({p})")?;
                } else {
                    write!(f, "{node}")?;
                }
                for field in fields {
                    write!(f, ".{field}")?;
                }
                Ok(())
            }
            Operand::Identifier { name, .. } => f.write_str(name),
            Operand::Variable(v) => write!(f, "{v}"),
            Operand::Dot { .. } => f.write_str("."),
            Operand::Nil { .. } => f.write_str("nil"),
            Operand::Bool { value, .. } => f.write_str(if *value { "true" } else { "false" }),
            Operand::Number { number, .. } => f.write_str(&number.text),
            Operand::String { quoted, .. } => f.write_str(quoted),
            Operand::Pipe(p) => write!(f, "{p}"),
        }
    }
}

impl std::fmt::Display for Variable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.ident.join("."))
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if let Operand::Pipe(p) = arg {
                write!(f, "({p})")?;
            } else {
                write!(f, "{arg}")?;
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for Pipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.decl.is_empty() {
            for (i, v) in self.decl.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{v}")?;
            }
            f.write_str(" := ")?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl std::fmt::Display for List {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for n in &self.nodes {
            write!(f, "{n}")?;
        }
        Ok(())
    }
}

impl std::fmt::Display for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Node::Text { text, .. } => f.write_str(text),
            Node::Action { pipe, .. } => write!(f, "{{{{{pipe}}}}}"),
            Node::If(b) => write_branch(f, "if", b),
            Node::Range(b) => write_branch(f, "range", b),
            Node::With(b) => write_branch(f, "with", b),
            Node::Template { name, pipe, .. } => {
                write!(f, "{{{{template {}", quote::quote(name, false))?;
                if let Some(p) = pipe {
                    write!(f, " {p}")?;
                }
                f.write_str("}}")
            }
            Node::Break { .. } => f.write_str("{{break}}"),
            Node::Continue { .. } => f.write_str("{{continue}}"),
        }
    }
}

fn write_branch(f: &mut std::fmt::Formatter<'_>, name: &str, b: &Branch) -> std::fmt::Result {
    write!(f, "{{{{{name} {}}}}}{}", b.pipe, b.list)?;
    if let Some(e) = &b.else_list {
        write!(f, "{{{{else}}}}{e}")?;
    }
    f.write_str("{{end}}")
}

// ---- parser ------------------------------------------------------------

/// A parse failure, already in Go's words (`template: NAME:LINE: ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError(pub String);

type PResult<T> = Result<T, ParseError>;

/// Where a parse stopped and what it produced, for control keywords.
enum Ctl {
    /// An ordinary node.
    Node(Node),
    /// `{{end}}`.
    End,
    /// `{{else}}` at this position.
    Else(usize),
}

struct Parser<'a, 'f> {
    parse_name: &'a str,
    lex: Lexer<'a>,
    token: [Item; 3],
    peek_count: usize,
    vars: Vec<String>,
    tree_set: &'f mut HashMap<String, Tree>,
    has_function: &'f dyn Fn(&str) -> bool,
    action_line: usize,
    range_depth: usize,
    paren_depth: usize,
    control_depth: usize,
}

fn blank_item() -> Item {
    Item {
        kind: ItemKind::Eof,
        pos: 0,
        val: String::new(),
        line: 0,
    }
}

/// Parses `text` into the template named `name` plus every `{{define}}`
/// and `{{block}}` in it. `has_function` tells which function names exist
/// (Go rejects unknown functions at parse time).
pub(crate) fn parse(
    name: &str,
    text: &str,
    left_delim: &str,
    right_delim: &str,
    has_function: &dyn Fn(&str) -> bool,
) -> Result<HashMap<String, Tree>, ParseError> {
    let mut tree_set = HashMap::new();
    {
        let mut p = Parser {
            parse_name: name,
            lex: Lexer::new(text, left_delim, right_delim),
            token: [blank_item(), blank_item(), blank_item()],
            peek_count: 0,
            vars: vec!["$".into()],
            tree_set: &mut tree_set,
            has_function,
            action_line: 0,
            range_depth: 0,
            paren_depth: 0,
            control_depth: 0,
        };
        let root = p.parse_top()?;
        p.add(name, root)?;
    }
    Ok(tree_set)
}

/// Whether a list holds nothing but space (Go's `IsEmptyTree`).
pub(crate) fn is_empty_tree(list: &List) -> bool {
    list.nodes.iter().all(|n| match n {
        // Go's `bytes.TrimSpace` trims Unicode white space too.
        Node::Text { text, .. } => text.trim().is_empty(),
        _ => false,
    })
}

impl<'a> Parser<'a, '_> {
    // ---- token buffer ------------------------------------------------

    fn next(&mut self) -> Item {
        if self.peek_count > 0 {
            self.peek_count -= 1;
        } else {
            self.token[0] = self.lex.next_item();
        }
        self.token[self.peek_count].clone()
    }

    fn backup(&mut self) {
        self.peek_count += 1;
    }

    fn backup2(&mut self, t1: Item) {
        self.token[1] = t1;
        self.peek_count = 2;
    }

    fn backup3(&mut self, t2: Item, t1: Item) {
        self.token[1] = t1;
        self.token[2] = t2;
        self.peek_count = 3;
    }

    fn peek(&mut self) -> Item {
        if self.peek_count > 0 {
            return self.token[self.peek_count - 1].clone();
        }
        self.peek_count = 1;
        self.token[0] = self.lex.next_item();
        self.token[0].clone()
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let t = self.next();
            if t.kind != ItemKind::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let t = self.next_non_space();
        self.backup();
        t
    }

    // ---- errors --------------------------------------------------------

    fn errorf<T>(&self, message: impl std::fmt::Display) -> PResult<T> {
        Err(ParseError(format!(
            "template: {}:{}: {message}",
            self.parse_name, self.token[0].line
        )))
    }

    fn unexpected<T>(&self, token: &Item, context: &str) -> PResult<T> {
        if token.kind == ItemKind::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != token.line {
                extra = format!(
                    " in action started at {}:{}",
                    self.parse_name, self.action_line
                );
                if token.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format_args!("{token}{extra}"));
        }
        self.errorf(format_args!("unexpected {token} in {context}"))
    }

    fn expect(&mut self, kind: ItemKind, context: &str) -> PResult<Item> {
        let t = self.next_non_space();
        if t.kind != kind {
            return self.unexpected(&t, context);
        }
        Ok(t)
    }

    // ---- trees ---------------------------------------------------------

    /// Adds a finished tree; an empty tree never replaces a full one, and
    /// two full trees of one name are an error.
    fn add(&mut self, name: &str, root: List) -> PResult<()> {
        match self.tree_set.get(name) {
            Some(existing) if !is_empty_tree(&existing.root) => {
                if !is_empty_tree(&root) {
                    return self.errorf(format_args!(
                        "template: multiple definition of template {}",
                        quote::quote(name, false)
                    ));
                }
                Ok(())
            }
            _ => {
                self.tree_set.insert(
                    name.to_string(),
                    Tree {
                        name: name.to_string(),
                        root,
                    },
                );
                Ok(())
            }
        }
    }

    /// Runs `body` as the parse of a separate tree (a `define` or `block`
    /// body), which starts with no variables but `$` and outside any range.
    fn with_fresh_scope<T>(&mut self, body: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        let vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let range_depth = std::mem::replace(&mut self.range_depth, 0);
        let result = body(self);
        self.vars = vars;
        self.range_depth = range_depth;
        result
    }

    fn parse_top(&mut self) -> PResult<List> {
        let mut root = List {
            pos: self.peek().pos,
            nodes: Vec::new(),
        };
        while self.peek().kind != ItemKind::Eof {
            if self.peek().kind == ItemKind::LeftDelim {
                let delim = self.next();
                if self.next_non_space().kind == ItemKind::Define {
                    self.with_fresh_scope(|p| p.parse_definition())?;
                    continue;
                }
                self.backup2(delim);
            }
            match self.text_or_action()? {
                Ctl::Node(n) => root.nodes.push(n),
                Ctl::End => return self.errorf("unexpected {{end}}"),
                Ctl::Else(_) => return self.errorf("unexpected {{else}}"),
            }
        }
        Ok(root)
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let name = self.next_non_space();
        if !matches!(name.kind, ItemKind::String | ItemKind::RawString) {
            return self.unexpected(&name, context);
        }
        let name = match quote::unquote(&name.val) {
            Ok(n) => n,
            Err(e) => return self.errorf(e),
        };
        self.expect(ItemKind::RightDelim, context)?;
        let (list, end) = self.item_list()?;
        if let Ctl::Else(_) = end {
            return self.errorf(format_args!("unexpected {{{{else}}}} in {context}"));
        }
        self.add(&name, list)
    }

    /// `textOrAction*` up to `{{end}}` or `{{else}}`.
    fn item_list(&mut self) -> PResult<(List, Ctl)> {
        if self.control_depth >= MAX_CONTROL_DEPTH {
            return self.errorf("max control nesting depth exceeded");
        }
        self.control_depth += 1;
        let result = self.item_list_inner();
        self.control_depth -= 1;
        result
    }

    fn item_list_inner(&mut self) -> PResult<(List, Ctl)> {
        let mut list = List {
            pos: self.peek_non_space().pos,
            nodes: Vec::new(),
        };
        while self.peek_non_space().kind != ItemKind::Eof {
            match self.text_or_action()? {
                Ctl::Node(n) => list.nodes.push(n),
                other => return Ok((list, other)),
            }
        }
        self.errorf("unexpected EOF")
    }

    fn text_or_action(&mut self) -> PResult<Ctl> {
        let token = self.next_non_space();
        match token.kind {
            ItemKind::Text => Ok(Ctl::Node(Node::Text {
                pos: token.pos,
                text: token.val,
            })),
            ItemKind::LeftDelim => {
                self.action_line = token.line;
                let result = self.action();
                self.action_line = 0;
                result
            }
            _ => self.unexpected(&token, "input"),
        }
    }

    fn action(&mut self) -> PResult<Ctl> {
        let token = self.next_non_space();
        match token.kind {
            ItemKind::Block => return self.block_control().map(Ctl::Node),
            ItemKind::Break => return self.break_control(token.pos, "{{break}}").map(Ctl::Node),
            ItemKind::Continue => {
                return self.break_control(token.pos, "{{continue}}").map(Ctl::Node);
            }
            ItemKind::Else => return self.else_control(),
            ItemKind::End => {
                self.expect(ItemKind::RightDelim, "end")?;
                return Ok(Ctl::End);
            }
            ItemKind::If => return self.branch("if").map(|b| Ctl::Node(Node::If(b))),
            ItemKind::Range => return self.branch("range").map(|b| Ctl::Node(Node::Range(b))),
            ItemKind::Template => return self.template_control().map(Ctl::Node),
            ItemKind::With => return self.branch("with").map(|b| Ctl::Node(Node::With(b))),
            _ => {}
        }
        self.backup();
        let token = self.peek();
        // Variables declared here persist until the enclosing {{end}}.
        let pipe = self.pipeline("command", ItemKind::RightDelim)?;
        Ok(Ctl::Node(Node::Action {
            pos: token.pos,
            pipe,
        }))
    }

    fn break_control(&mut self, pos: usize, what: &str) -> PResult<Node> {
        let token = self.next_non_space();
        if token.kind != ItemKind::RightDelim {
            return self.unexpected(&token, what);
        }
        if self.range_depth == 0 {
            return self.errorf(format_args!("{what} outside {{{{range}}}}"));
        }
        Ok(if what == "{{break}}" {
            Node::Break { pos }
        } else {
            Node::Continue { pos }
        })
    }

    fn else_control(&mut self) -> PResult<Ctl> {
        let peek = self.peek_non_space();
        // `{{else if}}` / `{{else with}}`: the keyword stays pending.
        if matches!(peek.kind, ItemKind::If | ItemKind::With) {
            return Ok(Ctl::Else(peek.pos));
        }
        let token = self.expect(ItemKind::RightDelim, "else")?;
        Ok(Ctl::Else(token.pos))
    }

    fn branch(&mut self, context: &str) -> PResult<Box<Branch>> {
        let mark = self.vars.len();
        let result = self.branch_inner(context);
        self.vars.truncate(mark);
        result
    }

    fn branch_inner(&mut self, context: &str) -> PResult<Box<Branch>> {
        let pipe = self.pipeline(context, ItemKind::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let listed = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, next) = listed?;
        let mut else_list = None;
        match next {
            Ctl::End => {}
            Ctl::Else(pos) => {
                let pending = self.peek().kind;
                if context == "if" && pending == ItemKind::If {
                    self.next();
                    let inner = self.branch("if")?;
                    else_list = Some(List {
                        pos,
                        nodes: vec![Node::If(inner)],
                    });
                } else if context == "with" && pending == ItemKind::With {
                    self.next();
                    let inner = self.branch("with")?;
                    else_list = Some(List {
                        pos,
                        nodes: vec![Node::With(inner)],
                    });
                } else {
                    let (list, next) = self.item_list()?;
                    if !matches!(next, Ctl::End) {
                        return self.errorf("expected end; found {{else}}");
                    }
                    else_list = Some(list);
                }
            }
            // item_list stops only at {{end}} or {{else}}.
            Ctl::Node(_) => return self.errorf("internal error: list ended without end"),
        }
        Ok(Box::new(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        }))
    }

    fn block_control(&mut self) -> PResult<Node> {
        let context = "block clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, context)?;
        let pipe = self.pipeline(context, ItemKind::RightDelim)?;
        let (list, end) = self.with_fresh_scope(|p| p.item_list())?;
        if let Ctl::Else(_) = end {
            return self.errorf(format_args!("unexpected {{{{else}}}} in {context}"));
        }
        self.add(&name, list)?;
        Ok(Node::Template {
            pos: token.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn template_control(&mut self) -> PResult<Node> {
        let context = "template clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, context)?;
        let mut pipe = None;
        if self.next_non_space().kind != ItemKind::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(context, ItemKind::RightDelim)?);
        }
        Ok(Node::Template {
            pos: token.pos,
            name,
            pipe,
        })
    }

    fn template_name(&mut self, token: &Item, context: &str) -> PResult<String> {
        match token.kind {
            ItemKind::String | ItemKind::RawString => match quote::unquote(&token.val) {
                Ok(name) => Ok(name),
                Err(e) => self.errorf(e),
            },
            _ => self.unexpected(token, context),
        }
    }

    fn pipeline(&mut self, context: &str, end: ItemKind) -> PResult<Pipe> {
        let token = self.peek_non_space();
        let mut pipe = Pipe {
            pos: token.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        // Declarations or assignments need three tokens of look-ahead:
        // "$x foo" is an argument, "$x := foo" a declaration.
        loop {
            let v = self.peek_non_space();
            if v.kind != ItemKind::Variable {
                break;
            }
            self.next();
            let token_after_variable = self.peek();
            let next = self.peek_non_space();
            if matches!(next.kind, ItemKind::Assign | ItemKind::Declare) {
                pipe.is_assign = next.kind == ItemKind::Assign;
                self.next_non_space();
                pipe.decl.push(new_variable(v.pos, &v.val));
                self.vars.push(v.val.clone());
            } else if next.kind == ItemKind::Char && next.val == "," {
                self.next_non_space();
                pipe.decl.push(new_variable(v.pos, &v.val));
                self.vars.push(v.val.clone());
                if context == "range" && pipe.decl.len() < 2 {
                    match self.peek_non_space().kind {
                        ItemKind::Variable | ItemKind::RightDelim | ItemKind::RightParen => {
                            // The second variable of a range.
                            continue;
                        }
                        _ => return self.errorf("range can only initialize variables"),
                    }
                }
                return self.errorf(format_args!("too many declarations in {context}"));
            } else if token_after_variable.kind == ItemKind::Space {
                self.backup3(v, token_after_variable);
            } else {
                self.backup2(v);
            }
            break;
        }
        loop {
            let token = self.next_non_space();
            match token.kind {
                k if k == end => {
                    self.check_pipeline(&pipe, context)?;
                    return Ok(pipe);
                }
                ItemKind::Bool
                | ItemKind::CharConstant
                | ItemKind::Complex
                | ItemKind::Dot
                | ItemKind::Field
                | ItemKind::Identifier
                | ItemKind::Number
                | ItemKind::Nil
                | ItemKind::RawString
                | ItemKind::String
                | ItemKind::Variable
                | ItemKind::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                    if pipe.cmds.len() > MAX_PIPELINE_CMDS {
                        return self.errorf("pipeline too long");
                    }
                }
                _ => return self.unexpected(&token, context),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return self.errorf(format_args!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args.first(),
                Some(
                    Operand::Bool { .. }
                        | Operand::Dot { .. }
                        | Operand::Nil { .. }
                        | Operand::Number { .. }
                        | Operand::String { .. }
                )
            ) {
                return self.errorf(format_args!(
                    "non executable command in pipeline stage {}",
                    i + 1
                ));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let mut cmd = Command {
            pos: self.peek_non_space().pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(operand) = self.operand()? {
                cmd.args.push(operand);
            }
            let token = self.next();
            match token.kind {
                ItemKind::Space => continue,
                ItemKind::RightDelim | ItemKind::RightParen => self.backup(),
                ItemKind::Pipe => {}
                _ => return self.unexpected(&token, "operand"),
            }
            break;
        }
        if cmd.args.is_empty() {
            return self.errorf("empty command");
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Operand>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().kind != ItemKind::Field {
            return Ok(Some(node));
        }
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().kind == ItemKind::Field {
            let f = self.next().val;
            fields.push(f[1..].to_string());
        }
        Ok(Some(match node {
            Operand::Field { ident, .. } => {
                let mut ident = ident;
                ident.extend(fields);
                Operand::Field { pos, ident }
            }
            Operand::Variable(v) => {
                let mut ident = v.ident;
                ident.extend(fields);
                Operand::Variable(Variable { pos, ident })
            }
            Operand::Bool { .. }
            | Operand::String { .. }
            | Operand::Number { .. }
            | Operand::Nil { .. }
            | Operand::Dot { .. } => {
                let text = node.to_string();
                return self.errorf(format_args!(
                    "unexpected . after term {}",
                    quote::quote(&text, false)
                ));
            }
            other => Operand::Chain {
                pos,
                node: Box::new(other),
                fields,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Operand>> {
        let token = self.next_non_space();
        let pos = token.pos;
        let operand = match token.kind {
            ItemKind::Identifier => {
                if !(self.has_function)(&token.val) {
                    return self.errorf(format_args!(
                        "function {} not defined",
                        quote::quote(&token.val, false)
                    ));
                }
                Operand::Identifier {
                    pos,
                    name: token.val,
                }
            }
            ItemKind::Dot => Operand::Dot { pos },
            ItemKind::Nil => Operand::Nil { pos },
            ItemKind::Variable => {
                let v = new_variable(pos, &token.val);
                if !self.vars.iter().any(|name| *name == v.ident[0]) {
                    return self.errorf(format_args!(
                        "undefined variable {}",
                        quote::quote(&v.ident[0], false)
                    ));
                }
                Operand::Variable(v)
            }
            ItemKind::Field => Operand::Field {
                pos,
                ident: token.val[1..].split('.').map(str::to_string).collect(),
            },
            ItemKind::Bool => Operand::Bool {
                pos,
                value: token.val == "true",
            },
            ItemKind::CharConstant | ItemKind::Complex | ItemKind::Number => {
                match number::parse(&token.val, token.kind) {
                    Ok(number) => Operand::Number {
                        pos,
                        number: Box::new(number),
                    },
                    Err(e) => return self.errorf(e),
                }
            }
            ItemKind::LeftParen => {
                if self.paren_depth >= MAX_PAREN_DEPTH {
                    return self.errorf("max expression depth exceeded");
                }
                self.paren_depth += 1;
                let pipe = self.pipeline("parenthesized pipeline", ItemKind::RightParen);
                self.paren_depth -= 1;
                Operand::Pipe(Box::new(pipe?))
            }
            ItemKind::String | ItemKind::RawString => match quote::unquote(&token.val) {
                Ok(text) => Operand::String {
                    pos,
                    quoted: token.val,
                    text,
                },
                Err(e) => return self.errorf(e),
            },
            _ => {
                self.backup();
                return Ok(None);
            }
        };
        Ok(Some(operand))
    }
}

fn new_variable(pos: usize, ident: &str) -> Variable {
    Variable {
        pos,
        ident: ident.split('.').map(str::to_string).collect(),
    }
}

/// Go's `ErrorContext`: `NAME:LINE:COL` of a byte offset (column counted
/// in bytes from 0) in `text`.
pub(crate) fn location(parse_name: &str, text: &str, pos: usize) -> String {
    let pos = pos.min(text.len());
    let before = text.get(..pos).unwrap_or(text);
    let line = 1 + before.bytes().filter(|&b| b == b'\n').count();
    let col = match before.rfind('\n') {
        Some(nl) => pos - (nl + 1),
        None => pos,
    };
    format!("{parse_name}:{line}:{col}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(_: &str) -> bool {
        true
    }

    fn only(names: &'static [&'static str]) -> impl Fn(&str) -> bool {
        move |n| names.contains(&n)
    }

    fn parse_ok(text: &str) -> HashMap<String, Tree> {
        parse("", text, "", "", &all).unwrap_or_else(|e| panic!("{text}: {}", e.0))
    }

    fn parse_err(text: &str) -> String {
        parse("", text, "", "", &only(&["printf", "f"]))
            .map(|_| ())
            .unwrap_err()
            .0
    }

    fn top(text: &str) -> String {
        parse_ok(text)[""].root.to_string()
    }

    #[test]
    fn round_trips_simple_actions() {
        assert_eq!(top("a{{.X.Y}}b"), "a{{.X.Y}}b");
        assert_eq!(top("{{ $x := f 1 \"s\" | g }}"), "{{$x := f 1 \"s\" | g}}");
        assert_eq!(top("{{ (f .A).B.C }}"), "{{(f .A).B.C}}");
        assert_eq!(top("{{ $.A }}"), "{{$.A}}");
    }

    #[test]
    fn branches_with_else_if_chains() {
        assert_eq!(
            top("{{if 1}}a{{else if 2}}b{{else}}c{{end}}"),
            "{{if 1}}a{{else}}{{if 2}}b{{else}}c{{end}}{{end}}"
        );
        assert_eq!(
            top("{{with .A}}a{{else with .B}}b{{end}}"),
            "{{with .A}}a{{else}}{{with .B}}b{{end}}{{end}}"
        );
    }

    #[test]
    fn range_declares_two_variables() {
        assert_eq!(
            top("{{range $k, $v := .}}{{$k}}{{end}}"),
            "{{range $k, $v := .}}{{$k}}{{end}}"
        );
    }

    #[test]
    fn define_and_block_add_trees() {
        let set = parse_ok("{{define \"a\"}}A{{end}}x{{block \"b\" .}}B{{end}}");
        assert_eq!(set["a"].root.to_string(), "A");
        assert_eq!(set["b"].root.to_string(), "B");
        assert_eq!(set[""].root.to_string(), "x{{template \"b\" .}}");
    }

    #[test]
    fn unknown_function_is_rejected() {
        assert_eq!(
            parse_err("{{ nope 1 }}"),
            "template: :1: function \"nope\" not defined"
        );
    }

    #[test]
    fn undefined_variable_is_rejected() {
        assert_eq!(
            parse_err("{{ $x }}"),
            "template: :1: undefined variable \"$x\""
        );
    }

    #[test]
    fn variable_scope_ends_at_end() {
        assert_eq!(
            parse_err("{{if 1}}{{$x := 1}}{{end}}{{$x}}"),
            "template: :1: undefined variable \"$x\""
        );
    }

    #[test]
    fn stray_end_and_else() {
        assert_eq!(parse_err("{{end}}"), "template: :1: unexpected {{end}}");
        assert_eq!(parse_err("{{else}}"), "template: :1: unexpected {{else}}");
        assert_eq!(parse_err("{{if 1}}"), "template: :1: unexpected EOF");
    }

    #[test]
    fn break_outside_range() {
        assert_eq!(
            parse_err("{{break}}"),
            "template: :1: {{break}} outside {{range}}"
        );
    }

    #[test]
    fn empty_and_non_executable_pipelines() {
        assert_eq!(parse_err("{{}}"), "template: :1: missing value for command");
        assert_eq!(
            parse_err("{{ 1 | 2 }}"),
            "template: :1: non executable command in pipeline stage 2"
        );
        assert_eq!(
            parse_err("{{if}}{{end}}"),
            "template: :1: missing value for if"
        );
    }

    #[test]
    fn lexer_errors_surface_with_line() {
        assert_eq!(
            parse_err("a\n{{ .a-b }}"),
            "template: :2: bad character U+002D '-'"
        );
        assert_eq!(
            parse_err("{{ f\n\"x }}"),
            "template: :2: unterminated quoted string in action started at :1"
        );
        assert_eq!(parse_err("{{ 1"), "template: :1: unclosed action");
    }

    #[test]
    fn unexpected_tokens_name_their_context() {
        assert_eq!(
            parse_err("{{ 1 = 2 }}"),
            "template: :1: unexpected \"=\" in operand"
        );
        assert_eq!(
            parse_err("{{ \"a\".b }}"),
            "template: :1: unexpected . after term \"\\\"a\\\"\""
        );
        assert_eq!(
            parse_err("{{if 1}}{{define \"a\"}}{{end}}{{end}}"),
            "template: :1: unexpected <define> in command"
        );
    }

    #[test]
    fn duplicate_definitions_fail_unless_empty() {
        assert_eq!(
            parse_err("{{define \"a\"}}x{{end}}{{define \"a\"}}y{{end}}"),
            "template: :1: template: multiple definition of template \"a\""
        );
        assert!(
            parse(
                "",
                "{{define \"a\"}}x{{end}}{{define \"a\"}} {{end}}",
                "",
                "",
                &all
            )
            .is_ok()
        );
    }

    #[test]
    fn range_variables_limited_to_two() {
        assert_eq!(
            parse_err("{{range $a, $b, $c := .}}{{end}}"),
            "template: :1: too many declarations in range"
        );
        assert_eq!(
            parse_err("{{with $a, $b := .}}{{end}}"),
            "template: :1: too many declarations in with"
        );
    }

    #[test]
    fn deep_parentheses_are_refused() {
        let text = format!("{{{{ {}1{} }}}}", "(".repeat(200), ")".repeat(200));
        assert_eq!(
            parse_err(&text),
            "template: :1: max expression depth exceeded"
        );
    }

    #[test]
    fn deep_control_nesting_is_refused() {
        let text = format!("{}{}", "{{if 1}}".repeat(300), "{{end}}".repeat(300));
        assert!(parse_err(&text).contains("nesting"));
    }

    #[test]
    fn location_counts_bytes_from_line_start() {
        assert_eq!(location("", "ab\ncd{{x}}", 5), ":2:2");
        assert_eq!(location("t", "abc", 2), "t:1:2");
    }
}
