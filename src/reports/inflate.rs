//! Decompressing streams under one per-file budget, without ever holding the output whole.
//!
//! Every byte a decompressor produces is counted against the file it came from: an absolute
//! cap, and a cap relative to the file's size once the output is past a floor (small reports
//! legitimately compress 100:1; a file expanding 1000:1 into hundreds of MB is a bomb). The
//! check happens as bytes stream out, so a bomb is stopped at the cap and costs no memory.
//! Errors travel through `std::io::Error` (the XML reader only sees a byte stream) carrying an
//! [`OpenError`], so the rejection reason names the container and the cause.

use super::open::{Limits, OpenError};
use flate2::bufread::GzDecoder;
use std::cell::{Cell, RefCell};
use std::io::{self, BufRead, Read};

/// Decompression work allowed per file, as a multiple of [`Limits::max_total_bytes`].
const MAX_WORK_FACTOR: u64 = 4;

/// What one file may still decompress, shared by every decompressor opened inside it.
#[derive(Debug)]
pub struct Budget {
    limits: Limits,
    /// Size of the file (or mailbox message) the budget is for.
    input_len: u64,
    used: Cell<u64>,
    /// Everything decompressed for this file, including output given back after a rejection:
    /// bounds the work a file of many small bombs can cause.
    work: Cell<u64>,
    /// Damage tolerated while streaming (trailing bytes after a gzip stream), noticed only
    /// once a stream ends; taken by whoever finishes the current document.
    late_notes: RefCell<Vec<String>>,
}

impl Budget {
    pub fn new(limits: Limits, input_len: u64) -> Self {
        Budget {
            limits,
            input_len,
            used: Cell::new(0),
            work: Cell::new(0),
            late_notes: RefCell::new(Vec::new()),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Notes noticed since the last call.
    pub fn take_late_notes(&self) -> Vec<String> {
        self.late_notes.take()
    }

    fn note(&self, note: String) {
        self.late_notes.borrow_mut().push(note);
    }

    /// The error for output that has reached `used` bytes, if that is over a limit.
    fn over(&self, used: u64) -> Option<OpenError> {
        let ratio_cap = self
            .limits
            .ratio_floor
            .max(self.input_len.saturating_mul(self.limits.max_ratio));
        let total_cap = self.limits.max_total_bytes;
        if used <= ratio_cap.min(total_cap) {
            return None;
        }
        Some(if ratio_cap <= total_cap {
            OpenError::Bomb {
                input: self.input_len,
                limit: ratio_cap,
                ratio: self.limits.max_ratio,
            }
        } else {
            OpenError::TooLarge(total_cap)
        })
    }
}

/// Wraps an [`OpenError`] for transport through `std::io`.
pub fn io_error(e: OpenError) -> io::Error {
    io::Error::other(e)
}

/// The [`OpenError`] an I/O error carries, or `fallback` of its text for a plain one.
pub fn open_error(e: &io::Error, fallback: fn(String) -> OpenError) -> OpenError {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<OpenError>())
    {
        Some(carried) => carried.clone(),
        None => fallback(e.to_string()),
    }
}

/// A decompressor's output, counted against the [`Budget`], with its own failures labelled
/// as the container's (`corrupt gzip data: …`).
pub struct Decompressed<'b, R> {
    inner: R,
    budget: &'b Budget,
    label: fn(String) -> OpenError,
    /// Bytes this stream produced; given back to the budget if it is rejected as too large,
    /// so one bomb member of an archive does not starve the members after it.
    own: u64,
    failed: Option<OpenError>,
}

impl<'b, R: Read> Decompressed<'b, R> {
    pub fn new(inner: R, budget: &'b Budget, label: fn(String) -> OpenError) -> Self {
        Decompressed {
            inner,
            budget,
            label,
            own: 0,
            failed: None,
        }
    }
}

impl<R: Read> Read for Decompressed<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = &self.failed {
            return Err(io_error(e.clone()));
        }
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => {
                let err = open_error(&e, self.label);
                self.failed = Some(err.clone());
                return Err(io_error(err));
            }
        };
        let used = self.budget.used.get().saturating_add(n as u64);
        if let Some(err) = self.budget.over(used) {
            let refunded = self.budget.used.get().saturating_sub(self.own);
            self.budget.used.set(refunded);
            self.failed = Some(err.clone());
            return Err(io_error(err));
        }
        let work = self.budget.work.get().saturating_add(n as u64);
        self.budget.work.set(work);
        let work_cap = self
            .budget
            .limits
            .max_total_bytes
            .saturating_mul(MAX_WORK_FACTOR);
        if work > work_cap {
            let err = OpenError::TooMuchWork(work_cap);
            self.failed = Some(err.clone());
            return Err(io_error(err));
        }
        self.budget.used.set(used);
        self.own = self.own.saturating_add(n as u64);
        Ok(n)
    }
}

/// Gzip with every concatenated member (RFC 1952 allows several), tolerating bytes after the
/// last member that are not another member: some gateways append `\r\n`. Those are counted
/// and recorded as a repair instead of failing the report.
pub struct GzStream<'b, R> {
    decoder: Option<GzDecoder<PushBack<R>>>,
    budget: &'b Budget,
}

impl<'b, R: BufRead> GzStream<'b, R> {
    pub fn new(inner: R, budget: &'b Budget) -> Self {
        GzStream {
            decoder: Some(GzDecoder::new(PushBack::new(inner))),
            budget,
        }
    }
}

impl<R: BufRead> Read for GzStream<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let Some(decoder) = self.decoder.as_mut() else {
                return Ok(0);
            };
            let n = decoder.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            // This member ended: another member, trailing bytes, or the end. The two magic
            // bytes may straddle the source's buffer boundary, so both are made available.
            let Some(decoder) = self.decoder.take() else {
                return Ok(0);
            };
            let mut inner = decoder.into_inner();
            if inner.ensure(2)?.starts_with(&[0x1f, 0x8b]) {
                self.decoder = Some(GzDecoder::new(inner));
                continue;
            }
            let mut trailing = 0u64;
            loop {
                let len = inner.fill_buf()?.len();
                if len == 0 {
                    break;
                }
                trailing += len as u64;
                inner.consume(len);
            }
            if trailing > 0 {
                self.budget.note(format!(
                    "ignored {} after the gzip stream",
                    crate::text::count(trailing as usize, "trailing byte", "trailing bytes")
                ));
            }
            return Ok(0);
        }
    }
}

/// A `BufRead` that can make its next few bytes available even when they straddle the inner
/// reader's buffer boundary (`fill_buf` alone would show only what is left of the buffer).
pub struct PushBack<R> {
    pending: Vec<u8>,
    inner: R,
}

impl<R: BufRead> PushBack<R> {
    pub fn new(inner: R) -> Self {
        PushBack {
            pending: Vec::new(),
            inner,
        }
    }

    /// The next bytes, at least `n` of them unless the stream ends first.
    pub fn ensure(&mut self, n: usize) -> io::Result<&[u8]> {
        while self.pending.len() < n {
            let available = self.inner.fill_buf()?;
            if available.is_empty() {
                break;
            }
            let take = available.len().min(n - self.pending.len());
            self.pending.extend_from_slice(&available[..take]);
            self.inner.consume(take);
        }
        if self.pending.is_empty() {
            return self.inner.fill_buf();
        }
        Ok(&self.pending)
    }
}

impl<R: BufRead> Read for PushBack<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(buf.len());
            buf[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for PushBack<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pending.is_empty() {
            self.inner.fill_buf()
        } else {
            Ok(&self.pending)
        }
    }

    fn consume(&mut self, amt: usize) {
        if self.pending.is_empty() {
            self.inner.consume(amt);
        } else {
            let n = amt.min(self.pending.len());
            self.pending.drain(..n);
        }
    }
}

/// Serves the first bytes of a stream (read ahead to judge its kind) and then the rest, so
/// sniffing consumes nothing.
pub struct Peeked<R> {
    head: Vec<u8>,
    pos: usize,
    inner: R,
}

impl<R: BufRead> Peeked<R> {
    /// Reads up to `n` bytes ahead. Fewer means the stream is shorter than `n`.
    pub fn new(mut inner: R, n: usize) -> io::Result<Self> {
        let mut head = Vec::with_capacity(n);
        (&mut inner).take(n as u64).read_to_end(&mut head)?;
        Ok(Peeked {
            head,
            pos: 0,
            inner,
        })
    }

    pub fn head(&self) -> &[u8] {
        &self.head
    }
}

impl<R: BufRead> Read for Peeked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(buf.len());
            buf[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Peeked<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos < self.head.len() {
            return Ok(&self.head[self.pos..]);
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if self.pos < self.head.len() {
            self.pos = (self.pos + amt).min(self.head.len());
            if self.pos == self.head.len() {
                // The head is served: free it.
                self.head = Vec::new();
                self.pos = 0;
            }
        } else {
            self.inner.consume(amt);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn peeked_serves_head_then_rest() {
        let data = b"0123456789abcdef".to_vec();
        let mut p = Peeked::new(&data[..], 4).unwrap();
        assert_eq!(p.head(), b"0123");
        let mut out = Vec::new();
        p.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
        let p = Peeked::new(&b"ab"[..], 10).unwrap();
        assert_eq!(p.head(), b"ab");
    }

    #[test]
    fn gzip_members_and_trailing_bytes() {
        let mut data = gzip(b"hello ");
        data.extend(gzip(b"world"));
        data.extend_from_slice(b"\r\n");
        let budget = Budget::new(Limits::default(), data.len() as u64);
        let mut out = String::new();
        GzStream::new(&data[..], &budget)
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "hello world");
        assert_eq!(
            budget.take_late_notes(),
            vec!["ignored 2 trailing bytes after the gzip stream".to_string()]
        );
    }

    /// Reads through a reader whose buffer is `cap` bytes, like a `BufReader` over a file.
    fn gunzip_with_buffer(data: &[u8], cap: usize) -> (String, Vec<String>) {
        let budget = Budget::new(Limits::default(), data.len() as u64);
        let mut out = String::new();
        let inner = std::io::BufReader::with_capacity(cap, data);
        GzStream::new(inner, &budget)
            .read_to_string(&mut out)
            .unwrap();
        (out, budget.take_late_notes())
    }

    #[test]
    fn a_second_member_straddling_a_buffer_edge_is_read() {
        let first = gzip(b"hello ");
        let mut data = first.clone();
        data.extend(gzip(b"world"));
        // The buffer ends right after the second member's first magic byte, and elsewhere.
        for cap in [first.len() + 1, first.len(), first.len() + 2, 3, 7] {
            assert_eq!(
                gunzip_with_buffer(&data, cap),
                ("hello world".to_string(), vec![]),
                "buffer of {cap}"
            );
        }
    }

    #[test]
    fn decompression_work_per_file_is_bounded_even_with_refunds() {
        let limits = Limits {
            max_total_bytes: 100,
            ..Limits::default()
        };
        let budget = Budget::new(limits, 10);
        let big = [b'x'; 90];
        let mut tripped = None;
        for i in 0..10 {
            let mut d = Decompressed::new(&big[..], &budget, OpenError::Gzip);
            if let Err(e) = io::copy(&mut d, &mut io::sink()) {
                tripped = Some((i, open_error(&e, OpenError::Io)));
                break;
            }
            budget.used.set(0);
        }
        assert_eq!(tripped, Some((4, OpenError::TooMuchWork(400))));
    }

    #[test]
    fn budget_trips_refunds_and_labels() {
        let limits = Limits {
            max_total_bytes: 100,
            ..Limits::default()
        };
        let budget = Budget::new(limits, 10);
        let big = [b'x'; 150];
        let mut d = Decompressed::new(&big[..], &budget, OpenError::Gzip);
        let err = io::copy(&mut d, &mut io::sink()).unwrap_err();
        assert_eq!(open_error(&err, OpenError::Io), OpenError::TooLarge(100));
        // Rejected output is given back: the next member may use the budget.
        let small = [b'y'; 60];
        let mut d = Decompressed::new(&small[..], &budget, OpenError::Gzip);
        assert_eq!(io::copy(&mut d, &mut io::sink()).unwrap(), 60);

        let gz = gzip(b"some text that is long enough");
        let mut d = Decompressed::new(
            GzDecoder::new(&gz[..gz.len() / 2]),
            &budget,
            OpenError::Gzip,
        );
        let err = io::copy(&mut d, &mut io::sink()).unwrap_err();
        assert!(matches!(
            open_error(&err, OpenError::Io),
            OpenError::Gzip(_)
        ));
    }
}
