//! Parsers for the DNS records mailproof judges. Each is a pure function from record text to a
//! typed value plus positioned diagnostics, so they are testable without a network.

pub mod dkim;
pub mod dmarc;
pub mod mta_sts;
pub mod spf;
pub mod spf_eval;
pub mod spf_walk;
pub mod tls_rpt;

use serde::{Deserialize, Serialize};

/// Whether a diagnostic makes the record invalid or only questionable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
}

/// A problem found in a record, at a byte offset into the record text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub level: Level,
    /// Byte offset into the record text where the problem starts.
    pub pos: usize,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at offset {}: {}", self.pos, self.message)
    }
}

/// One `name=value` pair of a tag-list record (DKIM key, DMARC policy), kept with its position
/// so every diagnostic about it can point at the exact spot in the published text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// Tag name as written (case preserved).
    pub name: String,
    /// Value with surrounding whitespace removed.
    pub value: String,
    /// Byte offset of the tag name.
    pub pos: usize,
    /// Byte offset of the value (after `=` and any whitespace).
    pub value_pos: usize,
}

pub(crate) fn error(pos: usize, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        level: Level::Error,
        pos,
        message: message.into(),
    }
}

pub(crate) fn warning(pos: usize, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        level: Level::Warning,
        pos,
        message: message.into(),
    }
}

/// Splits a DKIM-style tag-list (RFC 6376 §3.2, also used by DMARC) into tags.
///
/// Hostile text never panics: malformed tags become Error diagnostics and are skipped; a
/// repeated tag is an Error and only its first occurrence is kept, because the RFC makes the
/// whole list invalid and we still want to report what the first one said.
pub(crate) fn parse_tag_list(text: &str, diags: &mut Vec<Diagnostic>) -> Vec<Tag> {
    let mut tags: Vec<Tag> = Vec::new();
    let mut start = 0usize;
    let segments: Vec<(usize, &str)> = text
        .split(';')
        .map(|seg| {
            let here = start;
            start += seg.len() + 1;
            (here, seg)
        })
        .collect();
    let last = segments.len().saturating_sub(1);
    for (i, (seg_pos, seg)) in segments.into_iter().enumerate() {
        let lead = seg.len() - seg.trim_start().len();
        let body = seg.trim();
        let pos = seg_pos + lead;
        if body.is_empty() {
            if i != last {
                diags.push(warning(pos, "empty tag (stray `;`)"));
            }
            continue;
        }
        let Some(eq) = body.find('=') else {
            diags.push(error(
                pos,
                format!("`{}` is not a name=value tag", clip(body)),
            ));
            continue;
        };
        let name = body[..eq].trim_end();
        let raw_value = &body[eq + 1..];
        let value_lead = raw_value.len() - raw_value.trim_start().len();
        let value = raw_value.trim();
        let value_pos = pos + eq + 1 + value_lead;
        if !is_tag_name(name) {
            diags.push(error(pos, format!("invalid tag name `{}`", clip(name))));
            continue;
        }
        if let Some((off, c)) = value.char_indices().find(|&(_, c)| {
            !(c.is_ascii_graphic() || c == ' ' || c == '\t' || c == '\r' || c == '\n')
        }) {
            diags.push(error(
                value_pos + off,
                format!("invalid character {c:?} in the value of tag `{name}`"),
            ));
        }
        if let Some(first) = tags.iter().find(|t| t.name.eq_ignore_ascii_case(name)) {
            diags.push(error(
                pos,
                format!(
                    "duplicate tag `{name}` (first at offset {}); the record is invalid",
                    first.pos
                ),
            ));
            continue;
        }
        tags.push(Tag {
            name: name.to_string(),
            value: value.to_string(),
            pos,
            value_pos,
        });
    }
    tags
}

/// One `name=value` field of a `;`-separated record (MTA-STS, TLS-RPT), with positions.
pub(crate) struct Field<'a> {
    /// Byte offset of the field.
    pub pos: usize,
    pub name: &'a str,
    pub value: &'a str,
    /// Byte offset of the value.
    pub value_pos: usize,
}

/// Splits a `;`-separated record into its fields, skipping empty ones. A field without `=`
/// is an Error diagnostic; the first field must be `v=<version>` (RFC 8461 §3.1, RFC 8460
/// §3), or the whole record is discarded by senders, which `discarded` says in words.
pub(crate) fn version_fields<'a>(
    text: &'a str,
    version: &str,
    discarded: &str,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Field<'a>> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut first = true;
    for seg in text.split(';') {
        let here = pos;
        pos += seg.len() + 1;
        let lead = seg.len() - seg.trim_start().len();
        let body = seg.trim();
        let at = here + lead;
        if body.is_empty() {
            continue;
        }
        let Some((name, value)) = body.split_once('=') else {
            diags.push(error(
                at,
                format!("`{}` is not a name=value field", clip(body)),
            ));
            first = false;
            continue;
        };
        let value_pos = at + name.len() + 1 + (value.len() - value.trim_start().len());
        let (name, value) = (name.trim(), value.trim());
        if first {
            first = false;
            if name != "v" || value != version {
                diags.push(error(at, discarded.to_string()));
            }
            continue;
        }
        out.push(Field {
            pos: at,
            name,
            value,
            value_pos,
        });
    }
    if first {
        diags.push(error(0, "empty record"));
    }
    out
}

fn is_tag_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Shortens hostile text quoted in a message, so one huge bad token cannot flood a report.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

/// The shared test corpus (`MAILPROOF_CORPUS`, default `../shared/corpus`), or `None` with a
/// printed notice when it is absent; under `CI=true` its absence fails the test instead.
#[cfg(test)]
pub(crate) fn test_corpus(sub: &str) -> Option<std::path::PathBuf> {
    let base = std::env::var_os("MAILPROOF_CORPUS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
        });
    let path = base.join(sub);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "test corpus missing: {}",
        path.display()
    );
    println!("skipped: test corpus not found at {}", path.display());
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_list_positions_and_duplicates() {
        let mut d = Vec::new();
        let tags = parse_tag_list("v=DKIM1;  k = rsa ; p=AB CD;k=ed25519;", &mut d);
        assert_eq!(tags.len(), 3);
        assert_eq!(tags[1].name, "k");
        assert_eq!(tags[1].value, "rsa");
        assert_eq!(tags[1].pos, 10);
        assert_eq!(tags[1].value_pos, 14);
        assert_eq!(tags[2].value, "AB CD");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].level, Level::Error);
        assert_eq!(d[0].pos, 28);
        assert!(d[0].message.contains("duplicate"));
    }

    #[test]
    fn tag_list_rejects_garbage_without_panicking() {
        let mut d = Vec::new();
        let tags = parse_tag_list("é=1; =x; novalue; 9a=b;;ok=\u{1}", &mut d);
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0].name, "ok");
        assert_eq!(d.iter().filter(|d| d.level == Level::Error).count(), 5);
    }
}
