//! DMARC identifier alignment recomputed from a row's `auth_results`.
//!
//! Reporters' own `policy_evaluated` verdicts are sometimes wrong (they credit a forwarder's
//! DKIM signature, or ignore `aspf=s`), and an auditor needs to know how far to trust them.
//! So alignment is recomputed here from the raw authentication results and the published
//! alignment modes (RFC 7489 §3.1, RFC 9989 §4.4), and both verdicts are kept side by side.
//!
//! **Organizational domain.** Relaxed alignment compares organizational domains. What mailproof
//! knows to be an organization's domain comes first: the configured domains and the reports'
//! published policy domains ("hints").
//! 1. If one hint is the name or a parent of *both* names, they share that organization:
//!    aligned.
//! 2. Else, if a hint covers exactly one of them, a known organizational boundary separates
//!    them: not aligned.
//! 3. Else both are compared by their registrable domains under the Public Suffix List
//!    embedded in this build (`crate::suffix`), so `co.uk`-style suffixes and providers'
//!    private suffixes never make strangers look aligned.

use super::model::{Alignment, AuthResult, Row};

/// Our verdict for one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Verdict {
    /// A passing DKIM signature whose `d=` aligns with the header From.
    pub dkim_aligned: bool,
    /// A passing SPF result for the MAIL FROM domain aligned with the header From.
    pub spf_aligned: bool,
}

impl Verdict {
    pub fn dmarc_pass(self) -> bool {
        self.dkim_aligned || self.spf_aligned
    }
}

/// Recomputes alignment for `row` under the given modes; `hints` are known organizational
/// (configured or published) domains, lower-case.
pub fn evaluate(row: &Row, adkim: Alignment, aspf: Alignment, hints: &[&str]) -> Verdict {
    let from = row.header_from.as_str();
    if from.is_empty() {
        return Verdict::default();
    }
    let dkim_aligned = row
        .dkim
        .iter()
        .any(|d| d.result == AuthResult::Pass && aligned(&d.domain, from, adkim, hints));
    let spf_aligned = row.spf.iter().any(|s| {
        s.result == AuthResult::Pass
            && s.scope.as_deref().is_none_or(|sc| sc == "mfrom")
            && aligned(&s.domain, from, aspf, hints)
    });
    Verdict {
        dkim_aligned,
        spf_aligned,
    }
}

/// Whether `a` and `b` (lower-case, no trailing dot) align under `mode`.
pub fn aligned(a: &str, b: &str, mode: Alignment, hints: &[&str]) -> bool {
    let a = a.trim_end_matches('.');
    let b = b.trim_end_matches('.');
    if a.is_empty() || b.is_empty() {
        return false;
    }
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    if mode == Alignment::Strict {
        return false;
    }
    organizational(a, hints).eq_ignore_ascii_case(organizational(b, hints))
}

/// The organizational domain of `name`: the highest trusted boundary containing it (the
/// shortest hint of two labels or more), else its registrable domain. Hints must come from our own
/// evidence — configured domains and the DMARC tree walk — never from report content, or one
/// report could declare `com` an organization and make every name align.
pub fn organizational<'a>(name: &'a str, hints: &[&str]) -> &'a str {
    hints
        .iter()
        .map(|h| h.trim_end_matches('.'))
        .filter(|h| h.contains('.') && is_under(name, h))
        .min_by_key(|h| h.len())
        .map(|h| &name[name.len() - h.len()..])
        .unwrap_or_else(|| crate::suffix::registrable(name))
}

/// `name` is `parent` or a subdomain of it (ASCII case-insensitive).
pub fn is_under(name: &str, parent: &str) -> bool {
    // Compared as bytes: report content may hold any UTF-8 (or U+FFFD from a repair), and a
    // cut inside a multi-byte character must be a mismatch, not a panic.
    let parent = parent.trim_end_matches('.').as_bytes();
    let name = name.as_bytes();
    let Some(cut) = name.len().checked_sub(parent.len()) else {
        return false;
    };
    !parent.is_empty()
        && name[cut..].eq_ignore_ascii_case(parent)
        && (cut == 0 || name[cut - 1] == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::model::{DkimAuth, SpfAuth};

    fn row(from: &str, dkim: &[(&str, AuthResult)], spf: &[(&str, Option<&str>)]) -> Row {
        Row {
            source_ip: "192.0.2.1".parse().unwrap(),
            count: 1,
            disposition: "none".into(),
            dkim_evaluated: AuthResult::Fail,
            spf_evaluated: AuthResult::Fail,
            reasons: vec![],
            header_from: from.into(),
            envelope_from: None,
            envelope_to: None,
            dkim: dkim
                .iter()
                .map(|(d, r)| DkimAuth {
                    domain: (*d).into(),
                    selector: None,
                    result: r.clone(),
                    human_result: None,
                })
                .collect(),
            spf: spf
                .iter()
                .map(|(d, scope)| SpfAuth {
                    domain: (*d).into(),
                    scope: scope.map(str::to_string),
                    result: AuthResult::Pass,
                    human_result: None,
                })
                .collect(),
        }
    }

    use Alignment::{Relaxed, Strict};

    #[test]
    fn strict_and_relaxed() {
        assert!(aligned("ex.test", "ex.test", Strict, &[]));
        assert!(!aligned("mail.ex.test", "ex.test", Strict, &[]));
        assert!(aligned("mail.ex.test", "ex.test", Relaxed, &[]));
        assert!(aligned("a.ex.test", "b.ex.test", Relaxed, &[]));
        assert!(!aligned("ex.test", "other.test", Relaxed, &[]));
        assert!(!aligned("", "ex.test", Relaxed, &[]));
        assert!(aligned("EX.test.", "ex.test", Strict, &[]));
    }

    #[test]
    fn names_with_multibyte_characters_compare_without_panicking() {
        // "bücher.de" against "arzt.com": the cut lands inside "ü".
        assert!(!is_under("bücher.de", "arzt.com"));
        assert!(!is_under("\u{fffd}x.test", "ab.test"));
        assert!(is_under("mail.bücher.de", "bücher.de"));
        assert!(!is_under("xbücher.de", "bücher.de"));
        assert!(!aligned("bücher.de", "arzt.com", Relaxed, &["arzt.com"]));
        assert!(aligned("a.bücher.de", "bücher.de", Relaxed, &["bücher.de"]));
    }

    #[test]
    fn hints_first_then_the_public_suffix_list() {
        // Without hints, the Public Suffix List keeps co.uk neighbours apart.
        assert!(!aligned("a.foo.co.uk", "b.bar.co.uk", Relaxed, &[]));
        assert!(aligned("a.foo.co.uk", "b.foo.co.uk", Relaxed, &[]));
        // A provider's private suffix: two customers are two organizations.
        assert!(!aligned("a.github.io", "b.github.io", Relaxed, &[]));
        // A configured domain marks the organizational boundary.
        assert!(!aligned(
            "a.foo.co.uk",
            "b.bar.co.uk",
            Relaxed,
            &["foo.co.uk"]
        ));
        assert!(aligned("a.foo.co.uk", "foo.co.uk", Relaxed, &["foo.co.uk"]));
        // Nested configured domains: the shared parent decides.
        assert!(aligned(
            "x.mail.portal.example",
            "portal.example",
            Relaxed,
            &["mail.portal.example", "portal.example"]
        ));
        // A single-label "organization" is never trusted.
        assert!(!aligned(
            "a.attacker.example",
            "victim.example",
            Relaxed,
            &["example"]
        ));
        // A configured subdomain aligns with its organizational domain from the tree walk.
        assert!(aligned(
            "news.org.example",
            "org.example",
            Relaxed,
            &["news.org.example", "org.example"]
        ));
        assert!(is_under("a.b.test", "B.test"));
        assert!(!is_under("ab.test", "b.test"));
    }

    #[test]
    fn verdicts_from_auth_results() {
        // A forwarder's own passing signature does not align with our From.
        let r = row(
            "portal.example",
            &[("list.example", AuthResult::Pass)],
            &[("list.example", None)],
        );
        assert!(!evaluate(&r, Relaxed, Relaxed, &[]).dmarc_pass());
        // Our subdomain's signature aligns relaxed, not strict.
        let r = row(
            "portal.example",
            &[("mail.portal.example", AuthResult::Pass)],
            &[],
        );
        assert!(evaluate(&r, Relaxed, Relaxed, &[]).dkim_aligned);
        assert!(!evaluate(&r, Strict, Relaxed, &[]).dkim_aligned);
        // A failing signature never aligns.
        let r = row(
            "portal.example",
            &[("portal.example", AuthResult::Fail)],
            &[],
        );
        assert!(!evaluate(&r, Relaxed, Relaxed, &[]).dkim_aligned);
        // SPF for HELO does not count toward DMARC.
        let r = row("portal.example", &[], &[("portal.example", Some("helo"))]);
        assert!(!evaluate(&r, Relaxed, Relaxed, &[]).spf_aligned);
        let r = row(
            "portal.example",
            &[],
            &[("bounce.portal.example", Some("mfrom"))],
        );
        assert!(evaluate(&r, Relaxed, Relaxed, &[]).spf_aligned);
        assert!(!evaluate(&r, Relaxed, Strict, &[]).spf_aligned);
        // No header From: nothing to align with.
        let r = row("", &[("portal.example", AuthResult::Pass)], &[]);
        assert_eq!(evaluate(&r, Relaxed, Relaxed, &[]), Verdict::default());
    }

    proptest::proptest! {
        /// Any text a report may hold (and any parent) compares without panicking, and
        /// agrees with a plain label-wise comparison.
        #[test]
        fn is_under_never_panics(name in "\\PC{0,24}", parent in "\\PC{0,12}") {
            let got = is_under(&name, &parent);
            let p = parent.trim_end_matches('.');
            let want = !p.is_empty()
                && (name.eq_ignore_ascii_case(p)
                    || (name.len() > p.len()
                        && name.is_char_boundary(name.len() - p.len())
                        && name[name.len() - p.len()..].eq_ignore_ascii_case(p)
                        && name[..name.len() - p.len()].ends_with('.')));
            proptest::prop_assert_eq!(got, want);
        }
    }
}
