//! What the transport probes met, as the snapshot stores it: the MTA-STS policy fetches and
//! the STARTTLS probes with their certificates. Raw outcomes only; `crate::transport` does
//! the I/O that fills them, and the checks judge them.

use serde::{Deserialize, Serialize};

/// Everything the transport probes captured, stored beside the DNS lookups.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TransportCapture {
    /// Whether STARTTLS probes ran (`[tls] probe`); without them the MX findings say "not
    /// probed", never "no STARTTLS".
    pub probed: bool,
    pub smtp_port: u16,
    #[serde(default)]
    pub sts_policies: Vec<PolicyFetch>,
    #[serde(default)]
    pub smtp: Vec<SmtpProbe>,
}

/// How a connection or fetch ended. Anything but `ok` (and, for fetches, `http_status`,
/// `content_type`, `too_large` and `redirect`, which are the server's answers) means we could
/// not learn the truth: evidence incomplete, never "absent".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    /// The name has no address in the snapshot.
    NoAddress,
    Refused,
    Timeout,
    Reset,
    /// TLS could not be negotiated at all (no common version or cipher, or a broken peer).
    TlsError,
    /// The HTTPS certificate is not one a sender accepts (RFC 8461 §3.3).
    CertificateInvalid,
    Redirect,
    HttpStatus,
    ContentType,
    TooLarge,
    /// The server broke the protocol (not SMTP, not HTTP).
    Protocol,
    Error,
}

impl Outcome {
    /// We could not reach the server or finish talking to it: evidence incomplete (NET-001).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Outcome::NoAddress
                | Outcome::Refused
                | Outcome::Timeout
                | Outcome::Reset
                | Outcome::Error
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::NoAddress => "no_address",
            Outcome::Refused => "refused",
            Outcome::Timeout => "timeout",
            Outcome::Reset => "reset",
            Outcome::TlsError => "tls_error",
            Outcome::CertificateInvalid => "certificate_invalid",
            Outcome::Redirect => "redirect",
            Outcome::HttpStatus => "http_status",
            Outcome::ContentType => "content_type",
            Outcome::TooLarge => "too_large",
            Outcome::Protocol => "protocol",
            Outcome::Error => "error",
        }
    }
}

/// The MTA-STS policy fetch for one domain (RFC 8461 §3.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyFetch {
    pub domain: String,
    pub url: String,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The address connected to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Where a redirect pointed (never followed: RFC 8461 §3.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The body as served (at most [`crate::records::mta_sts::MAX_POLICY_BYTES`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<PresentedChain>,
    pub elapsed_ms: u64,
}

/// One STARTTLS probe of one MX host address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmtpProbe {
    pub host: String,
    pub address: String,
    pub port: u16,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The 220 greeting, line by line.
    #[serde(default)]
    pub banner: Vec<String>,
    /// The EHLO keywords the server advertised (before STARTTLS).
    #[serde(default)]
    pub ehlo: Vec<String>,
    /// Whether STARTTLS was advertised; `None` when the dialogue ended before EHLO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starttls: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<PresentedChain>,
    /// The SMTP dialogue, `C:`/`S:` lines, for the evidence.
    #[serde(default)]
    pub transcript: Vec<String>,
    /// Legacy versions and ciphers offered on sessions of their own (TLS-002).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub legacy: Vec<LegacyProbe>,
    pub elapsed_ms: u64,
}

impl TransportCapture {
    /// The probes and fetches that could not reach their server, in words: what makes a run
    /// "evidence incomplete" (exit 4), like a failed DNS lookup.
    pub fn gaps(&self) -> Vec<String> {
        let smtp = self
            .smtp
            .iter()
            .filter(|p| p.outcome.is_failure() || p.outcome == Outcome::Protocol)
            .map(|p| {
                format!(
                    "{} {}:{}: {}: {}",
                    p.host,
                    p.address,
                    p.port,
                    p.outcome.label(),
                    p.error.as_deref().unwrap_or("")
                )
            });
        let sts = self
            .sts_policies
            .iter()
            .filter(|f| f.outcome.is_failure())
            .map(|f| {
                format!(
                    "{}: {}: {}",
                    f.url,
                    f.outcome.label(),
                    f.error.as_deref().unwrap_or("")
                )
            });
        smtp.chain(sts).collect()
    }
}

impl SmtpProbe {
    /// A probe of `host` at `address` that has learned nothing yet.
    pub fn new(host: &str, address: String, port: u16) -> SmtpProbe {
        SmtpProbe {
            host: host.to_string(),
            address,
            port,
            outcome: Outcome::Ok,
            error: None,
            banner: vec![],
            ehlo: vec![],
            starttls: None,
            tls_version: None,
            cipher: None,
            certificate: None,
            transcript: vec![],
            legacy: vec![],
            elapsed_ms: 0,
        }
    }

    pub fn unreachable(host: &str, port: u16, outcome: Outcome, why: &str) -> SmtpProbe {
        SmtpProbe {
            outcome,
            error: Some(why.to_string()),
            ..SmtpProbe::new(host, String::new(), port)
        }
    }
}

/// One certificate of a presented chain, in the words an auditor checks.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CertSummary {
    pub subject: String,
    /// DNS names and IP addresses of the subjectAltName extension.
    #[serde(default)]
    pub sans: Vec<String>,
    pub issuer: String,
    /// RFC 3339, UTC.
    pub not_before: String,
    pub not_after: String,
    /// `rsa`, `ec`, `ed25519` or the algorithm's OID.
    pub key_type: String,
    pub key_bits: u32,
    pub signature_algorithm: String,
    /// SHA-256 of the DER certificate, hex: what DANE-EE(3) 0 1 records pin.
    pub sha256: String,
    /// SHA-256 of the DER SubjectPublicKeyInfo, hex: what `3 1 1` TLSA records pin.
    #[serde(default)]
    pub spki_sha256: String,
    /// SHA-512 of the DER certificate and of its SubjectPublicKeyInfo, hex: what TLSA
    /// matching type 2 pins. Empty in snapshots taken before they were recorded.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha512: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub spki_sha512: String,
    /// The DER could not be parsed; only the hash is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parse_error: Option<String>,
}

/// The chain a server presented, and how a validating sender would judge it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PresentedChain {
    /// Leaf first, as sent.
    pub chain: Vec<CertSummary>,
    /// The name the chain was validated for (the MX host, or `mta-sts.<domain>`).
    pub validated_for: String,
    /// Trusted, unexpired and matching `validated_for` under WebPKI rules.
    pub valid: bool,
    /// Why not, in rustls's words (unknown issuer, expired, name mismatch…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What one legacy offer met.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegacyProbe {
    /// `SSLv3`, `TLSv1.0`, `TLSv1.1`, `RC4` or `3DES`.
    pub offered: String,
    /// `Some(true)`: the server answered with a ServerHello agreeing to it; `Some(false)`: it
    /// refused (an alert, or it closed); `None`: the probe could not tell (no STARTTLS, a
    /// connection failure, a timeout).
    pub accepted: Option<bool>,
    /// The version and cipher of the ServerHello, or why not.
    pub detail: String,
}
