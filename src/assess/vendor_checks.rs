//! Checks on the vendor inventory itself (VEN-001, INV-001) and the vendor coverage table.

use super::finding::Draft;
use super::history::{Earlier, Found};
use super::risk::Level;
use crate::evidence::{Evidence, Finding, SourceStat, Status, VendorCoverage, VendorRow};
use crate::inventory::{Baa, Inventory};
use chrono::{Datelike, NaiveDate};
use std::collections::BTreeMap;

/// What dates the discovery of PHI sent without a BAA (§164.404(a)(2)): the inventory's own
/// record of a lapse, or the assessment that first reported the finding. The 60-day clock an
/// auditor checks runs from that day, and a reader must see whether it has already run out.
pub struct Discovery<'a> {
    /// The report's date, where the organization is.
    pub today: NaiveDate,
    pub tz: chrono_tz::Tz,
    pub previous: Option<&'a Evidence>,
    pub earlier: &'a [Earlier],
}

impl Discovery<'_> {
    /// "… end on D" or, once D is before the report's date, "… ended on D, before this
    /// report's date (T)".
    fn deadline(&self, limit: NaiveDate) -> String {
        if limit < self.today {
            format!(
                "60 days from then ended on {limit}, before this report's date ({}): if notification is required it is already late",
                self.today
            )
        } else {
            format!("60 days from then end on {limit}")
        }
    }

    /// The 60 days counted from a discovery known only within a range of days.
    fn range_deadline(&self, from: NaiveDate, to: NaiveDate) -> String {
        if from == to {
            return self.deadline(to);
        }
        if to < self.today {
            format!(
                "the 60 days ended between {from} and {to}, both before this report's date ({}): if notification is required it is already late",
                self.today
            )
        } else if from < self.today {
            format!(
                "the 60 days end between {from} and {to}; by this report's date ({}) they may already have run out: count from the earlier day",
                self.today
            )
        } else {
            format!("the 60 days end between {from} and {to}: count from the earlier day")
        }
    }

    /// The discovery sentence for PHI sent to `vendor` without a BAA when the inventory does
    /// not date the lapse. The disclosure is known from the first assessment that reported the
    /// finding together with mail from the vendor. A month with the gap and reports covering
    /// the vendor's domains, but no mail from it, disclosed nothing; a month whose reports
    /// covered none of its domains (no `rua` yet) shows nothing either way, so then the
    /// inventory's own word (the vendor carries PHI) dates the knowledge from the assessment
    /// that first reported the gap. Earlier periods' evidence is read, oldest first, from the
    /// month the finding was first reported.
    fn first_reported(&self, vendor: &str, domains: &[String]) -> String {
        let id = format!("VEN-001:{vendor}");
        let first = self
            .previous
            .and_then(|p| {
                p.findings
                    .iter()
                    .find(|f| f.id == id && f.status != Status::Resolved)
            })
            .and_then(|f| f.first_seen.parse::<crate::period::Month>().ok());
        let today = || {
            format!(
                "this report, dated {}, is the first to report mail from it, so the disclosure was discovered no later than that day, and {}",
                self.today,
                self.deadline(self.today + chrono::Days::new(60))
            )
        };
        let Some(first) = first else {
            return today();
        };
        let mut months: Vec<&Earlier> = self.earlier.iter().filter(|e| e.month >= first).collect();
        months.sort_by_key(|e| e.month);
        let generated = |e: &Evidence| e.generated_at.with_timezone(&self.tz).date_naive();
        // When the organization already knew the BAA was missing (the first assessment that
        // reported the gap), reasonable diligence knew of the disclosure as soon as mail
        // began: the clock may have started before the assessment that first saw the mail.
        let knew = months.iter().find_map(|e| match &e.found {
            Found::Read { evidence, .. } if e.month == first => Some(generated(evidence)),
            _ => None,
        });
        let covers = |e: &Evidence| {
            e.reports.per_domain.iter().any(|d| {
                d.rates.messages > 0 && (domains.is_empty() || domains.contains(&d.domain))
            })
        };
        let mut gap = None;
        // Months before the first mail whose reports covered none of the vendor's domains.
        let mut unobserved: Vec<crate::period::Month> = Vec::new();
        for e in months {
            match &e.found {
                Found::Read { evidence, .. } => {
                    let mailed = evidence.vendors.vendors.iter().any(|r| {
                        r.vendor == vendor
                            && r.messages > 0
                            && r.status.iter().any(|c| c == "VEN-001")
                    });
                    if !mailed {
                        if !covers(evidence) {
                            unobserved.push(e.month);
                        }
                        continue;
                    }
                    let day = generated(evidence);
                    let month = e.month.last_day().format("%B %Y");
                    if e.month == first {
                        return format!(
                            "the assessment for {month}, generated on {day}, first reported mail from it without a BAA, so the disclosure was discovered no later than that day, and {}",
                            self.deadline(day + chrono::Days::new(60))
                        );
                    }
                    let reported = format!(
                        "the missing BAA was reported from {}{}",
                        first.last_day().format("%B %Y"),
                        knew.map(|k| format!(" (that assessment was generated on {k})"))
                            .unwrap_or_default()
                    );
                    if !unobserved.is_empty() {
                        let silent: Vec<String> = unobserved
                            .iter()
                            .map(|m| m.last_day().format("%B %Y").to_string())
                            .collect();
                        let known = knew.unwrap_or(day).min(day);
                        return format!(
                            "{reported}, and the inventory records that it carries PHI. Its mail first shows in the reports for {month}, but the reports for {} covered none of its domains (no aggregate reports were requested or received), so its mail may have flowed before: with reasonable diligence the disclosure was known no later than {known}, possibly earlier, and {}",
                            silent.join(", "),
                            self.deadline(known + chrono::Days::new(60))
                        );
                    }
                    let month_start = e.month.last_day().with_day(1).unwrap_or(day);
                    let earliest = knew.map_or(month_start, |k| k.max(month_start)).min(day);
                    return format!(
                        "{reported}, and mail from it began during {month}, which the assessment generated on {day} first reported (the reports of the months before covered its domains and showed none): with reasonable diligence the disclosure was known no earlier than {earliest} and no later than {day}, so {}",
                        self.range_deadline(
                            earliest + chrono::Days::new(60),
                            day + chrono::Days::new(60)
                        )
                    );
                }
                _ => {
                    gap.get_or_insert(e.month);
                }
            }
        }
        match gap {
            Some(m) => format!(
                "it was discovered no later than the day an earlier assessment first reported mail from it; the evidence for {} is not in the output folder, so this report cannot date the 60 days",
                m.last_day().format("%B %Y")
            ),
            None => today(),
        }
    }
}

pub fn assess(
    inv: &Inventory,
    // Last day of the period, in the organization's time zone.
    period_end: NaiveDate,
    label: &str,
    // The configured domains: a vendor domain outside them matches no report.
    scope: &[String],
    volume: &BTreeMap<String, (u64, u64)>,
    unknown_sources: Vec<SourceStat>,
    discovery: &Discovery<'_>,
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
        // An unreadable `phi` cell is treated as PHI until the inventory says otherwise: a
        // typo must not stand in for "no PHI" and drop the vendor's BAA check.
        let phi_unread = v.unknown("phi");
        if (v.phi == Some(true) || phi_unread) && !v.ended_by(period_end) {
            let problem = match (v.baa, v.baa_expires) {
                // A cell that could not be read never passes for a current agreement.
                (Some(Baa::Signed), _) if v.unknown("baa_expires") => Some(
                    "BAA recorded as signed, but its expiry date could not be read, or two rows for the vendor disagree on it (see the inventory finding): whether it is current cannot be confirmed".to_string(),
                ),
                (None, _) if v.unknown("baa") => Some(
                    "the BAA cell could not be read, or two rows for the vendor disagree on it (see the inventory finding): no current agreement can be confirmed".to_string(),
                ),
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
                            "the inventory records the agreement's end ({exp}), so the lapse was known from {from} at the latest, and {}",
                            discovery.deadline(limit)
                        )
                    }
                    _ => discovery.first_reported(&v.vendor, &v.domains),
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
                    .evidence(if phi_unread {
                        format!(
                            "{src}: the phi cell could not be read, so the vendor is treated as carrying PHI until the inventory says otherwise; {problem}"
                        )
                    } else {
                        format!("{src}: phi = yes; {problem}")
                    })
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
            baa: if v.unknown("baa") {
                "unreadable".to_string()
            } else if v.unknown("baa_expires") && v.baa == Some(Baa::Signed) {
                "signed, expiry unreadable".to_string()
            } else if expired {
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
    // A header without the BAA columns is listed with the rejected rows: it is a gap in the
    // evidence (exit 4), and the reader meets it where the inventory's problems are.
    let rejected: Vec<String> = inv
        .missing_columns
        .iter()
        .map(|c| {
            format!(
                "line 1 (header): no `{c}` column (nor one of its aliases): every vendor's `{c}` is unknown; add the column"
            )
        })
        .chain(inv.rejected.iter().map(|r| r.to_string()))
        .collect();
    // A vendor domain that is not a configured one (a typo, or `www.` in front) matches no
    // report row: its mail would be counted as unknown senders, and the vendor as silent.
    let scope_lines: Vec<String> = inv
        .vendors
        .iter()
        .filter(|v| !v.ended_by(period_end))
        .flat_map(|v| {
            v.domains
                .iter()
                .filter(|d| !scope.iter().any(|s| s.eq_ignore_ascii_case(d)))
                .map(move |d| {
                    let parent = scope
                        .iter()
                        .find(|s| d.to_ascii_lowercase().ends_with(&format!(".{}", s.to_ascii_lowercase())));
                    match parent {
                        Some(s) => format!(
                            "line {} ({}): `domains` names {d}, a subdomain of {s}: only mail whose From domain is exactly {d} is attributed to the vendor; if it sends as {s}, write {s}",
                            v.line, v.vendor
                        ),
                        None => format!(
                            "line {} ({}): `domains` names {d}, which is not a configured domain: check its spelling (no report counts mail from it, so the vendor's mail is not attributed to it)",
                            v.line, v.vendor
                        ),
                    }
                })
        })
        .collect();
    if !rejected.is_empty()
        || !scope_lines.is_empty()
        || !incomplete.is_empty()
        || !inv.unknown_columns.is_empty()
        || !inv.missing_columns.is_empty()
    {
        let n_incomplete = inv
            .vendors
            .iter()
            .filter(|v| !v.incomplete.is_empty())
            .count();
        // A row with no vendor name is missing from the assessment; a bad cell leaves its
        // vendor in it with that value unknown. Both weigh High when PHI is at stake.
        let phi_rejected: Vec<String> = inv
            .rejected
            .iter()
            .filter(|r| r.phi == Some(true) && !r.kept)
            .map(|r| {
                format!(
                    "{} (line {})",
                    r.vendor.as_deref().unwrap_or("unnamed vendor"),
                    r.line
                )
            })
            .collect();
        let mut phi_unreadable: Vec<String> = Vec::new();
        for r in inv
            .rejected
            .iter()
            .filter(|r| r.kept && (r.phi == Some(true) || r.column == "phi"))
        {
            let who = format!(
                "{} (line {})",
                r.vendor.as_deref().unwrap_or("unnamed vendor"),
                r.line
            );
            if !phi_unreadable.contains(&who) {
                phi_unreadable.push(who);
            }
        }
        let attribution_loss = attribution_loss(inv, &unknown_sources);
        // A title that leads with the PHI vendors still names the incomplete rows, so no vendor
        // the finding is about is met only in its evidence.
        let incomplete_names: Vec<String> = inv
            .vendors
            .iter()
            .filter(|v| !v.incomplete.is_empty())
            .map(|v| format!("{} (line {})", v.vendor, v.line))
            .collect();
        let also_incomplete = if incomplete_names.is_empty() {
            String::new()
        } else {
            format!("; incomplete: {}", crate::text::and_list(&incomplete_names))
        };
        let rows_out = inv.rejected.iter().filter(|r| !r.kept).count();
        let cells_out = inv.rejected.len() - rows_out;
        let mut parts = Vec::new();
        if rows_out > 0 || cells_out == 0 {
            parts.push(crate::text::count(
                rows_out,
                "row rejected",
                "rows rejected",
            ));
        }
        if cells_out > 0 {
            parts.push(crate::text::count(
                cells_out,
                "cell unreadable",
                "cells unreadable",
            ));
        }
        parts.push(crate::text::count(
            n_incomplete,
            "row incomplete",
            "rows incomplete",
        ));
        if !scope_lines.is_empty() {
            parts.push(crate::text::count(
                scope_lines.len(),
                "vendor domain outside the configured domains",
                "vendor domains outside the configured domains",
            ));
        }
        let mut d = Draft::new("INV-001", "vendor-inventory")
            .title(format!("Vendor inventory: {}", parts.join(", ")));
        if !inv.missing_columns.is_empty() {
            let cols = inv
                .missing_columns
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>();
            d = d
                .title(format!(
                    "Vendor inventory has no {} column: no vendor's PHI and BAA can be assessed",
                    crate::text::and_list(&cols)
                ))
                .evidence(format!(
                    "the header has no {} column (nor one of its aliases): every vendor's {} is unknown, so no business associate agreement was checked",
                    crate::text::and_list(&cols),
                    crate::text::and_list(&cols)
                ))
                .exposure(
                    Level::High,
                    "without the column no vendor's BAA is checked: a PHI vendor without an agreement would go unseen",
                );
        }
        if !phi_unreadable.is_empty() {
            // What the unreadable cells cost, said for the columns they are in.
            let cols: std::collections::BTreeSet<&str> = inv
                .rejected
                .iter()
                .filter(|r| r.kept && (r.phi == Some(true) || r.column == "phi"))
                .map(|r| r.column.as_str())
                .collect();
            let mut costs = Vec::new();
            if cols.iter().any(|c| {
                matches!(
                    *c,
                    "domains"
                        | "ip_ranges"
                        | "spf_includes"
                        | "dkim_selectors"
                        | "dkim_domains"
                        | "ptr_suffixes"
                )
            }) {
                costs.push("its mail cannot all be attributed to it");
            }
            if cols.iter().any(|c| matches!(*c, "baa" | "baa_expires")) {
                costs.push("its agreement cannot be confirmed");
            }
            if cols.contains("phi") {
                costs.push("whether it carries PHI is unknown");
            }
            if costs.is_empty() {
                costs.push("part of what it does goes unassessed");
            }
            let (level, why) = match attribution_loss {
                // Only the cells that tie mail to the vendor are unreadable: what that costs is
                // the vendor's mail counted as unknown senders, which the period shows or not.
                Some(AttributionLoss { messages: 0, .. }) => (
                    Level::Low,
                    format!(
                        "a PHI vendor's cell could not be read, so {} until the inventory is fixed; no mail from its domains went unattributed this period, so nothing was lost yet",
                        crate::text::and_list(&costs)
                    ),
                ),
                Some(AttributionLoss { messages, sources }) => (
                    Level::Moderate,
                    format!(
                        "a PHI vendor's cell could not be read, so {} until the inventory is fixed; {} from {} sent as its domains this period without being attributed to any vendor, and some may be its",
                        crate::text::and_list(&costs),
                        crate::text::count(messages as usize, "message", "messages"),
                        crate::text::count(sources, "source", "sources"),
                    ),
                ),
                None => (
                    Level::High,
                    format!(
                        "a PHI vendor's cell could not be read, so {} until the inventory is fixed",
                        crate::text::and_list(&costs)
                    ),
                ),
            };
            d = d
                .title(format!(
                    "PHI vendor data unreadable: {}{also_incomplete}",
                    crate::text::and_list(&phi_unreadable)
                ))
                .phi(Some(true))
                .exposure(level, why);
        }
        if !phi_rejected.is_empty() {
            d = d
                .evidence_all(phi_rejected.iter().map(|r| {
                    format!("{r}: phi = yes, read from the rejected row (its other cells are not used)")
                }))
                .title(format!(
                    "PHI vendor missing from the assessment: {} rejected from the inventory{also_incomplete}",
                    crate::text::and_list(&phi_rejected)
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
            .evidence_all(scope_lines.iter().cloned())
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
        unreadable_cells: inv.rejected.iter().filter(|r| r.kept).count(),
        unknown_sources: unknown_sources.into_iter().take(25).collect(),
    };
    (coverage, findings)
}

/// Unattributed mail that could belong to PHI vendors whose unreadable cells only tie mail to
/// them (domains excepted: without them nothing says which From domains to look at).
struct AttributionLoss {
    messages: u64,
    sources: usize,
}

/// `None` when any PHI vendor's unreadable cell is about more than attribution (its PHI flag,
/// its agreement, its domains), so the loss is not limited to counting its mail.
fn attribution_loss(inv: &Inventory, unknown: &[SourceStat]) -> Option<AttributionLoss> {
    let cells: Vec<&crate::inventory::RowError> = inv
        .rejected
        .iter()
        .filter(|r| r.kept && (r.phi == Some(true) || r.column == "phi"))
        .collect();
    let attribution_only = cells.iter().all(|r| {
        matches!(
            r.column.as_str(),
            "ip_ranges" | "spf_includes" | "dkim_selectors" | "dkim_domains" | "ptr_suffixes"
        )
    });
    if cells.is_empty() || !attribution_only {
        return None;
    }
    let mut domains: Vec<String> = Vec::new();
    for r in &cells {
        let v = inv
            .vendors
            .iter()
            .find(|v| r.vendor.as_deref() == Some(v.vendor.as_str()))?;
        if v.domains.is_empty() {
            return None;
        }
        domains.extend(v.domains.iter().map(|d| d.to_ascii_lowercase()));
    }
    let theirs: Vec<&SourceStat> = unknown
        .iter()
        .filter(|s| {
            let from = s.header_from.to_ascii_lowercase();
            domains
                .iter()
                .any(|d| from == *d || from.ends_with(&format!(".{d}")))
        })
        .collect();
    Some(AttributionLoss {
        messages: theirs.iter().map(|s| s.messages).sum(),
        sources: theirs.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::finding::Draft;
    use crate::evidence::tests_support::evidence_with;
    use chrono::{TimeZone, Utc};

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    fn month(label: &str) -> crate::period::Month {
        label.parse().unwrap()
    }

    fn source(from: &str, messages: u64) -> SourceStat {
        SourceStat {
            source_ip: "192.0.2.9".into(),
            vendor: None,
            header_from: from.into(),
            messages,
            dmarc_pass: 0,
            reporters: vec![],
            class: None,
        }
    }

    #[test]
    fn an_unreadable_address_range_weighs_what_the_period_left_unattributed() {
        let header = "vendor,domains,ip_ranges,phi,baa,baa_expires\n";
        let csv = format!("{header}Fax,a.example,198.51.100.0/33,yes,signed,2027-05-31\n");
        let inv = Inventory::parse(csv.as_bytes(), std::path::Path::new("v.csv")).unwrap();
        // Nothing sent as a.example went unattributed: nothing was lost yet.
        let none = attribution_loss(&inv, &[source("b.example", 40)]).unwrap();
        assert_eq!((none.messages, none.sources), (0, 0));
        // Unattributed mail from the domain or a subdomain may be the vendor's.
        let some = attribution_loss(
            &inv,
            &[
                source("a.example", 40),
                source("mail.a.example", 2),
                source("b.example", 9),
            ],
        )
        .unwrap();
        assert_eq!((some.messages, some.sources), (42, 2));
        // An unreadable agreement date is not about attribution: no evidence lowers it.
        let csv = format!("{header}Fax,a.example,198.51.100.0/24,yes,signed,30/06/2027\n");
        let inv = Inventory::parse(csv.as_bytes(), std::path::Path::new("v.csv")).unwrap();
        assert!(attribution_loss(&inv, &[]).is_none());
    }

    #[test]
    fn a_new_gap_is_discovered_by_this_report_and_its_clock_runs_from_today() {
        let d = Discovery {
            today: day("2026-12-03"),
            tz: chrono_tz::UTC,
            previous: None,
            earlier: &[],
        };
        let s = d.first_reported("Remindly", &[]);
        assert!(
            s.contains("dated 2026-12-03, is the first to report mail from it"),
            "{s}"
        );
        assert!(s.contains("end on 2027-02-01"), "{s}");
        assert!(!s.contains("already late"), "{s}");
    }

    fn period(label: &str, generated: chrono::DateTime<Utc>, messages: u64) -> Earlier {
        covered_period(label, generated, messages, 1_000)
    }

    /// A period whose reports hold `reported` messages for the vendor's domain.
    fn covered_period(
        label: &str,
        generated: chrono::DateTime<Utc>,
        messages: u64,
        reported: u64,
    ) -> Earlier {
        let mut e = evidence_with(vec![], label);
        e.generated_at = generated;
        e.reports
            .per_domain
            .push(crate::evidence::DomainReportStat {
                domain: "example.org".into(),
                rates: crate::evidence::PassRates {
                    messages: reported,
                    ..Default::default()
                },
                dispositions: vec![],
                reporters: vec![],
            });
        e.vendors.vendors.push(VendorRow {
            vendor: "Remindly".into(),
            messages,
            status: vec!["VEN-001".into()],
            ..Default::default()
        });
        Earlier {
            month: month(label),
            found: Found::Read {
                evidence: Box::new(e),
                sha256: String::new(),
                path: format!("out/{label}/evidence.json"),
            },
        }
    }

    #[test]
    fn a_persisting_gap_is_dated_by_the_first_assessment_that_reported_mail() {
        let mut f = Draft::new("VEN-001", "Remindly").build("2026-09");
        f.first_seen = "2026-05".into();
        f.status = Status::Persisting;
        let previous = evidence_with(vec![f], "2026-09");
        let at = |m, d, h| {
            Utc.with_ymd_and_hms(2026, m, d, h, 30, 0)
                .single()
                .unwrap_or_default()
        };
        // May reported the missing BAA but no mail (nothing disclosed yet); June reported mail.
        // 2026-07-02 01:30 UTC is still 1 July in New York: the organization's date counts.
        let earlier = vec![
            period("2026-06", at(7, 2, 1), 19_597),
            period("2026-05", at(6, 2, 1), 0),
        ];
        let d = Discovery {
            today: day("2026-12-03"),
            tz: chrono_tz::America::New_York,
            previous: Some(&previous),
            earlier: &earlier,
        };
        let s = d.first_reported("Remindly", &[]);
        // The May assessment (1 June local) already reported the missing BAA, and June's mail
        // was first reported on 1 July: the disclosure was known within those days.
        for part in [
            "the missing BAA was reported from May 2026 (that assessment was generated on 2026-06-01)",
            "known no earlier than 2026-06-01 and no later than 2026-07-01",
            "the 60 days ended between 2026-07-31 and 2026-08-30, both before this report's date (2026-12-03)",
        ] {
            assert!(s.contains(part), "{part}: {s}");
        }
        assert!(s.contains("already late"), "{s}");

        // May's reports covered none of the vendor's domains (no rua then): its silence is no
        // evidence that mail had not begun, so the clock runs from the May assessment.
        let unobserved = vec![
            period("2026-06", at(7, 2, 1), 19_597),
            covered_period("2026-05", at(6, 2, 1), 0, 0),
        ];
        let d2 = Discovery {
            earlier: &unobserved,
            ..d
        };
        let s = d2.first_reported("Remindly", &["example.org".to_string()]);
        for part in [
            "the reports for May 2026 covered none of its domains",
            "known no later than 2026-06-01, possibly earlier",
            "60 days from then ended on 2026-07-31, before this report's date (2026-12-03)",
        ] {
            assert!(s.contains(part), "{part}: {s}");
        }
        assert!(!s.contains("no earlier than"), "{s}");

        // June's evidence is gone: say so, never invent a date.
        let only_may = vec![
            period("2026-05", at(6, 2, 1), 0),
            Earlier {
                month: month("2026-06"),
                found: Found::Missing {
                    path: "out/2026-06/evidence.json".into(),
                },
            },
        ];
        let d = Discovery {
            earlier: &only_may,
            ..d
        };
        let s = d.first_reported("Remindly", &[]);
        assert!(
            s.contains("the evidence for June 2026 is not in the output folder"),
            "{s}"
        );
        assert!(s.contains("cannot date the 60 days"), "{s}");
        assert!(!s.contains("ended on"), "{s}");
    }
}
