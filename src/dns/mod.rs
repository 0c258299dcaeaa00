//! Live DNS capture: asks every question the assessment needs and stores the raw outcome.
//!
//! This is a collect stage: it never judges. A lookup that fails is recorded as exactly that
//! (`servfail`, `refused`, `timeout`, `error`) so the assessment can say "evidence incomplete"
//! instead of mistaking a broken resolver for a missing record.
//!
//! We talk to the name servers through hickory's `NameServerPool` (wrapped in its retry handle)
//! rather than the high-level `Resolver`: the `Resolver` caches answers and follows CNAMEs on
//! its own, and when the CNAME target does not exist it returns only the final error, losing
//! the chain. A dangling DKIM CNAME into a vendor's zone is precisely the evidence an auditor
//! needs, so each hop is asked and recorded here.

mod capture;
mod dnssec;
mod fixpoint;
mod lookup;
mod resolver;

pub use capture::{
    MAX_MX_HOSTS, SpfProbe, capture, capture_names, capture_probed, capture_with_sources,
};
pub use dnssec::{Anchor, questions as dnssec_questions, validate as validate_dnssec};
pub use fixpoint::{spf_fixpoint, spf_fixpoint_many};
pub use resolver::{DnsClient, ResolverSettings, system_nameservers};

use std::path::PathBuf;

/// Why a capture could not start or finish. Individual lookup failures are not errors: they are
/// recorded in the snapshot as outcomes.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("cannot read the system resolver configuration {path}: {source}")]
    SystemConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot set up the DNS client: {0}")]
    Setup(String),
    #[error(
        "cannot use the DNSSEC trust anchor {path}: {reason}; it must hold DNSKEY records in zone-file form (`name. IN DNSKEY 257 3 13 …`)"
    )]
    TrustAnchor { path: PathBuf, reason: String },
    #[error("a DNS lookup task failed: {0}")]
    Task(String),
}
