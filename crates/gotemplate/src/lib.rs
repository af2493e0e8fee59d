//! Go's `text/template`, byte for byte: parse a template once, execute it
//! many times over [`Value`]s, with bounded time and output.

pub mod fmt;
mod func;
mod value;

pub use func::{FuncBody, FuncMap, Function, Param};
pub use value::{ElemType, List, Map, Object, Value};
