//! The token in every spelling a template is likely to give it: as is,
//! base64 (standard and URL-safe, padded or not, also inside a longer
//! encoded string such as `user:token`), and each JWT segment. Template
//! error messages pass through here before they go anywhere.

/// What replaces each spelling.
pub(crate) const REDACTED: &str = "<redacted>";

/// Derived spellings shorter than this are left alone: they would match
/// ordinary words and say little about the token (the token itself is
/// always redacted).
const MIN_NEEDLE: usize = 8;

/// The spellings of one token, longest first.
pub(crate) struct Redactor {
    needles: Vec<String>,
}

impl Redactor {
    pub(crate) fn new(secret: &str) -> Redactor {
        let mut needles = Vec::new();
        if !secret.is_empty() {
            needles.extend(secret.split('.').map(str::to_owned));
            for alphabet in [STANDARD, URL_SAFE] {
                let padded = encode(secret.as_bytes(), alphabet);
                needles.push(padded.trim_end_matches('=').to_owned());
                needles.push(padded);
                // Inside a longer value (`user:token`, `:token`) the
                // token's bytes start at any of the three positions of a
                // base64 group; the groups made only of its bytes are the
                // same whatever came before or after.
                for offset in 1..3 {
                    needles.push(aligned_core(secret.as_bytes(), offset, alphabet));
                }
                needles.push(aligned_core(secret.as_bytes(), 0, alphabet));
            }
        }
        needles.retain(|needle| needle.len() >= MIN_NEEDLE);
        if !secret.is_empty() {
            needles.push(secret.to_owned());
        }
        needles.sort_by_key(|needle| std::cmp::Reverse(needle.len()));
        needles.dedup();
        Redactor { needles }
    }

    pub(crate) fn redact(&self, message: &str) -> String {
        let mut out = message.to_owned();
        for needle in &self.needles {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), REDACTED);
            }
        }
        out
    }
}

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The base64 characters that depend only on `bytes` when they follow
/// `offset` other bytes of the same encoded string.
fn aligned_core(bytes: &[u8], offset: usize, alphabet: &[u8; 64]) -> String {
    let mut shifted = vec![0u8; offset];
    shifted.extend_from_slice(bytes);
    let whole_groups = shifted.len() / 3;
    let first = usize::from(offset > 0);
    if whole_groups <= first {
        return String::new();
    }
    let encoded = encode(&shifted[..whole_groups * 3], alphabet);
    encoded[first * 4..].to_owned()
}

fn encode(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(alphabet[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJl~~~???";

    #[test]
    fn base64_matches_the_standard_encodings() {
        // RFC 4648 test vectors.
        for (plain, encoded) in [
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
        ] {
            assert_eq!(encode(plain.as_bytes(), STANDARD), encoded);
        }
        assert_eq!(encode(b"~~~???", STANDARD), "fn5+Pz8/");
        assert_eq!(encode(b"~~~???", URL_SAFE), "fn5-Pz8_");
    }

    #[test]
    fn every_spelling_of_the_token_is_redacted_whatever_surrounds_it() {
        let redactor = Redactor::new(TOKEN);
        let std = |s: &str| encode(s.as_bytes(), STANDARD);
        let url = |s: &str| encode(s.as_bytes(), URL_SAFE);
        let mut forms = vec![
            (TOKEN.to_owned(), 0),
            (std(TOKEN), 0),
            (std(TOKEN).trim_end_matches('=').to_owned(), 0),
            (url(TOKEN), 0),
            (url(TOKEN).trim_end_matches('=').to_owned(), 0),
        ];
        for prefix in [":", "u:", "user:", "x-access-token:"] {
            forms.push((std(&format!("{prefix}{TOKEN}")), prefix.len()));
            forms.push((url(&format!("{prefix}{TOKEN}")), prefix.len()));
        }
        forms.extend(TOKEN.split('.').map(|segment| (segment.to_owned(), 0)));
        for (form, prefix) in forms {
            let shown = redactor.redact(&format!("error calling fail: {form}!"));
            assert!(shown.contains(REDACTED), "{form}: {shown}");
            // Left: the prefix's own characters and at most a group on
            // each side, a couple of the token's bytes.
            let left = shown.replace(REDACTED, "").len() - "error calling fail: !".len();
            assert!(left <= prefix * 4 / 3 + 8, "{form}: {shown}");
        }
    }

    #[test]
    fn a_short_secret_is_redacted_but_not_its_short_parts() {
        assert_eq!(Redactor::new("").redact("plain text"), "plain text");
        assert_eq!(Redactor::new("a.b").redact("a.b and a"), "<redacted> and a");
    }
}
