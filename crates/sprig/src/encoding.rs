//! sprig's encodings and checksums: `b64enc`/`b64dec`, `b32enc`/`b32dec`
//! (Go's standard alphabets, including its decode error offsets, which
//! sprig returns as the result) and `sha1sum`, `sha256sum`, `adler32sum`.

use gotemplate::{FuncMap, Function, Param, Value};
use sha1::Digest;

use crate::args;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Registers the encoding and checksum functions.
pub(crate) fn register(m: &mut FuncMap) {
    let s1 = |m: &mut FuncMap, name, f: fn(&str) -> String| {
        m.insert(
            name,
            Function::new(&[Param::Str], None, move |a| {
                Ok(Value::string(f(args::string(a, 0)?)))
            }),
        );
    };
    s1(m, "b64enc", |s| b64_encode(s.as_bytes()));
    s1(m, "b64dec", |s| match b64_decode(s) {
        Ok(b) => crate::args::go_lossy(&b),
        Err(e) => e,
    });
    s1(m, "b32enc", |s| b32_encode(s.as_bytes()));
    s1(m, "b32dec", |s| match b32_decode(s) {
        Ok(b) => crate::args::go_lossy(&b),
        Err(e) => e,
    });
    s1(m, "sha1sum", |s| hex(&sha1::Sha1::digest(s.as_bytes())));
    s1(m, "sha256sum", |s| hex(&sha2::Sha256::digest(s.as_bytes())));
    s1(m, "adler32sum", |s| adler32(s.as_bytes()).to_string());
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

/// `base64.StdEncoding.EncodeToString`.
pub(crate) fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b64_value(c: u8) -> Option<u8> {
    B64.iter().position(|x| *x == c).map(|p| p as u8)
}

fn corrupt(offset: usize, what: &str) -> String {
    format!("illegal {what} data at input byte {offset}")
}

/// `base64.StdEncoding.DecodeString`, with Go's error offsets.
pub(crate) fn b64_decode(s: &str) -> Result<Vec<u8>, String> {
    let src = s.as_bytes();
    let err = |o| corrupt(o, "base64");
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0usize;
    while si < src.len() {
        let mut dbuf = [0u8; 4];
        let mut dlen = 4;
        let mut j = 0usize;
        let mut trailing_err = None;
        while j < 4 {
            let Some(&c) = src.get(si) else {
                if j == 0 {
                    return Ok(out);
                }
                return Err(err(si - j));
            };
            si += 1;
            if let Some(v) = b64_value(c) {
                if let Some(slot) = dbuf.get_mut(j) {
                    *slot = v;
                }
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' {
                return Err(err(si - 1));
            }
            match j {
                0 | 1 => return Err(err(si - 1)),
                2 => {
                    while matches!(src.get(si), Some(b'\n' | b'\r')) {
                        si += 1;
                    }
                    match src.get(si) {
                        None => return Err(err(src.len())),
                        Some(b'=') => si += 1,
                        Some(_) => return Err(err(si - 1)),
                    }
                }
                _ => {}
            }
            while matches!(src.get(si), Some(b'\n' | b'\r')) {
                si += 1;
            }
            if si < src.len() {
                trailing_err = Some(err(si));
            }
            dlen = j;
            break;
        }
        let val = (u32::from(dbuf[0]) << 18)
            | (u32::from(dbuf[1]) << 12)
            | (u32::from(dbuf[2]) << 6)
            | u32::from(dbuf[3]);
        let bytes = [(val >> 16) as u8, (val >> 8) as u8, val as u8];
        out.extend_from_slice(bytes.get(..dlen.saturating_sub(1)).unwrap_or_default());
        if let Some(e) = trailing_err {
            return Err(e);
        }
    }
    Ok(out)
}

/// `base32.StdEncoding.EncodeToString`.
fn b32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        for (d, s) in buf.iter_mut().zip(chunk) {
            *d = *s;
        }
        let n = buf.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < chars {
                out.push(char::from(B32[((n >> (35 - 5 * i)) & 31) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `base32.StdEncoding.DecodeString`, with Go's error offsets (newlines
/// are removed first, as Go does).
fn b32_decode(s: &str) -> Result<Vec<u8>, String> {
    let src: Vec<u8> = s.bytes().filter(|b| *b != b'\n' && *b != b'\r').collect();
    let err = |o| corrupt(o, "base32");
    let olen = src.len();
    let mut rest: &[u8] = &src;
    let mut out = Vec::new();
    let mut end = false;
    while !rest.is_empty() && !end {
        let mut dbuf = [0u8; 8];
        let mut dlen = 8;
        let mut j = 0usize;
        while j < 8 {
            let Some((&c, tail)) = rest.split_first() else {
                return Err(err(olen - rest.len() - j));
            };
            rest = tail;
            if c == b'=' && j >= 2 && rest.len() < 8 {
                if rest.len() + j < 7 {
                    return Err(err(olen));
                }
                for k in 0..(7 - j) {
                    if rest.get(k).is_some_and(|x| *x != b'=') {
                        return Err(err(olen - rest.len() + k - 1));
                    }
                }
                dlen = j;
                end = true;
                if matches!(dlen, 1 | 3 | 6) {
                    return Err(err(olen - rest.len() - 1));
                }
                break;
            }
            match B32.iter().position(|x| *x == c) {
                Some(v) => {
                    if let Some(slot) = dbuf.get_mut(j) {
                        *slot = v as u8;
                    }
                }
                None => return Err(err(olen - rest.len() - 1)),
            }
            j += 1;
        }
        let n = dbuf.iter().fold(0u64, |acc, b| (acc << 5) | u64::from(*b));
        let bytes = n.to_be_bytes();
        let produced = match dlen {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            _ => 0,
        };
        out.extend_from_slice(bytes.get(3..3 + produced).unwrap_or_default());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_and_reports_go_offsets() {
        assert_eq!(b64_encode(b"user:password"), "dXNlcjpwYXNzd29yZA==");
        assert_eq!(
            b64_decode("dXNlcjpwYXNzd29yZA==").unwrap(),
            b"user:password"
        );
        assert_eq!(
            b64_decode("abc").unwrap_err(),
            "illegal base64 data at input byte 0"
        );
        assert_eq!(
            b64_decode("ab$c").unwrap_err(),
            "illegal base64 data at input byte 2"
        );
        assert_eq!(
            b64_decode("YQ==YQ==").unwrap_err(),
            "illegal base64 data at input byte 4"
        );
        assert_eq!(
            b64_decode("YQ=").unwrap_err(),
            "illegal base64 data at input byte 3"
        );
    }

    #[test]
    fn base32_round_trips() {
        assert_eq!(b32_encode(b"hello"), "NBSWY3DP");
        assert_eq!(b32_encode(b"hi"), "NBUQ====");
        assert_eq!(b32_decode("NBUQ====").unwrap(), b"hi");
        assert_eq!(b32_decode("NBSWY3DP").unwrap(), b"hello");
        assert!(b32_decode("NB!Q====").is_err());
    }

    #[test]
    fn checksums_match_go() {
        assert_eq!(adler32(b"Wikipedia"), 300_286_872);
        assert_eq!(
            hex(&sha1::Sha1::digest(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }
}
