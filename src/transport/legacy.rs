//! Which legacy protocol versions and ciphers an MX host still accepts (TLS-002).
//!
//! rustls cannot offer SSLv3, TLS 1.0 or 1.1, RC4 or 3DES, and Debian's OpenSSL is built
//! without SSLv3. A server's acceptance is decided by its first answer to a ClientHello, so we
//! send a minimal ClientHello of our own over the STARTTLS session and read the ServerHello
//! (or the alert) that comes back; the handshake is then abandoned. No key exchange is made
//! and nothing is encrypted: this is a probe of what the server would agree to, which is what
//! a downgrading attacker exploits.

use std::net::IpAddr;
use std::time::Duration;

pub use crate::snapshot::transport::LegacyProbe;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::starttls::{Dialogue, to_starttls};

/// The offers made: three protocol versions with every cipher they allow, then TLS 1.2 with
/// only RC4 and with only 3DES suites.
const OFFERS: &[(&str, u16, &[u16])] = &[
    ("SSLv3", 0x0300, LEGACY_SUITES),
    ("TLSv1.0", 0x0301, LEGACY_SUITES),
    ("TLSv1.1", 0x0302, LEGACY_SUITES),
    ("RC4", 0x0303, RC4_SUITES),
    ("3DES", 0x0303, DES3_SUITES),
];

/// CBC, RC4 and 3DES suites a pre-TLS 1.2 server may choose (RFC 4346, 4492, 5246).
const LEGACY_SUITES: &[u16] = &[
    0xC009, 0xC00A, 0xC013, 0xC014, 0x0033, 0x0039, 0x002F, 0x0035, 0xC012, 0xC008, 0x0016, 0x000A,
    0xC011, 0xC007, 0x0005, 0x0004,
];
const RC4_SUITES: &[u16] = &[0xC011, 0xC007, 0x0005, 0x0004];
const DES3_SUITES: &[u16] = &[0xC012, 0xC008, 0x0016, 0x000A];

fn suite_name(s: u16) -> String {
    match s {
        0xC009 => "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        0xC00A => "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        0xC013 => "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        0xC014 => "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        0x0033 => "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
        0x0039 => "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
        0x002F => "TLS_RSA_WITH_AES_128_CBC_SHA",
        0x0035 => "TLS_RSA_WITH_AES_256_CBC_SHA",
        0xC012 => "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
        0xC008 => "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA",
        0x0016 => "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA",
        0x000A => "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        0xC011 => "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
        0xC007 => "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
        0x0005 => "TLS_RSA_WITH_RC4_128_SHA",
        0x0004 => "TLS_RSA_WITH_RC4_128_MD5",
        other => return format!("0x{other:04X}"),
    }
    .to_string()
}

fn version_name(v: u16) -> String {
    match v {
        0x0300 => "SSLv3".into(),
        0x0301 => "TLSv1.0".into(),
        0x0302 => "TLSv1.1".into(),
        0x0303 => "TLSv1.2".into(),
        other => format!("0x{other:04X}"),
    }
}

/// A ClientHello for `version` offering `suites`, with SNI for `host` (none for SSLv3, which
/// predates extensions) and the curves ECDHE suites need.
pub fn client_hello(version: u16, suites: &[u16], host: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&version.to_be_bytes());
    // The random need not be secret: the handshake is abandoned after the ServerHello.
    body.extend((0u8..32).map(|i| i.wrapping_mul(37).wrapping_add(11)));
    body.push(0); // no session id
    body.extend_from_slice(&((suites.len() * 2) as u16).to_be_bytes());
    for s in suites {
        body.extend_from_slice(&s.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]); // compression: null
    if version > 0x0300 {
        let mut ext = Vec::new();
        let name = host.as_bytes();
        if !name.is_empty() && name.len() < 256 {
            // server_name (RFC 6066 §3)
            ext.extend_from_slice(&[0x00, 0x00]);
            ext.extend_from_slice(&((name.len() + 5) as u16).to_be_bytes());
            ext.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
            ext.push(0);
            ext.extend_from_slice(&(name.len() as u16).to_be_bytes());
            ext.extend_from_slice(name);
        }
        // supported_groups: secp256r1, secp384r1, x25519 (RFC 8422 §5.1.1)
        ext.extend_from_slice(&[
            0x00, 0x0A, 0x00, 0x08, 0x00, 0x06, 0x00, 0x17, 0x00, 0x18, 0x00, 0x1D,
        ]);
        // ec_point_formats: uncompressed
        ext.extend_from_slice(&[0x00, 0x0B, 0x00, 0x02, 0x01, 0x00]);
        if version >= 0x0303 {
            // signature_algorithms: ecdsa_secp256r1_sha256, rsa_pkcs1_sha256, rsa_pkcs1_sha1,
            // ecdsa_sha1 (RFC 5246 §7.4.1.4.1)
            ext.extend_from_slice(&[
                0x00, 0x0D, 0x00, 0x0A, 0x00, 0x08, 0x04, 0x03, 0x04, 0x01, 0x02, 0x01, 0x02, 0x03,
            ]);
        }
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
    }
    let mut hs = vec![1u8]; // client_hello
    let n = body.len() as u32;
    hs.extend_from_slice(&n.to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    // The record layer says TLS 1.0 (SSLv3 for SSLv3), as clients do for compatibility.
    let record_version: u16 = if version == 0x0300 { 0x0300 } else { 0x0301 };
    let mut rec = vec![22u8];
    rec.extend_from_slice(&record_version.to_be_bytes());
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

/// Reads the server's answer to a ClientHello offering `version`: a ServerHello with that
/// version is acceptance; an alert, a lower version or a closed connection is refusal.
pub fn read_answer(bytes: &[u8], version: u16, suites: &[u16]) -> (Option<bool>, String) {
    let Some(&[ctype, _, _, len_hi, len_lo]) =
        bytes.get(..5).and_then(|b| <&[u8; 5]>::try_from(b).ok())
    else {
        return (
            Some(false),
            "the server closed the connection without a ServerHello".into(),
        );
    };
    let len = u16::from_be_bytes([len_hi, len_lo]) as usize;
    let payload = bytes
        .get(5..5 + len.min(bytes.len().saturating_sub(5)))
        .unwrap_or_default();
    match ctype {
        21 => {
            let desc = payload.get(1).copied().unwrap_or(0);
            let what = match desc {
                40 => "handshake_failure",
                70 => "protocol_version",
                71 => "insufficient_security",
                47 => "illegal_parameter",
                80 => "internal_error",
                _ => "alert",
            };
            (Some(false), format!("refused with alert {what} ({desc})"))
        }
        22 => {
            // handshake: type(1) length(3) version(2) random(32) session_id_len(1) ...
            if payload.first() != Some(&2) {
                return (
                    None,
                    "the first handshake message is not a ServerHello".into(),
                );
            }
            let Some(v) = payload.get(4..6).map(|b| u16::from_be_bytes([b[0], b[1]])) else {
                return (None, "a truncated ServerHello".into());
            };
            let sid = payload.get(38).copied().unwrap_or(0) as usize;
            let suite = payload
                .get(39 + sid..41 + sid)
                .map(|b| u16::from_be_bytes([b[0], b[1]]));
            let chosen = suite.map(suite_name).unwrap_or_else(|| "?".into());
            if v != version {
                return (
                    Some(false),
                    format!("answered with {} instead", version_name(v)),
                );
            }
            let agreed = suite.is_some_and(|s| suites.contains(&s));
            (
                Some(agreed),
                format!("ServerHello {} {chosen}", version_name(v)),
            )
        }
        other => (None, format!("an unexpected TLS record (type {other})")),
    }
}

/// Every legacy offer against one MX address, each on its own SMTP session.
pub async fn probe(host: &str, ip: IpAddr, port: u16, timeout: Duration) -> Vec<LegacyProbe> {
    let mut out = Vec::new();
    for (name, version, suites) in OFFERS {
        let mut d = Dialogue::default();
        let result = match to_starttls(ip, port, timeout, &mut d).await {
            Ok(Some(mut tcp)) => {
                let hello = client_hello(*version, suites, host);
                let exchange = async {
                    tcp.write_all(&hello).await?;
                    let mut buf = vec![0u8; 512];
                    let mut got = 0usize;
                    // A ServerHello's header and start fit in the first few hundred bytes.
                    while got < 48 {
                        let n = tcp.read(&mut buf[got..]).await?;
                        if n == 0 {
                            break;
                        }
                        got += n;
                    }
                    buf.truncate(got);
                    Ok::<Vec<u8>, std::io::Error>(buf)
                };
                match tokio::time::timeout(timeout, exchange).await {
                    Ok(Ok(bytes)) => read_answer(&bytes, *version, suites),
                    Ok(Err(e)) => match e.kind() {
                        std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::UnexpectedEof
                        | std::io::ErrorKind::BrokenPipe => {
                            (Some(false), format!("the server reset the connection: {e}"))
                        }
                        _ => (None, e.to_string()),
                    },
                    Err(_) => (None, format!("no answer within {} ms", timeout.as_millis())),
                }
            }
            Ok(None) => (None, "STARTTLS is not offered".into()),
            Err((_, why)) => (None, why),
        };
        out.push(LegacyProbe {
            offered: (*name).to_string(),
            accepted: result.0,
            detail: result.1,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_hello_is_well_formed() {
        let h = client_hello(0x0301, LEGACY_SUITES, "mx.example");
        assert_eq!(h[0], 22);
        let rec_len = u16::from_be_bytes([h[3], h[4]]) as usize;
        assert_eq!(rec_len, h.len() - 5);
        let hs_len = u32::from_be_bytes([0, h[6], h[7], h[8]]) as usize;
        assert_eq!(hs_len, h.len() - 9);
        assert_eq!(&h[9..11], &[0x03, 0x01]);
        // SSLv3 carries no extensions.
        let s = client_hello(0x0300, LEGACY_SUITES, "mx.example");
        let body_end = 9 + 2 + 32 + 1 + 2 + LEGACY_SUITES.len() * 2 + 2;
        assert_eq!(s.len(), body_end);
    }

    #[test]
    fn answers_are_read_as_acceptance_or_refusal() {
        let alert = [21, 3, 1, 0, 2, 2, 70];
        assert_eq!(read_answer(&alert, 0x0301, LEGACY_SUITES).0, Some(false));
        assert!(
            read_answer(&alert, 0x0301, LEGACY_SUITES)
                .1
                .contains("protocol_version")
        );
        let mut hello = vec![22, 3, 1, 0, 42, 2, 0, 0, 38, 3, 1];
        hello.extend([0u8; 32]);
        hello.push(0); // session id length
        hello.extend([0xC0, 0x09, 0]);
        let (ok, detail) = read_answer(&hello, 0x0301, LEGACY_SUITES);
        assert_eq!(ok, Some(true), "{detail}");
        assert!(detail.contains("TLSv1.0 TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"));
        // A server answering a higher or lower version did not accept the offer.
        hello[9..11].copy_from_slice(&[3, 3]);
        assert_eq!(read_answer(&hello, 0x0301, LEGACY_SUITES).0, Some(false));
        assert_eq!(read_answer(&[], 0x0301, LEGACY_SUITES).0, Some(false));
        assert_eq!(read_answer(&[22, 3], 0x0301, LEGACY_SUITES).0, Some(false));
        assert_eq!(
            read_answer(&[23, 3, 3, 0, 1, 0], 0x0301, LEGACY_SUITES).0,
            None
        );
    }
}
