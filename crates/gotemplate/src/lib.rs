//! Go's `text/template`, byte for byte: parse a template once, execute it
//! many times over [`Value`]s, with bounded time and output.

mod ast;
mod builtins;
mod error;
mod ev;
mod exec;
pub mod fmt;
mod func;
mod lex;
mod literal;
mod parse;
mod template;
mod value;

pub use error::{Error, ErrorKind};
pub use func::{FuncBody, FuncMap, Function, Param};
pub use template::{Limits, Template};
pub use value::{ElemType, List, Map, Object, Value};

#[cfg(test)]
mod tests;
