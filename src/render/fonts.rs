//! The fonts a report may use, all embedded in the binary: typst-assets' own, then fallbacks
//! for the scripts those do not draw. The world serves them to Typst, and the one door for
//! input text ([`super::document_text`]) asks them what can be drawn.

use std::sync::LazyLock;
use typst::foundations::Bytes;
use typst::text::Font;

/// Fallback fonts for the scripts that typst-assets' fonts do not draw (see `fonts/README.md`).
/// Names of senders, vendors and receivers arrive in them, and PDF/A refuses a missing glyph.
const FALLBACK_FONTS: &[&[u8]] = &[
    include_bytes!("../../fonts/wqy-microhei.ttc"),
    include_bytes!("../../fonts/NotoSansArabic-Regular.ttf"),
    include_bytes!("../../fonts/NotoSansDevanagari-Regular.ttf"),
    include_bytes!("../../fonts/NotoSansHebrew-Regular.ttf"),
    include_bytes!("../../fonts/NotoSansThai-Regular.ttf"),
];

/// Fonts bundled with typst-assets, then the fallbacks, parsed once per process. Using only
/// these (never system fonts) makes the PDF identical on every machine.
pub static FONTS: LazyLock<Vec<Font>> = LazyLock::new(|| {
    typst_assets::fonts()
        .chain(FALLBACK_FONTS.iter().copied())
        .flat_map(|data| Font::iter(Bytes::new(data)))
        .collect()
});

/// Whether every embedded font that has `base` also has each character of `rest`: then the
/// cluster draws whichever of those fonts Typst picks for it.
pub fn fonts_covering_cover(base: char, rest: &str) -> bool {
    FONTS
        .iter()
        .map(|font| &font.info().coverage)
        .filter(|cov| cov.contains(u32::from(base)))
        .all(|cov| rest.chars().all(|c| cov.contains(u32::from(c))))
}

/// Whether some embedded font has a glyph for `c`: what Typst's fallback can find, and so
/// what may reach the PDF (see [`super::document_text`]).
pub fn font_covers(c: char) -> bool {
    FONTS
        .iter()
        .any(|font| font.info().coverage.contains(u32::from(c)))
}
