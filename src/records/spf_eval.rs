//! The RFC 7208 `check_host()` function, evaluated over stored DNS answers.
//!
//! The tree walk in [`super::spf_walk`] says what a record *could* do; this says what it *does*
//! for one connecting address, which is what an auditor asks of a vendor's sending range
//! (VEN-002). It reads answers through [`LookupSource`] and never touches the network, so it
//! runs unchanged over a stored [`Snapshot`] years later. When it needs an answer the source
//! does not hold, it stops and names the question in [`Evaluation::missing`]: the capture asks
//! those and evaluates again until nothing is missing (a fixpoint), which is how a snapshot
//! comes to hold every answer the evaluation needs, including names built from macros.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use super::spf::{self, Mechanism, Qualifier, TermKind};
use crate::snapshot::{Lookup, Outcome, Rtype, Snapshot, normalize_name};

/// RFC 7208 §4.6.4: DNS-querying terms allowed per evaluation.
pub const LOOKUP_LIMIT: u32 = 10;
/// RFC 7208 §4.6.4: void lookups allowed per evaluation (the SHOULD we follow).
pub const VOID_LIMIT: u32 = 2;
/// RFC 7208 §4.6.4: names an `mx` or `ptr` term may look at.
pub const NAME_LIMIT: usize = 10;
/// Nesting bound, on top of the lookup limit, so a hostile source cannot recurse deeply.
const MAX_DEPTH: usize = 12;

/// Where `check_host` reads DNS answers from: a stored snapshot, or the lookups a capture has
/// gathered so far. `None` means the question was never asked, which is not the same as an
/// empty answer.
pub trait LookupSource {
    fn lookup(&self, name: &str, rtype: Rtype) -> Option<&Lookup>;
}

impl LookupSource for Snapshot {
    fn lookup(&self, name: &str, rtype: Rtype) -> Option<&Lookup> {
        self.get(name, rtype)
    }
}

/// Lookups keyed by normalized name and type: what a capture holds while it iterates.
impl LookupSource for HashMap<(String, Rtype), Lookup> {
    fn lookup(&self, name: &str, rtype: Rtype) -> Option<&Lookup> {
        self.get(&(normalize_name(name), rtype))
    }
}

/// The seven results of RFC 7208 §2.6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpfResult {
    None,
    Neutral,
    Pass,
    Fail,
    SoftFail,
    TempError,
    PermError,
}

impl SpfResult {
    pub fn label(self) -> &'static str {
        match self {
            SpfResult::None => "none",
            SpfResult::Neutral => "neutral",
            SpfResult::Pass => "pass",
            SpfResult::Fail => "fail",
            SpfResult::SoftFail => "softfail",
            SpfResult::TempError => "temperror",
            SpfResult::PermError => "permerror",
        }
    }

    fn of(q: Qualifier) -> Self {
        match q {
            Qualifier::Pass => SpfResult::Pass,
            Qualifier::Fail => SpfResult::Fail,
            Qualifier::SoftFail => SpfResult::SoftFail,
            Qualifier::Neutral => SpfResult::Neutral,
        }
    }
}

/// The message being checked: who connected, and who they claim to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub ip: IpAddr,
    /// MAIL FROM (or `postmaster@<helo>` for the HELO check); a bare domain is accepted.
    pub sender: String,
    /// The HELO/EHLO name, for the `%{h}` macro.
    pub helo: String,
}

/// What `check_host` concluded, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub result: SpfResult,
    /// The `exp=` text after a `fail`, macro-expanded (RFC 7208 §6.2).
    pub explanation: Option<String>,
    /// The term that decided the result, with the domain whose record holds it.
    pub matched: Option<String>,
    /// Why the result is an error, or which default applied.
    pub reason: String,
    pub lookups: u32,
    pub void_lookups: u32,
    /// Questions the evaluation needed that the source does not hold. When not empty the
    /// result is `temperror` only because evidence is missing: ask these and evaluate again.
    pub missing: Vec<(String, Rtype)>,
}

impl Evaluation {
    /// Whether the result rests on answers that were never captured.
    pub fn is_incomplete(&self) -> bool {
        !self.missing.is_empty()
    }
}

/// `check_host(<ip>, <domain>, <sender>)` with the HELO name unknown.
pub fn check_host(src: &dyn LookupSource, ip: IpAddr, domain: &str, sender: &str) -> Evaluation {
    check_host_with(
        src,
        domain,
        &Request {
            ip,
            sender: sender.to_string(),
            helo: "unknown".to_string(),
        },
    )
}

/// `check_host()` for a full request (RFC 7208 §4).
pub fn check_host_with(src: &dyn LookupSource, domain: &str, req: &Request) -> Evaluation {
    let ip = match req.ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    let (local, sender_domain) = match req.sender.rsplit_once('@') {
        Some((l, d)) => (
            if l.is_empty() { "postmaster" } else { l }.to_string(),
            d.to_string(),
        ),
        None => ("postmaster".to_string(), req.sender.clone()),
    };
    let mut ev = Evaluator {
        src,
        ip,
        local,
        sender_domain,
        helo: req.helo.clone(),
        lookups: 0,
        voids: 0,
        missing: Vec::new(),
    };
    let top = domain.trim_end_matches('.').to_string();
    let out = ev.check(&top, 0, true);
    let (result, reason, matched, explanation) = match out {
        Ok(o) => (o.result, o.reason, o.matched, o.explanation),
        Err(Stop::Missing) => (
            SpfResult::TempError,
            "evidence incomplete: answers needed for the evaluation were not captured".into(),
            None,
            None,
        ),
        Err(Stop::Error(r, why)) => (r, why, None, None),
    };
    tracing::trace!(domain = %top, ip = %ip, result = result.label(), "check_host");
    Evaluation {
        result,
        explanation,
        matched,
        reason,
        lookups: ev.lookups,
        void_lookups: ev.voids,
        missing: ev.missing,
    }
}

/// Ends evaluation early: an error result, or a question the source cannot answer.
enum Stop {
    Missing,
    Error(SpfResult, String),
}

fn perm(why: impl Into<String>) -> Stop {
    Stop::Error(SpfResult::PermError, why.into())
}

fn temp(why: impl Into<String>) -> Stop {
    Stop::Error(SpfResult::TempError, why.into())
}

struct Verdict {
    result: SpfResult,
    reason: String,
    matched: Option<String>,
    explanation: Option<String>,
}

/// One DNS answer as the evaluator needs it.
enum Ans<'a> {
    Data(&'a [String]),
    Void,
}

struct Evaluator<'a> {
    src: &'a dyn LookupSource,
    ip: IpAddr,
    local: String,
    sender_domain: String,
    helo: String,
    lookups: u32,
    voids: u32,
    missing: Vec<(String, Rtype)>,
}

/// RFC 7208 §4.3: a name we can query must be a multi-label FQDN with labels of 1..=63
/// octets, at most 253 in all.
fn valid_domain(d: &str) -> bool {
    let d = d.strip_suffix('.').unwrap_or(d);
    !d.is_empty()
        && d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|l| !l.is_empty() && l.len() <= 63)
        && d.is_ascii()
}

/// RFC 7208 §4.5: the record starts with exactly `v=spf1`, then a space or the end.
fn is_spf_record(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 6 && b[..6].eq_ignore_ascii_case(b"v=spf1") && (b.len() == 6 || b[6] == b' ')
}

impl<'a> Evaluator<'a> {
    fn need(&mut self, key: String, rtype: Rtype) {
        if !self.missing.contains(&(key.clone(), rtype)) {
            self.missing.push((key, rtype));
        }
    }

    /// Reads an answer. Failures become `temperror` when `strict`, else `None` (the caller
    /// treats the name as unusable); absent data counts as a void lookup when `count_void`.
    fn answer(
        &mut self,
        name: &str,
        rtype: Rtype,
        count_void: bool,
    ) -> Result<Option<Ans<'a>>, Stop> {
        let key = normalize_name(name);
        let Some(l) = self.src.lookup(&key, rtype) else {
            self.need(key, rtype);
            return Err(Stop::Missing);
        };
        match l.outcome {
            Outcome::Answer if !l.answers.is_empty() => Ok(Some(Ans::Data(&l.answers))),
            Outcome::Answer | Outcome::Nxdomain | Outcome::Nodata => {
                if count_void {
                    self.voids += 1;
                    if self.voids > VOID_LIMIT {
                        return Err(perm(format!(
                            "more than {VOID_LIMIT} void lookups (RFC 7208 §4.6.4); the last was {} {key}",
                            rtype.label()
                        )));
                    }
                }
                Ok(Some(Ans::Void))
            }
            Outcome::Error
                if l.error
                    .as_deref()
                    .is_some_and(|e| e.contains("invalid domain name")) =>
            {
                Ok(Some(Ans::Void))
            }
            o => Err(temp(format!(
                "{} {key} lookup ended {}",
                rtype.label(),
                o.label()
            ))),
        }
    }

    fn count(&mut self, term: &str) -> Result<(), Stop> {
        self.lookups += 1;
        if self.lookups > LOOKUP_LIMIT {
            return Err(perm(format!(
                "`{term}` is DNS-querying term {} : more than {LOOKUP_LIMIT} (RFC 7208 §4.6.4)",
                self.lookups
            )));
        }
        Ok(())
    }

    /// `check_host()` for one domain. `top` is false inside `include`, where `exp` is ignored.
    fn check(&mut self, domain: &str, depth: usize, top: bool) -> Result<Verdict, Stop> {
        let none = |why: String| Verdict {
            result: SpfResult::None,
            reason: why,
            matched: None,
            explanation: None,
        };
        if !valid_domain(domain) {
            return Ok(none(format!("{domain:?} is not a valid domain name")));
        }
        if depth > MAX_DEPTH {
            return Err(perm("SPF nesting too deep"));
        }
        let key = normalize_name(domain);
        let Some(l) = self.src.lookup(&key, Rtype::Txt) else {
            self.need(key, Rtype::Txt);
            return Err(Stop::Missing);
        };
        if l.outcome.is_failure() {
            if l.error
                .as_deref()
                .is_some_and(|e| e.contains("invalid domain name"))
            {
                return Ok(none(format!("{key} cannot be queried")));
            }
            return Err(temp(format!(
                "TXT {key} lookup ended {}",
                l.outcome.label()
            )));
        }
        let records: Vec<&String> = l.answers.iter().filter(|a| is_spf_record(a)).collect();
        let text = match records.as_slice() {
            [] => return Ok(none(format!("{key} publishes no v=spf1 record"))),
            [one] => (*one).clone(),
            many => {
                return Err(perm(format!(
                    "{key} publishes {} v=spf1 records (RFC 7208 §4.5)",
                    many.len()
                )));
            }
        };
        let rec = spf::parse(&text);
        if let Some(e) = rec.errors().next() {
            return Err(perm(format!("{key}: offset {}: {}", e.pos, e.message)));
        }

        for term in &rec.terms {
            let TermKind::Directive {
                qualifier,
                mechanism,
            } = &term.kind
            else {
                continue;
            };
            if self.matches(domain, &term.text, mechanism, depth)? {
                let result = SpfResult::of(*qualifier);
                let explanation = if result == SpfResult::Fail && top {
                    self.explain(&rec, domain)
                } else {
                    None
                };
                return Ok(Verdict {
                    result,
                    reason: format!("matched `{}` in {key}", term.text),
                    matched: Some(format!("{key}: {}", term.text)),
                    explanation,
                });
            }
        }
        if let Some(target) = rec.redirect() {
            self.count(&format!("redirect={target}"))?;
            let target = self.expand(target, domain, false)?;
            if !valid_domain(&target) {
                return Err(perm(format!(
                    "redirect target {target:?} is not a valid domain"
                )));
            }
            let inner = self.check(&target, depth + 1, top)?;
            if inner.result == SpfResult::None {
                return Err(perm(format!(
                    "redirect target {target} has no SPF record (RFC 7208 §6.1)"
                )));
            }
            return Ok(inner);
        }
        Ok(Verdict {
            result: SpfResult::Neutral,
            reason: format!("no term matched in {key}: default neutral (RFC 7208 §4.7)"),
            matched: None,
            explanation: None,
        })
    }

    fn explain(&mut self, rec: &spf::SpfRecord, domain: &str) -> Option<String> {
        let spec = rec.terms.iter().find_map(|t| match &t.kind {
            TermKind::Exp { domain } => Some(domain.clone()),
            _ => None,
        })?;
        let name = self.expand(&spec, domain, false).ok()?;
        if !valid_domain(&name) {
            return None;
        }
        let key = normalize_name(&name);
        let Some(l) = self.src.lookup(&key, Rtype::Txt) else {
            self.need(key, Rtype::Txt);
            return None;
        };
        let [text] = l.answers.as_slice() else {
            return None;
        };
        if l.outcome != Outcome::Answer || !text.is_ascii() {
            return None;
        }
        self.expand_text(text, domain).ok()
    }

    fn matches(
        &mut self,
        domain: &str,
        text: &str,
        mech: &Mechanism,
        depth: usize,
    ) -> Result<bool, Stop> {
        match mech {
            Mechanism::All => Ok(true),
            Mechanism::Ip4 { net } => Ok(matches!(self.ip, IpAddr::V4(a) if net.contains(&a))),
            Mechanism::Ip6 { net } => Ok(matches!(self.ip, IpAddr::V6(a) if net.contains(&a))),
            Mechanism::Include { domain: spec } => {
                self.count(text)?;
                let target = self.expand(spec, domain, false)?;
                if !valid_domain(&target) {
                    return Err(perm(format!(
                        "include target {target:?} is not a valid domain"
                    )));
                }
                let inner = self.check(&target, depth + 1, false)?;
                match inner.result {
                    SpfResult::Pass => Ok(true),
                    SpfResult::Fail | SpfResult::SoftFail | SpfResult::Neutral => Ok(false),
                    SpfResult::None => Err(perm(format!(
                        "include target {target} has no SPF record (RFC 7208 §5.2)"
                    ))),
                    r => Err(Stop::Error(r, inner.reason)),
                }
            }
            Mechanism::A {
                domain: spec,
                cidr4,
                cidr6,
            } => {
                self.count(text)?;
                let target = self.target(spec.as_deref(), domain)?;
                self.host_matches(&target, *cidr4, *cidr6, true)
            }
            Mechanism::Mx {
                domain: spec,
                cidr4,
                cidr6,
            } => {
                self.count(text)?;
                let target = self.target(spec.as_deref(), domain)?;
                if !valid_domain(&target) {
                    return Ok(false);
                }
                let hosts: Vec<String> = match self.answer(&target, Rtype::Mx, true)? {
                    Some(Ans::Data(d)) => d
                        .iter()
                        .filter_map(|mx| mx.split_whitespace().nth(1))
                        .map(str::to_string)
                        .collect(),
                    _ => Vec::new(),
                };
                if hosts.len() > NAME_LIMIT {
                    return Err(perm(format!(
                        "{target} has {} MX records: more than {NAME_LIMIT} (RFC 7208 §4.6.4)",
                        hosts.len()
                    )));
                }
                // Ask for every host before judging, so one pass of the capture fetches all.
                let mut found = false;
                let mut gap = false;
                for h in hosts.iter().filter(|h| !normalize_name(h).is_empty()) {
                    match self.host_matches(h, *cidr4, *cidr6, false) {
                        Ok(true) => found = true,
                        Ok(false) => {}
                        Err(Stop::Missing) => gap = true,
                        Err(e) => return Err(e),
                    }
                }
                if gap {
                    return Err(Stop::Missing);
                }
                Ok(found)
            }
            Mechanism::Ptr { domain: spec } => {
                self.count(text)?;
                let target = self.target(spec.as_deref(), domain)?;
                let names = self.validated_names(true)?;
                let t = normalize_name(&target);
                Ok(names
                    .iter()
                    .any(|n| *n == t || n.ends_with(&format!(".{t}"))))
            }
            Mechanism::Exists { domain: spec } => {
                self.count(text)?;
                let target = self.expand(spec, domain, false)?;
                if !valid_domain(&target) {
                    return Ok(false);
                }
                Ok(matches!(
                    self.answer(&target, Rtype::A, true)?,
                    Some(Ans::Data(_))
                ))
            }
        }
    }

    fn target(&mut self, spec: Option<&str>, domain: &str) -> Result<String, Stop> {
        match spec {
            Some(s) => self.expand(s, domain, false),
            None => Ok(domain.to_string()),
        }
    }

    /// `a`-style match: an address of `host` within the CIDR of the client's family.
    fn host_matches(
        &mut self,
        host: &str,
        cidr4: Option<u8>,
        cidr6: Option<u8>,
        count_void: bool,
    ) -> Result<bool, Stop> {
        if !valid_domain(host) {
            return Ok(false);
        }
        let (rtype, prefix) = match self.ip {
            IpAddr::V4(_) => (Rtype::A, cidr4.unwrap_or(32)),
            IpAddr::V6(_) => (Rtype::Aaaa, cidr6.unwrap_or(128)),
        };
        let Some(Ans::Data(addrs)) = self.answer(host, rtype, count_void)? else {
            return Ok(false);
        };
        let ip = self.ip;
        Ok(addrs
            .iter()
            .filter_map(|a| a.parse::<IpAddr>().ok())
            .any(|a| {
                ipnet::IpNet::new(a, prefix)
                    .map(|n| n.trunc().contains(&ip))
                    .unwrap_or(false)
            }))
    }

    /// RFC 7208 §5.5: names from the client's PTR records whose own addresses include it.
    fn validated_names(&mut self, count_void: bool) -> Result<Vec<String>, Stop> {
        let rev = reverse_name(self.ip);
        let names: Vec<String> = match self.answer(&rev, Rtype::Ptr, count_void) {
            Ok(Some(Ans::Data(d))) => d.iter().map(|n| normalize_name(n)).collect(),
            Ok(_) => Vec::new(),
            Err(Stop::Missing) => return Err(Stop::Missing),
            // §5.5: a DNS error on the PTR lookup makes the mechanism fail to match.
            Err(Stop::Error(SpfResult::TempError, _)) => Vec::new(),
            Err(e) => return Err(e),
        };
        let rtype = match self.ip {
            IpAddr::V4(_) => Rtype::A,
            IpAddr::V6(_) => Rtype::Aaaa,
        };
        let mut out = Vec::new();
        let mut gap = false;
        for n in names.into_iter().take(NAME_LIMIT) {
            if !valid_domain(&n) {
                continue;
            }
            match self.answer(&n, rtype, false) {
                Ok(Some(Ans::Data(addrs))) => {
                    let ip = self.ip;
                    if addrs.iter().any(|a| a.parse::<IpAddr>().ok() == Some(ip)) {
                        out.push(n);
                    }
                }
                Ok(_) => {}
                Err(Stop::Missing) => gap = true,
                // Errors on one name only drop that name.
                Err(Stop::Error(SpfResult::TempError, _)) => {}
                Err(e) => return Err(e),
            }
        }
        if gap {
            return Err(Stop::Missing);
        }
        Ok(out)
    }

    /// `%{p}`: a validated name, preferring `domain` itself, then a subdomain of it.
    fn p_macro(&mut self, domain: &str) -> Result<String, Stop> {
        let names = self.validated_names(false)?;
        let d = normalize_name(domain);
        let pick = names
            .iter()
            .find(|n| **n == d)
            .or_else(|| names.iter().find(|n| n.ends_with(&format!(".{d}"))))
            .or_else(|| names.first());
        Ok(pick.cloned().unwrap_or_else(|| "unknown".to_string()))
    }

    fn expand(&mut self, spec: &str, domain: &str, exp: bool) -> Result<String, Stop> {
        let mut out = expand_macros(spec, exp, &mut |letter| self.macro_value(letter, domain))?;
        if !exp {
            // RFC 7208 §7.3: drop labels from the left until the name fits in 253 octets.
            let trimmed = out.strip_suffix('.').unwrap_or(&out).to_string();
            let mut s = trimmed.as_str();
            while s.len() > 253 {
                match s.split_once('.') {
                    Some((_, rest)) => s = rest,
                    None => break,
                }
            }
            out = s.to_string();
        }
        Ok(out)
    }

    fn expand_text(&mut self, text: &str, domain: &str) -> Result<String, Stop> {
        self.expand(text, domain, true)
    }

    fn macro_value(&mut self, letter: char, domain: &str) -> Result<String, Stop> {
        Ok(match letter {
            's' => format!("{}@{}", self.local, self.sender_domain),
            'l' => self.local.clone(),
            'o' => self.sender_domain.clone(),
            'd' => domain.to_string(),
            'i' => match self.ip {
                IpAddr::V4(a) => a.to_string(),
                IpAddr::V6(a) => nibbles(a).join("."),
            },
            'p' => self.p_macro(domain)?,
            'v' => match self.ip {
                IpAddr::V4(_) => "in-addr".into(),
                IpAddr::V6(_) => "ip6".into(),
            },
            'h' => self.helo.clone(),
            'c' => self.ip.to_string(),
            'r' => "unknown".into(),
            't' => "0".into(),
            _ => return Err(perm(format!("unknown macro letter `{letter}`"))),
        })
    }
}

/// Expands RFC 7208 §7 macros with `value` supplying each letter's raw value.
fn expand_macros(
    spec: &str,
    exp: bool,
    value: &mut dyn FnMut(char) -> Result<String, Stop>,
) -> Result<String, Stop> {
    let mut out = String::new();
    let mut chars = spec.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, '%')) => out.push('%'),
            Some((_, '_')) => out.push(' '),
            Some((_, '-')) => out.push_str("%20"),
            Some((i, '{')) => {
                let rest = &spec[i + 1..];
                let Some(close) = rest.find('}') else {
                    return Err(perm("unterminated macro"));
                };
                let body = &rest[..close];
                for _ in 0..=close {
                    chars.next();
                }
                out.push_str(&one_macro(body, exp, value)?);
            }
            _ => return Err(perm("invalid `%` in macro-string")),
        }
    }
    Ok(out)
}

fn one_macro(
    body: &str,
    exp: bool,
    value: &mut dyn FnMut(char) -> Result<String, Stop>,
) -> Result<String, Stop> {
    let mut it = body.chars();
    let letter = it.next().ok_or_else(|| perm("empty macro"))?;
    let lower = letter.to_ascii_lowercase();
    if matches!(lower, 'c' | 'r' | 't') && !exp {
        return Err(perm(format!("macro `{letter}` only allowed in exp text")));
    }
    let rest: String = it.collect();
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let mut tail = &rest[digits.len()..];
    let reverse = tail.starts_with(['r', 'R']);
    if reverse {
        tail = &tail[1..];
    }
    if tail.chars().any(|c| !".-+,/_=".contains(c)) {
        return Err(perm(format!("invalid macro delimiter in `%{{{body}}}`")));
    }
    let delims: Vec<char> = if tail.is_empty() {
        vec!['.']
    } else {
        tail.chars().collect()
    };
    let raw = value(lower)?;
    let mut parts: Vec<&str> = raw.split(|c| delims.contains(&c)).collect();
    if reverse {
        parts.reverse();
    }
    if !digits.is_empty() {
        let n: usize = digits.parse().unwrap_or(usize::MAX);
        if n == 0 {
            return Err(perm("macro label count must be nonzero"));
        }
        if parts.len() > n {
            parts = parts.split_off(parts.len() - n);
        }
    }
    let joined = parts.join(".");
    Ok(if letter.is_ascii_uppercase() {
        url_escape(&joined)
    } else {
        joined
    })
}

/// RFC 7208 §7.3: uppercase macro letters are URL-escaped (RFC 3986 unreserved kept).
fn url_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn nibbles(a: Ipv6Addr) -> Vec<String> {
    a.octets()
        .iter()
        .flat_map(|b| [b >> 4, b & 0xf])
        .map(|n| format!("{n:x}"))
        .collect()
}

/// The `in-addr.arpa` / `ip6.arpa` name a PTR lookup for `ip` asks.
pub fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(a) => {
            let mut n = nibbles(a);
            n.reverse();
            format!("{}.ip6.arpa", n.join("."))
        }
    }
}

/// A few addresses that stand for a whole range when asking "is this range authorized?":
/// the first and last usable host and one in the middle. Authorization is by prefix, so a
/// range that is only partly covered shows up at one of its ends.
pub fn sample_addresses(net: &ipnet::IpNet) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    match net {
        ipnet::IpNet::V4(n) => {
            let lo = u32::from(n.network());
            let hi = u32::from(n.broadcast());
            let (first, last) = if hi - lo >= 2 {
                (lo + 1, hi - 1)
            } else {
                (lo, hi)
            };
            for v in [first, first + (last - first) / 2, last] {
                let ip = IpAddr::V4(Ipv4Addr::from(v));
                if !out.contains(&ip) {
                    out.push(ip);
                }
            }
        }
        ipnet::IpNet::V6(n) => {
            let lo = u128::from(n.network());
            let hi = u128::from(n.broadcast());
            let first = if hi > lo { lo + 1 } else { lo };
            for v in [first, first + (hi - first) / 2, hi] {
                let ip = IpAddr::V6(Ipv6Addr::from(v));
                if !out.contains(&ip) {
                    out.push(ip);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::spf_walk::tests::snapshot;
    use crate::snapshot::Outcome::{Answer, Nodata, Nxdomain, Servfail};
    use crate::snapshot::Rtype::{A, Aaaa, Mx, Ptr, Txt};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn includes_networks_and_all() {
        let s = snapshot(&[
            (
                "org.test",
                Txt,
                Answer,
                &["v=spf1 ip4:192.0.2.0/25 include:vendor.test ~all"],
            ),
            (
                "vendor.test",
                Txt,
                Answer,
                &["v=spf1 ip6:2001:db8::/32 a -all"],
            ),
            ("vendor.test", A, Answer, &["198.51.100.7"]),
        ]);
        let r = |a: &str| check_host(&s, ip(a), "org.test", "x@org.test");
        assert_eq!(r("192.0.2.1").result, SpfResult::Pass);
        assert_eq!(r("192.0.2.1").lookups, 0);
        assert_eq!(r("2001:db8::5").result, SpfResult::Pass);
        let v = r("198.51.100.7");
        assert_eq!(v.result, SpfResult::Pass);
        assert_eq!(v.matched.as_deref(), Some("org.test: include:vendor.test"));
        assert_eq!(v.lookups, 2, "include and the `a` inside it");
        // The vendor's -all only ends the include; the top record's ~all decides.
        let v = r("203.0.113.9");
        assert_eq!(v.result, SpfResult::SoftFail);
        assert!(!v.is_incomplete());
        // IPv4-mapped IPv6 is treated as the IPv4 address.
        assert_eq!(r("::ffff:192.0.2.9").result, SpfResult::Pass);
    }

    #[test]
    fn missing_answers_are_named_not_guessed() {
        let s = snapshot(&[(
            "org.test",
            Txt,
            Answer,
            &["v=spf1 exists:%{ir}.rbl.test include:vendor.test -all"],
        )]);
        let v = check_host(&s, ip("192.0.2.3"), "org.test", "a@org.test");
        assert_eq!(v.result, SpfResult::TempError);
        assert!(v.is_incomplete());
        assert_eq!(v.missing, vec![("3.2.0.192.rbl.test".to_string(), A)]);
        // Nothing at all captured: the top TXT itself is missing.
        let v = check_host(&s, ip("192.0.2.3"), "other.test", "a@other.test");
        assert_eq!(v.missing, vec![("other.test".to_string(), Txt)]);
    }

    #[test]
    fn failures_are_temperror_and_absence_is_none() {
        let s = snapshot(&[
            ("sf.test", Txt, Servfail, &[]),
            ("nx.test", Txt, Nxdomain, &[]),
            ("inc.test", Txt, Answer, &["v=spf1 include:sf.test -all"]),
            ("noinc.test", Txt, Answer, &["v=spf1 include:nx.test -all"]),
        ]);
        let r = |d: &str| check_host(&s, ip("192.0.2.1"), d, "").result;
        assert_eq!(r("sf.test"), SpfResult::TempError);
        assert_eq!(r("nx.test"), SpfResult::None);
        assert_eq!(r("inc.test"), SpfResult::TempError);
        assert_eq!(
            r("noinc.test"),
            SpfResult::PermError,
            "include of no record"
        );
        assert_eq!(r("single-label"), SpfResult::None);
    }

    #[test]
    fn exp_text_is_expanded_after_fail_only() {
        let s = snapshot(&[
            (
                "org.test",
                Txt,
                Answer,
                &["v=spf1 ip4:192.0.2.1 -all exp=why.org.test"],
            ),
            (
                "why.org.test",
                Txt,
                Answer,
                &["%{c} may not send as %{o} for %{l}"],
            ),
        ]);
        let v = check_host(&s, ip("198.51.100.1"), "org.test", "Jane@org.test");
        assert_eq!(v.result, SpfResult::Fail);
        assert_eq!(
            v.explanation.as_deref(),
            Some("198.51.100.1 may not send as org.test for Jane")
        );
        let v = check_host(&s, ip("192.0.2.1"), "org.test", "Jane@org.test");
        assert_eq!((v.result, v.explanation), (SpfResult::Pass, None));
    }

    #[test]
    fn ptr_and_p_macro_use_validated_names_only() {
        let s = snapshot(&[
            (
                "org.test",
                Txt,
                Answer,
                &["v=spf1 ptr:mail.org.test exists:%{p}.ok.test -all"],
            ),
            (
                "1.2.0.192.in-addr.arpa",
                Ptr,
                Answer,
                &["out.mail.org.test.", "liar.mail.org.test."],
            ),
            ("out.mail.org.test", A, Answer, &["192.0.2.1"]),
            ("liar.mail.org.test", A, Answer, &["203.0.113.5"]),
            (
                "2.2.0.192.in-addr.arpa",
                Ptr,
                Answer,
                &["liar.mail.org.test."],
            ),
            ("unknown.ok.test", A, Nxdomain, &[]),
        ]);
        let v = check_host(&s, ip("192.0.2.1"), "org.test", "a@org.test");
        assert_eq!(v.result, SpfResult::Pass, "{v:?}");
        // The PTR name does not resolve back to .2: not validated, and %{p} is "unknown".
        let v = check_host(&s, ip("192.0.2.2"), "org.test", "a@org.test");
        assert_eq!(v.result, SpfResult::Fail, "{v:?}");
        assert_eq!(v.void_lookups, 1);
    }

    #[test]
    fn macros_transform_reverse_and_escape() {
        let mut vals = |c: char| -> Result<String, Stop> {
            Ok(match c {
                'l' => "john.q+doe".into(),
                'd' => "a.b.c.example.com".into(),
                _ => "x".into(),
            })
        };
        let e = |s: &str, v: &mut dyn FnMut(char) -> Result<String, Stop>| {
            expand_macros(s, false, v).ok()
        };
        assert_eq!(e("%{d2}", &mut vals).as_deref(), Some("example.com"));
        assert_eq!(e("%{dr}", &mut vals).as_deref(), Some("com.example.c.b.a"));
        assert_eq!(e("%{d2r}", &mut vals).as_deref(), Some("b.a"));
        assert_eq!(e("%{l-+}", &mut vals).as_deref(), Some("john.q.doe"));
        assert_eq!(e("%{L}", &mut vals).as_deref(), Some("john.q%2Bdoe"));
        assert_eq!(e("a%%b%_c%-d", &mut vals).as_deref(), Some("a%b c%20d"));
        assert!(e("%{c}", &mut vals).is_none(), "c only in exp text");
        assert_eq!(
            reverse_name(ip("2001:db8::1")),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
        );
    }

    #[test]
    fn samples_cover_both_ends_of_a_range() {
        let n: ipnet::IpNet = "192.0.2.0/24".parse().unwrap();
        assert_eq!(
            sample_addresses(&n),
            vec![ip("192.0.2.1"), ip("192.0.2.127"), ip("192.0.2.254")]
        );
        let n: ipnet::IpNet = "192.0.2.7/32".parse().unwrap();
        assert_eq!(sample_addresses(&n), vec![ip("192.0.2.7")]);
        let n: ipnet::IpNet = "2001:db8::/127".parse().unwrap();
        assert_eq!(sample_addresses(&n), vec![ip("2001:db8::1")]);
    }

    /// Regressions for bugs found in checkdmarc, the most used open checker.
    mod checkdmarc_regressions {
        use super::*;

        /// checkdmarc #94 and #211: void lookups were counted twice (once per A and AAAA
        /// question, or once more when an include target was also void). RFC 7208 §4.6.4
        /// counts DNS queries that return no answer; one `a` term asks one family.
        #[test]
        fn void_lookups_are_not_double_counted() {
            let s = snapshot(&[
                (
                    "v.test",
                    Txt,
                    Answer,
                    &["v=spf1 a:gone.test include:dead.test ip4:192.0.2.9 -all"],
                ),
                ("gone.test", A, Nxdomain, &[]),
                ("gone.test", Aaaa, Nxdomain, &[]),
                ("dead.test", Txt, Nodata, &[]),
            ]);
            let v = check_host(&s, ip("192.0.2.9"), "v.test", "a@v.test");
            // include of a name without a record is a permerror (RFC 7208 §5.2) …
            assert_eq!(v.result, SpfResult::PermError, "{v:?}");
            // … but it was the second void lookup, not the third or fourth.
            assert_eq!(
                v.void_lookups, 1,
                "the include target is not a counted void here"
            );
            // The stored-tree view agrees: `a` (A+AAAA both absent) is one void, the include
            // another.
            let w = crate::records::spf_walk::walk("v.test", &s);
            assert_eq!(w.void_lookups, 2, "{:?}", w.tree);
            assert!(!w.errors.iter().any(|e| e.contains("void lookups;")));

            // Two voids pass; the third is the permerror.
            let s = snapshot(&[
                (
                    "w.test",
                    Txt,
                    Answer,
                    &["v=spf1 a:n1.test a:n2.test a:n3.test ~all"],
                ),
                ("n1.test", A, Nxdomain, &[]),
                ("n2.test", A, Nodata, &[]),
                ("n3.test", A, Nxdomain, &[]),
            ]);
            let v = check_host(&s, ip("192.0.2.9"), "w.test", "a@w.test");
            assert_eq!((v.result, v.void_lookups), (SpfResult::PermError, 3));
            let s2 = snapshot(&[
                ("w.test", Txt, Answer, &["v=spf1 a:n1.test a:n2.test ~all"]),
                ("n1.test", A, Nxdomain, &[]),
                ("n2.test", A, Nodata, &[]),
            ]);
            let v = check_host(&s2, ip("192.0.2.9"), "w.test", "a@w.test");
            assert_eq!((v.result, v.void_lookups), (SpfResult::SoftFail, 2));
        }

        /// checkdmarc #197: the address lookups of an `mx` term's hosts were counted as
        /// DNS-querying terms. RFC 7208 §4.6.4 counts the `mx` term once; its hosts are
        /// limited separately (at most 10).
        #[test]
        fn mx_hosts_do_not_count_as_lookups() {
            let s = snapshot(&[
                ("m.test", Txt, Answer, &["v=spf1 mx -all"]),
                (
                    "m.test",
                    Mx,
                    Answer,
                    &["10 a.m.test.", "20 b.m.test.", "30 c.m.test."],
                ),
                ("a.m.test", A, Answer, &["192.0.2.1"]),
                ("b.m.test", A, Answer, &["192.0.2.2"]),
                ("c.m.test", A, Answer, &["192.0.2.3"]),
            ]);
            let v = check_host(&s, ip("192.0.2.3"), "m.test", "a@m.test");
            assert_eq!((v.result, v.lookups), (SpfResult::Pass, 1));
            let w = crate::records::spf_walk::walk("m.test", &s);
            assert_eq!(w.lookups, 1);

            let hosts: Vec<String> = (0..11).map(|i| format!("{i} h{i}.m.test.")).collect();
            let refs: Vec<&str> = hosts.iter().map(String::as_str).collect();
            let s = snapshot(&[
                ("m.test", Txt, Answer, &["v=spf1 mx -all"]),
                ("m.test", Mx, Answer, &refs),
            ]);
            let v = check_host(&s, ip("192.0.2.3"), "m.test", "a@m.test");
            assert_eq!(v.result, SpfResult::PermError);
            assert!(v.reason.contains("11 MX records"), "{}", v.reason);
        }

        /// checkdmarc #172: includes past the 10-lookup limit were hidden from the output.
        /// The evaluation stops with permerror at the 11th; the tree still shows every term
        /// beyond it, marked.
        #[test]
        fn terms_past_the_limit_are_evaluated_as_permerror_and_shown() {
            let top: Vec<String> = (0..11).map(|i| format!("include:i{i}.test")).collect();
            let rec = format!("v=spf1 {} -all", top.join(" "));
            let names: Vec<String> = (0..11).map(|i| format!("i{i}.test")).collect();
            let top_rec = [rec.as_str()];
            let mut rows: Vec<(&str, Rtype, Outcome, &[&str])> =
                vec![("big.test", Txt, Answer, &top_rec)];
            let inner = ["v=spf1 ip4:203.0.113.1 ~all"];
            for n in &names {
                rows.push((n.as_str(), Txt, Answer, &inner));
            }
            let s = snapshot(&rows);
            let v = check_host(&s, ip("192.0.2.1"), "big.test", "a@big.test");
            assert_eq!(v.result, SpfResult::PermError);
            assert!(v.reason.contains("include:i10.test"), "{}", v.reason);
            let w = crate::records::spf_walk::walk("big.test", &s);
            assert_eq!(w.lookups, 11);
            let past: Vec<&str> = w
                .tree
                .iter()
                .filter(|n| n.over_limit)
                .map(|n| n.term.as_str())
                .collect();
            assert_eq!(past, vec!["include:i10.test"]);
            assert!(
                w.tree.iter().any(|n| n.term == "-all"),
                "terms after it stay visible"
            );
        }

        /// checkdmarc never warned on `+all`; the parser does, and it passes everyone.
        #[test]
        fn plus_all_is_warned_and_passes_everyone() {
            let r = crate::records::spf::parse("v=spf1 include:x.test +all");
            assert!(
                r.diagnostics.iter().any(
                    |d| d.level == crate::records::Level::Warning && d.message.contains("+all")
                )
            );
            let s = snapshot(&[("p.test", Txt, Answer, &["v=spf1 +all"])]);
            let v = check_host(&s, ip("203.0.113.200"), "p.test", "a@p.test");
            assert_eq!(v.result, SpfResult::Pass);
            let w = crate::records::spf_walk::walk("p.test", &s);
            assert_eq!(w.all.as_deref(), Some("+all"));
        }
    }
}
