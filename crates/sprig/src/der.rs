//! The little DER (ASN.1) writer and reader the certificate functions need:
//! enough to build an X.509 v3 certificate and to read back a CA's subject
//! and key identifier.

/// A tag-length-value.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

pub(crate) fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

pub(crate) fn set(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x31, &parts.concat())
}

/// A non-negative INTEGER from big-endian magnitude bytes.
pub(crate) fn uint(bytes: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(&trimmed);
    tlv(0x02, &content)
}

/// An OBJECT IDENTIFIER from its dotted arcs.
pub(crate) fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut content = Vec::new();
    let (a, b) = (
        arcs.first().copied().unwrap_or(0),
        arcs.get(1).copied().unwrap_or(0),
    );
    let mut push = |mut v: u64| {
        let mut tmp = vec![(v & 0x7f) as u8];
        v >>= 7;
        while v > 0 {
            tmp.push(0x80 | (v & 0x7f) as u8);
            v >>= 7;
        }
        tmp.reverse();
        content.extend_from_slice(&tmp);
    };
    push(a * 40 + b);
    for arc in arcs.iter().skip(2) {
        push(*arc);
    }
    tlv(0x06, &content)
}

pub(crate) fn null() -> Vec<u8> {
    vec![0x05, 0x00]
}

pub(crate) fn boolean(v: bool) -> Vec<u8> {
    tlv(0x01, &[if v { 0xff } else { 0 }])
}

pub(crate) fn octets(b: &[u8]) -> Vec<u8> {
    tlv(0x04, b)
}

/// A BIT STRING with `unused` trailing bits in the last byte.
pub(crate) fn bits(b: &[u8], unused: u8) -> Vec<u8> {
    let mut content = vec![unused];
    content.extend_from_slice(b);
    tlv(0x03, &content)
}

/// `[n] EXPLICIT`.
pub(crate) fn explicit(n: u8, inner: &[u8]) -> Vec<u8> {
    tlv(0xa0 | n, inner)
}

/// A string, PrintableString when it can be, else UTF8String (as Go does
/// for names).
pub(crate) fn name_string(s: &str) -> Vec<u8> {
    let printable = s
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || b" '()+,-./:=?*&".contains(&c));
    tlv(if printable { 0x13 } else { 0x0c }, s.as_bytes())
}

/// One element read: (tag, content, whole encoding, rest of the input).
pub(crate) type Element<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

/// Reads one element.
pub(crate) fn read(input: &[u8]) -> Option<Element<'_>> {
    let tag = *input.first()?;
    let first = *input.get(1)?;
    let (len, header) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for b in input.get(2..2 + n)? {
            len = (len << 8) | *b as usize;
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    Some((
        tag,
        input.get(header..end)?,
        input.get(..end)?,
        input.get(end..)?,
    ))
}

/// The parts of a certificate the signer needs.
pub(crate) struct ParsedCert<'a> {
    pub(crate) subject: &'a [u8],
    pub(crate) subject_key_id: Option<Vec<u8>>,
}

const SKI_OID: &[u8] = &[0x55, 0x1d, 0x0e];

/// Reads a DER certificate's structure: Certificate ::= SEQ { tbs, alg, sig }.
pub(crate) fn parse_cert(der: &[u8]) -> Option<ParsedCert<'_>> {
    let (0x30, cert, _, rest) = read(der)? else {
        return None;
    };
    if !rest.is_empty() {
        return None;
    }
    let (0x30, tbs, _, after_tbs) = read(cert)? else {
        return None;
    };
    let (0x30, _, _, after_alg) = read(after_tbs)? else {
        return None;
    };
    let (0x03, _, _, _) = read(after_alg)? else {
        return None;
    };
    let mut fields = tbs;
    let (tag, _, _, r) = read(fields)?;
    if tag == 0xa0 {
        fields = r;
        let (_, _, _, r) = read(fields)?;
        fields = r;
    } else {
        fields = r;
    }
    // signature, issuer, validity, subject, spki, extensions…
    let (_, _, _, r) = read(fields)?;
    let (_, _, _, r) = read(r)?;
    let (_, _, _, r) = read(r)?;
    let (0x30, _, subject, r) = read(r)? else {
        return None;
    };
    let (0x30, _, _, mut r) = read(r)? else {
        return None;
    };
    let mut subject_key_id = None;
    while let Some((tag, content, _, rest)) = read(r) {
        if tag == 0xa3 {
            subject_key_id = find_ski(content);
        }
        r = rest;
    }
    Some(ParsedCert {
        subject,
        subject_key_id,
    })
}

fn find_ski(ext_wrapper: &[u8]) -> Option<Vec<u8>> {
    let (0x30, mut exts, _, _) = read(ext_wrapper)? else {
        return None;
    };
    while let Some((_, ext, _, rest)) = read(exts) {
        let (0x06, id, _, mut after) = read(ext)? else {
            return None;
        };
        if id == SKI_OID {
            if let Some((0x01, _, _, r)) = read(after) {
                after = r;
            }
            let (0x04, wrapped, _, _) = read(after)? else {
                return None;
            };
            let (0x04, ski, _, _) = read(wrapped)? else {
                return None;
            };
            return Some(ski.to_vec());
        }
        exts = rest;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_lengths_integers_and_oids() {
        assert_eq!(tlv(0x04, &[0u8; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(uint(&[0x80]), vec![0x02, 0x02, 0x00, 0x80]);
        assert_eq!(uint(&[0, 0, 5]), vec![0x02, 0x01, 0x05]);
        assert_eq!(
            oid(&[1, 2, 840, 113549]),
            vec![0x06, 0x06, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d]
        );
        let encoded = seq(&[null()]);
        let (tag, content, _, rest) = read(&encoded).unwrap();
        assert_eq!((tag, content, rest), (0x30, &[0x05u8, 0x00][..], &[][..]));
    }
}
