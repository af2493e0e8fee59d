//! An evaluated value as Go's `reflect.Value` sees it during execution:
//! missing (the invalid value), held in an `interface{}` slot, or plain.

use crate::value::{ElemType, Value};

/// Go's `reflect.Value` distinctions that change what a template does: a
/// missing map key is invalid (`.a.b` on it yields `<no value>`), while a
/// JSON `null` read out of a `map[string]interface{}` is a nil interface
/// (`.a.b` on it fails with `nil pointer evaluating interface {}.b`).
#[derive(Clone, Debug)]
pub(crate) enum Ev {
    Missing,
    /// Read from an `interface{}`-typed slice element or map value.
    Iface(Value),
    Plain(Value),
}

static NIL: Value = Value::Nil;

impl Ev {
    /// A value read from a container whose element type is `elem`.
    pub(crate) fn from_elem(v: Value, elem: ElemType) -> Ev {
        if elem == ElemType::Any {
            Ev::Iface(v)
        } else {
            Ev::Plain(v)
        }
    }

    /// A function's result: `nil` is an `interface{}` holding nothing.
    pub(crate) fn from_result(v: Value) -> Ev {
        match v {
            Value::Nil => Ev::Iface(Value::Nil),
            v => Ev::Plain(v),
        }
    }

    /// The data passed to `Execute`: `nil` is the invalid value.
    pub(crate) fn from_data(v: &Value) -> Ev {
        match v {
            Value::Nil => Ev::Missing,
            v => Ev::Plain(v.clone()),
        }
    }

    pub(crate) fn value(&self) -> &Value {
        match self {
            Ev::Missing => &NIL,
            Ev::Iface(v) | Ev::Plain(v) => v,
        }
    }

    pub(crate) fn into_value(self) -> Value {
        match self {
            Ev::Missing => Value::Nil,
            Ev::Iface(v) | Ev::Plain(v) => v,
        }
    }

    pub(crate) fn is_missing(&self) -> bool {
        matches!(self, Ev::Missing)
    }

    /// What `evalPipeline` does after each command: an `interface{}` value
    /// becomes its content, a nil one becomes invalid.
    pub(crate) fn flatten(self) -> Ev {
        match self {
            Ev::Iface(Value::Nil) => Ev::Missing,
            Ev::Iface(v) => Ev::Plain(v),
            other => other,
        }
    }

    /// Go's `indirectInterface`: through the interface, nil becomes invalid.
    pub(crate) fn indirect(&self) -> Option<&Value> {
        match self {
            Ev::Missing | Ev::Iface(Value::Nil) => None,
            Ev::Iface(v) | Ev::Plain(v) => Some(v),
        }
    }

    /// `value.Type()` as Go prints it in messages.
    pub(crate) fn type_name(&self) -> String {
        match self {
            Ev::Missing => "<nil>".to_string(),
            Ev::Iface(_) => "interface {}".to_string(),
            Ev::Plain(v) => v.type_name(),
        }
    }

    /// Go's template truth of the value (through the interface).
    pub(crate) fn truth(&self) -> bool {
        self.indirect().is_some_and(Value::is_truthy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatten_turns_a_nil_interface_into_a_missing_value() {
        assert!(Ev::Iface(Value::Nil).flatten().is_missing());
        assert!(matches!(
            Ev::Iface(Value::Int(1)).flatten(),
            Ev::Plain(Value::Int(1))
        ));
    }

    #[test]
    fn interface_slots_report_go_interface_type() {
        assert_eq!(
            Ev::from_elem(Value::Int(1), ElemType::Any).type_name(),
            "interface {}"
        );
        assert_eq!(
            Ev::from_elem(Value::str("x"), ElemType::Str).type_name(),
            "string"
        );
    }
}
