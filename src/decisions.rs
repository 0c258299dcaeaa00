//! The risk decisions file: management's treatment of individual findings (accept, mitigate,
//! transfer, avoid), per NIST SP 800-30 §3.4 and SP 800-66 §4.
//!
//! A decision is a signed statement an auditor will hold the organization to, so the file is
//! read strictly: an unknown key, a missing approver, a date that is not a date or an
//! acceptance longer than a year stops the run before anything is written, naming the line and
//! the key. Which decisions match which findings is decided later, by the assessment.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Longest an acceptance may run before management must decide again.
pub const MAX_ACCEPTANCE_MONTHS: u32 = 12;

/// A decisions file larger than this is not a hand-kept list of decisions.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The four risk responses of SP 800-30 (Task 5 output feeds SP 800-39's risk response).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The risk is within tolerance: the finding leaves the open counts until `expires`.
    Accept,
    /// The remediation is planned or under way (the default for a finding with no decision).
    Mitigate,
    /// Another party carries the consequence (insurance, a contract); the weakness remains.
    Transfer,
    /// The activity that causes the risk stops (a vendor is dropped, a domain retired).
    Avoid,
}

impl Decision {
    pub fn word(self) -> &'static str {
        match self {
            Decision::Accept => "accept",
            Decision::Mitigate => "mitigate",
            Decision::Transfer => "transfer",
            Decision::Avoid => "avoid",
        }
    }

    fn parse(s: &str) -> Option<Decision> {
        match s.trim().to_ascii_lowercase().as_str() {
            "accept" => Some(Decision::Accept),
            "mitigate" => Some(Decision::Mitigate),
            "transfer" => Some(Decision::Transfer),
            "avoid" => Some(Decision::Avoid),
            _ => None,
        }
    }
}

/// One validated `[[decision]]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskDecision {
    /// The finding id it is about (`CHECK:subject`, as in evidence.json and findings.csv).
    pub finding: String,
    pub decision: Decision,
    pub justification: String,
    pub approved_by: String,
    pub approved_on: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compensating_controls: Option<String>,
    /// Overrides the computed due date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<NaiveDate>,
    /// The next step of the plan of action, in the organization's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub milestone: Option<String>,
    /// 1-based line of the `[[decision]]` header in the file.
    pub line: usize,
}

/// The decisions file as read: where it came from and what it says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decisions {
    pub entries: Vec<RiskDecision>,
}

#[derive(Debug, thiserror::Error)]
pub enum DecisionsError {
    #[error(
        "cannot read the risk decisions file {path}: {cause}; fix `risk_decisions` in the config or create the file"
    )]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}: {size} bytes is too large for a risk decisions file (at most 4 MiB)")]
    TooLarge { path: PathBuf, size: u64 },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    decision: Vec<Spanned<RawDecision>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDecision {
    finding: Spanned<String>,
    decision: Spanned<String>,
    justification: Spanned<String>,
    approved_by: Spanned<String>,
    approved_on: Spanned<toml::Value>,
    expires: Option<Spanned<toml::Value>>,
    compensating_controls: Option<Spanned<String>>,
    due: Option<Spanned<toml::Value>>,
    milestone: Option<Spanned<String>>,
}

/// Reads and validates the file.
pub fn load(path: &Path) -> Result<(Decisions, Vec<u8>), DecisionsError> {
    let read = |cause| DecisionsError::Read {
        path: path.to_path_buf(),
        cause,
    };
    let meta = std::fs::metadata(path).map_err(read)?;
    if !meta.is_file() {
        return Err(read(std::io::Error::other("not a regular file")));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(DecisionsError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
        });
    }
    let bytes = std::fs::read(path).map_err(read)?;
    let text = std::str::from_utf8(&bytes).map_err(|e| DecisionsError::Invalid {
        path: path.to_path_buf(),
        line: line_of(&bytes, e.valid_up_to()),
        message: "not UTF-8 text; save the file as UTF-8".into(),
    })?;
    let decisions = parse(text).map_err(|(line, message)| DecisionsError::Invalid {
        path: path.to_path_buf(),
        line,
        message,
    })?;
    Ok((decisions, bytes))
}

fn line_of(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Parses and validates the text of a decisions file; an error is (line, message).
pub fn parse(text: &str) -> Result<Decisions, (usize, String)> {
    let line = |offset: usize| line_of(text.as_bytes(), offset);
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| line(s.start)).unwrap_or(1);
        let mut msg = e.message().trim().to_string();
        if msg.starts_with("unknown field") {
            msg.push_str(
                " (a [[decision]] takes finding, decision, justification, approved_by, approved_on, expires, compensating_controls, due, milestone)",
            );
        }
        (at, msg)
    })?;
    let mut entries: Vec<RiskDecision> = Vec::with_capacity(raw.decision.len());
    for table in raw.decision {
        let header = line(table.span().start);
        let d = table.into_inner();
        let at = |s: std::ops::Range<usize>| line(s.start);

        let finding = d.finding.get_ref().trim().to_string();
        let fl = at(d.finding.span());
        let (check, subject) = finding.split_once(':').unwrap_or((finding.as_str(), ""));
        if subject.trim().is_empty() {
            return Err((
                fl,
                format!(
                    "`finding` = {finding:?} is not a finding id: write it as in evidence.json or findings.csv, CHECK:subject (e.g. \"DMARC-003:example.org\")"
                ),
            ));
        }
        if crate::assess::catalog::get(check).is_none() {
            return Err((
                fl,
                format!(
                    "`finding` = {finding:?}: {check:?} is not a check id of the catalog (e.g. DMARC-003, SPF-005, VEN-001)"
                ),
            ));
        }
        let decision = Decision::parse(d.decision.get_ref()).ok_or_else(|| {
            (
                at(d.decision.span()),
                format!(
                    "`decision` = {:?} must be one of accept, mitigate, transfer, avoid",
                    d.decision.get_ref()
                ),
            )
        })?;
        let required = |v: &Spanned<String>, key: &str| -> Result<String, (usize, String)> {
            let s = v.get_ref().trim();
            if s.is_empty() {
                Err((
                    at(v.span()),
                    format!("`{key}` is empty: a decision must say {}", what(key)),
                ))
            } else {
                Ok(s.to_string())
            }
        };
        let justification = required(&d.justification, "justification")?;
        let approved_by = required(&d.approved_by, "approved_by")?;
        let approved_on = date(&d.approved_on, "approved_on", &line)?;
        let expires = d
            .expires
            .as_ref()
            .map(|v| date(v, "expires", &line))
            .transpose()?;
        let expires_line = d.expires.as_ref().map(|v| at(v.span())).unwrap_or(header);
        if let Some(exp) = expires
            && exp <= approved_on
        {
            return Err((
                expires_line,
                format!("`expires` = {exp} is not after `approved_on` = {approved_on}"),
            ));
        }
        if decision == Decision::Accept {
            let Some(exp) = expires else {
                return Err((
                    header,
                    format!(
                        "decision for {finding}: `expires` is required for an acceptance (at most {MAX_ACCEPTANCE_MONTHS} months after approved_on)"
                    ),
                ));
            };
            let limit = approved_on
                .checked_add_months(Months::new(MAX_ACCEPTANCE_MONTHS))
                .unwrap_or(NaiveDate::MAX);
            if exp > limit {
                return Err((
                    expires_line,
                    format!(
                        "`expires` = {exp} is more than {MAX_ACCEPTANCE_MONTHS} months after `approved_on` = {approved_on}: an acceptance is valid for at most a year (latest {limit}); renew it with a new approval instead"
                    ),
                ));
            }
        }
        let optional = |v: &Option<Spanned<String>>| {
            v.as_ref()
                .map(|s| s.get_ref().trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let due = d.due.as_ref().map(|v| date(v, "due", &line)).transpose()?;
        if let Some(prev) = entries.iter().find(|e| e.finding == finding) {
            return Err((
                fl,
                format!(
                    "{finding} already has a decision at line {}: keep one decision per finding",
                    prev.line
                ),
            ));
        }
        entries.push(RiskDecision {
            finding,
            decision,
            justification,
            approved_by,
            approved_on,
            expires,
            compensating_controls: optional(&d.compensating_controls),
            due,
            milestone: optional(&d.milestone),
            line: header,
        });
    }
    Ok(Decisions { entries })
}

fn what(key: &str) -> &'static str {
    match key {
        "justification" => "why the risk is treated this way",
        _ => "who approved it",
    }
}

/// A TOML date (`2026-09-15`) or a quoted one (`"2026-09-15"`); nothing else.
fn date(
    v: &Spanned<toml::Value>,
    key: &str,
    line: &dyn Fn(usize) -> usize,
) -> Result<NaiveDate, (usize, String)> {
    let bad = || {
        (
            line(v.span().start),
            format!(
                "`{key}` = {} is not a date: write it as YYYY-MM-DD, e.g. {key} = 2026-09-15",
                v.get_ref()
            ),
        )
    };
    match v.get_ref() {
        toml::Value::Datetime(dt) if dt.time.is_none() && dt.offset.is_none() => {
            let d = dt.date.ok_or_else(bad)?;
            NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
                .ok_or_else(bad)
        }
        toml::Value::String(s) => {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
# Risk decisions of Riverside Health System
[[decision]]
finding = "DMARC-003:riversidecares.example"
decision = "accept"
justification = "Marketing domain; quarantine after the newsletter vendor migration"
approved_by = "Dana Ortiz, Security Officer"
approved_on = 2026-09-15
expires = 2027-03-15
compensating_controls = "Inbound gateway quarantines look-alike mail"

[[decision]]
finding = "VEN-001:PayNotice"
decision = "Transfer"
justification = "Cyber insurance rider covers billing-notice misuse"
approved_by = "CFO"
approved_on = "2026-08-01"
due = 2026-12-31
milestone = "BAA renewal signed"
"#;

    #[test]
    fn a_good_file_reads_every_key() {
        let d = parse(GOOD).unwrap();
        assert_eq!(d.entries.len(), 2);
        let a = &d.entries[0];
        assert_eq!(a.decision, Decision::Accept);
        assert_eq!(a.line, 3);
        assert_eq!(a.expires, NaiveDate::from_ymd_opt(2027, 3, 15));
        assert_eq!(
            a.compensating_controls.as_deref(),
            Some("Inbound gateway quarantines look-alike mail")
        );
        let t = &d.entries[1];
        assert_eq!(t.decision, Decision::Transfer);
        assert_eq!(t.approved_on, NaiveDate::from_ymd_opt(2026, 8, 1).unwrap());
        assert_eq!(t.due, NaiveDate::from_ymd_opt(2026, 12, 31));
        assert_eq!(t.milestone.as_deref(), Some("BAA renewal signed"));
        assert_eq!(t.line, 12);
        assert_eq!(parse("").unwrap().entries.len(), 0);
    }

    /// Every way the file can be wrong names the line and the key.
    #[test]
    fn every_error_names_its_line_and_key() {
        let cases: &[(&str, &str, usize, &str)] = &[
            (
                "decision = \"accept\"",
                "decision = \"acept\"",
                5,
                "`decision`",
            ),
            (
                "approved_by = \"Dana Ortiz, Security Officer\"",
                "approvd_by = \"x\"",
                7,
                "approvd_by",
            ),
            (
                "approved_by = \"Dana Ortiz, Security Officer\"",
                "approved_by = \"  \"",
                7,
                "`approved_by` is empty",
            ),
            (
                "justification = \"Marketing domain; quarantine after the newsletter vendor migration\"",
                "justification = \"\"",
                6,
                "`justification` is empty",
            ),
            (
                "approved_on = 2026-09-15",
                "approved_on = 2026-13-15",
                8,
                "",
            ),
            (
                "approved_on = 2026-09-15",
                "approved_on = \"15/09/2026\"",
                8,
                "`approved_on`",
            ),
            (
                "approved_on = 2026-09-15",
                "approved_on = 2026-09-15T10:00:00Z",
                8,
                "`approved_on`",
            ),
            (
                "expires = 2027-03-15",
                "expires = 2027-09-16",
                9,
                "at most a year",
            ),
            (
                "expires = 2027-03-15",
                "expires = 2026-09-15",
                9,
                "not after `approved_on`",
            ),
            ("expires = 2027-03-15", "", 3, "`expires` is required"),
            ("expires = 2027-03-15", "expires = 15", 9, "`expires`"),
            (
                "finding = \"DMARC-003:riversidecares.example\"",
                "finding = \"DMARC-003\"",
                4,
                "not a finding id",
            ),
            (
                "finding = \"DMARC-003:riversidecares.example\"",
                "finding = \"DMARC-300:x.example\"",
                4,
                "not a check id",
            ),
            (
                "finding = \"DMARC-003:riversidecares.example\"",
                "finding = \"VEN-001:PayNotice\"",
                13,
                "already has a decision at line 3",
            ),
            ("due = 2026-12-31", "due = \"soon\"", 18, "`due`"),
            (
                "[[decision]]\nfinding = \"DMARC",
                "[[decisions]]\nfinding = \"DMARC",
                3,
                "decisions",
            ),
        ];
        for (from, to, line, needle) in cases {
            assert!(GOOD.contains(from), "case does not apply: {from}");
            let text = GOOD.replacen(from, to, 1);
            let (l, msg) = parse(&text).expect_err(to);
            assert_eq!(l, *line, "{to}: {msg}");
            assert!(msg.contains(needle), "{to}: {msg}");
        }
        // A missing required key names the key.
        let text = GOOD.replacen("approved_by = \"CFO\"\n", "", 1);
        let (l, msg) = parse(&text).unwrap_err();
        assert!(msg.contains("approved_by"), "{msg}");
        assert!((12..=18).contains(&l), "{l}");
    }

    #[test]
    fn twelve_months_to_the_day_is_the_longest_acceptance() {
        let text = GOOD.replacen("expires = 2027-03-15", "expires = 2027-09-15", 1);
        assert!(parse(&text).is_ok());
        // 29 February plus a year is 28 February.
        let text = GOOD
            .replacen("approved_on = 2026-09-15", "approved_on = 2024-02-29", 1)
            .replacen("expires = 2027-03-15", "expires = 2025-03-01", 1);
        let (_, msg) = parse(&text).unwrap_err();
        assert!(msg.contains("latest 2025-02-28"), "{msg}");
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("decisions.toml");
        std::fs::write(&p, GOOD.replacen("accept", "acept", 1)).unwrap();
        let err = load(&p).unwrap_err().to_string();
        assert!(err.contains("decisions.toml:5:"), "{err}");
        let err = load(&dir.path().join("none.toml")).unwrap_err().to_string();
        assert!(
            err.contains("none.toml") && err.contains("risk_decisions"),
            "{err}"
        );
        std::fs::write(&p, b"[[decision]]\nfinding = \"\xff\"\n").unwrap();
        let err = load(&p).unwrap_err().to_string();
        assert!(err.contains(":2:") && err.contains("UTF-8"), "{err}");
    }
}
