//! `findings.csv` and `poam.csv`: the findings table and the plan of action for spreadsheets
//! and ticket imports, in the same order as the PDF so a row number means the same thing in
//! all three.

use super::sorted_findings;
use crate::evidence::{Evidence, Finding, Status, TreatmentStatus};

const HEADER: [&str; 20] = [
    "id",
    "check",
    "subject",
    "domain",
    "title",
    "severity",
    "likelihood",
    "impact",
    "risk",
    "status",
    "first_seen",
    "hipaa",
    "evidence",
    "remediation",
    "residual_risk",
    "owner",
    "due",
    "overdue_days",
    "decision",
    "treatment_status",
];

fn status_word(s: Status) -> &'static str {
    match s {
        Status::New => "new",
        Status::Persisting => "persisting",
        Status::Resolved => "resolved",
    }
}

/// Spreadsheets execute cells that start with `=`, `+`, `-`, `@` (CSV injection). Subjects,
/// titles and evidence can come from report files written by strangers, so such cells get a
/// leading `'`, the OWASP-recommended neutralization; the exact text stays in evidence.json.
fn neutralize(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// `header` and `rows` as RFC 4180 CSV with CRLF line ends, every cell neutralized. Writing
/// to memory cannot fail; should it ever, the error is logged and only the header is returned
/// rather than a half-written table.
fn table<const N: usize>(
    name: &str,
    header: [&str; N],
    rows: impl Iterator<Item = [String; N]>,
) -> Vec<u8> {
    let write = || -> Result<Vec<u8>, csv::Error> {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        w.write_record(header)?;
        for cells in rows {
            w.write_record(cells.iter().map(|c| neutralize(c).into_owned()))?;
        }
        w.into_inner()
            .map_err(|err| csv::Error::from(err.into_error()))
    };
    write().unwrap_or_else(|err| {
        tracing::error!(%err, "{name} serialization failed");
        let mut v = header.join(",").into_bytes();
        v.extend_from_slice(b"\r\n");
        v
    })
}

/// An optional value (a date, a number of days) as a cell, empty when absent.
fn opt_cell(d: Option<impl ToString>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// Every finding, resolved ones included (status `resolved`), as RFC 4180 CSV with a header
/// row.
pub fn findings_csv(e: &Evidence) -> Vec<u8> {
    let rows = sorted_findings(e).into_iter().map(|f| {
        [
            f.id.clone(),
            f.check.clone(),
            f.subject.clone(),
            f.domain.clone().unwrap_or_default(),
            f.title.clone(),
            f.severity.label().into(),
            f.likelihood.label().into(),
            f.impact.label().into(),
            f.risk.label().into(),
            status_word(f.status).into(),
            f.first_seen.clone(),
            f.hipaa.join("; "),
            f.evidence.join(" | "),
            f.remediation.clone(),
            f.residual_risk.map(|l| l.label()).unwrap_or("").into(),
            f.owner.clone().unwrap_or_default(),
            opt_cell(f.due),
            opt_cell(f.overdue_days),
            decision_word(f),
            f.treatment_status.map(|s| s.word()).unwrap_or("").into(),
        ]
    });
    table("findings.csv", HEADER, rows)
}

/// The decision as one word, marked when an acceptance ran out.
fn decision_word(f: &Finding) -> String {
    match &f.treatment {
        Some(t) if t.expired => format!(
            "{} (expired {})",
            t.entry.decision.word(),
            opt_cell(t.entry.expires)
        ),
        Some(t) => t.entry.decision.word().to_string(),
        None => String::new(),
    }
}

const POAM_HEADER: [&str; 18] = [
    "id",
    "check",
    "weakness",
    "subject",
    "risk",
    "residual_risk",
    "owner",
    "first_seen",
    "due",
    "status",
    "decision",
    "milestone",
    "evidence_summary",
    "resolved_in",
    "overdue_days",
    "decision_expires",
    "hipaa",
    "past_due_on_report_date",
];

/// Evidence lines in the plan of action are cut here: the full list is in evidence.json.
const SUMMARY_CHARS: usize = 300;

/// The plan of action and milestones (`poam.csv`): every finding with its owner, due date,
/// status and next step, in report order. A finding resolved this period stays, with the
/// period it was resolved in, so the plan shows what was closed as well as what is open.
pub fn poam_csv(e: &Evidence) -> Vec<u8> {
    let rows = sorted_findings(e).into_iter().map(|f| {
        // Evidence written before risk treatment has no plan status: open unless resolved.
        let status = f
            .treatment_status
            .map(|s| s.word())
            .unwrap_or(match f.status {
                Status::Resolved => "resolved",
                _ => "open",
            });
        let resolved_in = if f.status == Status::Resolved {
            e.period.label.clone()
        } else {
            String::new()
        };
        [
            f.id.clone(),
            f.check.clone(),
            f.title.clone(),
            f.subject.clone(),
            f.risk.label().into(),
            f.residual_risk.map(|l| l.label()).unwrap_or("").into(),
            f.owner.clone().unwrap_or_else(|| "(no owner named)".into()),
            f.first_seen.clone(),
            opt_cell(f.due),
            status.into(),
            decision_word(f),
            milestone(f, &e.period.label, e.generated_at.date_naive()),
            evidence_summary(&f.evidence),
            resolved_in,
            opt_cell(f.overdue_days),
            opt_cell(f.treatment.as_ref().and_then(|t| t.entry.expires)),
            f.hipaa.join("; "),
            opt_cell(past_due_on_report_date(f, e)),
        ]
    });
    table("poam.csv", POAM_HEADER, rows)
}

/// Days an open finding's due date lies before the day the report was generated: the plan is
/// read on that day, and a date that passed after the period's end is past due all the same.
fn past_due_on_report_date(f: &Finding, e: &Evidence) -> Option<i64> {
    if !f.is_open() {
        return None;
    }
    let made = e.generated_at.date_naive();
    f.due.filter(|d| *d < made).map(|d| (made - d).num_days())
}

fn evidence_summary(lines: &[String]) -> String {
    let joined = lines
        .iter()
        .take(3)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" | ");
    let mut out: String = joined.chars().take(SUMMARY_CHARS).collect();
    if joined.chars().count() > SUMMARY_CHARS || lines.len() > 3 {
        out.push_str(" …");
    }
    out
}

/// The next step, in words: the decision's own milestone when it gives one, otherwise what
/// the status calls for.
fn milestone(f: &Finding, period: &str, made: chrono::NaiveDate) -> String {
    if let Some(m) = f.treatment.as_ref().and_then(|t| t.entry.milestone.clone())
        && f.status != Status::Resolved
    {
        return m;
    }
    let due = f
        .due
        .map(|d| d.to_string())
        .unwrap_or_else(|| "(no due date)".into());
    match (f.treatment_status, &f.treatment) {
        (Some(TreatmentStatus::Resolved), _) => format!("Resolved in {period}: no longer observed"),
        (Some(TreatmentStatus::Accepted), Some(t)) => format!(
            "Risk accepted until {}: decide again, or remediate, before then",
            opt_cell(t.entry.expires)
        ),
        (_, Some(t)) if t.expired => format!(
            "Acceptance expired {}: remediate by {due}, or renew the acceptance",
            opt_cell(t.entry.expires)
        ),
        (Some(TreatmentStatus::Overdue), _) => {
            format!("Overdue since {due}: remediate now, or record a decision")
        }
        (_, Some(t)) if t.entry.decision == crate::decisions::Decision::Transfer => {
            format!(
                "Transferred ({}); confirm the arrangement by {due}",
                t.entry.justification
            )
        }
        _ if f.is_open() && f.due.is_some_and(|d| d < made) => {
            format!(
                "Past due since {due} (on the report date, {made}): remediate now, or record a decision"
            )
        }
        _ => format!("Remediate by {due}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::finding::Draft;
    use crate::decisions::{Decision, RiskDecision};

    fn rows(bytes: &[u8]) -> Vec<csv::StringRecord> {
        csv::Reader::from_reader(bytes)
            .records()
            .map(|r| r.expect("valid CSV"))
            .collect()
    }

    /// Every status of the plan, its milestone, the resolution period, and cells a spreadsheet
    /// would run as formulas neutralized.
    #[test]
    fn poam_has_every_status_and_is_safe_in_a_spreadsheet() {
        let open = Draft::new("DMARC-003", "a.example")
            .evidence("=HYPERLINK(\"http://evil\")")
            .build("2026-10");
        let overdue = Draft::new("DMARC-001", "b.example").build("2026-05");
        let accepted = Draft::new("SPF-006", "c.example").build("2026-10");
        let mut resolved = Draft::new("SPF-004", "@d.example").build("2026-08");
        resolved.status = crate::evidence::Status::Resolved;
        let mut findings = vec![open, overdue, accepted, resolved];
        let decision = RiskDecision {
            finding: "SPF-006:c.example".into(),
            decision: Decision::Accept,
            justification: "low value".into(),
            approved_by: "CISO".into(),
            approved_on: "2026-10-02".parse().unwrap(),
            expires: Some("2027-04-01".parse().unwrap()),
            compensating_controls: None,
            due: None,
            milestone: None,
            line: 3,
        };
        crate::assess::treatment::apply(
            &mut findings,
            &crate::assess::treatment::Context {
                domains: &[],
                governance: &crate::config::Governance::default(),
                due_days: &crate::config::DueDays::default(),
                month: "2026-10".parse().unwrap(),
                previous: None,
                decisions: &[decision],
                today: "2026-11-01".parse().unwrap(),
            },
        );
        let e = crate::evidence::tests_support::evidence_with(findings, "2026-10");
        let csv = poam_csv(&e);
        let header = csv::Reader::from_reader(csv.as_slice())
            .headers()
            .expect("header")
            .clone();
        assert_eq!(header.iter().collect::<Vec<_>>(), POAM_HEADER);
        let rows = rows(&csv);
        let by = |id: &str| {
            rows.iter()
                .find(|r| r[0].ends_with(id))
                .unwrap_or_else(|| panic!("{id} missing"))
                .clone()
        };
        let col = |name: &str| POAM_HEADER.iter().position(|h| *h == name).unwrap();
        let o = by("DMARC-003:a.example");
        assert_eq!(&o[col("status")], "open");
        assert!(o[col("evidence_summary")].starts_with("'="), "{o:?}");
        assert_eq!(&o[col("owner")], "(no owner named)");
        let od = by("DMARC-001:b.example");
        assert_eq!(&od[col("status")], "overdue");
        assert_eq!(&od[col("due")], "2026-06-30");
        assert_eq!(&od[col("overdue_days")], "123");
        assert!(od[col("milestone")].starts_with("Overdue since 2026-06-30"));
        let a = by("SPF-006:c.example");
        assert_eq!(&a[col("status")], "accepted");
        assert_eq!(&a[col("decision")], "accept");
        assert_eq!(&a[col("decision_expires")], "2027-04-01");
        let r = by("SPF-004:@d.example");
        assert!(r[col("subject")].starts_with("'@"), "{r:?}");
        assert_eq!(&r[col("status")], "resolved");
        assert_eq!(&r[col("resolved_in")], "2026-10");
        assert_eq!(&o[col("past_due_on_report_date")], "", "generated in 1970");

        // Read on a later report date, an open finding due before it is past due there, in
        // its own column and in the next step; an accepted one is not.
        let mut later = e.clone();
        later.generated_at = chrono::DateTime::parse_from_rfc3339("2028-01-01T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let rows = super::tests::rows(&poam_csv(&later));
        let o = rows
            .iter()
            .find(|r| r[0].ends_with("DMARC-003:a.example"))
            .unwrap();
        let due: chrono::NaiveDate = o[col("due")].parse().unwrap();
        let made: chrono::NaiveDate = "2028-01-01".parse().unwrap();
        assert_eq!(
            o[col("past_due_on_report_date")],
            (made - due).num_days().to_string()
        );
        assert!(
            o[col("milestone")].starts_with(&format!("Past due since {due}")),
            "{o:?}"
        );
        let a = rows
            .iter()
            .find(|r| r[0].ends_with("SPF-006:c.example"))
            .unwrap();
        assert_eq!(&a[col("past_due_on_report_date")], "");
    }
}
