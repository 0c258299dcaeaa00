//! DKIM key record parser (RFC 6376, RFC 8301, RFC 8463).
//!
//! Besides the tags, the key itself is opened far enough to learn its type and size, because
//! key strength is what the assessment judges (RFC 8301: under 1024 bits is unusable). The DER
//! reader is deliberately tiny and bounds-checked: key records come from strangers.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Diagnostic, Level, Tag, clip, error, parse_tag_list, warning};

/// The key algorithm declared by `k=` (RSA when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    Rsa,
    Ed25519,
}

impl KeyType {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Rsa => "rsa",
            KeyType::Ed25519 => "ed25519",
        }
    }
}

/// Whether verifiers can use the key, in the order the assessment cares about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DkimStatus {
    Valid,
    /// Empty `p=`: the key was deliberately withdrawn (RFC 6376 §3.6.1).
    Revoked,
    /// `t=y`: verifiers treat signatures as if the message were unsigned.
    Testing,
    /// Malformed record or key: signatures with this selector cannot verify.
    Invalid,
}

/// A parsed DKIM key record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DkimKey {
    pub text: String,
    pub tags: Vec<Tag>,
    /// `None` when `k=` names an algorithm we do not know.
    pub key_type: Option<KeyType>,
    /// Modulus size for RSA, 256 for Ed25519; `None` when the key could not be read.
    pub bits: Option<u32>,
    /// SHA-256 (hex) of the decoded key bytes, to track rotation across snapshots.
    pub fingerprint: Option<String>,
    /// `h=` values, lower-case; empty means every algorithm is allowed.
    pub hash_algorithms: Vec<String>,
    /// `h=` allows only `sha1`, which RFC 8301 forbids for signing and verifying.
    pub sha1_only: bool,
    /// `t=y`
    pub testing: bool,
    /// `t=s`: the `i=` domain must equal `d=` exactly.
    pub strict: bool,
    /// `s=` service types; empty means `*`.
    pub services: Vec<String>,
    /// `n=` notes.
    pub notes: Option<String>,
    pub status: DkimStatus,
    pub diagnostics: Vec<Diagnostic>,
}

impl DkimKey {
    pub fn is_valid(&self) -> bool {
        !self.diagnostics.iter().any(|d| d.level == Level::Error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.level == Level::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.level == Level::Warning)
    }

    pub fn tag(&self, name: &str) -> Option<&Tag> {
        self.tags.iter().find(|t| t.name == name)
    }
}

/// Whether a TXT answer at a `_domainkey` name is a key record: `v=DKIM1` is optional
/// (RFC 6376 §3.6.1), so any record with a `p=` tag counts. Posture, diff and key-age
/// tracking must agree on this, so it lives here once.
pub fn is_key_record(txt: &str) -> bool {
    crate::snapshot::starts_with_tag(txt, "v=DKIM1") || txt.contains("p=")
}

/// Base64 as published: padding is optional in practice, and verifiers accept both.
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Parses DKIM key record text. Never fails: problems are positioned diagnostics.
pub fn parse(text: &str) -> DkimKey {
    let mut diags = Vec::new();
    let tags = parse_tag_list(text, &mut diags);
    let mut key = DkimKey {
        text: text.to_string(),
        tags: Vec::new(),
        key_type: Some(KeyType::Rsa),
        bits: None,
        fingerprint: None,
        hash_algorithms: Vec::new(),
        sha1_only: false,
        testing: false,
        strict: false,
        services: Vec::new(),
        notes: None,
        status: DkimStatus::Valid,
        diagnostics: Vec::new(),
    };
    let mut p_tag: Option<&Tag> = None;

    for (i, t) in tags.iter().enumerate() {
        let v = t.value.as_str();
        match t.name.as_str() {
            "v" => {
                if i != 0 {
                    diags.push(error(t.pos, "`v=` must be the first tag"));
                }
                if v != "DKIM1" {
                    diags.push(error(
                        t.value_pos,
                        format!("version must be `DKIM1`, found `{}`", clip(v)),
                    ));
                }
            }
            "k" => {
                key.key_type = match v.to_ascii_lowercase().as_str() {
                    "rsa" => Some(KeyType::Rsa),
                    "ed25519" => Some(KeyType::Ed25519),
                    _ => {
                        diags.push(error(
                            t.value_pos,
                            format!("unknown key type `{}` (expected rsa or ed25519)", clip(v)),
                        ));
                        None
                    }
                }
            }
            "p" => p_tag = Some(t),
            "h" => {
                key.hash_algorithms = list(v);
                for h in &key.hash_algorithms {
                    if h != "sha1" && h != "sha256" {
                        diags.push(warning(
                            t.value_pos,
                            format!("unknown hash algorithm `{}` in h=", clip(h)),
                        ));
                    }
                }
                if !key.hash_algorithms.is_empty()
                    && key.hash_algorithms.iter().all(|h| h == "sha1")
                {
                    key.sha1_only = true;
                    diags.push(warning(
                        t.value_pos,
                        "h=sha1 only: rsa-sha1 MUST NOT be used (RFC 8301 §3.1); verifiers reject these signatures",
                    ));
                }
            }
            "s" => {
                key.services = list(v);
                if !key.services.iter().any(|s| s == "*" || s == "email") {
                    diags.push(error(
                        t.value_pos,
                        format!(
                            "s={} does not allow email: the key cannot verify mail",
                            clip(v)
                        ),
                    ));
                }
            }
            "t" => {
                for flag in list(v) {
                    match flag.as_str() {
                        "y" => key.testing = true,
                        "s" => key.strict = true,
                        other => diags.push(warning(
                            t.value_pos,
                            format!("unknown flag `{}` in t= (ignored)", clip(other)),
                        )),
                    }
                }
            }
            "n" => key.notes = Some(t.value.clone()),
            "g" => diags.push(warning(
                t.pos,
                "`g=` was removed by RFC 6376; some verifiers still apply it",
            )),
            other => diags.push(warning(
                t.pos,
                format!("unknown tag `{}` (ignored)", clip(other)),
            )),
        }
    }

    let mut revoked = false;
    match p_tag {
        None => diags.push(error(text.len(), "missing required `p=` tag")),
        Some(t) => {
            let b64: String = t
                .value
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            if b64.is_empty() {
                revoked = true;
            } else {
                match B64.decode(b64.as_bytes()) {
                    Err(e) => {
                        diags.push(error(t.value_pos, format!("p= is not valid base64: {e}")))
                    }
                    Ok(bytes) => {
                        key.fingerprint = Some(hex::encode(Sha256::digest(&bytes)));
                        if let Some(kt) = key.key_type {
                            key.bits = key_bits(kt, &bytes, t.value_pos, &mut diags);
                        }
                    }
                }
            }
        }
    }

    diags.sort_by_key(|d| d.pos);
    key.status = if diags.iter().any(|d| d.level == Level::Error) {
        DkimStatus::Invalid
    } else if revoked {
        DkimStatus::Revoked
    } else if key.testing {
        DkimStatus::Testing
    } else {
        DkimStatus::Valid
    };
    key.tags = tags;
    key.diagnostics = diags;
    key
}

fn list(v: &str) -> Vec<String> {
    v.split(':')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

fn key_bits(kt: KeyType, bytes: &[u8], pos: usize, diags: &mut Vec<Diagnostic>) -> Option<u32> {
    match kt {
        KeyType::Ed25519 => {
            if bytes.len() == 32 {
                return Some(256);
            }
            if let Ok(Spki { oid, key }) = spki(bytes)
                && oid == OID_ED25519
                && key.len() == 32
            {
                diags.push(error(
                    pos,
                    "Ed25519 key wrapped in SubjectPublicKeyInfo: RFC 8463 requires the bare 32-byte key",
                ));
                return Some(256);
            }
            diags.push(error(
                pos,
                format!("Ed25519 key must be 32 bytes, found {}", bytes.len()),
            ));
            None
        }
        KeyType::Rsa => match rsa_modulus_bits(bytes) {
            Ok(bits) => Some(bits),
            Err(msg) => {
                let hint = if bytes.len() == 32 {
                    " (32 bytes looks like an Ed25519 key: is k=ed25519 missing?)"
                } else {
                    ""
                };
                diags.push(error(pos, format!("unreadable RSA key: {msg}{hint}")));
                None
            }
        },
    }
}

/// A DER element: tag byte and content.
struct Tlv<'a> {
    tag: u8,
    content: &'a [u8],
}

/// Reads consecutive DER elements from a byte slice; every length is checked against it.
struct Der<'a> {
    data: &'a [u8],
}

impl<'a> Der<'a> {
    fn new(data: &'a [u8]) -> Self {
        Der { data }
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn next(&mut self) -> Result<Tlv<'a>, &'static str> {
        let (&tag, rest) = self.data.split_first().ok_or("truncated DER")?;
        let (&first, rest) = rest.split_first().ok_or("truncated DER length")?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 {
                return Err("indefinite DER length");
            }
            if n > 4 {
                return Err("DER length too large");
            }
            let len_bytes = rest.get(..n).ok_or("truncated DER length")?;
            let len = len_bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, &rest[n..])
        };
        let content = rest.get(..len).ok_or("DER element longer than its data")?;
        self.data = &rest[len..];
        Ok(Tlv { tag, content })
    }

    fn expect(&mut self, tag: u8, what: &'static str) -> Result<&'a [u8], &'static str> {
        let t = self.next()?;
        if t.tag != tag {
            return Err(what);
        }
        Ok(t.content)
    }
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OID: u8 = 0x06;

struct Spki<'a> {
    oid: &'a [u8],
    key: &'a [u8],
}

/// `SubjectPublicKeyInfo ::= SEQUENCE { SEQUENCE { OID, params }, BIT STRING }`
fn spki(bytes: &[u8]) -> Result<Spki<'_>, &'static str> {
    let mut outer = Der::new(bytes);
    let body = outer.expect(SEQUENCE, "key is not a DER SEQUENCE")?;
    if !outer.is_empty() {
        return Err("trailing bytes after the key");
    }
    let mut inner = Der::new(body);
    let algo = inner.expect(SEQUENCE, "missing algorithm identifier")?;
    let oid = Der::new(algo).expect(OID, "missing algorithm OID")?;
    let bits = inner.expect(BIT_STRING, "missing key BIT STRING")?;
    let (&unused, key) = bits.split_first().ok_or("empty BIT STRING")?;
    if unused != 0 {
        return Err("BIT STRING with unused bits");
    }
    Ok(Spki { oid, key })
}

/// Modulus size of an RSA key given either as SubjectPublicKeyInfo or as a bare PKCS#1
/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
fn rsa_modulus_bits(bytes: &[u8]) -> Result<u32, &'static str> {
    let mut outer = Der::new(bytes);
    let body = outer.expect(SEQUENCE, "key is not a DER SEQUENCE")?;
    if !outer.is_empty() {
        return Err("trailing bytes after the key");
    }
    let first = Der::new(body).next()?;
    let pkcs1 = match first.tag {
        SEQUENCE => {
            let s = spki(bytes)?;
            if s.oid != OID_RSA {
                return Err(if s.oid == OID_ED25519 {
                    "the key is Ed25519 but k= says rsa"
                } else {
                    "algorithm is not rsaEncryption"
                });
            }
            s.key
        }
        INTEGER => bytes,
        _ => return Err("neither SubjectPublicKeyInfo nor RSAPublicKey"),
    };
    let mut outer = Der::new(pkcs1);
    let body = outer.expect(SEQUENCE, "RSAPublicKey is not a SEQUENCE")?;
    if !outer.is_empty() {
        return Err("trailing bytes after RSAPublicKey");
    }
    let mut inner = Der::new(body);
    let modulus = inner.expect(INTEGER, "missing modulus")?;
    let exponent = inner.expect(INTEGER, "missing public exponent")?;
    if !inner.is_empty() {
        return Err("trailing data in RSAPublicKey");
    }
    if exponent.iter().all(|&b| b == 0) {
        return Err("public exponent is zero");
    }
    if modulus.first().is_some_and(|&b| b & 0x80 != 0) {
        return Err("modulus is negative");
    }
    let significant = match modulus.iter().position(|&b| b != 0) {
        Some(i) => &modulus[i..],
        None => return Err("modulus is zero"),
    };
    let top = significant[0];
    let bits = (significant.len() - 1)
        .checked_mul(8)
        .and_then(|b| b.checked_add(8 - top.leading_zeros() as usize))
        .ok_or("modulus too large")?;
    u32::try_from(bits).map_err(|_| "modulus too large")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::test_corpus;

    #[test]
    fn rsa_spki_key_with_defaults() {
        // test1.dkim2.com rsa1024 from the corpus; 1024 bits verified with python cryptography.
        let k = parse(
            "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDIubB7x1q3rNGDWgObuKSOyYVtVKmcJpIvtWdRzg71iGRGqMdEE18GAOk+6j+GAcHTppkh4qR1d9vOl4S1L8ClAvSFUz0azi31fLQcMpZbagyseSq9FnF4nHL/7MAA2brAXkVCQ1rZLKNHMwkXGggkA9kg+LloNfSML+utkhN3gQIDAQAB",
        );
        assert!(k.is_valid(), "{:?}", k.diagnostics);
        assert_eq!(k.status, DkimStatus::Valid);
        assert_eq!(k.key_type, Some(KeyType::Rsa));
        assert_eq!(k.bits, Some(1024));
        assert!(!k.testing && !k.sha1_only);
    }

    #[test]
    fn pkcs1_key_fingerprint_and_folded_whitespace() {
        // test.dkim2.eu rsa512: bare RSAPublicKey; sha256 checked with python hashlib.
        let k = parse(
            "v=DKIM1; k=rsa; p=MEgCQQC9vtUH9YsGQ6CaQEl/zpA7PbPpyNq3Pz0K16baEWeEQMnQHzj85hLA8yfp\r\n\t F/DBJmxy5mbVrRs+MdYAFvyaUyPtAgMBAAE=",
        );
        assert!(k.is_valid(), "{:?}", k.diagnostics);
        assert_eq!(k.bits, Some(512));
        assert_eq!(
            k.fingerprint.as_deref(),
            Some("cca120cee2c4950b4ad82d63b56ec79437ef22f43aff9e6c27a8083a70ae44ab")
        );
    }

    #[test]
    fn ed25519_key() {
        let k = parse("v=DKIM1; k=ed25519; p=hwjviTXyzUXSCWayBqE17s/4NSynQKxw58jayHudRAI=");
        assert!(k.is_valid(), "{:?}", k.diagnostics);
        assert_eq!((k.key_type, k.bits), (Some(KeyType::Ed25519), Some(256)));
        assert_eq!(
            k.fingerprint.as_deref(),
            Some("dc4abc13637a3671636a1534b534979d654b8499b357b83e216ae49b3a90d8ac")
        );
        // Same bytes without k=: read as RSA, which fails with a hint.
        let k = parse("v=DKIM1; p=hwjviTXyzUXSCWayBqE17s/4NSynQKxw58jayHudRAI=");
        assert_eq!(k.status, DkimStatus::Invalid);
        assert!(
            k.errors()
                .next()
                .is_some_and(|d| d.pos == 11 && d.message.contains("ed25519"))
        );
        // 31 bytes is not an Ed25519 key.
        let k = parse("k=ed25519; p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==");
        assert_eq!(k.status, DkimStatus::Invalid);
    }

    #[test]
    fn revoked_testing_and_flags() {
        let k = parse("v=DKIM1; k=rsa; p=");
        assert_eq!(k.status, DkimStatus::Revoked);
        assert_eq!((k.bits, k.fingerprint.as_deref()), (None, None));

        let k = parse(
            "v=DKIM1; t=y:s; h=sha1; s=email; n=rotated 2024; p=MEgCQQC9vtUH9YsGQ6CaQEl/zpA7PbPpyNq3Pz0K16baEWeEQMnQHzj85hLA8yfpF/DBJmxy5mbVrRs+MdYAFvyaUyPtAgMBAAE=",
        );
        assert!(k.is_valid(), "{:?}", k.diagnostics);
        assert_eq!(k.status, DkimStatus::Testing);
        assert!(k.testing && k.strict && k.sha1_only);
        assert_eq!(k.notes.as_deref(), Some("rotated 2024"));
        assert_eq!(k.warnings().count(), 1);

        let k = parse("h=sha1:sha256; p=");
        assert!(!k.sha1_only);
        assert_eq!(k.status, DkimStatus::Revoked);
    }

    #[test]
    fn tag_errors_with_positions() {
        for (rec, pos) in [
            ("k=rsa; v=DKIM1; p=", 7),
            ("v=DKIM2; p=", 2),
            ("v=DKIM1; k=dsa; p=", 11),
            ("v=DKIM1; s=tlsrpt; p=", 11),
            ("v=DKIM1; p=not*base64", 11),
            ("v=DKIM1; k=rsa", 14),
            ("v=DKIM1; p=; p=AAAA", 13),
        ] {
            let k = parse(rec);
            assert_eq!(k.status, DkimStatus::Invalid, "{rec}");
            let e: Vec<usize> = k.errors().map(|d| d.pos).collect();
            assert_eq!(e.first(), Some(&pos), "{rec}: {:?}", k.diagnostics);
        }
    }

    #[test]
    fn garbage_der_never_panics() {
        use base64::engine::general_purpose::STANDARD;
        let cases: Vec<Vec<u8>> = vec![
            vec![0x30],
            vec![0x30, 0x80],
            vec![0x30, 0x85, 1, 1, 1, 1, 1],
            vec![0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
            vec![0x30, 0x02, 0x02, 0x00],
            vec![0x30, 0x04, 0x02, 0x00, 0x02, 0x00],
            vec![0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x03],
            vec![0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x03],
            vec![0x30, 0x03, 0x30, 0x01, 0x06],
            vec![0x30, 0x07, 0x30, 0x02, 0x06, 0x00, 0x03, 0x01, 0x00],
            vec![0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x03, 0x00],
            vec![0x04, 0x00],
        ];
        for c in cases {
            let rec = format!("p={}", STANDARD.encode(&c));
            let k = parse(&rec);
            assert_eq!(k.status, DkimStatus::Invalid, "{c:02x?}");
            assert_eq!(k.bits, None, "{c:02x?}");
        }
        // A minimal well-formed PKCS#1 key: modulus 0x00 0xC5 → 8 bits, leading zero ignored.
        let rec = format!(
            "p={}",
            STANDARD.encode([0x30, 0x07, 0x02, 0x02, 0x00, 0xc5, 0x02, 0x01, 0x03])
        );
        assert_eq!(parse(&rec).bits, Some(8));
    }

    /// Sizes verified independently with python `cryptography` (load_der_public_key).
    const EXPECTED: &[(&str, &str, &str, u32)] = &[
        ("test1.dkim2.com", "dkim2test._domainkey", "rsa", 2048),
        ("test1.dkim2.com", "ed25519._domainkey", "ed25519", 256),
        ("test1.dkim2.com", "rsa1024._domainkey", "rsa", 1024),
        ("test2.dkim2.com", "rsa1024._domainkey", "rsa", 1024),
        ("test.dkim2.eu", "rsa512._domainkey", "rsa", 512),
        ("test.dkim2.eu", "rsa768._domainkey", "rsa", 768),
        ("test.dkim2.eu", "rsa1024._domainkey", "rsa", 1024),
        ("test.dkim2.eu", "rsa2048._domainkey", "rsa", 2048),
        ("test.dkim2.eu", "rsa4096._domainkey", "rsa", 4096),
        ("test.dkim2.eu", "rsa5120._domainkey", "rsa", 5120),
        ("test.dkim2.eu", "rsa6144._domainkey", "rsa", 6144),
        ("test.dkim2.eu", "rsa8192._domainkey", "rsa", 8192),
        ("test.dkim2.eu", "pkix-rsa1024._domainkey", "rsa", 1024),
        ("test.dkim2.eu", "pkix-rsa2048._domainkey", "rsa", 2048),
        ("test.dkim2.eu", "pkix-rsa4096._domainkey", "rsa", 4096),
        ("test.dkim2.eu", "pkix-rsa5120._domainkey", "rsa", 5120),
        ("test.dkim2.eu", "pkix-rsa6144._domainkey", "rsa", 6144),
        ("test.dkim2.eu", "pkix-rsa8192._domainkey", "rsa", 8192),
        ("test.dkim2.eu", "ed25519._domainkey", "ed25519", 256),
    ];

    #[test]
    fn corpus_dkim2_dns_json_keys() {
        let Some(path) = test_corpus("mail-auth/resources/dkim2/dns.json") else {
            return;
        };
        let text = std::fs::read_to_string(&path).expect("read dns.json");
        let json: serde_json::Value = serde_json::from_str(&text).expect("dns.json is JSON");
        let mut seen = 0;
        let mut checked = 0;
        for (domain, selectors) in json.as_object().expect("object") {
            for (selector, rrs) in selectors.as_object().expect("selectors") {
                for rr in rrs.as_array().expect("array") {
                    let record = rr[1].as_str().expect("record text");
                    let k = parse(record);
                    seen += 1;
                    assert_eq!(
                        k.status,
                        DkimStatus::Valid,
                        "{selector} {domain}: {:?}",
                        k.diagnostics
                    );
                    let bits = k.bits.expect("bits");
                    match k.key_type {
                        Some(KeyType::Rsa) => assert!((512..=8192).contains(&bits), "{bits}"),
                        Some(KeyType::Ed25519) => assert_eq!(bits, 256),
                        None => panic!("{selector} {domain}: no key type"),
                    }
                    assert_eq!(k.fingerprint.as_ref().map(String::len), Some(64));
                    if let Some((_, _, kt, want)) = EXPECTED
                        .iter()
                        .find(|(d, s, _, _)| d == domain && s == selector)
                    {
                        assert_eq!(
                            k.key_type.map(KeyType::as_str),
                            Some(*kt),
                            "{selector} {domain}"
                        );
                        assert_eq!(bits, *want, "{selector} {domain}");
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(seen, 38, "SOURCES.md lists 38 key records");
        assert_eq!(checked, EXPECTED.len());
    }

    #[test]
    fn corpus_dkim_txt_files() {
        let Some(dir) = test_corpus("mail-auth/resources/dkim") else {
            return;
        };
        // (file, name, key type, bits, fingerprint prefix): verified with python cryptography.
        let expected = [
            (
                "001.txt",
                "brisbane._domainkey.football.example.com",
                "ed25519",
                256,
                "21fe31dfa154a261",
            ),
            (
                "001.txt",
                "test._domainkey.football.example.com",
                "rsa",
                1024,
                "362d9a99501883f6",
            ),
            (
                "002.txt",
                "newengland._domainkey.example.com",
                "rsa",
                1024,
                "86d051d2e4b75ad4",
            ),
            (
                "003.txt",
                "ietf1._domainkey.ietf.org",
                "rsa",
                1024,
                "c734413f2d37b56d",
            ),
        ];
        let mut found = 0;
        for file in ["001.txt", "002.txt", "003.txt"] {
            let text = std::fs::read_to_string(dir.join(file)).expect("read key file");
            for line in text.lines().take_while(|l| !l.trim().is_empty()) {
                let (name, record) = line.split_once(' ').expect("name and record");
                let k = parse(record);
                assert_eq!(k.status, DkimStatus::Valid, "{name}: {:?}", k.diagnostics);
                let (_, _, kt, bits, fp) = expected
                    .iter()
                    .find(|(f, n, ..)| *f == file && *n == name)
                    .unwrap_or_else(|| panic!("unexpected key {name} in {file}"));
                assert_eq!(k.key_type.map(KeyType::as_str), Some(*kt), "{name}");
                assert_eq!(k.bits, Some(*bits), "{name}");
                assert!(
                    k.fingerprint.as_deref().is_some_and(|f| f.starts_with(fp)),
                    "{name}"
                );
                found += 1;
            }
        }
        assert_eq!(found, expected.len());
    }
}
