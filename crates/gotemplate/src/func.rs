//! Functions a template can call, declared with their Go signature.
//!
//! Go checks and converts every argument against the function's parameter
//! types before the call (`{{ upper 3 }}` fails, `{{ add1 3 }}` passes an
//! `int`, a JSON number passed to an `int` parameter is an error). The engine
//! does that conversion from the [`Param`] list, so a function body receives
//! arguments already of the declared type.

use std::collections::HashMap;
use std::sync::Arc;

use crate::value::Value;

/// The Go type of one parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// `interface{}`: anything, passed as it is.
    Any,
    /// `string`
    Str,
    /// `int` (arrives as `Value::Int`)
    Int,
    /// `int64` (arrives as `Value::Int64`)
    Int64,
    /// `uint32` (arrives as `Value::Int`)
    Uint32,
    /// `float64` (arrives as `Value::Float`)
    Float,
    /// `bool`
    Bool,
    /// `[]interface{}`
    ListAny,
    /// `map[string]interface{}`
    MapAny,
    /// A concrete [`crate::Object`] type, named by its `type_name()`
    /// (`time.Time`, sprig's `certificate`).
    Object(&'static str),
}

impl Param {
    /// The Go spelling, for "expected string; got float64" messages.
    pub fn go_name(self) -> &'static str {
        match self {
            Param::Any => "interface {}",
            Param::Str => "string",
            Param::Int => "int",
            Param::Int64 => "int64",
            Param::Uint32 => "uint32",
            Param::Float => "float64",
            Param::Bool => "bool",
            Param::ListAny => "[]interface {}",
            Param::MapAny => "map[string]interface {}",
            Param::Object(name) => name,
        }
    }
}

/// The body of a function: arguments already converted to the declared
/// parameter types. An `Err` is the Go function's error (or recovered panic)
/// message; the engine reports it as `error calling NAME: MESSAGE`.
pub type FuncBody = Arc<dyn Fn(&[Value]) -> Result<Value, String> + Send + Sync>;

/// A function with its Go signature.
#[derive(Clone)]
pub struct Function {
    pub params: &'static [Param],
    /// `...T` as the last parameter.
    pub variadic: Option<Param>,
    pub body: FuncBody,
}

impl Function {
    pub fn new(
        params: &'static [Param],
        variadic: Option<Param>,
        body: impl Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static,
    ) -> Function {
        Function {
            params,
            variadic,
            body: Arc::new(body),
        }
    }
}

/// Functions by name, as Go's `template.FuncMap`. Entries here take
/// precedence over the builtins of the same name (sprig replaces `slice`).
pub type FuncMap = HashMap<&'static str, Function>;
