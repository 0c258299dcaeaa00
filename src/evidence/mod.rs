//! `evidence.json`: the one document the report templates read, and the record an auditor
//! can re-verify years later. Rendering never computes findings; everything shown is here.

use crate::assess::risk::{Level, Severity};
use crate::reports::model::InputFile;
use crate::snapshot::Outcome;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub mod history;
pub mod report_detail;
pub mod tls;
pub mod transport;

pub const SCHEMA: &str = "mailproof.evidence/1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    New,
    Persisting,
    Resolved,
}

/// One rated finding. `id` is stable across periods (`check` + `subject`), which is how the
/// next month tells new from persisting from resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    pub check: String,
    pub subject: String,
    /// The configured domain the finding belongs to, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    pub title: String,
    pub severity: Severity,
    pub likelihood: Level,
    pub impact: Level,
    pub risk: Level,
    pub hipaa: Vec<String>,
    /// Technical authority (RFC sections etc.) from the check catalog.
    pub authority: String,
    pub evidence: Vec<String>,
    pub remediation: String,
    pub status: Status,
    /// Period in which this finding was first reported (`YYYY-MM`).
    pub first_seen: String,
    /// Likelihood once the remediation is in place (SP 800-30: record residual beside inherent
    /// risk), and the risk that leaves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residual_likelihood: Option<Level>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residual_risk: Option<Level>,
    /// Who answers for it: a vendor's `owner` in the inventory, else the domain's `owner` in
    /// the config, else `[governance] security_officer`. `None` when nobody is named, which the
    /// report says plainly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// When it must be fixed: the end of the first-seen period plus `policy.due_days` for its
    /// risk, never later than the date given in an earlier period, or a risk decision's `due`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<NaiveDate>,
    /// How `due` was set, in one line an auditor can check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_basis: Option<String>,
    /// Days a risk decision's `due` lies beyond the date the due-date policy gives: an
    /// extension management approved, shown beside the date so it is never read as the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_extended_days: Option<i64>,
    /// Days past `due` at the end of the period, for an open finding; `None` when not overdue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overdue_days: Option<i64>,
    /// The risk decision that matches this finding, if any.
    #[serde(default)]
    pub treatment: Option<Treatment>,
    /// Where the finding stands in the plan of action: `open`, `overdue`, `accepted` or
    /// `resolved`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treatment_status: Option<TreatmentStatus>,
    /// The threat the weakness exposes: source (SP 800-30 Table D-2) and event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threat: Option<String>,
    /// Why the likelihood and the impact are what they are, by the rating rule (one line each).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub likelihood_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact_reason: Option<String>,
    /// The id of the root cause this finding belongs to (`causes[]`); its own id when it stands
    /// alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// What the check saw that the rating rule weighs; the rule's outcome is what is kept.
    #[serde(skip)]
    pub basis: crate::assess::basis::Basis,
}

/// A finding's place in the plan of action (poam.csv `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TreatmentStatus {
    Open,
    Overdue,
    Accepted,
    Resolved,
}

impl TreatmentStatus {
    pub fn word(self) -> &'static str {
        match self {
            TreatmentStatus::Open => "open",
            TreatmentStatus::Overdue => "overdue",
            TreatmentStatus::Accepted => "accepted",
            TreatmentStatus::Resolved => "resolved",
        }
    }
}

impl Finding {
    /// Counts toward the open totals and the exit-code threshold: not resolved, and not under
    /// an unexpired acceptance.
    pub fn is_open(&self) -> bool {
        self.status != Status::Resolved && self.treatment_status != Some(TreatmentStatus::Accepted)
    }
}

/// A root cause: the findings one change fixes, with that one remediation. The summary counts
/// causes; each member finding keeps its own rating and points back with `cause`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cause {
    /// The root finding's id, or the check ids joined with `+` when it spans subjects.
    pub id: String,
    pub title: String,
    /// The highest risk among its open members (all members when every one is accepted), and
    /// that member's likelihood and impact.
    pub risk: Level,
    pub likelihood: Level,
    pub impact: Level,
    pub remediation: String,
    /// Member finding ids, root first.
    pub members: Vec<String>,
    pub checks: Vec<String>,
    /// The domains, keys, vendors or services it affects.
    pub subjects: Vec<String>,
    pub owners: Vec<String>,
    /// The earliest due date among its open members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<NaiveDate>,
    /// `open`, `overdue` (a member is past due) or `accepted` (every member is).
    pub status: String,
    /// Every member is new this period.
    #[serde(default)]
    pub new: bool,
    pub hipaa: Vec<String>,
}

/// The risk decision applied to a finding, as the decisions file states it (its keys appear
/// in the JSON as they do in the file), plus whether an acceptance has run out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Treatment {
    #[serde(flatten)]
    pub entry: crate::decisions::RiskDecision,
    /// `expires` fell before the end of the period: the finding is open again.
    pub expired: bool,
}

/// What the decisions file held this period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DecisionsSummary {
    /// Path, as recorded among the inputs.
    pub source: String,
    pub sha256: String,
    pub entries: usize,
    /// Decisions that matched a finding of this period.
    pub applied: usize,
    /// Decisions matching no finding of this period: probably about a finding already fixed,
    /// or a mistyped id. Listed so someone removes or corrects them.
    pub stale: Vec<DecisionRef>,
    /// Findings whose acceptance ran out, with the date it expired.
    pub expired: Vec<ExpiredAcceptance>,
    /// Decisions approved after this run's date: not applied (re-assessing an earlier period
    /// must not use a later decision; in a live run, a date in the future is a typo to fix).
    #[serde(default)]
    pub pending: Vec<DecisionRef>,
}

/// A decision named in a list (stale, not yet in force): enough to find it in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRef {
    pub finding: String,
    pub decision: crate::decisions::Decision,
    pub approved_by: String,
    pub approved_on: NaiveDate,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpiredAcceptance {
    pub finding: String,
    pub expired_on: NaiveDate,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
    /// The Public Suffix List build that told third parties' organizational domains apart
    /// (grouping sources, report destinations, vendor matching): the list changes over the
    /// years a report is kept. Absent in evidence of earlier versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_suffix_list: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodInfo {
    /// `YYYY-MM`.
    pub label: String,
    pub timezone: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRef {
    pub path: String,
    pub taken_at: DateTime<Utc>,
    pub sha256: String,
    /// How it was chosen (`captured live`, or the offline rule).
    pub selection: String,
    pub nameservers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviousRef {
    pub period: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// SHA-256 (hex) of the previous period's `evidence.json`, of the bytes this run read: the
    /// link `verify --chain` checks, so a later edit to an earlier period shows. Absent when
    /// there was no previous evidence, and in files written before the chain existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotRef>,
}

/// A raw DNS record or lookup outcome shown in the appendix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawLookup {
    pub name: String,
    pub rtype: String,
    pub outcome: Outcome,
    pub answers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cname_chain: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub purpose: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SpfPosture {
    pub record: Option<String>,
    /// `found`, `permerror` (over the 10-lookup limit), `missing`, `multiple`, `incomplete`
    /// (a lookup failed).
    pub status: String,
    pub lookups: u32,
    pub void_lookups: u32,
    /// The `all` term with qualifier (`-all`, `~all`, `?all`, `+all`), or `redirect=…`.
    pub all: Option<String>,
    /// Include/redirect tree, one line per node, indented by depth, with each node's count.
    pub tree: Vec<String>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DmarcPosture {
    pub record: Option<String>,
    /// `found`, `missing`, `multiple`, `invalid`, `incomplete`.
    pub status: String,
    /// Where the record was found (`_dmarc.<domain>` or the organizational domain's).
    pub location: Option<String>,
    pub p: Option<String>,
    pub sp: Option<String>,
    pub np: Option<String>,
    pub pct: Option<u32>,
    pub t: Option<String>,
    pub adkim: Option<String>,
    pub aspf: Option<String>,
    pub rua: Vec<String>,
    pub ruf: Vec<String>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    /// Each `mailto:` report destination, verified (DMARC-009/010): whether it is in another
    /// organization, whether that organization authorized our reports, and its MX.
    #[serde(default)]
    pub destinations: Vec<ReportDestination>,
    /// The Organizational Domain the RFC 9989 tree walk settled on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_domain: Option<String>,
}

/// One `rua`/`ruf` destination of a DMARC record and what DNS says about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ReportDestination {
    /// `rua` (aggregate) or `ruf` (failure reports, which can carry message content).
    pub kind: String,
    pub uri: String,
    pub host: String,
    /// In a different Organizational Domain than the record's domain.
    pub external: bool,
    /// `not needed` (same organization), `authorized`, `not authorized`, `incomplete` (lookup
    /// failed), `not captured`.
    pub authorization: String,
    /// The `_report._dmarc` name asked, and the record found there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_record: Option<String>,
    /// MX of the destination host (`10 mx.example.`), empty when it has none.
    pub mx: Vec<String>,
    /// How the MX lookup ended (`answer`, `nodata`, `nxdomain`, … or `not captured`).
    pub mx_outcome: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DkimPosture {
    pub selector: String,
    /// `valid`, `weak` (RSA below `min_dkim_bits`), `unusable` (RSA below 1024 bits), `revoked`,
    /// `testing`, `missing`, `invalid`, `incomplete`.
    pub status: String,
    pub key_type: Option<String>,
    pub key_bits: Option<u32>,
    /// SHA-256 of the decoded public key, for rotation tracking.
    pub fingerprint: Option<String>,
    pub record: Option<String>,
    pub cname_chain: Vec<String>,
    /// Where the selector came from: `config`, `inventory`, `reports`.
    pub sources: Vec<String>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    /// `h=`: hash algorithms the key is limited to (empty means any).
    #[serde(default)]
    pub hash_algorithms: Vec<String>,
    /// `t=y`: the domain is testing DKIM; verifiers treat its signatures as unsigned.
    #[serde(default)]
    pub testing: bool,
    /// `s=`: service types (`email`, `*`); empty means the default `*`.
    #[serde(default)]
    pub services: Vec<String>,
}

/// The DNSSEC validation of one domain's names, for `check` and the PDF.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DnssecPosture {
    pub anchor: String,
    pub names: Vec<crate::snapshot::dnssec::DnssecName>,
}

/// A domain's posture at a glance, and the `check --format json` contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DomainPosture {
    pub domain: String,
    pub role: String,
    pub spf: SpfPosture,
    pub dmarc: DmarcPosture,
    pub dkim: Vec<DkimPosture>,
    pub mx: Vec<String>,
    pub mta_sts: Option<String>,
    pub tls_rpt: Option<String>,
    pub bimi: Option<String>,
    /// One word for the executive summary: `enforced`, `partial`, `monitoring`, `unprotected`,
    /// `incomplete`.
    pub grade: String,
    pub raw: Vec<RawLookup>,
    /// Octets of the SPF record (RFC 7208 §3.4 advises at most 450; SPF-007).
    #[serde(default)]
    pub spf_size_octets: usize,
    /// The domain's DNSSEC status, from mailproof's own validation of its MX RRset:
    /// `secure`, `insecure`, `bogus` or `indeterminate`. Snapshots taken before validation
    /// existed give the resolver's AD flag instead, labelled `AD flag: validated`,
    /// `AD flag: partial` or `AD flag: not validated`; absent when nothing was answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnssec: Option<String>,
    /// Every name validated for this domain (the domain, its MX hosts, their TLSA names),
    /// with the trust anchor used. Absent when no validation ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnssec_validation: Option<DnssecPosture>,
    /// Transport security: the MX hosts as probed, MTA-STS and TLS-RPT. Absent in evidence of
    /// earlier versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<transport::TransportPosture>,
}

impl DomainPosture {
    /// The DMARC policy that applies to this domain's own mail, and whether it came from a
    /// parent: a record found up the RFC 9989 tree walk applies through `sp` (else `p`), so
    /// `p=reject; sp=none` at the organizational domain leaves this one unprotected.
    pub fn effective_policy(&self) -> (String, bool) {
        let m = &self.dmarc;
        let own = format!("_dmarc.{}", self.domain);
        let inherited = m.location.as_deref().is_some_and(|l| l != own);
        let p = if inherited {
            m.sp.clone().or(m.p.clone())
        } else {
            m.p.clone()
        };
        (p.unwrap_or_else(|| "none".into()), inherited)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PassRates {
    pub messages: u64,
    pub dmarc_pass: u64,
    pub spf_aligned: u64,
    pub dkim_aligned: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceStat {
    pub source_ip: String,
    pub vendor: Option<String>,
    pub header_from: String,
    pub messages: u64,
    pub dmarc_pass: u64,
    pub reporters: Vec<String>,
    /// How an unattributed source was classified, and why: spoofing (RPT-001), a service
    /// sending as us (VEN-006), or forwarded mail (no finding), so every listed source says
    /// what became of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainReportStat {
    pub domain: String,
    pub rates: PassRates,
    pub dispositions: Vec<(String, u64)>,
    pub reporters: Vec<(String, u64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VendorReportStat {
    pub vendor: String,
    pub rates: PassRates,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportSummary {
    pub file: String,
    pub member: Option<String>,
    pub org_name: String,
    pub report_id: String,
    pub domain: String,
    pub begin: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub records: usize,
    pub messages: u64,
    pub repairs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ReportStats {
    pub files: usize,
    pub accepted: usize,
    pub rejected: Vec<crate::reports::model::Rejected>,
    pub duplicates: usize,
    pub out_of_period: usize,
    /// Reports outside the period that share time with it (counted in the neighbouring one).
    #[serde(default)]
    pub straddling_elsewhere: usize,
    pub messages: u64,
    pub rates: PassRates,
    pub per_domain: Vec<DomainReportStat>,
    pub per_vendor: Vec<VendorReportStat>,
    /// Failing sources with the most messages, unattributed first.
    pub top_failing: Vec<SourceStat>,
    pub reports: Vec<ReportSummary>,
    /// How reports that cross the period boundary were counted.
    pub counting_rule: String,
    /// mailproof's own view: pass rates recomputed from auth_results, disagreements with the
    /// reporters, per-domain daily series and reasons, per-vendor detail, unknown-source groups.
    #[serde(default)]
    pub detail: report_detail::ReportDetail,
    /// SMTP TLS reports (RFC 8460) of the period: sessions to our MX hosts and how they
    /// failed. Kept apart from the DMARC counts above, which it leaves unchanged.
    #[serde(default)]
    pub tls: tls::TlsStats,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct VendorRow {
    pub vendor: String,
    pub service: String,
    pub domains: Vec<String>,
    pub phi: Option<bool>,
    /// `signed`, `expired` (signed, but expired before the period's last day), `none`,
    /// `not-required` or `unknown`.
    pub baa: String,
    pub baa_expires: Option<String>,
    pub owner: String,
    /// The contract ended (inventory `status = ended`), and when.
    #[serde(default)]
    pub ended: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_on: Option<String>,
    /// Messages attributed to this vendor in the period's reports.
    pub messages: u64,
    pub dmarc_pass_rate: Option<f64>,
    /// The checks with open findings against this vendor; empty when nothing was raised.
    pub status: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct VendorCoverage {
    pub source: Option<String>,
    pub vendors: Vec<VendorRow>,
    pub rejected_rows: Vec<String>,
    /// Sources seen in reports but matching no vendor, by volume.
    pub unknown_sources: Vec<SourceStat>,
    /// How many of `rejected_rows` are single cells whose vendor stays in the assessment
    /// with that value unknown (the rest are rows not used, or header gaps).
    #[serde(default)]
    pub unreadable_cells: usize,
}

/// HIPAA Security Rule citation with the findings that give evidence about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Control {
    pub citation: String,
    pub title: String,
    /// `Required`, `Addressable`, `Standard`, or `Privacy Rule`.
    pub kind: String,
    /// `findings` (open findings point at it), `no findings`.
    pub status: String,
    pub highest_risk: Option<Level>,
    pub findings: Vec<String>,
    /// The causes those findings belong to.
    #[serde(default)]
    pub causes: Vec<String>,
    /// The checks of this tool that give evidence for the citation; none means "not assessed".
    #[serde(default)]
    pub checks: Vec<String>,
    /// Each cause in `causes` with the checks of its findings that cite this control: a cause
    /// is named by its lead finding, which need not be the one that cites it.
    #[serde(default)]
    pub via: Vec<ControlCause>,
}

/// A cause behind a control, and which of its findings' checks give the evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ControlCause {
    pub cause: String,
    pub checks: Vec<String>,
}

/// One difference between the previous and the current snapshot, with what it means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub domain: String,
    /// `spf`, `dmarc`, `dkim`, `mx`, `mta-sts`, `tls-rpt`, `bimi`, `dnssec`, `starttls`.
    pub area: String,
    pub name: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// `weakened`, `strengthened`, `changed`, `added`, `removed`, `rotated`, `revoked`,
    /// `unchanged` (a key past its rotation window) or `unverified` (a lookup failed).
    pub direction: String,
    pub meaning: String,
    /// What the change does to protection, by one rule
    /// ([`crate::snapshot::diff::rule`]): text marks, JSON and PDF all show this.
    #[serde(default)]
    pub effect: Effect,
    /// The CHECKS.md id that applies to the change, if any.
    #[serde(default)]
    pub check: Option<String>,
    /// The risk of the finding the change raised (the run's rating rule), when it raised one.
    #[serde(default)]
    pub risk: Option<Level>,
}

/// What a change between two snapshots does to the organization's protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Forged mail has an easier way in, a record that protected is gone, or an unlisted
    /// party became an authorized sender.
    Weakened,
    Strengthened,
    #[default]
    Neutral,
    /// A lookup failed in either snapshot: whether anything changed cannot be told.
    Unverified,
}

impl Effect {
    pub fn word(self) -> &'static str {
        match self {
            Effect::Weakened => "weakened",
            Effect::Strengthened => "strengthened",
            Effect::Neutral => "neutral",
            Effect::Unverified => "unverified",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RiskCounts {
    pub very_high: usize,
    pub high: usize,
    pub moderate: usize,
    pub low: usize,
    pub very_low: usize,
    pub resolved: usize,
    /// Findings under an unexpired acceptance (not in the counts above).
    #[serde(default)]
    pub accepted: usize,
    /// Open findings past their due date (included in the counts above).
    #[serde(default)]
    pub overdue: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub schema: String,
    pub organization: String,
    pub period: PeriodInfo,
    pub generated_at: DateTime<Utc>,
    pub tool: ToolInfo,
    /// Configured domains with their role, in config order.
    pub scope: Vec<(String, String)>,
    pub snapshot: Option<SnapshotRef>,
    pub previous: Option<PreviousRef>,
    pub inputs: Vec<InputFile>,
    pub domains: Vec<DomainPosture>,
    pub reports: ReportStats,
    pub vendors: VendorCoverage,
    pub findings: Vec<Finding>,
    /// Root causes (see [`Cause`]); empty in evidence written before causes existed.
    #[serde(default)]
    pub causes: Vec<Cause>,
    /// Open causes by risk: what the summary counts.
    #[serde(default)]
    pub cause_counts: RiskCounts,
    pub risk_counts: RiskCounts,
    pub controls: Vec<Control>,
    pub changes: Vec<Change>,
    /// Policy thresholds in force, so the report states what "too weak" meant.
    pub policy: crate::config::PolicyConfig,
    /// Retain until (creation + 6 years), per 45 CFR 164.316(b)(2)(i).
    pub retain_until: String,
    /// NIST SP 800-30 Table I-2 as used for the ratings: rows are likelihood, columns impact,
    /// both from very low to very high.
    #[serde(default)]
    pub risk_matrix: Vec<Vec<Level>>,
    /// The names on the sign-off page.
    #[serde(default)]
    pub governance: crate::config::Governance,
    /// Existing controls the organization declares (`[[control]]` in the config), shown as
    /// current security measures and weighed by the rating rule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub existing_controls: Vec<crate::config::ControlConfig>,
    /// The risk decisions file, when the config names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_decisions: Option<DecisionsSummary>,
    /// Earlier periods and snapshots: trends, the DMARC policy timeline, time to remediate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<history::History>,
    /// The config file's folder, relative to this period's output folder (`../../samples`).
    /// Every relative path recorded here (inputs, snapshots) is relative to that folder, so
    /// `verify` finds the inputs from the output folder alone, even after the whole tree has
    /// moved. Absolute when the two share no root. Absent in files written before `verify`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_root: Option<String>,
    /// Every snapshot the run read (this period's, the previous period's, and the stored ones
    /// loaded for history and key-age tracking), oldest first, each with its SHA-256: the
    /// findings rest on all of them, so an auditor must be able to check all of them.
    #[serde(default)]
    pub snapshots_used: Vec<SnapshotRef>,
    /// What the run could gather, so a later run never replaces this output with less
    /// (`run --force` aside), and cron sees exit 4 when something is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completeness: Option<Completeness>,
    /// Checks of the catalog this version does not run: absent findings of these say nothing.
    #[serde(default)]
    pub checks_not_run: Vec<String>,
    /// Assessed before the period was final (`run --allow-partial`): reports for its last days
    /// may still arrive, so its figures are a floor, and the final run replaces it.
    #[serde(default)]
    pub partial: bool,
    /// A partial period's cut-off: the run's time, after which nothing it counts arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut_off: Option<DateTime<Utc>>,
    /// When the period is final: its end plus `policy.report_grace_days`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_at: Option<DateTime<Utc>>,
    /// Reports for an earlier period that arrived after that period was published: counted in
    /// neither assessment, so they are listed here, once, by the next run.
    #[serde(default)]
    pub late_reports: Vec<LateReport>,
}

/// A report that arrived after its period's assessment was published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LateReport {
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    pub reporter: String,
    pub report_id: String,
    pub domain: String,
    /// The period the report counts toward (`YYYY-MM`).
    pub period: String,
    pub begin: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub messages: u64,
    /// Messages the reporter saw fail DMARC.
    pub dmarc_fail: u64,
    /// What its failing mail would have added to that period's findings, one line per check
    /// (`RPT-001: …`).
    #[serde(default)]
    pub would_raise: Vec<String>,
}

/// How complete a period's evidence is. Each list names what is missing, so the same words
/// reach stderr, evidence.json and the PDF.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Completeness {
    /// Lookups of the organization's records in the snapshot assessed.
    pub lookups: usize,
    /// Those that failed, as `name TYPE: outcome`.
    pub failed_lookups: Vec<String>,
    /// Inventory rows rejected, as `file line N: reason`.
    pub rejected_inventory_rows: Vec<String>,
    /// Reports counted in the period.
    pub accepted_reports: usize,
    /// Transport probes that could not reach their server (NET-001), as
    /// `host address:port: outcome: reason`.
    pub failed_probes: Vec<String>,
    /// Names whose DNSSEC status could not be determined (the validator could not fetch a
    /// link of the chain), as `name TYPE: reason`.
    pub failed_dnssec: Vec<String>,
}

impl Completeness {
    /// Whether anything is missing (exit 4).
    pub fn is_incomplete(&self) -> bool {
        !self.failed_lookups.is_empty()
            || !self.rejected_inventory_rows.is_empty()
            || !self.failed_probes.is_empty()
            || !self.failed_dnssec.is_empty()
    }

    /// What this evidence lacks that `published` had, in words; empty when it is at least as
    /// complete on every count.
    pub fn losses_against(&self, published: &Completeness) -> Vec<String> {
        let mut out = Vec::new();
        if self.failed_lookups.len() > published.failed_lookups.len() {
            out.push(format!(
                "{} failed (the published output: {})",
                crate::text::count(self.failed_lookups.len(), "DNS lookup", "DNS lookups"),
                published.failed_lookups.len()
            ));
        }
        if self.rejected_inventory_rows.len() > published.rejected_inventory_rows.len() {
            out.push(format!(
                "{} rejected (the published output: {})",
                crate::text::count(
                    self.rejected_inventory_rows.len(),
                    "inventory row",
                    "inventory rows"
                ),
                published.rejected_inventory_rows.len()
            ));
        }
        if self.failed_probes.len() > published.failed_probes.len() {
            out.push(format!(
                "{} could not reach their server (the published output: {})",
                crate::text::count(
                    self.failed_probes.len(),
                    "transport probe",
                    "transport probes"
                ),
                published.failed_probes.len()
            ));
        }
        if self.failed_dnssec.len() > published.failed_dnssec.len() {
            out.push(format!(
                "{} could not be validated (the published output: {})",
                crate::text::count(self.failed_dnssec.len(), "DNSSEC name", "DNSSEC names"),
                published.failed_dnssec.len()
            ));
        }
        if self.accepted_reports < published.accepted_reports {
            out.push(format!(
                "{} counted (the published output: {})",
                crate::text::count(self.accepted_reports, "report", "reports"),
                published.accepted_reports
            ));
        }
        out
    }
}

impl Evidence {
    /// This evidence's completeness: as recorded, or, for evidence written before it was
    /// recorded, as its findings and counts show it (DNS-001 is one failed lookup each).
    pub fn completeness(&self) -> Completeness {
        if let Some(c) = &self.completeness {
            return c.clone();
        }
        Completeness {
            lookups: 0,
            failed_lookups: self
                .findings
                .iter()
                .filter(|f| f.check == "DNS-001" && f.status != Status::Resolved)
                .map(|f| f.subject.clone())
                .collect(),
            rejected_inventory_rows: self.vendors.rejected_rows.clone(),
            accepted_reports: self.reports.accepted,
            failed_probes: Vec::new(),
            failed_dnssec: Vec::new(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    /// A minimal evidence document for tests that only care about findings.
    pub fn evidence_with(findings: Vec<Finding>, label: &str) -> Evidence {
        let t = DateTime::<Utc>::UNIX_EPOCH;
        Evidence {
            schema: SCHEMA.into(),
            organization: "Test".into(),
            period: PeriodInfo {
                label: label.into(),
                timezone: "UTC".into(),
                start: t,
                end: t,
            },
            generated_at: t,
            tool: ToolInfo {
                name: "mailproof".into(),
                version: "0".into(),
                public_suffix_list: None,
            },
            scope: vec![],
            snapshot: None,
            previous: None,
            inputs: vec![],
            domains: vec![],
            reports: ReportStats::default(),
            vendors: VendorCoverage::default(),
            findings,
            risk_counts: RiskCounts::default(),
            controls: vec![],
            changes: vec![],
            policy: crate::config::PolicyConfig::default(),
            retain_until: String::new(),
            risk_matrix: vec![],
            governance: Default::default(),
            existing_controls: Vec::new(),
            causes: Vec::new(),
            cause_counts: Default::default(),
            risk_decisions: None,
            history: None,
            input_root: None,
            snapshots_used: vec![],
            completeness: None,
            checks_not_run: vec![],
            partial: false,
            cut_off: None,
            final_at: None,
            late_reports: vec![],
        }
    }
}
