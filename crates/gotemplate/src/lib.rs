//! Go's `text/template`, byte for byte: parse a template once, execute it
//! many times over [`Value`]s, with bounded time and output.
//!
//! ```
//! use std::sync::Arc;
//! use gotemplate::{FuncMap, Limits, Template, Value};
//!
//! let funcs = Arc::new(FuncMap::new());
//! let t = Template::parse("t", "{{range $k, $v := .}}{{$k}}={{$v}} {{end}}", &funcs).unwrap();
//! let data = Value::from(serde_json::json!({"b": 2, "a": 1e6}));
//! let mut out = String::new();
//! t.execute(&data, &mut out, &Limits::default()).unwrap();
//! assert_eq!(out, "a=1e+06 b=2 ");
//! ```

mod ast;
pub mod budget;
mod builtins;
mod error;
mod ev;
mod exec;
pub mod fmt;
mod func;
pub mod go;
mod lex;
mod literal;
mod parse;
mod template;
mod value;

pub use error::{Error, ErrorKind};
pub use func::{FuncBody, FuncMap, Function, Param};
pub use template::{Limits, Template};
pub use value::{ElemType, List, Map, Object, Value, MAX_NESTING};

#[cfg(test)]
mod tests;
