//! What reaches a terminal or a log. Report file names, zip member names and report fields are
//! written by strangers; printed as they are, an ESC byte in one can recolor the terminal,
//! move the cursor or rewrite what an operator reads, and a BEL or NUL garbles the cron mail.
//! Every byte mailproof writes to stdout or stderr passes [`Escaping`], which shows such
//! characters as `\uXXXX`: readable on a terminal, and in JSON the same escape JSON itself
//! uses, so JSON output stays valid and means the same.

use std::borrow::Cow;
use std::io::Write;

/// Whether `c` must not reach a terminal as it is: C0 controls but line feed and tab, DEL, C1
/// controls, and the bidirectional overrides and isolates (which reorder the text around them,
/// so a name can be made to read as another).
fn unsafe_for_terminal(c: char) -> bool {
    match c {
        '\n' | '\t' => false,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

/// `s` with every character a terminal would act on written as `\uXXXX`.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unsafe_for_terminal) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if unsafe_for_terminal(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A writer that escapes what it passes on (see [`escape`]); invalid UTF-8 becomes U+FFFD. A
/// character split across two writes (a buffered writer flushes at any byte) is held until
/// its last byte arrives.
pub struct Escaping<W: Write> {
    inner: W,
    held: Vec<u8>,
}

impl<W: Write> Escaping<W> {
    pub fn new(inner: W) -> Self {
        Escaping {
            inner,
            held: Vec::new(),
        }
    }

    /// Passes on bytes held back as an incomplete character (at the end of the output they
    /// are invalid UTF-8, shown as U+FFFD).
    fn drain_held(&mut self) -> std::io::Result<()> {
        if !self.held.is_empty() {
            let text = String::from_utf8_lossy(&self.held).into_owned();
            self.held.clear();
            self.inner.write_all(escape(&text).as_bytes())?;
        }
        Ok(())
    }
}

impl<W: Write> Write for Escaping<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.held.extend_from_slice(buf);
        // Hold back a trailing incomplete character; everything before it goes out now.
        let cut = match std::str::from_utf8(&self.held) {
            Ok(_) => self.held.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => self.held.len(),
        };
        let rest = self.held.split_off(cut);
        let text = String::from_utf8_lossy(&self.held).into_owned();
        self.held = rest;
        self.inner.write_all(escape(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> Drop for Escaping<W> {
    fn drop(&mut self) {
        let _ = self.drain_held();
        let _ = self.inner.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(escape("plain name.xml"), "plain name.xml");
        assert_eq!(escape("a\u{1b}[31mb\u{7}\0"), "a\\u001b[31mb\\u0007\\u0000");
        assert_eq!(escape("x\u{85}y\u{202e}z"), "x\\u0085y\\u202ez");
        assert_eq!(escape("tab\tand\nline"), "tab\tand\nline");
        assert_eq!(escape("中文 ไทย"), "中文 ไทย");
    }

    #[test]
    fn json_through_the_writer_stays_valid_and_equal() {
        let value = serde_json::json!({ "name": "evil\u{85}\u{202e}\u{1b}" });
        let mut bytes = Vec::new();
        serde_json::to_writer(Escaping::new(&mut bytes), &value).unwrap();
        let back: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, value);
        assert!(!String::from_utf8(bytes).unwrap().contains('\u{202e}'));
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let mut bytes = Vec::new();
        Escaping::new(&mut bytes).write_all(b"a\xffb").unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), "a\u{fffd}b");
    }

    #[test]
    fn a_character_split_across_writes_arrives_whole() {
        let mut bytes = Vec::new();
        {
            let mut w = Escaping::new(&mut bytes);
            let s = "中\u{85}".as_bytes();
            for b in s {
                w.write_all(std::slice::from_ref(b)).unwrap();
            }
        }
        assert_eq!(String::from_utf8(bytes).unwrap(), "中\\u0085");
    }
}
