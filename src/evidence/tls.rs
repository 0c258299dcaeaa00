//! SMTP TLS report statistics (`reports.tls` in `evidence.json`): how the period's sessions
//! to each policy domain and MX host fared, as `assess::tls_stats` computes them. They are the
//! transmission-security record (§164.312(e)(1)) behind TLSRPT-002, so the evidence keeps the
//! counts a finding quotes, not only the finding.

use crate::reports::tls_model::{PolicyType, ResultType};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Addresses listed per domain or MX host, the most failed sessions first; the rest are
/// counted in the `*_ip_count` fields.
pub const MAX_LISTED_IPS: usize = 20;

/// The period's TLS reports, summed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsStats {
    /// Reports counted toward the period.
    pub accepted: usize,
    pub duplicates: usize,
    pub out_of_period: usize,
    pub successful: u64,
    pub failed: u64,
    /// Per policy domain, in name order.
    pub domains: Vec<TlsDomainStats>,
    /// Every report counted, in (begin, reporter, id) order.
    pub reports: Vec<TlsReportSummary>,
}

/// One report, as the evidence lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TlsReportSummary {
    pub file: String,
    #[serde(default)]
    pub member: Option<String>,
    pub org_name: String,
    pub report_id: String,
    pub begin: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub successful: u64,
    pub failed: u64,
    #[serde(default)]
    pub repairs: Vec<String>,
}

/// Sessions to one policy domain across the period's reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsDomainStats {
    pub policy_domain: String,
    /// The policies reporters applied (`sts`, `tlsa`, `no-policy-found`).
    pub policy_types: Vec<PolicyType>,
    /// `mx-host` names or patterns the policies covered.
    pub mx_patterns: Vec<String>,
    /// From the reports' summaries.
    pub successful: u64,
    pub failed: u64,
    /// From the failure details, the most sessions first.
    pub result_types: Vec<ResultCount>,
    /// Per receiving MX host named in the failure details. Reporters give successful sessions
    /// per policy, not per host, so a host carries failed sessions only.
    pub mx_hosts: Vec<TlsMxStats>,
    pub sending_ips: Vec<IpCount>,
    /// Distinct sending addresses, listed or not.
    pub sending_ip_count: usize,
    pub receiving_ips: Vec<IpCount>,
    pub receiving_ip_count: usize,
    /// Who reported on the domain.
    pub reporters: Vec<ReporterCount>,
}

/// Failed sessions to one MX host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsMxStats {
    /// The `receiving-mx-hostname`, or `(not named)` when the details give none.
    pub mx_host: String,
    pub failed: u64,
    pub result_types: Vec<ResultCount>,
    pub sending_ips: Vec<IpCount>,
    pub sending_ip_count: usize,
    pub receiving_ips: Vec<IpCount>,
    pub receiving_ip_count: usize,
}

/// Failed sessions of one result type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultCount {
    pub result_type: ResultType,
    pub sessions: u64,
}

/// Failed sessions involving one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpCount {
    pub ip: IpAddr,
    pub sessions: u64,
}

/// One reporter's share of a domain's sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReporterCount {
    pub org_name: String,
    pub reports: usize,
    pub successful: u64,
    pub failed: u64,
    /// Report ids, at most 10, for the evidence to quote.
    pub report_ids: Vec<String>,
}
