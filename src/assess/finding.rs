//! Building findings from catalog entries. A check states what it saw ([`Basis`]); the rating
//! rule in [`super::rating`] turns that into likelihood and impact for every finding alike.

use super::basis::{Basis, Harm, Reach};
use super::catalog;
use super::risk::{Level, Severity, risk};
use crate::evidence::{Finding, Status};

/// A finding under construction: the catalog entry, what the check saw, and its evidence.
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
    owner: Option<String>,
    authority: Option<String>,
    basis: Basis,
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
            // Placeholders: the rating rule sets both for every finding of a run.
            impact: Level::High,
            evidence: Vec::new(),
            remediation: None,
            owner: None,
            authority: None,
            basis: Basis::default(),
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
    /// Test fixtures only: in a run, the rating rule sets likelihood and impact.
    #[cfg(test)]
    pub fn likelihood(mut self, l: Level) -> Self {
        self.likelihood = l;
        self
    }
    #[cfg(test)]
    pub fn impact(mut self, i: Level) -> Self {
        self.impact = i;
        self
    }
    /// The inventory vendor the finding is about: the rule reads its PHI flag and traffic.
    pub fn vendor(mut self, name: &str) -> Self {
        self.basis.vendor = Some(name.to_string());
        self
    }
    /// Messages of the stream this period (0: the rule lowers a delivery finding's likelihood).
    pub fn messages(mut self, n: u64) -> Self {
        self.basis.messages = Some(n);
        self
    }
    /// Forged messages whose From: was a subdomain (RPT-001): the subdomain gaps they use.
    pub fn subdomain_messages(mut self, n: u64) -> Self {
        self.basis.subdomain_messages = Some(n);
        self
    }
    /// The domain whose SPF error alone makes this stream fail (RPT-002): its root cause.
    pub fn spf_error_domain(mut self, d: &str) -> Self {
        self.basis.spf_error_domain = Some(d.to_string());
        self
    }
    /// `reach`, when the check found one.
    pub fn reach_if(self, r: Option<(Reach, String)>) -> Self {
        match r {
            Some((r, why)) => self.reach(r, why),
            None => self,
        }
    }
    /// The party that receives data (e.g. a failure-report processor), for the threat.
    pub fn party(mut self, name: &str) -> Self {
        self.basis.party = Some(name.to_string());
        self
    }
    /// Forged messages receivers delivered (RPT-001): whether a partial policy held.
    pub fn delivered(mut self, n: u64) -> Self {
        self.basis.delivered = Some(n);
        self
    }
    /// Whether PHI may ride on the stream when no inventory vendor says.
    pub fn phi(mut self, phi: Option<bool>) -> Self {
        self.basis.phi = phi;
        self
    }
    /// The harm when it differs from the check's usual one.
    /// The gap reaches only subdomains (see [`super::basis::Basis::subdomains_only`]).
    pub fn subdomains_only(mut self) -> Self {
        self.basis.subdomains_only = true;
        self
    }

    /// The disclosure is on the network path, not to a party (see [`Basis::in_transit`]).
    pub fn in_transit(mut self) -> Self {
        self.basis.in_transit = true;
        self
    }

    pub fn harm(mut self, h: Harm) -> Self {
        self.basis.harm = Some(h);
        self
    }
    /// Exploitability known better than the catalog's, with the fact behind it.
    pub fn exposure(mut self, l: Level, why: impl Into<String>) -> Self {
        self.basis.exposure = Some((l, why.into()));
        self
    }
    /// How far the gap reaches, with the fact behind it.
    pub fn reach(mut self, r: Reach, why: impl Into<String>) -> Self {
        self.basis.reach = Some((r, why.into()));
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

    /// The technical authority for this finding when it is narrower than the catalog's (e.g.
    /// the one record type a removal concerns).
    pub fn authority(mut self, a: impl Into<String>) -> Self {
        self.authority = Some(a.into());
        self
    }

    pub fn owner(mut self, o: &str) -> Self {
        if !o.trim().is_empty() {
            self.owner = Some(o.trim().to_string());
        }
        self
    }

    pub fn build(self, period: &str) -> Finding {
        let residual_likelihood =
            super::rating::residual_likelihood(self.check.id, self.likelihood);
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
            authority: self
                .authority
                .unwrap_or_else(|| self.check.authority.to_string()),
            evidence: self.evidence,
            remediation: self
                .remediation
                .unwrap_or_else(|| self.check.remediation.to_string()),
            status: Status::New,
            first_seen: period.to_string(),
            residual_likelihood: Some(residual_likelihood),
            residual_risk: Some(risk(residual_likelihood, self.impact)),
            owner: self.owner,
            due: None,
            due_basis: None,
            due_extended_days: None,
            overdue_days: None,
            treatment: None,
            treatment_status: None,
            threat: None,
            likelihood_reason: None,
            impact_reason: None,
            cause: None,
            basis: self.basis,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn residual_risk_follows_remediation() {
        let f = Draft::new("DMARC-001", "a.example").build("2026-10");
        assert_eq!(
            (f.likelihood, f.impact, f.risk),
            (Level::High, Level::High, Level::High)
        );
        assert_eq!(f.residual_likelihood, Some(Level::Low));
        assert_eq!(f.residual_risk, Some(Level::Low));
        let s = Draft::new("RPT-001", "a.example")
            .likelihood(Level::VeryHigh)
            .impact(Level::VeryHigh)
            .build("2026-10");
        assert_eq!(s.residual_likelihood, Some(Level::Moderate));
        assert_eq!(s.residual_risk, Some(Level::High));
        let low = Draft::new("SPF-006", "a.example").build("2026-10");
        assert_eq!(
            low.residual_likelihood,
            Some(Level::Low),
            "never raised above inherent"
        );
        assert_eq!(
            Draft::new("VEN-001", "V").owner("  ").build("x").owner,
            None
        );
        assert_eq!(
            Draft::new("VEN-001", "V")
                .owner("IT (J. Doe)")
                .build("x")
                .owner
                .as_deref(),
            Some("IT (J. Doe)")
        );
    }
}
