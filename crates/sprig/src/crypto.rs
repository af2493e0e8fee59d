//! sprig's crypto and randomness functions: `bcrypt`, `htpasswd`,
//! `derivePassword` (deterministic: scrypt + HMAC-SHA256, the Master
//! Password algorithm), `encryptAES`/`decryptAES` (AES-256-CBC with
//! sprig's key padding), `randBytes`, `uuidv4`, and the key/certificate
//! generators (see [`crate::certs`]).

use std::time::Duration;

use aes::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use gotemplate::{FuncMap, Function, Param, Value};
use hmac::{Hmac, Mac};

use crate::args::{self, check_string};
use crate::encoding::{b64_decode, b64_encode};
use crate::random;

pub(crate) use crate::certs::Certificate;

/// Registers the crypto functions.
pub(crate) fn register(m: &mut FuncMap) {
    use Param::{Int, Str, Uint32};
    m.insert(
        "bcrypt",
        Function::new(&[Str], None, |a| {
            Ok(Value::string(bcrypt_hash(args::string(a, 0)?)))
        }),
    );
    m.insert(
        "htpasswd",
        Function::new(&[Str, Str], None, |a| {
            let (user, pass) = (args::string(a, 0)?, args::string(a, 1)?);
            if user.contains(':') {
                return Ok(Value::string(format!("invalid username: {user}")));
            }
            Ok(Value::string(format!("{user}:{}", bcrypt_hash(pass))))
        }),
    );
    m.insert(
        "randBytes",
        Function::new(&[Int], None, |a| {
            let n = args::int(a, 0)?;
            if n < 0 {
                return Err("runtime error: makeslice: len out of range".to_string());
            }
            check_string("randBytes", (n as u128).div_ceil(3) * 4)?;
            let mut buf = vec![0u8; n as usize];
            random::fill(&mut buf)?;
            Ok(Value::string(b64_encode(&buf)))
        }),
    );
    m.insert(
        "uuidv4",
        Function::new(&[], None, |_| uuid_v4().map(Value::string)),
    );
    m.insert(
        "derivePassword",
        Function::new(&[Uint32, Str, Str, Str, Str], None, |a| {
            let counter = args::int(a, 0)? as u32;
            derive_password(
                counter,
                args::string(a, 1)?,
                args::string(a, 2)?,
                args::string(a, 3)?,
                args::string(a, 4)?,
            )
            .map(Value::string)
        }),
    );
    m.insert(
        "encryptAES",
        Function::new(&[Str, Str], None, |a| {
            encrypt_aes(args::string(a, 0)?, args::string(a, 1)?).map(Value::string)
        }),
    );
    m.insert(
        "decryptAES",
        Function::new(&[Str, Str], None, |a| {
            decrypt_aes(args::string(a, 0)?, args::string(a, 1)?).map(Value::string)
        }),
    );
}

/// `bcrypt.GenerateFromPassword(input, 10)`, `$2a$` form as Go writes it.
/// What one bcrypt hash at cost 10 and one `derivePassword` scrypt cost,
/// charged to the render's time before they start (release build, one
/// core, generous).
const BCRYPT_COST: Duration = Duration::from_millis(100);
const SCRYPT_COST: Duration = Duration::from_millis(250);

fn bcrypt_hash(input: &str) -> String {
    if let Err(e) = args::spend("bcrypt", BCRYPT_COST) {
        return e;
    }
    if input.len() > 72 {
        return "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
            .to_string();
    }
    match bcrypt::hash_with_result(input, 10) {
        Ok(h) => h.format_for_version(bcrypt::Version::TwoA),
        Err(e) => format!("failed to encrypt string with bcrypt: {e}"),
    }
}

/// A random (version 4, RFC 4122 variant) UUID.
fn uuid_v4() -> Result<String, String> {
    let mut b = [0u8; 16];
    random::fill(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = crate::encoding::hex(&b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        h.get(0..8).unwrap_or_default(),
        h.get(8..12).unwrap_or_default(),
        h.get(12..16).unwrap_or_default(),
        h.get(16..20).unwrap_or_default(),
        h.get(20..32).unwrap_or_default()
    ))
}

fn templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn template_chars(c: u8) -> &'static [u8] {
    match c {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        b'x' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
        _ => b"",
    }
}

const MASTER_PASSWORD_SEED: &[u8] = b"com.lyndir.masterpassword";

/// sprig's `derivePassword` (Master Password v3 style).
fn derive_password(
    counter: u32,
    kind: &str,
    password: &str,
    user: &str,
    site: &str,
) -> Result<String, String> {
    let Some(temps) = templates(kind) else {
        return Ok(format!("cannot find password template {kind}"));
    };
    let mut salt = MASTER_PASSWORD_SEED.to_vec();
    salt.extend_from_slice(&(user.len() as u32).to_be_bytes());
    salt.extend_from_slice(user.as_bytes());
    args::spend("derivePassword", SCRYPT_COST)?;
    let params =
        scrypt::Params::new(15, 8, 2).map_err(|e| format!("failed to derive password: {e}"))?;
    let mut key = [0u8; 64];
    scrypt::scrypt(password.as_bytes(), &salt, &params, &mut key)
        .map_err(|e| format!("failed to derive password: {e}"))?;
    let mut msg = MASTER_PASSWORD_SEED.to_vec();
    msg.extend_from_slice(&(site.len() as u32).to_be_bytes());
    msg.extend_from_slice(site.as_bytes());
    msg.extend_from_slice(&counter.to_be_bytes());
    let mut mac = <Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&key)
        .map_err(|e| format!("failed to derive password: {e}"))?;
    mac.update(&msg);
    let seed = mac.finalize().into_bytes();
    let pick = |i: usize| seed.get(i).copied().unwrap_or(0) as usize;
    let temp = temps.get(pick(0) % temps.len()).copied().unwrap_or("");
    let mut out = String::with_capacity(temp.len());
    for (i, c) in temp.bytes().enumerate() {
        let chars = template_chars(c);
        if let Some(ch) = chars.get(pick(i + 1) % chars.len().max(1)) {
            out.push(char::from(*ch));
        }
    }
    Ok(out)
}

fn aes_key(password: &str) -> aes::Aes256 {
    let mut key = [0u8; 32];
    for (k, p) in key.iter_mut().zip(password.as_bytes()) {
        *k = *p;
    }
    aes::Aes256::new(&key.into())
}

fn encrypt_aes(password: &str, plaintext: &str) -> Result<String, String> {
    if plaintext.is_empty() {
        return Ok(String::new());
    }
    let cipher = aes_key(password);
    let mut content = plaintext.as_bytes().to_vec();
    let pad = 16 - content.len() % 16;
    content.extend(std::iter::repeat_n(pad as u8, pad));
    let mut out = vec![0u8; 16];
    random::fill(&mut out)?;
    let mut prev = [0u8; 16];
    prev.copy_from_slice(out.get(..16).unwrap_or(&[0u8; 16]));
    for chunk in content.chunks(16) {
        let mut block = [0u8; 16];
        for ((b, c), p) in block.iter_mut().zip(chunk).zip(prev.iter()) {
            *b = c ^ p;
        }
        let mut arr = block.into();
        cipher.encrypt_block(&mut arr);
        prev.copy_from_slice(arr.as_slice());
        out.extend_from_slice(&prev);
    }
    Ok(b64_encode(&out))
}

fn decrypt_aes(password: &str, crypt64: &str) -> Result<String, String> {
    if crypt64.is_empty() {
        return Ok(String::new());
    }
    let crypt = b64_decode(crypt64)?;
    if crypt.len() < 16 {
        // Go slices the decode buffer, whose capacity is what the padded
        // text could hold (3 bytes per 4 characters), not what it held.
        return Err(format!(
            "runtime error: slice bounds out of range [:16] with capacity {}",
            crypt64.len() / 4 * 3
        ));
    }
    let (iv, body) = crypt.split_at(16);
    if body.len() % 16 != 0 {
        return Err("crypto/cipher: input not full blocks".to_string());
    }
    let cipher = aes_key(password);
    let mut prev = [0u8; 16];
    prev.copy_from_slice(iv);
    let mut out = Vec::with_capacity(body.len());
    for chunk in body.chunks(16) {
        let mut arr = [0u8; 16].into();
        let slice: &mut [u8] = AsMut::<[u8]>::as_mut(&mut arr);
        slice.copy_from_slice(chunk);
        cipher.decrypt_block(&mut arr);
        for (o, p) in AsRef::<[u8]>::as_ref(&arr).iter().zip(prev.iter()) {
            out.push(o ^ p);
        }
        prev.copy_from_slice(chunk);
    }
    let Some(&last) = out.last() else {
        return Err("runtime error: index out of range [-1]".to_string());
    };
    let keep = out.len() as i64 - i64::from(last);
    if keep < 0 {
        return Err(format!(
            "runtime error: slice bounds out of range [:{keep}]"
        ));
    }
    out.truncate(keep as usize);
    Ok(crate::args::go_lossy(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes_round_trips_with_sprig_padding() {
        let c = encrypt_aes("secretkey", "plaintext").unwrap();
        assert_eq!(b64_decode(&c).unwrap().len(), 32);
        assert_eq!(decrypt_aes("secretkey", &c).unwrap(), "plaintext");
        assert_eq!(decrypt_aes("k", "").unwrap(), "");
        assert!(decrypt_aes("k", "YWJj").is_err());
    }

    #[test]
    fn uuid_has_version_and_variant_bits() {
        let u = uuid_v4().unwrap();
        assert_eq!(u.len(), 36);
        assert_eq!(u.as_bytes()[14], b'4');
        assert!(matches!(u.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
    }

    #[test]
    fn bcrypt_uses_the_2a_prefix_and_cost_10() {
        let h = bcrypt_hash("pw");
        assert!(h.starts_with("$2a$10$"), "{h}");
        assert_eq!(h.len(), 60);
    }
}
