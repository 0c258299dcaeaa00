//! Benchmark: snapshot 1,000 domains against a loopback DNS server (target: 2 s or less in a
//! release build). Run with `cargo test --release --bench dns_capture -- --ignored --nocapture`
//! (`make bench-dns`); under `cargo test` it is skipped, since a debug build says nothing
//! about speed.

#[path = "../tests/support/mod.rs"]
mod support;

use chrono::{TimeZone, Utc};
use mailproof::config::Role;
use mailproof::dns::{ResolverSettings, capture};
use mailproof::snapshot::{ScopedDomain, SelectorSource};
use std::time::{Duration, Instant};
use support::{MemoryZone, Rr};

const DOMAINS: usize = 1000;
/// The target for a release build.
const TARGET: Duration = Duration::from_secs(2);

fn txt(s: &str) -> Rr {
    Rr::Txt(vec![s.as_bytes().to_vec()])
}

/// 1,000 organizations under `bench.test`, each with SPF (sharing one include, as most
/// organizations share a mail provider), DMARC, one DKIM key, MX, MTA-STS and TLS-RPT.
fn world() -> MemoryZone {
    let mut z = MemoryZone::new();
    z.insert(
        "_spf.provider.test".into(),
        vec![txt("v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all")],
    );
    z.insert(
        "_dmarc.bench.test".into(),
        vec![txt("v=DMARC1; p=reject; rua=mailto:d@bench.test")],
    );
    for i in 0..DOMAINS {
        let d = format!("d{i:04}.bench.test");
        z.insert(
            d.clone(),
            vec![
                txt("v=spf1 include:_spf.provider.test mx -all"),
                Rr::Mx(10, format!("mx.{d}")),
            ],
        );
        z.insert(
            format!("mx.{d}"),
            vec![Rr::A("192.0.2.25".parse().unwrap())],
        );
        z.insert(
            format!("_dmarc.{d}"),
            vec![txt(&format!(
                "v=DMARC1; p=quarantine; rua=mailto:dmarc@{d}"
            ))],
        );
        z.insert(
            format!("s1._domainkey.{d}"),
            vec![txt(
                "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
            )],
        );
        z.insert(format!("_mta-sts.{d}"), vec![txt("v=STSv1; id=20260101")]);
        z.insert(
            format!("_smtp._tls.{d}"),
            vec![txt(&format!("v=TLSRPTv1; rua=mailto:tls@{d}"))],
        );
    }
    z
}

#[test]
#[ignore = "benchmark: cargo test --release --bench dns_capture -- --ignored --nocapture"]
fn snapshot_1000_domains() {
    let dns = support::start_memory(world());
    let domains: Vec<ScopedDomain> = (0..DOMAINS)
        .map(|i| ScopedDomain {
            name: format!("d{i:04}.bench.test"),
            role: Role::Workforce,
            selectors: vec![SelectorSource {
                selector: "s1".into(),
                sources: vec!["config".into()],
            }],
        })
        .collect();
    let settings = ResolverSettings {
        nameservers: vec![dns.addr],
        timeout: Duration::from_millis(2000),
        attempts: 2,
        concurrency: 64,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let taken_at = Utc.with_ymd_and_hms(2026, 11, 1, 6, 0, 0).unwrap();
    let started = Instant::now();
    let snap = rt
        .block_on(capture(&domains, &settings, taken_at))
        .expect("capture");
    let took = started.elapsed();
    let failed = snap
        .lookups
        .iter()
        .filter(|l| l.outcome.is_failure())
        .count();
    println!(
        "DNS capture benchmark: {DOMAINS} domains, {} lookups, {failed} failed, in {:.2} s ({:.0} lookups/s; target ≤ {} s)",
        snap.lookups.len(),
        took.as_secs_f64(),
        snap.lookups.len() as f64 / took.as_secs_f64(),
        TARGET.as_secs()
    );
    assert_eq!(failed, 0, "a loopback server must answer every question");
    // Per domain: SPF, MX (also the rua host's MX), _dmarc (its parent is shared), DKIM,
    // MTA-STS, TLS-RPT, BIMI, and the MX host's A and AAAA for SPF `mx`; plus 3 shared names.
    assert_eq!(snap.lookups.len(), DOMAINS * 9 + 3);
    if took > TARGET {
        println!("WARNING: slower than the {} s target", TARGET.as_secs());
    }
}
