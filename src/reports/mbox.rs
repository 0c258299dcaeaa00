//! Splitting a Unix mailbox into messages while reading it.
//!
//! Report mailboxes exported from a mail client hold thousands of messages; parsedmarc users
//! ran out of memory on 98k of them. The reader holds one message at a time, and bounds both
//! the line length and the message size, so a hostile mailbox costs a rejection, not memory.

use super::open::{OpenError, looks_like_email};
use std::io::Read;

/// Whether a file is a Unix mailbox: it starts with a `From ` separator line followed by a
/// header line. Such files can hold thousands of messages, so they are read message by
/// message ([`MboxReader`]) instead of whole.
pub fn is_mbox(head: &[u8]) -> bool {
    // Mail exports often start with a byte-order mark or blank lines before the first
    // separator; the reader skips those too.
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    let head = &head[start..];
    head.starts_with(b"From ") && (looks_like_email(head) || is_separator(head))
}

/// Whether the first line is an mbox separator by its own form, `From <sender> <date>` with
/// a time (`hh:mm:ss`) and a year: then the file is a mailbox even when its first message is
/// empty or damaged, and the messages after it are still read.
fn is_separator(head: &[u8]) -> bool {
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let Ok(line) = std::str::from_utf8(&head[..line_end]) else {
        return false;
    };
    let mut words = line.split_whitespace();
    if words.next() != Some("From") || words.next().is_none() {
        return false;
    }
    let rest: Vec<&str> = words.collect();
    let time = rest.iter().any(|w| {
        w.len() >= 7
            && w.matches(':').count() == 2
            && w.chars().all(|c| c.is_ascii_digit() || c == ':')
    });
    let year = rest
        .iter()
        .any(|w| w.len() == 4 && w.chars().all(|c| c.is_ascii_digit()));
    time && year
}

/// The longest mbox line kept in memory; longer lines mark their message as too large.
pub const MBOX_MAX_LINE: u64 = 4 << 20;

/// Splits a Unix mailbox (mboxo/mboxrd) into messages while reading it, holding one message
/// at a time. A message starts at a `From ` line at the start of the file or after an empty
/// line; `>From ` quoting (mboxrd) is undone. A message over `max_message` bytes is reported
/// as too large and skipped, so one oversized message costs neither memory nor the rest.
pub struct MboxReader<R> {
    reader: R,
    max_message: u64,
    line: Vec<u8>,
    /// The separator line already read for the next message.
    pending: bool,
    number: usize,
    done: bool,
    overlong: bool,
}

/// One message of a mailbox: its 1-based number and content, or why it was skipped.
pub type MboxMessage = (usize, Result<Vec<u8>, OpenError>);

impl<R: std::io::BufRead> MboxReader<R> {
    pub fn new(reader: R, max_message: u64) -> Self {
        MboxReader {
            reader,
            max_message,
            line: Vec::new(),
            overlong: false,
            pending: false,
            number: 0,
            done: false,
        }
    }

    /// Reads one line, keeping at most [`MBOX_MAX_LINE`] bytes of it: the rest of an overlong
    /// line is skipped without being stored (a 600 MB line must not cost 600 MB), and
    /// `overlong` is set so the message it belongs to is dropped as too large.
    fn read_line(&mut self) -> Result<bool, OpenError> {
        use std::io::BufRead as _;
        self.line.clear();
        let io = |e: std::io::Error| OpenError::Io(e.to_string());
        let n = (&mut self.reader)
            .take(MBOX_MAX_LINE)
            .read_until(b'\n', &mut self.line)
            .map_err(io)?;
        if n as u64 == MBOX_MAX_LINE && self.line.last() != Some(&b'\n') {
            self.overlong = true;
            loop {
                let buf = self.reader.fill_buf().map_err(io)?;
                if buf.is_empty() {
                    break;
                }
                match buf.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        self.reader.consume(i + 1);
                        break;
                    }
                    None => {
                        let len = buf.len();
                        self.reader.consume(len);
                    }
                }
            }
        }
        Ok(n > 0)
    }
}

impl<R: std::io::BufRead> Iterator for MboxReader<R> {
    type Item = MboxMessage;

    fn next(&mut self) -> Option<MboxMessage> {
        if self.done {
            return None;
        }
        if !self.pending {
            // Skip to the first separator (leading blank lines are tolerated).
            loop {
                match self.read_line() {
                    Ok(true) if self.line.starts_with(b"From ") => break,
                    Ok(true) => continue,
                    Ok(false) => {
                        self.done = true;
                        return None;
                    }
                    Err(e) => {
                        self.done = true;
                        return Some((self.number + 1, Err(e)));
                    }
                }
            }
        }
        self.pending = false;
        self.number += 1;
        let mut message: Vec<u8> = Vec::new();
        let mut too_large = false;
        let mut previous_blank = false;
        loop {
            match self.read_line() {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    break;
                }
                Err(e) => {
                    self.done = true;
                    return Some((self.number, Err(e)));
                }
            }
            if previous_blank && self.line.starts_with(b"From ") {
                self.pending = true;
                break;
            }
            previous_blank = self.line == b"\n" || self.line == b"\r\n";
            if std::mem::take(&mut self.overlong) {
                too_large = true;
                message = Vec::new();
            }
            if too_large {
                continue;
            }
            let body: &[u8] = match self.line.iter().position(|&b| b != b'>') {
                Some(q) if q > 0 && self.line[q..].starts_with(b"From ") => &self.line[1..],
                _ => &self.line,
            };
            if (message.len() + body.len()) as u64 > self.max_message {
                too_large = true;
                message = Vec::new();
                continue;
            }
            message.extend_from_slice(body);
        }
        if too_large {
            return Some((
                self.number,
                Err(OpenError::MessageTooLarge(self.max_message)),
            ));
        }
        Some((self.number, Ok(message)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbox_is_split_into_messages_and_unquoted() {
        let mbox = b"From a@b Mon Nov  2 10:00:00 2026\nSubject: one\n\nbody 1\n>From quoted\n\n\
From c@d Mon Nov  2 11:00:00 2026\nSubject: two\n\nbody 2\nFrom not-a-separator\n\n\
From e@f Mon Nov  2 12:00:00 2026\nSubject: 3\n\nx\n";
        assert!(is_mbox(mbox));
        assert!(!is_mbox(b"Subject: x\n\nFrom y"));
        let mut padded = b"\xEF\xBB\xBF\r\n\n".to_vec();
        padded.extend_from_slice(mbox);
        assert!(is_mbox(&padded), "leading BOM and blank lines");
        let msgs: Vec<MboxMessage> = MboxReader::new(&mbox[..], 1 << 20).collect();
        assert_eq!(msgs.len(), 3);
        assert_eq!(
            msgs[0],
            (1, Ok(b"Subject: one\n\nbody 1\nFrom quoted\n\n".to_vec()))
        );
        assert_eq!(
            msgs[1],
            (
                2,
                Ok(b"Subject: two\n\nbody 2\nFrom not-a-separator\n\n".to_vec())
            )
        );
        // An oversized message is skipped with a reason; the next one still arrives.
        let msgs: Vec<MboxMessage> = MboxReader::new(&mbox[..], 40).collect();
        assert!(msgs[0].1.is_ok());
        assert!(matches!(msgs[1].1, Err(OpenError::MessageTooLarge(40))));
        assert_eq!(msgs[2], (3, Ok(b"Subject: 3\n\nx\n".to_vec())));
        assert_eq!(MboxReader::new(&b""[..], 10).count(), 0);
    }
}

#[cfg(test)]
mod overlong {
    use super::*;

    #[test]
    fn an_overlong_line_drops_its_message_not_the_mailbox() {
        let mut mbox = b"From a@b Mon Jan  1 00:00:00 2026\nSubject: one\n\n".to_vec();
        mbox.extend(std::iter::repeat_n(b'x', (MBOX_MAX_LINE as usize) * 2 + 10));
        mbox.extend_from_slice(b"\n\nFrom c@d Mon Jan  1 00:00:00 2026\nSubject: two\n\nbody\n");
        let msgs: Vec<MboxMessage> =
            MboxReader::new(std::io::Cursor::new(mbox), 64 << 20).collect();
        assert_eq!(msgs.len(), 2);
        assert!(
            msgs[0].1.is_err(),
            "the message with the overlong line is refused"
        );
        let second = msgs[1].1.as_ref().unwrap();
        assert!(second.windows(4).any(|w| w == b"body"));
    }
}
