//! Capturing every answer an SPF evaluation needs: evaluate over what is held, ask what was
//! missing, repeat until nothing is (a fixpoint).
//!
//! The breadth-first capture already asks every name an SPF record names literally; this
//! reaches the rest, the names that depend on the connecting address or the sender (macros,
//! `ptr`, `%{p}`), for the addresses the assessment will ask about.

use super::DnsClient;
use crate::records::spf_eval::{self, Evaluation, Request};
use crate::snapshot::{Lookup, Rtype};
use std::collections::HashMap;

/// Rounds of asking before giving up. Each round resolves at least one level of nesting, and
/// RFC 7208's 10-lookup limit bounds useful nesting well below this.
const MAX_ROUNDS: usize = 40;

/// Evaluates `check_host(req.ip, domain, req.sender)` over `lookups`, asking `client` for
/// whatever the evaluation needed and `lookups` lacked, until the evaluation needs nothing
/// new. New lookups are added to `lookups` (purpose `spf-eval`), so the caller can store them
/// and the same evaluation over the stored snapshot gives the same result.
pub async fn spf_fixpoint(
    client: &DnsClient,
    lookups: &mut HashMap<(String, Rtype), Lookup>,
    domain: &str,
    req: &Request,
) -> Evaluation {
    let mut all = spf_fixpoint_many(client, lookups, &[(domain.to_string(), req.clone())]).await;
    all.pop()
        .unwrap_or_else(|| spf_eval::check_host_with(lookups, domain, req))
}

/// [`spf_fixpoint`] for several evaluations at once: each round asks the union of what they
/// all missed, at most [`ROUND_WIDTH`] questions in flight.
pub async fn spf_fixpoint_many(
    client: &DnsClient,
    lookups: &mut HashMap<(String, Rtype), Lookup>,
    requests: &[(String, Request)],
) -> Vec<Evaluation> {
    let eval_all = |lookups: &HashMap<(String, Rtype), Lookup>| -> Vec<Evaluation> {
        requests
            .iter()
            .map(|(d, r)| spf_eval::check_host_with(lookups, d, r))
            .collect()
    };
    let mut evs = eval_all(lookups);
    for round in 0..MAX_ROUNDS {
        let mut missing: Vec<(String, Rtype)> = Vec::new();
        for m in evs.iter().flat_map(|e| e.missing.iter()) {
            if !missing.contains(m) && !lookups.contains_key(m) {
                missing.push(m.clone());
            }
        }
        if missing.is_empty() {
            break;
        }
        tracing::debug!(
            round,
            names = missing.len(),
            "SPF evaluation needs more answers"
        );
        for chunk in missing.chunks(ROUND_WIDTH) {
            let asks = chunk
                .iter()
                .map(|(name, rtype)| client.lookup(name, *rtype, "spf-eval"));
            for l in futures_join_all(asks).await {
                lookups.insert((l.name.clone(), l.rtype), l);
            }
        }
        evs = eval_all(lookups);
    }
    evs
}

/// Questions asked at once per round of the fixpoint.
const ROUND_WIDTH: usize = 64;

/// Runs the lookups of one round concurrently (they are independent questions).
async fn futures_join_all<F: std::future::Future<Output = Lookup>>(
    futs: impl Iterator<Item = F>,
) -> Vec<Lookup> {
    let futs: Vec<F> = futs.collect();
    let mut out = Vec::with_capacity(futs.len());
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futs.into_iter().map(Box::pin).collect();
    // Poll all together: a tiny join_all, so no extra dependency is needed.
    std::future::poll_fn(|cx| {
        let mut i = 0;
        while i < pinned.len() {
            if let std::task::Poll::Ready(l) = pinned[i].as_mut().poll(cx) {
                out.push(l);
                drop(pinned.swap_remove(i));
            } else {
                i += 1;
            }
        }
        if pinned.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out
}
