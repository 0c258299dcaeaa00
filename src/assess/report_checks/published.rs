//! What the reports say our domains publish (`policy_published`): a policy that does not
//! enforce (RPT-004), a subdomain policy weaker than `p` or forged subdomain mail (RPT-005),
//! and a policy that matches neither snapshot of the period (RPT-007). Receivers read the
//! record when they evaluated the mail, so the reports are a second witness beside our own
//! snapshot: a stale cache, a record served by one name server only, or a rogue record shows
//! up here first.

use super::*;

/// A DMARC policy reduced to what decides enforcement, with the defaults filled in (`sp`
/// follows `p`, `np` follows `sp`, `pct` is 100, `t` is `n`), so a receiver that omits a
/// default and a record that states it compare equal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PolicyView {
    pub p: String,
    pub sp: String,
    pub np: String,
    pub pct: u32,
    pub testing: bool,
}

impl PolicyView {
    /// From a record's tags; `None` without a `p`.
    pub fn new(
        p: Option<&str>,
        sp: Option<&str>,
        np: Option<&str>,
        pct: Option<u32>,
        t: Option<&str>,
    ) -> Option<PolicyView> {
        let norm = |s: &str| s.trim().to_ascii_lowercase();
        let p = norm(p?);
        let sp = sp.map(norm).unwrap_or_else(|| p.clone());
        let np = np.map(norm).unwrap_or_else(|| sp.clone());
        Some(PolicyView {
            p,
            sp,
            np,
            pct: pct.unwrap_or(100),
            testing: t.is_some_and(|t| norm(t) == "y"),
        })
    }

    fn of_report(p: &crate::reports::model::PolicyPublished) -> Option<PolicyView> {
        PolicyView::new(
            p.p.as_deref(),
            p.sp.as_deref(),
            p.np.as_deref(),
            p.pct,
            p.testing.as_deref(),
        )
    }

    /// `p=reject; sp=none; pct=50` (defaults left out), as the evidence prints it.
    pub fn words(&self) -> String {
        let mut s = format!("p={}", self.p);
        if self.sp != self.p {
            s.push_str(&format!("; sp={}", self.sp));
        }
        if self.np != self.sp {
            s.push_str(&format!("; np={}", self.np));
        }
        if self.pct != 100 {
            s.push_str(&format!("; pct={}", self.pct));
        }
        if self.testing {
            s.push_str("; t=y");
        }
        s
    }
}

fn strength(p: &str) -> u8 {
    match p {
        "reject" => 2,
        "quarantine" => 1,
        _ => 0,
    }
}

/// Which tags a report stated: an RFC 9990 report has no `pct` (RFC 9989 removed it) and
/// many reporters leave out `sp`, `np` or `testing`; only what a report states can disagree
/// with the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Stated {
    sp: bool,
    np: bool,
    pct: bool,
    testing: bool,
}

impl Stated {
    fn of(p: &crate::reports::model::PolicyPublished) -> Stated {
        Stated {
            sp: p.sp.is_some(),
            np: p.np.is_some(),
            pct: p.pct.is_some(),
            testing: p.testing.is_some(),
        }
    }

    /// Whether a report stating `seen` agrees with a snapshot's `snap` on what it stated.
    fn agrees(self, seen: &PolicyView, snap: &PolicyView) -> bool {
        seen.p == snap.p
            && (!self.sp || seen.sp == snap.sp)
            && (!self.np || seen.np == snap.np)
            && (!self.pct || seen.pct == snap.pct)
            && (!self.testing || seen.testing == snap.testing)
    }
}

/// Reports per (domain, policy as published), with their reporters and date range.
#[derive(Default)]
struct Sighting {
    reports: usize,
    reporters: BTreeSet<String>,
    first: Option<chrono::DateTime<chrono::Utc>>,
    last: Option<chrono::DateTime<chrono::Utc>>,
}

fn seen_policies(cx: &Checks<'_>) -> BTreeMap<(String, PolicyView, Stated), Sighting> {
    let mut out: BTreeMap<(String, PolicyView, Stated), Sighting> = BTreeMap::new();
    for rep in &cx.set.reports {
        let domain = crate::snapshot::normalize_name(&rep.policy.domain);
        if !cx.domains.iter().any(|d| d.name == domain) {
            continue;
        }
        let Some(view) = PolicyView::of_report(&rep.policy) else {
            continue;
        };
        let s = out
            .entry((domain, view, Stated::of(&rep.policy)))
            .or_default();
        s.reports += 1;
        s.reporters.insert(rep.org_name.clone());
        s.first = Some(s.first.map_or(rep.begin, |f| f.min(rep.begin)));
        s.last = Some(s.last.map_or(rep.end, |l| l.max(rep.end)));
    }
    out
}

fn describe(view: &PolicyView, s: &Sighting) -> String {
    format!(
        "{} in {} from {} ({} to {})",
        view.words(),
        crate::text::count(s.reports, "report", "reports"),
        join(&s.reporters),
        s.first
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        s.last
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
    )
}

/// RPT-004, RPT-005 (weaker subdomain policy; forged subdomain mail) and RPT-007.
pub(super) fn checks(
    cx: &Checks<'_>,
    unknown: &BTreeMap<SourceKey, SourceAcc>,
    verdicts: &BTreeMap<SourceKey, senders::Verdict>,
) -> Vec<Finding> {
    let seen = seen_policies(cx);
    let mut out = Vec::new();
    let mut stated: BTreeMap<&str, Vec<(&PolicyView, Stated, &Sighting)>> = BTreeMap::new();
    // The same policy stated with and without its defaults is one policy for RPT-004/005.
    let mut merged: BTreeMap<(&str, &PolicyView), Sighting> = BTreeMap::new();
    for ((d, v, st), s) in &seen {
        stated.entry(d.as_str()).or_default().push((v, *st, s));
        let m = merged.entry((d.as_str(), v)).or_default();
        m.reports += s.reports;
        m.reporters.extend(s.reporters.iter().cloned());
        m.first = m.first.min(s.first).or(m.first).or(s.first);
        m.last = m.last.max(s.last);
    }
    let mut by_domain: BTreeMap<&str, Vec<(&PolicyView, &Sighting)>> = BTreeMap::new();
    for ((d, v), s) in &merged {
        by_domain.entry(*d).or_default().push((*v, s));
    }
    for (domain, views) in &by_domain {
        // RPT-004: receivers were told not to enforce on some of this period's mail.
        let lax: Vec<&(&PolicyView, &Sighting)> = views
            .iter()
            .filter(|(v, _)| v.p == "none" || v.pct < 100 || v.testing)
            .collect();
        if !lax.is_empty() {
            let none = lax.iter().any(|(v, _)| v.p == "none");
            let reports: usize = lax.iter().map(|(_, s)| s.reports).sum();
            let all: usize = views.iter().map(|(_, s)| s.reports).sum();
            let mut d = Draft::new("RPT-004", *domain)
                .domain(domain)
                .title(format!(
                    "{reports} of {all} reports for {domain} show a policy that does not enforce on all mail ({})",
                    lax.iter().map(|(v, _)| v.words()).collect::<Vec<_>>().join(" / ")
                ))
                .evidence_all(lax.iter().map(|(v, s)| describe(v, s)));
            if none {
                // As DMARC-003: receivers deliver forged mail.
                d = d.severity(Severity::High).exposure(
                    Level::High,
                    "receivers were told p=none: deliver mail that fails DMARC",
                );
            }
            out.push(d.build(cx.label));
        }
        // RPT-005: a subdomain policy weaker than p, as receivers applied it. A reported
        // policy neither snapshot shows is RPT-007's to explain, not evidence of a weak sp.
        let snapshots: Vec<&PolicyView> = [
            cx.facts.dmarc_now.get(*domain),
            cx.facts.dmarc_before.get(*domain),
        ]
        .into_iter()
        .flatten()
        .collect();
        let weak: Vec<&(&PolicyView, &Sighting)> = views
            .iter()
            .filter(|(v, _)| strength(&v.sp) < strength(&v.p) || strength(&v.np) < strength(&v.p))
            .filter(|(v, _)| snapshots.is_empty() || snapshots.contains(v))
            .collect();
        let forged_sub: Vec<(&SourceKey, &SourceAcc)> = unknown
            .iter()
            .filter(|(k, a)| {
                k.0 == *domain
                    && k.2 != *domain
                    && a.failing() > 0
                    && verdicts
                        .get(*k)
                        .is_some_and(|v| v.kind == SourceKind::Spoofing)
            })
            .collect();
        if !weak.is_empty() || !forged_sub.is_empty() {
            let sub_msgs: u64 = forged_sub.iter().map(|(_, a)| a.failing()).sum();
            let subs: BTreeSet<&str> = forged_sub.iter().map(|(k, _)| k.2.as_str()).collect();
            let title = match (weak.is_empty(), forged_sub.is_empty()) {
                (false, true) => format!(
                    "Receivers applied a weaker policy to subdomains of {domain} than to the domain ({})",
                    weak.iter()
                        .map(|(v, _)| v.words())
                        .collect::<Vec<_>>()
                        .join(" / ")
                ),
                (true, false) => format!(
                    "{} failing DMARC as subdomains of {domain} from sources outside the inventory",
                    crate::text::count(sub_msgs as usize, "message", "messages")
                ),
                _ => format!(
                    "Receivers applied a weaker policy to subdomains of {domain} ({}), and {} failing DMARC came as its subdomains from sources outside the inventory",
                    weak.iter()
                        .map(|(v, _)| v.words())
                        .collect::<Vec<_>>()
                        .join(" / "),
                    crate::text::count(sub_msgs as usize, "message", "messages")
                ),
            };
            let mut d = Draft::new("RPT-005", *domain)
                .domain(domain)
                .title(title)
                .evidence_all(weak.iter().map(|(v, s)| {
                    format!(
                        "subdomain policy weaker than p: {}; mail as any subdomain of {domain} (existing or not) is {}",
                        describe(v, s),
                        match v.sp.as_str() {
                            "none" => "delivered when it fails DMARC",
                            _ => "quarantined rather than refused",
                        }
                    )
                }));
            if !forged_sub.is_empty() {
                d = d
                    .subdomain_messages(sub_msgs)
                    .messages(sub_msgs)
                    .evidence(format!(
                        "failing subdomain mail from sources outside the inventory: {} (the unknown-sources table classes each source)",
                        subs.iter().copied().collect::<Vec<_>>().join(", ")
                    ))
                    .evidence_all(forged_sub.iter().take(5).map(|(k, a)| {
                        format!(
                            "{} sent {} as {}; authentication seen: {}",
                            k.1,
                            crate::text::count((a.failing()) as usize, "failing message", "failing messages"),
                            k.2,
                            a.quoted_auth(3)
                        )
                    }));
            }
            out.push(d.build(cx.label));
        }
        // RPT-007: a policy neither snapshot of the period shows.
        let known = &snapshots;
        // Only against a snapshot that read the record: a failed lookup this month would leave
        // the previous policy as the only one, and the reports of the new one would look odd.
        if known.is_empty()
            || cx.facts.dmarc_status.get(*domain).map(String::as_str) != Some("found")
        {
            continue;
        }
        let odd: Vec<(&PolicyView, &Sighting)> = stated
            .get(domain)
            .into_iter()
            .flatten()
            .filter(|(v, st, _)| !known.iter().any(|k| st.agrees(v, k)))
            .map(|(v, _, s)| (*v, *s))
            .collect();
        if odd.is_empty() {
            continue;
        }
        let reports: usize = odd.iter().map(|(_, s)| s.reports).sum();
        out.push(
            Draft::new("RPT-007", *domain)
                .domain(domain)
                .title(format!(
                    "{} for {domain} {} a policy that neither DNS snapshot of the period shows",
                    crate::text::count(reports, "report", "reports"),
                    if reports == 1 { "states" } else { "state" }
                ))
                .evidence(format!(
                    "the snapshots show {}",
                    match (
                        cx.facts.dmarc_before.get(*domain),
                        cx.facts.dmarc_now.get(*domain)
                    ) {
                        (Some(b), Some(n)) if b != n => format!(
                            "{} at the start of the period and {} at its end",
                            b.words(),
                            n.words()
                        ),
                        (Some(_), Some(n)) => {
                            format!("{} at the start and at the end of the period", n.words())
                        }
                        (None, Some(n)) => format!("{} at the end of the period", n.words()),
                        (Some(b), None) => format!("{} at the start of the period", b.words()),
                        (None, None) => String::new(),
                    }
                ))
                .evidence_all(
                    odd.iter()
                        .map(|(v, s)| format!("reported: {}", describe(v, s))),
                )
                .build(cx.label),
        );
    }
    out
}
