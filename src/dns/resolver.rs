//! Resolver settings and the DNS client built from them.

use super::DnsError;
use crate::config::DnsConfig;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::xfer::RetryDnsHandle;
use hickory_resolver::{NameServerPool, PoolContext, TlsConfig};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How the capture talks to DNS. Kept separate from [`DnsConfig`] so the CLI's `--nameserver`
/// can override the config file without touching it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolverSettings {
    /// Recursive resolvers to ask; empty means the system's configuration (`/etc/resolv.conf`).
    pub nameservers: Vec<SocketAddr>,
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// Retries after the first try, so the worst case per question is
    /// `timeout × (attempts + 1)`.
    pub attempts: usize,
    /// Questions in flight at once; bounded so a large inventory cannot flood a resolver.
    pub concurrency: usize,
}

impl Default for ResolverSettings {
    fn default() -> Self {
        Self::from_config(&DnsConfig::default())
    }
}

impl ResolverSettings {
    pub fn from_config(cfg: &DnsConfig) -> Self {
        ResolverSettings {
            nameservers: cfg.nameservers.clone(),
            timeout: Duration::from_millis(cfg.timeout_ms),
            attempts: cfg.attempts,
            concurrency: cfg.concurrency,
        }
    }

    /// Applies the CLI's `--nameserver` list, which wins over the config file when given.
    pub fn with_nameserver_override(mut self, cli: &[SocketAddr]) -> Self {
        if !cli.is_empty() {
            self.nameservers = cli.to_vec();
        }
        self
    }

    /// How the snapshot names the servers it asked.
    pub fn nameserver_labels(&self) -> Vec<String> {
        if self.nameservers.is_empty() {
            vec!["system".to_string()]
        } else {
            self.nameservers.iter().map(|a| a.to_string()).collect()
        }
    }

    /// At least one, so a `concurrency = 0` in a config cannot stall the capture.
    pub(crate) fn effective_concurrency(&self) -> usize {
        self.concurrency.max(1)
    }
}

/// Name servers listed in a resolv.conf-style file. The hickory build has no `system-config`
/// feature, and all we need from the file is its `nameserver` lines; the timeout and attempts
/// come from our own settings so a capture behaves the same on every host.
///
/// As in glibc, a file without any usable `nameserver` line means the local host.
pub fn system_nameservers(path: &Path) -> Result<Vec<SocketAddr>, DnsError> {
    let text = std::fs::read_to_string(path).map_err(|source| DnsError::SystemConfig {
        path: path.into(),
        source,
    })?;
    let mut out = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        let line = line.trim();
        let mut words = line.split_whitespace();
        if words.next() != Some("nameserver") {
            continue;
        }
        let Some(addr) = words.next() else {
            tracing::warn!(
                "{}:{}: nameserver line without an address",
                path.display(),
                idx + 1
            );
            continue;
        };
        // Link-local IPv6 with a zone (`fe80::1%eth0`) cannot be expressed to hickory.
        match addr.parse::<IpAddr>() {
            Ok(ip) => {
                let sa = SocketAddr::new(ip, 53);
                if !out.contains(&sa) {
                    out.push(sa);
                }
            }
            Err(_) => tracing::warn!(
                "{}:{}: skipping unusable nameserver address {addr:?}",
                path.display(),
                idx + 1
            ),
        }
    }
    if out.is_empty() {
        tracing::warn!(
            "{} lists no usable nameserver; using 127.0.0.1:53",
            path.display()
        );
        out.push(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53));
    }
    Ok(out)
}

/// A cache-free DNS client: every question goes to the servers, and answers come back raw so
/// the outcome (rcode, truncation, CNAME hops) can be recorded faithfully.
#[derive(Clone)]
pub struct DnsClient {
    pub(crate) handle: RetryDnsHandle<NameServerPool<TokioRuntimeProvider>>,
    pub(crate) edns_payload_len: u16,
    /// Retries after the first try; [`DnsClient::lookup`] spaces them with backoff.
    pub(crate) retries: usize,
}

impl std::fmt::Debug for DnsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsClient").finish_non_exhaustive()
    }
}

impl DnsClient {
    /// Builds the client. Empty `nameservers` reads `/etc/resolv.conf`.
    ///
    /// Each server is asked over UDP first and over TCP when a response comes back truncated
    /// (hickory switches transport on TC=1), so long SPF/DKIM TXT records are never cut short.
    pub fn new(settings: &ResolverSettings) -> Result<Self, DnsError> {
        let servers = if settings.nameservers.is_empty() {
            system_nameservers(Path::new("/etc/resolv.conf"))?
        } else {
            settings.nameservers.clone()
        };
        let configs = servers.iter().map(|sa| {
            let mut udp = ConnectionConfig::udp();
            udp.port = sa.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = sa.port();
            NameServerConfig::new(sa.ip(), true, vec![udp, tcp])
        });

        let mut opts = ResolverOpts::default();
        opts.timeout = settings.timeout;
        opts.attempts = settings.attempts;
        // Our own semaphore bounds concurrency; a lower per-connection cap would surface as
        // spurious "busy" failures rather than slow the capture down.
        opts.max_active_requests = opts
            .max_active_requests
            .max(settings.effective_concurrency());
        opts.cache_size = 0;
        let edns_payload_len = opts.edns_payload_len;

        let tls = TlsConfig::new().map_err(|e| DnsError::Setup(e.to_string()))?;
        let cx = Arc::new(PoolContext::new(opts, tls));
        let pool = NameServerPool::from_config(configs, cx, TokioRuntimeProvider::default());
        Ok(DnsClient {
            // Retries are ours (with backoff, and on SERVFAIL too), not hickory's immediate ones.
            handle: RetryDnsHandle::new(pool, 0),
            edns_payload_len,
            retries: settings.attempts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_nameserver_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("resolv.conf");
        std::fs::write(
            &p,
            "# comment\nsearch example.org\nnameserver 10.0.0.1\nnameserver\n\
             nameserver fe80::1%eth0\nnameserver 2001:db8::53\nnameserver 10.0.0.1\n\
             options timeout:1\n",
        )
        .unwrap();
        let got = system_nameservers(&p).unwrap();
        assert_eq!(
            got,
            vec![
                "10.0.0.1:53".parse::<SocketAddr>().unwrap(),
                "[2001:db8::53]:53".parse().unwrap()
            ]
        );
    }

    #[test]
    fn resolv_conf_without_servers_means_localhost() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("resolv.conf");
        std::fs::write(&p, "search example.org\n").unwrap();
        assert_eq!(
            system_nameservers(&p).unwrap(),
            vec!["127.0.0.1:53".parse::<SocketAddr>().unwrap()]
        );
        let missing = dir.path().join("nope");
        let err = system_nameservers(&missing).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn settings_from_config_and_cli_override() {
        let cfg = DnsConfig {
            nameservers: vec!["127.0.0.1:5353".parse().unwrap()],
            timeout_ms: 1500,
            attempts: 1,
            concurrency: 0,
        };
        let s = ResolverSettings::from_config(&cfg);
        assert_eq!(s.timeout, Duration::from_millis(1500));
        assert_eq!(s.attempts, 1);
        assert_eq!(s.effective_concurrency(), 1);
        assert_eq!(s.nameserver_labels(), vec!["127.0.0.1:5353"]);
        let s = s.with_nameserver_override(&["192.0.2.1:53".parse().unwrap()]);
        assert_eq!(s.nameserver_labels(), vec!["192.0.2.1:53"]);
        let s = s.with_nameserver_override(&[]);
        assert_eq!(s.nameserver_labels(), vec!["192.0.2.1:53"]);
        let mut none = s;
        none.nameservers.clear();
        assert_eq!(none.nameserver_labels(), vec!["system"]);
    }
}
