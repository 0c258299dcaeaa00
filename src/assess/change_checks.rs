//! CHG-* checks: changes since the previous period that weaken protection, and DKIM keys that
//! have not been rotated.

use super::basis::Harm;
use super::finding::Draft;
use super::risk::{Level, Severity};
use crate::config::PolicyConfig;
use crate::evidence::{Change, Finding};
use crate::records::dkim;
use crate::snapshot::{Rtype, Snapshot};

pub fn assess(
    changes: &[Change],
    history: &[&Snapshot],
    current: Option<&Snapshot>,
    policy: &PolicyConfig,
    label: &str,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in changes {
        // The check comes from the diff's one rule; CHG-003 (key age) is judged below over
        // the whole snapshot history, not from a pair of snapshots.
        let id = match c.check.as_deref() {
            Some(id @ ("CHG-001" | "CHG-002" | "CHG-004" | "CHG-005" | "CHG-006")) => id,
            _ => continue,
        };
        let mut d = Draft::new(id, c.name.clone())
            .domain(&c.domain)
            .title(format!("{}: {}", c.name, c.meaning))
            .evidence(format!(
                "before: {}",
                c.before.as_deref().unwrap_or("(none)")
            ))
            .evidence(format!("after: {}", c.after.as_deref().unwrap_or("(none)")));
        if id == "CHG-004" {
            d = d.authority(match c.area.as_str() {
                "spf" => "RFC 7208 §4.5 (no SPF record: the result is none, nothing is authorized or refused)",
                "dmarc" => "RFC 9989 §4.10 (no DMARC record at the domain or its organizational domain: no policy applies)",
                "dkim" => "RFC 6376 §6.1.2 (no key record: signatures with this selector cannot verify)",
                "mta-sts" => "RFC 8461 §3.1 and §5 (without the policy record, senders no longer require TLS)",
                "tls-rpt" => "RFC 8460 §3 (without the record, no TLS failure reports arrive)",
                "mx" => "RFC 7505 §3 (the null MX said the domain accepts no mail)",
                _ => "RFC 9989 §4.7",
            });
        }
        d = match (id, c.area.as_str()) {
            ("CHG-004", "dmarc") => d.severity(Severity::Critical).exposure(
                Level::High,
                "the record is gone: receivers apply no DMARC policy at all",
            ),
            // A weakening is used by forged mail only through what it weakened: p, pct or t
            // open the domain itself, sp and np only its subdomains, and a removed rua
            // forgoes the reports, opening nothing.
            ("CHG-001", _) => {
                let d = if c.meaning.contains("several DMARC records") {
                    d.remediation(format!(
                        "Delete all but one v=DMARC1 record at {} (RFC 9989 §4.10: with several, receivers apply no policy). Keep the record change control approved; nothing needs restoring.",
                        c.name
                    ))
                } else {
                    d
                };
                let parts: Vec<&str> = c.meaning.split("; ").collect();
                let domain_gap = parts.iter().any(|p| {
                    p.starts_with("p lowered")
                        || p.starts_with("pct lowered")
                        || p.starts_with("t=y")
                        || p.starts_with("several DMARC records")
                });
                let subdomain_gap = parts
                    .iter()
                    .any(|p| p.starts_with("sp lowered") || p.starts_with("np lowered"));
                let disclosure = parts.iter().any(|p| p.contains("can include PHI"));
                match (domain_gap, subdomain_gap) {
                    (true, _) => d,
                    (false, _) if disclosure => d.harm(Harm::Disclosure),
                    (false, true) => d.subdomains_only(),
                    (false, false) if parts.iter().any(|p| p.starts_with("rua removed")) => d
                        .harm(Harm::Blindness)
                        .exposure(
                            Level::High,
                            "rua is gone: no receiver sends aggregate reports, every period until it is restored",
                        ),
                    (false, false) => d.harm(Harm::Blindness),
                }
            }
            ("CHG-004", "dkim") => d.harm(Harm::Delivery),
            // The record is gone, not degraded: every TLS report stops, as DMARC-008 says of
            // aggregate reports.
            ("CHG-004", "tls-rpt") => d.harm(Harm::Blindness).exposure(
                Level::High,
                "the record is gone: no receiver sends TLS failure reports, every period until it is restored",
            ),
            ("CHG-004", "mta-sts") => d.harm(Harm::Interception),
            ("CHG-004", "mx") => d.harm(Harm::Hygiene),
            ("CHG-002", _) if c.meaning.contains("SPF records now answer") => d
                .harm(Harm::Delivery)
                .remediation(format!(
                    "Delete all but one v=spf1 record at {} (RFC 7208 §4.5): with several, receivers return permerror and SPF authorizes none of the organization's mail. Keep the one change control approved.",
                    c.domain
                )),
            ("CHG-002", _) if c.meaning.contains("no longer publishes an SPF record") => d
                .harm(Harm::Delivery)
                .remediation(format!(
                    "Remove {} from the SPF record of {}, or have the vendor that owns it restore its record: until then receivers return permerror for every message whose evaluation reaches that include.",
                    c.name, c.domain
                )),
            ("CHG-002", _) if c.meaning.contains("void lookups") => d.harm(Harm::Delivery).remediation(format!(
                "Remove from the SPF record of {} (and have vendors remove from their included records) the mechanisms that name domains which no longer exist: more than 2 void lookups make SPF return permerror.",
                c.domain
            )),
            ("CHG-002", _) if !c.meaning.contains("qualifier") => d.harm(Harm::Delivery).remediation(format!(
                "Bring the SPF lookup count of {} back to 10 or fewer ({}); the `all` qualifier did not change. Remove includes of vendors no longer used, or replace includes with the ip4/ip6 ranges they resolve to.",
                c.domain, c.meaning
            )),
            ("CHG-002", _) => d.harm(Harm::Forgery).remediation(format!(
                "Restore the stricter qualifier on the SPF record of {} ({}), unless change control approved the change.",
                c.domain, c.meaning
            )),
            _ => d,
        };
        out.push(d.build(label));
    }
    if let Some(cur) = current {
        out.extend(stale_keys(history, cur, policy, label));
    }
    out
}

/// Where a selector's CNAME chain ends, when the key is hosted by the sender.
fn cname_target(snap: &Snapshot, name: &str) -> Option<String> {
    snap.get(name, Rtype::Txt)?.cname_chain.last().cloned()
}

/// The RSA modulus size of the key published at `name`, when it is RSA.
fn key_bits(snap: &Snapshot, name: &str) -> Option<u32> {
    let l = snap.get(name, Rtype::Txt)?;
    let t = l.answers.iter().find(|a| dkim::is_key_record(a))?;
    dkim::parse(t).bits
}

fn fingerprint(snap: &Snapshot, name: &str) -> Option<String> {
    let l = snap.get(name, Rtype::Txt)?;
    let t = l.answers.iter().find(|a| dkim::is_key_record(a))?;
    dkim::parse(t).fingerprint
}

/// How long the key at a selector has stayed the same, by the stored snapshots.
pub(crate) struct KeyAge {
    /// SHA-256 of the public key.
    pub fingerprint: String,
    /// The oldest snapshot time with this key, walking back without a change.
    pub since: chrono::DateTime<chrono::Utc>,
    /// Days from `since` to the current snapshot.
    pub days: i64,
    /// The walk reached the oldest snapshot kept: the key may be older (a lower bound).
    pub at_edge: bool,
    /// The longest stretch between two snapshots walked, in days: a rotation and a return to
    /// the old key inside it would not show, and the reader must know how fine the record is.
    pub widest: i64,
}

/// The age of the key published at `name` in `cur`, by walking back through `history` while
/// the key stays the same. `None` when `cur` holds no key there. CHG-003 and VEN-004 both read
/// it, so a key has one age in the report.
pub(crate) fn key_age(history: &[&Snapshot], cur: &Snapshot, name: &str) -> Option<KeyAge> {
    let fp = fingerprint(cur, name)?;
    let mut since = cur.taken_at;
    let mut at_edge = true;
    let mut widest = 0;
    for snap in history.iter().rev().filter(|h| h.taken_at < cur.taken_at) {
        match fingerprint(snap, name) {
            Some(f) if f == fp => {
                widest = widest.max((since - snap.taken_at).num_days());
                since = snap.taken_at
            }
            _ => {
                at_edge = false;
                break;
            }
        }
    }
    Some(KeyAge {
        fingerprint: fp,
        since,
        days: (cur.taken_at - since).num_days(),
        at_edge,
        widest,
    })
}

/// CHG-003: the same public key across stored snapshots for longer than the rotation window.
fn stale_keys(
    history: &[&Snapshot],
    cur: &Snapshot,
    policy: &PolicyConfig,
    label: &str,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for d in &cur.domains {
        for s in &d.selectors {
            let name = format!("{}._domainkey.{}", s.selector, d.name);
            let Some(age) = key_age(history, cur, &name) else {
                continue;
            };
            let KeyAge {
                fingerprint: fp,
                since,
                days,
                at_edge,
                widest,
            } = age;
            let at_least = if at_edge { "at least " } else { "" };
            let warn_days = i64::from(policy.dkim_max_age_days) / 2;
            if days > warn_days {
                let over = days > i64::from(policy.dkim_max_age_days);
                let mut f = Draft::new("CHG-003", name.clone())
                    .domain(&d.name)
                    .title(if over {
                        format!("DKIM key {name} unchanged for {at_least}{days} days")
                    } else if days >= i64::from(policy.dkim_max_age_days) {
                        format!(
                            "DKIM key {name} unchanged for {at_least}{days} days: it has reached the {}-day rotation window",
                            policy.dkim_max_age_days
                        )
                    } else {
                        format!(
                            "DKIM key {name} unchanged for {at_least}{days} days: over half the {}-day rotation window, not past it",
                            policy.dkim_max_age_days
                        )
                    })
                    .evidence(format!(
                        "same public key (sha256 {fp}) in every snapshot since {}{}{}",
                        since.format("%Y-%m-%d"),
                        if at_edge {
                            ", the oldest snapshot kept: the key may be older"
                        } else {
                            ""
                        },
                        if widest > 45 {
                            format!("; the snapshots are up to {widest} days apart, so a change undone within such a gap would not show")
                        } else {
                            String::new()
                        }
                    ))
                    .evidence(format!(
                        "the organization's rotation window: {} days",
                        policy.dkim_max_age_days
                    ))
                    .authority(format!(
                        "The organization's key rotation window of {} days; M3AAWG DKIM Key Rotation BCP (2019) recommends rotating regularly (about every six months, as summarized by secondary sources); NIST SP 800-177r1 §4.4 (key lifetime)",
                        policy.dkim_max_age_days
                    ));
                if over {
                    // The check warns from half the window, so earlier periods may list this
                    // key already: say when it became a warning and when it passed the window.
                    let window = i64::from(policy.dkim_max_age_days);
                    let day = |n: i64| (since + chrono::Duration::days(n)).format("%Y-%m-%d");
                    f = f.evidence(format!(
                        "this check warns from half the window ({warn_days} days): the key was over half the window from {}{} and past it from {}{}; assessments in between reported it as that early warning",
                        day(warn_days + 1),
                        if at_edge { " at the latest" } else { "" },
                        day(window + 1),
                        if at_edge { " at the latest" } else { "" },
                    ));
                }
                if let Some(target) = cname_target(cur, &name) {
                    f = f.remediation(format!(
                        "The key is hosted by the sender: {name} is a CNAME to {target}, so it is rotated on the sender's side: in the vendor's admin console where it offers key rotation (the new key is often published under the vendor's other selector, and signing moves to it), otherwise by asking the vendor. Confirm the new key in the next snapshot."
                    ));
                }
                // A key short enough to factor is exposed by its size, not its age.
                if let Some(bits) = key_bits(cur, &name).filter(|b| *b < 1024) {
                    f = f.exposure(
                        Level::Moderate,
                        format!("the key is RSA-{bits}, factored in hours with public tools: its size, not its age, sets how readily it is used"),
                    );
                } else if !over {
                    f = f.severity(Severity::Low).exposure(
                        Level::VeryLow,
                        "the key is older than half the rotation window but not past it",
                    );
                }
                out.push(f.build(label));
            }
        }
    }
    out
}
