//! Certificates as evidence: what a server presented, summarized for the reader, and whether a
//! sender would accept it (the trust store, the name, the dates).
//!
//! The handshake itself always completes: a recording verifier accepts any chain, so we learn
//! the version, the cipher and the certificate even from a server no sender would trust. The
//! chain is then judged apart, with the same WebPKI rules a validating sender applies.

use std::path::Path;
use std::sync::{Arc, Mutex};

pub use crate::snapshot::transport::{CertSummary, PresentedChain};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256, Sha512};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
use x509_parser::public_key::PublicKey;

/// Most certificates of a chain kept: real chains have 2 to 4; a hostile server could send
/// hundreds.
const MAX_CHAIN: usize = 8;

/// Summarizes a DER certificate; a certificate that does not parse keeps its hash.
pub fn summarize(der: &[u8]) -> CertSummary {
    let sha256 = hex::encode(Sha256::digest(der));
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return CertSummary {
            sha256,
            sha512: hex::encode(Sha512::digest(der)),
            parse_error: Some("the certificate is not valid DER X.509".into()),
            ..Default::default()
        };
    };
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(n) => sans.push(n.to_ascii_lowercase()),
                GeneralName::IPAddress(b) => match b.len() {
                    4 => sans.push(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string()),
                    16 => {
                        let mut a = [0u8; 16];
                        a.copy_from_slice(b);
                        sans.push(std::net::Ipv6Addr::from(a).to_string());
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
    let spki = cert.public_key();
    let (key_type, key_bits) = match spki.parsed() {
        Ok(PublicKey::RSA(k)) => ("rsa".to_string(), k.key_size() as u32),
        Ok(PublicKey::EC(k)) => ("ec".to_string(), k.key_size() as u32),
        _ if spki.algorithm.algorithm.to_id_string() == "1.3.101.112" => ("ed25519".into(), 256),
        _ => (spki.algorithm.algorithm.to_id_string(), 0),
    };
    let time = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default()
    };
    CertSummary {
        subject: cert.subject().to_string(),
        sans,
        issuer: cert.issuer().to_string(),
        not_before: time(cert.validity().not_before.timestamp()),
        not_after: time(cert.validity().not_after.timestamp()),
        key_type,
        key_bits,
        signature_algorithm: signature_name(&cert.signature_algorithm.algorithm.to_id_string()),
        sha256,
        spki_sha256: hex::encode(Sha256::digest(spki.raw)),
        sha512: hex::encode(Sha512::digest(der)),
        spki_sha512: hex::encode(Sha512::digest(spki.raw)),
        parse_error: None,
    }
}

/// The common signature algorithms by name; others by OID.
fn signature_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "ed25519",
        other => other,
    }
    .to_string()
}

/// The roots a sender trusts: the Mozilla set, plus the configured extra file.
pub fn roots(ca_file: Option<&Path>) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let mut added = 0usize;
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| {
            format!(
                "{}: {e}; give a PEM file of CA certificates",
                path.display()
            )
        })? {
            let cert = cert.map_err(|e| format!("{}: {e}", path.display()))?;
            store.add(cert).map_err(|e| {
                format!(
                    "{}: a certificate is not a usable root: {e}",
                    path.display()
                )
            })?;
            added += 1;
        }
        if added == 0 {
            return Err(format!(
                "{}: no certificate found; give a PEM file of CA certificates",
                path.display()
            ));
        }
    }
    Ok(store)
}

/// Accepts any chain so the handshake completes, and remembers how a validating sender would
/// have judged it.
#[derive(Debug)]
pub struct Recorder {
    inner: Arc<WebPkiServerVerifier>,
    verdict: Mutex<Option<Result<(), String>>>,
}

impl Recorder {
    pub fn new(roots: Arc<RootCertStore>) -> Result<Arc<Recorder>, String> {
        let inner = WebPkiServerVerifier::builder_with_provider(roots, provider())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Arc::new(Recorder {
            inner,
            verdict: Mutex::new(None),
        }))
    }

    /// The verdict of the last handshake, if the server sent a certificate.
    pub fn verdict(&self) -> Option<Result<(), String>> {
        self.verdict.lock().ok().and_then(|v| v.clone())
    }
}

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            .map(|_| ())
            .map_err(|e| describe(&e));
        if let Ok(mut v) = self.verdict.lock() {
            *v = Some(verdict);
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// rustls's certificate errors, in the words a reader of the evidence knows.
fn describe(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::Expired | C::ExpiredContext { .. } => "the certificate has expired".into(),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "the certificate is not valid yet".into()
            }
            C::UnknownIssuer => {
                "the issuer is not a trusted CA (self-signed, or an incomplete chain)".into()
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "the certificate does not name the host".into()
            }
            C::Revoked => "the certificate is revoked".into(),
            C::BadSignature => "the certificate's signature is invalid".into(),
            other => format!("the certificate is invalid: {other:?}"),
        },
        other => other.to_string(),
    }
}

/// The chain summary with the recorded verdict.
pub fn presented(
    certs: Option<&[CertificateDer<'_>]>,
    verdict: Option<Result<(), String>>,
    validated_for: &str,
) -> Option<PresentedChain> {
    let certs = certs?;
    let chain: Vec<CertSummary> = certs.iter().take(MAX_CHAIN).map(|c| summarize(c)).collect();
    let (valid, error) = match verdict {
        Some(Ok(())) => (true, None),
        Some(Err(e)) => (false, Some(e)),
        None => (false, Some("the certificate was not checked".into())),
    };
    Some(PresentedChain {
        chain,
        validated_for: validated_for.to_string(),
        valid,
        error,
    })
}

/// A client configuration that completes any handshake and records the verdict.
pub fn client_config(recorder: Arc<Recorder>) -> Result<Arc<rustls::ClientConfig>, String> {
    let cfg = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(recorder)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}
