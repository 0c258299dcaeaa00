//! What changed in transport security between two snapshots, in meaning: a DNSSEC status that
//! fell or rose, an MX host that stopped offering STARTTLS, a certificate senders now refuse,
//! a legacy protocol newly accepted. Only what both snapshots could observe is compared; a
//! probe or a validation that failed in either makes the change unverified, never "unchanged".

use super::Snapshot;
use super::dnssec::DnssecStatus;
use super::transport::SmtpProbe;
use std::collections::BTreeSet;

/// One change, in the words `diff` turns into a [`crate::evidence::Change`] with its rule.
#[derive(Debug)]
pub(super) struct Delta {
    pub area: &'static str,
    pub name: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub direction: &'static str,
    pub meaning: String,
}

fn delta(
    area: &'static str,
    name: &str,
    before: Option<String>,
    after: Option<String>,
    direction: &'static str,
    meaning: &str,
) -> Delta {
    Delta {
        area,
        name: name.to_string(),
        before,
        after,
        direction,
        meaning: meaning.to_string(),
    }
}

/// How well a status protects: bogus is worse than unsigned (mail stops), signed is best.
fn rank(s: DnssecStatus) -> u8 {
    match s {
        DnssecStatus::Secure => 2,
        DnssecStatus::Insecure => 1,
        DnssecStatus::Bogus => 0,
        DnssecStatus::Indeterminate => 0,
    }
}

/// DNSSEC of the domain's MX records, its MX hosts and their TLSA records, where both
/// snapshots validated them.
pub(super) fn dnssec_changes(domain: &str, old: &Snapshot, new: &Snapshot, out: &mut Vec<Delta>) {
    let (Some(a), Some(b)) = (&old.dnssec, &new.dnssec) else {
        return;
    };
    for (name, rtype) in new.dnssec_names(domain) {
        let (Some(x), Some(y)) = (a.status(&name, rtype), b.status(&name, rtype)) else {
            continue;
        };
        if x.status == y.status {
            continue;
        }
        let label = format!("{name} {}", rtype.label());
        let before = Some(x.status.label().to_string());
        let after = Some(y.status.label().to_string());
        if x.status == DnssecStatus::Indeterminate || y.status == DnssecStatus::Indeterminate {
            out.push(delta("dnssec",
                &label,
                before,
                after,
                "unverified",
                "DNSSEC validation could not finish in one of the snapshots: whether the status changed cannot be told",
            ));
            continue;
        }
        let (direction, meaning) = match (x.status, y.status) {
            (_, DnssecStatus::Bogus) => (
                "weakened",
                "its signatures no longer validate: senders behind validating resolvers cannot resolve it, so their mail is deferred, then returned",
            ),
            (DnssecStatus::Secure, DnssecStatus::Insecure) => (
                "weakened",
                "no longer signed (or its DS was removed): forged answers go undetected, and DANE no longer protects the MX host",
            ),
            (_, DnssecStatus::Secure) => (
                "strengthened",
                "now signed along a chain from the trust anchor: forged answers are detected",
            ),
            _ => ("changed", "its DNSSEC status changed"),
        };
        let direction = if direction == "changed" && rank(y.status) < rank(x.status) {
            "weakened"
        } else {
            direction
        };
        out.push(delta("dnssec", &label, before, after, direction, meaning));
    }
}

/// The probe that got furthest for `host`, as the posture picks it.
fn best<'a>(snap: &'a Snapshot, host: &str) -> Option<&'a SmtpProbe> {
    let t = snap.transport.as_ref().filter(|t| t.probed)?;
    let probes: Vec<&SmtpProbe> = t.smtp.iter().filter(|p| p.host == host).collect();
    probes
        .iter()
        .find(|p| p.certificate.is_some())
        .or_else(|| probes.iter().find(|p| p.starttls.is_some()))
        .or_else(|| probes.first())
        .copied()
}

fn legacy(snap: &Snapshot, host: &str) -> BTreeSet<String> {
    snap.transport
        .iter()
        .flat_map(|t| &t.smtp)
        .filter(|p| p.host == host)
        .flat_map(|p| &p.legacy)
        .filter(|l| l.accepted == Some(true))
        .map(|l| l.offered.clone())
        .collect()
}

/// STARTTLS, the certificate and legacy protocols of each MX host both snapshots probed.
pub(super) fn starttls_changes(domain: &str, old: &Snapshot, new: &Snapshot, out: &mut Vec<Delta>) {
    for host in new.mx_hosts(domain) {
        let (Some(a), Some(b)) = (best(old, &host), best(new, &host)) else {
            continue;
        };
        if a.outcome.is_failure() || b.outcome.is_failure() {
            if a.starttls.is_some() != b.starttls.is_some() {
                out.push(delta("starttls",
                    &host,
                    Some(a.outcome.label().to_string()),
                    Some(b.outcome.label().to_string()),
                    "unverified",
                    "the probe could not reach the host in one of the snapshots: whether its STARTTLS changed cannot be told",
                ));
            }
            continue;
        }
        let offered = |p: &SmtpProbe| match p.starttls {
            Some(true) => "offered",
            Some(false) => "not offered",
            None => "unknown",
        };
        match (a.starttls, b.starttls) {
            (Some(true), Some(false)) => out.push(delta(
                "starttls",
                &host,
                Some(offered(a).into()),
                Some(offered(b).into()),
                "weakened",
                "the MX host stopped offering STARTTLS: mail to it now travels in clear text",
            )),
            (Some(false), Some(true)) => out.push(delta(
                "starttls",
                &host,
                Some(offered(a).into()),
                Some(offered(b).into()),
                "strengthened",
                "the MX host now offers STARTTLS",
            )),
            _ => {}
        }
        let valid = |p: &SmtpProbe| p.certificate.as_ref().map(|c| c.valid);
        match (valid(a), valid(b)) {
            (Some(true), Some(false)) => out.push(delta(
                "starttls",
                &format!("{host} certificate"),
                Some("valid".into()),
                Some(format!(
                    "invalid: {}",
                    b.certificate
                        .as_ref()
                        .and_then(|c| c.error.clone())
                        .unwrap_or_default()
                )),
                "weakened",
                "senders that validate (MTA-STS enforce, DANE) now refuse the host's certificate",
            )),
            (Some(false), Some(true)) => out.push(delta(
                "starttls",
                &format!("{host} certificate"),
                Some("invalid".into()),
                Some("valid".into()),
                "strengthened",
                "the host's certificate now validates for its name",
            )),
            _ => {}
        }
        let (la, lb) = (legacy(old, &host), legacy(new, &host));
        let newly: Vec<&String> = lb.difference(&la).collect();
        if !newly.is_empty() {
            out.push(delta(
                "starttls",
                &format!("{host} protocols"),
                Some(la.iter().cloned().collect::<Vec<_>>().join(", ")),
                Some(lb.iter().cloned().collect::<Vec<_>>().join(", ")),
                "weakened",
                &format!(
                    "the host now also accepts {}, which RFC 8996 and BOD 18-01 retire",
                    newly
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Rtype;

    fn october() -> Snapshot {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/samples/snapshots/2026-11-01T120000Z.json"
        );
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    }

    fn set(snap: &mut Snapshot, name: &str, rtype: Rtype, status: DnssecStatus) {
        let v = snap.dnssec.as_mut().unwrap();
        let n = v
            .names
            .iter_mut()
            .find(|n| n.name == name && n.rtype == rtype)
            .unwrap();
        n.status = status;
    }

    #[test]
    fn dnssec_and_starttls_changes_say_what_they_mean() {
        let old = october();
        let mut new = old.clone();
        let domain = "riversidehealth.example";
        let host = "riversidehealth-example.mail.protection.m365mail.example";
        set(&mut new, domain, Rtype::Mx, DnssecStatus::Insecure);
        set(
            &mut new,
            &format!("_25._tcp.{host}"),
            Rtype::Tlsa,
            DnssecStatus::Bogus,
        );
        set(&mut new, host, Rtype::A, DnssecStatus::Indeterminate);
        for p in new.transport.as_mut().unwrap().smtp.iter_mut() {
            if p.host == host {
                p.starttls = Some(false);
                p.certificate = None;
            }
        }
        let mut out = Vec::new();
        dnssec_changes(domain, &old, &new, &mut out);
        starttls_changes(domain, &old, &new, &mut out);
        let got: Vec<(&str, &str, &str)> = out
            .iter()
            .map(|c| (c.area, c.name.as_str(), c.direction))
            .collect();
        let tlsa = format!("_25._tcp.{host} TLSA");
        let a = format!("{host} A");
        assert_eq!(
            got,
            vec![
                ("dnssec", "riversidehealth.example MX", "weakened"),
                ("dnssec", tlsa.as_str(), "weakened"),
                ("dnssec", a.as_str(), "unverified"),
                ("starttls", host, "weakened"),
            ]
        );
        assert!(
            out[1].meaning.contains("cannot resolve"),
            "{}",
            out[1].meaning
        );
        assert!(out[3].meaning.contains("clear text"));
        // The same snapshot twice: nothing changed.
        let mut none = Vec::new();
        dnssec_changes(domain, &old, &old, &mut none);
        starttls_changes(domain, &old, &old, &mut none);
        assert!(none.is_empty(), "{none:?}");
        // A snapshot without validation (an earlier version) is not compared.
        let mut earlier = old.clone();
        earlier.dnssec = None;
        dnssec_changes(domain, &earlier, &new, &mut none);
        assert!(none.is_empty(), "{none:?}");
    }
}
