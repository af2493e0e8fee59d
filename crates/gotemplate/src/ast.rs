//! The parse tree, and its printing as Go's `Node.String()` (used for the
//! `<...>` context of execution errors).

use std::sync::Arc;

use crate::builtins::Builtin;
use crate::func::Function;
use crate::value::Value;

/// One item of a list: text, an action or a control structure.
pub(crate) enum Node {
    Text(Box<str>),
    Action(Pipe),
    If(Box<Branch>),
    Range(Box<Branch>),
    With(Box<Branch>),
    Template(Box<TemplateCall>),
    Break,
    Continue,
}

pub(crate) struct Branch {
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

pub(crate) struct TemplateCall {
    pub pos: usize,
    pub name: Arc<str>,
    pub pipe: Option<Pipe>,
}

pub(crate) struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<Arc<str>>,
    pub cmds: Vec<Command>,
}

pub(crate) struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

/// What a function name resolved to at parse time.
pub(crate) enum Func {
    Builtin(Builtin),
    User(Function),
}

pub(crate) struct Number {
    pub text: Box<str>,
    pub is_int: bool,
    pub is_uint: bool,
    pub is_float: bool,
    pub is_complex: bool,
    pub int: i64,
    pub uint: u64,
    pub float: f64,
    /// Imaginary part of a complex constant (`float` is the real part).
    pub imag: f64,
}

/// An operand of a command.
pub(crate) enum Arg {
    Field {
        pos: usize,
        idents: Box<[Arc<str>]>,
    },
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Box<[Arc<str>]>,
    },
    Ident {
        pos: usize,
        name: Arc<str>,
        func: Box<Func>,
    },
    Pipe(Box<Pipe>),
    Variable {
        pos: usize,
        name: Arc<str>,
        fields: Box<[Arc<str>]>,
    },
    Dot(usize),
    Nil(usize),
    Bool(usize, bool),
    Number(usize, Box<Number>),
    Str {
        pos: usize,
        quoted: Box<str>,
        value: Value,
    },
}

impl Arg {
    pub(crate) fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Chain { pos, .. }
            | Arg::Ident { pos, .. }
            | Arg::Variable { pos, .. }
            | Arg::Dot(pos)
            | Arg::Nil(pos)
            | Arg::Bool(pos, _)
            | Arg::Number(pos, _)
            | Arg::Str { pos, .. } => *pos,
            Arg::Pipe(p) => p.pos,
        }
    }
}

/// A node an execution error points at: Go's `state.node`.
#[derive(Clone, Copy)]
pub(crate) enum At<'t> {
    None,
    Action(&'t Pipe),
    Branch(&'static str, &'t Branch),
    Template(&'t TemplateCall),
    Pipe(&'t Pipe),
    Command(&'t Command),
    Arg(&'t Arg),
}

impl At<'_> {
    pub(crate) fn pos(&self) -> Option<usize> {
        match self {
            At::None => None,
            At::Action(p) | At::Pipe(p) => Some(p.pos),
            At::Branch(_, b) => Some(b.pipe.pos),
            At::Template(t) => Some(t.pos),
            At::Command(c) => Some(c.pos),
            At::Arg(a) => Some(a.pos()),
        }
    }

    pub(crate) fn write(&self, out: &mut String) {
        match self {
            At::None => {}
            At::Action(p) => {
                out.push_str("{{");
                write_pipe(out, p);
                out.push_str("}}");
            }
            At::Branch(name, b) => write_branch(out, name, b),
            At::Template(t) => write_template(out, t),
            At::Pipe(p) => write_pipe(out, p),
            At::Command(c) => write_command(out, c),
            At::Arg(a) => write_arg(out, a),
        }
    }
}

fn write_list(out: &mut String, list: &[Node]) {
    for n in list {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Action(p) => At::Action(p).write(out),
            Node::If(b) => write_branch(out, "if", b),
            Node::Range(b) => write_branch(out, "range", b),
            Node::With(b) => write_branch(out, "with", b),
            Node::Template(t) => write_template(out, t),
            Node::Break => out.push_str("{{break}}"),
            Node::Continue => out.push_str("{{continue}}"),
        }
    }
}

fn write_branch(out: &mut String, name: &str, b: &Branch) {
    out.push_str("{{");
    out.push_str(name);
    out.push(' ');
    write_pipe(out, &b.pipe);
    out.push_str("}}");
    write_list(out, &b.list);
    if let Some(e) = &b.else_list {
        out.push_str("{{else}}");
        write_list(out, e);
    }
    out.push_str("{{end}}");
}

fn write_template(out: &mut String, t: &TemplateCall) {
    out.push_str("{{template ");
    out.push_str(&crate::go::strconv::quote(&t.name));
    if let Some(p) = &t.pipe {
        out.push(' ');
        write_pipe(out, p);
    }
    out.push_str("}}");
}

pub(crate) fn write_pipe(out: &mut String, p: &Pipe) {
    if !p.decl.is_empty() {
        for (i, v) in p.decl.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(v);
        }
        out.push_str(" := ");
    }
    for (i, c) in p.cmds.iter().enumerate() {
        if i > 0 {
            out.push_str(" | ");
        }
        write_command(out, c);
    }
}

fn write_command(out: &mut String, c: &Command) {
    for (i, a) in c.args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if let Arg::Pipe(p) = a {
            out.push('(');
            write_pipe(out, p);
            out.push(')');
            continue;
        }
        write_arg(out, a);
    }
}

pub(crate) fn write_arg(out: &mut String, a: &Arg) {
    match a {
        Arg::Field { idents, .. } => {
            for id in idents.iter() {
                out.push('.');
                out.push_str(id);
            }
        }
        Arg::Chain { node, fields, .. } => {
            if let Arg::Pipe(p) = node.as_ref() {
                out.push('(');
                write_pipe(out, p);
                out.push(')');
            } else {
                write_arg(out, node);
            }
            for f in fields.iter() {
                out.push('.');
                out.push_str(f);
            }
        }
        Arg::Ident { name, .. } => out.push_str(name),
        Arg::Pipe(p) => write_pipe(out, p),
        Arg::Variable { name, fields, .. } => {
            out.push_str(name);
            for f in fields.iter() {
                out.push('.');
                out.push_str(f);
            }
        }
        Arg::Dot(_) => out.push('.'),
        Arg::Nil(_) => out.push_str("nil"),
        Arg::Bool(_, b) => out.push_str(if *b { "true" } else { "false" }),
        Arg::Number(_, n) => out.push_str(&n.text),
        Arg::Str { quoted, .. } => out.push_str(quoted),
    }
}

/// Go's `node.String()` of an operand.
pub(crate) fn arg_string(a: &Arg) -> String {
    let mut s = String::new();
    write_arg(&mut s, a);
    s
}

/// Go's `parse.IsEmptyTree`: only whitespace text.
pub(crate) fn is_empty_tree(list: &[Node]) -> bool {
    list.iter().all(|n| match n {
        Node::Text(t) => t.trim().is_empty(),
        _ => false,
    })
}
