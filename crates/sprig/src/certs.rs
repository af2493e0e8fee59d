//! sprig's key and certificate generators (`genPrivateKey`, `genCA`,
//! `genSelfSignedCert`, `genSignedCert`, their `WithKey` forms and
//! `buildCustomCert`), returning sprig's `certificate` struct object.
//!
//! Keys: RSA (PKCS#1 PEM), ECDSA P-256 (SEC1 PEM) and Ed25519 (PKCS#8 PEM);
//! certificates are X.509 v3 built as Go's `x509.CreateCertificate` builds
//! sprig's template (key usages, server+client auth, basic constraints,
//! SANs, subject/authority key ids). DSA keys (`DSA PRIVATE KEY`, Go's
//! format) can be generated and parsed but, as in Go, not sign certificates.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use gotemplate::{FuncMap, Function, Object, Param, Value};
use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _, EncodeRsaPublicKey as _};
use rsa::pkcs8::EncodePublicKey as _;
use sha1::Digest as _;

use crate::args;
use crate::cast::sprint_v;
use crate::der;
use crate::encoding::{b64_decode, b64_encode};
use crate::primes;

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

fn cert_value(c: Certificate) -> Value {
    Value::Object(Arc::new(c))
}

/// A private key of one of the supported types.
enum PrivateKey {
    Rsa(Box<rsa::RsaPrivateKey>),
    Ec(p256::ecdsa::SigningKey),
    Ed(ed25519_dalek::SigningKey),
    /// Go parses DSA keys but cannot sign certificates with them.
    Dsa(Vec<u8>),
}

/// Go's `DSAKeyFormat` DER: SEQUENCE { 0, P, Q, G, Y, X }.
fn generate_dsa() -> Result<Vec<u8>, String> {
    let key = primes::dsa_key().map_err(|why| args::exhausted("key generation", why))?;
    Ok(der::seq(&[
        der::uint(&[0]),
        der::uint(&key.p.to_bytes_be()),
        der::uint(&key.q.to_bytes_be()),
        der::uint(&key.g.to_bytes_be()),
        der::uint(&key.y.to_bytes_be()),
        der::uint(&key.x.to_bytes_be()),
    ]))
}

/// Whether `der` is a SEQUENCE of six INTEGERs.
fn is_dsa_key(der: &[u8]) -> bool {
    let Some((0x30, mut body, _, rest)) = der::read(der) else {
        return false;
    };
    let mut n = 0;
    while let Some((tag, _, _, r)) = der::read(body) {
        if tag != 0x02 {
            return false;
        }
        n += 1;
        body = r;
    }
    rest.is_empty() && body.is_empty() && n == 6
}

fn pem(kind: &str, der: &[u8]) -> String {
    let b64 = b64_encode(der);
    let mut out = format!("-----BEGIN {kind}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {kind}-----\n"));
    out
}

/// Go's `pem.Decode`, first block only: (type, DER bytes).
fn pem_decode(text: &str) -> Option<(String, Vec<u8>)> {
    let start = text.find("-----BEGIN ")?;
    let rest = text.get(start + 11..)?;
    let type_end = rest.find("-----")?;
    let kind = rest.get(..type_end)?.to_string();
    let body_start = rest.get(type_end + 5..)?;
    let end_marker = format!("-----END {kind}-----");
    let end = body_start.find(&end_marker)?;
    let body: String = body_start
        .get(..end)?
        .lines()
        .filter(|l| !l.contains(':'))
        .collect::<Vec<_>>()
        .concat()
        .split_whitespace()
        .collect();
    Some((kind, b64_decode(&body).ok()?))
}

/// What generating a key costs, charged to the render's time before it
/// starts (release build, one core, a loaded machine; key generation time
/// varies with the primes found, these are generous).
const RSA_4096_COST: Duration = Duration::from_millis(800);
const RSA_2048_COST: Duration = Duration::from_millis(150);
const DSA_COST: Duration = Duration::from_millis(800);

impl PrivateKey {
    fn generate(kind: &str) -> Result<PrivateKey, String> {
        let cost = match kind {
            "rsa" => RSA_4096_COST,
            "rsa2048" => RSA_2048_COST,
            "dsa" => DSA_COST,
            _ => Duration::ZERO,
        };
        args::spend("key generation", cost)?;
        let mut rng = rand_core::OsRng;
        let rsa = |bits| {
            primes::rsa_key(bits)
                .map(|k| PrivateKey::Rsa(Box::new(k)))
                .map_err(|why| args::exhausted("key generation", why))
        };
        match kind {
            "rsa" => rsa(4096),
            "rsa2048" => rsa(2048),
            "ecdsa" => Ok(PrivateKey::Ec(p256::ecdsa::SigningKey::random(&mut rng))),
            "ed25519" => Ok(PrivateKey::Ed(ed25519_dalek::SigningKey::generate(
                &mut rng,
            ))),
            "dsa" => generate_dsa().map(PrivateKey::Dsa),
            other => Err(format!("Unknown type {other}")),
        }
    }

    fn to_pem(&self) -> Result<String, String> {
        let err = |e: &dyn std::fmt::Display| format!("error pem-encoding key: {e}");
        Ok(match self {
            PrivateKey::Rsa(k) => pem(
                "RSA PRIVATE KEY",
                k.to_pkcs1_der().map_err(|e| err(&e))?.as_bytes(),
            ),
            PrivateKey::Ec(k) => {
                let secret = p256::SecretKey::from(k);
                pem(
                    "EC PRIVATE KEY",
                    &secret.to_sec1_der().map_err(|e| err(&e))?,
                )
            }
            PrivateKey::Ed(k) => pem(
                "PRIVATE KEY",
                k.to_pkcs8_der().map_err(|e| err(&e))?.as_bytes(),
            ),
            PrivateKey::Dsa(der) => pem("DSA PRIVATE KEY", der),
        })
    }

    /// sprig's `parsePrivateKeyPEM`.
    fn from_pem(text: &str) -> Result<PrivateKey, String> {
        let (kind, der) = pem_decode(text).ok_or_else(|| "no PEM data in input".to_string())?;
        if kind == "PRIVATE KEY" {
            if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_der(&der) {
                return Ok(PrivateKey::Ed(k));
            }
            if let Ok(k) =
                <rsa::RsaPrivateKey as rsa::pkcs8::DecodePrivateKey>::from_pkcs8_der(&der)
            {
                return Ok(PrivateKey::Rsa(Box::new(k)));
            }
            return <p256::SecretKey as p256::pkcs8::DecodePrivateKey>::from_pkcs8_der(&der)
                .map(|k| PrivateKey::Ec(k.into()))
                .map_err(|e| format!("decoding PEM as PKCS#8: {e}"));
        }
        let Some(algo) = kind.strip_suffix(" PRIVATE KEY") else {
            return Err(format!("no private key data in PEM block of type {kind}"));
        };
        match algo {
            "RSA" => rsa::RsaPrivateKey::from_pkcs1_der(&der)
                .map(|k| PrivateKey::Rsa(Box::new(k)))
                .map_err(|e| format!("parsing RSA private key from PEM: {e}")),
            "EC" => p256::SecretKey::from_sec1_der(&der)
                .map(|k| PrivateKey::Ec(k.into()))
                .map_err(|e| format!("parsing EC private key from PEM: {e}")),
            "DSA" if is_dsa_key(&der) => Ok(PrivateKey::Dsa(der)),
            "DSA" => Err("parsing DSA private key from PEM: asn1: structure error".to_string()),
            _ => Err(format!("invalid private key type {kind}")),
        }
    }

    /// The DER SubjectPublicKeyInfo and the raw key bits (for the key id).
    fn public_key(&self) -> Result<(Vec<u8>, Vec<u8>), String> {
        if let PrivateKey::Dsa(_) = self {
            return Err(NOT_A_SIGNER.to_string());
        }
        let err =
            |e: &dyn std::fmt::Display| format!("error retrieving public key from signee key: {e}");
        Ok(match self {
            PrivateKey::Rsa(k) => {
                let public = k.to_public_key();
                (
                    public.to_public_key_der().map_err(|e| err(&e))?.into_vec(),
                    public.to_pkcs1_der().map_err(|e| err(&e))?.into_vec(),
                )
            }
            PrivateKey::Ec(k) => {
                let public = p256::PublicKey::from(k.verifying_key());
                (
                    p256::pkcs8::EncodePublicKey::to_public_key_der(&public)
                        .map_err(|e| err(&e))?
                        .into_vec(),
                    k.verifying_key()
                        .to_encoded_point(false)
                        .as_bytes()
                        .to_vec(),
                )
            }
            PrivateKey::Ed(k) => {
                let public = k.verifying_key();
                (
                    ed25519_dalek::pkcs8::EncodePublicKey::to_public_key_der(&public)
                        .map_err(|e| err(&e))?
                        .into_vec(),
                    public.to_bytes().to_vec(),
                )
            }
            PrivateKey::Dsa(_) => return Err(NOT_A_SIGNER.to_string()),
        })
    }

    /// The AlgorithmIdentifier of this key's signatures.
    fn signature_algorithm(&self) -> Vec<u8> {
        match self {
            PrivateKey::Rsa(_) => {
                der::seq(&[der::oid(&[1, 2, 840, 113_549, 1, 1, 11]), der::null()])
            }
            PrivateKey::Ec(_) => der::seq(&[der::oid(&[1, 2, 840, 10045, 4, 3, 2])]),
            PrivateKey::Ed(_) | PrivateKey::Dsa(_) => der::seq(&[der::oid(&[1, 3, 101, 112])]),
        }
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        let err = |e: &dyn std::fmt::Display| format!("error creating certificate: {e}");
        match self {
            PrivateKey::Rsa(k) => {
                let digest = <sha2_010::Sha256 as sha2_010::Digest>::digest(message);
                k.sign(rsa::Pkcs1v15Sign::new::<sha2_010::Sha256>(), &digest)
                    .map_err(|e| err(&e))
            }
            PrivateKey::Ec(k) => {
                use p256::ecdsa::signature::Signer as _;
                let sig: p256::ecdsa::Signature = k.sign(message);
                Ok(sig.to_der().as_bytes().to_vec())
            }
            PrivateKey::Ed(k) => {
                use ed25519_dalek::Signer as _;
                Ok(k.sign(message).to_bytes().to_vec())
            }
            PrivateKey::Dsa(_) => Err(NOT_A_SIGNER.to_string()),
        }
    }
}

/// Go's `x509.CreateCertificate` refuses DSA keys.
const NOT_A_SIGNER: &str =
    "error creating certificate: x509: certificate private key does not implement crypto.Signer";

/// What sprig's `getBaseCertTemplate` fills in.
struct CertTemplate {
    cn: String,
    ips: Vec<Vec<u8>>,
    dns: Vec<String>,
    days: i64,
    is_ca: bool,
}

fn net_ips(list: &Value) -> Result<Vec<Vec<u8>>, String> {
    let Value::List(l) = list else {
        return Ok(Vec::new());
    };
    l.items
        .iter()
        .map(|ip| {
            let Value::Str(s) = ip else {
                return Err(format!(
                    "error parsing ip: {} is not a string",
                    sprint_v(ip)
                ));
            };
            match s.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V4(v4)) => Ok(v4.octets().to_vec()),
                Ok(std::net::IpAddr::V6(v6)) => Ok(match v6.to_ipv4_mapped() {
                    Some(v4) => v4.octets().to_vec(),
                    None => v6.octets().to_vec(),
                }),
                Err(_) => Err(format!("error parsing ip: {s}")),
            }
        })
        .collect()
}

fn dns_names(list: &Value) -> Result<Vec<String>, String> {
    let Value::List(l) = list else {
        return Ok(Vec::new());
    };
    l.items
        .iter()
        .map(|d| match d {
            Value::Str(s) => Ok(s.to_string()),
            other => Err(format!(
                "error processing alternate dns name: {} is not a string",
                sprint_v(other)
            )),
        })
        .collect()
}

/// UTCTime for 1950–2049, GeneralizedTime otherwise, as Go encodes.
fn der_time(unix: i64) -> Vec<u8> {
    let days = unix.div_euclid(86_400);
    let sod = unix.rem_euclid(86_400);
    let (y, m, d) = gotemplate::go::calendar::civil_from_days(days);
    let hms = format!(
        "{:02}{:02}{:02}{:02}{:02}Z",
        m,
        d,
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    );
    if (1950..2050).contains(&y) {
        der::tlv(0x17, format!("{:02}{hms}", y % 100).as_bytes())
    } else {
        der::tlv(0x18, format!("{y:04}{hms}").as_bytes())
    }
}

fn extension(id: &[u64], critical: bool, value: Vec<u8>) -> Vec<u8> {
    let mut parts = vec![der::oid(id)];
    if critical {
        parts.push(der::boolean(true));
    }
    parts.push(der::octets(&value));
    der::seq(&parts)
}

/// `x509.CreateCertificate` for sprig's template; returns (cert PEM, key PEM).
fn create(
    t: &CertTemplate,
    signee: &PrivateKey,
    issuer: Option<(&[u8], Option<Vec<u8>>)>,
    signer: &PrivateKey,
) -> Result<Certificate, String> {
    let mut serial = [0u8; 16];
    crate::random::fill(&mut serial)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let not_after = now.saturating_add(t.days.saturating_mul(86_400));
    let subject = der::seq(&[der::set(&[der::seq(&[
        der::oid(&[2, 5, 4, 3]),
        der::name_string(&t.cn),
    ])])]);
    let (spki, key_bits) = signee.public_key()?;
    let ski: Option<Vec<u8>> = t.is_ca.then(|| sha1::Sha1::digest(&key_bits).to_vec());
    let (issuer_name, authority_key_id) = match &issuer {
        Some((name, aki)) => (name.to_vec(), aki.clone()),
        None => (subject.clone(), None),
    };
    let mut exts = Vec::new();
    let (usage, unused) = if t.is_ca {
        (0xa4u8, 2u8)
    } else {
        (0xa0u8, 5u8)
    };
    exts.push(extension(
        &[2, 5, 29, 15],
        true,
        der::bits(&[usage], unused),
    ));
    exts.push(extension(
        &[2, 5, 29, 37],
        false,
        der::seq(&[
            der::oid(&[1, 3, 6, 1, 5, 5, 7, 3, 1]),
            der::oid(&[1, 3, 6, 1, 5, 5, 7, 3, 2]),
        ]),
    ));
    let basic = if t.is_ca {
        der::seq(&[der::boolean(true)])
    } else {
        der::seq(&[])
    };
    exts.push(extension(&[2, 5, 29, 19], true, basic));
    if let Some(id) = &ski {
        exts.push(extension(&[2, 5, 29, 14], false, der::octets(id)));
    }
    if let Some(id) = authority_key_id.filter(|_| issuer_name != subject) {
        exts.push(extension(
            &[2, 5, 29, 35],
            false,
            der::seq(&[der::tlv(0x80, &id)]),
        ));
    }
    if !t.dns.is_empty() || !t.ips.is_empty() {
        let mut names: Vec<Vec<u8>> = t.dns.iter().map(|d| der::tlv(0x82, d.as_bytes())).collect();
        names.extend(t.ips.iter().map(|ip| der::tlv(0x87, ip)));
        exts.push(extension(&[2, 5, 29, 17], false, der::seq(&names)));
    }
    let algorithm = signer.signature_algorithm();
    let tbs = der::seq(&[
        der::explicit(0, &der::uint(&[2])),
        der::uint(&serial),
        algorithm.clone(),
        issuer_name,
        der::seq(&[der_time(now), der_time(not_after)]),
        subject,
        spki,
        der::explicit(3, &der::seq(&exts)),
    ]);
    let signature = signer.sign(&tbs)?;
    let cert = der::seq(&[tbs, algorithm, der::bits(&signature, 0)]);
    Ok(Certificate {
        cert: pem("CERTIFICATE", &cert),
        key: signee.to_pem()?,
    })
}

fn template(
    cn: &str,
    ips: &Value,
    dns: &Value,
    days: i64,
    is_ca: bool,
) -> Result<CertTemplate, String> {
    Ok(CertTemplate {
        cn: cn.to_string(),
        ips: net_ips(ips)?,
        dns: dns_names(dns)?,
        days,
        is_ca,
    })
}

fn certificate_arg(args: &[Value], i: usize) -> Result<Certificate, String> {
    match args.get(i) {
        Some(Value::Object(o)) => o
            .as_any()
            .downcast_ref::<Certificate>()
            .cloned()
            .ok_or_else(|| format!("expected sprig.certificate; got {}", o.type_name())),
        other => Err(format!(
            "expected sprig.certificate; got {}",
            other.map_or("nothing".to_string(), Value::type_name)
        )),
    }
}

fn key_from(pem_arg: Option<&str>) -> Result<PrivateKey, String> {
    match pem_arg {
        Some(text) => PrivateKey::from_pem(text).map_err(|e| format!("parsing private key: {e}")),
        None => PrivateKey::generate("rsa2048"),
    }
}

fn gen_ca(a: &[Value], with_key: bool) -> Result<Value, String> {
    let (cn, days) = (args::string(a, 0)?, args::int(a, 1)?);
    let key = key_from(if with_key {
        Some(args::string(a, 2)?)
    } else {
        None
    })?;
    let t = template(cn, &Value::Nil, &Value::Nil, days, true)?;
    create(&t, &key, None, &key).map(cert_value)
}

fn gen_self_signed(a: &[Value], with_key: bool) -> Result<Value, String> {
    let cn = args::string(a, 0)?;
    let days = args::int(a, 3)?;
    let key = key_from(if with_key {
        Some(args::string(a, 4)?)
    } else {
        None
    })?;
    let t = template(cn, args::any(a, 1), args::any(a, 2), days, false)?;
    create(&t, &key, None, &key).map(cert_value)
}

fn gen_signed(a: &[Value], with_key: bool) -> Result<Value, String> {
    let cn = args::string(a, 0)?;
    let days = args::int(a, 3)?;
    let ca = certificate_arg(a, 4)?;
    let key = key_from(if with_key {
        Some(args::string(a, 5)?)
    } else {
        None
    })?;
    let (_, ca_der) =
        pem_decode(&ca.cert).ok_or_else(|| "unable to decode certificate".to_string())?;
    let parsed = der::parse_cert(&ca_der).ok_or_else(|| {
        "error parsing certificate: decodedSignerCert.Bytes: x509: malformed certificate"
            .to_string()
    })?;
    let signer =
        PrivateKey::from_pem(&ca.key).map_err(|e| format!("error parsing private key: {e}"))?;
    let t = template(cn, args::any(a, 1), args::any(a, 2), days, false)?;
    create(
        &t,
        &key,
        Some((parsed.subject, parsed.subject_key_id.clone())),
        &signer,
    )
    .map(cert_value)
}

fn build_custom(a: &[Value]) -> Result<Value, String> {
    let cert = b64_decode(args::string(a, 0)?)
        .map_err(|_| "unable to decode base64 certificate".to_string())?;
    let key = b64_decode(args::string(a, 1)?)
        .map_err(|_| "unable to decode base64 private key".to_string())?;
    let cert_text = crate::args::go_lossy(&cert);
    let key_text = crate::args::go_lossy(&key);
    let (_, der) =
        pem_decode(&cert_text).ok_or_else(|| "unable to decode certificate".to_string())?;
    if der::parse_cert(&der).is_none() {
        return Err(
            "error parsing certificate: decodedCert.Bytes: x509: malformed certificate".to_string(),
        );
    }
    PrivateKey::from_pem(&key_text).map_err(|e| format!("error parsing private key: {e}"))?;
    Ok(cert_value(Certificate {
        cert: cert_text,
        key: key_text,
    }))
}

/// Registers the key and certificate functions.
pub(crate) fn register(m: &mut FuncMap) {
    use Param::{Int, ListAny, Str};
    const CERT: Param = Param::Object("sprig.certificate");
    m.insert(
        "genPrivateKey",
        Function::new(&[Str], None, |a| {
            let kind = match args::string(a, 0)? {
                "" => "rsa",
                // The certificate functions' own key kind, not sprig's.
                "rsa2048" => return Ok(Value::str("Unknown type rsa2048")),
                other => other,
            };
            match PrivateKey::generate(kind) {
                Ok(k) => k.to_pem().map(Value::string),
                Err(e) => Ok(Value::string(e)),
            }
        }),
    );
    m.insert(
        "genCA",
        Function::new(&[Str, Int], None, |a| gen_ca(a, false)),
    );
    m.insert(
        "genCAWithKey",
        Function::new(&[Str, Int, Str], None, |a| gen_ca(a, true)),
    );
    m.insert(
        "genSelfSignedCert",
        Function::new(&[Str, ListAny, ListAny, Int], None, |a| {
            gen_self_signed(a, false)
        }),
    );
    m.insert(
        "genSelfSignedCertWithKey",
        Function::new(&[Str, ListAny, ListAny, Int, Str], None, |a| {
            gen_self_signed(a, true)
        }),
    );
    m.insert(
        "genSignedCert",
        Function::new(&[Str, ListAny, ListAny, Int, CERT], None, |a| {
            gen_signed(a, false)
        }),
    );
    m.insert(
        "genSignedCertWithKey",
        Function::new(&[Str, ListAny, ListAny, Int, CERT, Str], None, |a| {
            gen_signed(a, true)
        }),
    );
    m.insert(
        "buildCustomCert",
        Function::new(&[Str, Str], None, build_custom),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_go_pem_headers() {
        let ec = PrivateKey::generate("ecdsa").unwrap().to_pem().unwrap();
        assert!(ec.starts_with("-----BEGIN EC PRIVATE KEY-----\n"));
        assert!(ec.ends_with("-----END EC PRIVATE KEY-----\n"));
        let ed = PrivateKey::generate("ed25519").unwrap().to_pem().unwrap();
        assert!(ed.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(matches!(PrivateKey::from_pem(&ec), Ok(PrivateKey::Ec(_))));
        assert!(matches!(PrivateKey::from_pem(&ed), Ok(PrivateKey::Ed(_))));
        assert_eq!(
            PrivateKey::from_pem("x").err().unwrap(),
            "no PEM data in input"
        );
    }

    #[test]
    fn signed_certificates_name_their_issuer() {
        let ca_key = PrivateKey::generate("ecdsa").unwrap();
        let ca_t = template("my-ca", &Value::Nil, &Value::Nil, 30, true).unwrap();
        let ca = create(&ca_t, &ca_key, None, &ca_key).unwrap();
        assert!(ca.cert.starts_with("-----BEGIN CERTIFICATE-----\n"));
        let (_, ca_der) = pem_decode(&ca.cert).unwrap();
        let parsed = der::parse_cert(&ca_der).unwrap();
        assert_eq!(parsed.subject_key_id.as_ref().map(Vec::len), Some(20));
        let leaf_key = PrivateKey::generate("ed25519").unwrap();
        let ips = Value::list(vec![Value::str("10.0.0.1")]);
        let dns = Value::list(vec![Value::str("leaf.local")]);
        let leaf_t = template("leaf", &ips, &dns, 30, false).unwrap();
        let leaf = create(
            &leaf_t,
            &leaf_key,
            Some((parsed.subject, parsed.subject_key_id.clone())),
            &ca_key,
        )
        .unwrap();
        let (_, leaf_der) = pem_decode(&leaf.cert).unwrap();
        let leaf_parsed = der::parse_cert(&leaf_der).unwrap();
        assert_eq!(leaf_parsed.subject.len(), parsed.subject.len() + 1 - 2);
        assert!(template(
            "x",
            &Value::list(vec![Value::str("nope")]),
            &Value::Nil,
            1,
            false
        )
        .is_err());
    }
}
