//! The one door through which input text enters the PDF.
//!
//! Every string a template can show comes from the evidence, and much of the evidence was
//! written by strangers (a report's `org_name`, a zip member's name) or typed into a
//! spreadsheet. PDF/A refuses a character that no embedded font can draw, and Typst's layout
//! time grows quickly with the length of one unbreakable string, so a single emoji or a
//! 65,000-character name used to cost the month its PDF. Here every string of the JSON the
//! templates read keeps what the embedded fonts draw; anything else is shown visibly as
//! `‹U+XXXX›`, and a string longer than [`DOCUMENT_TEXT_MAX_CHARS`] is cut with a note of how
//! much was left out. The raw values stay intact in `evidence.json` and its attachment.

use super::fonts::{font_covers, fonts_covering_cover};
use serde_json::Value;
use std::borrow::Cow;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use unicode_segmentation::UnicodeSegmentation;

/// Longest string shown in the document, in characters. It holds any real DNS record (a
/// 4096-bit DKIM key is about 750 characters) and the longest text mailproof writes itself
/// (a cause's remediation, under 2,000); a longer value is someone else's payload and is cut.
pub const DOCUMENT_TEXT_MAX_CHARS: usize = 4096;

/// `s` as the document shows it: composed (NFC), drawable characters kept, the rest as
/// `‹U+XXXX›`, cut at [`DOCUMENT_TEXT_MAX_CHARS`] with "… (N more characters)".
pub fn printable(s: &str) -> Cow<'_, str> {
    let total = s.chars().count();
    if total <= DOCUMENT_TEXT_MAX_CHARS && s.chars().all(|c| drawable(c) && !is_mark(c)) {
        return Cow::Borrowed(s);
    }
    let head: String = s.chars().take(DOCUMENT_TEXT_MAX_CHARS).nfc().collect();
    let mut out = String::with_capacity(head.len() + 32);
    for cluster in head.graphemes(true) {
        let mut chars = cluster.chars();
        let Some(first) = chars.next() else { continue };
        let rest = chars.as_str();
        if drawable(first) && (rest.is_empty() || cluster_drawable(first, rest)) {
            out.push_str(cluster);
            continue;
        }
        push_char(&mut out, first);
        for c in rest.chars() {
            push_code_point(&mut out, c);
        }
    }
    if total > DOCUMENT_TEXT_MAX_CHARS {
        let more = total - DOCUMENT_TEXT_MAX_CHARS;
        out.push_str(&format!(
            "… ({} more {})",
            more,
            if more == 1 { "character" } else { "characters" }
        ));
    }
    Cow::Owned(out)
}

fn push_char(out: &mut String, c: char) {
    if drawable(c) {
        out.push(c);
    } else {
        push_code_point(out, c);
    }
}

fn push_code_point(out: &mut String, c: char) {
    out.push_str(&format!("‹U+{:04X}›", u32::from(c)));
}

fn is_mark(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::NonspacingMark
            | GeneralCategory::SpacingMark
            | GeneralCategory::EnclosingMark
    )
}

/// Whether a cluster of several characters (a base and its marks or joiners) draws as one.
/// Typst shapes a cluster with a single font: the first of its font list that has the base,
/// or else the one fallback it picks for the base. Only when every font that has the base
/// also has the rest is the choice sure to succeed, whichever Typst makes.
fn cluster_drawable(first: char, rest: &str) -> bool {
    rest.chars()
        .all(|c| drawable(c) || matches!(c, '\u{200C}' | '\u{200D}'))
        && fonts_covering_cover(first, rest)
}

/// The JSON the templates read: `evidence_json` with every string, keys included, passed
/// through [`printable`]. Bytes that are not JSON are returned unchanged, so the template
/// reports the problem as it would have.
pub fn document_json(evidence_json: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<Value>(evidence_json) {
        Ok(value) => {
            serde_json::to_vec(&printable_value(value)).unwrap_or_else(|_| evidence_json.to_vec())
        }
        Err(_) => evidence_json.to_vec(),
    }
}

fn printable_value(value: Value) -> Value {
    match value {
        Value::String(s) => match printable(&s) {
            Cow::Borrowed(_) => Value::String(s),
            Cow::Owned(o) => Value::String(o),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(printable_value).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (printable(&k).into_owned(), printable_value(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Whether `c` may reach Typst as it is. A line feed is kept (mailproof's own texts use it to
/// separate steps). Control, format, separator, private-use and unassigned characters are never
/// kept: they are invisible or reorder the text around them (a right-to-left override in a
/// sender's name could disguise it), so an auditor must see that they are there. The two
/// joiners that Arabic and Indic names need are the exception.
fn drawable(c: char) -> bool {
    if c == '\n' {
        return true;
    }
    match c.general_category() {
        GeneralCategory::Control
        | GeneralCategory::Surrogate
        | GeneralCategory::PrivateUse
        | GeneralCategory::Unassigned
        | GeneralCategory::LineSeparator
        | GeneralCategory::ParagraphSeparator => false,
        GeneralCategory::Format => matches!(c, '\u{200C}' | '\u{200D}') && font_covers(c),
        _ => font_covers(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawable_text_passes_unchanged() {
        for s in [
            "Riverside Health",
            "Ελληνικά",
            "Кириллица",
            "中文 日本語 한국어",
            "ไทย",
        ] {
            assert!(matches!(printable(s), Cow::Borrowed(_)), "{s}");
        }
    }

    #[test]
    fn what_no_font_draws_is_shown_by_code_point() {
        assert_eq!(printable("a\u{1b}b"), "a‹U+001B›b");
        assert_eq!(printable("x\u{FFFF}"), "x‹U+FFFF›");
        assert_eq!(printable("\u{1F600}"), "‹U+1F600›");
        assert_eq!(printable("evil\u{202E}gnp.exe"), "evil‹U+202E›gnp.exe");
        assert_eq!(printable("\u{E000}"), "‹U+E000›");
        assert_eq!(printable("a\u{200B}b"), "a‹U+200B›b");
        assert_eq!(printable("tab\there"), "tab‹U+0009›here");
        assert_eq!(printable("line\nbreak"), "line\nbreak");
        // A decomposed accent is composed; a mark no font draws with its base is shown.
        assert_eq!(printable("e\u{301}"), "é");
        assert_eq!(printable("o\u{20DD}"), "o‹U+20DD›");
        assert!(matches!(printable("हिन्दी ไทย"), Cow::Owned(ref s) if s == "हिन्दी ไทย"));
    }

    #[test]
    fn long_values_are_cut_with_the_count_left_out() {
        let at = "a".repeat(DOCUMENT_TEXT_MAX_CHARS);
        assert_eq!(printable(&at), at);
        let over = "b".repeat(DOCUMENT_TEXT_MAX_CHARS + 1);
        let shown = printable(&over);
        assert!(shown.ends_with("… (1 more character)"), "{shown}");
        let long = "é".repeat(65_000);
        let shown = printable(&long);
        assert!(shown.ends_with(&format!(
            "… ({} more characters)",
            65_000 - DOCUMENT_TEXT_MAX_CHARS
        )));
        assert_eq!(
            shown.chars().filter(|&c| c == 'é').count(),
            DOCUMENT_TEXT_MAX_CHARS
        );
    }

    #[test]
    fn json_keys_and_values_are_both_made_printable() {
        let json = br#"{"org\u001b":["ok","\u0007"],"n":3}"#;
        let out: Value = serde_json::from_slice(&document_json(json)).unwrap();
        assert_eq!(out["org‹U+001B›"][1], "‹U+0007›");
        assert_eq!(out["n"], 3);
    }
}
