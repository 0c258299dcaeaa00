//! The `_smtp._tls` TXT record (RFC 8460 §3): where senders send SMTP TLS reports, which are
//! the only way a domain learns that mail to it failed TLS or fell back to plain text.

use serde::{Deserialize, Serialize};

use super::{Diagnostic, Field, Level, clip, error, version_fields, warning};

/// One `rua` destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuaUri {
    pub uri: String,
    /// `mailto` or `https`; anything else is an error diagnostic and not kept.
    pub scheme: String,
    /// Byte offset of the URI in the record text.
    pub pos: usize,
}

/// A parsed TLS-RPT record.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TlsRptRecord {
    pub text: String,
    pub rua: Vec<RuaUri>,
    pub diagnostics: Vec<Diagnostic>,
}

impl TlsRptRecord {
    /// Senders report only to a record that is well formed and names a destination.
    pub fn is_valid(&self) -> bool {
        !self.rua.is_empty() && !self.diagnostics.iter().any(|d| d.level == Level::Error)
    }
}

/// RFC 8460 §3: records that do not begin with `v=TLSRPTv1` are discarded.
pub fn is_tls_rpt_record(text: &str) -> bool {
    crate::snapshot::starts_with_tag(text, "v=TLSRPTv1")
}

/// Parses the record: `v=TLSRPTv1` first, then `rua=` with comma-separated `mailto:` or
/// `https:` URIs; extension fields are ignored.
pub fn parse(text: &str) -> TlsRptRecord {
    let mut rec = TlsRptRecord {
        text: text.to_string(),
        ..Default::default()
    };
    let mut seen_rua = false;
    let fields = version_fields(
        text,
        "TLSRPTv1",
        "the record must begin with v=TLSRPTv1 (RFC 8460 §3); senders discard it",
        &mut rec.diagnostics,
    );
    let empty = fields.is_empty() && rec.diagnostics.iter().any(|d| d.message == "empty record");
    for Field {
        pos: at,
        name,
        value,
        value_pos: value_at,
    } in fields
    {
        match name {
            "rua" if seen_rua => rec
                .diagnostics
                .push(error(at, "rua= appears twice; the record is invalid")),
            "rua" => {
                seen_rua = true;
                let mut off = 0usize;
                for part in value.split(',') {
                    let here = value_at + off;
                    off += part.len() + 1;
                    let lead = part.len() - part.trim_start().len();
                    let uri = part.trim();
                    let at = here + lead;
                    if uri.is_empty() {
                        rec.diagnostics
                            .push(warning(at, "empty rua entry (stray comma)"));
                        continue;
                    }
                    let scheme = uri
                        .split_once(':')
                        .map(|(s, _)| s.to_ascii_lowercase())
                        .unwrap_or_default();
                    let ok = match scheme.as_str() {
                        "mailto" => uri.split_once(':').is_some_and(|(_, a)| {
                            a.split_once('@')
                                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
                        }),
                        "https" => {
                            uri.len() > "https://".len()
                                && uri[..8].eq_ignore_ascii_case("https://")
                        }
                        _ => false,
                    };
                    if ok {
                        rec.rua.push(RuaUri {
                            uri: uri.to_string(),
                            scheme,
                            pos: at,
                        });
                    } else {
                        rec.diagnostics.push(error(
                            at,
                            format!(
                                "rua `{}` is not a mailto: address or an https: URL (RFC 8460 §3)",
                                clip(uri)
                            ),
                        ));
                    }
                }
            }
            "v" => rec
                .diagnostics
                .push(error(at, "v= appears twice; the record is invalid")),
            _ => {}
        }
    }
    if !empty && !seen_rua {
        rec.diagnostics.push(error(
            text.len(),
            "no rua= field: senders have nowhere to send reports",
        ));
    }
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_schemes_are_read_with_positions() {
        let r = parse("v=TLSRPTv1; rua=mailto:tls@example.com, https://r.example.net/v1");
        assert!(r.is_valid(), "{:?}", r.diagnostics);
        assert_eq!(r.rua.len(), 2);
        assert_eq!(r.rua[0].scheme, "mailto");
        assert_eq!(r.rua[0].pos, 16);
        assert_eq!(r.rua[1].scheme, "https");
        assert_eq!(&r.text[r.rua[1].pos..r.rua[1].pos + 5], "https");
        assert!(is_tls_rpt_record("v=TLSRPTv1;rua=mailto:a@b.c"));
    }

    #[test]
    fn bad_records_say_why() {
        let r = parse("v=TLSRPTv1; rua=http://plain.example/");
        assert!(!r.is_valid());
        assert!(r.diagnostics[0].message.contains("not a mailto"));
        assert!(!parse("v=TLSRPTv1;").is_valid());
        assert!(!parse("rua=mailto:a@b.example; v=TLSRPTv1").is_valid());
        assert!(!parse("v=TLSRPTv1; rua=mailto:a@b.example; rua=mailto:c@d.example").is_valid());
        assert!(!parse("v=TLSRPTv1; rua=mailto:nobody").is_valid());
        assert!(!parse("").is_valid());
        // Multi-byte text never splits a character.
        assert!(!is_tls_rpt_record("v=TLSRPTé"));
        assert!(!parse("v=TLSRPTv1; rua=httpsé://x").is_valid());
    }
}
