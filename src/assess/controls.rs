//! The HIPAA control mapping: each citation with the open findings that give evidence about it.

use super::hipaa::CITATIONS;
use crate::assess::risk::Level;
use crate::evidence::{Control, Finding, RiskCounts, Status};

pub fn map(findings: &[Finding]) -> Vec<Control> {
    CITATIONS
        .iter()
        .map(|c| {
            let open: Vec<&Finding> = findings
                .iter()
                .filter(|f| f.status != Status::Resolved && f.hipaa.iter().any(|h| h == c.citation))
                .collect();
            // A citation no check of this tool gives evidence for is not assessed here: "no
            // open findings" would claim a test that never ran.
            let checks: Vec<String> = super::catalog::CATALOG
                .iter()
                .filter(|k| k.hipaa.contains(&c.citation))
                .map(|k| k.id.to_string())
                .collect();
            let mut causes: Vec<String> = open
                .iter()
                .filter_map(|f| f.cause.clone().or_else(|| Some(f.id.clone())))
                .collect();
            causes.sort();
            causes.dedup();
            Control {
                citation: c.citation.to_string(),
                title: c.title.to_string(),
                kind: c.kind.to_string(),
                status: if checks.is_empty() {
                    "not assessed".into()
                } else if open.iter().any(|f| f.is_open()) {
                    "findings".into()
                } else if open.is_empty() {
                    "no open findings".into()
                } else {
                    "accepted risk".into()
                },
                highest_risk: open.iter().map(|f| f.risk).max(),
                findings: open.iter().map(|f| f.id.clone()).collect(),
                causes,
                checks,
            }
        })
        .collect()
}

/// Open findings by risk level, with resolved, accepted and overdue counted beside them.
/// Accepted findings are not open: management decided to carry them until they expire.
pub fn count(findings: &[Finding]) -> RiskCounts {
    let mut c = RiskCounts::default();
    for f in findings {
        if f.status == Status::Resolved {
            c.resolved += 1;
            continue;
        }
        if !f.is_open() {
            c.accepted += 1;
            continue;
        }
        if f.overdue_days.is_some() {
            c.overdue += 1;
        }
        match f.risk {
            Level::VeryHigh => c.very_high += 1,
            Level::High => c.high += 1,
            Level::Moderate => c.moderate += 1,
            Level::Low => c.low += 1,
            Level::VeryLow => c.very_low += 1,
        }
    }
    c
}
