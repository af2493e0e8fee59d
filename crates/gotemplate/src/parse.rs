//! The parser: items to trees, with Go's grammar, scoping of variables,
//! function checks and error messages (`template: NAME:LINE: ...`).

use std::collections::HashMap;
use std::sync::Arc;

use crate::ast::{arg_string, is_empty_tree, Arg, Branch, Command, Func, Node, Pipe, TemplateCall};
use crate::builtins::Builtin;
use crate::error::{Error, ErrorKind};
use crate::func::FuncMap;
use crate::go::strconv;
use crate::lex::{Item, ItemType, Lexer};
use crate::literal;
use crate::value::Value;

/// Nesting of parentheses and control structures beyond which parsing
/// stops, so that recursion stays within the thread's stack.
pub(crate) const MAX_NESTING: usize = 200;

/// All trees of one source: the main one and every `define`/`block`.
pub(crate) type Trees = HashMap<Arc<str>, Arc<Vec<Node>>>;

/// What `textOrAction` returns: a node, or the `{{end}}`/`{{else}}` that
/// closes the list being read.
enum Parsed {
    Node(Node),
    End,
    Else,
}

impl Parsed {
    fn describe(&self) -> &'static str {
        match self {
            Parsed::End => "{{end}}",
            Parsed::Else => "{{else}}",
            Parsed::Node(_) => "node",
        }
    }
}

/// Per-tree parsing state, as Go keeps it on each `Tree`.
struct TreeCtx {
    vars: Vec<Arc<str>>,
    range_depth: usize,
    action_line: usize,
}

impl TreeCtx {
    fn new() -> TreeCtx {
        TreeCtx {
            vars: vec![Arc::from("$")],
            range_depth: 0,
            action_line: 0,
        }
    }
}

type PResult<T> = Result<T, Error>;

struct Parser<'a, 'f> {
    items: Vec<Item<'a>>,
    idx: usize,
    max_read: usize,
    name: &'a str,
    funcs: &'f FuncMap,
    trees: HashMap<Arc<str>, Vec<Node>>,
    nesting: usize,
}

/// Parses `source` as Go's `template.New(name).Funcs(funcs).Parse(source)`.
pub(crate) fn parse(name: &str, source: &str, funcs: &FuncMap) -> Result<Trees, Error> {
    let break_ok = !funcs.contains_key("break");
    let continue_ok = !funcs.contains_key("continue");
    let mut items = Lexer::lex(source, break_ok, continue_ok);
    if items.is_empty() {
        // The lexer always ends with EOF; keep `item()` total regardless.
        items.push(Item {
            typ: ItemType::Eof,
            pos: 0,
            val: std::borrow::Cow::Borrowed(""),
            line: 1,
        });
    }
    let mut p = Parser {
        items,
        idx: 0,
        max_read: 0,
        name,
        funcs,
        trees: HashMap::new(),
        nesting: 0,
    };
    p.parse_top()?;
    Ok(p.trees.into_iter().map(|(k, v)| (k, Arc::new(v))).collect())
}

impl<'a> Parser<'a, '_> {
    fn item(&self, i: usize) -> &Item<'a> {
        // The lexer always ends with EOF or an error item, and the parser
        // never reads past either; clamping keeps that invariant total.
        let last = self.items.len().saturating_sub(1);
        &self.items[i.min(last)]
    }

    fn next(&mut self) -> Item<'a> {
        let it = self.item(self.idx).clone();
        if self.idx > self.max_read {
            self.max_read = self.idx;
        }
        if self.idx + 1 < self.items.len() {
            self.idx += 1;
        } else {
            // Stay on the final item, counting it as consumed.
            self.idx = self.items.len();
        }
        it
    }

    fn backup(&mut self) {
        self.idx = self.idx.saturating_sub(1);
    }

    fn peek(&mut self) -> Item<'a> {
        let it = self.next();
        self.backup();
        it
    }

    fn next_non_space(&mut self) -> Item<'a> {
        loop {
            let t = self.next();
            if t.typ != ItemType::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item<'a> {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn errorf(&self, msg: impl Into<String>) -> Error {
        let line = self.item(self.max_read).line;
        Error::new(
            ErrorKind::Parse,
            format!("template: {}:{}: {}", self.name, line, msg.into()),
        )
    }

    fn unexpected(&self, cx: &TreeCtx, token: &Item<'_>, context: &str) -> Error {
        if token.typ == ItemType::Error {
            let mut extra = String::new();
            if cx.action_line != 0 && cx.action_line != token.line {
                extra = format!(" in action started at {}:{}", self.name, cx.action_line);
                if token.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{token}{extra}"));
        }
        self.errorf(format!("unexpected {token} in {context}"))
    }

    fn expect(&mut self, cx: &TreeCtx, typ: ItemType, context: &str) -> PResult<Item<'a>> {
        let t = self.next_non_space();
        if t.typ != typ {
            return Err(self.unexpected(cx, &t, context));
        }
        Ok(t)
    }

    fn add(&mut self, name: Arc<str>, list: Vec<Node>) -> PResult<()> {
        match self.trees.get(&name) {
            Some(existing) if !is_empty_tree(existing) => {
                if !is_empty_tree(&list) {
                    return Err(self.errorf(format!(
                        "template: multiple definition of template {}",
                        strconv::quote(&name)
                    )));
                }
                Ok(())
            }
            _ => {
                self.trees.insert(name, list);
                Ok(())
            }
        }
    }

    fn parse_top(&mut self) -> PResult<()> {
        let mut cx = TreeCtx::new();
        let mut root = Vec::new();
        while self.peek().typ != ItemType::Eof {
            if self.peek().typ == ItemType::LeftDelim {
                let save = self.idx;
                self.next();
                if self.next_non_space().typ == ItemType::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.idx = save;
            }
            match self.text_or_action(&mut cx)? {
                Parsed::Node(n) => root.push(n),
                other => return Err(self.errorf(format!("unexpected {}", other.describe()))),
            }
        }
        self.add(Arc::from(self.name), root)
    }

    fn parse_definition(&mut self) -> PResult<()> {
        const CONTEXT: &str = "define clause";
        let mut cx = TreeCtx::new();
        let tok = self.next_non_space();
        if tok.typ != ItemType::String && tok.typ != ItemType::RawString {
            return Err(self.unexpected(&cx, &tok, CONTEXT));
        }
        let name = literal::unquote(&tok.val).map_err(|e| self.errorf(e))?;
        self.expect(&cx, ItemType::RightDelim, CONTEXT)?;
        let (list, end) = self.item_list(&mut cx)?;
        if !matches!(end, Parsed::End) {
            return Err(self.errorf(format!("unexpected {} in {CONTEXT}", end.describe())));
        }
        self.add(Arc::from(name), list)
    }

    fn item_list(&mut self, cx: &mut TreeCtx) -> PResult<(Vec<Node>, Parsed)> {
        let mut list = Vec::new();
        while self.peek_non_space().typ != ItemType::Eof {
            match self.text_or_action(cx)? {
                Parsed::Node(n) => list.push(n),
                end => return Ok((list, end)),
            }
        }
        Err(self.errorf("unexpected EOF"))
    }

    fn text_or_action(&mut self, cx: &mut TreeCtx) -> PResult<Parsed> {
        let token = self.next_non_space();
        match token.typ {
            ItemType::Text => Ok(Parsed::Node(Node::Text(token.val.as_ref().into()))),
            ItemType::LeftDelim => {
                cx.action_line = token.line;
                let r = self.action(cx);
                cx.action_line = 0;
                r
            }
            _ => Err(self.unexpected(cx, &token, "input")),
        }
    }

    fn action(&mut self, cx: &mut TreeCtx) -> PResult<Parsed> {
        let token = self.next_non_space();
        match token.typ {
            ItemType::Block => return self.block_control(cx).map(Parsed::Node),
            ItemType::Break => return self.loop_control(cx, "{{break}}", Node::Break),
            ItemType::Continue => return self.loop_control(cx, "{{continue}}", Node::Continue),
            ItemType::Else => return self.else_control(cx),
            ItemType::End => {
                self.expect(cx, ItemType::RightDelim, "end")?;
                return Ok(Parsed::End);
            }
            ItemType::If => return self.if_control(cx).map(Parsed::Node),
            ItemType::Range => {
                let b = self.parse_control(cx, false, "range")?;
                return Ok(Parsed::Node(Node::Range(Box::new(b))));
            }
            ItemType::Template => return self.template_control(cx).map(Parsed::Node),
            ItemType::With => {
                let b = self.parse_control(cx, false, "with")?;
                return Ok(Parsed::Node(Node::With(Box::new(b))));
            }
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline(cx, "command", ItemType::RightDelim)?;
        Ok(Parsed::Node(Node::Action(pipe)))
    }

    fn loop_control(&mut self, cx: &TreeCtx, context: &str, node: Node) -> PResult<Parsed> {
        let token = self.next_non_space();
        if token.typ != ItemType::RightDelim {
            return Err(self.unexpected(cx, &token, context));
        }
        if cx.range_depth == 0 {
            return Err(self.errorf(format!("{context} outside {{{{range}}}}")));
        }
        Ok(Parsed::Node(node))
    }

    fn else_control(&mut self, cx: &TreeCtx) -> PResult<Parsed> {
        if self.peek_non_space().typ == ItemType::If {
            return Ok(Parsed::Else);
        }
        self.expect(cx, ItemType::RightDelim, "else")?;
        Ok(Parsed::Else)
    }

    fn if_control(&mut self, cx: &mut TreeCtx) -> PResult<Node> {
        let b = self.parse_control(cx, true, "if")?;
        Ok(Node::If(Box::new(b)))
    }

    fn enter(&mut self) -> PResult<()> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(self.errorf(format!("exceeded maximum nesting depth ({MAX_NESTING})")));
        }
        Ok(())
    }

    fn parse_control(
        &mut self,
        cx: &mut TreeCtx,
        allow_else_if: bool,
        context: &str,
    ) -> PResult<Branch> {
        self.enter()?;
        let mark = cx.vars.len();
        let r = self.parse_control_inner(cx, allow_else_if, context);
        cx.vars.truncate(mark);
        self.nesting -= 1;
        r
    }

    fn parse_control_inner(
        &mut self,
        cx: &mut TreeCtx,
        allow_else_if: bool,
        context: &str,
    ) -> PResult<Branch> {
        let pipe = self.pipeline(cx, context, ItemType::RightDelim)?;
        let is_range = context == "range";
        if is_range {
            cx.range_depth += 1;
        }
        let r = self.item_list(cx);
        if is_range {
            cx.range_depth -= 1;
        }
        let (list, next) = r?;
        let mut else_list = None;
        if let Parsed::Else = next {
            if allow_else_if && self.peek().typ == ItemType::If {
                self.next();
                else_list = Some(vec![self.if_control(cx)?]);
            } else {
                let (l, n) = self.item_list(cx)?;
                if !matches!(n, Parsed::End) {
                    return Err(self.errorf(format!("expected end; found {}", n.describe())));
                }
                else_list = Some(l);
            }
        }
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn template_name(&self, cx: &TreeCtx, token: &Item<'_>, context: &str) -> PResult<Arc<str>> {
        match token.typ {
            ItemType::String | ItemType::RawString => literal::unquote(&token.val)
                .map(Arc::from)
                .map_err(|e| self.errorf(e)),
            _ => Err(self.unexpected(cx, token, context)),
        }
    }

    fn block_control(&mut self, cx: &mut TreeCtx) -> PResult<Node> {
        const CONTEXT: &str = "block clause";
        let token = self.next_non_space();
        let name = self.template_name(cx, &token, CONTEXT)?;
        let pipe = self.pipeline(cx, CONTEXT, ItemType::RightDelim)?;
        let mut block_cx = TreeCtx::new();
        self.enter()?;
        let r = self.item_list(&mut block_cx);
        self.nesting -= 1;
        let (list, end) = r?;
        if !matches!(end, Parsed::End) {
            return Err(self.errorf(format!("unexpected {} in {CONTEXT}", end.describe())));
        }
        self.add(name.clone(), list)?;
        Ok(Node::Template(Box::new(TemplateCall {
            pos: token.pos,
            name,
            pipe: Some(pipe),
        })))
    }

    fn template_control(&mut self, cx: &mut TreeCtx) -> PResult<Node> {
        const CONTEXT: &str = "template clause";
        let token = self.next_non_space();
        let name = self.template_name(cx, &token, CONTEXT)?;
        let mut pipe = None;
        if self.next_non_space().typ != ItemType::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(cx, CONTEXT, ItemType::RightDelim)?);
        }
        Ok(Node::Template(Box::new(TemplateCall {
            pos: token.pos,
            name,
            pipe,
        })))
    }

    fn pipeline(&mut self, cx: &mut TreeCtx, context: &str, end: ItemType) -> PResult<Pipe> {
        self.enter()?;
        let r = self.pipeline_inner(cx, context, end);
        self.nesting -= 1;
        r
    }

    fn pipeline_inner(&mut self, cx: &mut TreeCtx, context: &str, end: ItemType) -> PResult<Pipe> {
        let token = self.peek_non_space();
        let mut pipe = Pipe {
            pos: token.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        loop {
            let v = self.peek_non_space();
            if v.typ != ItemType::Variable {
                break;
            }
            let v_idx = self.idx;
            self.next();
            let next = self.peek_non_space();
            match next.typ {
                ItemType::Assign | ItemType::Declare => {
                    pipe.is_assign = next.typ == ItemType::Assign;
                    self.next_non_space();
                    let name: Arc<str> = Arc::from(v.val.as_ref());
                    pipe.decl.push(name.clone());
                    cx.vars.push(name);
                }
                ItemType::Char if next.val == "," => {
                    self.next_non_space();
                    let name: Arc<str> = Arc::from(v.val.as_ref());
                    pipe.decl.push(name.clone());
                    cx.vars.push(name);
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().typ {
                            ItemType::Variable | ItemType::RightDelim | ItemType::RightParen => {
                                continue
                            }
                            _ => return Err(self.errorf("range can only initialize variables")),
                        }
                    }
                    return Err(self.errorf(format!("too many declarations in {context}")));
                }
                _ => self.idx = v_idx,
            }
            break;
        }
        loop {
            let token = self.next_non_space();
            match token.typ {
                t if t == end => {
                    self.check_pipeline(&pipe, context)?;
                    return Ok(pipe);
                }
                ItemType::Bool
                | ItemType::CharConstant
                | ItemType::Complex
                | ItemType::Dot
                | ItemType::Field
                | ItemType::Identifier
                | ItemType::Number
                | ItemType::Nil
                | ItemType::RawString
                | ItemType::String
                | ItemType::Variable
                | ItemType::LeftParen => {
                    self.backup();
                    let cmd = self.command(cx)?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(cx, &token, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if let Some(
                Arg::Bool(..) | Arg::Dot(_) | Arg::Nil(_) | Arg::Number(..) | Arg::Str { .. },
            ) = c.args.first()
            {
                return Err(self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    fn command(&mut self, cx: &mut TreeCtx) -> PResult<Command> {
        let mut cmd = Command {
            pos: self.peek_non_space().pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand(cx)? {
                cmd.args.push(op);
            }
            let token = self.next();
            match token.typ {
                ItemType::Space => continue,
                ItemType::RightDelim | ItemType::RightParen => self.backup(),
                ItemType::Pipe => {}
                _ => return Err(self.unexpected(cx, &token, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.errorf("empty command"));
        }
        Ok(cmd)
    }

    fn operand(&mut self, cx: &mut TreeCtx) -> PResult<Option<Arg>> {
        let Some(node) = self.term(cx)? else {
            return Ok(None);
        };
        if self.peek().typ != ItemType::Field {
            return Ok(Some(node));
        }
        let chain_pos = self.peek().pos;
        let mut fields: Vec<Arc<str>> = Vec::new();
        while self.peek().typ == ItemType::Field {
            let f = self.next();
            fields.push(Arc::from(&f.val[1..]));
        }
        Ok(Some(match node {
            Arg::Field { idents, .. } => {
                let mut all = idents.into_vec();
                all.extend(fields);
                Arg::Field {
                    pos: chain_pos,
                    idents: all.into(),
                }
            }
            Arg::Variable {
                name,
                fields: existing,
                ..
            } => {
                let mut all = existing.into_vec();
                all.extend(fields);
                Arg::Variable {
                    pos: chain_pos,
                    name,
                    fields: all.into(),
                }
            }
            Arg::Bool(..) | Arg::Str { .. } | Arg::Number(..) | Arg::Nil(_) | Arg::Dot(_) => {
                return Err(self.errorf(format!(
                    "unexpected . after term {}",
                    strconv::quote(&arg_string(&node))
                )))
            }
            other => Arg::Chain {
                pos: chain_pos,
                node: Box::new(other),
                fields: fields.into(),
            },
        }))
    }

    fn resolve(&self, name: &str) -> Option<Func> {
        if let Some(f) = self.funcs.get(name) {
            return Some(Func::User(f.clone()));
        }
        Builtin::by_name(name).map(Func::Builtin)
    }

    fn term(&mut self, cx: &mut TreeCtx) -> PResult<Option<Arg>> {
        let token = self.next_non_space();
        let pos = token.pos;
        let arg = match token.typ {
            ItemType::Identifier => {
                let Some(func) = self.resolve(&token.val) else {
                    return Err(self.errorf(format!(
                        "function {} not defined",
                        strconv::quote(&token.val)
                    )));
                };
                Arg::Ident {
                    pos,
                    name: Arc::from(token.val.as_ref()),
                    func: Box::new(func),
                }
            }
            ItemType::Dot => Arg::Dot(pos),
            ItemType::Nil => Arg::Nil(pos),
            ItemType::Variable => {
                if !cx.vars.iter().any(|v| **v == *token.val) {
                    return Err(
                        self.errorf(format!("undefined variable {}", strconv::quote(&token.val)))
                    );
                }
                Arg::Variable {
                    pos,
                    name: Arc::from(token.val.as_ref()),
                    fields: Box::new([]),
                }
            }
            ItemType::Field => Arg::Field {
                pos,
                idents: vec![Arc::from(&token.val[1..])].into(),
            },
            ItemType::Bool => Arg::Bool(pos, token.val == "true"),
            ItemType::CharConstant | ItemType::Complex | ItemType::Number => {
                let n = literal::number(
                    &token.val,
                    token.typ == ItemType::CharConstant,
                    token.typ == ItemType::Complex,
                )
                .map_err(|e| self.errorf(e))?;
                Arg::Number(pos, Box::new(n))
            }
            ItemType::LeftParen => {
                let p = self.pipeline(cx, "parenthesized pipeline", ItemType::RightParen)?;
                Arg::Pipe(Box::new(p))
            }
            ItemType::String | ItemType::RawString => {
                let s = literal::unquote(&token.val).map_err(|e| self.errorf(e))?;
                Arg::Str {
                    pos,
                    quoted: token.val.as_ref().into(),
                    value: Value::string(s),
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        };
        Ok(Some(arg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(src: &str) -> Vec<String> {
        let mut n: Vec<String> = parse("t", src, &FuncMap::new())
            .unwrap()
            .keys()
            .map(|k| k.to_string())
            .collect();
        n.sort();
        n
    }

    #[test]
    fn define_and_block_add_named_trees() {
        assert_eq!(
            names(r#"{{define "a"}}x{{end}}{{block "b" .}}y{{end}}"#),
            vec!["a", "b", "t"]
        );
    }

    #[test]
    fn redefining_a_non_empty_template_is_an_error() {
        let err = parse(
            "t",
            r#"{{define "a"}}1{{end}}{{define "a"}}2{{end}}"#,
            &FuncMap::new(),
        )
        .err()
        .unwrap();
        assert_eq!(
            err.to_string(),
            "template: t:1: template: multiple definition of template \"a\""
        );
    }

    #[test]
    fn excessive_nesting_is_refused() {
        let src = format!(
            "{{{{{}1{}}}}}",
            "(".repeat(MAX_NESTING + 1),
            ")".repeat(MAX_NESTING + 1)
        );
        let err = parse("t", &src, &FuncMap::new()).err().unwrap();
        assert!(err.to_string().contains("nesting depth"), "{err}");
    }
}
