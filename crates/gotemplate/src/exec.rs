//! The executor: walks the trees over the data as Go's `state` does, with
//! its scoping of variables, error positions and messages, and bounded
//! output, stack, and render budget (what calls build, and time).

use std::sync::Arc;
use std::time::Instant;

use crate::ast::{arg_string, Arg, At, Branch, Command, Func, Node, Number, Pipe, TemplateCall};
use crate::budget::{self, Exhausted};
use crate::builtins;
use crate::error::{Error, ErrorKind};
use crate::ev::Ev;
use crate::func::{Function, Param};
use crate::go::strconv;
use crate::parse::Trees;
use crate::template::Limits;
use crate::value::{List, Value};

/// Go's `maxExecDepth`, named in the error for runaway recursion.
const MAX_EXEC_DEPTH: usize = 100_000;

/// Stack the executor may use below `execute`'s frame before it stops
/// recursion with Go's depth error, instead of overflowing the thread.
const STACK_BUDGET: usize = 1024 * 1024;

/// How many steps (nodes walked) pass between two looks at the clock; calls
/// and loop iterations look every time.
const CLOCK_EVERY: u64 = 256;

/// Why a walk stopped early: `{{break}}`, `{{continue}}`, or an error.
pub(crate) enum Flow {
    Break,
    Continue,
    Err(Error),
}

pub(crate) type R<T> = Result<T, Flow>;

pub(crate) struct Exec<'t, 'o> {
    trees: &'t Trees,
    parse_name: &'t str,
    source: &'t str,
    tmpl_name: Arc<str>,
    pub(crate) node: At<'t>,
    vars: Vec<(Arc<str>, Ev)>,
    var_base: usize,
    depth: usize,
    out: &'o mut String,
    out_start: usize,
    limits: &'t Limits,
    steps: u64,
    stack_top: usize,
}

/// The name `$`, shared rather than allocated per execution.
fn dollar() -> Arc<str> {
    static DOLLAR: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();
    DOLLAR.get_or_init(|| Arc::from("$")).clone()
}

fn stack_addr() -> usize {
    let marker = 0u8;
    std::ptr::addr_of!(marker) as usize
}

/// Runs the tree called `name` over `data`.
pub(crate) fn execute(
    trees: &Trees,
    name: &Arc<str>,
    source: &str,
    data: &Value,
    out: &mut String,
    limits: &Limits,
) -> Result<(), Error> {
    let _budget = budget::Scope::enter(limits.max_built_bytes, limits.timeout, Instant::now());
    let dot = Ev::from_data(data);
    let out_start = out.len();
    out.reserve(source.len());
    let mut vars = Vec::with_capacity(8);
    vars.push((dollar(), dot.clone()));
    let mut s = Exec {
        trees,
        parse_name: name,
        source,
        tmpl_name: name.clone(),
        node: At::None,
        vars,
        var_base: 0,
        depth: 0,
        out,
        out_start,
        limits,
        steps: 0,
        stack_top: stack_addr(),
    };
    let Some(root) = trees.get(name) else {
        return Err(Error::new(
            ErrorKind::Exec,
            format!(
                "template: {name}: {} is an incomplete or empty template",
                strconv::quote(name)
            ),
        ));
    };
    match s.walk(&dot, root) {
        Ok(()) => Ok(()),
        Err(Flow::Err(e)) => Err(e),
        Err(Flow::Break | Flow::Continue) => Err(Error::new(
            ErrorKind::Exec,
            format!("template: {name}: break or continue outside range"),
        )),
    }
}

impl<'t> Exec<'t, '_> {
    /// Go's `state.errorf`: the message with the current node's location.
    pub(crate) fn err(&self, msg: impl AsRef<str>) -> Flow {
        self.err_of(ErrorKind::Exec, msg.as_ref())
    }

    fn err_of(&self, kind: ErrorKind, msg: &str) -> Flow {
        let Some(pos) = self.node.pos() else {
            return Flow::Err(Error::new(
                kind,
                format!("template: {}: {msg}", self.tmpl_name),
            ));
        };
        let text = self.source.get(..pos).unwrap_or(self.source);
        let line = 1 + text.matches('\n').count();
        let col = match text.rfind('\n') {
            None => pos,
            Some(nl) => pos - (nl + 1),
        };
        let mut context = String::new();
        self.node.write(&mut context);
        Flow::Err(Error::new(
            kind,
            format!(
                "template: {}:{line}:{col}: executing {} at <{context}>: {msg}",
                self.parse_name,
                strconv::quote(&self.tmpl_name),
            ),
        ))
    }

    /// The error for a bound of the render budget, at the current node;
    /// `call` names the function that ran into it.
    fn exhausted_err(&self, why: Exhausted, call: Option<&str>) -> Flow {
        let kind = match why {
            Exhausted::Built { .. } => ErrorKind::BuildLimit,
            Exhausted::Time { .. } => ErrorKind::Timeout,
        };
        match call {
            Some(name) => self.err_of(kind, &format!("error calling {name}: {why}")),
            None => self.err_of(kind, &why.to_string()),
        }
    }

    /// The clock, at every call and loop iteration.
    fn check_clock(&self) -> R<()> {
        budget::check_clock().map_err(|why| self.exhausted_err(why, None))
    }

    fn step(&mut self) -> R<()> {
        self.steps += 1;
        if self.steps.is_multiple_of(CLOCK_EVERY) {
            self.check_clock()?;
        }
        Ok(())
    }

    /// After a call (`result` computed while its arguments are still held):
    /// charges what it built, and reports a budget it exhausted as that
    /// bound, whatever the function returned.
    pub(crate) fn finish_call(
        &mut self,
        name: &str,
        at: At<'t>,
        result: Result<Ev, String>,
    ) -> R<Ev> {
        let charged = match &result {
            Ok(v) => budget::charge(budget::fresh_bytes(v.value())),
            Err(_) => budget::exhausted().map_or(Ok(()), Err),
        };
        if let Err(why) = charged {
            self.node = at;
            return Err(self.exhausted_err(why, Some(name)));
        }
        result.map_err(|e| {
            self.node = at;
            self.err(format!("error calling {name}: {e}"))
        })
    }

    fn write(&mut self, s: &str) -> R<()> {
        self.out.push_str(s);
        self.check_output()
    }

    fn check_output(&mut self) -> R<()> {
        if self.out.len() - self.out_start > self.limits.max_output_bytes {
            return Err(self.output_limit_err());
        }
        Ok(())
    }

    fn output_limit_err(&self) -> Flow {
        self.err_of(
            ErrorKind::OutputLimit,
            &format!(
                "output exceeds the limit of {} bytes",
                self.limits.max_output_bytes
            ),
        )
    }

    fn stack_exhausted(&self) -> bool {
        self.stack_top.abs_diff(stack_addr()) > STACK_BUDGET
    }

    fn walk(&mut self, dot: &Ev, list: &'t [Node]) -> R<()> {
        for node in list {
            self.walk_node(dot, node)?;
        }
        Ok(())
    }

    fn walk_node(&mut self, dot: &Ev, node: &'t Node) -> R<()> {
        self.step()?;
        match node {
            Node::Text(t) => self.write(t),
            Node::Action(pipe) => {
                self.node = At::Action(pipe);
                let val = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.node = At::Action(pipe);
                    self.print_value(&val)?;
                }
                Ok(())
            }
            Node::If(b) => {
                self.node = At::Branch("if", b);
                self.walk_if_or_with(false, dot, b)
            }
            Node::With(b) => {
                self.node = At::Branch("with", b);
                self.walk_if_or_with(true, dot, b)
            }
            Node::Range(b) => self.walk_range(dot, b),
            Node::Template(t) => self.walk_template(dot, t),
            Node::Break => Err(Flow::Break),
            Node::Continue => Err(Flow::Continue),
        }
    }

    fn print_value(&mut self, val: &Ev) -> R<()> {
        match val {
            Ev::Missing => self.write("<no value>"),
            _ => {
                // The printer stops just past the output limit: a value
                // that prints without end (a list holding the same big
                // list many times) is cut there.
                let limit = self
                    .out_start
                    .saturating_add(self.limits.max_output_bytes)
                    .saturating_add(1);
                if crate::fmt::write_value(self.out, val.value(), limit) {
                    self.check_output()
                } else {
                    Err(self.output_limit_err())
                }
            }
        }
    }

    fn walk_if_or_with(&mut self, is_with: bool, dot: &Ev, b: &'t Branch) -> R<()> {
        if self.stack_exhausted() {
            return Err(self.err(format!(
                "exceeded maximum template depth ({MAX_EXEC_DEPTH})"
            )));
        }
        let mark = self.vars.len();
        let r = self.walk_if_or_with_inner(is_with, dot, b);
        self.vars.truncate(mark);
        r
    }

    fn walk_if_or_with_inner(&mut self, is_with: bool, dot: &Ev, b: &'t Branch) -> R<()> {
        let val = self.eval_pipeline(dot, &b.pipe)?;
        if val.truth() {
            if is_with {
                self.walk(&val, &b.list)
            } else {
                self.walk(dot, &b.list)
            }
        } else if let Some(e) = &b.else_list {
            self.walk(dot, e)
        } else {
            Ok(())
        }
    }

    fn walk_range(&mut self, dot: &Ev, r: &'t Branch) -> R<()> {
        self.node = At::Branch("range", r);
        if self.stack_exhausted() {
            return Err(self.err(format!(
                "exceeded maximum template depth ({MAX_EXEC_DEPTH})"
            )));
        }
        let mark0 = self.vars.len();
        let res = self.walk_range_inner(dot, r);
        self.vars.truncate(mark0);
        match res {
            Err(Flow::Break) => Ok(()),
            other => other,
        }
    }

    fn walk_range_inner(&mut self, dot: &Ev, r: &'t Branch) -> R<()> {
        let val = self.eval_pipeline(dot, &r.pipe)?;
        let mark = self.vars.len();
        match val.indirect() {
            Some(Value::List(l)) if !l.items.is_empty() => {
                let l: Arc<List> = l.clone();
                for (i, item) in l.items.iter().enumerate() {
                    let elem = Ev::from_elem(item.clone(), l.elem);
                    let index = Ev::Plain(Value::Int(i as i64));
                    self.one_iteration(r, mark, elem, index)?;
                }
                return Ok(());
            }
            Some(Value::Map(m)) if !m.is_empty() => {
                let elem_type = m.elem;
                // Go sorts the keys and takes the values once, before the
                // first iteration: a body that sets or unsets entries of this
                // very map changes neither what is visited nor its values.
                for (k, v) in m.snapshot() {
                    let elem = Ev::from_elem(v, elem_type);
                    let key = Ev::Plain(Value::Str(k));
                    self.one_iteration(r, mark, elem, key)?;
                }
                return Ok(());
            }
            None | Some(Value::List(_) | Value::Map(_)) => {}
            Some(v) => {
                let shown = crate::fmt::sprint(std::slice::from_ref(v));
                return Err(self.err(format!("range can't iterate over {shown}")));
            }
        }
        match &r.else_list {
            Some(e) => self.walk(dot, e),
            None => Ok(()),
        }
    }

    fn one_iteration(&mut self, r: &'t Branch, mark: usize, elem: Ev, index: Ev) -> R<()> {
        self.check_clock()?;
        if !r.pipe.decl.is_empty() {
            self.set_top_var(1, elem.clone());
        }
        if r.pipe.decl.len() > 1 {
            self.set_top_var(2, index);
        }
        let res = self.walk(&elem, &r.list);
        self.vars.truncate(mark);
        match res {
            Err(Flow::Continue) => Ok(()),
            other => other,
        }
    }

    fn walk_template(&mut self, dot: &Ev, t: &'t TemplateCall) -> R<()> {
        self.node = At::Template(t);
        let Some(tree) = self.trees.get(&t.name) else {
            return Err(self.err(format!("template {} not defined", strconv::quote(&t.name))));
        };
        if self.depth >= MAX_EXEC_DEPTH || self.stack_exhausted() {
            return Err(self.err(format!(
                "exceeded maximum template depth ({MAX_EXEC_DEPTH})"
            )));
        }
        let new_dot = match &t.pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Ev::Missing,
        };
        let tree: &'t Vec<Node> = tree;
        let saved_name = std::mem::replace(&mut self.tmpl_name, t.name.clone());
        let saved_base = self.var_base;
        let base = self.vars.len();
        self.vars.push((dollar(), new_dot.clone()));
        self.var_base = base;
        self.depth += 1;
        let r = self.walk(&new_dot, tree);
        self.depth -= 1;
        self.vars.truncate(base);
        self.var_base = saved_base;
        self.tmpl_name = saved_name;
        r
    }

    fn set_top_var(&mut self, n: usize, v: Ev) {
        if let Some(i) = self.vars.len().checked_sub(n) {
            if i >= self.var_base {
                self.vars[i].1 = v;
            }
        }
    }

    fn set_var(&mut self, name: &str, v: Ev) -> R<()> {
        for i in (self.var_base..self.vars.len()).rev() {
            if &*self.vars[i].0 == name {
                self.vars[i].1 = v;
                return Ok(());
            }
        }
        Err(self.err(format!("undefined variable: {name}")))
    }

    fn var_value(&self, name: &str) -> R<Ev> {
        for i in (self.var_base..self.vars.len()).rev() {
            if &*self.vars[i].0 == name {
                return Ok(self.vars[i].1.clone());
            }
        }
        Err(self.err(format!("undefined variable: {name}")))
    }

    pub(crate) fn eval_pipeline(&mut self, dot: &Ev, pipe: &'t Pipe) -> R<Ev> {
        self.node = At::Pipe(pipe);
        let mut value: Option<Ev> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?.flatten());
        }
        let value = value.unwrap_or(Ev::Missing);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone())?;
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &'t [Arg], fin: &Option<Ev>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            let first = args.first().map(arg_string).unwrap_or_default();
            return Err(self.err(format!("can't give argument to non-function {first}")));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Ev, cmd: &'t Command, fin: Option<Ev>) -> R<Ev> {
        let Some(first) = cmd.args.first() else {
            return Err(self.err("empty command"));
        };
        match first {
            Arg::Field { .. } => return self.eval_field_node(dot, first, &cmd.args, fin),
            Arg::Chain { .. } => return self.eval_chain_node(dot, first, &cmd.args, fin),
            Arg::Ident { name, func, .. } => {
                self.node = At::Arg(first);
                return self.eval_call(dot, func, name, At::Command(cmd), &cmd.args, fin);
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &fin)?;
                return self.eval_pipeline(dot, p);
            }
            Arg::Variable { .. } => return self.eval_variable_node(dot, first, &cmd.args, fin),
            _ => {}
        }
        self.node = At::Arg(first);
        self.not_a_function(&cmd.args, &fin)?;
        match first {
            Arg::Bool(_, b) => Ok(Ev::Plain(Value::Bool(*b))),
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(_) => Err(self.err("nil is not a command")),
            Arg::Number(_, n) => self.ideal_constant(first, n),
            Arg::Str { value, .. } => Ok(Ev::Plain(value.clone())),
            _ => Err(self.err(format!(
                "can't evaluate command {}",
                strconv::quote(&arg_string(first))
            ))),
        }
    }

    fn ideal_constant(&mut self, at: &'t Arg, n: &Number) -> R<Ev> {
        self.node = At::Arg(at);
        let is_hex_int = n.text.len() > 2
            && n.text.starts_with('0')
            && matches!(n.text.as_bytes()[1], b'x' | b'X')
            && !n.text.contains(['p', 'P']);
        let is_rune = n.text.starts_with('\'');
        if n.is_complex {
            // No complex values in the data model: the constant prints as Go
            // prints a complex128.
            let shown = crate::fmt::complex_string(n.float, n.imag);
            return Ok(Ev::Plain(Value::string(shown)));
        }
        if n.is_float && !is_hex_int && !is_rune && n.text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Ok(Ev::Plain(Value::Float(n.float)));
        }
        if n.is_int {
            return Ok(Ev::Plain(Value::Int(n.int)));
        }
        if n.is_uint {
            return Err(self.err(format!("{} overflows int", n.text)));
        }
        Ok(Ev::Missing)
    }

    fn eval_field_node(
        &mut self,
        dot: &Ev,
        field: &'t Arg,
        args: &'t [Arg],
        fin: Option<Ev>,
    ) -> R<Ev> {
        self.node = At::Arg(field);
        let Arg::Field { idents, .. } = field else {
            return Err(self.err("internal error: not a field"));
        };
        self.eval_field_chain(dot, dot.clone(), field, idents, args, fin)
    }

    fn eval_chain_node(
        &mut self,
        dot: &Ev,
        chain: &'t Arg,
        args: &'t [Arg],
        fin: Option<Ev>,
    ) -> R<Ev> {
        self.node = At::Arg(chain);
        let Arg::Chain { node, fields, .. } = chain else {
            return Err(self.err("internal error: not a chain"));
        };
        if fields.is_empty() {
            return Err(self.err("internal error: no fields in evalChainNode"));
        }
        if let Arg::Nil(_) = node.as_ref() {
            return Err(self.err(format!(
                "indirection through explicit nil in {}",
                arg_string(chain)
            )));
        }
        let pipe = self.eval_arg_value(dot, node)?;
        self.eval_field_chain(dot, pipe, chain, fields, args, fin)
    }

    fn eval_variable_node(
        &mut self,
        dot: &Ev,
        var: &'t Arg,
        args: &'t [Arg],
        fin: Option<Ev>,
    ) -> R<Ev> {
        self.node = At::Arg(var);
        let Arg::Variable { name, fields, .. } = var else {
            return Err(self.err("internal error: not a variable"));
        };
        let value = self.var_value(name)?;
        if fields.is_empty() {
            self.not_a_function(args, &fin)?;
            return Ok(value);
        }
        self.eval_field_chain(dot, value, var, fields, args, fin)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Ev,
        mut receiver: Ev,
        node: &'t Arg,
        idents: &'t [Arc<str>],
        args: &'t [Arg],
        fin: Option<Ev>,
    ) -> R<Ev> {
        let Some((last, init)) = idents.split_last() else {
            return Ok(receiver);
        };
        for id in init {
            receiver = self.eval_field(dot, id, node, &[], None, receiver)?;
        }
        self.eval_field(dot, last, node, args, fin, receiver)
    }

    fn eval_field(
        &mut self,
        dot: &Ev,
        name: &str,
        node: &'t Arg,
        args: &'t [Arg],
        fin: Option<Ev>,
        receiver: Ev,
    ) -> R<Ev> {
        if receiver.is_missing() {
            return Ok(Ev::Missing);
        }
        let Some(v) = receiver.indirect() else {
            return Err(self.err(format!(
                "nil pointer evaluating {}.{name}",
                receiver.type_name()
            )));
        };
        let has_args = args.len() > 1 || fin.is_some();
        match v {
            Value::Map(m) => {
                if has_args {
                    return Err(self.err(format!("{name} is not a method but has arguments")));
                }
                Ok(match m.get(name) {
                    Some(x) => Ev::from_elem(x, m.elem),
                    None => Ev::Missing,
                })
            }
            Value::Object(o) => {
                let o = o.clone();
                let mut argv = Vec::new();
                for a in args.iter().skip(1) {
                    argv.push(self.eval_arg_typed(dot, Param::Any, a)?);
                }
                if let Some(f) = fin {
                    argv.push(f.into_value());
                }
                self.check_clock()?;
                match o.member(name, &argv) {
                    None => Err(self.err(format!(
                        "can't evaluate field {name} in type {}",
                        receiver.type_name()
                    ))),
                    Some(result) => {
                        self.finish_call(name, At::Arg(node), result.map(Ev::from_result))
                    }
                }
            }
            _ => Err(self.err(format!(
                "can't evaluate field {name} in type {}",
                receiver.type_name()
            ))),
        }
    }

    /// `evalCall`: argument count, conversion, the call itself.
    fn eval_call(
        &mut self,
        dot: &Ev,
        func: &'t Func,
        name: &str,
        at: At<'t>,
        args: &'t [Arg],
        fin: Option<Ev>,
    ) -> R<Ev> {
        let args = args.get(1..).unwrap_or(&[]);
        self.check_clock()?;
        match func {
            Func::User(f) => self.call_user(dot, f, name, at, args, fin),
            Func::Builtin(b) => builtins::call(self, dot, *b, name, at, args, fin),
        }
    }

    /// Checks the count of arguments against a signature, in Go's words.
    pub(crate) fn check_arity(
        &self,
        name: &str,
        fixed: usize,
        variadic: bool,
        n_args: usize,
        has_final: bool,
    ) -> R<()> {
        let num_in = n_args + usize::from(has_final);
        if variadic {
            if num_in < fixed {
                return Err(self.err(format!(
                    "wrong number of args for {name}: want at least {fixed} got {n_args}"
                )));
            }
        } else if num_in != fixed {
            return Err(self.err(format!(
                "wrong number of args for {name}: want {fixed} got {num_in}"
            )));
        }
        Ok(())
    }

    fn call_user(
        &mut self,
        dot: &Ev,
        f: &'t Function,
        name: &str,
        at: At<'t>,
        args: &'t [Arg],
        fin: Option<Ev>,
    ) -> R<Ev> {
        let fixed = f.params.len();
        self.check_arity(name, fixed, f.variadic.is_some(), args.len(), fin.is_some())?;
        let num_in = args.len() + usize::from(fin.is_some());
        let mut argv = Vec::with_capacity(num_in);
        for (i, a) in args.iter().enumerate() {
            let p = match f.params.get(i) {
                Some(p) => *p,
                None => f.variadic.unwrap_or(Param::Any),
            };
            argv.push(self.eval_arg_typed(dot, p, a)?);
        }
        if let Some(fv) = fin {
            let p = match f.variadic {
                Some(v) if num_in > fixed => v,
                _ => f.params.get(num_in - 1).copied().unwrap_or(Param::Any),
            };
            argv.push(self.validate_type(fv, p)?);
        }
        let result = (f.body)(&argv).map(Ev::from_result);
        self.finish_call(name, at, result)
    }

    /// `evalArg` with no type (a chain's head): the value as it is.
    fn eval_arg_value(&mut self, dot: &Ev, n: &'t Arg) -> R<Ev> {
        self.node = At::Arg(n);
        match n {
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(_) => Ok(Ev::Missing),
            Arg::Field { .. } => self.eval_field_node(dot, n, std::slice::from_ref(n), None),
            Arg::Variable { .. } => self.eval_variable_node(dot, n, &[], None),
            Arg::Pipe(p) => self.eval_pipeline(dot, p),
            Arg::Ident { name, func, .. } => self.eval_call(dot, func, name, At::Arg(n), &[], None),
            Arg::Chain { .. } => self.eval_chain_node(dot, n, &[], None),
            _ => self.eval_empty_interface(n),
        }
    }

    /// `evalArg` for a builtin's `reflect.Value` parameter.
    pub(crate) fn eval_arg_reflect(&mut self, dot: &Ev, n: &'t Arg) -> R<Ev> {
        self.eval_arg_value(dot, n)
    }

    /// `evalArg` against a declared parameter type.
    pub(crate) fn eval_arg_typed(&mut self, dot: &Ev, typ: Param, n: &'t Arg) -> R<Value> {
        self.node = At::Arg(n);
        match n {
            Arg::Dot(_) => return self.validate_type(dot.clone(), typ),
            Arg::Nil(_) => {
                if can_be_nil(typ) {
                    return Ok(zero(typ));
                }
                return Err(self.err(format!("cannot assign nil to {}", typ.go_name())));
            }
            Arg::Field { .. } => {
                let v = self.eval_field_node(dot, n, std::slice::from_ref(n), None)?;
                return self.validate_type(v, typ);
            }
            Arg::Variable { .. } => {
                let v = self.eval_variable_node(dot, n, &[], None)?;
                return self.validate_type(v, typ);
            }
            Arg::Pipe(p) => {
                let v = self.eval_pipeline(dot, p)?;
                return self.validate_type(v, typ);
            }
            Arg::Ident { name, func, .. } => {
                let v = self.eval_call(dot, func, name, At::Arg(n), &[], None)?;
                return self.validate_type(v, typ);
            }
            Arg::Chain { .. } => {
                let v = self.eval_chain_node(dot, n, &[], None)?;
                return self.validate_type(v, typ);
            }
            _ => {}
        }
        match typ {
            Param::Bool => match n {
                Arg::Bool(_, b) => Ok(Value::Bool(*b)),
                _ => Err(self.err(format!("expected bool; found {}", arg_string(n)))),
            },
            Param::Float => match n {
                Arg::Number(_, num) if num.is_float => Ok(Value::Float(num.float)),
                _ => Err(self.err(format!("expected float; found {}", arg_string(n)))),
            },
            Param::Int | Param::Int64 => match n {
                Arg::Number(_, num) if num.is_int => Ok(if typ == Param::Int {
                    Value::Int(num.int)
                } else {
                    Value::Int64(num.int)
                }),
                _ => Err(self.err(format!("expected integer; found {}", arg_string(n)))),
            },
            Param::Uint32 => match n {
                Arg::Number(_, num) if num.is_uint => Ok(Value::Int(i64::from(num.uint as u32))),
                _ => Err(self.err(format!(
                    "expected unsigned integer; found {}",
                    arg_string(n)
                ))),
            },
            Param::Str => match n {
                Arg::Str { value, .. } => Ok(value.clone()),
                _ => Err(self.err(format!("expected string; found {}", arg_string(n)))),
            },
            Param::Any => Ok(self.eval_empty_interface(n)?.into_value()),
            Param::ListAny | Param::MapAny | Param::Object(_) => Err(self.err(format!(
                "can't handle {} for arg of type {}",
                arg_string(n),
                typ.go_name()
            ))),
        }
    }

    /// `evalEmptyInterface` for constants.
    fn eval_empty_interface(&mut self, n: &'t Arg) -> R<Ev> {
        self.node = At::Arg(n);
        match n {
            Arg::Bool(_, b) => Ok(Ev::Plain(Value::Bool(*b))),
            Arg::Number(_, num) => self.ideal_constant(n, num),
            Arg::Str { value, .. } => Ok(Ev::Plain(value.clone())),
            Arg::Nil(_) => Err(self.err("evalEmptyInterface: nil (can't happen)")),
            _ => Err(self.err(format!(
                "can't handle assignment of {} to empty interface argument",
                arg_string(n)
            ))),
        }
    }

    /// `validateType`: a computed value against a parameter type.
    pub(crate) fn validate_type(&self, value: Ev, typ: Param) -> R<Value> {
        let v = match value {
            Ev::Missing => {
                if can_be_nil(typ) {
                    return Ok(zero(typ));
                }
                return Err(self.err(format!("invalid value; expected {}", typ.go_name())));
            }
            _ if typ == Param::Any => return Ok(value.into_value()),
            Ev::Iface(Value::Nil) => {
                return Err(self.err(format!(
                    "wrong type for value; expected {}; got interface {{}}",
                    typ.go_name()
                )))
            }
            Ev::Iface(v) | Ev::Plain(v) => v,
        };
        if assignable(&v, typ) {
            Ok(v)
        } else {
            Err(self.err(format!(
                "wrong type for value; expected {}; got {}",
                typ.go_name(),
                v.type_name()
            )))
        }
    }
}

fn can_be_nil(typ: Param) -> bool {
    match typ {
        Param::Any | Param::ListAny | Param::MapAny => true,
        Param::Object(name) => name.starts_with('*'),
        _ => false,
    }
}

fn zero(typ: Param) -> Value {
    match typ {
        Param::ListAny => Value::list(Vec::new()),
        Param::MapAny => Value::map(Default::default()),
        _ => Value::Nil,
    }
}

fn assignable(v: &Value, typ: Param) -> bool {
    use crate::value::ElemType;
    match (typ, v) {
        (Param::Any, _) => true,
        (Param::Str, Value::Str(_))
        | (Param::Int, Value::Int(_))
        | (Param::Int64, Value::Int64(_))
        | (Param::Float, Value::Float(_))
        | (Param::Bool, Value::Bool(_)) => true,
        (Param::ListAny, Value::List(l)) => l.elem == ElemType::Any,
        (Param::MapAny, Value::Map(m)) => m.elem == ElemType::Any,
        (Param::Object(name), Value::Object(o)) => o.type_name() == name,
        _ => false,
    }
}
