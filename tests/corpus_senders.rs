//! The sender-classification rule against every real aggregate report in the shared corpus.
//! Each report's policy domain is taken as one of "our" domains, with an empty inventory, so
//! every source is classed. Real reports read differently from generated ones (empty
//! `auth_results`, forwarded mail without override reasons, signatures of subdomains), so the
//! rule is checked here for what must hold whatever the data:
//! - every source gets exactly one of the four classes, with the authentication quoted;
//! - a source whose mail carried our own DKIM signature that verified is never spoofing;
//! - a source receivers said they took from a forwarder or list (for most of its mail) is a
//!   forwarder;
//! - a source that authenticated as no one at all is spoofing.

mod common;
use mailproof::assess::report_checks::{self, DnsFacts};
use mailproof::config::{DomainConfig, Role};
use mailproof::inventory::Inventory;
use mailproof::period::{Month, Period};
use mailproof::reports::store::ingest;
use std::collections::{BTreeMap, BTreeSet};

use common::corpus;

const CLASSES: [&str; 4] = [
    "spoofing",
    "unlisted service sending as us",
    "forwarder or mailing list",
    "unknown",
];

#[test]
fn sender_rule_holds_on_every_real_report() {
    let Some(root) = corpus() else { return };
    let set = ingest(
        &[
            root.join("parsedmarc/samples/aggregate"),
            root.join("ietf-dmarc-aggregate-reporting"),
        ],
        None,
    );
    assert!(set.reports.len() >= 15, "{} reports", set.reports.len());
    let names: BTreeSet<String> = set
        .reports
        .iter()
        .map(|r| mailproof::snapshot::normalize_name(&r.policy.domain))
        .filter(|d| !d.is_empty())
        .collect();
    // The organization's own selectors, as its configuration would list them: those that
    // signed mail which also passed SPF aligned (mail from its own authorized servers).
    let mut own: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for m in &set.aggregate.rows {
        if !m.row.spf_evaluated.is_pass() {
            continue;
        }
        for d in m.row.dkim.iter().filter(|d| d.result.is_pass()) {
            if let Some(sel) = &d.selector {
                own.entry(mailproof::snapshot::normalize_name(&d.domain))
                    .or_default()
                    .insert(sel.to_ascii_lowercase());
            }
        }
    }
    let domains: Vec<DomainConfig> = names
        .iter()
        .map(|n| DomainConfig {
            name: n.clone(),
            role: Role::Workforce,
            selectors: own.get(n).into_iter().flatten().cloned().collect(),
            owner: None,
        })
        .collect();
    let out = report_checks::assess(
        &set,
        &domains,
        &Inventory::default(),
        DnsFacts::without_snapshot(),
        &Period::new(
            Month {
                year: 2024,
                month: 3,
            },
            chrono_tz::UTC,
        ),
    );
    // What each source's rows carried, read straight from the merged rows.
    #[derive(Default, Debug)]
    struct Seen {
        own_dkim_pass: bool,
        forwarded: u64,
        messages: u64,
        forwarded_most: bool,
        any_pass: bool,
    }
    let mut seen: BTreeMap<(String, String), Seen> = BTreeMap::new();
    for m in &set.aggregate.rows {
        let row = &m.row;
        let from = mailproof::snapshot::normalize_name(&row.header_from);
        let e = seen
            .entry((row.source_ip.to_string(), from.clone()))
            .or_default();
        let org = mailproof::suffix::registrable(&from).to_string();
        e.own_dkim_pass |= row.dkim.iter().any(|d| {
            d.result.is_pass()
                && mailproof::suffix::registrable(&mailproof::snapshot::normalize_name(&d.domain))
                    == org
        });
        e.messages += row.count;
        if row.reasons.iter().any(|r| {
            matches!(
                r.kind.as_str(),
                "forwarded" | "trusted_forwarder" | "mailing_list"
            )
        }) {
            e.forwarded += row.count;
        }
        e.forwarded_most = e.forwarded > 0 && e.forwarded * 2 >= e.messages;
        e.any_pass |= row.dkim.iter().any(|d| d.result.is_pass())
            || row.spf.iter().any(|s| s.result.is_pass());
    }
    let mut tally: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
    assert!(
        out.unknown_sources.len() > 100,
        "{}",
        out.unknown_sources.len()
    );
    for s in &out.unknown_sources {
        let class = s.class.as_deref().unwrap_or("");
        let Some(kind) = CLASSES.iter().find(|c| class.starts_with(*c)) else {
            panic!("{} {}: no class: {class}", s.source_ip, s.header_from);
        };
        assert!(
            class.contains(" [") && class.ends_with(']'),
            "authentication not quoted: {class}"
        );
        let e = &seen[&(s.source_ip.clone(), s.header_from.clone())];
        if e.own_dkim_pass {
            assert_ne!(*kind, "spoofing", "{} signed by us: {class}", s.source_ip);
        }
        if e.forwarded_most {
            assert_eq!(*kind, "forwarder or mailing list", "{class}");
        }
        if !e.any_pass && e.forwarded == 0 {
            assert_eq!(*kind, "spoofing", "{class}");
        }
        if std::env::var("SHOW").is_ok() {
            println!("{} {} {} | {class}", s.source_ip, s.header_from, s.messages);
        }
        let t = tally.entry(kind).or_default();
        t.0 += 1;
        t.1 += s.messages;
    }
    // The distribution, for the closing note and for anyone changing the rule.
    for (k, (n, m)) in &tally {
        println!("{k}: {n} sources, {m} messages");
    }
    assert!(tally.contains_key("spoofing"), "{tally:?}");
}
