//! Risk treatment: who owns each finding, by when it must be fixed, and what management
//! decided about it. This is what turns a findings list into risk *management*
//! (45 CFR 164.308(a)(1)(ii)(B)): every finding gets an owner and a due date, accepted risks
//! leave the open counts until their acceptance runs out, and nothing slips silently.

use crate::assess::risk::Level;
use crate::config::{DomainConfig, DueDays, Governance};
use crate::decisions::{Decision, RiskDecision};
use crate::evidence::{
    DecisionRef, DecisionsSummary, Evidence, ExpiredAcceptance, Finding, Status, Treatment,
    TreatmentStatus,
};
use crate::period::Month;
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// What treatment needs besides the findings themselves.
pub struct Context<'a> {
    pub domains: &'a [DomainConfig],
    pub governance: &'a Governance,
    pub due_days: &'a DueDays,
    /// The period being assessed. Due dates and expiry are compared with its last day.
    pub month: Month,
    /// Last period's evidence: a due date, once given, never moves later.
    pub previous: Option<&'a Evidence>,
    pub decisions: &'a [RiskDecision],
    /// The run's date where the organization is. A decision approved after it is not yet in
    /// force (re-assessing an old period must not apply a later decision).
    pub today: NaiveDate,
}

/// What became of the decisions file's entries this period.
#[derive(Debug, Default)]
pub struct Outcome {
    pub stale: Vec<DecisionRef>,
    pub expired: Vec<ExpiredAcceptance>,
    pub pending: Vec<DecisionRef>,
}

/// Applies owners, due dates, decisions and plan status to every finding, and returns which
/// decisions matched nothing (stale) and which acceptances ran out.
pub fn apply(findings: &mut [Finding], cx: &Context<'_>) -> Outcome {
    let last_day = cx.month.last_day();
    let earlier: BTreeMap<&str, &Finding> = cx
        .previous
        .map(|e| e.findings.iter().map(|f| (f.id.as_str(), f)).collect())
        .unwrap_or_default();
    let decisions: BTreeMap<&str, &RiskDecision> = cx
        .decisions
        .iter()
        .filter(|d| d.approved_on <= cx.today)
        .map(|d| (d.finding.as_str(), d))
        .collect();
    let mut expired = Vec::new();

    for f in findings.iter_mut() {
        if f.owner.is_none() {
            f.owner = owner_for(f, cx);
        }
        let before = earlier.get(f.id.as_str()).copied();
        let decision = decisions.get(f.id.as_str()).copied();
        let (due, basis, extended) = due_date(f, before, decision, cx.due_days);
        f.due = due;
        f.due_basis = Some(basis);
        f.due_extended_days = extended;
        f.treatment = decision.map(|d| {
            let lapsed = d.expires.is_some_and(|e| e < last_day);
            if lapsed && d.decision == Decision::Accept {
                expired.push(ExpiredAcceptance {
                    finding: f.id.clone(),
                    expired_on: d.expires.unwrap_or(last_day),
                    line: d.line,
                });
            }
            Treatment {
                entry: d.clone(),
                expired: lapsed,
            }
        });
        let accepted = f
            .treatment
            .as_ref()
            .is_some_and(|t| t.entry.decision == Decision::Accept && !t.expired);
        f.overdue_days = None;
        f.treatment_status = Some(if f.status == Status::Resolved {
            TreatmentStatus::Resolved
        } else if accepted {
            TreatmentStatus::Accepted
        } else {
            match f.due {
                Some(due) if due < last_day => {
                    f.overdue_days = Some((last_day - due).num_days());
                    TreatmentStatus::Overdue
                }
                _ => TreatmentStatus::Open,
            }
        });
        residual_for_decision(f);
    }

    let listed = |d: &RiskDecision| DecisionRef {
        finding: d.finding.clone(),
        decision: d.decision,
        approved_by: d.approved_by.clone(),
        approved_on: d.approved_on,
        line: d.line,
    };
    forged_under_accepted_policy(findings);
    let (in_force, pending): (Vec<&RiskDecision>, Vec<&RiskDecision>) =
        cx.decisions.iter().partition(|d| d.approved_on <= cx.today);
    Outcome {
        stale: in_force
            .into_iter()
            .filter(|d| !findings.iter().any(|f| f.id == d.finding))
            .map(listed)
            .collect(),
        expired,
        pending: pending.into_iter().map(listed).collect(),
    }
}

/// A summary of the decisions file for the evidence.
pub fn summary(
    source: String,
    sha256: String,
    decisions: &[RiskDecision],
    findings: &[Finding],
    outcome: Outcome,
) -> DecisionsSummary {
    DecisionsSummary {
        source,
        sha256,
        entries: decisions.len(),
        applied: findings.iter().filter(|f| f.treatment.is_some()).count(),
        stale: outcome.stale,
        expired: outcome.expired,
        pending: outcome.pending,
    }
}

/// Forged mail (RPT-001) on a domain whose weak policy management accepted is the accepted
/// risk happening: the remediation must not tell staff to change the policy against that
/// decision, but put the evidence before whoever accepted it.
fn forged_under_accepted_policy(findings: &mut [Finding]) {
    let accepted: BTreeMap<String, (String, RiskDecision)> = findings
        .iter()
        .filter(|f| matches!(f.check.as_str(), "DMARC-003" | "DMARC-004"))
        .filter_map(|f| {
            let t = f.treatment.as_ref()?;
            (t.entry.decision == Decision::Accept && !t.expired)
                .then(|| Some((f.domain.clone()?, (f.title.clone(), t.entry.clone()))))?
        })
        .collect();
    for f in findings
        .iter_mut()
        .filter(|f| f.check == "RPT-001" && f.status != crate::evidence::Status::Resolved)
    {
        let Some((policy, d)) = f.domain.as_ref().and_then(|dn| accepted.get(dn)) else {
            continue;
        };
        let domain = f.domain.clone().unwrap_or_default();
        f.remediation = format!(
            "{} Management accepted the policy of {domain} as it stands ({}) until {} (decisions file line {}, approved by {} on {}), so receivers are asked to deliver this mail: {}. That is the risk the acceptance took on. Put this evidence before {} to review the acceptance now, rather than change the policy against it or wait for it to run out.",
            super::report_checks::INCIDENT,
            policy
                .split_whitespace()
                .find(|w| w.starts_with("p="))
                .unwrap_or(policy.as_str()),
            d.expires
                .map_or_else(|| "its review".to_string(), |e| e.to_string()),
            d.line,
            d.approved_by,
            d.approved_on,
            f.title,
            d.approved_by,
        );
    }
}

/// Vendor findings carry the inventory owner already; everything else belongs to its domain's
/// owner, or to the security officer who answers for the program.
fn owner_for(f: &Finding, cx: &Context<'_>) -> Option<String> {
    f.domain
        .as_deref()
        .and_then(|d| cx.domains.iter().find(|c| c.name == d))
        .and_then(|c| c.owner.clone())
        .or_else(|| cx.governance.security_officer.clone())
}

/// The due date, how it was reached, and by how many days a decision extends the policy's
/// date. A decision's own `due` wins (management set it), but a later date than the policy
/// gives is an extension and is said so. Otherwise the finding is due `due_days[risk]` after
/// the end of the period it was first reported in; a date given in an earlier period stands
/// unless the new rule gives an earlier one (a risk that rose), so a date never slides later
/// from month to month.
fn due_date(
    f: &Finding,
    before: Option<&Finding>,
    decision: Option<&RiskDecision>,
    days: &DueDays,
) -> (Option<NaiveDate>, String, Option<i64>) {
    let (policy, basis) = policy_due(f, before, days);
    if let Some(d) = decision
        && let Some(due) = d.due
    {
        let mut why = format!(
            "set by the risk decision approved by {} on {} (decisions file line {})",
            d.approved_by, d.approved_on, d.line
        );
        let extended = policy.filter(|p| due > *p).map(|p| (due - p).num_days());
        if let (Some(n), Some(p)) = (extended, policy) {
            why.push_str(&format!(
                "; {n} days later than the policy's {p} ({basis}): an extension the decision approves"
            ));
        }
        return (Some(due), why, extended);
    }
    (policy, basis, None)
}

/// The date the due-date policy gives, and how.
fn policy_due(
    f: &Finding,
    before: Option<&Finding>,
    days: &DueDays,
) -> (Option<NaiveDate>, String) {
    let Ok(first) = f.first_seen.parse::<Month>() else {
        return (
            before.and_then(|b| b.due),
            format!("first-seen period {:?} is not a month", f.first_seen),
        );
    };
    let n = days.for_risk(f.risk);
    let computed = first
        .last_day()
        .checked_add_days(chrono::Days::new(u64::from(n)))
        .unwrap_or(NaiveDate::MAX);
    let rule = format!(
        "{} days after {} (end of {}, first reported) for {} risk",
        n,
        first.last_day(),
        first,
        f.risk.label()
    );
    // Whether an earlier period's date was a risk decision's rather than the rule's.
    let set_by_decision = |old: NaiveDate| {
        before
            .and_then(|b| b.treatment.as_ref())
            .and_then(|t| t.entry.due)
            == Some(old)
    };
    match before.and_then(|b| b.due) {
        Some(old) if old < computed => (
            Some(old),
            format!(
                "{old}, as set in an earlier period (today's rule gives {computed}: {rule}); a due date never moves later"
            ),
        ),
        Some(old) if old > computed => {
            let why = if set_by_decision(old) {
                "the risk decision that set it no longer applies"
            } else {
                "the risk rose"
            };
            (
                Some(computed),
                format!("{rule}; moved earlier from {old} because {why}"),
            )
        }
        _ => (Some(computed), rule),
    }
}

/// Residual risk is the risk once the chosen treatment is in place. Remediation (the default,
/// and `mitigate`) leaves the residual the finding already carries. Accepting changes nothing,
/// so residual equals inherent; so does a transfer, because under HIPAA the covered entity
/// keeps the weakness and the duty even when another party pays for the consequences.
/// Avoiding the activity that causes the risk removes it.
fn residual_for_decision(f: &mut Finding) {
    let Some(t) = &f.treatment else { return };
    if t.expired {
        return;
    }
    match t.entry.decision {
        Decision::Mitigate => {}
        Decision::Accept | Decision::Transfer => {
            f.residual_likelihood = Some(f.likelihood);
            f.residual_risk = Some(f.risk);
        }
        Decision::Avoid => {
            f.residual_likelihood = Some(Level::VeryLow);
            f.residual_risk = Some(Level::VeryLow);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::finding::Draft;
    use crate::config::Role;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn month(s: &str) -> Month {
        s.parse().unwrap()
    }

    fn domains() -> Vec<DomainConfig> {
        vec![
            DomainConfig {
                name: "a.example".into(),
                role: Role::Patient,
                selectors: vec![],
                owner: Some("Portal team".into()),
            },
            DomainConfig {
                name: "b.example".into(),
                role: Role::Marketing,
                selectors: vec![],
                owner: None,
            },
        ]
    }

    fn decision(finding: &str, d: Decision, expires: Option<&str>) -> RiskDecision {
        RiskDecision {
            finding: finding.into(),
            decision: d,
            justification: "because".into(),
            approved_by: "CISO".into(),
            approved_on: date("2026-03-01"),
            expires: expires.map(date),
            compensating_controls: None,
            due: None,
            milestone: None,
            line: 7,
        }
    }

    fn apply_at(
        findings: &mut [Finding],
        label: &str,
        previous: Option<&Evidence>,
        decisions: &[RiskDecision],
        governance: &Governance,
    ) -> Outcome {
        let d = domains();
        apply(
            findings,
            &Context {
                domains: &d,
                governance,
                due_days: &DueDays::default(),
                month: month(label),
                previous,
                decisions,
                today: date("2026-12-01"),
            },
        )
    }

    #[test]
    fn owners_come_from_vendor_then_domain_then_security_officer() {
        let gov = Governance {
            security_officer: Some("Dana Ortiz".into()),
            ..Governance::default()
        };
        let mut f = vec![
            Draft::new("VEN-001", "PayNotice")
                .owner("Billing (J. Roe)")
                .build("2026-10"),
            Draft::new("DMARC-003", "a.example")
                .domain("a.example")
                .build("2026-10"),
            Draft::new("DMARC-003", "b.example")
                .domain("b.example")
                .build("2026-10"),
            Draft::new("RPT-000", "reports").build("2026-10"),
        ];
        apply_at(&mut f, "2026-10", None, &[], &gov);
        let owners: Vec<_> = f.iter().map(|f| f.owner.as_deref()).collect();
        assert_eq!(
            owners,
            [
                Some("Billing (J. Roe)"),
                Some("Portal team"),
                Some("Dana Ortiz"),
                Some("Dana Ortiz")
            ]
        );
        let mut f = vec![
            Draft::new("DMARC-003", "b.example")
                .domain("b.example")
                .build("2026-10"),
        ];
        apply_at(&mut f, "2026-10", None, &[], &Governance::default());
        assert_eq!(f[0].owner, None, "nobody named: the report says so");
    }

    #[test]
    fn due_is_counted_from_the_end_of_the_first_seen_month() {
        // DMARC-001: VH likelihood x H impact = High risk: 30 days.
        let mut f = vec![Draft::new("DMARC-001", "a.example").build("2026-01")];
        assert_eq!(f[0].risk, Level::High);
        apply_at(&mut f, "2026-01", None, &[], &Governance::default());
        assert_eq!(f[0].due, Some(date("2026-03-02")), "31 Jan + 30 days");
        assert_eq!(f[0].treatment_status, Some(TreatmentStatus::Open));
        // Leap year February: 29 Feb 2028 + 30 = 30 Mar.
        let mut f = vec![Draft::new("DMARC-001", "a.example").build("2028-02")];
        apply_at(&mut f, "2028-02", None, &[], &Governance::default());
        assert_eq!(f[0].due, Some(date("2028-03-30")));
        // December rolls into the next year.
        let mut f = vec![Draft::new("DMARC-001", "a.example").build("2026-12")];
        apply_at(&mut f, "2026-12", None, &[], &Governance::default());
        assert_eq!(f[0].due, Some(date("2027-01-30")));
    }

    #[test]
    fn overdue_means_due_before_the_last_day_of_the_period() {
        // High risk first seen in September: due 30 Oct. Assessed for October (last day 31
        // Oct): one day overdue. A due date on the last day itself is not overdue.
        let mut f = vec![Draft::new("DMARC-001", "a.example").build("2026-09")];
        f[0].first_seen = "2026-09".into();
        apply_at(&mut f, "2026-10", None, &[], &Governance::default());
        assert_eq!(f[0].due, Some(date("2026-10-30")));
        assert_eq!(f[0].overdue_days, Some(1));
        assert_eq!(f[0].treatment_status, Some(TreatmentStatus::Overdue));
        // Very High: 15 days after 31 Oct is 15 Nov: not overdue in October.
        let mut f = vec![
            Draft::new("RPT-001", "a.example")
                .likelihood(Level::VeryHigh)
                .impact(Level::VeryHigh)
                .build("2026-10"),
        ];
        apply_at(&mut f, "2026-10", None, &[], &Governance::default());
        assert_eq!(f[0].due, Some(date("2026-11-15")));
        assert_eq!(f[0].overdue_days, None);
        // A due date equal to the last day of the period: on time.
        let mut f = vec![Draft::new("DMARC-001", "a.example").build("2026-09")];
        let mut d = decision("DMARC-001:a.example", Decision::Mitigate, None);
        d.due = Some(date("2026-10-31"));
        apply_at(&mut f, "2026-10", None, &[d], &Governance::default());
        assert_eq!(f[0].treatment_status, Some(TreatmentStatus::Open));
        assert!(f[0].due_basis.as_deref().unwrap().contains("line 7"));
        assert_eq!(
            f[0].due_extended_days,
            Some(1),
            "one day past the policy's 30 Oct"
        );
        // A decision's date past the policy's (High, first seen in September: 30 Oct) is an
        // extension, and says by how much; one before it is not.
        let mut f = vec![Draft::new("DMARC-001", "a.example").build("2026-09")];
        let mut d = decision("DMARC-001:a.example", Decision::Mitigate, None);
        d.due = Some(date("2026-10-20"));
        apply_at(&mut f, "2026-10", None, &[d], &Governance::default());
        assert_eq!(f[0].due_extended_days, None);
        let mut f = vec![Draft::new("DMARC-001", "a.example").build("2026-09")];
        let mut d = decision("DMARC-001:a.example", Decision::Mitigate, None);
        d.due = Some(date("2026-12-15"));
        apply_at(&mut f, "2026-10", None, &[d], &Governance::default());
        assert_eq!(f[0].due, Some(date("2026-12-15")));
        assert_eq!(f[0].due_extended_days, Some(46));
        let basis = f[0].due_basis.as_deref().unwrap();
        assert!(
            basis.contains("46 days later than the policy's 2026-10-30"),
            "{basis}"
        );
    }

    #[test]
    fn due_dates_never_move_later_but_move_earlier_when_risk_rises() {
        // September: Moderate (90 days) -> due 29 Dec.
        let mut sep = vec![
            Draft::new("SPF-004", "a.example")
                .likelihood(Level::Moderate)
                .impact(Level::Moderate)
                .build("2026-09"),
        ];
        apply_at(&mut sep, "2026-09", None, &[], &Governance::default());
        assert_eq!(sep[0].due, Some(date("2026-12-29")));
        let prev = crate::evidence::tests_support::evidence_with(sep.clone(), "2026-09");
        // October, risk fell to Low (180 days would be 29 Mar): the date stays.
        let mut oct = vec![
            Draft::new("SPF-004", "a.example")
                .likelihood(Level::Low)
                .impact(Level::Moderate)
                .build("2026-10"),
        ];
        oct[0].first_seen = "2026-09".into();
        apply_at(
            &mut oct,
            "2026-10",
            Some(&prev),
            &[],
            &Governance::default(),
        );
        assert_eq!(oct[0].due, Some(date("2026-12-29")));
        assert!(
            oct[0]
                .due_basis
                .as_deref()
                .unwrap()
                .contains("never moves later")
        );
        // October, risk rose to High (30 days: 30 Oct): earlier, and overdue by 1 day.
        let mut oct = vec![
            Draft::new("SPF-004", "a.example")
                .likelihood(Level::High)
                .impact(Level::High)
                .build("2026-10"),
        ];
        oct[0].first_seen = "2026-09".into();
        apply_at(
            &mut oct,
            "2026-10",
            Some(&prev),
            &[],
            &Governance::default(),
        );
        assert_eq!(oct[0].due, Some(date("2026-10-30")));
        assert_eq!(oct[0].overdue_days, Some(1));
        assert!(oct[0].due_basis.as_deref().unwrap().contains("risk rose"));
    }

    #[test]
    fn acceptance_holds_until_it_expires_then_reopens_with_the_date() {
        let gov = Governance::default();
        let id = "DMARC-001:a.example";
        // Valid through the whole period (expires on its last day): accepted.
        let mut f = vec![Draft::new("DMARC-001", "a.example").build("2026-10")];
        let d = [decision(id, Decision::Accept, Some("2026-10-31"))];
        let o = apply_at(&mut f, "2026-10", None, &d, &gov);
        assert!(o.stale.is_empty() && o.expired.is_empty());
        assert_eq!(f[0].treatment_status, Some(TreatmentStatus::Accepted));
        assert!(!f[0].is_open());
        assert_eq!(
            f[0].residual_risk,
            Some(f[0].risk),
            "accepting changes nothing"
        );
        // Expired the day before the period's last day: open again, with the date.
        let mut f = vec![Draft::new("DMARC-001", "a.example").build("2026-10")];
        let d = [decision(id, Decision::Accept, Some("2026-10-30"))];
        let expired = apply_at(&mut f, "2026-10", None, &d, &gov).expired;
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].expired_on, date("2026-10-30"));
        assert!(f[0].treatment.as_ref().unwrap().expired);
        assert!(f[0].is_open());
        assert_eq!(f[0].treatment_status, Some(TreatmentStatus::Open));
        // Transfer and mitigate stay open.
        for kind in [Decision::Transfer, Decision::Mitigate] {
            let mut f = vec![Draft::new("DMARC-001", "a.example").build("2026-10")];
            apply_at(&mut f, "2026-10", None, &[decision(id, kind, None)], &gov);
            assert!(f[0].is_open(), "{kind:?}");
        }
        // Avoid: residual very low.
        let mut f = vec![Draft::new("DMARC-001", "a.example").build("2026-10")];
        apply_at(
            &mut f,
            "2026-10",
            None,
            &[decision(id, Decision::Avoid, None)],
            &gov,
        );
        assert_eq!(f[0].residual_risk, Some(Level::VeryLow));
    }

    #[test]
    fn a_decision_matching_no_finding_is_stale_and_resolved_ones_are_not() {
        let mut f = vec![Draft::new("DMARC-001", "a.example").build("2026-10")];
        f[0].status = Status::Resolved;
        let d = [
            decision("DMARC-001:a.example", Decision::Accept, Some("2027-01-01")),
            decision("SPF-005:gone.example", Decision::Mitigate, None),
        ];
        let stale = apply_at(&mut f, "2026-10", None, &d, &Governance::default()).stale;
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].finding, "SPF-005:gone.example");
        assert_eq!(f[0].treatment_status, Some(TreatmentStatus::Resolved));
    }

    #[test]
    fn a_decision_approved_after_the_run_is_not_yet_in_force() {
        let mut f = vec![Draft::new("DMARC-001", "a.example").build("2026-10")];
        let mut d = decision("DMARC-001:a.example", Decision::Accept, Some("2027-06-01"));
        d.approved_on = date("2026-12-02");
        let o = apply_at(&mut f, "2026-10", None, &[d], &Governance::default());
        assert_eq!(o.pending.len(), 1);
        assert!(o.stale.is_empty());
        assert!(f[0].treatment.is_none() && f[0].is_open());
    }
}
