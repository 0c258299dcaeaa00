//! Building findings from catalog entries, with context-dependent ratings.

use super::catalog;
use super::risk::{Level, Severity, risk};
use crate::evidence::{Finding, Status};

/// A finding under construction: starts from the catalog defaults, then context (PHI,
/// observed abuse, domain role) adjusts likelihood, impact and severity.
pub struct Draft {
    check: &'static catalog::Check,
    subject: String,
    domain: Option<String>,
    title: Option<String>,
    severity: Severity,
    likelihood: Level,
    impact: Level,
    evidence: Vec<String>,
    remediation: Option<String>,
}

impl Draft {
    /// `id` must be a catalogued check; an unknown id is a programming error caught by tests,
    /// and falls back to DNS-001 rather than panicking at run time.
    pub fn new(id: &str, subject: impl Into<String>) -> Draft {
        let check = catalog::get(id).unwrap_or(&catalog::CATALOG[0]);
        debug_assert_eq!(check.id, id, "check {id} is not in the catalog");
        Draft {
            check,
            subject: subject.into(),
            domain: None,
            title: None,
            severity: check.severity,
            likelihood: check.likelihood,
            impact: check.impact,
            evidence: Vec::new(),
            remediation: None,
        }
    }

    pub fn domain(mut self, d: &str) -> Self {
        self.domain = Some(d.to_string());
        self
    }
    pub fn title(mut self, t: impl Into<String>) -> Self {
        self.title = Some(t.into());
        self
    }
    pub fn severity(mut self, s: Severity) -> Self {
        self.severity = s;
        self
    }
    pub fn likelihood(mut self, l: Level) -> Self {
        self.likelihood = l;
        self
    }
    pub fn impact(mut self, i: Level) -> Self {
        self.impact = i;
        self
    }
    pub fn evidence(mut self, e: impl Into<String>) -> Self {
        self.evidence.push(e.into());
        self
    }
    pub fn evidence_all(mut self, e: impl IntoIterator<Item = String>) -> Self {
        self.evidence.extend(e);
        self
    }
    pub fn remediation(mut self, r: impl Into<String>) -> Self {
        self.remediation = Some(r.into());
        self
    }

    pub fn build(self, period: &str) -> Finding {
        Finding {
            id: format!("{}:{}", self.check.id, self.subject),
            check: self.check.id.to_string(),
            subject: self.subject,
            domain: self.domain,
            title: self.title.unwrap_or_else(|| self.check.title.to_string()),
            severity: self.severity,
            likelihood: self.likelihood,
            impact: self.impact,
            risk: risk(self.likelihood, self.impact),
            hipaa: self.check.hipaa.iter().map(|s| s.to_string()).collect(),
            authority: self.check.authority.to_string(),
            evidence: self.evidence,
            remediation: self
                .remediation
                .unwrap_or_else(|| self.check.remediation.to_string()),
            status: Status::New,
            first_seen: period.to_string(),
        }
    }
}

/// Impact of a weakness on a domain of this role (CHECKS.md §3: PHI and patient-facing
/// domains are High or above, marketing-only domains Moderate).
pub fn role_impact(role: crate::config::Role, catalog_impact: Level) -> Level {
    use crate::config::Role;
    match role {
        Role::Patient => catalog_impact.max(Level::High),
        Role::Workforce | Role::Parked => catalog_impact,
        Role::Marketing => catalog_impact.min(Level::Moderate),
    }
}

/// Orders findings for the report: highest risk first, then severity, check and subject.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (a.status == Status::Resolved)
            .cmp(&(b.status == Status::Resolved))
            .then(b.risk.cmp(&a.risk))
            .then(b.severity.cmp(&a.severity))
            .then(a.check.cmp(&b.check))
            .then(a.subject.cmp(&b.subject))
    });
}
