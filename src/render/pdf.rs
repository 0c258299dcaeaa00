//! The PDF: compile the Typst templates against the evidence and export PDF/A-3b with the
//! evidence attached, reproducibly (same evidence ⇒ same bytes, so `SHA256SUMS` stays stable
//! across re-runs).

use super::world::{ReportWorld, Templates};
use super::{RenderError, TemplateDiagnostic, try_evidence_json};
use crate::evidence::Evidence;
use chrono::{Datelike, Timelike};
use std::path::Path;
use typst::World;
use typst::WorldExt;
use typst::diag::{SourceDiagnostic, Warned};
use typst::foundations::{Datetime, Smart};
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards, Timestamp};

/// Renders the assessment PDF. `templates` is a folder holding `main.typ` (and whatever it
/// imports); `None` uses the built-in templates. `findings_csv` is attached as-is, so pass the
/// same bytes that are written next to the PDF; `poam.csv` is derived from the evidence here,
/// byte for byte as [`super::poam_csv`] writes it.
pub fn render_pdf(
    evidence: &Evidence,
    findings_csv: &[u8],
    templates: Option<&Path>,
) -> Result<Vec<u8>, RenderError> {
    let templates = match templates {
        None => Templates::Builtin,
        Some(dir) => open_dir(dir)?,
    };
    let json = try_evidence_json(evidence)?;
    let mut world = ReportWorld::new(
        templates,
        json,
        findings_csv.to_vec(),
        evidence.generated_at,
    );
    world.serve(super::world::POAM_CSV, super::csv::poam_csv(evidence));
    let result = compile_and_export(&world, evidence);
    // Typst memoizes across compilations; without this a long-lived process keeps growing.
    typst::comemo::evict(0);
    result
}

/// A one-page PDF/A document showing `text` the ways the report shows input text (serif,
/// bold, monospace, in a table cell and as a breakable identifier), through the same door
/// ([`super::document_text`]). The fuzzer and the tests use it to check that no input string
/// can make the export fail.
pub fn probe_text(text: &str) -> Result<Vec<u8>, RenderError> {
    const PROBE: &str = r#"#import "/lib.typ": breakable, mono-font
#let data = json("/data.json")
#set document(title: "probe", date: auto)
#set page(width: 12cm, height: auto, margin: 1cm)
#set text(font: "Libertinus Serif", size: 9.8pt)
#data.s

#strong(data.s)

#text(font: mono-font, data.s)

#table(columns: 2, data.s, text(font: mono-font, breakable(data.s)))
"#;
    let json = serde_json::to_vec(&serde_json::json!({ "s": text }))
        .map_err(|err| RenderError::Serialize(err.to_string()))?;
    let mut world = ReportWorld::new(
        Templates::Builtin,
        json,
        Vec::new(),
        chrono::DateTime::UNIX_EPOCH,
    );
    world.serve(super::world::MAIN, PROBE.as_bytes().to_vec());
    let Warned { output, .. } = typst::compile::<PagedDocument>(&world);
    let document = output.map_err(|errs| RenderError::Template(locate_all(&world, &errs)))?;
    let standards = PdfStandards::new(&[PdfStandard::A_3b])
        .map_err(|err| RenderError::Standards(err.message().to_string()))?;
    let options = PdfOptions {
        standards,
        timestamp: Datetime::from_ymd_hms(2026, 1, 1, 0, 0, 0).map(Timestamp::new_utc),
        ..PdfOptions::default()
    };
    let pdf = typst_pdf::pdf(&document, &options)
        .map_err(|errs| RenderError::Export(locate_all(&world, &errs)));
    typst::comemo::evict(0);
    pdf
}

fn open_dir(dir: &Path) -> Result<Templates, RenderError> {
    let real = dir.canonicalize().map_err(|err| RenderError::TemplateDir {
        path: dir.to_path_buf(),
        message: err.to_string(),
    })?;
    if !real.join("main.typ").is_file() {
        return Err(RenderError::TemplateDir {
            path: dir.to_path_buf(),
            message: "no main.typ in it".into(),
        });
    }
    Ok(Templates::Dir(real))
}

fn compile_and_export(world: &ReportWorld, evidence: &Evidence) -> Result<Vec<u8>, RenderError> {
    let Warned { output, warnings } = typst::compile::<PagedDocument>(world);
    for w in warnings.iter() {
        tracing::warn!(warning = %locate(world, w), "template warning");
    }
    let document = output.map_err(|errs| RenderError::Template(locate_all(world, &errs)))?;
    tracing::debug!(pages = document.pages().len(), "report laid out");

    let standards = PdfStandards::new(&[PdfStandard::A_3b])
        .map_err(|err| RenderError::Standards(err.message().to_string()))?;
    let options = PdfOptions {
        ident: Smart::Custom(format!(
            "mailproof:{}:{}",
            evidence.organization, evidence.period.label
        )),
        timestamp: timestamp(evidence),
        standards,
        ..PdfOptions::default()
    };
    typst_pdf::pdf(&document, &options)
        .map_err(|errs| RenderError::Export(locate_all(world, &errs)))
}

fn timestamp(evidence: &Evidence) -> Option<Timestamp> {
    let t = evidence.generated_at;
    let dt = Datetime::from_ymd_hms(
        t.year(),
        u8::try_from(t.month()).ok()?,
        u8::try_from(t.day()).ok()?,
        u8::try_from(t.hour()).ok()?,
        u8::try_from(t.minute()).ok()?,
        u8::try_from(t.second()).ok()?,
    )?;
    Some(Timestamp::new_utc(dt))
}

fn locate_all(world: &ReportWorld, diags: &[SourceDiagnostic]) -> Vec<TemplateDiagnostic> {
    diags.iter().map(|d| locate(world, d)).collect()
}

/// Turns a Typst diagnostic into file:line:column. When the error itself has no location
/// (e.g. raised inside a built-in function), the innermost call site in the trace is used.
fn locate(world: &ReportWorld, diag: &SourceDiagnostic) -> TemplateDiagnostic {
    let spans = std::iter::once(diag.span).chain(diag.trace.iter().map(|t| t.span.into()));
    let mut out = TemplateDiagnostic {
        file: None,
        line: None,
        column: None,
        message: diag.message.to_string(),
        hints: diag
            .hints
            .iter()
            .map(|h| h.v.to_string())
            // The CLI's `--root` advice does not apply: our root is the template folder.
            .filter(|h| !h.contains("--root"))
            .collect(),
    };
    if let Some((span, id)) = spans
        .into_iter()
        .find_map(|span| span.id().map(|id| (span, id)))
    {
        out.file = Some(world.templates().display_name(id.vpath()));
        if let (Some(range), Ok(source)) = (world.range(span), world.source(id))
            && let Some((line, col)) = source.lines().byte_to_line_column(range.start)
        {
            out.line = Some(line + 1);
            out.column = Some(col + 1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::tests_support::evidence_with;
    use std::process::Command;

    /// Renders the built-in template against `evidence`, with `risk_matrix` (if any) added to
    /// the JSON the template reads, and returns the PDF text (`None` without pdftotext).
    fn text_with_matrix(matrix: Option<serde_json::Value>) -> Option<String> {
        let evidence = evidence_with(vec![], "2026-10");
        let mut json = serde_json::to_value(&evidence).expect("evidence serializes");
        if let (Some(m), Some(obj)) = (matrix, json.as_object_mut()) {
            obj.insert("risk_matrix".into(), m);
        }
        let bytes = serde_json::to_vec(&json).expect("JSON serializes");
        let world = ReportWorld::new(Templates::Builtin, bytes, vec![], evidence.generated_at);
        let pdf = compile_and_export(&world, &evidence).unwrap_or_else(|err| panic!("{err}"));
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("r.pdf");
        std::fs::write(&path, pdf).expect("write PDF");
        let out = Command::new("pdftotext").arg(&path).arg("-").output();
        match out {
            Ok(out) if out.status.success() => {
                Some(String::from_utf8_lossy(&out.stdout).into_owned())
            }
            _ => {
                eprintln!("pdftotext not available: matrix check skipped");
                None
            }
        }
    }

    /// Renders the built-in template against arbitrary JSON (which `Evidence` itself could not
    /// produce: keys missing, wrong types) and returns the PDF text, whitespace collapsed
    /// (`None` without pdftotext). Panics if the template fails on it.
    fn text_of_json(json: &serde_json::Value) -> Option<String> {
        let evidence = evidence_with(vec![], "2026-10");
        let bytes = serde_json::to_vec(json).expect("JSON serializes");
        let world = ReportWorld::new(Templates::Builtin, bytes, vec![], evidence.generated_at);
        let pdf = compile_and_export(&world, &evidence).unwrap_or_else(|err| panic!("{err}"));
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("r.pdf");
        std::fs::write(&path, pdf).expect("write PDF");
        match Command::new("pdftotext").arg(&path).arg("-").output() {
            Ok(out) if out.status.success() => Some(
                String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            _ => {
                eprintln!("pdftotext not available: text check skipped");
                None
            }
        }
    }

    /// Evidence carrying every field added after the first schema, as JSON.
    fn evidence_with_new_fields() -> serde_json::Value {
        use serde_json::json;
        let mut e = evidence_with(vec![], "2026-10");
        e.scope = vec![("a.test".into(), "patient".into())];
        let mut json = serde_json::to_value(&e).expect("evidence serializes");
        json["domains"] = json!([{
            "domain": "a.test", "role": "patient", "grade": "partial", "mx": [], "raw": [],
            "mta_sts": null, "tls_rpt": null, "bimi": null,
            "spf": {"record": "v=spf1 -all", "status": "found", "lookups": 0, "void_lookups": 0,
                    "all": "-all", "tree": [], "errors": [], "warnings": []},
            "spf_size_octets": 11, "dnssec": "validated",
            "dmarc": {"record": "v=DMARC1; p=reject", "status": "found", "location": null,
                      "p": "reject", "sp": null, "np": null, "pct": null, "t": null,
                      "adkim": null, "aspf": null, "rua": [], "ruf": [], "errors": [],
                      "warnings": [], "org_domain": "a.test",
                      "destinations": [{"kind": "rua", "uri": "mailto:r@b.test", "host": "b.test",
                        "external": true, "authorization": "authorized", "mx": [],
                        "mx_outcome": "nodata"}]},
            "dkim": [{"selector": "s1", "status": "testing", "key_type": "rsa", "key_bits": 2048,
                      "fingerprint": null, "record": null, "cname_chain": [], "sources": [],
                      "errors": [], "warnings": [], "hash_algorithms": ["sha256"],
                      "testing": true, "services": ["email"]}],
        }]);
        json["reports"]["detail"] = json!({
            "recomputed": {"messages": 10, "dmarc_pass": 5, "spf_aligned": 5, "dkim_aligned": 5},
            "disagreements": 2, "reporter_lenient": 1, "source_rows": 3, "distinct_rows": 2,
            "per_domain": [{"domain": "a.test", "disagreements": 2, "reasons": [["forwarded", 2]],
                "recomputed": {"messages": 10, "dmarc_pass": 5, "spf_aligned": 5, "dkim_aligned": 5},
                "top_failing": [],
                "daily": [{"day": "2026-10-03", "messages": 10, "dmarc_pass": 5}]}],
            "per_vendor": [], "unattributed_networks": [], "unattributed_ptr": [],
            "daily_rule": "midpoint rule",
        });
        json
    }

    /// Removes `key` from every object in `v`, however deep.
    fn strip(v: &mut serde_json::Value, key: &str) {
        match v {
            serde_json::Value::Object(map) => {
                map.remove(key);
                map.values_mut().for_each(|x| strip(x, key));
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|x| strip(x, key)),
            _ => {}
        }
    }

    #[test]
    fn evidence_from_before_the_new_fields_still_renders() {
        let full = evidence_with_new_fields();
        let Some(text) = text_of_json(&full) else {
            return;
        };
        // Present, they are shown...
        for expected in [
            "DNSSEC validated",
            "mailto:r@b.test",
            "h=sha256",
            "midpoint rule",
            "For 2 of 10 messages",
        ] {
            assert!(text.contains(expected), "missing {expected:?}");
        }
        // ...and an older file without them renders, with the fallbacks instead.
        let mut old = full;
        for key in [
            "detail",
            "destinations",
            "org_domain",
            "hash_algorithms",
            "testing",
            "services",
            "spf_size_octets",
            "dnssec",
        ] {
            strip(&mut old, key);
        }
        let text = text_of_json(&old).expect("pdftotext ran before");
        assert!(text.contains("No re-evaluated verdicts are available"));
        assert!(text.contains("No daily series is recorded"));
        assert!(!text.contains("mailto:r@b.test") && !text.contains("DNSSEC"));
        assert!(
            text.contains("0 of 1 meet policy"),
            "DKIM cell without flags"
        );
    }

    #[test]
    fn hand_edited_detail_of_the_wrong_shape_does_not_break_the_render() {
        use serde_json::json;
        let mut e = evidence_with_new_fields();
        e["reports"]["detail"] = json!({
            "recomputed": {"messages": "ten", "dmarc_pass": null},
            "disagreements": "many",
            "per_domain": [7, {"domain": ["x"], "reasons": [[1, 2, 3], ["ok", "x"], "bad"],
                "daily": [{"day": 5, "messages": 3}, "junk", {"day": "2026-10-02", "messages": -4,
                           "dmarc_pass": 99}]}],
            "per_vendor": {"not": "a list"},
            "unattributed_networks": [{"group": null, "header_from": "x"}],
            "daily_rule": 12,
        });
        e["domains"][0]["dmarc"]["destinations"] = json!([null, {"external": "yes", "mx": 3}]);
        e["domains"][0]["dkim"] =
            json!([{"status": 1, "hash_algorithms": "sha1", "key_bits": "big"}]);
        e["domains"][0]["spf_size_octets"] = json!("big");
        let Some(text) = text_of_json(&e) else {
            return;
        };
        assert!(text.contains("No re-evaluated verdicts are available"));
        assert!(text.contains("0 of 1 meet policy"));
    }

    #[test]
    fn risk_matrix_comes_from_the_evidence_when_present_and_valid() {
        let Some(builtin) = text_with_matrix(None) else {
            return;
        };
        let count = |t: &str| t.matches("Very High").count();
        // SP 800-30 Table I-2 has two Very High cells; a matrix of 25 shows 23 more.
        let all_vh = serde_json::json!(vec![vec!["very-high"; 5]; 5]);
        let from_data = text_with_matrix(Some(all_vh)).expect("pdftotext ran before");
        assert_eq!(count(&from_data), count(&builtin) + 23);
        // A malformed matrix (wrong shape, unknown level) falls back to the published table.
        for bad in [
            serde_json::json!(vec![vec!["very-high"; 5]; 4]),
            serde_json::json!(vec![vec!["extreme"; 5]; 5]),
            serde_json::json!("very-high"),
        ] {
            let text = text_with_matrix(Some(bad)).expect("pdftotext ran before");
            assert_eq!(count(&text), count(&builtin));
        }
    }
}
