//! Frame input over a blocking reader: one small buffer per connection.
//!
//! Headers are parsed in place from the read buffer. Payload bytes already
//! in the buffer are copied once into their destination; the rest of a
//! large payload is read straight into the destination, never through the
//! buffer. Unmasking happens on the destination, piece by piece as bytes
//! arrive, so the caller can validate each piece at once (fail fast).
//!
//! All state lives in the structs: a read that times out can be retried and
//! carries on where it stopped.

use std::io::{self, Read};

use crate::error::{Error, Timeout};
use crate::frame::{parse_header, FrameHeader, HeaderRules, Status};
use crate::mask::apply_mask_at;

/// Size of the per-connection read buffer, allocated on first use.
const READ_BUF: usize = 8 << 10;

/// Payload remainders at least this long bypass the read buffer.
const DIRECT_READ_MIN: usize = READ_BUF / 2;

/// How much a destination grows per step when the payload is not yet
/// here: memory follows the bytes that arrive, not the length a header
/// declares (the rust-websocket CVE-2022-35922 lesson).
const GROW_STEP: usize = 64 << 10;

/// The bytes read from the stream and not yet consumed.
#[derive(Debug, Default)]
pub(crate) struct ReadBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl ReadBuf {
    /// Unconsumed bytes.
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Marks `n` bytes as used.
    pub(crate) fn consume(&mut self, n: usize) {
        self.start += n;
        debug_assert!(self.start <= self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Puts bytes that arrived behind the handshake in front of everything.
    pub(crate) fn preload(&mut self, bytes: &[u8]) {
        debug_assert!(self.data().is_empty());
        if bytes.is_empty() {
            return;
        }
        self.buf = vec![0; READ_BUF.max(bytes.len())];
        self.buf[..bytes.len()].copy_from_slice(bytes);
        self.start = 0;
        self.end = bytes.len();
    }

    /// Reads once from `r` behind the unconsumed bytes; `Ok(0)` is the end
    /// of the stream.
    pub(crate) fn fill<R: Read + ?Sized>(&mut self, r: &mut R) -> io::Result<usize> {
        if self.buf.is_empty() {
            self.buf = vec![0; READ_BUF];
        }
        if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let n = read_retrying(r, &mut self.buf[self.end..])?;
        self.end += n;
        Ok(n)
    }

    /// Takes the buffer's unconsumed bytes out (for `into_inner`).
    pub(crate) fn take_unconsumed(&mut self) -> Vec<u8> {
        let rest = self.data().to_vec();
        self.start = 0;
        self.end = 0;
        rest
    }
}

/// `read` that retries when interrupted by a signal.
fn read_retrying<R: Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Reads frame headers and payloads.
#[derive(Debug)]
pub(crate) struct FrameReader {
    pub(crate) buf: ReadBuf,
    pub(crate) rules: HeaderRules,
}

impl FrameReader {
    pub(crate) fn new(rules: HeaderRules) -> FrameReader {
        FrameReader {
            buf: ReadBuf::default(),
            rules,
        }
    }

    /// Reads and checks the next frame header. The end of the stream before
    /// a header is [`Error::Io`] of kind `UnexpectedEof`.
    pub(crate) fn read_header<R: Read + ?Sized>(
        &mut self,
        r: &mut R,
    ) -> Result<FrameHeader, Error> {
        loop {
            if let Status::Complete((n, header)) = parse_header(self.buf.data(), &self.rules)? {
                self.buf.consume(n);
                return Ok(header);
            }
            if self
                .buf
                .fill(r)
                .map_err(|e| Error::from_io(e, Timeout::Read))?
                == 0
            {
                return Err(eof());
            }
        }
    }

    /// Appends the next piece of a payload to `dest` and unmasks it:
    /// `offset` bytes of this frame were read before, `remaining` are still
    /// to come (more than zero). Returns the number of bytes appended.
    pub(crate) fn read_payload<R: Read + ?Sized>(
        &mut self,
        r: &mut R,
        header: &FrameHeader,
        offset: u64,
        remaining: u64,
        dest: &mut Vec<u8>,
    ) -> Result<usize, Error> {
        let want = usize::try_from(remaining).unwrap_or(usize::MAX);
        let start = dest.len();
        if self.buf.data().is_empty() && want >= DIRECT_READ_MIN {
            // Large remainder: straight into the destination, growing it by
            // at most one step per read. (Growing by the length so far made
            // each read zero as much as had arrived: quadratic for a large
            // message read in small pieces, as TLS records are.)
            let step = want.min(GROW_STEP);
            dest.resize(start + step, 0);
            let n = read_retrying(r, &mut dest[start..]);
            let n = match n {
                Ok(n) => n,
                Err(e) => {
                    dest.truncate(start);
                    return Err(Error::from_io(e, Timeout::Read));
                }
            };
            dest.truncate(start + n);
            if n == 0 {
                return Err(eof());
            }
        } else {
            if self.buf.data().is_empty()
                && self
                    .buf
                    .fill(r)
                    .map_err(|e| Error::from_io(e, Timeout::Read))?
                    == 0
            {
                return Err(eof());
            }
            let n = want.min(self.buf.data().len());
            dest.extend_from_slice(&self.buf.data()[..n]);
            self.buf.consume(n);
        }
        if let Some(key) = header.mask {
            // The offset only matters modulo 4.
            apply_mask_at(&mut dest[start..], key, (offset % 4) as usize);
        }
        Ok(dest.len() - start)
    }
}

pub(crate) fn eof() -> Error {
    Error::Io(io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "connection closed by peer",
    ))
}
