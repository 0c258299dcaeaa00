//! Parsed DMARC aggregate reports (RFC 7489 Appendix C, RFC 9990, and the old draft schema),
//! normalized into one shape.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Where a report came from: the file, and the member or MIME part inside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hash, PartialOrd, Ord)]
pub struct Origin {
    pub file: String,
    /// e.g. `zip:google.com!x!1!2.xml` or `mime:part 2 (application/gzip)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.member {
            Some(m) => write!(f, "{} [{}]", self.file, m),
            None => f.write_str(&self.file),
        }
    }
}

/// Alignment mode published in the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Alignment {
    #[default]
    Relaxed,
    Strict,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PolicyPublished {
    pub domain: String,
    pub adkim: Option<Alignment>,
    pub aspf: Option<Alignment>,
    /// `none`, `quarantine`, `reject` as published (lower-cased).
    pub p: Option<String>,
    pub sp: Option<String>,
    pub np: Option<String>,
    pub pct: Option<u32>,
    pub fo: Option<String>,
    /// RFC 9990 `testing` (`y`/`n`).
    pub testing: Option<String>,
    /// RFC 9990 `discovery_method` (`psl`/`treewalk`).
    pub discovery_method: Option<String>,
}

/// Result of an authentication mechanism, normalized to lower case. Unknown words are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum AuthResult {
    Pass,
    Fail,
    Softfail,
    Neutral,
    None,
    Temperror,
    Permerror,
    Policy,
    #[serde(untagged)]
    Other(String),
}

impl AuthResult {
    /// Accepts capitalized values (`Pass`) and `hardfail` (some reporters' synonym for `fail`).
    pub fn parse(s: &str) -> AuthResult {
        match s.trim().to_ascii_lowercase().as_str() {
            "pass" => AuthResult::Pass,
            "fail" | "hardfail" => AuthResult::Fail,
            "softfail" => AuthResult::Softfail,
            "neutral" => AuthResult::Neutral,
            "none" | "" => AuthResult::None,
            "temperror" => AuthResult::Temperror,
            "permerror" => AuthResult::Permerror,
            "policy" => AuthResult::Policy,
            other => AuthResult::Other(other.to_string()),
        }
    }

    pub fn is_pass(&self) -> bool {
        matches!(self, AuthResult::Pass)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DkimAuth {
    pub domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    pub result: AuthResult,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpfAuth {
    pub domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub result: AuthResult,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideReason {
    /// `forwarded`, `sampled_out`, `trusted_forwarder`, `mailing_list`, `local_policy`,
    /// `policy_test_mode`, `other`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// One `<record>` row: a source IP and the messages it sent with one set of results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub source_ip: IpAddr,
    pub count: u64,
    /// `none`, `quarantine`, `reject` (RFC 9990 also allows `pass`).
    pub disposition: String,
    /// The reporter's own DMARC verdicts (`policy_evaluated`).
    pub dkim_evaluated: AuthResult,
    pub spf_evaluated: AuthResult,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<OverrideReason>,
    pub header_from: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope_to: Option<String>,
    #[serde(default)]
    pub dkim: Vec<DkimAuth>,
    #[serde(default)]
    pub spf: Vec<SpfAuth>,
}

impl Row {
    /// DMARC pass as the reporter evaluated it: either mechanism passed aligned.
    pub fn reporter_dmarc_pass(&self) -> bool {
        self.dkim_evaluated.is_pass() || self.spf_evaluated.is_pass()
    }
}

/// One aggregate report after parsing and normalization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregateReport {
    pub origin: Origin,
    /// `1.0`, `2.0`, or `draft` for the pre-RFC schema.
    pub schema: String,
    pub org_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub report_id: String,
    pub begin: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub policy: PolicyPublished,
    pub rows: Vec<Row>,
    /// What was repaired to read it (invalid UTF-8, trimmed numbers, …), for the evidence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repairs: Vec<String>,
    /// SHA-256 of the decoded XML; detects the same report under two file names.
    pub xml_sha256: String,
}

impl AggregateReport {
    pub fn messages(&self) -> u64 {
        self.rows.iter().map(|r| r.count).sum()
    }

    /// The dedupe key: reporter and report id.
    pub fn key(&self) -> (String, String) {
        (self.org_name.to_ascii_lowercase(), self.report_id.clone())
    }
}

/// A file (or a member of it) that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejected {
    pub file: String,
    pub reason: String,
}

/// A report seen a second time (same reporter and id, or same content).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Duplicate {
    pub origin: Origin,
    pub org_name: String,
    pub report_id: String,
    /// The report that was kept.
    pub kept: Origin,
}

/// An input file as evidence: what it was and its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputFile {
    pub path: String,
    /// `xml`, `gzip`, `zip`, `eml`, `csv`, `toml`, `snapshot`, `unknown`, …
    pub kind: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Everything ingestion learned from the report inputs for a period.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReportSet {
    /// Reports that overlap the period, deduplicated, sorted by (begin, org, id).
    pub reports: Vec<AggregateReport>,
    pub rejected: Vec<Rejected>,
    pub duplicates: Vec<Duplicate>,
    /// Parsed fine but entirely outside the period.
    pub out_of_period: usize,
    /// Every file read, in path order.
    pub files: Vec<InputFile>,
}
