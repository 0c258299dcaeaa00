//! Root causes: findings that one change fixes are one cause, so the report counts causes
//! and gives each one remediation, while `evidence.json` keeps every check result linked to
//! its cause.
//!
//! Two steps, both deterministic so cause ids stay stable from month to month:
//! 1. **One subject, one fix.** Findings about the same thing group under it: every finding on
//!    one DMARC record (with the changes that made it so), on one SPF record, on one DKIM key,
//!    about one vendor's failing alignment, about one unlisted service, and everything on a
//!    parked domain (which one lock-down fixes). The cause takes the id of its root finding,
//!    chosen by a fixed order of checks, not by risk, so it does not move when ratings do.
//! 2. **One fix, many subjects.** Causes with the same shape (the same group kind and the
//!    same set of checks) on different domains, keys or vendors become one cause that lists
//!    them; its id is the check id (`CHG-003`), or the checks joined with `+`. A 200-domain
//!    organization thus gets one card for "np missing", not 149.

use super::report_checks::base;
use super::risk::Level;
use crate::config::Role;
use crate::decisions::Decision;
use crate::evidence::{Cause, DomainPosture, Finding, RiskCounts, Status};
use crate::records::dmarc::{self, Policy};
use std::collections::{BTreeMap, BTreeSet};

/// The kind of subject a group of findings shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Parked,
    DmarcRecord,
    SpfRecord,
    DkimKey,
    VendorAlignment,
    Service,
    /// A domain's MTA-STS or TLS-RPT record: the finding that it is missing or broken and the
    /// change that removed it are one cause.
    TransportRecord,
    Single,
}

impl Kind {
    fn unit(self, n: usize) -> &'static str {
        match (self, n == 1) {
            (Kind::Parked | Kind::DmarcRecord | Kind::SpfRecord | Kind::TransportRecord, true) => {
                "domain"
            }
            (Kind::Parked | Kind::DmarcRecord | Kind::SpfRecord | Kind::TransportRecord, false) => {
                "domains"
            }
            (Kind::DkimKey, true) => "key",
            (Kind::DkimKey, false) => "keys",
            (Kind::VendorAlignment, true) => "vendor",
            (Kind::VendorAlignment, false) => "vendors",
            (Kind::Service, true) => "service",
            (Kind::Service, false) => "services",
            (Kind::Single, true) => "subject",
            (Kind::Single, false) => "subjects",
        }
    }
}

/// Root order within a group: the first check present names the cause.
const ROOT_ORDER: &[&str] = &[
    "DMARC-002",
    "DMARC-001",
    "SPF-002",
    "SPF-001",
    "DMARC-003",
    "DMARC-004",
    "DMARC-005",
    "DMARC-006",
    "DMARC-007",
    "DMARC-008",
    "BIMI-001",
    "SPF-003",
    "SPF-005",
    "SPF-004",
    "SPF-007",
    "SPF-006",
    "SPF-008",
    "RPT-009",
    "DKIM-002",
    "DKIM-006",
    "DKIM-004",
    "DKIM-003",
    "DKIM-005",
    "RPT-010",
    "RPT-002",
    "VEN-002",
    "VEN-003",
    "DKIM-001",
    "VEN-006",
    "STS-001",
    "STS-003",
    "STS-002",
    "STS-004",
    "TLSRPT-002",
    "TLSRPT-001",
    "CHG-004",
    "CHG-001",
    "CHG-002",
    "CHG-003",
    "VEN-004",
    "CHG-005",
];

fn order(check: &str) -> usize {
    ROOT_ORDER
        .iter()
        .position(|c| *c == check)
        .unwrap_or(ROOT_ORDER.len())
}

/// Which subject group a finding belongs to, if any.
fn group_of(f: &Finding, roles: &BTreeMap<String, Role>) -> Option<(Kind, String)> {
    let domain = f.domain.clone().unwrap_or_default();
    if roles.get(&domain) == Some(&Role::Parked)
        && (f.check.starts_with("DMARC-00")
            || f.check.starts_with("SPF-")
            || f.check.starts_with("DKIM-")
            || matches!(
                f.check.as_str(),
                "CHG-001" | "CHG-002" | "CHG-004" | "MX-001" | "PARK-001"
            ))
    {
        return Some((Kind::Parked, domain));
    }
    match f.check.as_str() {
        // BIMI-001 is fixed by the same change as the policy gaps: enforcing DMARC.
        "DMARC-001" | "DMARC-002" | "DMARC-003" | "DMARC-004" | "DMARC-005" | "DMARC-006"
        | "DMARC-007" | "DMARC-008" | "CHG-001" | "RPT-004" | "RPT-005" | "RPT-007"
        | "BIMI-001" => Some((Kind::DmarcRecord, domain)),
        "CHG-004" if f.subject.starts_with("_dmarc.") => Some((Kind::DmarcRecord, domain)),
        "CHG-004" if f.subject.starts_with("_smtp._tls.") => {
            Some((Kind::TransportRecord, format!("tls-rpt {domain}")))
        }
        "CHG-004" if f.subject.starts_with("_mta-sts.") => {
            Some((Kind::TransportRecord, format!("mta-sts {domain}")))
        }
        "TLSRPT-001" => Some((Kind::TransportRecord, format!("tls-rpt {domain}"))),
        // The policy, its mode and the sessions that failed under it are one thing to fix.
        "STS-001" | "STS-002" | "STS-003" | "STS-004" | "TLSRPT-002" => {
            Some((Kind::TransportRecord, format!("mta-sts {domain}")))
        }
        // SPF-009 is information, not a gap: it stands alone, outside the record's fix.
        "SPF-001" | "SPF-002" | "SPF-003" | "SPF-004" | "SPF-005" | "SPF-006" | "SPF-007"
        | "SPF-008" | "CHG-002" | "RPT-009" => Some((Kind::SpfRecord, domain)),
        // VEN-004 names the key: the vendor's view of the key's own findings.
        "DKIM-002" | "DKIM-003" | "DKIM-004" | "DKIM-005" | "DKIM-006" | "CHG-003" | "RPT-010"
        | "VEN-004" => Some((Kind::DkimKey, f.subject.to_ascii_lowercase())),
        "RPT-002" if f.basis.spf_error_domain.is_some() => f
            .basis
            .spf_error_domain
            .clone()
            .map(|d| (Kind::SpfRecord, d)),
        "RPT-002" | "VEN-002" | "VEN-003" | "DKIM-001" => {
            f.basis.vendor.clone().map(|v| (Kind::VendorAlignment, v))
        }
        "VEN-006" => Some((Kind::Service, base(&f.subject).to_string())),
        "CHG-005" => {
            let name = f
                .subject
                .split_once(':')
                .map(|(_, n)| n)
                .unwrap_or(&f.subject);
            Some((Kind::Service, base(name).to_string()))
        }
        _ => None,
    }
}

struct Group {
    kind: Kind,
    subject: String,
    members: Vec<usize>,
}

/// Groups the findings, sets each finding's `cause`, and returns the causes, highest risk
/// first. Resolved findings stand alone: they are history, not work.
pub fn build(
    findings: &mut [Finding],
    roles: &BTreeMap<String, Role>,
    postures: &[DomainPosture],
) -> Vec<Cause> {
    // Step 1: subject groups.
    let mut keyed: BTreeMap<(Kind, String), Vec<usize>> = BTreeMap::new();
    let mut singles: Vec<usize> = Vec::new();
    for (i, f) in findings.iter().enumerate() {
        if f.status == Status::Resolved {
            continue;
        }
        match group_of(f, roles) {
            Some(k) => keyed.entry(k).or_default().push(i),
            None => singles.push(i),
        }
    }
    // A service group of one CHG-005 without a VEN-006 is a single finding, as is any group
    // of one: the shape step below treats it by its check.
    let mut groups: Vec<Group> = Vec::new();
    for ((kind, subject), members) in keyed {
        if members.len() == 1 {
            singles.push(members[0]);
        } else {
            groups.push(Group {
                kind,
                subject,
                members,
            });
        }
    }
    for i in singles {
        groups.push(Group {
            kind: Kind::Single,
            subject: findings[i].subject.clone(),
            members: vec![i],
        });
    }
    for g in &mut groups {
        g.members
            .sort_by_key(|&i| (order(&findings[i].check), findings[i].id.clone()));
    }

    // Step 2: the same shape across subjects.
    let shape = |g: &Group| -> (Kind, Vec<String>) {
        let checks: BTreeSet<String> = g
            .members
            .iter()
            .map(|&i| findings[i].check.clone())
            .collect();
        let mut v: Vec<String> = checks.into_iter().collect();
        v.sort_by_key(|c| (order(c), c.clone()));
        (g.kind, v)
    };
    let mut by_shape: BTreeMap<(Kind, Vec<String>), Vec<Group>> = BTreeMap::new();
    for g in groups {
        by_shape.entry(shape(&g)).or_default().push(g);
    }

    let mut causes = Vec::new();
    for ((kind, checks), mut gs) in by_shape {
        gs.sort_by(|a, b| a.subject.cmp(&b.subject));
        if gs.len() == 1 {
            let g = &gs[0];
            let root = &findings[g.members[0]];
            let id = root.id.clone();
            let remediation = remedy(kind, &g.subject, &g.members, findings, roles, postures);
            let title = if g.members.len() == 1 {
                root.title.clone()
            } else {
                group_title(kind, &g.subject, root)
            };
            causes.push(make(
                id,
                title,
                remediation,
                &g.members,
                findings,
                vec![g.subject.clone()],
            ));
        } else {
            let id = checks.join("+");
            let members: Vec<usize> = gs.iter().flat_map(|g| g.members.iter().copied()).collect();
            let subjects: Vec<String> = gs.iter().map(|g| g.subject.clone()).collect();
            let root = &findings[gs[0].members[0]];
            let catalog_title = super::catalog::get(&root.check)
                .map(|c| c.title)
                .unwrap_or(root.title.as_str());
            let title = format!(
                "{catalog_title}: {} {}",
                subjects.len(),
                kind_unit(kind, root, subjects.len())
            );
            let remedies: Vec<String> = gs
                .iter()
                .map(|g| remedy(kind, &g.subject, &g.members, findings, roles, postures))
                .collect();
            let remediation = if remedies.iter().all(|r| r == &remedies[0]) {
                format!(
                    "For each of the {} {} listed: {}",
                    subjects.len(),
                    kind_unit(kind, root, subjects.len()),
                    remedies[0]
                )
            } else {
                // One line per subject, each saying what that subject needs.
                gs.iter()
                    .zip(&remedies)
                    .map(|(g, r)| format!("{}: {r}", g.subject))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            causes.push(make(id, title, remediation, &members, findings, subjects));
        }
    }
    for c in &causes {
        for m in &c.members {
            if let Some(f) = findings.iter_mut().find(|f| &f.id == m) {
                f.cause = Some(c.id.clone());
            }
        }
    }
    for f in findings.iter_mut().filter(|f| f.cause.is_none()) {
        f.cause = Some(f.id.clone());
    }
    causes.sort_by(|a, b| {
        (a.status == "accepted")
            .cmp(&(b.status == "accepted"))
            .then(b.risk.cmp(&a.risk))
            .then(a.id.cmp(&b.id))
    });
    causes
}

fn kind_unit(kind: Kind, root: &Finding, n: usize) -> &'static str {
    if kind != Kind::Single {
        return kind.unit(n);
    }
    match (root.check.as_str(), n == 1) {
        ("VEN-001" | "RPT-002" | "VEN-002" | "VEN-003", true) => "vendor",
        ("VEN-001" | "RPT-002" | "VEN-002" | "VEN-003", false) => "vendors",
        ("VEN-007", true) => "report processor",
        ("VEN-007", false) => "report processors",
        (c, true) if c.starts_with("DKIM") || c == "CHG-003" => "key",
        (c, false) if c.starts_with("DKIM") || c == "CHG-003" => "keys",
        ("DMARC-009" | "DMARC-010", true) => "destination",
        ("DMARC-009" | "DMARC-010", false) => "destinations",
        ("DNS-001", true) => "lookup",
        ("DNS-001", false) => "lookups",
        (_, true) => "domain",
        (_, false) => "domains",
    }
}

fn group_title(kind: Kind, subject: &str, root: &Finding) -> String {
    match kind {
        Kind::Parked => format!("Parked domain {subject} is not locked down against forgery"),
        Kind::DmarcRecord => format!("DMARC record of {subject} does not protect the domain"),
        Kind::SpfRecord => format!("SPF record of {subject} fails or does not protect the domain"),
        Kind::DkimKey => root.title.clone(),
        Kind::VendorAlignment => format!("{subject}: mail fails DMARC alignment"),
        Kind::Service => format!("{subject}: a service sends as us without an inventory entry"),
        Kind::TransportRecord => root.title.clone(),
        Kind::Single => root.title.clone(),
    }
}

fn make(
    id: String,
    title: String,
    remediation: String,
    members: &[usize],
    findings: &[Finding],
    subjects: Vec<String>,
) -> Cause {
    let fs: Vec<&Finding> = members.iter().map(|&i| &findings[i]).collect();
    let open: Vec<&&Finding> = fs.iter().filter(|f| f.is_open()).collect();
    let lead = open
        .iter()
        .max_by_key(|f| (f.risk, f.likelihood, f.impact))
        .copied()
        .or_else(|| fs.iter().max_by_key(|f| (f.risk, f.likelihood, f.impact)));
    let owners: BTreeSet<String> = fs.iter().filter_map(|f| f.owner.clone()).collect();
    let mut checks: Vec<String> = fs.iter().map(|f| f.check.clone()).collect();
    checks.sort_by_key(|c| (order(c), c.clone()));
    checks.dedup();
    let mut hipaa: Vec<String> = fs.iter().flat_map(|f| f.hipaa.iter().cloned()).collect();
    hipaa.sort();
    hipaa.dedup();
    let status = if open.is_empty() {
        "accepted"
    } else if open.iter().any(|f| f.overdue_days.is_some()) {
        "overdue"
    } else {
        "open"
    };
    Cause {
        id,
        title,
        risk: lead.map(|f| f.risk).unwrap_or(Level::VeryLow),
        likelihood: lead.map(|f| f.likelihood).unwrap_or(Level::VeryLow),
        impact: lead.map(|f| f.impact).unwrap_or(Level::VeryLow),
        remediation,
        members: fs.iter().map(|f| f.id.clone()).collect(),
        checks,
        subjects,
        owners: owners.into_iter().collect(),
        due: open.iter().filter_map(|f| f.due).min(),
        status: status.to_string(),
        new: fs.iter().all(|f| f.status == Status::New),
        hipaa,
    }
}

/// One remediation for the group, from what the evidence shows.
fn remedy(
    kind: Kind,
    subject: &str,
    members: &[usize],
    findings: &[Finding],
    roles: &BTreeMap<String, Role>,
    postures: &[DomainPosture],
) -> String {
    let fs: Vec<&Finding> = members.iter().map(|&i| &findings[i]).collect();
    let posture = postures.iter().find(|p| p.domain == subject);
    match kind {
        Kind::Parked => {
            // The report address keeps abuse of the domain visible: the one published (also
            // inside records that are void because there are several), else the one the
            // organization's other domains report to.
            let published = posture.and_then(|p| {
                std::iter::once(p.dmarc.rua.join(","))
                    .chain(
                        p.raw
                            .iter()
                            .filter(|l| l.rtype == "TXT" && l.name.starts_with("_dmarc."))
                            .flat_map(|l| l.answers.iter())
                            .map(|a| {
                                dmarc::parse(a)
                                    .rua
                                    .iter()
                                    .map(|u| u.uri.clone())
                                    .collect::<Vec<_>>()
                                    .join(",")
                            }),
                    )
                    .find(|r| !r.is_empty())
            });
            let mut used: BTreeMap<String, usize> = BTreeMap::new();
            for p in postures.iter().filter(|p| p.domain != subject) {
                if !p.dmarc.rua.is_empty() {
                    *used.entry(p.dmarc.rua.join(",")).or_default() += 1;
                }
            }
            let shared = used
                .into_iter()
                .max_by_key(|(r, n)| (*n, std::cmp::Reverse(r.clone())))
                .map(|(r, _)| r);
            let (rua_list, rua_source) = match (published, shared) {
                (Some(r), _) => (Some(r), "the report address is kept".to_string()),
                (None, Some(r)) => {
                    let uris: Vec<String> = r.split(',').map(str::to_string).collect();
                    // A parked domain takes no mail: the address must be elsewhere.
                    let note = external_rua_note(subject, &uris, false);
                    (
                        Some(r),
                        format!(
                            "the report address is the one the organization's other domains use{note}"
                        ),
                    )
                }
                (None, None) => (None, String::new()),
            };
            let rua = rua_list.map(|r| format!(" rua={r};")).unwrap_or_default();
            let several = fs.iter().any(|f| f.check == "DMARC-002");
            // Only what is missing: records already in place are named as kept.
            let spf_ok = posture.is_some_and(|p| {
                p.spf
                    .record
                    .as_deref()
                    .is_some_and(|r| r.split_whitespace().collect::<Vec<_>>() == ["v=spf1", "-all"])
            });
            let null_mx = posture
                .is_some_and(|p| p.mx.len() == 1 && p.mx[0].split_whitespace().nth(1) == Some("."));
            let mut steps: Vec<String> = Vec::new();
            steps.push(format!(
                "{}`_dmarc.{subject}` TXT \"v=DMARC1; p=reject;{rua}\" (it sends no mail, so nothing legitimate can fail{})",
                if several {
                    "delete the extra DMARC records so that exactly one remains, "
                } else {
                    "publish "
                },
                if rua.is_empty() {
                    String::new()
                } else {
                    format!("; {rua_source}, so abuse of the domain stays visible")
                }
            ));
            if !spf_ok {
                steps.push(format!("`{subject}` TXT \"v=spf1 -all\""));
            }
            if !null_mx {
                steps.push(format!("a null MX `{subject}. MX 0 .`"));
            }
            steps.push(format!(
                "`*._domainkey.{subject}` TXT \"v=DKIM1; p=\" (if not already published)"
            ));
            let kept: Vec<&str> = [(spf_ok, "SPF `v=spf1 -all`"), (null_mx, "the null MX")]
                .iter()
                .filter(|(ok, _)| *ok)
                .map(|(_, what)| *what)
                .collect();
            format!(
                "Lock the parked domain down in one change (M3AAWG parked-domain practice; RFC 7505): {}.{}",
                steps.join("; "),
                if kept.is_empty() {
                    String::new()
                } else {
                    format!(" Already in place, keep: {}.", kept.join(" and "))
                }
            )
        }
        Kind::DmarcRecord => {
            let role = roles.get(subject).copied();
            // Legitimate streams failing on this domain must be fixed before reject; failure
            // reports flagged elsewhere (DMARC-010) are left out of the record proposed.
            let failing: Vec<String> = findings
                .iter()
                .filter(|f| f.status != Status::Resolved)
                .filter(|f| matches!(f.check.as_str(), "RPT-002" | "VEN-002"))
                .filter(|f| f.domain.as_deref() == Some(subject))
                .filter_map(|f| f.basis.vendor.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            // Unless management transferred or accepted the failure-report risk: then the
            // record keeps `ruf`, and the proposal must not contradict that decision.
            let drop_ruf = findings.iter().any(|f| {
                f.check == "DMARC-010"
                    && f.domain.as_deref() == Some(subject)
                    && f.status != Status::Resolved
                    && !f.treatment.as_ref().is_some_and(|t| {
                        !t.expired
                            && matches!(t.entry.decision, Decision::Transfer | Decision::Accept)
                    })
            });
            match posture {
                Some(p) => dmarc_record(subject, p, role, &fs, &failing, drop_ruf),
                None => fs[0].remediation.clone(),
            }
        }
        _ => {
            // The root's fix first, then each other member's own step once. A change finding
            // adds no step of its own (the fix is the same) but a change-control note; a
            // vendor failing only through this SPF record adds a DKIM note.
            let mut steps: Vec<String> = Vec::new();
            let mut changed = false;
            let mut riders: Vec<String> = Vec::new();
            for f in &fs {
                if f.check.starts_with("CHG-") && f.id != fs[0].id {
                    // CHG-003 is an age, not a change: it adds no change-control note.
                    changed |= f.check != "CHG-003";
                    continue;
                }
                // Observed failures (RPT-002) say what the vendor must change; the inventory's
                // expectations (VEN-002) add nothing beside them.
                if kind == Kind::VendorAlignment
                    && f.check == "VEN-002"
                    && fs.iter().any(|x| x.check == "RPT-002")
                {
                    continue;
                }
                if matches!(f.check.as_str(), "RPT-002" | "VEN-002")
                    && f.basis.spf_error_domain.is_some()
                    && f.id != fs[0].id
                {
                    let who = f.basis.vendor.clone().unwrap_or_else(|| f.subject.clone());
                    if !riders.contains(&who) {
                        riders.push(who);
                    }
                    continue;
                }
                if kind == Kind::DkimKey && f.id != fs[0].id {
                    continue;
                }
                if !steps.contains(&f.remediation) {
                    steps.push(f.remediation.clone());
                }
            }
            if kind == Kind::DkimKey
                && fs.iter().any(|f| f.check == "CHG-003")
                && !matches!(fs[0].check.as_str(), "DKIM-002" | "DKIM-003")
            {
                steps.push(if fs[0].remediation.contains("CNAME") {
                    "Rotate the key on the vendor's side at the same time (its admin console, or the vendor): it is past the rotation window (see the key-age line).".to_string()
                } else {
                    "Rotate the key in the same change: it is past the rotation window (see the key-age line).".to_string()
                });
            }
            let mut text = if steps.len() == 1 {
                steps.remove(0)
            } else {
                steps
                    .iter()
                    .enumerate()
                    .map(|(n, s)| format!("({}) {s}", n + 1))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            if !riders.is_empty() {
                text.push_str(&format!(
                    " This also ends the DMARC failures of {}, whose mail fails only because of this record; have them sign with DKIM under our domain so one broken record cannot stop them again.",
                    crate::text::and_list(&riders)
                ));
            }
            if changed {
                text.push_str(" The change listed here caused it since the last period: confirm who approved it (change control).");
            }
            text
        }
    }
}

/// What a report address outside `domain` needs (RFC 7489 §7.1): the receiving domain must
/// publish an authorization record naming ours, or receivers drop the reports. Empty when
/// every address is in the domain itself.
fn external_rua_note(domain: &str, uris: &[String], receives_mail: bool) -> String {
    let hosts: Vec<String> = uris
        .iter()
        .filter_map(|u| u.rsplit_once('@').map(|(_, h)| h.to_ascii_lowercase()))
        .filter(|h| h != domain && !h.ends_with(&format!(".{domain}")))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if hosts.is_empty() {
        return String::new();
    }
    let records: Vec<String> = hosts
        .iter()
        .map(|h| format!("`{domain}._report._dmarc.{h}`"))
        .collect();
    format!(
        " (reports to another domain arrive only while it authorizes them, RFC 7489 §7.1: confirm that {} TXT \"v=DMARC1\" {}{})",
        crate::text::and_list(&records),
        if records.len() == 1 {
            "exists"
        } else {
            "exist"
        },
        if receives_mail {
            format!(", or use an address in {domain}")
        } else {
            String::new()
        }
    )
}

/// The DMARC record that fixes every gap the group's findings name, built from the record as
/// published: the tags to change, and the record to publish.
fn dmarc_record(
    domain: &str,
    p: &DomainPosture,
    role: Option<Role>,
    fs: &[&Finding],
    failing: &[String],
    drop_ruf: bool,
) -> String {
    let has = |c: &str| fs.iter().any(|f| f.check == c);
    let m = &p.dmarc;
    let mut steps: Vec<String> = Vec::new();
    let target_p = match (role, m.p.as_deref()) {
        (Some(Role::Parked), _) => "reject",
        (_, Some("reject")) => "reject",
        (_, Some("quarantine")) => "reject",
        _ => "quarantine",
    };
    if has("DMARC-001") || has("DMARC-002") {
        steps.push(format!(
            "keep exactly one TXT record at _dmarc.{domain}, starting with `v=DMARC1;`"
        ));
    }
    // Management accepted the policy as it stands (a DMARC-003/004 acceptance in force): the
    // record keeps its `p`, and only the changes the acceptance does not cover are proposed.
    let accepted = fs.iter().find_map(|f| {
        let t = f.treatment.as_ref()?;
        (matches!(f.check.as_str(), "DMARC-003" | "DMARC-004")
            && t.entry.decision == Decision::Accept
            && !t.expired)
            .then_some(t)
    });
    let target_p = match (accepted, m.p.as_deref()) {
        (Some(_), Some(current)) => current,
        (Some(_), None) => "none",
        _ => target_p,
    };
    if let Some(t) = accepted {
        steps.push(format!(
            "keep `p={target_p}`: management accepted it until {} (decisions file line {}){}",
            t.entry
                .expires
                .map_or_else(|| "its review".to_string(), |d| d.to_string()),
            t.entry.line,
            if has("CHG-001") || has("DMARC-006") || has("DMARC-007") || has("DMARC-008") {
                "; the other changes do not depend on it"
            } else {
                ""
            }
        ));
    } else if has("DMARC-003") || has("DMARC-004") || has("CHG-001") {
        let first = if failing.is_empty() {
            String::new()
        } else if m.p.as_deref() == Some("quarantine") {
            format!(
                "first make {} pass DMARC aligned (the cause cards in section 3 say how, and what receivers did with {} failing mail); then ",
                crate::text::and_list(failing),
                if failing.len() == 1 { "its" } else { "their" }
            )
        } else {
            format!(
                "first make {} pass DMARC aligned (the cause cards in section 3 say how), or enforcement would refuse {} mail; then ",
                crate::text::and_list(failing),
                if failing.len() == 1 { "its" } else { "their" }
            )
        };
        if target_p == "quarantine" {
            steps.push(format!(
                "{first}set `p=quarantine`, then `p=reject` once the pass rate of legitimate senders holds"
            ));
        } else {
            steps.push(format!("{first}set `p=reject`"));
        }
    }
    if has("DMARC-005") {
        let tags: Vec<String> = [
            m.pct.filter(|p| *p < 100).map(|p| format!("`pct={p}`")),
            (m.t.as_deref() == Some("y")).then(|| "`t=y`".to_string()),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !tags.is_empty() {
            steps.push(format!(
                "remove {} so the policy applies to all failing mail",
                crate::text::and_list(&tags)
            ));
        }
    }
    if has("DMARC-006") {
        steps.push("remove `sp` (subdomains then follow `p`)".into());
    }
    if has("DMARC-007") {
        steps.push("add `np=reject` for non-existent subdomains".into());
    }
    // A change that removed `rua` is undone with the addresses it removed, not a new one.
    let removed_rua: Vec<String> = fs
        .iter()
        .filter(|f| f.check == "CHG-001")
        .flat_map(|f| f.evidence.iter())
        .find_map(|e| e.strip_prefix("before: "))
        .map(|before| {
            dmarc::parse(before)
                .rua
                .into_iter()
                .map(|u| u.uri)
                .collect()
        })
        .unwrap_or_default();
    let rua = if m.rua.is_empty() && !removed_rua.is_empty() {
        let list = removed_rua.join(",");
        // A report address in another domain receives reports only if that domain
        // authorizes them, and the old authorization may be gone too.
        steps.push(format!(
            "restore `rua={list}`, the report {} the change finding shows was removed since the last period, so receivers send aggregate reports again{}",
            if removed_rua.len() == 1 {
                "address"
            } else {
                "addresses"
            },
            external_rua_note(domain, &removed_rua, role != Some(Role::Parked))
        ));
        list
    } else if m.rua.is_empty() {
        if has("DMARC-008") {
            steps.push(format!(
                "add `rua=mailto:dmarc-reports@{domain}` (or the report processor's address) so receivers send aggregate reports"
            ));
        }
        format!("mailto:dmarc-reports@{domain}")
    } else {
        m.rua.join(",")
    };
    let mut rec = format!("v=DMARC1; p={target_p}");
    // A subdomain policy a change lowered (CHG-001) comes back when the record's own `p`
    // would not cover it (an accepted `p=none`, say): omitting `sp` would leave it lowered.
    let target = Policy::parse(target_p).unwrap_or(Policy::None);
    let before_sp = fs
        .iter()
        .filter(|f| f.check == "CHG-001")
        .flat_map(|f| f.evidence.iter())
        .find_map(|e| e.strip_prefix("before: "))
        .and_then(|before| {
            dmarc::parse(before)
                .tag("sp")
                .and_then(|t| Policy::parse(&t.value))
        })
        .filter(|sp| *sp > target)
        .map(Policy::as_str);
    if let Some(sp) = before_sp {
        rec.push_str(&format!("; sp={sp}"));
        steps.push(format!(
            "restore `sp={sp}`, which the change finding shows was lowered since the last period"
        ));
    }
    if has("DMARC-007") || m.np.is_some() {
        rec.push_str("; np=reject");
    }
    rec.push_str(&format!("; rua={rua}"));
    if !m.ruf.is_empty() && !drop_ruf {
        rec.push_str(&format!("; ruf={}", m.ruf.join(",")));
        // Failure reports keep the options they were asked with.
        if let Some(fo) = dmarc::parse(m.record.as_deref().unwrap_or("")).tag("fo") {
            rec.push_str(&format!("; fo={}", fo.value));
        }
    } else if !m.ruf.is_empty() {
        steps.push("drop `ruf` (see the failure-report finding)".into());
    }
    if let Some(a) = &m.adkim {
        rec.push_str(&format!("; adkim={a}"));
    }
    if let Some(a) = &m.aspf {
        rec.push_str(&format!("; aspf={a}"));
    }
    let changes = fs
        .iter()
        .any(|f| f.check == "CHG-001" || f.check == "CHG-004");
    format!(
        "Edit _dmarc.{domain} once: {}. The record to publish: `{rec}`.{}",
        steps.join("; "),
        if changes {
            " The change listed here weakened the record since the last period: confirm who approved it (change control) before restoring it."
        } else {
            ""
        }
    )
}

/// Causes by risk, as the summary counts them: open causes by their highest open member,
/// with accepted and overdue causes counted beside them.
pub fn count(causes: &[Cause]) -> RiskCounts {
    let mut c = RiskCounts::default();
    for x in causes {
        if x.status == "accepted" {
            c.accepted += 1;
            continue;
        }
        if x.status == "overdue" {
            c.overdue += 1;
        }
        match x.risk {
            Level::VeryHigh => c.very_high += 1,
            Level::High => c.high += 1,
            Level::Moderate => c.moderate += 1,
            Level::Low => c.low += 1,
            Level::VeryLow => c.very_low += 1,
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::finding::Draft;

    fn roles() -> BTreeMap<String, Role> {
        [
            ("a.test", Role::Workforce),
            ("b.test", Role::Workforce),
            ("c.test", Role::Patient),
            ("p.test", Role::Parked),
        ]
        .into_iter()
        .map(|(d, r)| (d.to_string(), r))
        .collect()
    }

    #[test]
    fn one_fix_is_one_cause_and_one_shape_spans_domains() {
        let mut f: Vec<Finding> = vec![
            Draft::new("SPF-003", "a.test").domain("a.test"),
            Draft::new("CHG-002", "a.test").domain("a.test"),
            // A vendor failing only through a.test's broken SPF joins that record's cause.
            Draft::new("RPT-002", "Relay")
                .domain("a.test")
                .vendor("Relay")
                .spf_error_domain("a.test"),
            Draft::new("DKIM-002", "k._domainkey.c.test").domain("c.test"),
            Draft::new("CHG-003", "k._domainkey.c.test").domain("c.test"),
            Draft::new("DMARC-007", "a.test").domain("a.test"),
            Draft::new("DMARC-007", "b.test").domain("b.test"),
            Draft::new("DMARC-001", "p.test").domain("p.test"),
            Draft::new("SPF-001", "p.test").domain("p.test"),
            Draft::new("RPT-002", "Televisit")
                .vendor("Televisit")
                .domain("c.test"),
            Draft::new("VEN-002", "Televisit as c.test")
                .vendor("Televisit")
                .domain("c.test"),
            Draft::new("VEN-006", "svc.example"),
            Draft::new("CHG-005", "include:spf.svc.example").domain("a.test"),
        ]
        .into_iter()
        .map(|d| d.build("2026-10"))
        .collect();
        let causes = build(&mut f, &roles(), &[]);
        let by = |id: &str| f.iter().find(|x| x.id == id).and_then(|x| x.cause.clone());
        assert_eq!(by("CHG-002:a.test").as_deref(), Some("SPF-003:a.test"));
        assert_eq!(by("RPT-002:Relay").as_deref(), Some("SPF-003:a.test"));
        assert_eq!(
            by("CHG-003:k._domainkey.c.test").as_deref(),
            Some("DKIM-002:k._domainkey.c.test")
        );
        assert_eq!(by("DMARC-007:a.test").as_deref(), Some("DMARC-007"));
        assert_eq!(by("DMARC-007:b.test").as_deref(), Some("DMARC-007"));
        assert_eq!(by("SPF-001:p.test").as_deref(), Some("DMARC-001:p.test"));
        assert_eq!(
            by("VEN-002:Televisit as c.test").as_deref(),
            Some("RPT-002:Televisit")
        );
        assert_eq!(
            by("CHG-005:include:spf.svc.example").as_deref(),
            Some("VEN-006:svc.example")
        );
        assert_eq!(causes.len(), 6, "{causes:#?}");
        let np = causes
            .iter()
            .find(|c| c.id == "DMARC-007")
            .expect("np cause");
        assert_eq!(np.subjects, ["a.test", "b.test"]);
        // Every finding is a member of exactly one cause.
        let members: usize = causes.iter().map(|c| c.members.len()).sum();
        assert_eq!(members, f.len());
        // The SPF cause's one remediation names the change control and the riding vendor,
        // not the change's own generic fix.
        let spf = causes
            .iter()
            .find(|c| c.id == "SPF-003:a.test")
            .expect("spf");
        assert!(
            spf.remediation.contains("change control"),
            "{}",
            spf.remediation
        );
        assert!(spf.remediation.contains("Relay"), "{}", spf.remediation);
        let parked = causes
            .iter()
            .find(|c| c.id == "DMARC-001:p.test")
            .expect("parked");
        assert!(
            parked.remediation.contains("p=reject"),
            "{}",
            parked.remediation
        );
        assert!(
            !parked.remediation.contains("p=none"),
            "{}",
            parked.remediation
        );
    }

    #[test]
    fn a_removed_rua_is_restored_not_replaced() {
        let mut p = DomainPosture {
            domain: "m.test".into(),
            ..DomainPosture::default()
        };
        p.dmarc.status = "found".into();
        p.dmarc.p = Some("none".into());
        p.dmarc.record = Some("v=DMARC1; p=none; sp=none".into());
        let chg = Draft::new("CHG-001", "_dmarc.m.test")
            .domain("m.test")
            .evidence(
                "before: v=DMARC1; p=none; sp=quarantine; rua=mailto:a@rv.example,mailto:b@m.test",
            )
            .evidence("after: v=DMARC1; p=none; sp=none")
            .build("2026-10");
        let none = Draft::new("DMARC-008", "m.test")
            .domain("m.test")
            .build("2026-10");
        let text = dmarc_record(
            "m.test",
            &p,
            Some(Role::Marketing),
            &[&chg, &none],
            &[],
            false,
        );
        assert!(
            text.contains("restore `rua=mailto:a@rv.example,mailto:b@m.test`"),
            "{text}"
        );
        assert!(
            text.contains("; rua=mailto:a@rv.example,mailto:b@m.test"),
            "{text}"
        );
        assert!(!text.contains("dmarc-reports@"), "{text}");
        // Without a change to undo, a domain with no rua is told to add one.
        let text = dmarc_record("m.test", &p, Some(Role::Marketing), &[&none], &[], false);
        assert!(
            text.contains("add `rua=mailto:dmarc-reports@m.test`"),
            "{text}"
        );
    }
}
