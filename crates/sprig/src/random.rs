//! Randomness from the operating system's CSPRNG, for the `rand*`
//! functions, `shuffle`, `uuidv4` and key generation.

/// Fills `buf` with random bytes.
pub(crate) fn fill(buf: &mut [u8]) -> Result<(), String> {
    getrandom::fill(buf).map_err(|e| format!("reading random bytes: {e}"))
}

/// A uniform integer in `0..n` (`n > 0`), by rejection sampling so no value
/// is favoured.
pub(crate) fn below(n: u64) -> Result<u64, String> {
    if n <= 1 {
        return Ok(0);
    }
    let zone = u64::MAX - (u64::MAX % n);
    loop {
        let mut b = [0u8; 8];
        fill(&mut b)?;
        let x = u64::from_le_bytes(b);
        if x < zone {
            return Ok(x % n);
        }
    }
}

/// `count` characters drawn uniformly from `alphabet` (ASCII).
pub(crate) fn string_from(alphabet: &[u8], count: usize) -> Result<String, String> {
    let mut out = String::with_capacity(count);
    for _ in 0..count {
        let i = below(alphabet.len() as u64)? as usize;
        if let Some(c) = alphabet.get(i) {
            out.push(char::from(*c));
        }
    }
    Ok(out)
}
