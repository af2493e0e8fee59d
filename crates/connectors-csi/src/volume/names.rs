//! The names a volume's attributes carry: namespaces and object names as
//! Kubernetes spells them, and the file names a volume may hold.

use super::AttributeError;

/// A namespace: an RFC 1123 label.
pub(super) fn check_label(attribute: &'static str, value: &str) -> Result<(), AttributeError> {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if ok {
        return Ok(());
    }
    Err(AttributeError::new(
        attribute,
        format!(
            "{} is not a valid namespace (lowercase letters, digits and '-', \
             at most 63, starting and ending with a letter or digit)",
            super::excerpt(value)
        ),
    ))
}

/// An object name: an RFC 1123 subdomain.
pub(super) fn check_subdomain(attribute: &'static str, value: &str) -> Result<(), AttributeError> {
    let ok = !value.is_empty()
        && value.len() <= 253
        && value.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        });
    if ok {
        return Ok(());
    }
    Err(AttributeError::new(
        attribute,
        format!(
            "{} is not a valid connector name (lowercase letters, digits, '-' and '.', \
             at most 253, starting and ending with a letter or digit)",
            super::excerpt(value)
        ),
    ))
}

/// Whether `name` may be a file of the volume: `[A-Za-z0-9._-]+`, not `.`/`..`.
pub fn is_valid_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}
