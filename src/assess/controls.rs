//! The HIPAA control mapping: each citation with the open findings that give evidence about it.

use super::hipaa::CITATIONS;
use crate::assess::risk::Level;
use crate::evidence::{Control, ControlCause, Finding, RiskCounts, Status};
use std::collections::{BTreeMap, BTreeSet};

/// `probed`: whether the snapshot holds STARTTLS probes. Without them the transmission
/// controls are judged from DNS alone (MTA-STS, TLS-RPT records), so "no open findings" there
/// would claim a TLS test that never ran: they are "not assessed" instead.
pub fn map(findings: &[Finding], probed: bool) -> Vec<Control> {
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
            let mut via: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for f in &open {
                let cause = f.cause.clone().unwrap_or_else(|| f.id.clone());
                via.entry(cause).or_default().insert(f.check.clone());
            }
            let causes: Vec<String> = via.keys().cloned().collect();
            Control {
                citation: c.citation.to_string(),
                title: c.title.to_string(),
                kind: c.kind.to_string(),
                status: if checks.is_empty() {
                    "not assessed".into()
                } else if open.iter().any(|f| f.is_open()) {
                    "findings".into()
                } else if open.is_empty()
                    && !probed
                    && matches!(c.citation, "164.312(e)(1)" | "164.312(e)(2)(ii)")
                {
                    "not assessed".into()
                } else if open.is_empty() {
                    "no open findings".into()
                } else {
                    "accepted risk".into()
                },
                highest_risk: open.iter().map(|f| f.risk).max(),
                findings: open.iter().map(|f| f.id.clone()).collect(),
                causes,
                checks,
                via: via
                    .into_iter()
                    .map(|(cause, checks)| ControlCause {
                        cause,
                        checks: checks.into_iter().collect(),
                    })
                    .collect(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::finding::Draft;

    #[test]
    fn a_control_names_the_checks_that_cite_it_under_each_cause() {
        let mut f: Vec<Finding> = vec![
            Draft::new("SPF-003", "a.test").domain("a.test"),
            Draft::new("RPT-002", "Relay")
                .domain("a.test")
                .vendor("Relay"),
        ]
        .into_iter()
        .map(|d| d.build("2026-10"))
        .collect();
        for x in &mut f {
            x.cause = Some("SPF-003:a.test".into());
        }
        let controls = map(&f, true);
        let integrity = controls
            .iter()
            .find(|c| c.citation == "164.312(c)(1)")
            .expect("integrity");
        // SPF-003 does not cite integrity: the cause is there through RPT-002 alone.
        assert_eq!(integrity.causes, ["SPF-003:a.test"]);
        assert_eq!(integrity.via.len(), 1);
        assert_eq!(integrity.via[0].checks, ["RPT-002"]);
        let transmission = controls
            .iter()
            .find(|c| c.citation == "164.312(e)(1)")
            .expect("transmission");
        assert_eq!(transmission.via[0].checks, ["RPT-002", "SPF-003"]);
    }

    #[test]
    fn transmission_without_probes_is_not_assessed_never_clean() {
        let status = |probed: bool, citation: &str| {
            map(&[], probed)
                .into_iter()
                .find(|c| c.citation == citation)
                .map(|c| c.status)
                .unwrap_or_default()
        };
        assert_eq!(status(false, "164.312(e)(2)(ii)"), "not assessed");
        assert_eq!(status(false, "164.312(e)(1)"), "not assessed");
        assert_eq!(status(true, "164.312(e)(2)(ii)"), "no open findings");
        assert_eq!(status(false, "164.312(b)"), "no open findings");
    }
}
