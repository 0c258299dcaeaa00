//! Checks on the vendor inventory itself (VEN-001, INV-001) and the vendor coverage table.

use super::finding::Draft;
use super::risk::Level;
use crate::evidence::{Finding, SourceStat, VendorCoverage, VendorRow};
use crate::inventory::{Baa, Inventory};
use chrono::NaiveDate;
use std::collections::BTreeMap;

pub fn assess(
    inv: &Inventory,
    // Last day of the period, in the organization's time zone.
    period_end: NaiveDate,
    label: &str,
    volume: &BTreeMap<String, (u64, u64)>,
    unknown_sources: Vec<SourceStat>,
) -> (VendorCoverage, Vec<Finding>) {
    let mut findings = Vec::new();
    let mut rows = Vec::new();
    for v in &inv.vendors {
        let mut status = Vec::new();
        let src = format!(
            "{} line {}",
            inv.source.as_deref().unwrap_or("inventory"),
            v.line
        );
        if v.phi == Some(true) && !v.ended_by(period_end) {
            let problem = match (v.baa, v.baa_expires) {
                (Some(Baa::Signed), Some(exp)) if exp < period_end => Some(format!(
                    "BAA expired on {exp}, before the last day of the period ({period_end})"
                )),
                (Some(Baa::Signed), _) => None,
                // A recorded decision (e.g. the organization's own relay): not a missing BAA.
                (Some(Baa::NotRequired), _) => None,
                (Some(Baa::None), _) => Some("no BAA recorded (baa = none)".to_string()),
                (None, _) => Some("BAA status not recorded".to_string()),
            };
            if let Some(problem) = problem {
                let sent = volume.get(&v.vendor).map_or(0, |x| x.0);
                // When the inventory itself records the lapse, the organization knew of it from
                // the next day: the notification clock is counted from there, not from this
                // report.
                let discovered = match (v.baa, v.baa_expires) {
                    (Some(Baa::Signed), Some(exp)) if exp < period_end => {
                        let from = exp + chrono::Days::new(1);
                        let limit = from + chrono::Days::new(60);
                        format!(
                            "the inventory records the agreement's end ({exp}), so the lapse was known from {from} at the latest, and 60 days from then end on {limit}"
                        )
                    }
                    _ => {
                        "no later than the first assessment that reported this finding".to_string()
                    }
                };
                let breach = if sent > 0 {
                    format!(
                        " {sent} messages from it this period mean PHI has already been disclosed without a business associate agreement: that disclosure is presumed a breach unless a risk assessment under 45 CFR 164.402 (definition of breach, four factors) shows a low probability that the PHI was compromised. Make and document that assessment. A breach counts as discovered on the first day it is known or would have been known with reasonable diligence (§164.404(a)(2)): {discovered}. If it does not show a low probability, notify the individuals without unreasonable delay and within 60 days of discovery (§164.404(b)), notify HHS (§164.408) and, for more than 500 residents of a state or jurisdiction, the media (§164.406)."
                    )
                } else {
                    String::new()
                };
                let action = if matches!(v.baa, Some(Baa::Signed)) {
                    "Renew the business associate agreement"
                } else {
                    "Execute a business associate agreement"
                };
                let mut d = Draft::new("VEN-001", v.vendor.clone())
                    .owner(&v.owner)
                    .remediation(format!(
                        "{action} with {} before it receives further PHI, or stop sending PHI through it.{breach}",
                        v.vendor
                    ))
                    .title(format!("{}: handles PHI without a current BAA", v.vendor))
                    .evidence(format!("{src}: phi = yes; {problem}"))
                    .evidence(format!(
                        "service: {}",
                        if v.service.is_empty() {
                            "-"
                        } else {
                            &v.service
                        }
                    ));
                if let Some(dn) = v.domains.first() {
                    d = d.domain(dn);
                }
                d = d.vendor(&v.vendor);
                if let Some((msgs, _)) = volume.get(&v.vendor) {
                    d = d.evidence(format!(
                        "{msgs} messages attributed to this vendor in the period's reports"
                    ));
                }
                findings.push(d.build(label));
                status.push("VEN-001".to_string());
            }
        }
        let (messages, pass) = volume.get(&v.vendor).copied().unwrap_or((0, 0));
        let expired =
            matches!((v.baa, v.baa_expires), (Some(Baa::Signed), Some(exp)) if exp < period_end);
        rows.push(VendorRow {
            vendor: v.vendor.clone(),
            service: v.service.clone(),
            domains: v.domains.clone(),
            phi: v.phi,
            baa: if expired {
                "expired".to_string()
            } else {
                v.baa
                    .map(|b| b.label().to_string())
                    .unwrap_or_else(|| "unknown".into())
            },
            baa_expires: v.baa_expires.map(|d| d.to_string()),
            owner: v.owner.clone(),
            ended: v.ended_by(period_end),
            ended_on: v.ended_on.map(|d| d.to_string()),
            messages,
            dmarc_pass_rate: super::report_checks::rate(pass, messages),
            status,
        });
    }

    let incomplete: Vec<String> = inv
        .vendors
        .iter()
        .flat_map(|v| {
            v.incomplete
                .iter()
                .map(move |m| format!("line {} ({}): {m}", v.line, v.vendor))
        })
        .collect();
    let rejected: Vec<String> = inv.rejected.iter().map(|r| r.to_string()).collect();
    if !rejected.is_empty() || !incomplete.is_empty() || !inv.unknown_columns.is_empty() {
        let n_incomplete = inv
            .vendors
            .iter()
            .filter(|v| !v.incomplete.is_empty())
            .count();
        let phi_rejected: Vec<String> = inv
            .rejected
            .iter()
            .filter(|r| r.phi == Some(true))
            .map(|r| {
                format!(
                    "{} (line {})",
                    r.vendor.as_deref().unwrap_or("unnamed vendor"),
                    r.line
                )
            })
            .collect();
        let mut d = Draft::new("INV-001", "vendor-inventory").title(format!(
            "Vendor inventory: {}, {}",
            crate::text::count(rejected.len(), "row rejected", "rows rejected"),
            crate::text::count(n_incomplete, "row incomplete", "rows incomplete")
        ));
        if !phi_rejected.is_empty() {
            d = d
                .evidence_all(phi_rejected.iter().map(|r| {
                    format!("{r}: phi = yes, read from the rejected row (its other cells are not used)")
                }))
                .title(format!(
                    "PHI vendor missing from the assessment: {} rejected from the inventory",
                    phi_rejected.join(", ")
                ))
                .phi(Some(true))
                .exposure(
                    Level::High,
                    "a rejected row is left out of every check: its mail and its contract go unassessed every period until the row is fixed",
                );
        }
        let d = d
            .evidence_all(rejected.iter().map(|r| format!("rejected {r}")))
            .evidence_all(incomplete.iter().cloned())
            .evidence_all(
                inv.unknown_columns
                    .iter()
                    .map(|c| format!("unknown column `{c}` ignored")),
            );
        findings.push(d.build(label));
    }

    let coverage = VendorCoverage {
        source: inv.source.clone(),
        vendors: rows,
        rejected_rows: rejected,
        unknown_sources: unknown_sources.into_iter().take(25).collect(),
    };
    (coverage, findings)
}
