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

use serde::{Deserialize, Serialize};

use crate::config::TlsConfig;
use crate::snapshot::{Rtype, Snapshot, normalize_name};

pub use certs::{CertSummary, PresentedChain};

/// Everything the transport probes captured, stored beside the DNS lookups.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TransportCapture {
    /// Whether STARTTLS probes ran (`[tls] probe`); without them the MX findings say "not
    /// probed", never "no STARTTLS".
    pub probed: bool,
    pub smtp_port: u16,
    #[serde(default)]
    pub sts_policies: Vec<PolicyFetch>,
    #[serde(default)]
    pub smtp: Vec<SmtpProbe>,
}

/// How a connection or fetch ended. Anything but `ok` (and, for fetches, `http_status`,
/// `content_type`, `too_large` and `redirect`, which are the server's answers) means we could
/// not learn the truth: evidence incomplete, never "absent".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    /// The name has no address in the snapshot.
    NoAddress,
    Refused,
    Timeout,
    Reset,
    /// TLS could not be negotiated at all (no common version or cipher, or a broken peer).
    TlsError,
    /// The HTTPS certificate is not one a sender accepts (RFC 8461 §3.3).
    CertificateInvalid,
    Redirect,
    HttpStatus,
    ContentType,
    TooLarge,
    /// The server broke the protocol (not SMTP, not HTTP).
    Protocol,
    Error,
}

impl Outcome {
    /// We could not reach the server or finish talking to it: evidence incomplete (NET-001).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Outcome::NoAddress
                | Outcome::Refused
                | Outcome::Timeout
                | Outcome::Reset
                | Outcome::Error
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::NoAddress => "no_address",
            Outcome::Refused => "refused",
            Outcome::Timeout => "timeout",
            Outcome::Reset => "reset",
            Outcome::TlsError => "tls_error",
            Outcome::CertificateInvalid => "certificate_invalid",
            Outcome::Redirect => "redirect",
            Outcome::HttpStatus => "http_status",
            Outcome::ContentType => "content_type",
            Outcome::TooLarge => "too_large",
            Outcome::Protocol => "protocol",
            Outcome::Error => "error",
        }
    }
}

/// The MTA-STS policy fetch for one domain (RFC 8461 §3.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyFetch {
    pub domain: String,
    pub url: String,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The address connected to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Where a redirect pointed (never followed: RFC 8461 §3.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The body as served (at most [`crate::records::mta_sts::MAX_POLICY_BYTES`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<PresentedChain>,
    pub elapsed_ms: u64,
}

/// One STARTTLS probe of one MX host address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmtpProbe {
    pub host: String,
    pub address: String,
    pub port: u16,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The 220 greeting, line by line.
    #[serde(default)]
    pub banner: Vec<String>,
    /// The EHLO keywords the server advertised (before STARTTLS).
    #[serde(default)]
    pub ehlo: Vec<String>,
    /// Whether STARTTLS was advertised; `None` when the dialogue ended before EHLO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starttls: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<PresentedChain>,
    /// The SMTP dialogue, `C:`/`S:` lines, for the evidence.
    #[serde(default)]
    pub transcript: Vec<String>,
    /// Legacy versions and ciphers offered on sessions of their own (TLS-002).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub legacy: Vec<legacy::LegacyProbe>,
    pub elapsed_ms: u64,
}

impl TransportCapture {
    /// The probes and fetches that could not reach their server, in words: what makes a run
    /// "evidence incomplete" (exit 4), like a failed DNS lookup.
    pub fn gaps(&self) -> Vec<String> {
        let smtp = self
            .smtp
            .iter()
            .filter(|p| p.outcome.is_failure() || p.outcome == Outcome::Protocol)
            .map(|p| {
                format!(
                    "{} {}:{}: {}: {}",
                    p.host,
                    p.address,
                    p.port,
                    p.outcome.label(),
                    p.error.as_deref().unwrap_or("")
                )
            });
        let sts = self
            .sts_policies
            .iter()
            .filter(|f| f.outcome.is_failure())
            .map(|f| {
                format!(
                    "{}: {}: {}",
                    f.url,
                    f.outcome.label(),
                    f.error.as_deref().unwrap_or("")
                )
            });
        smtp.chain(sts).collect()
    }
}

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

impl SmtpProbe {
    /// A probe of `host` at `address` that has learned nothing yet.
    pub(crate) fn new(host: &str, address: String, port: u16) -> SmtpProbe {
        SmtpProbe {
            host: host.to_string(),
            address,
            port,
            outcome: Outcome::Ok,
            error: None,
            banner: vec![],
            ehlo: vec![],
            starttls: None,
            tls_version: None,
            cipher: None,
            certificate: None,
            transcript: vec![],
            legacy: vec![],
            elapsed_ms: 0,
        }
    }

    fn unreachable(host: &str, port: u16, outcome: Outcome, why: &str) -> SmtpProbe {
        SmtpProbe {
            outcome,
            error: Some(why.to_string()),
            ..SmtpProbe::new(host, String::new(), port)
        }
    }
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
