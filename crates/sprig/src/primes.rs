//! RSA and DSA key generation whose prime searches stop at the render's
//! deadline.
//!
//! Finding a key's primes takes a random number of candidates, each a
//! big-number test: about a second for RSA-4096 or DSA in a release build,
//! several in a debug one. Charging a cost before the search starts cannot
//! bound that, so the searches here read the render's clock before every
//! candidate and give up once its time is over. The keys are the ones the
//! `rsa` crate (and Go) would make: two primes of half the size each with
//! their top two bits set, public exponent 65537; DSA parameters as FIPS
//! 186's L=2048, N=256.

use gotemplate::budget::{self, Exhausted};
use num_bigint_dig::prime::probably_prime;
use num_bigint_dig::BigUint;
use rand_core::RngCore as _;
use std::time::Duration;

/// Miller-Rabin rounds for an RSA prime (what the `rsa` crate runs).
const RSA_ROUNDS: usize = 20;
/// Miller-Rabin rounds for DSA's p and q (Go's and the `dsa` crate's).
const DSA_ROUNDS: usize = 64;
/// DSA's key sizes: p of L bits, q of N bits.
const DSA_L: usize = 2048;
const DSA_N: usize = 256;
/// Attempts at p for one q before a new q is drawn (FIPS 186's 4L).
const DSA_P_ATTEMPTS: usize = 4 * DSA_L;

/// Fails once the render's time is over (never outside a render).
fn clock() -> Result<(), Exhausted> {
    budget::spend(Duration::ZERO)
}

/// `bits` random bits, the top `top` of them set, odd when `odd`.
fn random_bits(bits: usize, top: usize, odd: bool) -> BigUint {
    let mut bytes = vec![0u8; bits.div_ceil(8)];
    rand_core::OsRng.fill_bytes(&mut bytes);
    let last = bytes.len() - 1;
    let mut set = |bit: usize| bytes[last - bit / 8] |= 1 << (bit % 8);
    for bit in bits.saturating_sub(top)..bits {
        set(bit);
    }
    if odd {
        set(0);
    }
    let excess = bytes.len() * 8 - bits;
    bytes[0] &= 0xff >> excess;
    BigUint::from_bytes_be(&bytes)
}

/// A random prime of exactly `bits` bits whose top two bits are set (so a
/// product of two has all the bits of both).
fn random_prime(bits: usize, rounds: usize) -> Result<BigUint, Exhausted> {
    loop {
        clock()?;
        let candidate = random_bits(bits, 2, true);
        if probably_prime(&candidate, rounds) {
            return Ok(candidate);
        }
    }
}

/// A two-prime RSA key of `bits` bits with exponent 65537.
pub(crate) fn rsa_key(bits: usize) -> Result<rsa::RsaPrivateKey, Exhausted> {
    let exponent = BigUint::from(65537u32);
    loop {
        let p = random_prime(bits / 2, RSA_ROUNDS)?;
        let q = random_prime(bits - bits / 2, RSA_ROUNDS)?;
        if p == q || (&p * &q).bits() != bits {
            continue;
        }
        // Fails only when 65537 divides (p-1)(q-1): draw again.
        if let Ok(key) = rsa::RsaPrivateKey::from_primes(vec![p, q], exponent.clone()) {
            return Ok(key);
        }
    }
}

/// A DSA key: the parameters p, q, g, the public y and the private x.
pub(crate) struct DsaKey {
    pub p: BigUint,
    pub q: BigUint,
    pub g: BigUint,
    pub y: BigUint,
    pub x: BigUint,
}

/// A DSA key with fresh L=2048, N=256 parameters.
pub(crate) fn dsa_key() -> Result<DsaKey, Exhausted> {
    let (p, q) = dsa_primes()?;
    let one = BigUint::from(1u32);
    let exponent = (&p - &one) / &q;
    let mut h = BigUint::from(2u32);
    let g = loop {
        let g = h.modpow(&exponent, &p);
        if g != one {
            break g;
        }
        h += &one;
    };
    let x = loop {
        let x = random_bits(DSA_N, 0, false);
        if x > BigUint::from(0u32) && x < q {
            break x;
        }
    };
    let y = g.modpow(&x, &p);
    Ok(DsaKey { p, q, g, y, x })
}

/// Primes q of N bits and p of L bits with q dividing p-1.
fn dsa_primes() -> Result<(BigUint, BigUint), Exhausted> {
    loop {
        let q = random_prime(DSA_N, DSA_ROUNDS)?;
        let two_q = &q << 1usize;
        for _ in 0..DSA_P_ATTEMPTS {
            clock()?;
            let m = random_bits(DSA_L, 1, false);
            let p = &m - (&m % &two_q) + BigUint::from(1u32);
            if p.bits() == DSA_L && probably_prime(&p, DSA_ROUNDS) {
                return Ok((p, q));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::traits::{PrivateKeyParts as _, PublicKeyParts as _};

    #[test]
    fn random_bits_have_the_size_and_bits_asked_for() {
        for bits in [9, 16, 255, 256] {
            let n = random_bits(bits, 2, true);
            assert_eq!(n.bits(), bits);
            assert_eq!(&n >> (bits - 2), BigUint::from(3u32));
            assert_eq!(&n % BigUint::from(2u32), BigUint::from(1u32));
        }
    }

    #[test]
    fn rsa_keys_have_two_primes_of_half_the_size() {
        let key = rsa_key(512).unwrap();
        assert_eq!(key.n().bits(), 512);
        assert_eq!(key.e(), &BigUint::from(65537u32));
        let primes = key.primes();
        assert_eq!(primes.len(), 2);
        assert!(primes.iter().all(|p| p.bits() == 256));
        key.validate().unwrap();
    }
}
