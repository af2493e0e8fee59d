//! Go's `fmt` printing of template values: `Sprint`, `Sprintln`, `Sprintf`.
//!
//! PLACEHOLDER signatures: the engine work fills these in.

use crate::value::Value;

/// `fmt.Sprint(args...)`: spaces between operands when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let _ = args;
    unimplemented!("gotemplate::fmt::sprint")
}

/// `fmt.Sprintln(args...)`: spaces between all operands, newline at the end.
pub fn sprintln(args: &[Value]) -> String {
    let _ = args;
    unimplemented!("gotemplate::fmt::sprintln")
}

/// `fmt.Sprintf(format, args...)` with Go's verbs, flags and `%!v(BADxxx)` forms.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let _ = (format, args);
    unimplemented!("gotemplate::fmt::sprintf")
}
