//! What a check saw, in the words the rating rule weighs: the harm a weakness leads to, how
//! far a gap reaches, and the facts behind them. Plain data, shared by the catalog, the checks,
//! the rule and the evidence, so none of them needs another to name it.

use super::risk::Level;
use serde::{Deserialize, Serialize};

/// What goes wrong if the weakness is used: the consequence a check guards against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Harm {
    /// Forged mail in our name is delivered: the gap a phisher uses.
    #[default]
    Forgery,
    /// A signing key can be recovered or misused, so forged mail passes DKIM and DMARC.
    KeyCompromise,
    /// Our own legitimate mail fails authentication and is refused or junked.
    Delivery,
    /// PHI reaches a party without the safeguards HIPAA requires.
    Disclosure,
    /// The organization loses the data it needs to see abuse (activity review).
    Blindness,
    /// A departure from the standard with little direct consequence.
    Hygiene,
}

impl Harm {
    pub fn label(self) -> &'static str {
        match self {
            Harm::Forgery => "forged mail delivered",
            Harm::KeyCompromise => "signing key compromise",
            Harm::Delivery => "legitimate mail refused",
            Harm::Disclosure => "PHI disclosure",
            Harm::Blindness => "abuse goes unseen",
            Harm::Hygiene => "record hygiene",
        }
    }
}

/// How much of the mail a gap leaves open, when a check can tell (e.g. `np` falling back to an
/// enforcing `sp` leaves nothing open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reach {
    #[default]
    Full,
    Partial,
    Minimal,
}

/// What a check saw that the rule weighs. Not serialized: the rule's outcome and its reasons
/// are what the evidence keeps.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Basis {
    /// The harm when it differs from the check's usual one (e.g. CHG-004 on a DMARC record).
    pub harm: Option<Harm>,
    /// The inventory vendor whose stream or contract the finding is about.
    pub vendor: Option<String>,
    /// Messages of the stream in this period's reports, when the finding is about a stream.
    pub messages: Option<u64>,
    /// Of `messages` (RPT-001), those forged with a subdomain in From:.
    pub subdomain_messages: Option<u64>,
    /// Of `messages` (RPT-001), those receivers delivered (disposition none).
    pub delivered: Option<u64>,
    /// The domain whose SPF error alone makes the stream fail (RPT-002).
    pub spf_error_domain: Option<String>,
    /// The party that receives data when it is not an inventory vendor (a report processor).
    pub party: Option<String>,
    /// Whether PHI rides on the stream when no inventory vendor says so (e.g. failure reports).
    pub phi: Option<bool>,
    /// The exploitability when the check knows better than the catalog, with the fact behind it.
    pub exposure: Option<(Level, String)>,
    /// How far the gap reaches, with the fact behind it.
    pub reach: Option<(Reach, String)>,
    /// The gap lets through only mail with a subdomain in From: (an `sp` or `np` change), so
    /// only forged subdomain mail shows it is used.
    pub subdomains_only: bool,
    /// The disclosure happens on the network path (mail to our MX hosts in sessions that
    /// failed TLS, TLSRPT-002), not by handing data to a party: the rule then rates it by the
    /// domain's asset level instead of a party's PHI flag.
    pub in_transit: bool,
}
