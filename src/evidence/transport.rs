//! A domain's transport security as the reader sees it: each MX host with what its probe met,
//! the MTA-STS record and policy, and the TLS-RPT record. Built from the snapshot by
//! `assess::posture`; the templates and `check` read it, and never compute it.

use serde::{Deserialize, Serialize};

use crate::transport::PresentedChain;

/// One MX host of a domain.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MxHost {
    pub host: String,
    pub preference: u16,
    /// The addresses the snapshot holds for it.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// How its probe ended (`ok`, `refused`, `timeout`…), or `not probed`.
    pub probe: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether STARTTLS was offered; absent when the probe did not get that far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starttls: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSession>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<PresentedChain>,
    /// Legacy versions and ciphers the host accepted (SSLv3, TLSv1.0, TLSv1.1, RC4, 3DES).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub legacy_accepted: Vec<String>,
    /// TLSA records at `_25._tcp.<host>`, as published.
    #[serde(default)]
    pub tlsa: Vec<String>,
    /// Whether the MTA-STS policy's `mx` patterns cover it; absent without a policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sts_covered: Option<bool>,
    /// DNSSEC status of its address records (`secure`, `insecure`, `bogus`,
    /// `indeterminate`), from mailproof's own validation; absent when none ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnssec: Option<String>,
    /// DNSSEC status of its TLSA RRset, or of the proof that it has none. DANE needs
    /// `secure` (RFC 7672 §2.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tlsa_dnssec: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TlsSession {
    pub version: String,
    pub cipher: String,
}

/// The MTA-STS record and the policy as fetched.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StsState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub record_valid: bool,
    /// The fetch: URL, outcome and status, when one was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetch: Option<StsFetch>,
    /// `enforce`, `testing` or `none`, from a valid policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
    #[serde(default)]
    pub mx_patterns: Vec<String>,
    /// Problems of the record and the policy, in words.
    #[serde(default)]
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StsFetch {
    pub url: String,
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_valid: Option<bool>,
}

/// The TLS-RPT record.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TlsRptState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    #[serde(default)]
    pub rua: Vec<String>,
    pub valid: bool,
    #[serde(default)]
    pub errors: Vec<String>,
}

/// Everything about one domain's transport.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TransportPosture {
    /// The snapshot holds transport probes: without them, MX rows say "not probed" and no
    /// transport finding is read as clean.
    pub assessed: bool,
    /// STARTTLS probes ran (`[tls] probe`).
    pub probed: bool,
    /// The domain publishes a null MX (RFC 7505): it takes no mail.
    pub null_mx: bool,
    #[serde(default)]
    pub mx: Vec<MxHost>,
    pub mta_sts: StsState,
    pub tls_rpt: TlsRptState,
}
