//! Report statistics beyond the reporters' own verdicts (`reports.detail` in `evidence.json`):
//! mailproof's recomputed alignment, override reasons, daily series and grouped unknown
//! sources, as `assess::report_checks` computes them and the templates show them.

use super::{PassRates, SourceStat};
use serde::{Deserialize, Serialize};

/// Report statistics that go beyond the reporters' own verdicts. Kept apart from
/// [`super::ReportStats`] so the evidence model can take it as one appended field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReportDetail {
    /// Pass rates recomputed by mailproof from `auth_results` and the published alignment
    /// modes (see `reports::align`), over every accepted message.
    pub recomputed: PassRates,
    /// Messages whose reporter's DMARC verdict (`policy_evaluated`) differs from ours.
    pub disagreements: u64,
    /// Of those, messages the reporter passed and we would fail.
    pub reporter_lenient: u64,
    /// Rows in the accepted reports, and the distinct tuples they merged into.
    pub source_rows: u64,
    pub distinct_rows: usize,
    pub per_domain: Vec<DomainDetail>,
    pub per_vendor: Vec<VendorDetail>,
    /// Messages from sources no vendor claims, grouped by network (/24 or /48).
    pub unattributed_networks: Vec<SourceGroup>,
    /// The same, grouped by reverse-DNS base domain, for sources whose PTR name is known.
    pub unattributed_ptr: Vec<SourceGroup>,
    /// How messages were placed on days in `per_domain[].daily`.
    pub daily_rule: String,
}

/// Per configured domain (or `(other) name` for a From outside the scope).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DomainDetail {
    pub domain: String,
    pub recomputed: PassRates,
    pub disagreements: u64,
    /// Override reasons (`forwarded`, `mailing_list`, …) with their messages.
    pub reasons: Vec<(String, u64)>,
    /// Sources with failing messages, most failures first; vendor named when attributed.
    pub top_failing: Vec<SourceStat>,
    pub daily: Vec<DayPoint>,
}

/// Per inventory vendor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VendorDetail {
    pub vendor: String,
    pub recomputed: PassRates,
    pub dispositions: Vec<(String, u64)>,
    pub reasons: Vec<(String, u64)>,
    pub top_failing: Vec<SourceStat>,
}

/// One day of one domain's mail, for charts (reporters' verdicts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DayPoint {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub messages: u64,
    pub dmarc_pass: u64,
    pub dkim_aligned: u64,
    pub spf_aligned: u64,
    pub quarantine: u64,
    pub reject: u64,
}

/// Unattributed sources sharing a network or a reverse-DNS base domain.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceGroup {
    pub group: String,
    pub sources: usize,
    pub messages: u64,
    pub dmarc_pass: u64,
    pub header_from: Vec<String>,
}
