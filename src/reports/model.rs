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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
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

impl PolicyPublished {
    /// DKIM alignment mode in force: RFC 7489 §6.3 makes relaxed the default.
    pub fn dkim_mode(&self) -> Alignment {
        self.adkim.unwrap_or_default()
    }

    /// SPF alignment mode in force (relaxed unless published strict).
    pub fn spf_mode(&self) -> Alignment {
        self.aspf.unwrap_or_default()
    }
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
        // Runs for several fields of every row: match without allocating.
        let t = s.trim();
        const KNOWN: &[(&str, AuthResult)] = &[
            ("pass", AuthResult::Pass),
            ("fail", AuthResult::Fail),
            ("hardfail", AuthResult::Fail),
            ("softfail", AuthResult::Softfail),
            ("neutral", AuthResult::Neutral),
            ("none", AuthResult::None),
            ("", AuthResult::None),
            ("temperror", AuthResult::Temperror),
            ("permerror", AuthResult::Permerror),
            ("policy", AuthResult::Policy),
        ];
        KNOWN
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(t))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| AuthResult::Other(t.to_ascii_lowercase()))
    }

    pub fn is_pass(&self) -> bool {
        matches!(self, AuthResult::Pass)
    }

    /// The result as RFC 8601 and RFC 9990 write it (`pass`, `permerror`, …).
    pub fn word(&self) -> &str {
        match self {
            AuthResult::Pass => "pass",
            AuthResult::Fail => "fail",
            AuthResult::Softfail => "softfail",
            AuthResult::Neutral => "neutral",
            AuthResult::None => "none",
            AuthResult::Temperror => "temperror",
            AuthResult::Permerror => "permerror",
            AuthResult::Policy => "policy",
            AuthResult::Other(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DkimAuth {
    pub domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    pub result: AuthResult,
    /// RFC 9990 `human_result`: free text, kept for the evidence but not aggregated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human_result: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SpfAuth {
    pub domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub result: AuthResult,
    /// RFC 9990 `human_result`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human_result: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OverrideReason {
    /// `forwarded`, `sampled_out`, `trusted_forwarder`, `mailing_list`, `local_policy`,
    /// `policy_test_mode`, `other`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// One `<record>` row: a source IP and the messages it sent with one set of results.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

    /// Whether the reporter gave a verdict at all. The schema allows only `pass` or `fail` in
    /// `policy_evaluated`, so `none` on both means the element was absent or empty: such a row
    /// cannot disagree with our own evaluation.
    pub fn reporter_gave_verdict(&self) -> bool {
        !(self.dkim_evaluated == AuthResult::None && self.spf_evaluated == AuthResult::None)
    }

    /// The row with everything that makes it unique to one report removed (count, free-text
    /// `human_result`, `envelope_to`), so identical results from many reports merge into one.
    pub fn merge_key(&self) -> Row {
        let mut k = self.clone();
        k.count = 0;
        k.envelope_to = None;
        for d in &mut k.dkim {
            d.human_result = None;
        }
        for s in &mut k.spf {
            s.human_result = None;
        }
        k
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
    /// The rows, when the report was parsed on its own ([`super::store::ingest_bytes`]).
    /// Folder ingestion folds them into [`ReportSet::aggregate`] and leaves this empty, so
    /// memory does not grow with the number of reports.
    pub rows: Vec<Row>,
    /// What was repaired to read it (invalid UTF-8, trimmed numbers, …), for the evidence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repairs: Vec<String>,
    /// SHA-256 of the XML when the report is a whole file (then it is also the file's
    /// evidence hash); empty for a report inside a container, whose copies are recognized by
    /// their content-derived (reporter, id) key instead ([`AggregateReport::key`]).
    pub xml_sha256: String,
    /// `org_name` was taken from the file name (the XML has neither an org_name nor an
    /// email): the name is then no part of the dedupe key, so two copies of the report under
    /// different names are still one report.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub org_from_file_name: bool,
    /// Usable `<record>` rows, counted while parsing (kept when `rows` is folded away).
    #[serde(default)]
    pub records: usize,
    /// Sum of the rows' `<count>`.
    #[serde(default)]
    pub message_count: u64,
    /// `<record>`s that could not be used (each named in `repairs`): a damaged copy of a
    /// report gives way to an intact copy of the same report.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skipped_records: usize,
    /// RFC 9990 `<generator>`: the software that wrote the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<String>,
    /// Local names of the RFC 9990 `<extensions>` children (their content is not interpreted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl AggregateReport {
    /// Messages in the report: the parsed total, or the rows' sum for a hand-built report.
    pub fn messages(&self) -> u64 {
        self.message_count
            .max(self.rows.iter().map(|r| r.count).sum())
    }

    /// Record rows in the report, whether or not they were folded away.
    pub fn record_count(&self) -> usize {
        self.records.max(self.rows.len())
    }

    /// The dedupe key: reporter and report id, both from the report's content, so the same
    /// report under any file name or container has the same key. A report that names no
    /// reporter at all (no org_name, no email) is told apart by its date range and policy
    /// domain instead, so two such reporters that both number their reports `1` stay two.
    pub fn key(&self) -> (String, String) {
        let reporter = if self.org_from_file_name {
            format!(
                "(unnamed) {} {} {}",
                self.begin.timestamp(),
                self.end.timestamp(),
                self.policy.domain
            )
        } else {
            self.org_name.to_ascii_lowercase()
        };
        (reporter, self.report_id.clone())
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
    /// Reports that count toward the period ([`crate::period::Period::counts_report`]),
    /// deduplicated, sorted by (begin, org, id).
    pub reports: Vec<AggregateReport>,
    pub rejected: Vec<Rejected>,
    pub duplicates: Vec<Duplicate>,
    /// Parsed fine but counted in another period.
    pub out_of_period: usize,
    /// Of those, the reports whose range shares time with the period but whose midpoint lies
    /// in the neighbouring one: the PDF says how many, so nobody wonders where they went.
    #[serde(default)]
    pub straddling_elsewhere: usize,
    /// Every file read, in path order.
    pub files: Vec<InputFile>,
    /// The accepted reports' rows, merged across reports, and a per-day series.
    #[serde(default)]
    pub aggregate: super::aggregate::Aggregate,
    /// Reports counted toward an earlier period than this one, at most [`MAX_EARLIER`]: the
    /// run lists those whose period was published without them as late.
    #[serde(default)]
    pub earlier: Vec<EarlierReport>,
    /// Earlier-period reports beyond [`MAX_EARLIER`], counted but not kept.
    #[serde(default)]
    pub earlier_dropped: usize,
    /// SMTP TLS reports (RFC 8460) found among the inputs: receivers send them to the same
    /// mailboxes, and they are the evidence of transport security DMARC reports lack.
    #[serde(default)]
    pub tls: super::tls_model::TlsReports,
}

/// Earlier-period reports one ingestion keeps: a late report is a day or two of one period,
/// so thousands means a flood, not lateness.
pub const MAX_EARLIER: usize = 10_000;

/// Failing rows kept per earlier-period report, the most messages first.
pub const EARLIER_ROWS: usize = 20;

/// A report counted toward an earlier period than the one ingested, with what a late listing
/// needs: who sent it, its messages, and its rows that failed DMARC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlierReport {
    pub origin: Origin,
    pub org_name: String,
    pub report_id: String,
    pub domain: String,
    pub begin: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub messages: u64,
    /// Messages the reporter evaluated as failing DMARC.
    pub dmarc_fail: u64,
    /// Rows that failed DMARC, the most messages first, at most [`EARLIER_ROWS`].
    pub failing: Vec<Row>,
}

impl EarlierReport {
    pub fn of(report: &AggregateReport) -> EarlierReport {
        let mut failing: Vec<&Row> = report
            .rows
            .iter()
            .filter(|r| r.reporter_gave_verdict() && !r.reporter_dmarc_pass())
            .collect();
        let dmarc_fail = failing.iter().fold(0u64, |n, r| n.saturating_add(r.count));
        failing.sort_by_key(|r| std::cmp::Reverse(r.count));
        EarlierReport {
            origin: report.origin.clone(),
            org_name: report.org_name.clone(),
            report_id: report.report_id.clone(),
            domain: report.policy.domain.clone(),
            begin: report.begin,
            end: report.end,
            messages: report.messages(),
            dmarc_fail,
            failing: failing.into_iter().take(EARLIER_ROWS).cloned().collect(),
        }
    }
}

impl ReportSet {
    /// Every (signing domain, selector) pair seen in a DKIM result of the accepted reports,
    /// from the merged rows (the reports themselves no longer hold rows).
    pub fn dkim_signatures(&self) -> impl Iterator<Item = (&str, &str)> {
        self.aggregate.rows.iter().flat_map(|m| {
            m.row
                .dkim
                .iter()
                .filter_map(|d| Some((d.domain.as_str(), d.selector.as_deref()?)))
        })
    }
}
