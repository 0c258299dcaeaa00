//! RPT-008: a domain that asks for aggregate reports (`rua`) but got none for days. Reports
//! stop when the mailbox rule, the forwarding or the processor breaks, and nothing else says
//! so: the activity review then has a hole an auditor will find first.

use super::*;
use chrono::{DateTime, Utc};

/// The longest stretch of the period no report about `domain` covers: (from, to).
fn longest_gap(
    set: &ReportSet,
    domain: &str,
    period: &crate::period::Period,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let mut ranges: Vec<(DateTime<Utc>, DateTime<Utc>)> = set
        .reports
        .iter()
        .filter(|r| crate::snapshot::normalize_name(&r.policy.domain) == domain)
        .map(|r| (r.begin.max(period.start), r.end.min(period.end)))
        .filter(|(a, b)| a <= b)
        .collect();
    ranges.sort();
    let mut best: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
    let mut covered = period.start;
    let mut consider = |a: DateTime<Utc>, b: DateTime<Utc>| {
        if b > a && best.is_none_or(|(x, y)| b - a > y - x) {
            best = Some((a, b));
        }
    };
    for (a, b) in ranges {
        consider(covered, a);
        covered = covered.max(b);
    }
    consider(covered, period.end);
    best
}

/// The first calendar day (UTC) that starts at or after `t`: a gap from 23:59:59 misses
/// the next day, not that one.
fn first_whole_day(t: DateTime<Utc>) -> chrono::NaiveDate {
    let day = t.date_naive();
    if t.time() == chrono::NaiveTime::MIN {
        day
    } else {
        day.succ_opt().unwrap_or(day)
    }
}

pub(super) fn silent_domains(cx: &Checks<'_>, period: &crate::period::Period) -> Vec<Finding> {
    let min_days = i64::from(cx.policy.report_gap_days);
    let mut out = Vec::new();
    for d in cx.domains {
        // Reports were asked for through the whole period (a rua added during it leaves its
        // first weeks silent by design), and the domain sends mail: a parked domain nobody
        // forges gets no reports, and that is no broken pipeline.
        let asked = cx.facts.rua_now.contains(&d.name)
            && cx.facts.rua_before.is_none_or(|b| b.contains(&d.name));
        if !asked || d.role == crate::config::Role::Parked {
            continue;
        }
        let Some((a, b)) = longest_gap(cx.set, &d.name, period) else {
            continue;
        };
        // Whole days without a report; a report a second short of a day does not close it.
        let days = (b - a).num_hours() / 24;
        if days < min_days {
            continue;
        }
        let reports = cx
            .set
            .reports
            .iter()
            .filter(|r| crate::snapshot::normalize_name(&r.policy.domain) == d.name)
            .count();
        let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
        let mut f = Draft::new("RPT-008", d.name.clone())
            .domain(&d.name)
            .title(format!(
                "No aggregate report covers {} for {days} days ({} to {}) although it publishes rua",
                d.name,
                first_whole_day(a).format("%Y-%m-%d"),
                (b - chrono::Duration::seconds(1)).format("%Y-%m-%d")
            ))
            .evidence(format!(
                "no report read for this period covers {} to {} ({days} whole days; the threshold is {min_days}); {} about {} were read in all",
                fmt(a),
                fmt(b),
                crate::text::count(reports, "report", "reports"),
                d.name
            ));
        if reports == 0 {
            f = f.evidence(
                "no report about the domain arrived at all this period: check that the rua mailbox receives mail and that mailproof reads the folder it lands in",
            );
        }
        out.push(f.build(cx.label));
    }
    out
}
