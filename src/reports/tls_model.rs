//! SMTP TLS reports (RFC 8460) after parsing: what sending MTAs saw when they delivered mail
//! to our MX hosts. DMARC reports say whether mail in our name was authentic; these say whether
//! mail *to* us crossed the network under TLS, which is the transmission-security evidence
//! (§164.312(e)(1)) DMARC reports cannot give.

use super::model::{Duplicate, Origin};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// The policy a sender applied when it connected (RFC 8460 §4.4 `policy-type`). It decides
/// what a failure meant: under `sts` or `tlsa` in enforce mode the mail waited or bounced;
/// with `no-policy-found` the sender was free to fall back to plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PolicyType {
    /// DANE (RFC 7672): TLSA records at `_25._tcp.<mx>`.
    #[serde(rename = "tlsa")]
    Tlsa,
    /// MTA-STS (RFC 8461).
    #[serde(rename = "sts")]
    Sts,
    /// Neither was found: opportunistic TLS only.
    #[serde(rename = "no-policy-found")]
    NoPolicyFound,
}

impl PolicyType {
    /// The word RFC 8460 uses, as reports and our outputs write it.
    pub fn word(self) -> &'static str {
        match self {
            PolicyType::Tlsa => "tlsa",
            PolicyType::Sts => "sts",
            PolicyType::NoPolicyFound => "no-policy-found",
        }
    }

    /// Reads a report's `policy-type`, ignoring case and surrounding space (receivers differ
    /// only in that); anything else is not a policy type RFC 8460 defines.
    pub fn parse(s: &str) -> Option<PolicyType> {
        [PolicyType::Tlsa, PolicyType::Sts, PolicyType::NoPolicyFound]
            .into_iter()
            .find(|p| p.word().eq_ignore_ascii_case(s.trim()))
    }
}

impl std::fmt::Display for PolicyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

/// Why a session failed (RFC 8460 §4.3). Kept as a type so the findings can tell negotiation
/// failures (an attacker or a broken MX can cause them) from policy-fetch trouble; words a
/// newer reporter invents are kept as they are rather than refused, since the count they carry
/// is still a failed session.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResultType {
    StarttlsNotSupported,
    CertificateHostMismatch,
    CertificateExpired,
    CertificateNotTrusted,
    ValidationFailure,
    TlsaInvalid,
    DnssecInvalid,
    DaneRequired,
    StsPolicyFetchError,
    StsPolicyInvalid,
    StsWebpkiInvalid,
    /// A word RFC 8460 does not define (lower-cased).
    Other(String),
}

const RESULT_WORDS: &[(&str, ResultType)] = &[
    ("starttls-not-supported", ResultType::StarttlsNotSupported),
    (
        "certificate-host-mismatch",
        ResultType::CertificateHostMismatch,
    ),
    ("certificate-expired", ResultType::CertificateExpired),
    ("certificate-not-trusted", ResultType::CertificateNotTrusted),
    ("validation-failure", ResultType::ValidationFailure),
    ("tlsa-invalid", ResultType::TlsaInvalid),
    ("dnssec-invalid", ResultType::DnssecInvalid),
    ("dane-required", ResultType::DaneRequired),
    ("sts-policy-fetch-error", ResultType::StsPolicyFetchError),
    ("sts-policy-invalid", ResultType::StsPolicyInvalid),
    ("sts-webpki-invalid", ResultType::StsWebpkiInvalid),
];

impl ResultType {
    /// Reads a `result-type`, ignoring case, surrounding space and `_` for `-`.
    pub fn parse(s: &str) -> ResultType {
        let word = s.trim().to_ascii_lowercase().replace('_', "-");
        RESULT_WORDS
            .iter()
            .find(|(w, _)| *w == word)
            .map(|(_, r)| r.clone())
            .unwrap_or(ResultType::Other(word))
    }

    /// The word RFC 8460 uses.
    pub fn word(&self) -> &str {
        match self {
            ResultType::Other(w) => w,
            known => RESULT_WORDS
                .iter()
                .find(|(_, r)| r == known)
                .map_or("", |(w, _)| w),
        }
    }

    /// A failure of the TLS negotiation itself (§4.3.1), as opposed to a policy that could
    /// not be fetched or validated: what a downgrade attacker or a broken certificate causes.
    pub fn is_negotiation(&self) -> bool {
        matches!(
            self,
            ResultType::StarttlsNotSupported
                | ResultType::CertificateHostMismatch
                | ResultType::CertificateExpired
                | ResultType::CertificateNotTrusted
                | ResultType::ValidationFailure
        )
    }
}

impl std::fmt::Display for ResultType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

impl Serialize for ResultType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.word())
    }
}

impl<'de> Deserialize<'de> for ResultType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(ResultType::parse(&s))
    }
}

/// One `failure-details` entry: sessions that failed the same way between the same hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureDetail {
    pub result_type: ResultType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sending_mta_ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_mx_hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_mx_helo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_ip: Option<IpAddr>,
    /// `failed-session-count`.
    pub failed_sessions: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_information: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason_code: Option<String>,
}

/// One `policies[]` entry: the sessions a reporter made to one policy domain under one policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsPolicy {
    pub policy_type: PolicyType,
    /// `policy-string`: the MTA-STS policy lines or TLSA records the sender used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_string: Vec<String>,
    /// The recipient domain (lower-cased, no trailing dot).
    pub policy_domain: String,
    /// `mx-host`: the MX names or patterns the policy covers.
    #[serde(default)]
    pub mx_hosts: Vec<String>,
    /// `summary.total-successful-session-count`.
    pub successful_sessions: u64,
    /// `summary.total-failure-session-count`.
    pub failed_sessions: u64,
    /// The first [`super::tlsrpt::MAX_FAILURE_DETAILS`] failure details.
    #[serde(default)]
    pub failures: Vec<FailureDetail>,
    /// Failure details past the cap: counted, not kept.
    #[serde(default)]
    pub failures_dropped: usize,
}

impl TlsPolicy {
    /// Sessions in the failure details, which may differ from `failed_sessions` (a reporter
    /// may list one session under two reasons).
    pub fn detailed_failures(&self) -> u64 {
        self.failures
            .iter()
            .fold(0u64, |n, f| n.saturating_add(f.failed_sessions))
    }
}

/// One SMTP TLS report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsReport {
    pub origin: Origin,
    /// `organization-name`: the reporter.
    pub org_name: String,
    pub report_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_info: Option<String>,
    pub begin: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The first [`super::tlsrpt::MAX_POLICIES`] policies.
    pub policies: Vec<TlsPolicy>,
    /// Policies past the cap: counted, not kept.
    #[serde(default)]
    pub policies_dropped: usize,
    /// What was read leniently (a count given as a string, a single `mx-host`), for the
    /// evidence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repairs: Vec<String>,
}

impl TlsReport {
    /// The dedupe key: reporter (case-insensitive) and report id, both from the content, so
    /// the same report saved twice or mailed again is one report.
    pub fn key(&self) -> (String, String) {
        (self.org_name.to_ascii_lowercase(), self.report_id.clone())
    }

    /// Failure details kept across the report's policies: what it costs the run's budget.
    pub fn detail_count(&self) -> usize {
        self.policies.iter().map(|p| p.failures.len()).sum()
    }
}

/// The TLS reports of one ingestion, kept apart from the DMARC reports so every DMARC count
/// and total means what it meant before TLS reports were read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsReports {
    /// Reports counted toward the period by the same midpoint rule as DMARC reports,
    /// deduplicated, sorted by (begin, org, id).
    pub reports: Vec<TlsReport>,
    /// Second copies of a (reporter, report id) already read.
    pub duplicates: Vec<Duplicate>,
    /// Parsed, but counted in another period.
    pub out_of_period: usize,
}
