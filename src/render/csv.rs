//! `findings.csv`: the findings table for spreadsheets and ticket imports, in the same order
//! as the PDF so a row number means the same thing in both.

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

fn write_all(e: &Evidence) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(HEADER)?;
    for f in sorted_findings(e) {
        let hipaa = f.hipaa.join("; ");
        let evidence = f.evidence.join(" | ");
        let due = f.due.map(|d| d.to_string()).unwrap_or_default();
        let overdue = f.overdue_days.map(|d| d.to_string()).unwrap_or_default();
        let decision = decision_word(f);
        let cells = [
            f.id.as_str(),
            f.check.as_str(),
            f.subject.as_str(),
            f.domain.as_deref().unwrap_or(""),
            f.title.as_str(),
            f.severity.label(),
            f.likelihood.label(),
            f.impact.label(),
            f.risk.label(),
            status_word(f.status),
            f.first_seen.as_str(),
            hipaa.as_str(),
            evidence.as_str(),
            f.remediation.as_str(),
            f.residual_risk.map(|l| l.label()).unwrap_or(""),
            f.owner.as_deref().unwrap_or(""),
            due.as_str(),
            overdue.as_str(),
            decision.as_str(),
            f.treatment_status.map(|s| s.word()).unwrap_or(""),
        ];
        w.write_record(cells.iter().map(|c| neutralize(c).into_owned()))?;
    }
    w.into_inner()
        .map_err(|err| csv::Error::from(err.into_error()))
}

/// The decision as one word, marked when an acceptance ran out.
fn decision_word(f: &Finding) -> String {
    match &f.treatment {
        Some(t) if t.expired => format!(
            "{} (expired {})",
            t.decision.word(),
            t.expires.map(|d| d.to_string()).unwrap_or_default()
        ),
        Some(t) => t.decision.word().to_string(),
        None => String::new(),
    }
}

const POAM_HEADER: [&str; 17] = [
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
];

/// Evidence lines in the plan of action are cut here: the full list is in evidence.json.
const SUMMARY_CHARS: usize = 300;

/// The plan of action and milestones (`poam.csv`): every finding with its owner, due date,
/// status and next step, in report order. A finding resolved this period stays, with the
/// period it was resolved in, so the plan shows what was closed as well as what is open.
pub fn poam_csv(e: &Evidence) -> Vec<u8> {
    write_poam(e).unwrap_or_else(|err| {
        tracing::error!(%err, "poam.csv serialization failed");
        let mut v = POAM_HEADER.join(",").into_bytes();
        v.extend_from_slice(b"\r\n");
        v
    })
}

fn write_poam(e: &Evidence) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(POAM_HEADER)?;
    for f in sorted_findings(e) {
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
        let due = f.due.map(|d| d.to_string()).unwrap_or_default();
        let overdue = f.overdue_days.map(|d| d.to_string()).unwrap_or_default();
        let expires = f
            .treatment
            .as_ref()
            .and_then(|t| t.expires)
            .map(|d| d.to_string())
            .unwrap_or_default();
        let summary = evidence_summary(&f.evidence);
        let cells = [
            f.id.as_str(),
            f.check.as_str(),
            f.title.as_str(),
            f.subject.as_str(),
            f.risk.label(),
            f.residual_risk.map(|l| l.label()).unwrap_or(""),
            f.owner.as_deref().unwrap_or("(no owner named)"),
            f.first_seen.as_str(),
            due.as_str(),
            status,
            &decision_word(f),
            &milestone(f, &e.period.label),
            summary.as_str(),
            resolved_in.as_str(),
            overdue.as_str(),
            expires.as_str(),
            &f.hipaa.join("; "),
        ];
        w.write_record(cells.iter().map(|c| neutralize(c).into_owned()))?;
    }
    w.into_inner()
        .map_err(|err| csv::Error::from(err.into_error()))
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
pub fn milestone(f: &Finding, period: &str) -> String {
    if let Some(m) = f.treatment.as_ref().and_then(|t| t.milestone.clone())
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
            t.expires.map(|d| d.to_string()).unwrap_or_default()
        ),
        (_, Some(t)) if t.expired => format!(
            "Acceptance expired {}: remediate by {due}, or renew the acceptance",
            t.expires.map(|d| d.to_string()).unwrap_or_default()
        ),
        (Some(TreatmentStatus::Overdue), _) => {
            format!("Overdue since {due}: remediate now, or record a decision")
        }
        (_, Some(t)) if t.decision == crate::decisions::Decision::Transfer => {
            format!(
                "Transferred ({}); confirm the arrangement by {due}",
                t.justification
            )
        }
        _ => format!("Remediate by {due}"),
    }
}

/// Every finding, resolved ones included (status `resolved`), as RFC 4180 CSV with a header
/// row. Writing to memory cannot fail; should it ever, the error is logged and only the
/// header is returned rather than a half-written table.
pub fn findings_csv(e: &Evidence) -> Vec<u8> {
    write_all(e).unwrap_or_else(|err| {
        tracing::error!(%err, "findings.csv serialization failed");
        let mut v = HEADER.join(",").into_bytes();
        v.extend_from_slice(b"\r\n");
        v
    })
}
