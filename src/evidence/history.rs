//! The history part of `evidence.json`: monthly trend points, mean time to remediate and the
//! DMARC policy timeline, as `assess::history` builds them and the templates show them.

use crate::assess::risk::Level;
use crate::evidence::RiskCounts;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Everything the history section of the report shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct History {
    /// How many earlier periods were looked for (`policy.history_months`).
    pub window_months: u32,
    /// One point per month of the window that has data or was looked for, oldest first, ending
    /// with this period.
    pub months: Vec<TrendPoint>,
    /// Mean time to remediate, per inherent risk level, over the window.
    pub mttr: Vec<RemediationTime>,
    /// How MTTR is measured, in words for the Method section.
    pub mttr_rule: String,
    /// The DMARC policy of each configured domain at each stored snapshot.
    pub dmarc_timeline: Vec<DomainTimeline>,
}

/// Counts by risk level, very high first in the JSON as in the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LevelCounts {
    pub very_high: usize,
    pub high: usize,
    pub moderate: usize,
    pub low: usize,
    pub very_low: usize,
}

impl From<&RiskCounts> for LevelCounts {
    fn from(c: &RiskCounts) -> Self {
        LevelCounts {
            very_high: c.very_high,
            high: c.high,
            moderate: c.moderate,
            low: c.low,
            very_low: c.very_low,
        }
    }
}

/// One month of the trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TrendPoint {
    /// `YYYY-MM`.
    pub period: String,
    /// `this period`, `read`, `missing` (no evidence.json in the output folder) or
    /// `unreadable` (there, but not a mailproof evidence document).
    pub state: String,
    /// Why it is missing or unreadable, or which file it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// SHA-256 of the evidence.json the point was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Open findings by risk level (accepted ones excluded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<LevelCounts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_total: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overdue: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<usize>,
    /// Messages in the period's accepted reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<u64>,
    /// Distinct aggregate reports counted toward the period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reports: Option<usize>,
    /// Per configured domain: messages and those that passed DMARC, as the receivers
    /// evaluated them.
    #[serde(default)]
    pub domains: Vec<DomainRate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainRate {
    pub domain: String,
    pub messages: u64,
    pub dmarc_pass: u64,
    /// The first and last day (`YYYY-MM-DD`) with reported mail for the domain. A span shorter
    /// than the month means the rate covers only part of it (reports began or stopped, as
    /// when `rua` is removed), and is not comparable with a whole month's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_day: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_day: Option<String>,
}

/// Mean time to remediate findings of one inherent risk level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemediationTime {
    pub risk: Level,
    /// Findings resolved in the window.
    pub resolved: usize,
    pub mean_days: f64,
    pub max_days: i64,
    /// Still open at the end of this period, for comparison.
    pub open: usize,
}

/// The DMARC policy of one domain over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainTimeline {
    pub domain: String,
    pub entries: Vec<PolicyState>,
}

/// What a domain's DMARC record said at one capture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyState {
    pub taken_at: DateTime<Utc>,
    /// File name of the snapshot.
    pub snapshot: String,
    /// `found`, `missing`, `multiple`, `invalid`, `incomplete`, or `not captured` (the domain
    /// was not in scope when the snapshot was taken).
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    pub p: Option<String>,
    pub sp: Option<String>,
    pub np: Option<String>,
    pub pct: Option<u32>,
    pub t: Option<String>,
    /// The policy receivers apply to the domain itself, in one word: `reject`, `quarantine`,
    /// `none`, or `no policy`; `unknown` when the lookup failed.
    pub effective: String,
    /// What changed since the previous capture (`p: none → quarantine`, `record added`);
    /// empty when nothing did, or for the first capture.
    pub changes: Vec<String>,
    /// The change moved enforcement up (`strengthened`), down (`weakened`) or neither.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
}
