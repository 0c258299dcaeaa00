//! `findings.csv`: the findings table for spreadsheets and ticket imports, in the same order
//! as the PDF so a row number means the same thing in both.

use super::sorted_findings;
use crate::evidence::{Evidence, Status};

const HEADER: [&str; 16] = [
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
        ];
        w.write_record(cells.iter().map(|c| neutralize(c).into_owned()))?;
    }
    w.into_inner()
        .map_err(|err| csv::Error::from(err.into_error()))
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
