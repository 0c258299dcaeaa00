//! What mailproof's own DNSSEC validation concluded, as the snapshot stores it. The upstream
//! resolver's AD flag is a claim we cannot check (and most stub paths strip or forge it), so
//! the chain of trust is built here, from a trust anchor we name, and the result is stored
//! per name so that `--offline` and later re-assessment read the same verdicts.

use super::Rtype;
use serde::{Deserialize, Serialize};

/// The validation run of one capture.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DnssecCapture {
    /// The trust anchor the chains were built to: the IANA root keys built into the tool, or
    /// the anchor file with its SHA-256, so an auditor can tell a test anchor from the real
    /// root.
    pub anchor: String,
    #[serde(default)]
    pub names: Vec<DnssecName>,
}

/// The verdict for one RRset (or for the proof that it does not exist).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnssecName {
    /// Queried name, lower case, no trailing dot.
    pub name: String,
    pub rtype: Rtype,
    pub status: DnssecStatus,
    /// Whether the verdict is about records that exist (`false`: about the proof that none
    /// do, e.g. no TLSA record).
    #[serde(default)]
    pub exists: bool,
    /// Why the status is not `secure`, when the validator said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// What the name is to the domain: `domain`, `mx-host` or `tlsa`.
    pub purpose: String,
}

/// RFC 4035 §4.3's four security states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DnssecStatus {
    /// Signed, and the signatures chain to the trust anchor.
    Secure,
    /// Provably unsigned: a signed parent says there is no DS for the zone.
    Insecure,
    /// Signed data that does not validate, or a chain that should exist and does not. A
    /// validating resolver answers SERVFAIL: mail to this name fails for those senders.
    Bogus,
    /// The validator could not get the records it needed (timeout, refusal): evidence
    /// incomplete, never "insecure".
    Indeterminate,
}

impl DnssecStatus {
    pub fn label(self) -> &'static str {
        match self {
            DnssecStatus::Secure => "secure",
            DnssecStatus::Insecure => "insecure",
            DnssecStatus::Bogus => "bogus",
            DnssecStatus::Indeterminate => "indeterminate",
        }
    }

    /// How bad a status is when several names are summed up into one: bogus first, then what
    /// could not be told, then unsigned, then signed.
    pub fn severity(self) -> u8 {
        match self {
            DnssecStatus::Bogus => 3,
            DnssecStatus::Indeterminate => 2,
            DnssecStatus::Insecure => 1,
            DnssecStatus::Secure => 0,
        }
    }
}

impl DnssecCapture {
    /// The verdict for `name`/`rtype`, when it was validated.
    pub fn status(&self, name: &str, rtype: Rtype) -> Option<&DnssecName> {
        let name = super::normalize_name(name);
        self.names
            .iter()
            .find(|n| n.name == name && n.rtype == rtype)
    }
}
