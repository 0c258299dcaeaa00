//! MTA-STS (RFC 8461): the `_mta-sts` TXT record that announces a policy, the policy file
//! served over HTTPS, and the `mx` patterns that decide which MX hosts a sender may trust.
//!
//! Both parsers are pure and never fail: a malformed input yields a value whose diagnostics say
//! what receivers will do with it, so an old snapshot can be re-judged by newer rules.

use serde::{Deserialize, Serialize};

use super::{Diagnostic, Field, Level, clip, error, version_fields, warning};

/// RFC 8461 §3.2: `max_age` is at most 31557600 seconds (about a year).
pub const MAX_AGE_LIMIT: u64 = 31_557_600;

/// The body a sender will read at most; RFC 8461 §3.3 lets senders cap it ("64 KB").
pub const MAX_POLICY_BYTES: usize = 64 * 1024;

/// The `_mta-sts.<domain>` TXT record (RFC 8461 §3.1).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StsRecord {
    pub text: String,
    /// The policy instance identifier: senders refetch the policy only when it changes.
    pub id: Option<String>,
    pub diagnostics: Vec<Diagnostic>,
}

impl StsRecord {
    /// Senders ignore a record with any error (RFC 8461 §3.1: "MUST" be well formed).
    pub fn is_valid(&self) -> bool {
        self.id.is_some() && !self.diagnostics.iter().any(|d| d.level == Level::Error)
    }
}

/// Whether the TXT text is an MTA-STS record at all (RFC 8461 §3.1: records that do not begin
/// with `v=STSv1;` are discarded).
pub fn is_sts_record(text: &str) -> bool {
    crate::snapshot::starts_with_tag(text, "v=STSv1")
}

/// Parses the TXT record. Tags are `name=value` separated by `;`, with `v=STSv1` first and an
/// `id` of 1 to 32 letters and digits.
pub fn parse_record(text: &str) -> StsRecord {
    let mut rec = StsRecord {
        text: text.to_string(),
        ..Default::default()
    };
    let fields = version_fields(
        text,
        "STSv1",
        "the record must begin with v=STSv1 (RFC 8461 §3.1); senders discard it",
        &mut rec.diagnostics,
    );
    let empty = fields.is_empty() && rec.diagnostics.iter().any(|d| d.message == "empty record");
    for Field {
        pos: at,
        name,
        value,
        ..
    } in fields
    {
        match name {
            "v" => rec
                .diagnostics
                .push(error(at, "v= appears twice; senders discard the record")),
            "id" => {
                if rec.id.is_some() {
                    rec.diagnostics
                        .push(error(at, "id= appears twice; senders discard the record"));
                } else if value.is_empty()
                    || value.len() > 32
                    || !value.chars().all(|c| c.is_ascii_alphanumeric())
                {
                    rec.diagnostics.push(error(
                        at,
                        format!(
                            "id `{}` must be 1 to 32 letters and digits (RFC 8461 §3.1)",
                            clip(value)
                        ),
                    ));
                } else {
                    rec.id = Some(value.to_string());
                }
            }
            // Extensions are allowed; senders ignore fields they do not know.
            other if is_extension_name(other) => {}
            other => rec.diagnostics.push(warning(
                at,
                format!(
                    "`{}` is not a valid field name; senders ignore it",
                    clip(other)
                ),
            )),
        }
    }
    if !empty && rec.id.is_none() && !rec.diagnostics.iter().any(|d| d.message.contains("id `")) {
        rec.diagnostics.push(error(
            text.len(),
            "no id= field (RFC 8461 §3.1): senders cannot tell when the policy changes",
        ));
    }
    rec
}

fn is_extension_name(name: &str) -> bool {
    let mut cs = name.chars();
    cs.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() <= 32
        && cs.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The policy mode (RFC 8461 §5): only `enforce` makes senders refuse to deliver without TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    None,
    Testing,
    Enforce,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::None => "none",
            Mode::Testing => "testing",
            Mode::Enforce => "enforce",
        }
    }
}

/// One `mx:` pattern, a host name or `*.` and a host name (RFC 8461 §3.2, §4.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MxPattern {
    pub pattern: String,
    /// Line of the policy body (1-based) where it was written.
    pub line: usize,
}

impl MxPattern {
    /// RFC 8461 §4.1: a wildcard matches exactly one left-most label; names compare without
    /// case and without a trailing dot.
    pub fn matches(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let pat = self.pattern.trim_end_matches('.').to_ascii_lowercase();
        match pat.strip_prefix("*.") {
            Some(rest) => host
                .split_once('.')
                .is_some_and(|(label, tail)| !label.is_empty() && tail == rest),
            None => host == pat,
        }
    }
}

/// A parsed policy file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StsPolicy {
    pub version: Option<String>,
    pub mode: Option<Mode>,
    pub max_age: Option<u64>,
    pub mx: Vec<MxPattern>,
    /// Diagnostics; `pos` is the 1-based line of the body.
    pub diagnostics: Vec<Diagnostic>,
}

impl StsPolicy {
    /// A policy senders apply: version STSv1, a mode, a max_age, and patterns unless the mode
    /// is `none`, with no error.
    pub fn is_valid(&self) -> bool {
        self.version.as_deref() == Some("STSv1")
            && self.mode.is_some()
            && self.max_age.is_some()
            && !self.diagnostics.iter().any(|d| d.level == Level::Error)
    }

    /// Whether any pattern covers the MX host.
    pub fn covers(&self, host: &str) -> bool {
        self.mx.iter().any(|p| p.matches(host))
    }
}

/// Parses a policy body: `key: value` lines separated by LF or CRLF (RFC 8461 §3.2). Unknown
/// keys are ignored, as senders do; every problem is a diagnostic at its line.
pub fn parse_policy(body: &str) -> StsPolicy {
    let mut p = StsPolicy::default();
    for (i, raw) in body.split('\n').enumerate() {
        let line_no = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            p.diagnostics.push(error(
                line_no,
                format!("line {line_no}: `{}` is not a key: value line", clip(line)),
            ));
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "version" => {
                if p.version.is_some() {
                    p.diagnostics.push(error(
                        line_no,
                        format!("line {line_no}: version appears twice"),
                    ));
                } else {
                    if value != "STSv1" {
                        p.diagnostics.push(error(
                            line_no,
                            format!(
                                "line {line_no}: version `{}` is not STSv1; senders ignore the policy",
                                clip(value)
                            ),
                        ));
                    }
                    p.version = Some(value.to_string());
                }
            }
            "mode" => {
                let m = match value {
                    "enforce" => Some(Mode::Enforce),
                    "testing" => Some(Mode::Testing),
                    "none" => Some(Mode::None),
                    _ => None,
                };
                match (m, p.mode) {
                    (_, Some(_)) => p.diagnostics.push(error(
                        line_no,
                        format!("line {line_no}: mode appears twice"),
                    )),
                    (Some(m), None) => p.mode = Some(m),
                    (None, None) => p.diagnostics.push(error(
                        line_no,
                        format!(
                            "line {line_no}: mode `{}` is not enforce, testing or none",
                            clip(value)
                        ),
                    )),
                }
            }
            "max_age" => {
                let n = (!value.is_empty()
                    && value.len() <= 10
                    && value.chars().all(|c| c.is_ascii_digit()))
                .then(|| value.parse::<u64>().ok())
                .flatten();
                match (n, p.max_age) {
                    (_, Some(_)) => p.diagnostics.push(error(
                        line_no,
                        format!("line {line_no}: max_age appears twice"),
                    )),
                    (Some(n), None) => {
                        if n > MAX_AGE_LIMIT {
                            p.diagnostics.push(warning(
                                line_no,
                                format!(
                                    "line {line_no}: max_age {n} exceeds the maximum of {MAX_AGE_LIMIT} seconds (RFC 8461 §3.2)"
                                ),
                            ));
                        }
                        p.max_age = Some(n);
                    }
                    (None, None) => p.diagnostics.push(error(
                        line_no,
                        format!(
                            "line {line_no}: max_age `{}` is not a number of seconds",
                            clip(value)
                        ),
                    )),
                }
            }
            "mx" => {
                if is_mx_pattern(value) {
                    p.mx.push(MxPattern {
                        pattern: value.to_ascii_lowercase(),
                        line: line_no,
                    });
                } else {
                    p.diagnostics.push(error(
                        line_no,
                        format!(
                            "line {line_no}: mx `{}` is not a host name or *.host name",
                            clip(value)
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
    if p.version.is_none() {
        p.diagnostics.push(error(
            1,
            "no version: STSv1 line; senders ignore the policy",
        ));
    }
    if p.mode.is_none() && !p.diagnostics.iter().any(|d| d.message.contains("mode `")) {
        p.diagnostics
            .push(error(1, "no mode line; senders ignore the policy"));
    }
    if p.max_age.is_none()
        && !p
            .diagnostics
            .iter()
            .any(|d| d.message.contains("max_age `"))
    {
        p.diagnostics
            .push(error(1, "no max_age line; senders ignore the policy"));
    }
    if p.mx.is_empty() && p.mode.is_some_and(|m| m != Mode::None) {
        p.diagnostics.push(error(
            1,
            "no mx line: no MX host can be validated, so a sender applying the policy delivers nowhere",
        ));
    }
    p
}

fn is_mx_pattern(v: &str) -> bool {
    let name = v.strip_prefix("*.").unwrap_or(v).trim_end_matches('.');
    !name.is_empty()
        && name.len() <= 253
        && name.contains('.')
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_formed_record_gives_its_id() {
        let r = parse_record("v=STSv1; id=20261001T000000;");
        assert!(r.is_valid(), "{:?}", r.diagnostics);
        assert_eq!(r.id.as_deref(), Some("20261001T000000"));
        assert!(is_sts_record("v=STSv1; id=1"));
        assert!(!is_sts_record("v=spf1 -all"));
        assert!(!is_sts_record("v=STé"));
    }

    #[test]
    fn record_errors_are_positioned() {
        let r = parse_record("v=STSv1; id=has-dash");
        assert!(!r.is_valid());
        assert_eq!(r.diagnostics[0].pos, 9);
        let r = parse_record("id=1; v=STSv1");
        assert!(!r.is_valid());
        let r = parse_record("v=STSv1;");
        assert!(r.diagnostics[0].message.contains("no id="));
        let r = parse_record("v=STSv1; id=1; ext-1.x=whatever");
        assert!(r.is_valid());
        let r = parse_record("v=STSv1; id=1; id=2");
        assert!(!r.is_valid());
        assert!(!parse_record("").is_valid());
    }

    #[test]
    fn a_policy_reads_with_crlf_and_unknown_keys() {
        let p = parse_policy(
            "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\nfuture: x\r\n",
        );
        assert!(p.is_valid(), "{:?}", p.diagnostics);
        assert_eq!(p.mode, Some(Mode::Enforce));
        assert_eq!(p.max_age, Some(604_800));
        assert!(p.covers("mail.example.com."));
        assert!(p.covers("MX1.example.net"));
        assert!(!p.covers("example.net"));
        assert!(!p.covers("a.b.example.net"));
        assert!(!p.covers("mail.example.org"));
    }

    #[test]
    fn policy_errors_name_their_line() {
        let p = parse_policy("version: STSv1\nmode: strict\nmax_age: soon\nmx: bad host\n");
        assert!(!p.is_valid());
        let lines: Vec<usize> = p.diagnostics.iter().map(|d| d.pos).collect();
        assert_eq!(lines, [2, 3, 4]);
        let p = parse_policy("version: STSv1\nmode: testing\nmax_age: 99999999999\n");
        assert!(
            p.diagnostics
                .iter()
                .any(|d| d.message.contains("no mx line"))
        );
        let p = parse_policy("version: STSv1\nmode: none\nmax_age: 86400\n");
        assert!(p.is_valid(), "{:?}", p.diagnostics);
        let p = parse_policy("version: STSv1\nmode: enforce\nmax_age: 31557601\nmx: a.example\n");
        assert!(p.is_valid());
        assert_eq!(p.diagnostics[0].level, Level::Warning);
        assert!(!parse_policy("<html>404</html>").is_valid());
    }
}
