//! Executes parse trees with Go's `text/template` semantics: pipelines,
//! variables and their scopes, field access on maps and structs with the
//! missing-key rule, `if`/`with`/`range`/`template`, the builtins and the
//! registered functions with Go's argument checks.

use std::collections::HashMap;

use super::builtins::{self, Ty};
use super::error::{ErrorKind, REDACTED, TemplateError};
use super::funcs::{Ctx, Func, Funcs, NestedExecution, Param};
use super::limits::Limits;
use super::number::Number;
use super::parse::{self, Branch, Command, List, Node, Operand, Pipe, Tree, Variable};
use super::slot::{Ptr, Slot};
use super::strconv;
use super::value::{Value, write_for_template};

/// Longest node text quoted in an error's `<...>` context; template text
/// can be sensitive, so long nodes are cut.
const MAX_CONTEXT_CHARS: usize = 48;

/// Deepest nesting of bodies (`if`, `with`, `range`, `template`) during
/// execution: template calls multiply the nesting the parser allows, and
/// each level costs native stack (about 1 KiB optimised, 4 KiB in debug
/// builds), so that, with the deepest parenthesised pipeline on top, it
/// fits the 2 MiB stack of a tokio worker even unoptimised.
pub(crate) const MAX_NESTING: usize = 250;

type R<T> = Result<T, TemplateError>;

/// Everything execution needs besides the trees and the host's state.
pub(crate) struct Env<'c, H> {
    /// Registered functions.
    pub funcs: &'c Funcs<H>,
    /// Fail on a missing map key instead of yielding `<no value>`.
    pub missing_key_error: bool,
    /// Resource limits.
    pub limits: Limits,
}

/// What one execution produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The bytes written (UTF-8 unless the template wrote binary strings).
    pub output: Vec<u8>,
}

/// Control flow out of a walked node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Normal,
    Break,
    Continue,
}

/// The node an error is reported at.
#[derive(Clone, Copy)]
enum At<'t> {
    Nothing,
    Node(&'t Node),
    Pipe(&'t Pipe),
    Cmd(&'t Command),
    Operand(&'t Operand),
}

/// Runs the template `name` of `trees` (parsed from `text` as
/// `parse_name`).
pub(crate) fn execute<H>(
    trees: &HashMap<String, Tree>,
    text: &str,
    parse_name: &str,
    name: &str,
    env: &Env<'_, H>,
    host: &mut H,
    data: Value,
) -> R<Outcome> {
    let dot = Slot::val(data);
    let mut state = State {
        trees,
        text,
        parse_name,
        name,
        env,
        host,
        out: Vec::new(),
        vars: vec![("$".into(), dot.clone())],
        depth: 0,
        at: At::Nothing,
        budget: env.limits.max_steps,
        iterations: 0,
        nesting: 0,
        dot: Slot::Invalid,
        chain: None,
    };
    let Some(tree) = trees.get(name) else {
        return Err(state.fail(
            ErrorKind::Exec,
            format!("{} is an incomplete or empty template", go_quote(name)),
        ));
    };
    state.walk_list(&dot, &tree.root)?;
    Ok(Outcome { output: state.out })
}

/// The templates being executed, as a function sees them through
/// [`Ctx::execute_template`].
pub(crate) struct TemplateSet<'a, H> {
    pub(crate) trees: &'a HashMap<String, crate::parse::Tree>,
    pub(crate) text: &'a str,
    pub(crate) parse_name: &'a str,
    pub(crate) env: &'a Env<'a, H>,
    pub(crate) depth: usize,
    pub(crate) nesting: usize,
    pub(crate) iterations: u64,
}

impl<H> Clone for TemplateSet<'_, H> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<H> Copy for TemplateSet<'_, H> {}

impl<H> NestedExecution<H> for TemplateSet<'_, H> {
    fn execute(
        &self,
        host: &mut H,
        budget: &mut u64,
        name: &str,
        dot: Value,
    ) -> Result<Vec<u8>, String> {
        execute_nested(self, host, budget, name, dot).map_err(|e| e.message().to_string())
    }
}

/// Runs the template `name` of `set` with `data` as dot from inside a
/// function: Go's `ExecuteTemplate` on the set, sharing the caller's host
/// state and budget, one template level deeper.
pub(crate) fn execute_nested<H>(
    set: &TemplateSet<'_, H>,
    host: &mut H,
    budget: &mut u64,
    name: &str,
    data: Value,
) -> R<Vec<u8>> {
    let Some((name, tree)) = set.trees.get_key_value(name) else {
        return Err(TemplateError::new(
            ErrorKind::Exec,
            format!(
                "template: no template {} associated with template {}",
                go_quote(name),
                go_quote(set.parse_name)
            ),
        ));
    };
    let dot = Slot::val(data);
    let mut state = State {
        trees: set.trees,
        text: set.text,
        parse_name: set.parse_name,
        name,
        env: set.env,
        host,
        out: Vec::new(),
        vars: vec![("$".into(), dot.clone())],
        depth: set.depth + 1,
        at: At::Nothing,
        budget: *budget,
        iterations: set.iterations,
        nesting: set.nesting,
        dot: Slot::Invalid,
        chain: None,
    };
    let max = set.env.limits.max_template_depth;
    if set.depth >= max {
        return Err(state.fail(
            ErrorKind::Limit,
            format!("exceeded maximum template depth ({max})"),
        ));
    }
    let result = state.walk_list(&dot, &tree.root);
    *budget = state.budget;
    result.map(|_| state.out)
}

struct State<'t, 'c, H> {
    trees: &'t HashMap<String, Tree>,
    text: &'t str,
    parse_name: &'t str,
    /// The template being executed, for "executing NAME".
    name: &'t str,
    env: &'c Env<'c, H>,
    host: &'c mut H,
    out: Vec<u8>,
    vars: Vec<(String, Slot)>,
    depth: usize,
    at: At<'t>,
    budget: u64,
    iterations: u64,
    nesting: usize,
    /// Dot of the command being evaluated: method arguments see it too.
    dot: Slot,
    /// The operand whose field chain is being evaluated.
    chain: Option<&'t Operand>,
}

fn go_quote(s: &str) -> String {
    super::quote::quote(s, false)
}

impl<'t, H> State<'t, '_, H> {
    // ---- errors and budgets ------------------------------------------

    fn fail(&self, kind: ErrorKind, message: impl std::fmt::Display) -> TemplateError {
        let (pos, context) = match self.at {
            At::Nothing => {
                return TemplateError::new(kind, format!("template: {}: {message}", self.name));
            }
            At::Node(n) => (node_pos(n), n.to_string()),
            At::Pipe(p) => (p.pos, p.to_string()),
            At::Cmd(c) => (c.pos, c.to_string()),
            At::Operand(o) => (o.pos(), o.to_string()),
        };
        let location = parse::location(self.parse_name, self.text, pos);
        TemplateError::new(
            kind,
            format!(
                "template: {location}: executing {} at <{}>: {message}",
                go_quote(self.name),
                shorten(&context)
            ),
        )
    }

    fn errorf<T>(&self, message: impl std::fmt::Display) -> R<T> {
        Err(self.fail(ErrorKind::Exec, message))
    }

    fn step(&mut self) -> R<()> {
        if self.budget == 0 {
            return Err(self.fail(ErrorKind::Limit, "execution step limit exceeded"));
        }
        self.budget -= 1;
        Ok(())
    }

    fn charge(&mut self, units: u64) -> R<()> {
        if self.budget < units {
            self.budget = 0;
            return Err(self.fail(ErrorKind::Limit, "execution step limit exceeded"));
        }
        self.budget -= units;
        Ok(())
    }

    fn write(&mut self, s: &[u8]) -> R<()> {
        let max = self.env.limits.max_output_bytes;
        if self.out.len() + s.len() > max {
            return Err(self.fail(
                ErrorKind::Limit,
                format!("output exceeds the limit of {max} bytes"),
            ));
        }
        self.out.extend_from_slice(s);
        Ok(())
    }

    // ---- variables ---------------------------------------------------

    fn var_value(&self, name: &str) -> R<Slot> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => self.errorf(format_args!("undefined variable: {name}")),
        }
    }

    fn set_var(&mut self, name: &str, value: Slot) -> R<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = value;
                Ok(())
            }
            None => self.errorf(format_args!("undefined variable: {name}")),
        }
    }

    fn set_top_var(&mut self, n: usize, value: Slot) {
        let len = self.vars.len();
        if let Some(slot) = len.checked_sub(n).and_then(|i| self.vars.get_mut(i)) {
            slot.1 = value;
        }
    }

    // ---- walking -----------------------------------------------------

    fn walk_list(&mut self, dot: &Slot, list: &'t List) -> R<Flow> {
        if self.nesting >= MAX_NESTING {
            return Err(self.fail(
                ErrorKind::Limit,
                format!("exceeded maximum nesting depth ({MAX_NESTING})"),
            ));
        }
        self.nesting += 1;
        let result = self.walk_nodes(dot, list);
        self.nesting -= 1;
        result
    }

    fn walk_nodes(&mut self, dot: &Slot, list: &'t List) -> R<Flow> {
        for node in &list.nodes {
            let flow = self.walk(dot, node)?;
            if flow != Flow::Normal {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Slot, node: &'t Node) -> R<Flow> {
        self.at = At::Node(node);
        self.step()?;
        match node {
            Node::Action { pipe, .. } => {
                let value = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.print_value(node, &value)?;
                }
                Ok(Flow::Normal)
            }
            Node::Break { .. } => Ok(Flow::Break),
            Node::Continue { .. } => Ok(Flow::Continue),
            Node::If(b) => self.walk_if_or_with(false, dot, b),
            Node::With(b) => self.walk_if_or_with(true, dot, b),
            Node::Range(b) => self.walk_range(dot, node, b),
            Node::Template { name, pipe, .. } => self.walk_template(dot, node, name, pipe.as_ref()),
            Node::Text { text, .. } => {
                self.write(text.as_bytes())?;
                Ok(Flow::Normal)
            }
        }
    }

    fn print_value(&mut self, node: &'t Node, value: &Slot) -> R<()> {
        self.at = At::Node(node);
        if let Value::Bytes(bytes) = value.value() {
            let bytes = bytes.clone();
            return self.write(&bytes);
        }
        let mut text = String::new();
        write_for_template(&mut text, value.value());
        self.write(text.as_bytes())
    }

    fn walk_if_or_with(&mut self, with: bool, dot: &Slot, b: &'t Branch) -> R<Flow> {
        let mark = self.vars.len();
        let value = self.eval_pipeline(dot, &b.pipe)?;
        let flow = if builtins::is_true(value.value()) {
            if with {
                self.walk_list(&value, &b.list)?
            } else {
                self.walk_list(dot, &b.list)?
            }
        } else if let Some(else_list) = &b.else_list {
            self.walk_list(dot, else_list)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn walk_range(&mut self, dot: &Slot, node: &'t Node, r: &'t Branch) -> R<Flow> {
        self.at = At::Node(node);
        let mark = self.vars.len();
        let value = self.eval_pipeline(dot, &r.pipe)?;
        let body_mark = self.vars.len();
        let two_vars = r.pipe.decl.len() > 1;
        let mut ran = false;
        match (value.ptr(), value.value()) {
            (Some(_), Value::Int(_) | Value::Int64(_) | Value::Uint(_)) => {
                if two_vars {
                    return self.errorf(format_args!(
                        "can't use {REDACTED} to iterate over more than one variable"
                    ));
                }
                let count = match value.value() {
                    Value::Int(n) | Value::Int64(n) => u64::try_from(*n).unwrap_or(0),
                    Value::Uint(n) => *n,
                    _ => 0,
                };
                let kind = value.value().clone();
                for i in 0..count {
                    ran = true;
                    // Elements have the type of the bound.
                    let n = i64::try_from(i).unwrap_or(i64::MAX);
                    let elem = match kind {
                        Value::Uint(_) => Value::Uint(i),
                        Value::Int64(_) => Value::Int64(n),
                        _ => Value::Int(n),
                    };
                    let elem = Slot::Val(Ptr::new(elem));
                    if self.one_iteration(r, body_mark, Slot::Invalid, elem)? == Flow::Break {
                        break;
                    }
                }
            }
            (Some(p), Value::List(items)) => {
                let p = p.clone();
                for i in 0..items.len() {
                    ran = true;
                    let index = Slot::val(Value::Int(i64::try_from(i).unwrap_or(i64::MAX)));
                    let elem = Slot::Iface(p.index(i));
                    if self.one_iteration(r, body_mark, index, elem)? == Flow::Break {
                        break;
                    }
                }
            }
            (Some(_), Value::Strings(items)) => {
                for (i, item) in items.iter().enumerate() {
                    ran = true;
                    let index = Slot::val(Value::Int(i64::try_from(i).unwrap_or(i64::MAX)));
                    // Elements of a []string are strings, not interfaces.
                    let elem = Slot::Val(Ptr::new(Value::String(item.clone())));
                    if self.one_iteration(r, body_mark, index, elem)? == Flow::Break {
                        break;
                    }
                }
            }
            (Some(p), Value::Map(m)) => {
                let p = p.clone();
                // Go sorts string keys bytewise, as BTreeMap already is.
                let keys: Vec<String> = m.keys().cloned().collect();
                for key in keys {
                    ran = true;
                    let elem = Slot::Iface(p.key(&key));
                    let index = Slot::val(Value::String(key));
                    if self.one_iteration(r, body_mark, index, elem)? == Flow::Break {
                        break;
                    }
                }
            }
            (Some(p), Value::AnyMap(entries)) => {
                let p = p.clone();
                let keys: Vec<Value> = entries.iter().map(|(k, _)| k.clone()).collect();
                for (i, key) in keys.into_iter().enumerate() {
                    ran = true;
                    let elem = Slot::Iface(p.entry(i));
                    let index = Slot::val(key);
                    if self.one_iteration(r, body_mark, index, elem)? == Flow::Break {
                        break;
                    }
                }
            }
            (Some(_), Value::Chan(chan)) => {
                let chan = chan.clone();
                let mut i: i64 = 0;
                while let Some(item) = chan.recv() {
                    ran = true;
                    let index = Slot::val(Value::Int(i));
                    let elem = Slot::val(Value::Int64(item));
                    i += 1;
                    if self.one_iteration(r, body_mark, index, elem)? == Flow::Break {
                        break;
                    }
                }
            }
            (Some(_), Value::StringMap(m)) => {
                for (key, item) in m {
                    ran = true;
                    // Elements of a map[string]string are strings.
                    let elem = Slot::Val(Ptr::new(Value::String(item.clone())));
                    let index = Slot::val(Value::String(key.clone()));
                    if self.one_iteration(r, body_mark, index, elem)? == Flow::Break {
                        break;
                    }
                }
            }
            (_, Value::Nil | Value::NilMap | Value::NilStrings) => {}
            _ => {
                return self.errorf(format_args!("range can't iterate over {REDACTED}"));
            }
        }
        if !ran && let Some(else_list) = &r.else_list {
            self.walk_list(dot, else_list)?;
        }
        self.vars.truncate(mark);
        Ok(Flow::Normal)
    }

    fn one_iteration(&mut self, r: &'t Branch, mark: usize, index: Slot, elem: Slot) -> R<Flow> {
        self.step()?;
        self.iterations += 1;
        if self.iterations > self.env.limits.max_range_iterations {
            return Err(self.fail(
                ErrorKind::Limit,
                format!(
                    "range iterations exceed the limit of {}",
                    self.env.limits.max_range_iterations
                ),
            ));
        }
        let decl = &r.pipe.decl;
        if !decl.is_empty() {
            if r.pipe.is_assign {
                // With two variables the index comes first.
                if decl.len() > 1 {
                    self.set_var(&decl[0].ident[0], index.clone())?;
                } else {
                    self.set_var(&decl[0].ident[0], elem.clone())?;
                }
            } else {
                self.set_top_var(1, elem.clone());
            }
        }
        if decl.len() > 1 {
            if r.pipe.is_assign {
                self.set_var(&decl[1].ident[0], elem.clone())?;
            } else {
                self.set_top_var(2, index);
            }
        }
        let flow = self.walk_list(&elem, &r.list)?;
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn walk_template(
        &mut self,
        dot: &Slot,
        node: &'t Node,
        name: &'t str,
        pipe: Option<&'t Pipe>,
    ) -> R<Flow> {
        self.at = At::Node(node);
        let Some(tree) = self.trees.get(name) else {
            return self.errorf(format_args!("template {} not defined", go_quote(name)));
        };
        let max = self.env.limits.max_template_depth;
        if self.depth >= max {
            return Err(self.fail(
                ErrorKind::Limit,
                format!("exceeded maximum template depth ({max})"),
            ));
        }
        // Variables the pipeline declares stay in the caller's scope.
        let new_dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Slot::Invalid,
        };
        let saved_vars = std::mem::replace(&mut self.vars, vec![("$".into(), new_dot.clone())]);
        let saved_name = std::mem::replace(&mut self.name, name);
        self.depth += 1;
        let result = self.walk_list(&new_dot, &tree.root);
        self.depth -= 1;
        self.name = saved_name;
        self.vars = saved_vars;
        result.map(|_| Flow::Normal)
    }

    // ---- evaluation --------------------------------------------------

    /// A pipeline counts as a level of nesting: a function that executes
    /// a template (`executeTemplate`) may sit inside deep parentheses at
    /// every level of a recursion, and all of it is native stack.
    fn eval_pipeline(&mut self, dot: &Slot, pipe: &'t Pipe) -> R<Slot> {
        if self.nesting >= MAX_NESTING {
            self.at = At::Pipe(pipe);
            return Err(self.fail(
                ErrorKind::Limit,
                format!("exceeded maximum nesting depth ({MAX_NESTING})"),
            ));
        }
        self.nesting += 1;
        let result = self.eval_pipeline_in(dot, pipe);
        self.nesting -= 1;
        result
    }

    fn eval_pipeline_in(&mut self, dot: &Slot, pipe: &'t Pipe) -> R<Slot> {
        self.at = At::Pipe(pipe);
        let mut value: Option<Slot> = None;
        for cmd in &pipe.cmds {
            let result = self.eval_command(dot, cmd, value.take())?;
            value = Some(result.unwrap_iface());
        }
        let value = value.unwrap_or(Slot::Invalid);
        for var in &pipe.decl {
            if pipe.is_assign {
                self.set_var(&var.ident[0], value.clone())?;
            } else {
                self.vars.push((var.ident[0].clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &'t [Operand], fin: &Option<Slot>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            let first = args.first().map(ToString::to_string).unwrap_or_default();
            return self.errorf(format_args!(
                "can't give argument to non-function {}",
                shorten(&first)
            ));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Slot, cmd: &'t Command, fin: Option<Slot>) -> R<Slot> {
        let outer = std::mem::replace(&mut self.dot, dot.clone());
        let result = self.eval_command_in(dot, cmd, fin);
        self.dot = outer;
        result
    }

    fn eval_command_in(&mut self, dot: &Slot, cmd: &'t Command, fin: Option<Slot>) -> R<Slot> {
        self.step()?;
        let Some(first) = cmd.args.first() else {
            return self.errorf("empty command");
        };
        match first {
            Operand::Field { ident, .. } => {
                self.at = At::Operand(first);
                return self.eval_field_chain(first, dot.clone(), ident, &cmd.args, fin);
            }
            Operand::Chain { .. } => return self.eval_chain(dot, first, &cmd.args, fin),
            Operand::Identifier { name, .. } => {
                return self.eval_function(dot, first, name, At::Cmd(cmd), &cmd.args, fin);
            }
            Operand::Pipe(p) => {
                self.not_a_function(&cmd.args, &fin)?;
                return self.eval_pipeline(dot, p);
            }
            Operand::Variable(v) => return self.eval_variable(first, v, &cmd.args, fin),
            _ => {}
        }
        self.at = At::Operand(first);
        self.not_a_function(&cmd.args, &fin)?;
        match first {
            Operand::Bool { value, .. } => Ok(Slot::val(Value::Bool(*value))),
            Operand::Dot { .. } => Ok(dot.clone()),
            Operand::Nil { .. } => self.errorf("nil is not a command"),
            Operand::Number { number, .. } => self.ideal_constant(first, number),
            Operand::String { text, .. } => Ok(Slot::val(Value::String(text.clone()))),
            _ => self.errorf(format_args!(
                "can't evaluate command {}",
                go_quote(&first.to_string())
            )),
        }
    }

    /// A number literal where no type is expected: float if written as
    /// one, else `int`.
    fn ideal_constant(&mut self, node: &'t Operand, n: &Number) -> R<Slot> {
        self.at = At::Operand(node);
        if let Some((re, im)) = n.complex {
            return Ok(Slot::val(Value::Complex(re, im)));
        }
        let text = &n.text;
        let is_hex_int = text.len() > 2
            && text.starts_with('0')
            && matches!(text.as_bytes()[1], b'x' | b'X')
            && !text.contains(['p', 'P']);
        if let Some(f) = n.float
            && !is_hex_int
            && !text.starts_with('\'')
            && text.contains(['.', 'e', 'E', 'p', 'P'])
        {
            return Ok(Slot::val(Value::Float(f)));
        }
        if let Some(i) = n.int {
            return Ok(Slot::val(Value::Int(i)));
        }
        if n.uint.is_some() {
            return self.errorf(format_args!("{text} overflows int"));
        }
        Ok(Slot::Invalid)
    }

    fn eval_chain(
        &mut self,
        dot: &Slot,
        node: &'t Operand,
        args: &'t [Operand],
        fin: Option<Slot>,
    ) -> R<Slot> {
        self.at = At::Operand(node);
        let Operand::Chain {
            node: term, fields, ..
        } = node
        else {
            return self.errorf("internal error: not a chain");
        };
        if let Operand::Nil { .. } = term.as_ref() {
            return self.errorf(format_args!("indirection through explicit nil in {node}"));
        }
        let receiver = self.eval_arg(dot, None, term)?;
        self.eval_field_chain(node, receiver, fields, args, fin)
    }

    fn eval_variable(
        &mut self,
        node: &'t Operand,
        v: &'t Variable,
        args: &'t [Operand],
        fin: Option<Slot>,
    ) -> R<Slot> {
        self.at = At::Operand(node);
        let value = self.var_value(&v.ident[0])?;
        if v.ident.len() == 1 {
            self.not_a_function(args, &fin)?;
            return Ok(value);
        }
        self.eval_field_chain(node, value, &v.ident[1..], args, fin)
    }

    /// Evaluates `.a.b.c` on `receiver`; `node` is the operand holding
    /// the chain, where Go reports a failed method call.
    fn eval_field_chain(
        &mut self,
        node: &'t Operand,
        receiver: Slot,
        ident: &'t [String],
        args: &'t [Operand],
        fin: Option<Slot>,
    ) -> R<Slot> {
        let Some((last, init)) = ident.split_last() else {
            return Ok(receiver);
        };
        let mut receiver = receiver;
        let outer = self.chain.replace(node);
        let result = (|| {
            for name in init {
                receiver = self.eval_field(name, &[], None, receiver)?;
            }
            self.eval_field(last, args, fin, receiver)
        })();
        self.chain = outer;
        result
    }

    /// One `.name` step on `receiver`; `args` and `fin` are the command's
    /// arguments when this is the chain's last step.
    fn eval_field(
        &mut self,
        name: &str,
        args: &'t [Operand],
        fin: Option<Slot>,
        receiver: Slot,
    ) -> R<Slot> {
        self.step()?;
        let ptr = match &receiver {
            Slot::Invalid => {
                if self.env.missing_key_error {
                    return self.errorf(format_args!(
                        "nil data; no entry for key {}",
                        go_quote(name)
                    ));
                }
                return Ok(Slot::Invalid);
            }
            Slot::Iface(p) if p.get().is_nil() => {
                return self.errorf(format_args!("nil pointer evaluating interface {{}}.{name}"));
            }
            Slot::Iface(p) | Slot::Val(p) => p.clone(),
        };
        let typ = receiver.type_name();
        let has_args = args.len() > 1 || fin.is_some();
        let value = ptr.get();
        if let Value::Number(text) = value
            && matches!(name, "String" | "Float64" | "Int64")
        {
            let text = text.clone();
            return self.number_method(name, &text, args, fin);
        }
        // Go looks for a method of the name first, then a field.
        if let Value::Struct(s) = value
            && self.env.funcs.has_methods(&s.type_name)
            && (self.env.funcs.method(&s.type_name, name).is_some()
                || !s
                    .fields
                    .as_ref()
                    .is_some_and(|f| f.iter().any(|(n, _)| n == name)))
        {
            let type_name = s.type_name.clone();
            return self.call_method(&receiver, &type_name, name, &typ, args, fin);
        }
        match value {
            Value::Struct(s) => match &s.fields {
                Some(fields) => {
                    if let Some(i) = fields.iter().position(|(f, _)| f == name) {
                        if has_args {
                            return self.errorf(format_args!(
                                "{name} has arguments but cannot be invoked as function"
                            ));
                        }
                        return Ok(Slot::Val(ptr.field(i)));
                    }
                }
                None => {
                    // Go says "can't evaluate" when the type lacks the field.
                    let known = self
                        .env
                        .funcs
                        .struct_fields(&s.type_name)
                        .is_none_or(|fields| fields.contains(&name));
                    if known {
                        return self.errorf(format_args!("nil pointer evaluating {typ}.{name}"));
                    }
                }
            },
            Value::AnyMap(entries) => {
                if has_args {
                    return self.errorf(format_args!("{name} is not a method but has arguments"));
                }
                let key = Value::String(name.to_string());
                if let Some((i, _)) = Value::any_map_get(entries, &key) {
                    return Ok(Slot::Iface(ptr.entry(i)));
                }
                if self.env.missing_key_error {
                    return self
                        .errorf(format_args!("map has no entry for key {}", go_quote(name)));
                }
                return Ok(Slot::Iface(Ptr::new(Value::Nil)));
            }
            Value::StringMap(m) => {
                if has_args {
                    return self.errorf(format_args!("{name} is not a method but has arguments"));
                }
                let item = match m.get(name) {
                    Some(item) => item.clone(),
                    None if self.env.missing_key_error => {
                        return self
                            .errorf(format_args!("map has no entry for key {}", go_quote(name)));
                    }
                    // The zero value of the element type.
                    None => String::new(),
                };
                return Ok(Slot::Val(Ptr::new(Value::String(item))));
            }
            Value::Map(_) | Value::NilMap => {
                if has_args {
                    return self.errorf(format_args!("{name} is not a method but has arguments"));
                }
                if let Value::Map(m) = value
                    && m.contains_key(name)
                {
                    return Ok(Slot::Iface(ptr.key(name)));
                }
                if self.env.missing_key_error {
                    return self
                        .errorf(format_args!("map has no entry for key {}", go_quote(name)));
                }
                // The zero value of the map's element type: a nil interface.
                return Ok(Slot::Iface(Ptr::new(Value::Nil)));
            }
            _ => {}
        }
        self.errorf(format_args!("can't evaluate field {name} in type {typ}"))
    }

    /// A method the host registered for a struct type, with Go's
    /// argument checks.
    #[allow(clippy::too_many_arguments)]
    fn call_method(
        &mut self,
        receiver: &Slot,
        type_name: &str,
        name: &str,
        typ: &str,
        args: &'t [Operand],
        fin: Option<Slot>,
    ) -> R<Slot> {
        let funcs = self.env.funcs;
        let Some(func) = funcs.method(type_name, name) else {
            return self.errorf(format_args!("can't evaluate field {name} in type {typ}"));
        };
        let dot = self.dot.clone();
        let at = self.chain.map_or(self.at, At::Operand);
        self.call_registered(&dot, func, at, name, args, fin, Some(receiver))
    }

    /// The methods of `json.Number`: `String`, `Float64`, `Int64`.
    fn number_method(
        &mut self,
        name: &str,
        text: &str,
        args: &'t [Operand],
        fin: Option<Slot>,
    ) -> R<Slot> {
        let given = args.len().saturating_sub(1) + usize::from(fin.is_some());
        if given != 0 {
            return self.errorf(format_args!(
                "wrong number of args for {name}: want 0 got {given}"
            ));
        }
        match name {
            "String" => Ok(Slot::val(Value::String(text.to_string()))),
            "Float64" => match strconv::parse_float(text) {
                Ok(f) => Ok(Slot::val(Value::Float(f))),
                Err(e) => self.errorf(format_args!("error calling Float64: {}", e.redacted())),
            },
            _ => match strconv::parse_int(text, 10, 64) {
                Ok(i) => Ok(Slot::val(Value::Int64(i))),
                Err(e) => self.errorf(format_args!("error calling Int64: {}", e.redacted())),
            },
        }
    }

    fn eval_function(
        &mut self,
        dot: &Slot,
        node: &'t Operand,
        name: &str,
        call_at: At<'t>,
        args: &'t [Operand],
        fin: Option<Slot>,
    ) -> R<Slot> {
        self.at = At::Operand(node);
        if let Some(func) = self.env.funcs.get(name) {
            return self.call_registered(dot, func, call_at, name, args, fin, None);
        }
        if let Some((fixed, rest)) = builtins::signature(name) {
            return self.call_builtin(dot, fixed, rest, call_at, name, args, fin);
        }
        self.errorf(format_args!("{} is not a defined function", go_quote(name)))
    }

    /// Checks the argument count as Go does for a function with `fixed`
    /// parameters and an optional `...` parameter.
    fn check_arity(
        &self,
        name: &str,
        fixed: usize,
        variadic: bool,
        args: usize,
        num_in: usize,
    ) -> R<()> {
        if variadic {
            if num_in < fixed {
                return self.errorf(format_args!(
                    "wrong number of args for {name}: want at least {fixed} got {args}"
                ));
            }
        } else if num_in != fixed {
            return self.errorf(format_args!(
                "wrong number of args for {name}: want {fixed} got {num_in}"
            ));
        }
        Ok(())
    }

    /// Evaluates the arguments of a call to a function with parameter
    /// types `fixed` and `rest`, the piped value last.
    fn eval_call_args(
        &mut self,
        dot: &Slot,
        fixed: &[Ty],
        rest: Option<Ty>,
        args: &'t [Operand],
        fin: Option<Slot>,
    ) -> R<Vec<Slot>> {
        let num_in = args.len() + usize::from(fin.is_some());
        let num_fixed = if rest.is_some() {
            fixed.len()
        } else {
            args.len()
        };
        let mut argv = Vec::with_capacity(num_in);
        for (i, arg) in args.iter().enumerate() {
            let ty = if i < num_fixed {
                fixed.get(i).copied()
            } else {
                rest
            };
            argv.push(self.eval_arg(dot, Some(ty.unwrap_or(Ty::Any)), arg)?);
        }
        if let Some(fin) = fin {
            let ty = match rest {
                Some(r) if num_in > num_fixed => r,
                _ => fixed.get(num_in - 1).copied().unwrap_or(Ty::Any),
            };
            argv.push(self.validate(fin, Some(ty))?);
        }
        Ok(argv)
    }

    #[allow(clippy::too_many_arguments)]
    fn call_registered(
        &mut self,
        dot: &Slot,
        func: &Func<H>,
        call_at: At<'t>,
        name: &str,
        args: &'t [Operand],
        fin: Option<Slot>,
        receiver: Option<&Slot>,
    ) -> R<Slot> {
        let args = args.get(1..).unwrap_or(&[]);
        let num_in = args.len() + usize::from(fin.is_some());
        let fixed: Vec<Ty> = func.params().iter().map(|p| ty_of(*p)).collect();
        let rest = func.rest().map(ty_of);
        self.check_arity(name, fixed.len(), rest.is_some(), args.len(), num_in)?;
        let argv = self.eval_call_args(dot, &fixed, rest, args, fin)?;
        let values: Vec<Value> = argv.iter().map(Slot::to_value).collect();
        if !func.takes_binary() && values.iter().any(|v| matches!(v, Value::Bytes(_))) {
            self.at = call_at;
            return self.errorf(format_args!(
                "error calling {name}: binary (non-UTF-8) data can only be written as is"
            ));
        }
        let cost: u64 = values.iter().map(Value::node_count).sum();
        self.charge(cost)?;
        let result = {
            let set = TemplateSet {
                trees: self.trees,
                text: self.text,
                parse_name: self.parse_name,
                env: self.env,
                depth: self.depth,
                nesting: self.nesting,
                iterations: self.iterations,
            };
            let mut ctx = Ctx {
                host: &mut *self.host,
                budget: &mut self.budget,
                receiver: receiver.map(Slot::to_value),
                set: Some(&set),
            };
            func.call(&mut ctx, &values)
        };
        match result {
            Ok(value) => {
                self.charge(value.node_count())?;
                Ok(Slot::val(value))
            }
            Err(e) => {
                if self.budget == 0 {
                    return Err(self.fail(ErrorKind::Limit, "execution step limit exceeded"));
                }
                self.at = call_at;
                self.errorf(format_args!("error calling {name}: {e}"))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn call_builtin(
        &mut self,
        dot: &Slot,
        fixed: &[Ty],
        rest: Option<Ty>,
        call_at: At<'t>,
        name: &str,
        args: &'t [Operand],
        fin: Option<Slot>,
    ) -> R<Slot> {
        let args = args.get(1..).unwrap_or(&[]);
        let num_in = args.len() + usize::from(fin.is_some());
        self.check_arity(name, fixed.len(), rest.is_some(), args.len(), num_in)?;
        if name == "and" || name == "or" {
            // Short-circuit: stop at the first false (and) / true (or).
            let mut v = Slot::Invalid;
            for arg in args {
                v = self.eval_arg(dot, Some(Ty::Reflect), arg)?;
                if builtins::is_true(v.value()) == (name == "or") {
                    return Ok(v);
                }
            }
            if let Some(fin) = fin {
                v = self.validate(fin, Some(Ty::Reflect))?;
            }
            return Ok(v);
        }
        let callee = args.first().map(ToString::to_string);
        let argv = self.eval_call_args(dot, fixed, rest, args, fin)?;
        if name == "call" {
            self.at = call_at;
            let what = match argv.first().map(Slot::value) {
                None | Some(Value::Nil) => "call of nil".to_string(),
                Some(v) => format!(
                    "non-function {} of type {}",
                    shorten(&callee.unwrap_or_default()),
                    v.go_type()
                ),
            };
            return self.errorf(format_args!("error calling call: {what}"));
        }
        for a in &argv {
            if matches!(
                name,
                "print" | "printf" | "println" | "html" | "js" | "urlquery"
            ) {
                let cost = a.value().node_count();
                self.charge(cost)?;
            }
        }
        match builtins::call(name, &argv) {
            Ok(v) => {
                if let Value::String(s) = v.value() {
                    self.charge(u64::try_from(s.len() / 64).unwrap_or(u64::MAX))?;
                }
                Ok(v)
            }
            Err(e) => {
                self.at = call_at;
                self.errorf(format_args!("error calling {name}: {e}"))
            }
        }
    }

    /// Go's `evalArg`: evaluates an argument for a parameter of type `ty`
    /// (`None`: no type, as for the term of a chain).
    fn eval_arg(&mut self, dot: &Slot, ty: Option<Ty>, node: &'t Operand) -> R<Slot> {
        self.at = At::Operand(node);
        match node {
            Operand::Dot { .. } => return self.validate(dot.clone(), ty),
            Operand::Nil { .. } => {
                return match ty {
                    Some(t) if t.can_be_nil() => Ok(t.zero()),
                    Some(t) => self.errorf(format_args!("cannot assign nil to {}", t.go_type())),
                    None => Ok(Slot::Invalid),
                };
            }
            Operand::Field { ident, .. } => {
                let v = self.eval_field_chain(
                    node,
                    dot.clone(),
                    ident,
                    std::slice::from_ref(node),
                    None,
                )?;
                return self.validate(v, ty);
            }
            Operand::Variable(v) => {
                let v = self.eval_variable(node, v, &[], None)?;
                return self.validate(v, ty);
            }
            Operand::Pipe(p) => {
                let v = self.eval_pipeline(dot, p)?;
                return self.validate(v, ty);
            }
            Operand::Identifier { name, .. } => {
                let cmd_args = std::slice::from_ref(node);
                let v = self.eval_function_no_args(dot, node, name, cmd_args)?;
                return self.validate(v, ty);
            }
            Operand::Chain { .. } => {
                let v = self.eval_chain(dot, node, &[], None)?;
                return self.validate(v, ty);
            }
            _ => {}
        }
        let Some(ty) = ty else {
            return self.errorf(format_args!("can't handle {node} for arg of type <nil>"));
        };
        match (ty, node) {
            (Ty::Bool, Operand::Bool { value, .. }) => Ok(Slot::val(Value::Bool(*value))),
            (Ty::Bool, _) => self.errorf(format_args!(
                "expected bool; found {}",
                shorten(&node.to_string())
            )),
            (Ty::Float, Operand::Number { number, .. }) if number.float.is_some() => {
                Ok(Slot::val(Value::Float(number.float.unwrap_or_default())))
            }
            (Ty::Float, _) => self.errorf(format_args!(
                "expected float; found {}",
                shorten(&node.to_string())
            )),
            (Ty::Int, Operand::Number { number, .. }) if number.int.is_some() => {
                Ok(Slot::val(Value::Int(number.int.unwrap_or_default())))
            }
            (Ty::Int, _) => self.errorf(format_args!(
                "expected integer; found {}",
                shorten(&node.to_string())
            )),
            (Ty::String, Operand::String { text, .. }) => {
                Ok(Slot::val(Value::String(text.clone())))
            }
            (Ty::String, _) => self.errorf(format_args!(
                "expected string; found {}",
                shorten(&node.to_string())
            )),
            (Ty::Any | Ty::Reflect, Operand::Bool { value, .. }) => {
                Ok(Slot::val(Value::Bool(*value)))
            }
            (Ty::Any | Ty::Reflect, Operand::Number { number, .. }) => {
                self.ideal_constant(node, number)
            }
            (Ty::Any | Ty::Reflect, Operand::String { text, .. }) => {
                Ok(Slot::val(Value::String(text.clone())))
            }
            _ => self.errorf(format_args!(
                "can't handle {} for arg of type {}",
                shorten(&node.to_string()),
                ty.go_type()
            )),
        }
    }

    /// A function named as an argument without parentheses: called with
    /// no arguments.
    fn eval_function_no_args(
        &mut self,
        dot: &Slot,
        node: &'t Operand,
        name: &str,
        cmd_args: &'t [Operand],
    ) -> R<Slot> {
        // Errors from the call are reported at the identifier itself.
        let v = self.eval_function(dot, node, name, At::Operand(node), cmd_args, None)?;
        Ok(v.unwrap_iface())
    }

    /// Go's `validateType`: checks that a value suits the parameter type,
    /// unwrapping an interface when the type is concrete.
    fn validate(&mut self, value: Slot, ty: Option<Ty>) -> R<Slot> {
        let Some(ty) = ty else {
            return Ok(value);
        };
        match &value {
            Slot::Invalid => {
                if ty.can_be_nil() {
                    return Ok(ty.zero());
                }
                return self.errorf(format_args!("invalid value; expected {}", ty.go_type()));
            }
            _ if matches!(ty, Ty::Any | Ty::Reflect) => return Ok(value),
            Slot::Iface(p) if p.get().is_nil() => {
                return self.errorf(format_args!(
                    "wrong type for value; expected {}; got interface {{}}",
                    ty.go_type()
                ));
            }
            _ => {}
        }
        let concrete = value.value();
        if ty.accepts(concrete) {
            return Ok(match value {
                Slot::Iface(p) => Slot::Val(p),
                other => other,
            });
        }
        self.errorf(format_args!(
            "wrong type for value; expected {}; got {}",
            ty.go_type(),
            concrete.go_type()
        ))
    }
}

fn ty_of(p: Param) -> Ty {
    match p {
        Param::Any => Ty::Any,
        Param::String => Ty::String,
        Param::Int => Ty::Int,
        Param::Bool => Ty::Bool,
        Param::Float => Ty::Float,
        Param::List => Ty::List,
        Param::Map => Ty::Map,
        Param::Strings => Ty::Strings,
    }
}

fn node_pos(node: &Node) -> usize {
    match node {
        Node::Text { pos, .. }
        | Node::Action { pos, .. }
        | Node::Template { pos, .. }
        | Node::Break { pos }
        | Node::Continue { pos } => *pos,
        Node::If(b) | Node::Range(b) | Node::With(b) => b.pos,
    }
}

/// Cuts a node's text for an error context.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_CONTEXT_CHARS) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}
