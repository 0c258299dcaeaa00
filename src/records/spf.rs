//! SPF record parser (RFC 7208).
//!
//! The parser is strict where receivers are strict: RFC 7208 §4.6 makes *any* syntax error
//! anywhere in the record a `permerror`, even in terms evaluation would never reach, so every
//! such problem is an Error diagnostic here. Things receivers tolerate but that signal a mistake
//! (terms after `all`, unknown modifiers, `ptr`) are Warnings.

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use super::{Diagnostic, Level, clip, error, warning};
use crate::snapshot::{Rtype, normalize_name};

/// The result a directive yields when its mechanism matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Qualifier {
    /// `+` (the default when no qualifier is written).
    Pass,
    /// `-`
    Fail,
    /// `~`
    SoftFail,
    /// `?`
    Neutral,
}

impl Qualifier {
    /// Reads a written qualifier; `None` means the term has none (and so means `+`).
    pub fn from_symbol(c: char) -> Option<Self> {
        match c {
            '+' => Some(Qualifier::Pass),
            '-' => Some(Qualifier::Fail),
            '~' => Some(Qualifier::SoftFail),
            '?' => Some(Qualifier::Neutral),
            _ => None,
        }
    }

    pub fn symbol(self) -> char {
        match self {
            Qualifier::Pass => '+',
            Qualifier::Fail => '-',
            Qualifier::SoftFail => '~',
            Qualifier::Neutral => '?',
        }
    }

    /// Spelling used in reports and diffs: `-all`, `~all`, `?all`, `+all`.
    pub fn all_text(self) -> String {
        format!("{}all", self.symbol())
    }
}

/// A mechanism with its arguments. Domain-specs are kept as written (macros are
/// case-significant); normalize with [`normalize_name`] before using one as a DNS name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mechanism", rename_all = "lowercase")]
pub enum Mechanism {
    All,
    Include {
        domain: String,
    },
    A {
        domain: Option<String>,
        cidr4: Option<u8>,
        cidr6: Option<u8>,
    },
    Mx {
        domain: Option<String>,
        cidr4: Option<u8>,
        cidr6: Option<u8>,
    },
    Ptr {
        domain: Option<String>,
    },
    Ip4 {
        net: Ipv4Net,
    },
    Ip6 {
        net: Ipv6Net,
    },
    Exists {
        domain: String,
    },
}

impl Mechanism {
    pub fn name(&self) -> &'static str {
        match self {
            Mechanism::All => "all",
            Mechanism::Include { .. } => "include",
            Mechanism::A { .. } => "a",
            Mechanism::Mx { .. } => "mx",
            Mechanism::Ptr { .. } => "ptr",
            Mechanism::Ip4 { .. } => "ip4",
            Mechanism::Ip6 { .. } => "ip6",
            Mechanism::Exists { .. } => "exists",
        }
    }

    /// Whether RFC 7208 §4.6.4 counts this mechanism against the 10-lookup limit.
    pub fn counts_lookup(&self) -> bool {
        !matches!(
            self,
            Mechanism::All | Mechanism::Ip4 { .. } | Mechanism::Ip6 { .. }
        )
    }

    /// The domain-spec written after `:`, if any.
    pub fn domain(&self) -> Option<&str> {
        match self {
            Mechanism::Include { domain } | Mechanism::Exists { domain } => Some(domain),
            Mechanism::A { domain, .. }
            | Mechanism::Mx { domain, .. }
            | Mechanism::Ptr { domain } => domain.as_deref(),
            _ => None,
        }
    }
}

/// What one space-separated term of the record is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum TermKind {
    Directive {
        qualifier: Qualifier,
        mechanism: Mechanism,
    },
    Redirect {
        domain: String,
    },
    Exp {
        domain: String,
    },
    /// A syntactically valid modifier RFC 7208 does not define; receivers ignore it.
    Unknown {
        name: String,
        value: String,
    },
    /// A term that could not be parsed; the diagnostics say why.
    Invalid,
}

/// One term as published, with its byte offset into the record text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Term {
    pub pos: usize,
    pub text: String,
    pub kind: TermKind,
}

/// A parsed `v=spf1` record.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SpfRecord {
    /// The record text as given to [`parse`].
    pub text: String,
    /// Whether the text starts with the `v=spf1` version term.
    pub version_ok: bool,
    /// Every term after the version, in order, including invalid ones.
    pub terms: Vec<Term>,
    pub diagnostics: Vec<super::Diagnostic>,
}

/// Parses SPF record text. Never fails: problems are reported as positioned diagnostics so a
/// broken record can still be shown and explained.
pub fn parse(text: &str) -> SpfRecord {
    let mut diags = Vec::new();
    let mut terms = Vec::new();
    let tokens = split_terms(text);
    let mut version_ok = false;

    if text.starts_with(' ') {
        diags.push(warning(
            0,
            "leading space: receivers only select records that begin with `v=spf1`",
        ));
    }
    let mut rest = tokens.as_slice();
    match tokens.first() {
        Some(&(pos, tok)) if tok.eq_ignore_ascii_case("v=spf1") => {
            version_ok = true;
            rest = &tokens[1..];
            if tok != "v=spf1" {
                tracing::debug!(pos, "SPF version term not in lower case");
            }
        }
        Some(&(pos, tok)) if tok.get(..2).is_some_and(|h| h.eq_ignore_ascii_case("v=")) => {
            diags.push(error(
                pos,
                format!("record must start with `v=spf1`, found `{}`", clip(tok)),
            ));
            rest = &tokens[1..];
        }
        Some(&(pos, _)) => diags.push(error(pos, "record must start with `v=spf1`")),
        None => diags.push(error(0, "empty record: `v=spf1` missing")),
    }

    for &(pos, tok) in rest {
        terms.push(parse_term(pos, tok, &mut diags));
    }
    post_checks(&terms, &mut diags);
    diags.sort_by_key(|d| d.pos);

    SpfRecord {
        text: text.to_string(),
        version_ok,
        terms,
        diagnostics: diags,
    }
}

/// Splits on SP only (RFC 7208 §4.6.1: terms are separated by spaces, not by any other
/// whitespace), keeping each term's byte offset.
fn split_terms(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    for piece in text.split(' ') {
        if !piece.is_empty() {
            out.push((pos, piece));
        }
        pos += piece.len() + 1;
    }
    out
}

fn parse_term(pos: usize, tok: &str, diags: &mut Vec<Diagnostic>) -> Term {
    let term = |kind| Term {
        pos,
        text: tok.to_string(),
        kind,
    };
    if let Some((off, c)) = tok.char_indices().find(|&(_, c)| !c.is_ascii_graphic()) {
        let what = if c.is_ascii_control() {
            "control character"
        } else {
            "non-ASCII character"
        };
        diags.push(error(
            pos + off,
            format!("{what} {c:?} in term: SPF records are 7-bit ASCII and terms are separated by spaces only"),
        ));
        return term(TermKind::Invalid);
    }

    let sep = tok.find([':', '/', '=']);
    if let Some(i) = sep.filter(|&i| tok.as_bytes()[i] == b'=') {
        return term(parse_modifier(pos, &tok[..i], &tok[i + 1..], i + 1, diags));
    }

    let (qualifier, body, qlen) = match tok.chars().next().and_then(Qualifier::from_symbol) {
        Some(q) => (q, &tok[1..], 1),
        None => (Qualifier::Pass, tok, 0),
    };
    let name_end = body.find([':', '/']).unwrap_or(body.len());
    let name = &body[..name_end];
    let args = &body[name_end..];
    let args_pos = pos + qlen + name_end;
    let mech = match name.to_ascii_lowercase().as_str() {
        "all" => {
            if args.is_empty() {
                Some(Mechanism::All)
            } else {
                diags.push(error(args_pos, "`all` takes no arguments"));
                None
            }
        }
        "include" => required_domain(args, args_pos, "include", diags)
            .map(|domain| Mechanism::Include { domain }),
        "exists" => required_domain(args, args_pos, "exists", diags)
            .map(|domain| Mechanism::Exists { domain }),
        "a" => host_args(args, args_pos, "a", diags).map(|(domain, cidr4, cidr6)| Mechanism::A {
            domain,
            cidr4,
            cidr6,
        }),
        "mx" => {
            host_args(args, args_pos, "mx", diags).map(|(domain, cidr4, cidr6)| Mechanism::Mx {
                domain,
                cidr4,
                cidr6,
            })
        }
        "ptr" => {
            if args.is_empty() {
                Some(Mechanism::Ptr { domain: None })
            } else if let Some(d) = args.strip_prefix(':') {
                domain_spec(d, args_pos + 1, diags).then(|| Mechanism::Ptr {
                    domain: Some(d.to_string()),
                })
            } else {
                diags.push(error(args_pos, "`ptr` takes no CIDR length"));
                None
            }
        }
        "ip4" => ip4_args(args, args_pos, diags).map(|net| Mechanism::Ip4 { net }),
        "ip6" => ip6_args(args, args_pos, diags).map(|net| Mechanism::Ip6 { net }),
        "" => {
            diags.push(error(pos, "missing mechanism name"));
            None
        }
        _ => {
            diags.push(error(
                pos + qlen,
                format!("unknown mechanism `{}`", clip(name)),
            ));
            None
        }
    };
    match mech {
        Some(mechanism) => term(TermKind::Directive {
            qualifier,
            mechanism,
        }),
        None => term(TermKind::Invalid),
    }
}

fn parse_modifier(
    pos: usize,
    name: &str,
    value: &str,
    value_off: usize,
    diags: &mut Vec<Diagnostic>,
) -> TermKind {
    let valid_name = {
        let mut cs = name.chars();
        cs.next().is_some_and(|c| c.is_ascii_alphabetic())
            && cs.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if !valid_name {
        diags.push(error(
            pos,
            format!("invalid modifier name `{}`", clip(name)),
        ));
        return TermKind::Invalid;
    }
    let value_pos = pos + value_off;
    match name.to_ascii_lowercase().as_str() {
        "redirect" | "exp" => {
            if value.is_empty() {
                diags.push(error(value_pos, format!("`{name}=` needs a domain")));
                return TermKind::Invalid;
            }
            if !domain_spec(value, value_pos, diags) {
                return TermKind::Invalid;
            }
            let domain = value.to_string();
            if name.eq_ignore_ascii_case("redirect") {
                TermKind::Redirect { domain }
            } else {
                TermKind::Exp { domain }
            }
        }
        _ => {
            if !macro_string(value, value_pos, false, diags).valid {
                return TermKind::Invalid;
            }
            diags.push(warning(
                pos,
                format!("unknown modifier `{}` (ignored by receivers)", clip(name)),
            ));
            TermKind::Unknown {
                name: name.to_string(),
                value: value.to_string(),
            }
        }
    }
}

fn required_domain(
    args: &str,
    args_pos: usize,
    mech: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<String> {
    match args.strip_prefix(':') {
        Some(d) if !d.is_empty() => domain_spec(d, args_pos + 1, diags).then(|| d.to_string()),
        Some(_) => {
            diags.push(error(args_pos, format!("`{mech}:` needs a domain")));
            None
        }
        None => {
            diags.push(error(args_pos, format!("`{mech}` needs `:domain`")));
            None
        }
    }
}

type HostArgs = (Option<String>, Option<u8>, Option<u8>);

/// Arguments of `a` and `mx`: `[":" domain-spec] [dual-cidr-length]`.
fn host_args(
    args: &str,
    args_pos: usize,
    mech: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<HostArgs> {
    let (domain, cidr, cidr_pos) = match args.strip_prefix(':') {
        Some(rest) => {
            let split = cidr_suffix_start(rest);
            let d = &rest[..split];
            if d.is_empty() {
                diags.push(error(args_pos, format!("`{mech}:` needs a domain")));
                return None;
            }
            if !domain_spec(d, args_pos + 1, diags) {
                return None;
            }
            (Some(d.to_string()), &rest[split..], args_pos + 1 + split)
        }
        None => (None, args, args_pos),
    };
    let (c4, c6) = dual_cidr(cidr, cidr_pos, diags)?;
    Some((domain, c4, c6))
}

/// Where a trailing `/N`, `//N` or `/N//N` begins. A domain-spec may itself contain `/` and `:`
/// (`a:foo:bar/baz.example.com` is valid), so only a digits-only suffix is a CIDR length.
fn cidr_suffix_start(s: &str) -> usize {
    let digits_from = |end: usize| {
        s[..end]
            .bytes()
            .rposition(|b| !b.is_ascii_digit())
            .map_or(0, |i| i + 1)
    };
    let mut end = s.len();
    let d = digits_from(end);
    if d < end && s[..d].ends_with("//") {
        end = d - 2;
    }
    let d = digits_from(end);
    if d < end && s[..d].ends_with('/') && !s[..d].ends_with("//") {
        end = d - 1;
    }
    end
}

/// `[ "/" ip4-len ] [ "//" ip6-len ]`, strictly.
fn dual_cidr(s: &str, pos: usize, diags: &mut Vec<Diagnostic>) -> Option<(Option<u8>, Option<u8>)> {
    if s.is_empty() {
        return Some((None, None));
    }
    let bad = |diags: &mut Vec<Diagnostic>| {
        diags.push(error(pos, format!("invalid CIDR length `{}`", clip(s))));
        None
    };
    if let Some(v6) = s.strip_prefix("//") {
        return match cidr_len(v6, 128) {
            Some(n) => Some((None, Some(n))),
            None => bad(diags),
        };
    }
    let Some(after) = s.strip_prefix('/') else {
        return bad(diags);
    };
    let (v4, v6) = match after.find("//") {
        Some(i) => (&after[..i], Some(&after[i + 2..])),
        None => (after, None),
    };
    let Some(c4) = cidr_len(v4, 32) else {
        return bad(diags);
    };
    match v6 {
        None => Some((Some(c4), None)),
        Some(v6) => match cidr_len(v6, 128) {
            Some(c6) => Some((Some(c4), Some(c6))),
            None => bad(diags),
        },
    }
}

/// A decimal prefix length without leading zeros, at most `max`.
fn cidr_len(s: &str, max: u8) -> Option<u8> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse::<u8>().ok().filter(|&n| n <= max)
}

fn ip4_args(args: &str, args_pos: usize, diags: &mut Vec<Diagnostic>) -> Option<Ipv4Net> {
    let Some(rest) = args.strip_prefix(':') else {
        diags.push(error(args_pos, "`ip4` needs `:address`"));
        return None;
    };
    let (addr, len) = match rest.find('/') {
        Some(i) => (&rest[..i], Some((&rest[i + 1..], args_pos + 1 + i))),
        None => (rest, None),
    };
    let Ok(ip) = addr.parse::<Ipv4Addr>() else {
        diags.push(error(
            args_pos + 1,
            format!("invalid IPv4 address `{}`", clip(addr)),
        ));
        return None;
    };
    let prefix = match len {
        None => 32,
        Some((l, lpos)) => match cidr_len(l, 32) {
            Some(n) => n,
            None => {
                diags.push(error(
                    lpos,
                    format!("invalid IPv4 CIDR length `/{}`", clip(l)),
                ));
                return None;
            }
        },
    };
    Ipv4Net::new(ip, prefix).ok()
}

fn ip6_args(args: &str, args_pos: usize, diags: &mut Vec<Diagnostic>) -> Option<Ipv6Net> {
    let Some(rest) = args.strip_prefix(':') else {
        diags.push(error(args_pos, "`ip6` needs `:address`"));
        return None;
    };
    let (addr, len) = match rest.find('/') {
        Some(i) => (&rest[..i], Some((&rest[i + 1..], args_pos + 1 + i))),
        None => (rest, None),
    };
    let Ok(ip) = addr.parse::<Ipv6Addr>() else {
        diags.push(error(
            args_pos + 1,
            format!("invalid IPv6 address `{}`", clip(addr)),
        ));
        return None;
    };
    let prefix = match len {
        None => 128,
        Some((l, lpos)) => match cidr_len(l, 128) {
            Some(n) => n,
            None => {
                diags.push(error(
                    lpos,
                    format!("invalid IPv6 CIDR length `/{}`", clip(l)),
                ));
                return None;
            }
        },
    };
    Ipv6Net::new(ip, prefix).ok()
}

struct MacroScan {
    valid: bool,
    /// Whether the string ends with a macro-expand (then it needs no literal top label).
    ends_with_macro: bool,
    /// Byte offset where the literal text after the last macro begins.
    tail_start: usize,
    has_macros: bool,
}

/// Checks RFC 7208 §7.1 macro-string syntax. `exp_text` allows the `c`, `r`, `t` letters,
/// which are only legal in explanation strings.
fn macro_string(s: &str, pos: usize, exp_text: bool, diags: &mut Vec<Diagnostic>) -> MacroScan {
    let b = s.as_bytes();
    let mut scan = MacroScan {
        valid: true,
        ends_with_macro: false,
        tail_start: 0,
        has_macros: false,
    };
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c != b'%' {
            if !(0x21..=0x7e).contains(&c) {
                diags.push(error(pos + i, "invalid character in domain-spec"));
                scan.valid = false;
                return scan;
            }
            scan.ends_with_macro = false;
            i += 1;
            continue;
        }
        scan.has_macros = true;
        match b.get(i + 1) {
            Some(b'%' | b'_' | b'-') => {
                i += 2;
            }
            Some(b'{') => {
                let Some(close) = s[i..].find('}') else {
                    diags.push(error(pos + i, "unterminated macro `%{`"));
                    scan.valid = false;
                    return scan;
                };
                let inner = &s[i + 2..i + close];
                if let Err(msg) = macro_body(inner, exp_text) {
                    diags.push(error(
                        pos + i,
                        format!("invalid macro `%{{{}}}`: {msg}", clip(inner)),
                    ));
                    scan.valid = false;
                    return scan;
                }
                i += close + 1;
            }
            _ => {
                diags.push(error(
                    pos + i,
                    "invalid macro: `%` must be followed by `{`, `%`, `_` or `-` (write `%%` for a literal %)",
                ));
                scan.valid = false;
                return scan;
            }
        }
        scan.ends_with_macro = true;
        scan.tail_start = i;
    }
    scan
}

fn macro_body(inner: &str, exp_text: bool) -> Result<(), String> {
    let mut chars = inner.chars().peekable();
    let letter = chars.next().ok_or("missing macro letter")?;
    match letter.to_ascii_lowercase() {
        's' | 'l' | 'o' | 'd' | 'i' | 'p' | 'h' | 'v' => {}
        'c' | 'r' | 't' if exp_text => {}
        'c' | 'r' | 't' => return Err(format!("`{letter}` is only allowed in explanation text")),
        _ => return Err(format!("unknown macro letter `{letter}`")),
    }
    let mut digits = String::new();
    while let Some(&c) = chars.peek().filter(|c| c.is_ascii_digit()) {
        digits.push(c);
        chars.next();
    }
    if !digits.is_empty() && digits.trim_start_matches('0').is_empty() {
        return Err("the label count must be nonzero".into());
    }
    if chars.peek().is_some_and(|c| c.eq_ignore_ascii_case(&'r')) {
        chars.next();
    }
    for c in chars {
        if !matches!(c, '.' | '-' | '+' | ',' | '/' | '_' | '=') {
            return Err(format!("invalid delimiter `{c}`"));
        }
    }
    Ok(())
}

/// Checks `domain-spec = macro-string domain-end` and warns about names DNS cannot carry.
fn domain_spec(s: &str, pos: usize, diags: &mut Vec<Diagnostic>) -> bool {
    let scan = macro_string(s, pos, false, diags);
    if !scan.valid {
        return false;
    }
    if scan.ends_with_macro {
        return true;
    }
    let tail = &s[scan.tail_start..];
    let trimmed = tail.strip_suffix('.').unwrap_or(tail);
    let Some(dot) = trimmed.rfind('.') else {
        diags.push(error(
            pos,
            format!("`{}` must end in a dot and a top-level label", clip(s)),
        ));
        return false;
    };
    let top = &trimmed[dot + 1..];
    if !is_toplabel(top) {
        diags.push(error(
            pos + scan.tail_start + dot + 1,
            format!("invalid top-level label `{}` in `{}`", clip(top), clip(s)),
        ));
        return false;
    }
    if !scan.has_macros {
        let name = s.strip_suffix('.').unwrap_or(s);
        if name.len() > 253 {
            diags.push(warning(
                pos,
                "domain name longer than 253 octets cannot be queried",
            ));
        }
        if name.split('.').any(|l| l.len() > 63) {
            diags.push(warning(
                pos,
                "label longer than 63 octets cannot be queried",
            ));
        }
        if name.split('.').any(str::is_empty) {
            diags.push(warning(pos, "empty label in domain name cannot be queried"));
        }
    }
    true
}

/// `toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )`
fn is_toplabel(l: &str) -> bool {
    let b = l.as_bytes();
    !b.is_empty()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && b.iter().any(|c| c.is_ascii_alphabetic() || *c == b'-')
}

fn post_checks(terms: &[Term], diags: &mut Vec<Diagnostic>) {
    let mut redirect_seen = None;
    let mut exp_seen = None;
    let mut all_seen: Option<usize> = None;
    for t in terms {
        match &t.kind {
            TermKind::Redirect { .. } => {
                if let Some(first) = redirect_seen {
                    diags.push(error(
                        t.pos,
                        format!("duplicate `redirect` modifier (first at offset {first})"),
                    ));
                }
                redirect_seen.get_or_insert(t.pos);
            }
            TermKind::Exp { .. } => {
                if let Some(first) = exp_seen {
                    diags.push(error(
                        t.pos,
                        format!("duplicate `exp` modifier (first at offset {first})"),
                    ));
                }
                exp_seen.get_or_insert(t.pos);
            }
            TermKind::Directive {
                qualifier,
                mechanism,
            } => {
                if let Some(at) = all_seen {
                    diags.push(warning(
                        t.pos,
                        format!(
                            "`{}` comes after `all` (offset {at}) and is never evaluated",
                            clip(&t.text)
                        ),
                    ));
                }
                match mechanism {
                    Mechanism::All => {
                        if *qualifier == Qualifier::Pass {
                            diags.push(warning(
                                t.pos,
                                "`+all` authorizes every host on the internet to send as this domain",
                            ));
                        }
                        all_seen.get_or_insert(t.pos);
                    }
                    Mechanism::Ptr { .. } => diags.push(warning(
                        t.pos,
                        "`ptr` SHOULD NOT be used (RFC 7208 §5.5): slow, unreliable, and some receivers ignore it",
                    )),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    if let (Some(all), Some(redirect)) = (all_seen, redirect_seen) {
        diags.push(warning(
            redirect,
            format!("`redirect` is ignored because the record has `all` (offset {all})"),
        ));
    }
}

/// Whether a domain-spec contains macros, which only a receiver with a real message can expand.
pub fn has_macro(domain_spec: &str) -> bool {
    domain_spec.contains('%')
}

impl SpfRecord {
    /// DNS questions evaluating this record (published at `domain`) needs, besides the TXT at
    /// `domain` itself: include/redirect targets (TXT), `a` (A, AAAA), `mx` (MX), `exists` (A).
    /// The capture asks exactly these, so the stored snapshot is enough to walk the tree.
    /// Targets with macros are skipped: they depend on the message being checked.
    pub fn queries(&self, domain: &str) -> Vec<(String, Rtype, &'static str)> {
        let here = normalize_name(domain);
        let mut out: Vec<(String, Rtype, &'static str)> = Vec::new();
        let mut push = |name: String, rtype, purpose| {
            if !out.iter().any(|(n, r, _)| *n == name && *r == rtype) {
                out.push((name, rtype, purpose));
            }
        };
        let target = |d: &Option<String>| match d {
            Some(d) if has_macro(d) => None,
            Some(d) => Some(normalize_name(d)),
            None => Some(here.clone()),
        };
        for t in &self.terms {
            match &t.kind {
                TermKind::Redirect { domain } if !has_macro(domain) => {
                    push(normalize_name(domain), Rtype::Txt, "spf-redirect")
                }
                TermKind::Directive { mechanism, .. } => match mechanism {
                    Mechanism::Include { domain } if !has_macro(domain) => {
                        push(normalize_name(domain), Rtype::Txt, "spf-include")
                    }
                    Mechanism::A { domain, .. } => {
                        if let Some(n) = target(domain) {
                            push(n.clone(), Rtype::A, "spf-a");
                            push(n, Rtype::Aaaa, "spf-a");
                        }
                    }
                    Mechanism::Mx { domain, .. } => {
                        if let Some(n) = target(domain) {
                            push(n, Rtype::Mx, "spf-mx");
                        }
                    }
                    Mechanism::Exists { domain } if !has_macro(domain) => {
                        push(normalize_name(domain), Rtype::A, "spf-exists")
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        out
    }

    /// Qualifier of the first `all` mechanism (later ones are never evaluated).
    pub fn all(&self) -> Option<Qualifier> {
        self.directives().find_map(|(q, m)| match m {
            Mechanism::All => Some(q),
            _ => None,
        })
    }

    /// Target of the first `redirect=` modifier, as written.
    pub fn redirect(&self) -> Option<&str> {
        self.terms.iter().find_map(|t| match &t.kind {
            TermKind::Redirect { domain } => Some(domain.as_str()),
            _ => None,
        })
    }

    /// `ptr` is slow and unreliable and RFC 7208 §5.5 says not to publish it (SPF-006).
    pub fn has_ptr(&self) -> bool {
        self.directives()
            .any(|(_, m)| matches!(m, Mechanism::Ptr { .. }))
    }

    /// Include targets as written, in order.
    pub fn includes(&self) -> Vec<&str> {
        self.directives()
            .filter_map(|(_, m)| match m {
                Mechanism::Include { domain } => Some(domain.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Networks authorized by `ip4`/`ip6` terms (any qualifier), for matching report sources.
    pub fn networks(&self) -> Vec<(Qualifier, IpNet)> {
        self.directives()
            .filter_map(|(q, m)| match m {
                Mechanism::Ip4 { net } => Some((q, IpNet::V4(*net))),
                Mechanism::Ip6 { net } => Some((q, IpNet::V6(*net))),
                _ => None,
            })
            .collect()
    }

    /// Valid mechanisms with their qualifiers, in order.
    pub fn directives(&self) -> impl Iterator<Item = (Qualifier, &Mechanism)> {
        self.terms.iter().filter_map(|t| match &t.kind {
            TermKind::Directive {
                qualifier,
                mechanism,
            } => Some((*qualifier, mechanism)),
            _ => None,
        })
    }

    /// No Error diagnostics: a receiver would not return `permerror` for syntax.
    pub fn is_valid(&self) -> bool {
        !self.diagnostics.iter().any(|d| d.level == Level::Error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.level == Level::Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(r: &SpfRecord) -> Vec<(usize, String)> {
        r.errors().map(|d| (d.pos, d.message.clone())).collect()
    }

    fn warnings(r: &SpfRecord) -> Vec<(usize, String)> {
        r.diagnostics
            .iter()
            .filter(|d| d.level == Level::Warning)
            .map(|d| (d.pos, d.message.clone()))
            .collect()
    }

    #[test]
    fn typical_record_parses_into_typed_terms() {
        let r = parse(
            "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx:mail.example.com/28//64 \
             include:_spf.google.com ~all",
        );
        assert!(r.version_ok);
        assert!(r.is_valid(), "{:?}", r.diagnostics);
        assert_eq!(r.terms.len(), 6);
        assert_eq!(r.terms[0].pos, 7);
        assert_eq!(r.terms[0].text, "ip4:192.0.2.0/24");
        assert_eq!(
            r.terms[0].kind,
            TermKind::Directive {
                qualifier: Qualifier::Pass,
                mechanism: Mechanism::Ip4 {
                    net: "192.0.2.0/24".parse().unwrap()
                }
            }
        );
        assert_eq!(
            r.terms[3].kind,
            TermKind::Directive {
                qualifier: Qualifier::Pass,
                mechanism: Mechanism::Mx {
                    domain: Some("mail.example.com".into()),
                    cidr4: Some(28),
                    cidr6: Some(64)
                }
            }
        );
        assert_eq!(r.all(), Some(Qualifier::SoftFail));
        assert_eq!(r.includes(), vec!["_spf.google.com"]);
        assert_eq!(r.networks().len(), 2);
        assert!(!r.has_ptr());
        assert_eq!(r.redirect(), None);
    }

    #[test]
    fn qualifiers_and_case_insensitive_names() {
        let r = parse("V=SPF1 -IP4:192.0.2.1 ?A ~MX +Exists:%{i}.x.example.com -ALL");
        assert!(r.is_valid(), "{:?}", r.diagnostics);
        let qs: Vec<char> = r.directives().map(|(q, _)| q.symbol()).collect();
        assert_eq!(qs, vec!['-', '?', '~', '+', '-']);
        assert_eq!(r.all().map(Qualifier::all_text).as_deref(), Some("-all"));
    }

    #[test]
    fn missing_or_wrong_version() {
        let r = parse("ip4:192.0.2.1 -all");
        assert!(!r.version_ok);
        assert_eq!(errors(&r)[0].0, 0);
        assert!(errors(&r)[0].1.contains("v=spf1"));
        assert_eq!(r.terms.len(), 2, "terms still parsed for display");

        let r = parse("v=spf10 -all");
        assert!(!r.version_ok);
        assert!(!r.is_valid());
        assert_eq!(r.terms.len(), 1);

        let r = parse("");
        assert!(!r.is_valid());
        let r = parse("v=spf1");
        assert!(r.is_valid() && r.terms.is_empty());
    }

    #[test]
    fn bad_ip4_and_cidr_lengths_are_errors_at_their_position() {
        for (rec, pos) in [
            ("v=spf1 ip4:192.0.2.256 -all", 11),
            ("v=spf1 ip4:192.0.2 -all", 11),
            ("v=spf1 ip4:01.2.3.4 -all", 11),
            ("v=spf1 ip4:192.0.2.0/33 -all", 20),
            ("v=spf1 ip4:192.0.2.0/024 -all", 20),
            ("v=spf1 ip4:192.0.2.0/ -all", 20),
            ("v=spf1 ip4 -all", 10),
            ("v=spf1 ip6:2001:db8::/129 -all", 21),
            ("v=spf1 ip6:2001:db8:::1 -all", 11),
            ("v=spf1 ip6:192.0.2.1 -all", 11),
            ("v=spf1 a/33 -all", 8),
            ("v=spf1 a//129 -all", 8),
            ("v=spf1 mx:example.com/24//x -all", 18),
            ("v=spf1 a/24/ -all", 8),
            ("v=spf1 a/abc -all", 8),
        ] {
            let r = parse(rec);
            let e = errors(&r);
            assert_eq!(e.len(), 1, "{rec}: {e:?}");
            assert_eq!(e[0].0, pos, "{rec}: {e:?}");
            assert_eq!(r.terms[0].kind, TermKind::Invalid, "{rec}");
        }
        let r = parse("v=spf1 ip4:192.0.2.7/0 a/0//0 -all");
        assert!(r.is_valid(), "{:?}", r.diagnostics);
    }

    #[test]
    fn unknown_mechanism_and_modifier_syntax() {
        let r = parse("v=spf1 ip4:1.2.3.4 -all moo");
        assert_eq!(
            errors(&r),
            vec![(24, "unknown mechanism `moo`".to_string())]
        );

        // '=' before any ':' or '/' makes it a modifier, valid and ignored.
        let r = parse("v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all");
        assert!(r.is_valid(), "{:?}", r.diagnostics);
        assert!(matches!(r.terms[0].kind, TermKind::Unknown { .. }));
        assert_eq!(warnings(&r).len(), 1);

        for rec in [
            "v=spf1 moo.cow/far_out=man:dog/cat ip4:1.2.3.4 -all",
            "v=spf1 moo.cow:far_out=man:dog/cat ip4:1.2.3.4 -all",
            "v=spf1 redirect:t2.example.com ip4:1.2.3.4",
            "v=spf1 1foo=bar -all",
            "v=spf1 =bar -all",
            "v=spf1 - -all",
        ] {
            let r = parse(rec);
            assert_eq!(errors(&r).len(), 1, "{rec}: {:?}", r.diagnostics);
            assert_eq!(errors(&r)[0].0, 7, "{rec}: {:?}", r.diagnostics);
        }
        for (rec, pos) in [
            ("v=spf1 include -all", 14),
            ("v=spf1 include: -all", 14),
            ("v=spf1 exists -all", 13),
            ("v=spf1 ptr/24 -all", 10),
        ] {
            let r = parse(rec);
            assert_eq!(errors(&r).len(), 1, "{rec}: {:?}", r.diagnostics);
            assert_eq!(errors(&r)[0].0, pos, "{rec}: {:?}", r.diagnostics);
        }
    }

    #[test]
    fn all_takes_no_arguments() {
        for rec in ["v=spf1 -all.", "v=spf1 -all:foobar", "v=spf1 -all/8"] {
            let r = parse(rec);
            assert_eq!(errors(&r).len(), 1, "{rec}");
            assert_eq!(r.all(), None);
        }
    }

    #[test]
    fn domain_spec_needs_a_top_label_or_macro() {
        for rec in [
            "v=spf1 a:foo-bar -all",
            "v=spf1 include:localhost -all",
            "v=spf1 include:example.123 -all",
            "v=spf1 include:example.com- -all",
            "v=spf1 include:example.com/24 -all",
            "v=spf1 exists:%{i}foo -all",
        ] {
            let r = parse(rec);
            assert_eq!(errors(&r).len(), 1, "{rec}: {:?}", r.diagnostics);
        }
        for rec in [
            "v=spf1 a:example.com. -all",
            "v=spf1 include:x.1-2 -all",
            "v=spf1 exists:%{i}.%{d} -all",
            "v=spf1 a:mail.example...com -all",
        ] {
            let r = parse(rec);
            assert!(r.is_valid(), "{rec}: {:?}", r.diagnostics);
        }
        // Syntactically valid but cannot be queried: a warning, not a permerror.
        let long = format!("v=spf1 a:{}.example.com -all", "a".repeat(64));
        let r = parse(&long);
        assert!(r.is_valid());
        assert!(warnings(&r)[0].1.contains("63"));
    }

    #[test]
    fn macros_valid_and_invalid() {
        let ok = "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d2} include:%{d}.%%.%_.%-.example.com \
                  a:%{H}.bar -all";
        let r = parse(ok);
        assert!(r.is_valid(), "{:?}", r.diagnostics);
        assert_eq!(
            r.queries("x.example"),
            Vec::new(),
            "macro targets are skipped"
        );

        for (rec, pos) in [
            ("v=spf1 exists:%{x}.example.com -all", 14),
            ("v=spf1 exists:%{i.example.com -all", 14),
            ("v=spf1 exists:%{i0}.example.com -all", 14),
            ("v=spf1 exists:%{c}.example.com -all", 14),
            ("v=spf1 exists:%{i;}.example.com -all", 14),
            ("v=spf1 exists:foo%.example.com -all", 17),
            ("v=spf1 exists:foo%{}.example.com -all", 17),
            ("v=spf1 foo=%{z} -all", 11),
        ] {
            let r = parse(rec);
            let e = errors(&r);
            assert_eq!(e.len(), 1, "{rec}: {e:?}");
            assert_eq!(e[0].0, pos, "{rec}: {e:?}");
        }
    }

    #[test]
    fn modifiers_and_duplicates() {
        let r = parse("v=spf1 redirect=_spf.example.com exp=explain.example.com");
        assert!(r.is_valid(), "{:?}", r.diagnostics);
        assert_eq!(r.redirect(), Some("_spf.example.com"));
        assert_eq!(r.all(), None);

        let r = parse("v=spf1 redirect=a.example.com redirect=b.example.com");
        assert_eq!(errors(&r).len(), 1);
        assert_eq!(errors(&r)[0].0, 30);
        let r = parse("v=spf1 exp=a.example.com -all EXP=b.example.com");
        assert_eq!(errors(&r).len(), 1);
        assert_eq!(errors(&r)[0].0, 30);
        let r = parse("v=spf1 redirect= -all");
        assert_eq!(errors(&r).len(), 1);
    }

    #[test]
    fn terms_after_all_plus_all_and_ptr_are_warnings() {
        let r = parse("v=spf1 +all ip4:192.0.2.1 redirect=x.example.com ptr");
        assert!(r.is_valid(), "{:?}", r.diagnostics);
        assert_eq!(r.all(), Some(Qualifier::Pass));
        assert!(r.has_ptr());
        let w = warnings(&r);
        assert!(
            w.iter().any(|(p, m)| *p == 7 && m.contains("+all")),
            "{w:?}"
        );
        assert!(
            w.iter().any(|(p, m)| *p == 12 && m.contains("after `all`")),
            "{w:?}"
        );
        assert!(
            w.iter().any(|(p, m)| *p == 26 && m.contains("ignored")),
            "{w:?}"
        );
        assert!(
            w.iter().any(|(p, m)| *p == 49 && m.contains("ptr")),
            "{w:?}"
        );
        // `all -all`: the second is never reached; the first decides.
        let r = parse("v=spf1 all -all");
        assert_eq!(r.all(), Some(Qualifier::Pass));
    }

    #[test]
    fn control_and_non_ascii_characters_are_errors() {
        for (rec, pos) in [
            ("v=spf1 a:ctrl.example.com\rptr -all", 25),
            (
                "v=spf1 ip4:192.0.2.5\n include:spf.protection.outlook.com ~all",
                20,
            ),
            ("v=spf1 a:\u{feff}garbage.example.net -all", 9),
            ("v=spf1 \u{80}a:example.net -all", 7),
            ("v=spf1 a:example.net \u{96}all", 21),
            ("v=spf1\ta -all", 0),
        ] {
            let r = parse(rec);
            assert!(!r.is_valid(), "{rec:?}");
            assert_eq!(errors(&r)[0].0, pos, "{rec:?}: {:?}", r.diagnostics);
        }
        // Spaces are the separator, repeated or trailing spaces are fine.
        assert!(parse("v=spf1 a  -all ").is_valid());
    }

    #[test]
    fn queries_cover_every_dns_term_once() {
        let r = parse(
            "v=spf1 a a:Mail.Example.COM. mx mx:mx.example.net/24 include:_spf.vendor.test \
             exists:check.example.org ptr ip4:192.0.2.1 include:_spf.vendor.test \
             redirect=_spf.example.com",
        );
        let q = r.queries("Example.com.");
        let expect: Vec<(String, Rtype, &str)> = vec![
            ("example.com".into(), Rtype::A, "spf-a"),
            ("example.com".into(), Rtype::Aaaa, "spf-a"),
            ("mail.example.com".into(), Rtype::A, "spf-a"),
            ("mail.example.com".into(), Rtype::Aaaa, "spf-a"),
            ("example.com".into(), Rtype::Mx, "spf-mx"),
            ("mx.example.net".into(), Rtype::Mx, "spf-mx"),
            ("_spf.vendor.test".into(), Rtype::Txt, "spf-include"),
            ("check.example.org".into(), Rtype::A, "spf-exists"),
            ("_spf.example.com".into(), Rtype::Txt, "spf-redirect"),
        ];
        assert_eq!(q, expect);
    }

    /// SPF/TXT strings per zone name, for one document of the RFC 7208 suite.
    type Zone = std::collections::BTreeMap<String, (Vec<String>, Vec<String>)>;

    fn yaml_text(v: &serde_yaml::Value) -> Option<String> {
        match v {
            serde_yaml::Value::String(s) => Some(s.clone()),
            serde_yaml::Value::Sequence(parts) => parts
                .iter()
                .map(|p| p.as_str())
                .collect::<Option<Vec<_>>>()
                .map(|v| v.concat()),
            _ => None,
        }
    }

    /// Every SPF/TXT string of the openspf RFC 7208 suite parses without panicking; records the
    /// suite evaluates to pass/fail/softfail/neutral carry no syntax error (RFC 7208 §4.6 makes
    /// any error a permerror), and known syntax permerror cases are caught.
    #[test]
    fn rfc7208_suite_records() {
        use serde::Deserialize;
        let Some(path) = crate::records::test_corpus("pyspf/test/rfc7208-tests.yml") else {
            return;
        };
        let text = std::fs::read_to_string(&path).expect("read the suite");
        let mut docs: Vec<(String, Zone, serde_yaml::Value)> = Vec::new();
        let mut parsed = 0;
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let v = serde_yaml::Value::deserialize(doc).expect("valid YAML");
            let desc = v["description"].as_str().unwrap_or_default().to_string();
            let mut zone = Zone::new();
            if let Some(z) = v["zonedata"].as_mapping() {
                for (name, rrs) in z {
                    let name = normalize_name(name.as_str().unwrap_or_default());
                    let entry = zone.entry(name).or_default();
                    for rr in rrs.as_sequence().into_iter().flatten() {
                        for (kind, list) in [("TXT", &mut entry.0), ("SPF", &mut entry.1)] {
                            if let Some(t) = rr.get(kind).and_then(yaml_text) {
                                let r = parse(&t);
                                assert_eq!(r.text, t);
                                parsed += 1;
                                list.push(t);
                            }
                        }
                    }
                }
            }
            docs.push((desc, zone, v));
        }
        assert_eq!(docs.len(), 16, "documents in the suite");
        assert_eq!(parsed, 227, "SPF and TXT strings in the suite");

        let top_record = |zone: &Zone, domain: &str| -> Option<String> {
            let (txt, spf) = zone.get(&normalize_name(domain))?;
            let pool = if txt.is_empty() { spf } else { txt };
            let hits: Vec<&String> = pool
                .iter()
                .filter(|r| crate::snapshot::starts_with_tag(r, "v=spf1"))
                .collect();
            match hits.as_slice() {
                [one] => Some((*one).clone()),
                _ => None,
            }
        };

        // Records the suite evaluates to a definite non-error result must be error-free.
        let mut clean = 0;
        for (desc, zone, v) in &docs {
            for (name, t) in v["tests"].as_mapping().into_iter().flatten() {
                let Some(result) = t["result"].as_str() else {
                    continue;
                };
                if !matches!(result, "pass" | "fail" | "softfail" | "neutral") {
                    continue;
                }
                let mailfrom = t["mailfrom"].as_str().unwrap_or_default();
                let domain = match mailfrom.rsplit_once('@') {
                    Some((_, d)) if !d.is_empty() => d,
                    _ => t["helo"].as_str().unwrap_or_default(),
                };
                if let Some(rec) = top_record(zone, domain) {
                    let r = parse(&rec);
                    assert!(
                        r.is_valid(),
                        "{desc} / {name:?}: {rec:?} expected {result}: {:?}",
                        r.diagnostics
                    );
                    clean += 1;
                }
            }
        }
        println!("{clean} clean records checked");
        assert!(clean > 100, "only {clean} clean records checked");

        // Every test the suite expects to be a permerror because of record syntax (the others
        // are loops, limits and missing includes, which the walk judges).
        let syntax_permerrors = [
            "non-ascii-policy",
            "non-ascii-mech",
            "non-ascii-result",
            "control-char-policy",
            "badip4",
            "detect-errors-anywhere",
            "modifier-charset-bad1",
            "modifier-charset-bad2",
            "redirect-is-modifier",
            "invalid-domain",
            "all-dot",
            "all-arg",
            "all-cidr",
            "ptr-cidr",
            "ptr-empty-domain",
            "a-bad-cidr4",
            "a-bad-cidr6",
            "a-dual-cidr-ip4-err",
            "a-bad-domain",
            "a-null",
            "a-numeric",
            "a-numeric-toplabel",
            "a-bad-toplabel",
            "a-only-toplabel",
            "a-only-toplabel-trailing-dot",
            "a-empty-domain",
            "include-syntax-error",
            "include-cidr",
            "include-empty-domain",
            "mx-bad-cidr4",
            "mx-bad-cidr6",
            "mx-bad-domain",
            "mx-null",
            "mx-numeric-top-label",
            "mx-bad-toplab",
            "mx-empty-domain",
            "exists-empty-domain",
            "exists-implicit",
            "exists-cidr",
            "cidr4-33",
            "cidr4-032",
            "bare-ip4",
            "bad-ip4-port",
            "bad-ip4-short",
            "ip4-dual-cidr",
            "bare-ip6",
            "cidr6-129",
            "cidr6-bad",
            "ip6-bad1",
            "redirect-syntax-error",
            "invalid-modifier",
            "empty-modifier-name",
            "exp-empty-domain",
            "exp-syntax-error",
            "exp-twice",
            "redirect-empty-domain",
            "redirect-twice",
            "unknown-modifier-syntax",
            "exp-only-macro-char",
            "invalid-macro-char",
            "invalid-embedded-macro-char",
            "invalid-trailing-macro-char",
            "undef-macro",
        ];
        let mut caught = 0;
        for (desc, zone, v) in &docs {
            for (name, t) in v["tests"].as_mapping().into_iter().flatten() {
                let Some(name) = name.as_str().filter(|n| syntax_permerrors.contains(n)) else {
                    continue;
                };
                assert_eq!(t["result"].as_str(), Some("permerror"), "{desc} / {name}");
                let domain = t["mailfrom"]
                    .as_str()
                    .and_then(|m| m.rsplit_once('@'))
                    .map(|(_, d)| d);
                let rec = domain
                    .and_then(|d| top_record(zone, d))
                    .expect("one record");
                assert!(
                    !parse(&rec).is_valid(),
                    "{desc} / {name}: {rec:?} must be a permerror"
                );
                caught += 1;
            }
        }
        assert_eq!(caught, syntax_permerrors.len());
    }

    #[test]
    fn hostile_input_never_panics() {
        let nasty = [
            "v=spf1 %",
            "v=spf1 a:%",
            "v=spf1 a:%{",
            "v=spf1 a:%{}",
            "v=spf1 a:/",
            "v=spf1 a://",
            "v=spf1 ip4:/",
            "v=spf1 ip6::/",
            "v=spf1 ~",
            "v=spf1 +:",
            "v=spf1 =",
            "v=spf1 a:.",
            "v=spf1 a:..",
            "v=spf1 a:-.-",
            "é",
            "vé",
            "v=spf1 é=é",
            "v=spf1 ip4:999999999999999999999/99999999999999",
            "v=spf1 a/99999999999999999999",
        ];
        for n in nasty {
            let r = parse(n);
            assert!(!r.is_valid() || n == "v=spf1", "{n:?} should be invalid");
        }
    }
}
