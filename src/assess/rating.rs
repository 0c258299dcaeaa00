//! The one rating rule. Every finding's likelihood and impact are set here, from the same
//! facts and in the same order, with a one-line reason for each and a threat statement in
//! NIST SP 800-30 terms (threat source from Table D-2, threat event in the words of Tables E-2
//! and E-3). A check never sets a rating of its own: it only states what it saw (the stream,
//! its traffic, how far a gap reaches), so an auditor can check every rating against the rule
//! printed in the report's method section.
//!
//! The rule, in order:
//! 1. **Impact** follows the harm the check guards against and the asset it touches:
//!    - the asset is the domain's role: patient-facing and workforce domains, and any domain an
//!      inventory vendor sends PHI from, are High; marketing domains without PHI and parked
//!      domains are Moderate; findings about no one domain are Moderate;
//!    - forgery and key compromise take the asset level;
//!    - a gap that reaches only part of the mail is one step lower, one that reaches almost none
//!      two steps lower;
//!    - failed delivery of our own mail is High for a PHI stream, else one step below the asset;
//!    - disclosure is Very High when PHI certainly reaches the party, High when it may;
//!      disclosure on the network path (mail to us in sessions that failed TLS, TLSRPT-002)
//!      takes the asset level, since what crossed the wire is whatever the domain receives;
//!    - lost visibility is Moderate, High when it hides a PHI vendor; record hygiene is Low.
//! 2. **Likelihood** starts from the check's exploitability (CHECKS.md), capped at High:
//!    - Very High is kept for an occurrence seen in this period's reports: forged mail using
//!      the domain (for the gaps forged mail uses), or a PHI vendor's mail flowing without a BAA;
//!    - a finding about failed delivery of a stream that sent nothing this period drops to
//!      Low (an authorization left for a vendor that stopped sending keeps its likelihood: the
//!      threat is others' use of it, not the vendor's own mail);
//!    - each declared existing control that names the check lowers it one step.

use super::basis::{Harm, Reach};
use super::risk::Level;
use crate::config::{ControlConfig, DomainConfig, Role};
use crate::evidence::Finding;
use crate::inventory::Inventory;
use std::collections::{BTreeMap, BTreeSet};

/// The organization-wide facts the rule reads.
pub struct Facts<'a> {
    pub domains: &'a [DomainConfig],
    pub inventory: &'a Inventory,
    /// Messages per inventory vendor in the period (vendor → (messages, DMARC pass)).
    pub vendor_volume: &'a BTreeMap<String, (u64, u64)>,
    /// Configured domains with at least one report row this period.
    pub covered: &'a BTreeSet<String>,
    /// Whether any report was read this period.
    pub any_reports: bool,
    pub controls: &'a [ControlConfig],
    /// Messages per configured domain whose SPF check of its record ended in an error.
    pub spf_errors: &'a BTreeMap<String, u64>,
    /// Messages per configured domain that receivers checked against its SPF record.
    pub spf_checked: &'a BTreeMap<String, u64>,
    /// The SPF (MAIL FROM) domains receivers checked for each vendor's mail this period.
    pub vendor_spf: &'a BTreeMap<String, BTreeSet<String>>,
    /// The period's last day: a vendor whose contract ended by then sends nothing of ours.
    pub period_end: chrono::NaiveDate,
    /// Domains whose DMARC policy was raised between the previous snapshot and this one, with
    /// the first day this period's reports show receivers applying quarantine or reject: the
    /// period's dispositions mix the old policy and the new.
    pub policy_raised: &'a BTreeMap<String, Option<chrono::NaiveDate>>,
    /// Earlier periods whose assessment recorded forged mail using a domain (RPT-001), with
    /// that month's DMARC-failing messages: abuse seen before is not ruled out by silence now.
    pub past_abuse: &'a BTreeMap<String, Vec<(crate::period::Month, u64)>>,
}

/// The rule's outcome for one finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Rating {
    pub likelihood: Level,
    pub impact: Level,
    pub threat: String,
    pub likelihood_reason: String,
    pub impact_reason: String,
}

/// Likelihood once the remediation is done. Fixing a record or signing a BAA removes the
/// weakness, leaving a Low likelihood of a new failure (misconfiguration, drift). Active
/// spoofing (RPT-001) goes on after enforcement — it is refused, so Moderate. Impact is unchanged:
/// remediation lowers the chance of harm, not its size.
pub fn residual_likelihood(check: &str, inherent: Level) -> Level {
    let floor = if check == "RPT-001" {
        Level::Moderate
    } else {
        Level::Low
    };
    inherent.min(floor)
}

/// Rates every finding built this period. Forged mail seen in reports (RPT-001) raises the
/// likelihood of the gaps it uses on the same domain, so RPT-001 findings are read first.
pub fn apply(findings: &mut [Finding], facts: &Facts<'_>) {
    let abuse: BTreeMap<String, Abuse> = findings
        .iter()
        .filter(|f| f.check == "RPT-001")
        .filter_map(|f| {
            Some((
                f.domain.clone()?,
                Abuse {
                    messages: f.basis.messages.unwrap_or(0),
                    subdomain: f.basis.subdomain_messages.unwrap_or(0),
                    delivered: f.basis.delivered.unwrap_or(0),
                },
            ))
        })
        .collect();
    for f in findings.iter_mut() {
        let r = rate(f, facts, &abuse);
        f.likelihood = r.likelihood;
        f.impact = r.impact;
        f.risk = super::risk::risk(r.likelihood, r.impact);
        // Forgery that continues after the fix is refused, not gone (Moderate, as for RPT-001).
        let residual = if r.likelihood == Level::VeryHigh && forgery_uses(&f.check) {
            Level::Moderate
        } else {
            residual_likelihood(&f.check, r.likelihood)
        };
        f.residual_likelihood = Some(residual);
        f.residual_risk = Some(super::risk::risk(residual, r.impact));
        let carries_ephi = f.domain.as_deref().is_none_or(|d| {
            matches!(
                role_of(facts, d),
                Some(Role::Patient | Role::Workforce) | None
            ) || !phi_vendors(facts, d).is_empty()
        });
        f.hipaa = super::hipaa::fit_to_asset(&f.hipaa, carries_ephi);
        f.threat = Some(r.threat);
        f.likelihood_reason = Some(r.likelihood_reason);
        f.impact_reason = Some(r.impact_reason);
    }
}

fn role_of(facts: &Facts<'_>, domain: &str) -> Option<Role> {
    facts
        .domains
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(domain))
        .map(|d| d.role)
}

/// Inventory vendors flagged `phi = yes` that send as this domain.
fn phi_vendors<'a>(facts: &'a Facts<'_>, domain: &str) -> Vec<&'a str> {
    phi_vendors_in(facts.inventory, facts.period_end, domain)
}

fn phi_vendors_in<'a>(
    inventory: &'a Inventory,
    period_end: chrono::NaiveDate,
    domain: &str,
) -> Vec<&'a str> {
    inventory
        .vendors
        .iter()
        .filter(|v| v.phi == Some(true) && v.domains.iter().any(|d| d.eq_ignore_ascii_case(domain)))
        .filter(|v| !v.ended_by(period_end))
        .map(|v| v.vendor.as_str())
        .collect()
}

/// Whether a domain carries PHI by the asset test of this rule (a patient-facing or workforce
/// role, or a current PHI vendor sending as it), for checks whose severity follows the asset
/// as their impact does, so the two never disagree.
pub fn domain_carries_phi(
    domains: &[DomainConfig],
    inventory: &Inventory,
    period_end: chrono::NaiveDate,
    domain: &str,
) -> bool {
    let role = domains
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(domain))
        .map(|d| d.role);
    matches!(role, Some(Role::Patient | Role::Workforce))
        || !phi_vendors_in(inventory, period_end, domain).is_empty()
}

/// The inventory's current PHI vendors listed for `domain`: the streams a record failure on
/// that domain could stop.
fn phi_vendors_on<'a>(
    facts: &Facts<'a>,
    domain: &'a str,
) -> impl Iterator<Item = &'a crate::inventory::Vendor> {
    let period_end = facts.period_end;
    facts.inventory.vendors.iter().filter(move |v| {
        v.phi == Some(true)
            && v.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
            && !v.ended_by(period_end)
    })
}

/// PHI vendors on the domain that list no DKIM selector under it and no signing domain of
/// ours: DMARC can pass for them only through SPF.
fn spf_reliant(facts: &Facts<'_>, domain: &str) -> Vec<String> {
    let ours = |n: &str| n == domain || n.ends_with(&format!(".{domain}"));
    phi_vendors_on(facts, domain)
        // A vendor with no SPF authorization listed and no mail seen does not send through it
        // (a report processor that only receives, say).
        .filter(|v| {
            !v.spf_includes.is_empty()
                || !v.ip_ranges.is_empty()
                || facts.vendor_volume.get(&v.vendor).is_some_and(|x| x.0 > 0)
        })
        // A vendor whose mail receivers checked against another MAIL FROM does not use it.
        .filter(|v| {
            facts
                .vendor_spf
                .get(&v.vendor)
                .is_none_or(|seen| seen.iter().any(|d| d == domain))
        })
        .filter(|v| {
            v.dkim_selectors.is_empty()
                || !v.dkim_domains.iter().any(|d| ours(d)) && !v.dkim_domains.is_empty()
        })
        .map(|v| v.vendor.clone())
        .collect()
}

/// For each PHI stream on `domain` that does not rely on its SPF record, the reason, in the
/// evidence's own terms: the MAIL FROM receivers checked instead, or the DKIM selector the
/// inventory lists (a selector whose key is missing is its own finding, DKIM-001).
fn why_not_spf(facts: &Facts<'_>, domain: &str) -> String {
    let reasons: Vec<String> = phi_vendors_on(facts, domain)
        .filter_map(|v| {
            let seen = facts.vendor_spf.get(&v.vendor);
            if let Some(other) = seen.filter(|s| !s.is_empty() && !s.iter().any(|x| x == domain)) {
                let names: Vec<&str> = other.iter().map(String::as_str).collect();
                return Some(format!(
                    "{}: receivers checked it against MAIL FROM {}",
                    v.vendor,
                    names.join(", ")
                ));
            }
            v.dkim_selectors.first().map(|sel| {
                format!(
                    "{}: the inventory lists DKIM selector {sel} under {domain}",
                    v.vendor
                )
            })
        })
        .collect();
    if reasons.is_empty() {
        "no PHI vendor sends through it".to_string()
    } else {
        reasons.join("; ")
    }
}

/// The asset level of a domain, and why.
fn asset(facts: &Facts<'_>, domain: Option<&str>) -> (Level, String) {
    let Some(domain) = domain else {
        return (
            Level::Moderate,
            "concerns the organization as a whole, not one domain".to_string(),
        );
    };
    let phi = phi_vendors(facts, domain);
    let phi_note = || {
        format!(
            "PHI is sent from it ({})",
            list(&phi.iter().map(|s| s.to_string()).collect::<Vec<_>>(), 3)
        )
    };
    match role_of(facts, domain) {
        Some(Role::Patient) => (
            Level::High,
            format!("{domain} is patient-facing: forged or lost mail reaches patients"),
        ),
        Some(Role::Workforce) => (
            Level::High,
            format!(
                "{domain} is the workforce domain: its mail reaches staff who hold ePHI access"
            ),
        ),
        Some(Role::Marketing) if !phi.is_empty() => (
            Level::High,
            format!("{domain} is a marketing domain, but {}", phi_note()),
        ),
        Some(Role::Marketing) => {
            // Vendors on the domain whose PHI status the inventory leaves open: "no PHI
            // stream" is then only as far as the inventory says.
            let unknown: Vec<String> = facts
                .inventory
                .vendors
                .iter()
                .filter(|v| v.phi.is_none() && !v.ended_by(facts.period_end))
                .filter(|v| v.domains.iter().any(|d| d.eq_ignore_ascii_case(domain)))
                .map(|v| v.vendor.clone())
                .collect();
            (
                Level::Moderate,
                if unknown.is_empty() {
                    format!("{domain} is a marketing domain with no PHI stream in the inventory")
                } else {
                    format!(
                        "{domain} is a marketing domain with no PHI stream in the inventory, though the inventory does not say whether {} carries PHI (see the inventory finding)",
                        crate::text::and_list(&unknown)
                    )
                },
            )
        }
        Some(Role::Parked) => (
            Level::Moderate,
            format!(
                "{domain} is parked: it sends no mail, but forged mail from it imitates the organization"
            ),
        ),
        None => (
            Level::Moderate,
            format!("{domain} has no role in the configuration"),
        ),
    }
}

fn lower(l: Level) -> Level {
    match l {
        Level::VeryHigh => Level::High,
        Level::High => Level::Moderate,
        Level::Moderate => Level::Low,
        Level::Low | Level::VeryLow => Level::VeryLow,
    }
}

fn list(items: &[String], max: usize) -> String {
    if items.len() <= max {
        crate::text::and_list(items)
    } else {
        format!("{} and {} more", items[..max].join(", "), items.len() - max)
    }
}

/// Whether receivers checked mail against the domain's SPF record this period and every check
/// ended in an error.
fn spf_never_completed(facts: &Facts<'_>, domain: &str) -> bool {
    let checked = facts.spf_checked.get(domain).copied().unwrap_or(0);
    let errors = facts.spf_errors.get(domain).copied().unwrap_or(0);
    checked > 0 && errors >= checked
}

/// Whether observed forgery of the domain is exactly what this gap lets through.
fn forgery_uses(check: &str) -> bool {
    matches!(
        check,
        "RPT-001"
            | "SPF-001"
            | "SPF-005"
            | "SPF-008"
            | "DMARC-001"
            | "DMARC-002"
            | "DMARC-003"
            | "DMARC-004"
            | "DMARC-005"
            | "DMARC-006"
            | "DMARC-007"
            | "CHG-001"
            | "CHG-004"
            | "PARK-001"
    )
}

/// The gaps only forged subdomains use.
fn subdomain_gap(check: &str) -> bool {
    matches!(check, "DMARC-006" | "DMARC-007")
}

/// Forged messages this period that used the gap `f` reports.
fn used(f: &Finding, abuse: Option<&Abuse>) -> u64 {
    match abuse {
        Some(a) if subdomains_only(f) => a.subdomain,
        Some(a) => a.messages,
        None => 0,
    }
}

fn subdomains_only(f: &Finding) -> bool {
    subdomain_gap(&f.check) || f.basis.subdomains_only
}

/// Whether the gap is in the SPF record's `all` term, which a check reaches only when SPF
/// evaluates without an error.
fn all_term_gap(f: &Finding) -> bool {
    f.check == "SPF-005" || f.check == "CHG-002" && f.basis.harm == Some(Harm::Forgery)
}

/// What the check's exploitability level means for this kind of harm.
fn exploitability(harm: Harm, l: Level) -> &'static str {
    use Level::*;
    match (harm, l) {
        (Harm::Forgery | Harm::KeyCompromise, VeryHigh | High) => {
            "anyone can use this gap, without skill or access"
        }
        (Harm::Forgery | Harm::KeyCompromise, Moderate) => {
            "the gap can be used only in part, or by a determined adversary"
        }
        (Harm::Forgery | Harm::KeyCompromise, Low) => {
            "using it needs a rare capability, such as factoring a key or stealing it"
        }
        (Harm::Delivery, VeryHigh | High) => {
            "the failure comes with ordinary traffic as configured now; no attacker is needed"
        }
        (Harm::Delivery, Moderate) => "some receivers fail part of this mail",
        (Harm::Delivery, Low) => "the mail fails only together with a second fault",
        (Harm::Disclosure, VeryHigh | High) => "the arrangement is in place now",
        (Harm::Disclosure, Moderate) => "disclosure happens only for some messages",
        (Harm::Disclosure, Low) => "disclosure needs a second failure",
        (Harm::Blindness, VeryHigh | High) => {
            "the data is missing every period until this is fixed"
        }
        (Harm::Blindness, Moderate) => "part of the data is missing or unreliable",
        (Harm::Blindness, Low) => "data goes missing only with a second fault",
        (Harm::Interception, VeryHigh | High) => {
            "anyone on the network path (a compromised router or relay, a spoofed DNS answer) can read or alter the mail, or strip its encryption"
        }
        (Harm::Interception, Moderate) => {
            "an on-path adversary can defeat the protection for part of the mail or of the senders"
        }
        (Harm::Interception, Low) => {
            "defeating the protection needs a rare capability, such as a forged certificate"
        }
        (Harm::Hygiene, VeryHigh | High) => "receivers meet it on every message",
        (Harm::Hygiene, Moderate) => "some receivers are affected",
        (Harm::Hygiene, Low) => "few receivers are affected",
        (_, VeryLow) => "there is no practical way for it to cause harm",
    }
}

/// Forged mail seen in reports for one domain (RPT-001).
#[derive(Debug, Clone, Copy, Default)]
pub struct Abuse {
    pub messages: u64,
    /// Of those, the ones with a subdomain in From: (what `sp` and `np` gaps let through).
    pub subdomain: u64,
    /// Of those, the ones receivers delivered.
    pub delivered: u64,
}

/// Rates one finding by the rule in the module documentation.
pub fn rate(f: &Finding, facts: &Facts<'_>, abuse: &BTreeMap<String, Abuse>) -> Rating {
    let check = super::catalog::get(&f.check);
    let b = &f.basis;
    let harm = b.harm.or(check.map(|c| c.harm)).unwrap_or(Harm::Hygiene);
    let vendor = b
        .vendor
        .as_deref()
        .and_then(|n| facts.inventory.vendors.iter().find(|v| v.vendor == n));
    let domain = f.domain.as_deref();
    let stream_phi = vendor.and_then(|v| v.phi).or(b.phi);
    let (mut reach, mut reach_why) = b.reach.clone().unwrap_or((Reach::Full, String::new()));
    // A policy raised during the period: its deliveries mix the old policy and the new, so
    // they cannot show the new one failing; the rule's step down stands, and says why.
    let raised = domain.and_then(|d| facts.policy_raised.get(d));
    if reach == Reach::Partial
        && forgery_uses(&f.check)
        && let Some(first) = raised
    {
        reach_why = format!(
            "{reach_why}; the policy was raised during the period{}, so this period's deliveries of forged mail mix the old policy and the new and do not show the new one failing",
            first.map_or(String::new(), |d| format!(
                " (receivers first applied it on {d})"
            ))
        );
    }
    // A policy that should junk forged mail did not, when receivers delivered it anyway.
    if reach == Reach::Partial
        && raised.is_none()
        && forgery_uses(&f.check)
        && f.check != "RPT-001"
        && let Some(a) = f.domain.as_deref().and_then(|d| abuse.get(d))
        && a.delivered > 0
        // A subdomain gap is tested only by forged subdomain mail.
        && !(subdomains_only(f) && a.subdomain == 0)
    {
        reach = Reach::Full;
        reach_why = String::new();
        if let Some((_, why)) = &b.reach {
            reach_why = format!(
                "{why}, yet receivers delivered {} of the {} forged messages this period",
                a.delivered, a.messages
            );
        }
    }

    // Impact.
    let (asset_level, asset_why) = asset(facts, domain);
    let domain_phi = domain.is_some_and(|d| !phi_vendors(facts, d).is_empty());
    let (mut impact, mut impact_reason) = match harm {
        Harm::Forgery | Harm::KeyCompromise => (asset_level, asset_why.clone()),
        Harm::Delivery => match (vendor, stream_phi) {
            (Some(v), Some(true)) => (
                Level::High,
                if v.service.trim().is_empty() {
                    format!(
                        "{} sends PHI: its messages that fail can be rejected or junked, so PHI-bearing mail may not reach its recipients",
                        v.vendor
                    )
                } else {
                    format!(
                        "{} sends PHI ({}): its messages that fail can be rejected or junked, so PHI-bearing mail may not reach its recipients",
                        v.vendor,
                        v.service.trim()
                    )
                },
            ),
            (Some(v), _) => (
                lower(asset_level),
                format!("{} carries no PHI; {asset_why}", v.vendor),
            ),
            (None, _) if domain_phi => {
                let d = domain.unwrap_or_default();
                let spf_only = spf_reliant(facts, d);
                if spf_only.is_empty() {
                    (
                        lower(asset_level),
                        format!(
                            "no PHI stream relies on the SPF record of {d}, so this record's failure alone does not stop one ({}); {asset_why}",
                            why_not_spf(facts, d)
                        ),
                    )
                } else {
                    (
                        Level::High,
                        format!(
                            "PHI streams with no DKIM key under {d} in the inventory can pass DMARC only through SPF: {}",
                            list(&spf_only, 4)
                        ),
                    )
                }
            }
            (None, _) => (
                lower(asset_level),
                format!("no PHI stream is affected; {asset_why}"),
            ),
        },
        // A party under a current business associate agreement receives PHI lawfully.
        Harm::Disclosure
            if f.check != "VEN-001"
                && vendor.is_some_and(|v| v.baa_current(facts.period_end)) =>
        {
            (
                Level::Low,
                format!(
                    "a current business associate agreement covers {} (inventory: signed{})",
                    vendor.map(|v| v.vendor.as_str()).unwrap_or_default(),
                    vendor
                        .and_then(|v| v.baa_expires)
                        .map(|e| format!(", expires {e}"))
                        .unwrap_or_default()
                ),
            )
        }
        Harm::Disclosure => match stream_phi {
            Some(true) => (
                Level::VeryHigh,
                match vendor {
                    Some(v) => format!("{} is flagged phi = yes: PHI reaches it", v.vendor),
                    None => "PHI reaches the party".to_string(),
                },
            ),
            Some(false) => (
                Level::Moderate,
                "the party handles no PHI by the inventory; business data still reaches it"
                    .to_string(),
            ),
            None => (
                Level::High,
                "PHI may reach the party: nothing rules it out".to_string(),
            ),
        },
        Harm::Blindness if stream_phi == Some(true) => (
            Level::High,
            "a vendor that handles PHI, or part of what it does, is missing from the assessment"
                .to_string(),
        ),
        Harm::Blindness => (
            Level::Moderate,
            "lost visibility: the reports or records that show problems are missing; nothing fails by itself"
                .to_string(),
        ),
        Harm::Hygiene => (
            Level::Low,
            "a departure from the standard with little direct consequence".to_string(),
        ),
        // What crosses the path is the mail the domain receives: PHI for patient and
        // workforce domains, whatever the vendors send.
        Harm::Interception => match domain.and_then(|d| role_of(facts, d)) {
            Some(Role::Patient | Role::Workforce) => (
                Level::High,
                format!(
                    "{} receives mail from patients, staff and partners that carries PHI; read in transit it is disclosed, altered it misleads",
                    domain.unwrap_or_default()
                ),
            ),
            Some(Role::Marketing) => (
                Level::Moderate,
                format!(
                    "{} is a marketing domain: replies to it can still carry PHI",
                    domain.unwrap_or_default()
                ),
            ),
            Some(Role::Parked) => (
                Level::Low,
                format!(
                    "{} is parked: it should receive no mail",
                    domain.unwrap_or_default()
                ),
            ),
            None => (asset_level, asset_why.clone()),
        },
    };
    match reach {
        Reach::Full if !reach_why.is_empty() => {
            impact_reason = format!("{impact_reason}; not lowered: {reach_why}");
        }
        Reach::Full => {}
        Reach::Partial => {
            impact = lower(impact);
            impact_reason = format!("{impact_reason}; one step lower: {reach_why}");
        }
        Reach::Minimal => {
            impact = lower(lower(impact));
            impact_reason = format!("{impact_reason}; but {reach_why}");
        }
    }
    let impact_reason = format!("{}: {impact_reason}", impact.label());

    // Likelihood.
    let base = check.map(|c| c.likelihood).unwrap_or(Level::Moderate);
    let (mut likelihood, mut why) = match &b.exposure {
        Some((l, w)) => (*l, w.clone()),
        None => (base, exploitability(harm, base).to_string()),
    };
    if likelihood == Level::VeryHigh {
        likelihood = Level::High;
    }
    let mut notes: Vec<String> = Vec::new();
    match harm {
        Harm::Forgery if forgery_uses(&f.check) => match domain {
            Some(d) if all_term_gap(f) && spf_never_completed(facts, d) => {
                notes.push(format!(
                    "every SPF check of {d} in this period's reports ended in an error, so no message reached the `all` term"
                ));
            }
            Some(d) if used(f, abuse.get(d)) > 0 => {
                likelihood = Level::VeryHigh;
                let n = used(f, abuse.get(d));
                why = if subdomains_only(f) {
                    format!(
                        "this period's reports show {} from subdomains of {d} (RPT-001)",
                        crate::text::count(n as usize, "forged message", "forged messages")
                    )
                } else {
                    format!(
                        "this period's reports show {} using {d} (RPT-001)",
                        crate::text::count(n as usize, "forged message", "forged messages")
                    )
                };
            }
            Some(d) if subdomains_only(f) && abuse.get(d).is_some_and(|a| a.messages > 0) => {
                notes.push(format!(
                    "the forged mail using {d} this period used the domain itself, not a subdomain"
                ));
            }
            Some(d)
                if !facts.covered.contains(d)
                    && facts.past_abuse.get(d).is_some_and(|m| !m.is_empty()) =>
            {
                let months = facts.past_abuse.get(d).cloned().unwrap_or_default();
                let failing: u64 = months.iter().map(|(_, n)| n).sum();
                let names: Vec<String> = months
                    .iter()
                    .map(|(m, _)| m.last_day().format("%B %Y").to_string())
                    .collect();
                if likelihood < Level::High {
                    likelihood = Level::High;
                }
                why = format!(
                    "no report covers {d} this period, but the assessments of {} recorded forged mail using it (RPT-001; {} failing DMARC): the threat source has used this domain",
                    crate::text::and_list(&names),
                    crate::text::count(failing as usize, "message", "messages")
                );
            }
            Some(d) if !facts.covered.contains(d) => notes.push(if facts.any_reports {
                format!(
                    "no report covers {d} this period, so abuse can be neither seen nor ruled out"
                )
            } else {
                "no reports were read this period, so abuse can be neither seen nor ruled out"
                    .to_string()
            }),
            Some(d) => notes.push(format!("no forged mail using {d} in this period's reports")),
            None => {}
        },
        Harm::Delivery => {
            let sent = b
                .messages
                .or_else(|| vendor.map(|v| facts.vendor_volume.get(&v.vendor).map_or(0, |x| x.0)));
            match sent {
                Some(0) if facts.any_reports => {
                    likelihood = likelihood.min(Level::Low);
                    why = if vendor.is_some() {
                        "the stream sent no message in this period's reports".to_string()
                    } else {
                        "no message in this period's reports was checked against this record"
                            .to_string()
                    };
                }
                Some(n) if n > 0 && vendor.is_none() => {
                    if likelihood >= Level::High {
                        why = if matches!(f.check.as_str(), "SPF-003" | "CHG-002") {
                            "as published in the snapshot, the record exceeds the 10-lookup limit: receivers that reach the 11th lookup, or count lookups up front, return permerror, and that mail passes DMARC only with aligned DKIM".to_string()
                        } else {
                            "as published in the snapshot, the record makes SPF return permerror for every message checked against it; that mail passes DMARC only with aligned DKIM".to_string()
                        };
                    }
                    let errors = domain
                        .and_then(|d| facts.spf_errors.get(d))
                        .copied()
                        .unwrap_or(0);
                    // Observed on every message checked: the failure is occurring, not
                    // merely possible.
                    if errors >= n && likelihood < Level::High {
                        likelihood = Level::High;
                        why = format!(
                            "all {} checked against the record this period met an SPF error: the failure is occurring now",
                            crate::text::count(n as usize, "message", "messages")
                        );
                    } else {
                        notes.push(format!(
                        "this period {} of the {} checked against it met an SPF error (the record may have changed during the period)",
                        crate::text::int(errors),
                        crate::text::count(n as usize, "message", "messages")
                    ))
                    }
                }
                Some(n) if n > 0 => {
                    let seen = vendor.and_then(|v| Some((v, facts.vendor_volume.get(&v.vendor)?)));
                    match seen {
                        Some((v, &(m, pass))) if m > pass => notes.push(format!(
                            "this period {} of the {} from {} failed DMARC",
                            m - pass,
                            crate::text::count(m as usize, "message", "messages"),
                            v.vendor
                        )),
                        _ => notes.push(format!(
                            "{} this period",
                            crate::text::count(n as usize, "message", "messages")
                        )),
                    }
                }
                _ => {}
            }
        }
        Harm::Disclosure => {
            if let Some(v) = vendor {
                let sent = facts.vendor_volume.get(&v.vendor).map_or(0, |x| x.0);
                if sent > 0 && stream_phi == Some(true) {
                    likelihood = Level::VeryHigh;
                    why = format!(
                        "{} sent {} as our domains this period: PHI is flowing now",
                        v.vendor,
                        crate::text::count(sent as usize, "message", "messages")
                    );
                } else if facts.any_reports {
                    notes.push(format!(
                        "{} sent no mail as our domains this period",
                        v.vendor
                    ));
                }
            }
        }
        _ => {}
    }
    for c in facts.controls.iter().filter(|c| {
        c.mitigates.iter().any(|m| m.eq_ignore_ascii_case(&f.check))
            && (c.domains.is_empty()
                || domain.is_some_and(|d| c.domains.iter().any(|x| x.eq_ignore_ascii_case(d))))
    }) {
        let before = likelihood;
        likelihood = lower(likelihood);
        notes.push(format!(
            "lowered one step from {} for the declared control “{}”",
            before.label(),
            c.name
        ));
    }
    let mut likelihood_reason = format!("{}: {why}", likelihood.label());
    for n in notes {
        likelihood_reason.push_str("; ");
        likelihood_reason.push_str(&n);
    }

    Rating {
        likelihood,
        impact,
        threat: if harm == Harm::Disclosure
            && f.check != "VEN-001"
            && vendor.is_some_and(|v| v.baa_current(facts.period_end))
        {
            format!(
                "Accidental, user (Table D-2): PHI reaches {}, a business associate under a current agreement; the agreement's safeguards carry the risk (mishandling of critical or sensitive information by authorized users, Table E-3)",
                vendor.map(|v| v.vendor.as_str()).unwrap_or_default()
            )
        } else {
            threat(
                harm,
                f,
                vendor.map(|v| v.vendor.as_str()).or(b.party.as_deref()),
            )
        },
        likelihood_reason,
        impact_reason,
    }
}

/// The threat statement: source (SP 800-30 Table D-2) and event.
fn threat(harm: Harm, f: &Finding, vendor: Option<&str>) -> String {
    let target = f.domain.as_deref().unwrap_or(f.subject.as_str());
    match harm {
        Harm::Forgery => format!(
            "Adversarial outsider (a phisher or fraud group) sends mail with a forged From: address at {target} to patients, staff or partners (craft phishing attacks, Table E-2)"
        ),
        Harm::KeyCompromise => format!(
            "Adversarial outsider recovers or reuses the private key of {} and signs forged mail that passes DKIM and DMARC at receivers that accept the key (craft phishing attacks, Table E-2)",
            f.subject
        ),
        Harm::Delivery => format!(
            "Accidental, privileged user or administrator (Table D-2): a configuration error makes receivers refuse or junk legitimate mail from {} (an organization-defined non-adversarial event, as Table E-3 allows)",
            vendor.unwrap_or(target)
        ),
        Harm::Disclosure => match (vendor, f.basis.vendor.is_some()) {
            (Some(v), true) => format!(
                "Accidental, user (Table D-2): PHI is disclosed to {v} without the safeguards a business associate agreement requires (mishandling of critical or sensitive information by authorized users, Table E-3)"
            ),
            (party, _) => format!(
                "Accidental, user (Table D-2): PHI may be disclosed to {}, which is not in the vendor inventory, so no business associate agreement for it is on record here (mishandling of critical or sensitive information by authorized users, Table E-3)",
                party.unwrap_or(f.subject.as_str())
            ),
        },
        Harm::Blindness if f.check == "INV-001" => "Accidental, user (Table D-2): a vendor left out of the inventory is left out of the assessment, so its mail, its PHI and its BAA go unchecked (an organization-defined non-adversarial event, as Table E-3 allows)".to_string(),
        Harm::Blindness => "Accidental, privileged user or administrator (Table D-2): the data the activity review needs does not arrive or cannot be read, so problems go unseen (an organization-defined non-adversarial event, as Table E-3 allows)".to_string(),
        Harm::Hygiene => format!(
            "Accidental, privileged user or administrator (Table D-2): a record of {target} departs from the standard, so receivers' results are less reliable (an organization-defined non-adversarial event, as Table E-3 allows)"
        ),
        Harm::Interception => format!(
            "Adversarial outsider with a position on the network path between sending servers and the MX hosts of {target} reads or alters mail in transit, or strips its encryption (conduct communications interception attacks: intercept or decrypt weak or unencrypted communications, Table E-2)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::finding::Draft;
    use Level::*;

    fn domains() -> Vec<DomainConfig> {
        [
            ("portal.test", Role::Patient),
            ("staff.test", Role::Workforce),
            ("news.test", Role::Marketing),
            ("parked.test", Role::Parked),
        ]
        .into_iter()
        .map(|(n, r)| DomainConfig {
            name: n.into(),
            role: r,
            selectors: vec![],
            owner: None,
        })
        .collect()
    }

    const CSV: &str = "vendor,service,domains,phi,baa\n\
        Reminders,Appointment reminders,portal.test,yes,none\n\
        Esign,Consent forms,portal.test,yes,signed\n\
        Newsletters,Campaigns,news.test,no,not-required\n";

    struct World {
        domains: Vec<DomainConfig>,
        inventory: Inventory,
        volume: BTreeMap<String, (u64, u64)>,
        covered: BTreeSet<String>,
        controls: Vec<ControlConfig>,
    }

    fn world() -> World {
        World {
            domains: domains(),
            inventory: Inventory::parse(CSV.as_bytes(), std::path::Path::new("v.csv"))
                .expect("inventory"),
            volume: [
                ("Reminders".to_string(), (500, 0)),
                ("Esign".to_string(), (0, 0)),
            ]
            .into_iter()
            .collect(),
            covered: ["portal.test", "staff.test", "news.test"]
                .into_iter()
                .map(String::from)
                .collect(),
            controls: vec![],
        }
    }

    fn rated(w: &World, drafts: Vec<Draft>) -> Vec<Finding> {
        rated_spf(w, drafts, &BTreeMap::new(), &BTreeMap::new())
    }

    /// As [`rated`], with the period's SPF checks and errors per domain.
    fn rated_spf(
        w: &World,
        drafts: Vec<Draft>,
        spf_checked: &BTreeMap<String, u64>,
        spf_errors: &BTreeMap<String, u64>,
    ) -> Vec<Finding> {
        let mut f: Vec<Finding> = drafts.into_iter().map(|d| d.build("2026-10")).collect();
        apply(
            &mut f,
            &Facts {
                domains: &w.domains,
                inventory: &w.inventory,
                vendor_volume: &w.volume,
                covered: &w.covered,
                any_reports: true,
                controls: &w.controls,
                vendor_spf: &BTreeMap::new(),
                spf_errors,
                spf_checked,
                period_end: chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap_or_default(),
                policy_raised: &BTreeMap::new(),
                past_abuse: &BTreeMap::new(),
            },
        );
        f
    }

    #[test]
    fn a_junking_policy_is_credited_unless_receivers_delivered_under_it() {
        let w = world();
        let drafts = || {
            vec![
                Draft::new("RPT-001", "portal.test")
                    .domain("portal.test")
                    .messages(3785)
                    .subdomain_messages(0)
                    .delivered(3011),
                Draft::new("DMARC-004", "portal.test")
                    .domain("portal.test")
                    .reach(
                        Reach::Partial,
                        "p=quarantine: forged mail is junked, not refused",
                    ),
            ]
        };
        let rate_with = |raised: &BTreeMap<String, Option<chrono::NaiveDate>>| {
            let mut f: Vec<Finding> = drafts().into_iter().map(|d| d.build("2026-10")).collect();
            apply(
                &mut f,
                &Facts {
                    domains: &w.domains,
                    inventory: &w.inventory,
                    vendor_volume: &w.volume,
                    covered: &w.covered,
                    any_reports: true,
                    controls: &w.controls,
                    vendor_spf: &BTreeMap::new(),
                    spf_errors: &BTreeMap::new(),
                    spf_checked: &BTreeMap::new(),
                    period_end: chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap_or_default(),
                    policy_raised: raised,
                    past_abuse: &BTreeMap::new(),
                },
            );
            f.remove(1)
        };
        // Delivered under the policy all period: not credited.
        let steady = rate_with(&BTreeMap::new());
        assert!(
            steady.impact_reason.as_deref().is_some_and(
                |r| r.contains("not lowered") && r.contains("delivered 3011 of the 3785")
            ),
            "{:?}",
            steady.impact_reason
        );
        // Raised mid-period: the deliveries mix both policies; the rule's step down stands.
        let day = chrono::NaiveDate::from_ymd_opt(2026, 10, 15);
        let raised = [("portal.test".to_string(), day)].into_iter().collect();
        let mid = rate_with(&raised);
        assert!(mid.impact < steady.impact, "{:?}", mid.impact_reason);
        assert!(
            mid.impact_reason
                .as_deref()
                .is_some_and(|r| r.contains("receivers first applied it on 2026-10-15")),
            "{:?}",
            mid.impact_reason
        );
    }

    fn li(f: &Finding) -> (Level, Level) {
        (f.likelihood, f.impact)
    }

    #[test]
    fn forged_mail_raises_only_the_gaps_it_used() {
        let w = world();
        let drafts = || {
            vec![
                Draft::new("RPT-001", "news.test")
                    .domain("news.test")
                    .messages(37)
                    .subdomain_messages(0),
                // sp lowered: only forged subdomain mail uses it.
                Draft::new("CHG-001", "_dmarc.news.test")
                    .domain("news.test")
                    .subdomains_only(),
                // rua removed: no gap for forged mail at all.
                Draft::new("CHG-001", "_dmarc.news.test rua")
                    .domain("news.test")
                    .harm(Harm::Blindness),
                Draft::new("SPF-005", "news.test").domain("news.test"),
            ]
        };
        let m = |n: u64| [("news.test".to_string(), n)].into_iter().collect();
        // Every SPF check of the domain ended in permerror: no message reached `all`.
        let f = rated_spf(&w, drafts(), &m(172), &m(172));
        assert_eq!(f[0].likelihood, VeryHigh);
        assert!(f[1].likelihood < VeryHigh, "{:?}", f[1].likelihood_reason);
        assert!(f[2].likelihood < VeryHigh, "{:?}", f[2].likelihood_reason);
        assert!(f[3].likelihood < VeryHigh, "{:?}", f[3].likelihood_reason);
        assert!(
            f[3].likelihood_reason
                .as_deref()
                .is_some_and(|r| r.contains("no message reached the `all` term")),
            "{:?}",
            f[3].likelihood_reason
        );
        // When SPF evaluated, forged mail met `?all`: the gap was used.
        let f = rated_spf(&w, drafts(), &m(172), &m(0));
        assert_eq!(f[3].likelihood, VeryHigh, "{:?}", f[3].likelihood_reason);
    }

    #[test]
    fn ephi_safeguards_are_cited_only_on_domains_that_carry_ephi() {
        let w = world();
        let f = rated(
            &w,
            vec![
                Draft::new("DKIM-002", "k0._domainkey.news.test").domain("news.test"),
                Draft::new("DKIM-002", "k0._domainkey.portal.test").domain("portal.test"),
            ],
        );
        assert!(
            f[0].hipaa.iter().all(|c| !c.starts_with("164.312")),
            "{:?}",
            f[0].hipaa
        );
        assert!(f[0].hipaa.iter().any(|c| c == "164.308(a)(1)(ii)(B)"));
        assert!(f[1].hipaa.iter().any(|c| c == "164.312(c)(1)"));
    }

    #[test]
    fn key_weaknesses_share_one_impact_per_domain_and_differ_in_likelihood() {
        let w = world();
        let f = rated(
            &w,
            vec![
                Draft::new("CHG-003", "k1._domainkey.news.test").domain("news.test"),
                Draft::new("DKIM-002", "k0._domainkey.news.test")
                    .domain("news.test")
                    .exposure(High, "RSA-512"),
                Draft::new("DKIM-003", "k2._domainkey.news.test").domain("news.test"),
                Draft::new("CHG-003", "k1._domainkey.portal.test").domain("portal.test"),
            ],
        );
        // Marketing: the key findings all take the marketing impact, never High.
        assert_eq!(li(&f[0]), (Low, Moderate), "{:?}", f[0].impact_reason);
        assert_eq!(li(&f[1]), (High, Moderate));
        assert_eq!(li(&f[2]), (Low, Moderate));
        // The same check on the patient domain is High impact.
        assert_eq!(li(&f[3]), (Low, High));
        for x in &f {
            assert!(
                x.threat.as_deref().unwrap_or("").contains("private key"),
                "{x:?}"
            );
            assert!(x.likelihood_reason.is_some() && x.impact_reason.is_some());
        }
    }

    #[test]
    fn np_falling_back_to_none_is_worse_than_falling_back_to_quarantine() {
        let w = world();
        let f = rated(
            &w,
            vec![
                Draft::new("DMARC-007", "staff.test")
                    .domain("staff.test")
                    .reach(Reach::Full, "np falls back to sp=none"),
                Draft::new("DMARC-007", "portal.test")
                    .domain("portal.test")
                    .reach(Reach::Partial, "np falls back to p=quarantine"),
                Draft::new("DMARC-007", "news.test")
                    .domain("news.test")
                    .reach(Reach::Minimal, "np falls back to p=reject"),
            ],
        );
        assert_eq!(f[0].impact, High);
        assert_eq!(f[1].impact, Moderate);
        assert_eq!(f[2].impact, VeryLow);
        assert!(f[0].impact >= f[1].impact);
    }

    #[test]
    fn very_high_likelihood_needs_an_occurrence() {
        let w = world();
        let f = rated(
            &w,
            vec![
                // Parked, no reports cover it: exposed, High, and the reason says abuse is unseen.
                Draft::new("DMARC-001", "parked.test").domain("parked.test"),
                Draft::new("DMARC-003", "portal.test").domain("portal.test"),
                Draft::new("RPT-001", "portal.test")
                    .domain("portal.test")
                    .messages(40)
                    .subdomain_messages(0),
                // sp gap on a domain forged only at its own name: not raised.
                Draft::new("DMARC-006", "portal.test").domain("portal.test"),
            ],
        );
        assert_eq!(li(&f[0]), (High, Moderate));
        assert!(
            f[0].likelihood_reason
                .as_deref()
                .is_some_and(|r| r.contains("neither seen nor ruled out")),
            "{:?}",
            f[0].likelihood_reason
        );
        assert_eq!(
            f[1].likelihood, VeryHigh,
            "forged mail seen using the domain"
        );
        assert_eq!(f[2].likelihood, VeryHigh);
        assert_eq!(f[3].likelihood, High, "{:?}", f[3].likelihood_reason);
    }

    #[test]
    fn traffic_phi_and_receivers_verdicts_move_the_rating() {
        let w = world();
        let f = rated(
            &w,
            vec![
                // A PHI vendor that sent nothing this period: Low likelihood.
                Draft::new("VEN-002", "Esign as portal.test")
                    .domain("portal.test")
                    .vendor("Esign"),
                // A PHI vendor's mail flowing without a BAA: Very High on both axes.
                Draft::new("VEN-001", "Reminders")
                    .domain("portal.test")
                    .vendor("Reminders"),
                // A non-PHI stream failing on a marketing domain: one below the asset.
                Draft::new("RPT-002", "Newsletters")
                    .domain("news.test")
                    .vendor("Newsletters")
                    .messages(20),
                // Forgery that receivers refused in full.
                Draft::new("RPT-001", "staff.test")
                    .domain("staff.test")
                    .messages(10)
                    .reach(Reach::Minimal, "receivers refused all 10"),
            ],
        );
        assert_eq!(li(&f[0]), (Low, High), "{:?}", f[0].likelihood_reason);
        assert_eq!(li(&f[1]), (VeryHigh, VeryHigh));
        assert_eq!(f[1].risk, VeryHigh);
        assert_eq!(li(&f[2]), (High, Low));
        assert_eq!(li(&f[3]), (VeryHigh, Low));
        assert_eq!(f[3].risk, Low);
    }

    #[test]
    fn a_declared_control_lowers_the_checks_it_names_one_step() {
        let mut w = world();
        let drafts = || vec![Draft::new("DMARC-003", "news.test").domain("news.test")];
        let before = rated(&w, drafts());
        w.controls = vec![ControlConfig {
            name: "Inbound anti-spoofing".into(),
            mitigates: vec!["DMARC-003".into()],
            ..Default::default()
        }];
        let after = rated(&w, drafts());
        assert_eq!(before[0].likelihood, High);
        assert_eq!(after[0].likelihood, Moderate);
        assert!(
            after[0]
                .likelihood_reason
                .as_deref()
                .is_some_and(|r| r.contains("Inbound anti-spoofing"))
        );
    }
}
