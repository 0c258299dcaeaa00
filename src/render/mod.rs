//! Publishing: the PDF report (Typst) and the findings CSV.
//!
//! Rendering only presents what `assess` decided: it reads [`Evidence`] and may sort, filter
//! and count for display, but never judges. The PDF carries its own evidence (the exact
//! `evidence.json` bytes and the findings CSV are attached), so an auditor holding only the PDF
//! can still re-verify it years later.

pub mod csv;
pub mod document_text;
pub mod fonts;
pub mod pdf;
pub mod world;

#[cfg(test)]
mod tests;

pub use self::csv::{findings_csv, poam_csv};
pub use self::pdf::render_pdf;

use crate::evidence::{Evidence, Finding};
use std::cmp::Reverse;
use std::path::PathBuf;

/// Why a render failed. Template problems name the file, line and column, so whoever maintains
/// a custom template can fix it without the Typst CLI.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template folder {path}: {message}")]
    TemplateDir { path: PathBuf, message: String },
    #[error("template error: {}", join_diagnostics(.0))]
    Template(Vec<TemplateDiagnostic>),
    #[error("PDF export failed: {}", join_diagnostics(.0))]
    Export(Vec<TemplateDiagnostic>),
    #[error("PDF export settings rejected: {0}")]
    Standards(String),
    #[error("cannot serialize evidence: {0}")]
    Serialize(String),
}

/// One Typst error or warning, located in the template that caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateDiagnostic {
    /// Template file (e.g. `main.typ`, or the full path inside a `--templates` folder);
    /// `None` when Typst could not attribute the problem to a file.
    pub file: Option<String>,
    /// 1-based line and column, when the file is a Typst source.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    pub hints: Vec<String>,
}

impl std::fmt::Display for TemplateDiagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.file, self.line, self.column) {
            (Some(file), Some(line), Some(col)) => write!(f, "{file}:{line}:{col}: ")?,
            (Some(file), _, _) => write!(f, "{file}: ")?,
            _ => {}
        }
        f.write_str(&self.message)?;
        for hint in &self.hints {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

fn join_diagnostics(diags: &[TemplateDiagnostic]) -> String {
    if diags.is_empty() {
        return "no diagnostic given".into();
    }
    diags
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The `evidence.json` bytes, exactly as written next to the PDF and attached inside it, so the
/// attachment and the file hash the same.
pub fn try_evidence_json(e: &Evidence) -> Result<Vec<u8>, RenderError> {
    let mut bytes =
        serde_json::to_vec_pretty(e).map_err(|err| RenderError::Serialize(err.to_string()))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Infallible form of [`try_evidence_json`] for callers that write the file. Serializing
/// `Evidence` cannot fail (every map key is a string); should it ever, the error is logged and
/// the result is empty. [`render_pdf`] uses the fallible form and reports the error instead.
pub fn evidence_json(e: &Evidence) -> Vec<u8> {
    try_evidence_json(e).unwrap_or_else(|err| {
        tracing::error!(%err, "evidence.json serialization failed");
        Vec::new()
    })
}

/// Findings in report order: risk (highest first), then severity (highest first), then check
/// ID and subject, so the PDF, the CSV and any later diff list them identically.
pub fn sorted_findings(e: &Evidence) -> Vec<&Finding> {
    let mut v: Vec<&Finding> = e.findings.iter().collect();
    v.sort_by(|a, b| {
        (Reverse(a.risk), Reverse(a.severity), &a.check, &a.subject).cmp(&(
            Reverse(b.risk),
            Reverse(b.severity),
            &b.check,
            &b.subject,
        ))
    });
    v
}
