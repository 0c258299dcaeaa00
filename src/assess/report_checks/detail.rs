//! The detail tables of the evidence: per domain and per vendor, recomputed against reported
//! alignment, override reasons, the daily series, and unknown sources grouped by network and
//! by reverse-DNS domain. Accumulated while the rows are tallied, finished here.

use super::*;

/// Per-source tally for the top-failing tables.
#[derive(Default)]
pub(super) struct SourceTally {
    messages: u64,
    pass: u64,
    reporters: BTreeSet<String>,
    vendor: Option<String>,
}

/// Adds one merged row to mailproof's own pass rates, counting where the reporter's verdict
/// differs (and, when asked, where the reporter passed what we fail).
pub(super) fn tally_verdict(
    rates: &mut PassRates,
    disagreements: &mut u64,
    lenient: Option<&mut u64>,
    m: &MergedView<'_>,
) {
    let n = m.row.count;
    rates.messages += n;
    if m.verdict.dmarc_pass() {
        rates.dmarc_pass += n;
    }
    if m.verdict.dkim_aligned {
        rates.dkim_aligned += n;
    }
    if m.verdict.spf_aligned {
        rates.spf_aligned += n;
    }
    let reporter = m.row.reporter_dmarc_pass();
    if m.row.reporter_gave_verdict() && m.verdict.dmarc_pass() != reporter {
        *disagreements += n;
        if reporter && let Some(l) = lenient {
            *l += n;
        }
    }
}

#[derive(Default)]
pub(super) struct DetailAcc {
    recomputed: PassRates,
    disagreements: u64,
    dispositions: BTreeMap<String, u64>,
    reasons: BTreeMap<String, u64>,
    sources: BTreeMap<(IpAddr, String), SourceTally>,
}

impl DetailAcc {
    pub(super) fn add(&mut self, m: &MergedView<'_>, vendor: Option<&str>) {
        let row = m.row;
        let n = row.count;
        tally_verdict(&mut self.recomputed, &mut self.disagreements, None, m);
        *self
            .dispositions
            .entry(row.disposition.clone())
            .or_default() += n;
        for r in &row.reasons {
            *self.reasons.entry(r.kind.clone()).or_default() += n;
        }
        let t = self
            .sources
            .entry((row.source_ip, row.header_from.clone()))
            .or_default();
        t.messages += n;
        if row.reporter_dmarc_pass() {
            t.pass += n;
        }
        for (name, _) in m.reporters {
            if t.reporters.len() < 20 {
                t.reporters.insert((*name).to_string());
            }
        }
        if t.vendor.is_none() {
            t.vendor = vendor.map(str::to_string);
        }
    }

    pub(super) fn top_failing(&self) -> Vec<SourceStat> {
        let mut v: Vec<SourceStat> = self
            .sources
            .iter()
            .filter(|(_, t)| t.messages > t.pass)
            .map(|((ip, from), t)| SourceStat {
                source_ip: ip.to_string(),
                vendor: t.vendor.clone(),
                header_from: from.clone(),
                messages: t.messages,
                dmarc_pass: t.pass,
                reporters: t.reporters.iter().cloned().collect(),
                class: None,
            })
            .collect();
        v.sort_by(|a, b| {
            (b.messages - b.dmarc_pass)
                .cmp(&(a.messages - a.dmarc_pass))
                .then_with(|| a.source_ip.cmp(&b.source_ip))
        });
        v.truncate(TOP_SOURCES);
        v
    }
}

pub(super) fn sorted_counts(m: BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

pub(super) fn finish_detail(
    detail: &mut ReportDetail,
    domain_detail: BTreeMap<String, DetailAcc>,
    vendor_detail: BTreeMap<String, DetailAcc>,
    unattributed: &BTreeMap<(IpAddr, String), (u64, u64)>,
    set: &ReportSet,
    domains: &[DomainConfig],
    ptr: &PtrNames,
) {
    // Daily series per owning domain, from the aggregate's per-(From, day) table.
    let mut daily: BTreeMap<String, BTreeMap<chrono::NaiveDate, DayPoint>> = BTreeMap::new();
    for d in &set.aggregate.days {
        let key = owning_domain(&d.header_from, domains)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| {
                format!(
                    "(other) {}",
                    crate::snapshot::normalize_name(&d.header_from)
                )
            });
        let p = daily
            .entry(key)
            .or_default()
            .entry(d.day)
            .or_insert_with(|| DayPoint {
                day: d.day.format("%Y-%m-%d").to_string(),
                ..Default::default()
            });
        p.messages += d.messages;
        p.dmarc_pass += d.dmarc_pass;
        p.dkim_aligned += d.dkim_aligned;
        p.spf_aligned += d.spf_aligned;
        p.quarantine += d.quarantine;
        p.reject += d.reject;
    }
    detail.per_domain = domain_detail
        .into_iter()
        .map(|(domain, acc)| DomainDetail {
            top_failing: acc.top_failing(),
            daily: daily
                .remove(&domain)
                .map(|m| m.into_values().collect())
                .unwrap_or_default(),
            domain,
            recomputed: acc.recomputed,
            disagreements: acc.disagreements,
            reasons: sorted_counts(acc.reasons),
        })
        .collect();
    detail.per_vendor = vendor_detail
        .into_iter()
        .map(|(vendor, acc)| VendorDetail {
            top_failing: acc.top_failing(),
            vendor,
            recomputed: acc.recomputed,
            dispositions: sorted_counts(acc.dispositions),
            reasons: sorted_counts(acc.reasons),
        })
        .collect();
    let group = |key_of: &dyn Fn(IpAddr) -> Option<String>| {
        let mut groups: BTreeMap<String, (SourceGroup, BTreeSet<IpAddr>, BTreeSet<String>)> =
            BTreeMap::new();
        for ((ip, from), (msgs, pass)) in unattributed {
            let Some(k) = key_of(*ip) else { continue };
            let g = groups.entry(k.clone()).or_insert_with(|| {
                (
                    SourceGroup {
                        group: k,
                        ..Default::default()
                    },
                    BTreeSet::new(),
                    BTreeSet::new(),
                )
            });
            g.0.messages += msgs;
            g.0.dmarc_pass += pass;
            g.1.insert(*ip);
            g.2.insert(from.clone());
        }
        let mut out: Vec<SourceGroup> = groups
            .into_values()
            .map(|(mut g, ips, froms)| {
                g.sources = ips.len();
                g.header_from = froms.into_iter().collect();
                g
            })
            .collect();
        out.sort_by(|a, b| {
            b.messages
                .cmp(&a.messages)
                .then_with(|| a.group.cmp(&b.group))
        });
        // One hostile report can name 50,000 networks: keep the largest groups and fold the
        // rest into one line, so the evidence and the PDF stay a readable size.
        if out.len() > MAX_SOURCE_GROUPS {
            let rest = out.split_off(MAX_SOURCE_GROUPS - 1);
            let mut tail = SourceGroup {
                group: format!("({} more groups)", rest.len()),
                ..Default::default()
            };
            for g in rest {
                tail.sources += g.sources;
                tail.messages = tail.messages.saturating_add(g.messages);
                tail.dmarc_pass = tail.dmarc_pass.saturating_add(g.dmarc_pass);
            }
            out.push(tail);
        }
        out
    };
    detail.unattributed_networks = group(&|ip| Some(network_of(ip)));
    detail.unattributed_ptr = group(&|ip| ptr.get(&ip).map(|n| ptr_base(n).to_string()));
    detail.daily_rule = "Each report's messages are placed on the day (in the period's time \
        zone) containing the midpoint of the report's date range; a report is never split."
        .to_string();
}

/// The base domain of a reverse-DNS name (`mail-1.outbound.vendor.example` → `vendor.example`).
pub(super) fn ptr_base(name: &str) -> &str {
    base(name.trim_end_matches('.'))
}

pub(super) fn network_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}
