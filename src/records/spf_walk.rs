//! Walking the SPF include/redirect tree over a stored snapshot.
//!
//! The walk never touches the network: it reads only the answers the capture stored, so an old
//! snapshot can be re-walked under newer rules and a failed lookup stays visible as "evidence
//! incomplete" instead of being mistaken for a missing record.

use serde::{Deserialize, Serialize};

use super::spf::{self, Mechanism, Term, TermKind, has_macro};
use crate::snapshot::{Lookup, Outcome, Rtype, Snapshot, normalize_name, starts_with_tag};

/// RFC 7208 §4.6.4: more DNS-querying terms than this is a `permerror`.
pub const LOOKUP_LIMIT: u32 = 10;
/// RFC 7208 §4.6.4: receivers SHOULD return `permerror` past this many void lookups.
pub const VOID_LIMIT: u32 = 2;
/// Bounds the work a hostile snapshot (a wide fan of distinct includes) can cause.
const MAX_NODES: usize = 1000;
const MAX_DEPTH: usize = 20;

/// What the snapshot says about the SPF record at the top name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpfStatus {
    /// Exactly one `v=spf1` record, and every lookup the walk needed was answered.
    Found,
    /// NXDOMAIN, NODATA, or TXT records none of which is `v=spf1`.
    Missing,
    /// More than one `v=spf1` record (RFC 7208 §4.5: `permerror`).
    Multiple,
    /// A lookup the verdict depends on failed or was never captured: we cannot tell.
    Incomplete,
}

/// One term of the evaluated tree, in evaluation order, for indented display.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeNode {
    /// 0 for terms of the top record, 1 for terms of a record it includes, and so on.
    pub depth: usize,
    /// The term as published.
    pub term: String,
    /// Name the term queries, when it queries one.
    pub target: Option<String>,
    /// How that query ended in the snapshot; `None` when not queried or not captured.
    pub outcome: Option<Outcome>,
    /// DNS-querying terms in this branch: this term plus everything beneath it.
    pub lookups: u32,
    /// This term lies past the 10-lookup limit: receivers stop with `permerror` before it.
    pub over_limit: bool,
    /// The `v=spf1` record found at an include/redirect target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    pub notes: Vec<String>,
}

/// The SPF posture of one domain as the stored snapshot shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpfWalk {
    pub domain: String,
    /// The single top `v=spf1` record, when there is exactly one.
    pub record: Option<String>,
    /// Every `v=spf1` record at the top name (evidence when there are several).
    pub records: Vec<String>,
    pub status: SpfStatus,
    /// Number of `v=spf1` TXT records at the top name.
    pub record_count: usize,
    /// Octets of the top record text (RFC 7208 §3.4 advises staying under 450).
    pub size_octets: usize,
    /// DNS-querying terms counted recursively (RFC 7208 §4.6.4).
    pub lookups: u32,
    /// DNS-querying terms whose lookup returned NXDOMAIN or NODATA (each term once).
    pub void_lookups: u32,
    /// Effective `all` of the top record (`-all`, `~all`, `?all`, `+all`), following `redirect`.
    pub all: Option<String>,
    pub tree: Vec<TreeNode>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    /// Lookups that ended in SERVFAIL, REFUSED, timeout or another error.
    pub failed_lookups: Vec<(String, Outcome)>,
}

/// Evaluates the include/redirect tree of `domain`'s SPF record over the snapshot's answers.
pub fn walk(domain: &str, snap: &Snapshot) -> SpfWalk {
    let name = normalize_name(domain);
    let mut w = Walker {
        snap,
        out: SpfWalk {
            domain: name.clone(),
            record: None,
            records: Vec::new(),
            status: SpfStatus::Missing,
            record_count: 0,
            size_octets: 0,
            lookups: 0,
            void_lookups: 0,
            all: None,
            tree: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            failed_lookups: Vec::new(),
        },
        stack: vec![name.clone()],
        incomplete: false,
        truncated: false,
    };

    match snap.get(&name, Rtype::Txt) {
        None => {
            w.out.status = SpfStatus::Incomplete;
            w.out
                .warnings
                .push(format!("{name}: the TXT lookup is not in the snapshot"));
        }
        Some(l) if l.outcome.is_failure() => {
            w.out.status = SpfStatus::Incomplete;
            w.failed(&name, l.outcome);
            w.out.warnings.push(format!(
                "{name}: TXT lookup ended {}; SPF could not be checked",
                l.outcome.label()
            ));
        }
        Some(l) if l.outcome != Outcome::Answer => {
            w.out.status = SpfStatus::Missing;
        }
        Some(l) => {
            let records = spf_records(l);
            w.out.record_count = records.len();
            w.out.records = records.iter().map(|s| s.to_string()).collect();
            match records.as_slice() {
                [] => w.out.status = SpfStatus::Missing,
                [one] => {
                    let text = one.to_string();
                    w.out.size_octets = text.len();
                    w.out.record = Some(text.clone());
                    w.eval(&name, &text, 0);
                    w.out.all = effective_all(snap, &text);
                    w.out.status = if w.incomplete {
                        SpfStatus::Incomplete
                    } else {
                        SpfStatus::Found
                    };
                }
                many => {
                    w.out.status = SpfStatus::Multiple;
                    w.out.errors.push(format!(
                        "{name}: {} v=spf1 records; RFC 7208 §4.5 makes this a permerror",
                        many.len()
                    ));
                }
            }
        }
    }

    let out = &mut w.out;
    if out.lookups > LOOKUP_LIMIT {
        out.errors.push(format!(
            "{name}: {} DNS-querying terms; RFC 7208 §4.6.4 allows {LOOKUP_LIMIT} (permerror)",
            out.lookups
        ));
    }
    if out.void_lookups > VOID_LIMIT {
        out.errors.push(format!(
            "{name}: {} void lookups; RFC 7208 §4.6.4 allows {VOID_LIMIT} (permerror)",
            out.void_lookups
        ));
    }
    tracing::debug!(domain = %name, status = ?out.status, lookups = out.lookups, "SPF walk");
    w.out
}

fn spf_records(l: &Lookup) -> Vec<&str> {
    l.answers
        .iter()
        .filter(|a| starts_with_tag(a, "v=spf1"))
        .map(String::as_str)
        .collect()
}

/// The `all` that ends evaluation of the top record: its own, or the redirect chain's.
fn effective_all(snap: &Snapshot, text: &str) -> Option<String> {
    let mut rec = spf::parse(text);
    let mut seen: Vec<String> = Vec::new();
    for _ in 0..=MAX_DEPTH {
        if let Some(q) = rec.all() {
            return Some(q.all_text());
        }
        let target = rec
            .redirect()
            .filter(|d| !has_macro(d))
            .map(normalize_name)?;
        if seen.contains(&target) {
            return None;
        }
        let l = snap.get(&target, Rtype::Txt)?;
        let next = match spf_records(l).as_slice() {
            [one] => spf::parse(one),
            _ => return None,
        };
        seen.push(target);
        rec = next;
    }
    None
}

struct Walker<'a> {
    snap: &'a Snapshot,
    out: SpfWalk,
    /// Names of the records being evaluated, outermost first (for loop detection).
    stack: Vec<String>,
    incomplete: bool,
    truncated: bool,
}

impl Walker<'_> {
    fn failed(&mut self, name: &str, outcome: Outcome) {
        self.incomplete = true;
        if !self
            .out
            .failed_lookups
            .iter()
            .any(|(n, o)| n == name && *o == outcome)
        {
            self.out.failed_lookups.push((name.to_string(), outcome));
        }
    }

    fn push(&mut self, depth: usize, term: &Term) -> usize {
        self.out.tree.push(TreeNode {
            depth,
            term: term.text.clone(),
            target: None,
            outcome: None,
            lookups: 0,
            over_limit: false,
            record: None,
            notes: Vec::new(),
        });
        self.out.tree.len() - 1
    }

    /// Counts one DNS-querying term and marks it when it lies past the limit.
    fn count(&mut self, idx: usize) {
        self.out.lookups += 1;
        let node = &mut self.out.tree[idx];
        node.lookups = 1;
        if self.out.lookups > LOOKUP_LIMIT {
            node.over_limit = true;
            node.notes.push(format!(
                "lookup {} is past the limit of {LOOKUP_LIMIT}: receivers stop with permerror before this term",
                self.out.lookups
            ));
        }
    }

    fn note(&mut self, idx: usize, note: impl Into<String>) {
        self.out.tree[idx].notes.push(note.into());
    }

    fn eval(&mut self, name: &str, text: &str, depth: usize) {
        let rec = spf::parse(text);
        for d in &rec.diagnostics {
            let msg = format!("{name}: offset {}: {}", d.pos, d.message);
            match d.level {
                super::Level::Error => self.out.errors.push(msg),
                super::Level::Warning => self.out.warnings.push(msg),
            }
        }
        let has_all = rec.all().is_some();
        let mut redirect: Option<(&Term, &str)> = None;
        for term in &rec.terms {
            if self.out.tree.len() >= MAX_NODES {
                if !self.truncated {
                    self.truncated = true;
                    self.out.warnings.push(format!(
                        "SPF tree is larger than {MAX_NODES} terms; the rest is not shown"
                    ));
                }
                return;
            }
            match &term.kind {
                TermKind::Directive { mechanism, .. } => {
                    self.directive(name, term, mechanism, depth)
                }
                TermKind::Redirect { domain } => {
                    if redirect.is_none() {
                        redirect = Some((term, domain));
                    } else {
                        let idx = self.push(depth, term);
                        self.note(idx, "duplicate redirect (permerror)");
                    }
                }
                TermKind::Exp { .. } => {
                    let idx = self.push(depth, term);
                    self.note(idx, "explanation, fetched only after a fail; not counted");
                }
                TermKind::Unknown { .. } => {
                    let idx = self.push(depth, term);
                    self.note(idx, "unknown modifier, ignored");
                }
                TermKind::Invalid => {
                    let idx = self.push(depth, term);
                    self.note(idx, "invalid term (permerror)");
                }
            }
        }
        if let Some((term, domain)) = redirect {
            if has_all {
                let idx = self.push(depth, term);
                self.note(idx, "ignored: the record has `all`");
            } else {
                self.follow(name, term, domain, depth, "redirect");
            }
        }
    }

    fn directive(&mut self, name: &str, term: &Term, mech: &Mechanism, depth: usize) {
        if !mech.counts_lookup() {
            self.push(depth, term);
            return;
        }
        match mech {
            Mechanism::Include { domain } => self.follow(name, term, domain, depth, "include"),
            Mechanism::Ptr { .. } => {
                let idx = self.push(depth, term);
                self.count(idx);
                self.note(idx, "ptr depends on the connecting IP; not evaluated");
            }
            Mechanism::A { domain, .. } => self.host_lookup(
                name,
                term,
                domain.as_deref(),
                depth,
                &[Rtype::A, Rtype::Aaaa],
            ),
            Mechanism::Mx { domain, .. } => {
                self.host_lookup(name, term, domain.as_deref(), depth, &[Rtype::Mx])
            }
            Mechanism::Exists { domain } => {
                self.host_lookup(name, term, Some(domain), depth, &[Rtype::A])
            }
            Mechanism::All | Mechanism::Ip4 { .. } | Mechanism::Ip6 { .. } => {}
        }
    }

    /// `a`, `mx`, `exists`: one counted lookup, void only when every queried type is absent.
    fn host_lookup(
        &mut self,
        name: &str,
        term: &Term,
        domain: Option<&str>,
        depth: usize,
        rtypes: &[Rtype],
    ) {
        let idx = self.push(depth, term);
        self.count(idx);
        let target = match domain {
            Some(d) if has_macro(d) => {
                self.note(
                    idx,
                    "target uses macros; depends on the message, not evaluated",
                );
                return;
            }
            Some(d) => normalize_name(d),
            None => name.to_string(),
        };
        self.out.tree[idx].target = Some(target.clone());
        let lookups: Vec<(Rtype, Option<&Lookup>)> = rtypes
            .iter()
            .map(|&r| (r, self.snap.get(&target, r)))
            .collect();
        let mut outcomes = Vec::new();
        for (rtype, l) in &lookups {
            match l {
                None => {
                    self.incomplete = true;
                    self.note(idx, format!("{} {target} was not captured", rtype.label()));
                    self.out.warnings.push(format!(
                        "{name}: `{}` needs {} {target}, which is not in the snapshot",
                        term.text,
                        rtype.label()
                    ));
                }
                Some(l) => {
                    if l.outcome.is_failure() {
                        self.failed(&target, l.outcome);
                        self.note(
                            idx,
                            format!("{} lookup {}", rtype.label(), l.outcome.label()),
                        );
                        self.out.warnings.push(format!(
                            "{name}: `{}`: {} {target} lookup ended {} (evidence incomplete)",
                            term.text,
                            rtype.label(),
                            l.outcome.label()
                        ));
                    }
                    outcomes.push(l.outcome);
                }
            }
        }
        let combined = if outcomes.contains(&Outcome::Answer) {
            Some(Outcome::Answer)
        } else if let Some(f) = outcomes.iter().find(|o| o.is_failure()) {
            Some(*f)
        } else if outcomes.contains(&Outcome::Nxdomain) {
            Some(Outcome::Nxdomain)
        } else {
            outcomes.first().copied()
        };
        self.out.tree[idx].outcome = combined;
        let all_absent = outcomes.len() == rtypes.len() && outcomes.iter().all(|o| o.is_absent());
        if all_absent {
            self.out.void_lookups += 1;
            self.note(
                idx,
                format!("void lookup ({})", combined.map_or("", Outcome::label)),
            );
        }
        if rtypes == [Rtype::Mx]
            && let Some((_, Some(l))) = lookups.first()
            && l.outcome == Outcome::Answer
        {
            if l.answers.len() > 10 {
                self.out.errors.push(format!(
                    "{name}: `{}`: {target} has {} MX records; RFC 7208 §4.6.4 allows 10 (permerror)",
                    term.text,
                    l.answers.len()
                ));
            }
            if l.answers.iter().any(|a| is_null_mx(a)) {
                self.note(idx, "null MX: matches no host");
            }
        }
    }

    /// `include` and `redirect`: count, then evaluate the target's record one level deeper.
    fn follow(&mut self, name: &str, term: &Term, spec: &str, depth: usize, kind: &str) {
        let idx = self.push(depth, term);
        let before = self.out.lookups;
        self.count(idx);
        if has_macro(spec) {
            self.note(
                idx,
                "target uses macros; depends on the message, not followed",
            );
            return;
        }
        let target = normalize_name(spec);
        self.out.tree[idx].target = Some(target.clone());
        if self.stack.contains(&target) {
            self.note(idx, format!("loop: {target} is already being evaluated"));
            self.out.errors.push(format!(
                "{name}: offset {}: `{}` loops back to {target}, which is already being evaluated (permerror)",
                term.pos, term.text
            ));
            return;
        }
        if depth + 1 > MAX_DEPTH {
            self.note(idx, "not followed: nesting too deep");
            self.out.errors.push(format!(
                "{name}: SPF nesting deeper than {MAX_DEPTH} levels"
            ));
            return;
        }
        let Some(l) = self.snap.get(&target, Rtype::Txt) else {
            self.incomplete = true;
            self.note(idx, format!("TXT {target} was not captured"));
            self.out.warnings.push(format!(
                "{name}: `{}` needs TXT {target}, which is not in the snapshot",
                term.text
            ));
            return;
        };
        self.out.tree[idx].outcome = Some(l.outcome);
        if l.outcome.is_failure() {
            self.failed(&target, l.outcome);
            self.note(idx, format!("lookup {} (temperror)", l.outcome.label()));
            self.out.warnings.push(format!(
                "{name}: `{}`: TXT {target} lookup ended {} (evidence incomplete)",
                term.text,
                l.outcome.label()
            ));
            return;
        }
        if l.outcome.is_absent() {
            self.out.void_lookups += 1;
            self.note(
                idx,
                format!("void lookup ({}); no SPF record", l.outcome.label()),
            );
            self.out.errors.push(format!(
                "{name}: offset {}: {kind} target {target} does not exist or has no TXT ({}): permerror",
                term.pos,
                l.outcome.label()
            ));
            return;
        }
        let records = spf_records(l);
        match records.as_slice() {
            [] => {
                self.note(idx, "no v=spf1 record");
                self.out.errors.push(format!(
                    "{name}: offset {}: {kind} target {target} has no v=spf1 record: permerror",
                    term.pos
                ));
            }
            [one] => {
                let text = one.to_string();
                self.out.tree[idx].record = Some(text.clone());
                self.stack.push(target.clone());
                self.eval(&target, &text, depth + 1);
                self.stack.pop();
            }
            many => {
                self.note(idx, format!("{} v=spf1 records", many.len()));
                self.out.errors.push(format!(
                    "{name}: offset {}: {kind} target {target} has {} v=spf1 records: permerror",
                    term.pos,
                    many.len()
                ));
            }
        }
        self.out.tree[idx].lookups = self.out.lookups - before;
    }
}

fn is_null_mx(answer: &str) -> bool {
    let mut parts = answer.split_whitespace();
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some("0"), Some("."), None)
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    /// A snapshot holding exactly the given lookups, for walks without a network.
    pub(crate) fn snapshot(lookups: &[(&str, Rtype, Outcome, &[&str])]) -> Snapshot {
        Snapshot {
            schema: crate::snapshot::SCHEMA.to_string(),
            taken_at: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
            tool: "mailproof".into(),
            tool_version: "test".into(),
            nameservers: vec!["system".into()],
            domains: Vec::new(),
            lookups: lookups
                .iter()
                .map(|(name, rtype, outcome, answers)| Lookup {
                    name: normalize_name(name),
                    rtype: *rtype,
                    outcome: *outcome,
                    error: None,
                    answers: answers.iter().map(|s| s.to_string()).collect(),
                    txt_strings: Vec::new(),
                    cname_chain: Vec::new(),
                    dnssec: None,
                    elapsed_ms: 1,
                    purpose: "test".into(),
                })
                .collect(),
            organization: None,
            scope_sha256: None,
            transport: None,
            dnssec: None,
        }
    }

    use Outcome::{Answer, Nodata, Nxdomain, Servfail};
    use Rtype::{A, Aaaa, Mx, Txt};

    #[test]
    fn nested_includes_are_counted_recursively() {
        let s = snapshot(&[
            (
                "example.test",
                Txt,
                Answer,
                &[
                    "google-site-verification=abc",
                    "v=spf1 include:a.test mx -all",
                ],
            ),
            ("example.test", Mx, Answer, &["10 mx.example.test."]),
            (
                "a.test",
                Txt,
                Answer,
                &["v=spf1 include:b.test ip4:192.0.2.0/24 ~all"],
            ),
            (
                "b.test",
                Txt,
                Answer,
                &["v=spf1 a:h.b.test exists:x.b.test ?all"],
            ),
            ("h.b.test", A, Answer, &["192.0.2.9"]),
            ("h.b.test", Aaaa, Nodata, &[]),
            ("x.b.test", A, Answer, &["127.0.0.2"]),
        ]);
        let w = walk("Example.TEST.", &s);
        assert_eq!(w.status, SpfStatus::Found, "{w:#?}");
        assert_eq!(w.domain, "example.test");
        assert_eq!(w.record.as_deref(), Some("v=spf1 include:a.test mx -all"));
        assert_eq!(w.record_count, 1);
        assert_eq!(w.size_octets, 29);
        // include:a.test, include:b.test, a:h.b.test, exists:x.b.test, mx
        assert_eq!(w.lookups, 5);
        assert_eq!(w.void_lookups, 0);
        assert_eq!(w.all.as_deref(), Some("-all"));
        assert!(w.errors.is_empty(), "{:?}", w.errors);
        let shape: Vec<(usize, &str, u32)> = w
            .tree
            .iter()
            .map(|n| (n.depth, n.term.as_str(), n.lookups))
            .collect();
        assert_eq!(
            shape,
            vec![
                (0, "include:a.test", 4),
                (1, "include:b.test", 3),
                (2, "a:h.b.test", 1),
                (2, "exists:x.b.test", 1),
                (2, "?all", 0),
                (1, "ip4:192.0.2.0/24", 0),
                (1, "~all", 0),
                (0, "mx", 1),
                (0, "-all", 0),
            ]
        );
        assert_eq!(
            w.tree[0].record.as_deref(),
            Some("v=spf1 include:b.test ip4:192.0.2.0/24 ~all")
        );
        assert_eq!(w.tree[7].target.as_deref(), Some("example.test"));
    }

    #[test]
    fn void_lookups_count_once_per_term() {
        let s = snapshot(&[
            (
                "v.test",
                Txt,
                Answer,
                &["v=spf1 a:gone.test mx:nomx.test include:dead.test -all"],
            ),
            ("gone.test", A, Nxdomain, &[]),
            ("gone.test", Aaaa, Nxdomain, &[]),
            ("nomx.test", Mx, Nodata, &[]),
            ("dead.test", Txt, Nxdomain, &[]),
        ]);
        let w = walk("v.test", &s);
        assert_eq!(w.void_lookups, 3, "A+AAAA of one `a` term count as one");
        assert_eq!(w.lookups, 3);
        assert_eq!(w.status, SpfStatus::Found);
        assert_eq!(w.tree[0].outcome, Some(Nxdomain));
        assert!(
            w.errors.iter().any(|e| e.contains("3 void lookups")),
            "{:?}",
            w.errors
        );
        assert!(
            w.errors
                .iter()
                .any(|e| e.contains("dead.test") && e.contains("permerror"))
        );

        // An `a` with an IPv4 answer but no AAAA is not void.
        let s = snapshot(&[
            ("v.test", Txt, Answer, &["v=spf1 a -all"]),
            ("v.test", A, Answer, &["192.0.2.1"]),
            ("v.test", Aaaa, Nodata, &[]),
        ]);
        let w = walk("v.test", &s);
        assert_eq!((w.lookups, w.void_lookups), (1, 0));
        assert!(w.errors.is_empty());
    }

    #[test]
    fn redirect_is_followed_for_lookups_and_all() {
        let s = snapshot(&[
            (
                "r.test",
                Txt,
                Answer,
                &["v=spf1 ip4:192.0.2.1 redirect=_spf.r.test"],
            ),
            ("_spf.r.test", Txt, Answer, &["v=spf1 include:x.test ~all"]),
            ("x.test", Txt, Answer, &["v=spf1 -all"]),
        ]);
        let w = walk("r.test", &s);
        assert_eq!(w.status, SpfStatus::Found);
        assert_eq!(w.lookups, 2);
        assert_eq!(w.all.as_deref(), Some("~all"));
        assert!(
            w.tree.iter().any(|n| n.term == "-all" && n.depth == 2),
            "{:#?}",
            w.tree
        );
        assert_eq!(
            w.tree.last().map(|n| (n.term.as_str(), n.depth)),
            Some(("~all", 1))
        );
        assert_eq!(w.tree[1].term, "redirect=_spf.r.test");
        assert_eq!(w.tree[1].lookups, 2);

        // With `all`, the redirect is never evaluated and not counted.
        let s = snapshot(&[("r.test", Txt, Answer, &["v=spf1 redirect=_spf.r.test -all"])]);
        let w = walk("r.test", &s);
        assert_eq!(w.lookups, 0);
        assert_eq!(w.all.as_deref(), Some("-all"));
        assert_eq!(
            w.status,
            SpfStatus::Found,
            "ignored redirect needs no capture"
        );
        assert!(w.tree[1].notes[0].contains("ignored"));

        // Neither all nor redirect: no effective all.
        let s = snapshot(&[("r.test", Txt, Answer, &["v=spf1 ip4:192.0.2.1"])]);
        assert_eq!(walk("r.test", &s).all, None);
    }

    #[test]
    fn loops_are_detected_and_reported() {
        let s = snapshot(&[
            ("l.test", Txt, Answer, &["v=spf1 include:m.test -all"]),
            ("m.test", Txt, Answer, &["v=spf1 include:l.test ~all"]),
        ]);
        let w = walk("l.test", &s);
        assert_eq!(w.lookups, 2);
        assert_eq!(w.tree[1].term, "include:l.test");
        assert!(w.tree[1].notes[0].starts_with("loop"));
        assert!(
            w.errors
                .iter()
                .any(|e| e.starts_with("m.test: offset 7:") && e.contains("loops")),
            "{:?}",
            w.errors
        );
        // Self-redirect.
        let s = snapshot(&[("s.test", Txt, Answer, &["v=spf1 redirect=S.test."])]);
        let w = walk("s.test", &s);
        assert!(w.errors.iter().any(|e| e.contains("loops")));
        assert_eq!(w.all, None);
    }

    #[test]
    fn terms_past_ten_lookups_are_shown_and_marked() {
        let mut zone: Vec<(String, String)> = Vec::new();
        let top: Vec<String> = (0..6).map(|i| format!("include:i{i}.test")).collect();
        zone.push(("big.test".into(), format!("v=spf1 {} -all", top.join(" "))));
        for i in 0..6 {
            zone.push((
                format!("i{i}.test"),
                format!("v=spf1 exists:e{i}.test ~all"),
            ));
        }
        let mut lookups: Vec<(&str, Rtype, Outcome, Vec<&str>)> = zone
            .iter()
            .map(|(n, r)| (n.as_str(), Txt, Answer, vec![r.as_str()]))
            .collect();
        let names: Vec<String> = (0..6).map(|i| format!("e{i}.test")).collect();
        for n in &names {
            lookups.push((n.as_str(), A, Answer, vec!["127.0.0.2"]));
        }
        let refs: Vec<(&str, Rtype, Outcome, &[&str])> = lookups
            .iter()
            .map(|(n, r, o, a)| (*n, *r, *o, a.as_slice()))
            .collect();
        let w = walk("big.test", &snapshot(&refs));
        assert_eq!(w.lookups, 12);
        let marked: Vec<&str> = w
            .tree
            .iter()
            .filter(|n| n.over_limit)
            .map(|n| n.term.as_str())
            .collect();
        assert_eq!(marked, vec!["include:i5.test", "exists:e5.test"]);
        assert!(
            w.tree
                .iter()
                .any(|n| n.term == "exists:e5.test" && n.depth == 1)
        );
        assert!(w.errors.iter().any(|e| e.contains("12 DNS-querying terms")));
        assert_eq!(w.status, SpfStatus::Found);
    }

    #[test]
    fn servfail_include_makes_the_walk_incomplete() {
        let s = snapshot(&[
            ("f.test", Txt, Answer, &["v=spf1 include:flaky.test a -all"]),
            ("flaky.test", Txt, Servfail, &[]),
        ]);
        let w = walk("f.test", &s);
        assert_eq!(w.status, SpfStatus::Incomplete);
        assert_eq!(w.failed_lookups, vec![("flaky.test".to_string(), Servfail)]);
        assert_eq!(w.void_lookups, 0, "a failure is not a void lookup");
        assert_eq!(
            w.record.as_deref(),
            Some("v=spf1 include:flaky.test a -all")
        );
        assert!(
            w.errors.is_empty(),
            "failure is not a permerror: {:?}",
            w.errors
        );
        // The `a` lookups were never captured: also noted.
        assert!(
            w.warnings.iter().any(|m| m.contains("A f.test")),
            "{:?}",
            w.warnings
        );

        let s = snapshot(&[("top.test", Txt, Servfail, &[])]);
        let w = walk("top.test", &s);
        assert_eq!(w.status, SpfStatus::Incomplete);
        assert_eq!(w.failed_lookups.len(), 1);
        assert_eq!(walk("never.test", &s).status, SpfStatus::Incomplete);
    }

    #[test]
    fn missing_and_multiple() {
        let s = snapshot(&[
            ("nx.test", Txt, Nxdomain, &[]),
            ("other.test", Txt, Answer, &["v=spf10 -all", "hello"]),
            ("two.test", Txt, Answer, &["v=spf1 -all", "V=SPF1 ~all"]),
        ]);
        assert_eq!(walk("nx.test", &s).status, SpfStatus::Missing);
        assert_eq!(walk("other.test", &s).status, SpfStatus::Missing);
        let w = walk("two.test", &s);
        assert_eq!(w.status, SpfStatus::Multiple);
        assert_eq!(w.record_count, 2);
        assert_eq!(w.record, None);
        assert_eq!(w.records.len(), 2);
        assert_eq!(w.errors.len(), 1);
    }

    #[test]
    fn syntax_errors_inside_includes_name_the_record() {
        let s = snapshot(&[
            ("p.test", Txt, Answer, &["v=spf1 include:q.test -all"]),
            ("q.test", Txt, Answer, &["v=spf1 ip4:192.0.2.300 ptr ~all"]),
        ]);
        let w = walk("p.test", &s);
        assert_eq!(
            w.errors,
            vec!["q.test: offset 11: invalid IPv4 address `192.0.2.300`".to_string()]
        );
        assert!(
            w.warnings
                .iter()
                .any(|m| m.starts_with("q.test: offset 23:"))
        );
        assert_eq!(w.lookups, 2);
    }
}
