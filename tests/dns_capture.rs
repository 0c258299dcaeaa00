//! Live capture against real DNS on 127.0.0.1: an in-process authoritative server for the
//! fixture zones under `tests/zones/faults/`, and hand-rolled fault servers for the outcomes a
//! healthy zone cannot produce.

mod support;

use chrono::{TimeZone, Utc};
use mailproof::config::Role;
use mailproof::dns::{ResolverSettings, capture, capture_names};
use mailproof::snapshot::{
    Lookup, Outcome, Rtype, SCHEMA, ScopedDomain, SelectorSource, Snapshot, store,
};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::{Fault, TRUNCATED_TXT, TestDns};

fn settings(ns: SocketAddr, timeout_ms: u64, attempts: usize) -> ResolverSettings {
    ResolverSettings {
        nameservers: vec![ns],
        timeout: Duration::from_millis(timeout_ms),
        attempts,
        concurrency: 8,
    }
}

fn fixture_server() -> TestDns {
    let dir = support::tests_dir().join("zones/faults");
    support::start(&[
        ("capture.test", dir.join("capture.test.zone")),
        ("vendor.test", dir.join("vendor.test.zone")),
    ])
}

fn taken_at() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 6, 0, 0).unwrap()
}

fn get<'a>(s: &'a Snapshot, name: &str, rtype: Rtype) -> &'a Lookup {
    s.get(name, rtype).unwrap_or_else(|| {
        let asked: Vec<String> = s
            .lookups
            .iter()
            .map(|l| format!("{} {}", l.name, l.rtype.label()))
            .collect();
        panic!("{name} {} was not asked; asked: {asked:#?}", rtype.label())
    })
}

fn selectors(names: &[&str]) -> Vec<SelectorSource> {
    names
        .iter()
        .map(|s| SelectorSource {
            selector: s.to_string(),
            sources: vec!["config".to_string()],
        })
        .collect()
}

async fn capture_fixture() -> Snapshot {
    let dns = fixture_server();
    let domains = [ScopedDomain {
        name: "capture.test".to_string(),
        role: Role::Patient,
        selectors: selectors(&["local", "sel1", "twohop", "gone", "loop1", "missing"]),
    }];
    capture(&domains, &settings(dns.addr, 2000, 1), taken_at())
        .await
        .expect("capture runs")
}

#[tokio::test]
async fn fixed_questions_record_exact_answers_and_outcomes() {
    let snap = capture_fixture().await;
    assert_eq!(snap.schema, SCHEMA);
    assert_eq!(snap.tool, mailproof::TOOL_NAME);
    assert_eq!(snap.taken_at, taken_at());
    assert_eq!(snap.domains.len(), 1);

    let spf = get(&snap, "capture.test", Rtype::Txt);
    assert_eq!(spf.outcome, Outcome::Answer);
    assert_eq!(spf.purpose, "spf");
    assert_eq!(
        spf.answers,
        vec![
            "google-site-verification=fixture",
            "v=spf1 include:_spf.capture.test include:spf.vendor.test include:void.capture.test mx -all",
        ]
    );
    assert!(spf.cname_chain.is_empty());

    let mx = get(&snap, "capture.test", Rtype::Mx);
    assert_eq!(mx.outcome, Outcome::Answer);
    assert_eq!(mx.purpose, "mx");
    assert_eq!(
        mx.answers,
        vec!["10 mx1.capture.test.", "20 mx2.capture.test."]
    );
    assert!(mx.txt_strings.is_empty());

    let dmarc = get(&snap, "_dmarc.capture.test", Rtype::Txt);
    assert_eq!(dmarc.outcome, Outcome::Answer);
    assert_eq!(dmarc.purpose, "dmarc");
    assert_eq!(
        dmarc.answers,
        vec!["v=DMARC1; p=reject; rua=mailto:dmarc@capture.test"]
    );

    let mta = get(&snap, "_mta-sts.capture.test", Rtype::Txt);
    assert_eq!(
        (mta.outcome, mta.purpose.as_str()),
        (Outcome::Answer, "mta-sts")
    );
    for (name, purpose) in [
        ("_smtp._tls.capture.test", "tls-rpt"),
        ("default._bimi.capture.test", "bimi"),
    ] {
        let l = get(&snap, name, Rtype::Txt);
        assert_eq!(l.outcome, Outcome::Nxdomain, "{name}");
        assert_eq!(l.purpose, purpose);
        assert!(l.answers.is_empty() && l.error.is_none(), "{l:?}");
    }
}

#[tokio::test]
async fn dkim_keys_split_strings_and_cname_chains() {
    let snap = capture_fixture().await;

    let local = get(&snap, "local._domainkey.capture.test", Rtype::Txt);
    assert_eq!(local.outcome, Outcome::Answer);
    assert_eq!(local.purpose, "dkim");
    assert_eq!(
        local.txt_strings,
        vec![vec![
            "v=DKIM1; k=rsa; ".to_string(),
            "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC1local".to_string()
        ]]
    );
    assert_eq!(
        local.answers,
        vec!["v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC1local"]
    );

    // A vendor-hosted key: the authoritative server answers with the CNAME alone, and the
    // capture follows it into the vendor's zone.
    let vendor_key = "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCvendor";
    let sel1 = get(&snap, "sel1._domainkey.capture.test", Rtype::Txt);
    assert_eq!(sel1.outcome, Outcome::Answer);
    assert_eq!(sel1.cname_chain, vec!["sel1.dkim.vendor.test"]);
    assert_eq!(sel1.answers, vec![vendor_key]);

    let twohop = get(&snap, "twohop._domainkey.capture.test", Rtype::Txt);
    assert_eq!(twohop.outcome, Outcome::Answer);
    assert_eq!(
        twohop.cname_chain,
        vec!["hop._domainkey.capture.test", "sel1.dkim.vendor.test"]
    );
    assert_eq!(twohop.answers, vec![vendor_key]);

    // A dangling CNAME keeps its chain: the evidence that the vendor's key is gone.
    let gone = get(&snap, "gone._domainkey.capture.test", Rtype::Txt);
    assert_eq!(gone.outcome, Outcome::Nxdomain);
    assert_eq!(gone.cname_chain, vec!["gone.dkim.vendor.test"]);
    assert!(gone.answers.is_empty());

    let missing = get(&snap, "missing._domainkey.capture.test", Rtype::Txt);
    assert_eq!(missing.outcome, Outcome::Nxdomain);
    assert!(missing.cname_chain.is_empty());

    let looped = get(&snap, "loop1._domainkey.capture.test", Rtype::Txt);
    assert_eq!(looped.outcome, Outcome::Error);
    assert!(
        looped
            .error
            .as_deref()
            .is_some_and(|e| e.contains("CNAME loop")),
        "{looped:?}"
    );
}

#[tokio::test]
async fn spf_tree_is_followed_breadth_first_and_once() {
    let snap = capture_fixture().await;

    let includes: BTreeSet<(&str, &str)> = snap
        .lookups
        .iter()
        .filter(|l| l.purpose == "spf-include")
        .map(|l| (l.name.as_str(), l.outcome.label()))
        .collect();
    assert_eq!(
        includes,
        BTreeSet::from([
            ("_nested.capture.test", "answer"),
            ("_spf.capture.test", "answer"),
            ("spf.vendor.test", "answer"),
            ("void.capture.test", "nxdomain"),
        ])
    );
    assert_eq!(
        get(&snap, "spf.vendor.test", Rtype::Txt).answers,
        vec!["v=spf1 ip4:203.0.113.0/24 -all"]
    );

    // The `mx` mechanism names the domain's own MX, already asked: it is not asked twice, and
    // its hosts' addresses are asked for the SPF walk.
    assert_eq!(
        snap.lookups
            .iter()
            .filter(|l| l.name == "capture.test" && l.rtype == Rtype::Mx)
            .count(),
        1
    );
    let mx1a = get(&snap, "mx1.capture.test", Rtype::A);
    assert_eq!(
        (mx1a.outcome, mx1a.answers.clone(), mx1a.purpose.as_str()),
        (Outcome::Answer, vec!["192.0.2.10".to_string()], "spf-mx-a")
    );
    assert_eq!(
        get(&snap, "mx1.capture.test", Rtype::Aaaa).outcome,
        Outcome::Nodata
    );
    assert_eq!(
        get(&snap, "mx2.capture.test", Rtype::Aaaa).answers,
        vec!["2001:db8::11"]
    );

    // Every (name, type) once, sorted by name then type.
    let keys: Vec<(&str, Rtype)> = snap
        .lookups
        .iter()
        .map(|l| (l.name.as_str(), l.rtype))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(keys, sorted);
}

#[tokio::test]
async fn snapshot_round_trips_through_the_store() {
    let snap = capture_fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let path = store::save(dir.path(), &snap).expect("save");
    assert_eq!(
        path.file_name().and_then(|n| n.to_str()),
        Some("2026-11-01T060000Z.json")
    );
    let back = store::load(&path).expect("load");
    assert_eq!(back, snap);
}

/// Every lookup of a capture against a fault server of kind `fault`.
async fn capture_against(fault: Fault, timeout_ms: u64, attempts: usize) -> Snapshot {
    let dns = support::start_fault(fault);
    capture_names(
        &["broken.test".to_string()],
        &["s1".to_string()],
        &settings(dns.addr, timeout_ms, attempts),
        taken_at(),
    )
    .await
    .expect("capture runs even when every lookup fails")
}

#[tokio::test]
async fn servfail_is_recorded_as_servfail_not_as_missing() {
    let snap = capture_against(Fault::ServFail, 2000, 0).await;
    assert_eq!(snap.domains[0].role, Role::Workforce);
    assert_eq!(snap.domains[0].selectors[0].sources, vec!["cli"]);
    assert!(snap.get("s1._domainkey.broken.test", Rtype::Txt).is_some());
    assert!(snap.lookups.len() >= 7, "{:?}", snap.lookups);
    for l in &snap.lookups {
        assert_eq!(l.outcome, Outcome::Servfail, "{l:?}");
        assert!(l.error.is_some(), "{l:?}");
        assert!(l.answers.is_empty());
    }
}

#[tokio::test]
async fn refused_is_recorded_as_refused() {
    let snap = capture_against(Fault::Refused, 2000, 0).await;
    assert!(snap.lookups.len() >= 7);
    for l in &snap.lookups {
        assert_eq!(l.outcome, Outcome::Refused, "{l:?}");
    }
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let started = Instant::now();
    let snap = capture_against(Fault::Silent, 300, 0).await;
    assert!(snap.lookups.len() >= 7);
    for l in &snap.lookups {
        assert_eq!(l.outcome, Outcome::Timeout, "{l:?}");
        assert!(l.elapsed_ms >= 250, "{l:?}");
    }
    // Concurrent, one attempt each: nowhere near lookups × timeout.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn truncated_udp_falls_back_to_tcp() {
    let snap = capture_against(Fault::Truncate, 2000, 0).await;
    let spf = get(&snap, "broken.test", Rtype::Txt);
    assert_eq!(spf.outcome, Outcome::Answer, "{spf:?}");
    assert_eq!(spf.answers, vec![TRUNCATED_TXT.concat()]);
    assert_eq!(
        spf.txt_strings,
        vec![
            TRUNCATED_TXT
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
        ]
    );
    // The SPF include it names was followed, over TCP too.
    let inc = get(&snap, "tcp.fault.test", Rtype::Txt);
    assert_eq!(
        (inc.outcome, inc.purpose.as_str()),
        (Outcome::Answer, "spf-include")
    );
    // Non-TXT questions get an empty NOERROR over TCP.
    assert_eq!(
        get(&snap, "broken.test", Rtype::Mx).outcome,
        Outcome::Nodata
    );
}

#[tokio::test]
async fn hostile_names_become_error_outcomes_not_panics() {
    let dns = fixture_server();
    let long_label = "a".repeat(70);
    let snap = capture_names(
        &[format!("{long_label}.test")],
        &["s1".to_string()],
        &settings(dns.addr, 2000, 0),
        taken_at(),
    )
    .await
    .expect("capture runs");
    assert!(snap.lookups.len() >= 7, "{:?}", snap.lookups);
    for l in &snap.lookups {
        assert_eq!(l.outcome, Outcome::Error, "{l:?}");
        assert!(
            l.error
                .as_deref()
                .is_some_and(|e| e.contains("invalid domain name")),
            "{l:?}"
        );
    }
}

/// The capture reaches a fixpoint for the addresses it is asked about: names built from the
/// address (`%{i}` macros, `ptr`) are captured, so the stored snapshot alone reproduces each
/// evaluation. DMARC report destinations are verified through `_report._dmarc` and their MX.
#[tokio::test]
async fn spf_probes_and_report_destinations_are_captured_to_a_fixpoint() {
    use mailproof::dns::{SpfProbe, capture_probed};
    use mailproof::records::spf_eval::{SpfResult, check_host};
    use support::Rr;
    let txt = |s: &str| Rr::Txt(vec![s.as_bytes().to_vec()]);
    let zone: support::MemoryZone = [
        (
            "org.test",
            vec![txt(
                "v=spf1 exists:%{ir}._ip.vendor.test ptr:senders.vendor.test -all",
            )],
        ),
        (
            "_dmarc.org.test",
            vec![txt(
                "v=DMARC1; p=reject; rua=mailto:agg@vendor.test,mailto:d@org.test; ruf=mailto:f@elsewhere.test",
            )],
        ),
        ("org.test._report._dmarc.vendor.test", vec![txt("v=DMARC1")]),
        ("vendor.test", vec![Rr::Mx(10, "in.vendor.test".into())]),
        ("1.2.0.192._ip.vendor.test", vec![Rr::A("127.0.0.2".parse().unwrap())]),
        (
            "7.100.51.198.in-addr.arpa",
            vec![Rr::Ptr("a.senders.vendor.test".into())],
        ),
        (
            "a.senders.vendor.test",
            vec![Rr::A("198.51.100.7".parse().unwrap())],
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let dns = support::start_memory(zone);
    let domains = [ScopedDomain {
        name: "org.test".into(),
        role: Role::Patient,
        selectors: vec![],
    }];
    let ips = ["192.0.2.1", "198.51.100.7", "203.0.113.1"];
    let probes: Vec<SpfProbe> = ips
        .iter()
        .map(|ip| SpfProbe {
            domain: "org.test".into(),
            ip: ip.parse().unwrap(),
        })
        .collect();
    let snap = capture_probed(&domains, &probes, &settings(dns.addr, 2000, 0), taken_at())
        .await
        .expect("capture runs");

    let macro_name = get(&snap, "1.2.0.192._ip.vendor.test", Rtype::A);
    assert_eq!(
        (macro_name.outcome, macro_name.purpose.as_str()),
        (Outcome::Answer, "spf-eval")
    );
    assert_eq!(
        get(&snap, "7.100.51.198.in-addr.arpa", Rtype::Ptr).answers,
        vec!["a.senders.vendor.test."]
    );
    assert_eq!(
        get(&snap, "1.113.0.203._ip.vendor.test", Rtype::A).outcome,
        Outcome::Nxdomain
    );
    let results: Vec<(SpfResult, bool)> = ips
        .iter()
        .map(|ip| {
            let e = check_host(
                &snap,
                ip.parse().unwrap(),
                "org.test",
                "postmaster@org.test",
            );
            (e.result, e.is_incomplete())
        })
        .collect();
    assert_eq!(
        results,
        vec![
            (SpfResult::Pass, false),
            (SpfResult::Pass, false),
            (SpfResult::Fail, false)
        ]
    );

    let auth = get(&snap, "org.test._report._dmarc.vendor.test", Rtype::Txt);
    assert_eq!(
        (auth.outcome, auth.purpose.as_str()),
        (Outcome::Answer, "dmarc-report-auth")
    );
    assert_eq!(
        get(&snap, "org.test._report._dmarc.elsewhere.test", Rtype::Txt).outcome,
        Outcome::Nxdomain
    );
    assert!(
        snap.get("org.test._report._dmarc.org.test", Rtype::Txt)
            .is_none(),
        "our own domain needs no authorization"
    );
    let mx = get(&snap, "vendor.test", Rtype::Mx);
    assert_eq!(
        (mx.answers.clone(), mx.purpose.as_str()),
        (vec!["10 in.vendor.test.".to_string()], "dmarc-report-mx")
    );
    assert_eq!(
        get(&snap, "elsewhere.test", Rtype::Mx).outcome,
        Outcome::Nxdomain
    );
}

/// Bounded concurrency and retries: a SERVFAIL is asked again (with backoff) as often as the
/// settings allow, and each lookup records its own timing.
#[tokio::test]
async fn servfail_is_retried_with_backoff() {
    let started = Instant::now();
    let snap = capture_against(Fault::ServFail, 2000, 3).await;
    // 25 + 50 + 100 ms of backoff per lookup, concurrently.
    assert!(
        started.elapsed() >= Duration::from_millis(175),
        "{:?}",
        started.elapsed()
    );
    for l in &snap.lookups {
        assert_eq!(l.outcome, Outcome::Servfail);
        assert!(l.elapsed_ms >= 170, "{l:?}");
    }
}

/// Report sources get their reverse-DNS names, and only forward-confirmed names are believed:
/// a spoofer controls its own reverse zone and can claim any name.
#[tokio::test]
async fn report_sources_reverse_dns_is_forward_confirmed() {
    use mailproof::dns::capture_with_sources;
    use support::Rr;
    let zone: support::MemoryZone = [
        ("org.test", vec![Rr::Txt(vec![b"v=spf1 -all".to_vec()])]),
        // Truthful: the name resolves back to the address.
        (
            "7.100.51.198.in-addr.arpa",
            vec![Rr::Ptr("fwd.lists.test".into())],
        ),
        (
            "fwd.lists.test",
            vec![Rr::A("198.51.100.7".parse().unwrap())],
        ),
        // A claim: the vendor's name does not resolve to the spoofer's address.
        (
            "9.100.51.198.in-addr.arpa",
            vec![Rr::Ptr("out.vendor.test".into())],
        ),
        (
            "out.vendor.test",
            vec![Rr::A("203.0.113.9".parse().unwrap())],
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let dns = support::start_memory(zone);
    let domains = [ScopedDomain {
        name: "org.test".into(),
        role: Role::Workforce,
        selectors: vec![],
    }];
    let sources: Vec<std::net::IpAddr> = ["198.51.100.7", "198.51.100.9", "198.51.100.11"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let snap = capture_with_sources(
        &domains,
        &[],
        &sources,
        &settings(dns.addr, 2000, 0),
        taken_at(),
    )
    .await
    .expect("capture runs");
    let ptr = get(&snap, "9.100.51.198.in-addr.arpa", Rtype::Ptr);
    assert_eq!(
        (ptr.outcome, ptr.purpose.as_str()),
        (Outcome::Answer, "source-ptr")
    );
    let confirm = get(&snap, "out.vendor.test", Rtype::A);
    assert_eq!(confirm.purpose, "source-ptr-confirm");
    assert_eq!(
        get(&snap, "11.100.51.198.in-addr.arpa", Rtype::Ptr).outcome,
        Outcome::Nxdomain
    );
    let names = snap.confirmed_ptr_names();
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        vec![(
            "198.51.100.7".parse().unwrap(),
            "fwd.lists.test".to_string()
        )]
    );
}
