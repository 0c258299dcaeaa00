//! Who an unattributed source is: spoofing, an unlisted service sending as us, a forwarder or
//! mailing list, or unknown. The rule reads only what the reports and the snapshot say of the
//! source and of the identities it authenticated as; the Method section prints it, so the
//! reader can check every class against the quoted authentication results.
//!
//! The rule, in order (the first that holds decides):
//! 1. **Forwarder**: receivers reported a forwarding override (`forwarded`, `trusted_forwarder`,
//!    `mailing_list`) for at least half its mail, or at least half its mail carries our own DKIM
//!    signature under a selector the configuration or the inventory names, intact, or altered
//!    in transit while SPF passed for the relaying host's own domain, and our SPF does not
//!    authorize it.
//! 2. **Service**: our SPF authorizes it (an include names its provider, or SPF passed for our
//!    own MAIL FROM); or it signs with one of our published keys that neither the configuration
//!    nor the inventory names; or it authenticated as a third-party organization that is
//!    *stable*: that organization signed DKIM for its mail (or its forward-confirmed reverse DNS
//!    is in the same organization) and its mail provably fell on at least `service_min_days`
//!    days (reports at least that many days apart; overlapping reports prove one day).
//! 3. **Spoofing**: nothing it sent authenticated as anyone, or only as throwaway identities
//!    (two or more organizations from one address, each seen on a single day), or only by SPF
//!    for a domain of its own with no signature and no reverse DNS to back it.
//! 4. **Unknown**: it signed as an organization of its own, but too briefly to tell a service
//!    from a one-off; the next period decides.

use super::*;
use crate::reports::aggregate::Seen;

/// What an unattributed source's rows add up to.
#[derive(Default)]
pub(super) struct SourceAcc {
    pub messages: u64,
    pub pass: u64,
    pub reporters: BTreeSet<String>,
    pub dispositions: BTreeMap<String, u64>,
    /// Messages receivers said came through a forwarder or list, by reason.
    pub forwarded: u64,
    pub reasons: BTreeMap<String, u64>,
    pub selectors: BTreeSet<String>,
    pub envelope: BTreeSet<String>,
    /// Messages whose SPF passed aligned with the From domain.
    pub spf_aligned: u64,
    /// Domains other than ours for which DKIM or SPF passed: the mark of a real service.
    pub third_party: BTreeSet<String>,
    /// Our own signature under a selector our config or the inventory names (our own mail):
    /// messages where it verified, where it broke in transit, and of those broken, the ones
    /// relayed under the relaying host's own SPF identity; and the selectors.
    pub own_sig_pass: u64,
    pub own_sig_fail: u64,
    pub own_sig_fail_relayed: u64,
    pub own_selectors: BTreeSet<String>,
    /// Our own signature verifying under a selector we publish but neither the config nor any
    /// inventory vendor names: someone outside the inventory holds one of our keys.
    pub unclaimed_sig_pass: u64,
    pub unclaimed_selectors: BTreeSet<String>,
    /// Messages signed with one of our domains under a selector we do not publish.
    pub forged_sig: u64,
    /// Third-party organizations (registrable domains) it authenticated as.
    pub identities: BTreeMap<String, IdentityUse>,
    /// The authentication results receivers reported, as quoted in findings, with messages.
    pub auth: BTreeMap<String, u64>,
    pub reports: u32,
    pub seen: Option<Seen>,
}

/// One source's use of a third-party identity: messages by DKIM and by SPF, and the days.
#[derive(Default)]
pub(super) struct IdentityUse {
    pub dkim: u64,
    pub spf: u64,
    pub seen: Option<Seen>,
}

/// What one merged row tells the classifier beyond the row itself.
pub(super) struct RowFacts<'a> {
    pub reporters: &'a [(&'a str, u64)],
    pub reports: u32,
    pub seen: Option<Seen>,
    /// `domain/selector` pairs of ours that are published (or verified this period).
    pub known_selectors: &'a BTreeSet<String>,
    /// `domain/selector` pairs the config or an inventory vendor names: our own senders' keys.
    pub claimed_selectors: &'a BTreeSet<String>,
    pub domains: &'a [DomainConfig],
}

impl SourceAcc {
    pub fn add(&mut self, row: &Row, f: &RowFacts<'_>) {
        let n = row.count;
        let plus = |x: &mut u64| *x = x.saturating_add(n);
        plus(&mut self.messages);
        if row.reporter_dmarc_pass() {
            plus(&mut self.pass);
        }
        self.reports = self.reports.saturating_add(f.reports);
        self.seen = Seen::widen(self.seen, f.seen);
        self.reporters
            .extend(f.reporters.iter().map(|(r, _)| (*r).to_string()));
        plus(
            self.dispositions
                .entry(row.disposition.clone())
                .or_default(),
        );
        if let Some(r) = row
            .reasons
            .iter()
            .find(|r| FORWARDING_REASONS.contains(&r.kind.as_str()))
        {
            plus(&mut self.forwarded);
            plus(self.reasons.entry(r.kind.clone()).or_default());
        }
        if let Some(env) = &row.envelope_from {
            self.envelope.insert(env.to_ascii_lowercase());
        }
        if row.spf_evaluated.is_pass() {
            plus(&mut self.spf_aligned);
        }
        let ours = |d: &str| owning_domain(d, f.domains).is_some();
        // SPF passed for a domain not ours: the relaying host's own identity.
        let relay_spf = row.spf.iter().any(|s| {
            let d = crate::snapshot::normalize_name(&s.domain);
            !d.is_empty() && !ours(&d) && s.result.is_pass()
        });
        for sig in &row.dkim {
            let d = crate::snapshot::normalize_name(&sig.domain);
            let sel = sig.selector.as_deref().unwrap_or("").to_ascii_lowercase();
            if !sel.is_empty() {
                self.selectors.insert(format!("{}/{}", sig.domain, sel));
            }
            plus(
                self.auth
                    .entry(format!(
                        "dkim d={} s={} {}",
                        if d.is_empty() { "-" } else { d.as_str() },
                        if sel.is_empty() { "-" } else { sel.as_str() },
                        sig.result.word().to_ascii_lowercase()
                    ))
                    .or_default(),
            );
            if d.is_empty() {
                continue;
            }
            if ours(&d) {
                let key = format!("{d}/{sel}");
                let claimed = f.claimed_selectors.contains(&key);
                let published = sig.result.is_pass() || f.known_selectors.contains(&key);
                match (claimed, published, &sig.result) {
                    (true, _, r) if r.is_pass() => plus(&mut self.own_sig_pass),
                    (true, _, AuthResult::Fail) => {
                        plus(&mut self.own_sig_fail);
                        if relay_spf {
                            plus(&mut self.own_sig_fail_relayed);
                        }
                    }
                    (false, true, r) if r.is_pass() => {
                        plus(&mut self.unclaimed_sig_pass);
                        if !sel.is_empty() {
                            self.unclaimed_selectors.insert(sel.clone());
                        }
                    }
                    (false, false, _) => plus(&mut self.forged_sig),
                    _ => {}
                }
                if claimed && !sel.is_empty() {
                    self.own_selectors.insert(sel);
                }
            } else if sig.result.is_pass() {
                self.third_party.insert(d.clone());
                self.used(&d, f.seen).dkim = self.used(&d, f.seen).dkim.saturating_add(n);
            }
        }
        if row.dkim.is_empty() {
            plus(self.auth.entry("no DKIM signature".into()).or_default());
        }
        for spf in &row.spf {
            let d = crate::snapshot::normalize_name(&spf.domain);
            plus(
                self.auth
                    .entry(format!(
                        "spf {} {}",
                        if d.is_empty() { "-" } else { d.as_str() },
                        spf.result.word().to_ascii_lowercase()
                    ))
                    .or_default(),
            );
            if !d.is_empty() && !ours(&d) && spf.result.is_pass() {
                self.third_party.insert(d.clone());
                self.used(&d, f.seen).spf = self.used(&d, f.seen).spf.saturating_add(n);
            }
        }
        if row.spf.is_empty() {
            plus(self.auth.entry("no SPF result".into()).or_default());
        }
    }

    /// The use of the third-party organization `name` belongs to, widened to `seen`.
    fn used(&mut self, name: &str, seen: Option<Seen>) -> &mut IdentityUse {
        let id = self
            .identities
            .entry(crate::suffix::registrable(name).to_string())
            .or_default();
        id.seen = Seen::widen(id.seen, seen);
        id
    }

    /// Messages that failed DMARC as the reporters evaluated it.
    pub fn failing(&self) -> u64 {
        self.messages.saturating_sub(self.pass)
    }

    /// The authentication results seen, largest first, for quoting: "dkim d=… pass 120".
    pub fn quoted_auth(&self, max: usize) -> String {
        let mut v: Vec<(&String, &u64)> = self.auth.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let mut s = v
            .iter()
            .take(max)
            .map(|(k, n)| format!("{k} {}", crate::text::int(**n)))
            .collect::<Vec<_>>()
            .join("; ");
        if v.len() > max {
            s.push_str(&format!("; {} more", v.len() - max));
        }
        s
    }
}

/// A third-party organization as the whole period saw it, across every unknown source.
#[derive(Default)]
pub(super) struct Identity {
    pub dkim: u64,
    pub spf: u64,
    pub reporters: BTreeSet<String>,
    pub sources: BTreeSet<IpAddr>,
    pub seen: Option<Seen>,
}

/// Every third-party organization the unknown sources authenticated as.
pub(super) fn identities(unknown: &BTreeMap<SourceKey, SourceAcc>) -> BTreeMap<String, Identity> {
    let mut out: BTreeMap<String, Identity> = BTreeMap::new();
    for (k, acc) in unknown {
        for (org, used) in &acc.identities {
            let id = out.entry(org.clone()).or_default();
            id.dkim += used.dkim;
            id.spf += used.spf;
            id.reporters.extend(acc.reporters.iter().cloned());
            id.sources.insert(k.1);
            id.seen = Seen::widen(id.seen, used.seen);
        }
    }
    out
}

/// What an unattributed source is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SourceKind {
    /// Our own mail relayed by a forwarder or list (no finding).
    Forwarder,
    /// A service sending as us (VEN-006), and what ties it to us.
    Service {
        org: Option<String>,
        basis: ServiceBasis,
    },
    /// Forged mail (RPT-001).
    Spoofing,
    /// Too little to tell (listed, no finding).
    Unknown,
}

/// Why a source outside the inventory is taken for a service: each asks a different fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum ServiceBasis {
    /// Our SPF record includes its provider.
    OurInclude,
    /// Our SPF record authorizes its address (SPF passed for our own MAIL FROM).
    OurSpf,
    /// It signs with one of our keys that neither the config nor the inventory names.
    OurKey,
    /// It authenticates, day after day, as an organization of its own.
    OwnIdentity,
}

/// A source's class with the reason, in words the PDF prints.
pub(super) struct Verdict {
    pub kind: SourceKind,
    pub why: String,
}

/// What the rule needs besides the source itself.
pub(super) struct Rule<'a> {
    pub authorized: &'a BTreeSet<String>,
    pub identities: &'a BTreeMap<String, Identity>,
    pub ptr: &'a PtrNames,
    pub service_min_days: u32,
}

impl Rule<'_> {
    /// The rule in the module documentation, applied to one source.
    pub fn judge(&self, ip: IpAddr, acc: &SourceAcc) -> Verdict {
        let count = |n: u64| crate::text::count(n as usize, "message", "messages");
        // One stray message does not class an address: the evidence must cover at least half
        // of what it sent.
        let most = |n: u64| n > 0 && n.saturating_mul(2) >= acc.messages;
        if most(acc.forwarded) {
            let reasons = acc
                .reasons
                .iter()
                .map(|(r, n)| format!("{r} on {}", count(*n)))
                .collect::<Vec<_>>()
                .join(", ");
            return Verdict {
                kind: SourceKind::Forwarder,
                why: format!("forwarder or mailing list: receivers reported {reasons}"),
            };
        }
        // Our own mail relayed: our signature under a selector our config or inventory names,
        // intact, or broken in transit while SPF passed for the relaying host's own domain.
        let relayed = acc.own_sig_pass.saturating_add(acc.own_sig_fail_relayed);
        if most(relayed) && acc.spf_aligned == 0 {
            let relay_spf: Vec<&str> = acc
                .identities
                .iter()
                .filter(|(_, used)| used.spf > 0)
                .map(|(o, _)| o.as_str())
                .collect();
            return Verdict {
                kind: SourceKind::Forwarder,
                why: format!(
                    "forwarder or mailing list: carries our own DKIM signature{}, {}{}",
                    if acc.own_selectors.is_empty() {
                        String::new()
                    } else {
                        format!(" (selector {})", join(&acc.own_selectors))
                    },
                    match (acc.own_sig_pass, acc.own_sig_fail_relayed) {
                        (p, 0) => format!("intact on {}", count(p)),
                        (0, f) => format!("altered in transit on {}", count(f)),
                        (p, f) =>
                            format!("intact on {}, altered in transit on {}", count(p), count(f)),
                    },
                    if relay_spf.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; SPF passed for the relaying host's own domain {}",
                            relay_spf.join(", ")
                        )
                    }
                ),
            };
        }
        if most(acc.unclaimed_sig_pass) {
            return Verdict {
                kind: SourceKind::Service {
                    org: None,
                    basis: ServiceBasis::OurKey,
                },
                why: format!(
                    "unlisted service sending as us: signs {} with our own published key ({}), which neither the configuration nor any inventory vendor names",
                    count(acc.unclaimed_sig_pass),
                    if acc.unclaimed_selectors.is_empty() {
                        "no selector reported".to_string()
                    } else {
                        format!("selector {}", join(&acc.unclaimed_selectors))
                    }
                ),
            };
        }
        if let Some(provider) = acc
            .third_party
            .iter()
            .find(|d| self.authorized.iter().any(|a| same_base(a, d)))
        {
            return Verdict {
                kind: SourceKind::Service {
                    org: Some(base(provider).to_string()),
                    basis: ServiceBasis::OurInclude,
                },
                why: format!(
                    "unlisted service sending as us: authenticates as {provider}, whose provider our own SPF record includes"
                ),
            };
        }
        if acc.spf_aligned > 0 {
            return Verdict {
                kind: SourceKind::Service {
                    org: None,
                    basis: ServiceBasis::OurSpf,
                },
                why: format!(
                    "unlisted service sending as us: our own SPF record authorizes this address ({} passed SPF aligned)",
                    count(acc.spf_aligned)
                ),
            };
        }
        let ptr_org = self
            .ptr
            .get(&ip)
            .map(|n| crate::suffix::registrable(n).to_string());
        let mut stable = Vec::new();
        let mut brief_signers = Vec::new();
        let mut single_day = 0usize;
        for org in acc.identities.keys() {
            let Some(id) = self.identities.get(org) else {
                continue;
            };
            let days = id.seen.map(Seen::days).unwrap_or(0);
            if days <= 1 {
                single_day += 1;
            }
            let backed = id.dkim > 0 || ptr_org.as_deref() == Some(org.as_str());
            if backed && days >= i64::from(self.service_min_days) {
                stable.push((org, id, days));
            } else if id.dkim > 0 {
                brief_signers.push((org, days));
            }
        }
        if let Some((org, id, days)) = stable.first() {
            return Verdict {
                kind: SourceKind::Service {
                    org: Some((*org).clone()),
                    basis: ServiceBasis::OwnIdentity,
                },
                why: format!(
                    "unlisted service sending as us: authenticates as {org} ({}), seen on at least {days} days from {}{}",
                    match (id.dkim > 0, id.spf > 0) {
                        (true, true) => "DKIM and SPF",
                        (true, false) => "DKIM",
                        _ => "SPF",
                    },
                    crate::text::count(id.reporters.len(), "reporter", "reporters"),
                    match &ptr_org {
                        Some(p) if p == *org => ", reverse DNS in the same organization",
                        _ => "",
                    }
                ),
            };
        }
        // Throwaway identities: several organizations from one address, each for one day.
        let rotating = self
            .identities
            .iter()
            .filter(|(_, id)| id.sources.contains(&ip) && id.seen.map(Seen::days).unwrap_or(0) <= 1)
            .count();
        if acc.identities.is_empty() {
            return Verdict {
                kind: SourceKind::Spoofing,
                why: format!(
                    "spoofing: authenticated as no one{}{}",
                    if acc.forged_sig > 0 {
                        format!(
                            "; {} carried a signature of our domain under a selector the snapshot does not show as published",
                            count(acc.forged_sig)
                        )
                    } else {
                        String::new()
                    },
                    match acc.own_sig_fail.saturating_sub(acc.own_sig_fail_relayed) {
                        0 => String::new(),
                        n => format!(
                            "; {} carried one of our signatures, broken, with no relaying identity of its own (a replayed or tampered message)",
                            count(n)
                        ),
                    }
                ),
            };
        }
        if rotating >= 2 && single_day > 0 {
            return Verdict {
                kind: SourceKind::Spoofing,
                why: format!(
                    "spoofing: rotates throwaway identities ({rotating} organizations from this address, each on a single day)"
                ),
            };
        }
        if let Some((org, days)) = brief_signers.first() {
            return Verdict {
                kind: SourceKind::Unknown,
                why: format!(
                    "unknown: signs as {org}, provably on {} only (a service needs {}); the next period decides",
                    crate::text::count(*days as usize, "day", "days"),
                    crate::text::count(self.service_min_days as usize, "day", "days")
                ),
            };
        }
        Verdict {
            kind: SourceKind::Spoofing,
            why: format!(
                "spoofing: passes only SPF for a domain of its own ({}), with no DKIM signature of its own and no reverse DNS in that organization",
                join(acc.identities.keys())
            ),
        }
    }
}

/// The class of every unknown source, by the rule above.
pub(super) fn verdicts(
    cx: &Checks<'_>,
    unknown: &BTreeMap<SourceKey, SourceAcc>,
) -> BTreeMap<SourceKey, Verdict> {
    let ids = identities(unknown);
    let rule = Rule {
        authorized: cx.facts.authorized,
        identities: &ids,
        ptr: cx.ptr,
        service_min_days: cx.policy.service_min_days,
    };
    unknown
        .iter()
        .map(|(k, acc)| (k.clone(), rule.judge(k.1, acc)))
        .collect()
}
