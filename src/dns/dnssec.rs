//! DNSSEC validation done here, from a trust anchor we name, for the names transport security
//! rests on: each domain's MX RRset, each MX host's addresses and each `_25._tcp` TLSA RRset.
//!
//! The upstream resolver's AD flag is not validation: it is a claim made over an unprotected
//! hop. So every question is asked with CD=1 (the resolver hands over what it has, signatures
//! included, even when it would call it bogus) and hickory's validating handle builds the chain
//! of DNSKEY and DS records from the anchor down, asking for each link itself. The verdict per
//! name is stored raw, like every other lookup outcome; the checks judge it later.

use super::lookup::record_type;
use super::{DnsClient, DnsError};
use crate::snapshot::dnssec::{DnssecCapture, DnssecName, DnssecStatus};
use crate::snapshot::{Rtype, Snapshot, normalize_name};
use hickory_resolver::net::dnssec::DnssecDnsHandle;
use hickory_resolver::net::xfer::{DnsHandle, FirstAnswer};
use hickory_resolver::net::{DnsError as HDnsError, NetError};
use hickory_resolver::proto::dnssec::{Proof, TrustAnchors};
use hickory_resolver::proto::op::{DnsRequest, DnsRequestOptions, DnsResponse, Query};
use hickory_resolver::proto::rr::{Name, Record, RecordType};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// One name's validation may take a dozen questions (DNSKEY and DS up the tree); this bounds
/// the whole walk, so one dead zone cannot hold the capture.
const PER_NAME_LIMIT: Duration = Duration::from_secs(20);

/// The anchor chains are built to, and how the snapshot names it.
pub struct Anchor {
    keys: Arc<TrustAnchors>,
    label: String,
    /// The names the anchor's keys belong to, lower case without the trailing dot (`""` is
    /// the root): chains can start only there.
    zones: Vec<String>,
}

impl Anchor {
    /// The IANA root key-signing keys built into hickory (KSK-2017, tag 20326, and KSK-2024,
    /// tag 38696), or the DNSKEY records of `file` in zone-file form. A file may anchor at
    /// any name, which is how tests and closed networks bring their own root.
    pub fn load(file: Option<&Path>) -> Result<Anchor, DnsError> {
        let Some(path) = file else {
            return Ok(Anchor {
                keys: Arc::new(TrustAnchors::default()),
                label: "IANA root trust anchor (KSK-2017 tag 20326, KSK-2024 tag 38696)".into(),
                zones: vec![String::new()],
            });
        };
        let bad = |reason: String| DnsError::TrustAnchor {
            path: path.into(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let keys: TrustAnchors = text.parse().map_err(|e| bad(format!("{e}")))?;
        let mut zones: Vec<String> = Vec::new();
        let mut dnskeys = 0;
        let mut owner = String::new();
        for line in text.lines() {
            let line = line.split(';').next().unwrap_or_default();
            // A line that starts with blank space continues the previous owner name.
            if let Some(first) = line.split_whitespace().next()
                && !line.starts_with(char::is_whitespace)
            {
                owner = normalize_name(first);
            }
            if line
                .split_whitespace()
                .any(|w| w.eq_ignore_ascii_case("DNSKEY"))
            {
                dnskeys += 1;
                if !zones.contains(&owner) {
                    zones.push(owner.clone());
                }
            }
        }
        if dnskeys == 0 {
            return Err(bad("it holds no DNSKEY record".into()));
        }
        let sha = hex::encode(Sha256::digest(text.as_bytes()));
        Ok(Anchor {
            keys: Arc::new(keys),
            label: format!(
                "trust anchor file {} ({dnskeys} DNSKEY record{}, SHA-256 {sha})",
                path.display(),
                if dnskeys == 1 { "" } else { "s" }
            ),
            zones,
        })
    }

    pub fn label(&self) -> &str {
        &self.label
    }
}

/// Asks with CD=1 so a validating upstream passes bogus data on instead of answering
/// SERVFAIL: the validator must see the broken signature to call it bogus.
#[derive(Clone)]
struct CheckingDisabled<H>(H);

impl<H: DnsHandle> DnsHandle for CheckingDisabled<H> {
    type Response = H::Response;
    type Runtime = H::Runtime;

    fn send(&self, mut request: DnsRequest) -> Self::Response {
        request.metadata.checking_disabled = true;
        self.0.send(request)
    }
}

/// The questions whose answers transport security rests on, each once: the domain's MX
/// RRset (its "domain" verdict), each MX host's A RRset, and each TLSA RRset of
/// `_25._tcp.<mx>` (RFC 7672 §2.2 requires those to be secure for DANE).
pub fn questions(snapshot: &Snapshot) -> Vec<(String, Rtype, &'static str)> {
    let mut out: Vec<(String, Rtype, &'static str)> = Vec::new();
    let mut push = |name: String, rtype: Rtype, purpose: &'static str| {
        if !out.iter().any(|(n, t, _)| *n == name && *t == rtype) {
            out.push((name, rtype, purpose));
        }
    };
    for d in &snapshot.domains {
        push(d.name.clone(), Rtype::Mx, "domain");
    }
    for d in &snapshot.domains {
        for host in snapshot.mx_hosts(&d.name) {
            push(host.clone(), Rtype::A, "mx-host");
            push(format!("_25._tcp.{host}"), Rtype::Tlsa, "tlsa");
        }
    }
    out
}

fn status_of(proof: Proof) -> DnssecStatus {
    match proof {
        Proof::Secure => DnssecStatus::Secure,
        Proof::Insecure => DnssecStatus::Insecure,
        Proof::Bogus => DnssecStatus::Bogus,
        Proof::Indeterminate => DnssecStatus::Indeterminate,
    }
}

/// The worst of several records' verdicts: one bogus record makes the RRset bogus.
fn worst<'a>(records: impl Iterator<Item = &'a Record>) -> Option<DnssecStatus> {
    records
        .map(|r| status_of(r.proof))
        .max_by_key(|s| s.severity())
}

/// Reads the validator's verdict off a response: the answer records of the asked type (and
/// the CNAMEs leading to them), or for a negative answer the NSEC/SOA records proving it.
fn verdict(resp: &DnsResponse, want: RecordType) -> (DnssecStatus, bool, Option<String>) {
    let answers = resp
        .answers
        .iter()
        .filter(|r| r.record_type() == want || r.record_type() == RecordType::CNAME);
    if let Some(status) = worst(answers) {
        let detail = match status {
            DnssecStatus::Bogus => Some("the signatures over the answer do not validate".into()),
            DnssecStatus::Indeterminate => Some("no chain of trust could be built".into()),
            _ => None,
        };
        return (status, true, detail);
    }
    match worst(resp.authorities.iter()) {
        Some(DnssecStatus::Secure) => (DnssecStatus::Secure, false, None),
        Some(DnssecStatus::Insecure) => (DnssecStatus::Insecure, false, None),
        Some(s) => (
            s,
            false,
            Some("the proof that no record exists does not validate".into()),
        ),
        None => (
            DnssecStatus::Indeterminate,
            false,
            Some("negative answer without any proof records".into()),
        ),
    }
}

impl DnsClient {
    /// Validates each of `snapshot`'s [`questions`] against `anchor`. Never fails per name:
    /// a walk that could not finish is `indeterminate` with the reason.
    pub async fn validate_dnssec(&self, snapshot: &Snapshot, anchor: &Anchor) -> DnssecCapture {
        let handle = DnssecDnsHandle::with_trust_anchor(
            CheckingDisabled(self.handle.clone()),
            anchor.keys.clone(),
        );
        let mut options = DnsRequestOptions::default();
        options.use_edns = true;
        options.edns_payload_len = self.edns_payload_len;
        options.recursion_desired = true;

        let questions = questions(snapshot);
        // Every chain starts at the anchor's own DNSKEY set. If that does not validate, the
        // resolver is not passing DNSSEC records (or the anchor is stale), and no verdict
        // below could be trusted: every name is indeterminate, with that reason.
        for zone in &anchor.zones {
            let (status, _, detail) = validate_one(&handle, zone, None, options).await;
            if status != DnssecStatus::Secure {
                let shown = if zone.is_empty() { "." } else { zone.as_str() };
                let reason = format!(
                    "the trust anchor's own DNSKEY set ({shown}) does not validate ({}{}): the resolver does not pass DNSSEC records, or the anchor is not current",
                    status.label(),
                    detail.map(|d| format!(": {d}")).unwrap_or_default()
                );
                return DnssecCapture {
                    anchor: anchor.label.clone(),
                    names: questions
                        .into_iter()
                        .map(|(name, rtype, purpose)| DnssecName {
                            name,
                            rtype,
                            status: DnssecStatus::Indeterminate,
                            exists: false,
                            detail: Some(reason.clone()),
                            purpose: purpose.to_string(),
                        })
                        .collect(),
                };
            }
        }
        let sem = Arc::new(tokio::sync::Semaphore::new(16));
        let mut tasks = tokio::task::JoinSet::new();
        for (idx, (name, rtype, purpose)) in questions.into_iter().enumerate() {
            let (handle, sem) = (handle.clone(), sem.clone());
            let covered = anchor
                .zones
                .iter()
                .any(|z| z.is_empty() || name == *z || name.ends_with(&format!(".{z}")));
            tasks.spawn(async move {
                let _permit = sem.acquire().await;
                let (status, exists, detail) = if covered {
                    validate_one(&handle, &name, Some(rtype), options).await
                } else {
                    (
                        DnssecStatus::Indeterminate,
                        false,
                        Some("outside the zones of the trust anchor file".to_string()),
                    )
                };
                tracing::debug!(name = %name, rtype = rtype.label(), status = status.label(), "dnssec");
                (
                    idx,
                    DnssecName {
                        name,
                        rtype,
                        status,
                        exists,
                        detail,
                        purpose: purpose.to_string(),
                    },
                )
            });
        }
        let mut names: Vec<(usize, DnssecName)> = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(done) => names.push(done),
                Err(e) => tracing::warn!("a DNSSEC validation task failed: {e}"),
            }
        }
        names.sort_by_key(|(i, _)| *i);
        DnssecCapture {
            anchor: anchor.label.clone(),
            names: names.into_iter().map(|(_, n)| n).collect(),
        }
    }
}

/// Validates one RRset; `rtype` `None` asks for the DNSKEY set (the anchor's own).
async fn validate_one<H: DnsHandle>(
    handle: &DnssecDnsHandle<H>,
    name: &str,
    rtype: Option<Rtype>,
    options: DnsRequestOptions,
) -> (DnssecStatus, bool, Option<String>) {
    let labels = name.split('.').filter(|l| !l.is_empty());
    let qname = match Name::from_labels(labels.map(str::as_bytes)) {
        Ok(mut n) => {
            n.set_fqdn(true);
            n
        }
        Err(e) => {
            return (
                DnssecStatus::Indeterminate,
                false,
                Some(format!("invalid name: {e}")),
            );
        }
    };
    let want = rtype.map_or(RecordType::DNSKEY, record_type);
    let request = DnsRequest::from_query(Query::query(qname, want), options);
    let asked = tokio::time::timeout(PER_NAME_LIMIT, handle.send(request).first_answer()).await;
    match asked {
        Err(_) => (
            DnssecStatus::Indeterminate,
            false,
            Some(format!(
                "validation did not finish within {} s",
                PER_NAME_LIMIT.as_secs()
            )),
        ),
        Ok(Ok(resp)) => verdict(&resp, want),
        Ok(Err(NetError::Dns(HDnsError::Nsec { proof, .. }))) => {
            let status = status_of(proof);
            let detail = (status != DnssecStatus::Secure)
                .then(|| "the proof that no record exists does not validate".to_string());
            (status, false, detail)
        }
        Ok(Err(e)) => (DnssecStatus::Indeterminate, false, Some(e.to_string())),
    }
}

/// [`DnsClient::validate_dnssec`] with a client of its own, for the capture's callers.
pub async fn validate(
    snapshot: &Snapshot,
    settings: &super::ResolverSettings,
    anchor: &Anchor,
) -> Result<DnssecCapture, DnsError> {
    let client = DnsClient::new(settings)?;
    Ok(client.validate_dnssec(snapshot, anchor).await)
}
