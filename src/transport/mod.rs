//! Transport-security evidence: what a sender meets when it delivers mail to our domains. The
//! MTA-STS policy as served over HTTPS, and for each MX host a STARTTLS probe (banner, EHLO,
//! the negotiated TLS and the certificate). Like the DNS capture, this stage does I/O and
//! never judges: it stores raw outcomes in the snapshot, and the checks read them later.

pub mod certs;
pub mod legacy;
pub mod starttls;
pub mod sts_fetch;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::config::TlsConfig;
use crate::snapshot::{Rtype, Snapshot, normalize_name};

pub use crate::snapshot::transport::{
    CertSummary, LegacyProbe, Outcome, PolicyFetch, PresentedChain, SmtpProbe, TransportCapture,
};

/// Addresses probed per MX host: the first two IPv4 addresses, or the first IPv6 one when the
/// host has no IPv4, so a many-address pool does not multiply the probes.
const ADDRESSES_PER_HOST: usize = 2;

/// MX hosts probed at once.
const CONCURRENCY: usize = 16;

/// Runs the policy fetches and the STARTTLS probes the snapshot's DNS calls for.
pub async fn capture(snapshot: &Snapshot, tls: &TlsConfig) -> Result<TransportCapture, String> {
    let roots = Arc::new(certs::roots(tls.ca_file.as_deref())?);
    let timeout = Duration::from_millis(tls.timeout_ms.max(1));
    let sem = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut out = TransportCapture {
        probed: tls.probe,
        smtp_port: tls.smtp_port,
        ..Default::default()
    };

    // MTA-STS: every domain in scope that announces a policy.
    let mut fetches = tokio::task::JoinSet::new();
    for d in &snapshot.domains {
        let announced = snapshot
            .get(&format!("_mta-sts.{}", d.name), Rtype::Txt)
            .is_some_and(|l| {
                l.answers
                    .iter()
                    .any(|a| crate::records::mta_sts::is_sts_record(a))
            });
        if !announced {
            continue;
        }
        let host = format!("mta-sts.{}", d.name);
        let addrs = addresses(snapshot, &host, 1);
        let (domain, roots, sem, port) = (
            d.name.clone(),
            roots.clone(),
            sem.clone(),
            sts_fetch::HTTPS_PORT,
        );
        fetches.spawn(async move {
            let _permit = sem.acquire().await;
            sts_fetch::fetch(&domain, &addrs, port, roots, timeout).await
        });
    }

    // STARTTLS: every MX host of every domain in scope, once.
    let mut probes = tokio::task::JoinSet::new();
    if tls.probe {
        let mut hosts: Vec<String> = Vec::new();
        for d in &snapshot.domains {
            for mx in snapshot
                .get(&d.name, Rtype::Mx)
                .map(|l| l.answers.clone())
                .unwrap_or_default()
            {
                let Some(h) = mx.split_whitespace().nth(1).map(normalize_name) else {
                    continue;
                };
                if !h.is_empty() && !hosts.contains(&h) {
                    hosts.push(h);
                }
            }
        }
        for host in hosts
            .into_iter()
            .take(crate::dns::MAX_MX_HOSTS * snapshot.domains.len().max(1))
        {
            let addrs = addresses(snapshot, &host, ADDRESSES_PER_HOST);
            if addrs.is_empty() {
                out.smtp.push(SmtpProbe::unreachable(
                    &host,
                    tls.smtp_port,
                    Outcome::NoAddress,
                    "the snapshot holds no address for this MX host (see its A/AAAA lookups)",
                ));
                continue;
            }
            for ip in addrs {
                let (host, roots, sem, port) =
                    (host.clone(), roots.clone(), sem.clone(), tls.smtp_port);
                probes.spawn(async move {
                    let _permit = sem.acquire().await;
                    let mut p = starttls::probe(&host, ip, port, roots, timeout).await;
                    // Legacy offers only where TLS was negotiated: elsewhere TLS-001 or
                    // NET-001 already says more.
                    if p.tls_version.is_some() {
                        p.legacy = legacy::probe(&host, ip, port, timeout).await;
                    }
                    p
                });
            }
        }
    }
    while let Some(r) = fetches.join_next().await {
        if let Ok(f) = r {
            out.sts_policies.push(f);
        }
    }
    while let Some(r) = probes.join_next().await {
        if let Ok(p) = r {
            out.smtp.push(p);
        }
    }
    out.sts_policies.sort_by(|a, b| a.domain.cmp(&b.domain));
    out.smtp
        .sort_by(|a, b| (&a.host, &a.address).cmp(&(&b.host, &b.address)));
    tracing::info!(
        policies = out.sts_policies.len(),
        probes = out.smtp.len(),
        "transport evidence captured"
    );
    Ok(out)
}

/// The addresses the snapshot holds for `host`: IPv4 first, IPv6 only when there is none.
fn addresses(snapshot: &Snapshot, host: &str, max: usize) -> Vec<IpAddr> {
    let of = |rtype| -> Vec<IpAddr> {
        snapshot
            .get(host, rtype)
            .map(|l| l.answers.iter().filter_map(|a| a.parse().ok()).collect())
            .unwrap_or_default()
    };
    let v4 = of(Rtype::A);
    let chosen = if v4.is_empty() { of(Rtype::Aaaa) } else { v4 };
    chosen.into_iter().take(max).collect()
}

/// How one step of a probe or fetch ended when it did not succeed.
pub(crate) type Step<T> = Result<T, (Outcome, String)>;

/// A TCP connection to `ip:port` within `timeout`, its failure told as an outcome.
pub(crate) async fn connect(
    ip: IpAddr,
    port: u16,
    timeout: Duration,
) -> Step<tokio::net::TcpStream> {
    let addr = std::net::SocketAddr::new(ip, port);
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err((io_outcome(&e), format!("connect to {addr}: {e}"))),
        Err(_) => Err((
            Outcome::Timeout,
            format!(
                "connect to {addr}: no answer within {} ms",
                timeout.as_millis()
            ),
        )),
    }
}

/// The outcome an I/O error stands for.
pub(crate) fn io_outcome(e: &std::io::Error) -> Outcome {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => Outcome::Refused,
        K::TimedOut => Outcome::Timeout,
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            Outcome::Reset
        }
        _ => Outcome::Error,
    }
}
