//! Frame input over a blocking reader: one small buffer per connection.
//!
//! Headers are parsed in place from the read buffer. Payload bytes already
//! in the buffer are copied once into their destination; the rest of a
//! large payload is read straight into the destination, never through the
//! buffer (and, past its first 64 KiB, without zero-filling it first; see
//! `read_direct`). Unmasking happens on the
//! destination, piece by piece as bytes arrive, so the caller can validate
//! each piece at once (fail fast).
//!
//! All state lives in the structs: a read that times out can be retried and
//! carries on where it stopped.
//!
//! A quiet connection holds no full read buffer: a read with nothing
//! unconsumed lands on the stack, in a small [`LANDING`] area, and only the
//! bytes that came are kept, until a landing fills up or a frame is cut
//! short and the full buffer is taken; [`ReadBuf::release`] gives it back
//! when nothing is left in it (the server does so after
//! [`Config::idle_release`](crate::Config::idle_release) without a byte).
//! A busy connection keeps its full buffer: no allocation, copy or system
//! call is added per message.

use std::io::{self, Read};

use crate::error::{Error, Timeout};
use crate::frame::{parse_header, FrameHeader, HeaderRules, Status};
use crate::mask::apply_mask_at;

/// Size of the per-connection read buffer, allocated on first use.
const READ_BUF: usize = 8 << 10;

/// The stack area a read lands in while the connection holds no buffer.
/// Small: a quiet server client waits in this read, and its whole wait
/// must stay within two stack pages (see `server/stack.rs`); a longer
/// first message after a quiet spell takes one more read.
const LANDING: usize = 512;

/// A small buffer (bytes kept from the landing) grows in these steps.
const SMALL_STEP: usize = 128;

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

    /// Takes a buffer for bytes that arrived elsewhere (behind the
    /// handshake, or on the stack while no buffer was held).
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
    ///
    /// A connection starts, and goes back after [`ReadBuf::release`], with
    /// no buffer: the read lands on the stack and only the bytes that came
    /// are kept, in a small buffer sized to them. Later reads go into that
    /// small buffer while each one's bytes fit it (small messages, one per
    /// read: no copy, no allocation); a read that fills it, or a frame cut
    /// short, takes the full buffer, kept until released.
    pub(crate) fn fill<R: Read + ?Sized>(&mut self, r: &mut R) -> io::Result<usize> {
        if self.buf.is_empty() {
            let mut landing = [0u8; LANDING];
            let n = read_retrying(r, &mut landing)?;
            if n == LANDING {
                self.preload(&landing);
            } else if n > 0 {
                // Rounded up, so messages of about one size share it.
                self.buf = vec![0; n.next_multiple_of(SMALL_STEP)];
                self.buf[..n].copy_from_slice(&landing[..n]);
                self.end = n;
            }
            return Ok(n);
        }
        if self.buf.len() < READ_BUF {
            if self.start == self.end {
                let n = read_retrying(r, &mut self.buf)?;
                self.end = n;
                if n == self.buf.len() {
                    self.grow();
                }
                return Ok(n);
            }
            self.grow();
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

    /// Moves the unconsumed bytes into a full buffer.
    fn grow(&mut self) {
        let mut full = vec![0; READ_BUF];
        let len = self.end - self.start;
        full[..len].copy_from_slice(self.data());
        self.buf = full;
        self.start = 0;
        self.end = len;
    }

    /// Gives the buffer's memory back if nothing is left in it; true if the
    /// connection now holds no read buffer.
    pub(crate) fn release(&mut self) -> bool {
        if self.start == self.end {
            self.buf = Vec::new();
        }
        self.buf.is_empty()
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
    /// An error that ended a direct read after some bytes had arrived;
    /// those bytes were delivered first, the error waits for the next call.
    pending: Option<io::Error>,
}

impl FrameReader {
    pub(crate) fn new(rules: HeaderRules) -> FrameReader {
        FrameReader {
            buf: ReadBuf::default(),
            rules,
            pending: None,
        }
    }

    /// Gives the read buffer back if it is empty and no read error waits;
    /// true if nothing is held.
    pub(crate) fn release(&mut self) -> bool {
        self.pending.is_none() && self.buf.release()
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
        if let Some(e) = self.pending.take() {
            return Err(Error::from_io(e, Timeout::Read));
        }
        let want = usize::try_from(remaining).unwrap_or(usize::MAX);
        let start = dest.len();
        if self.buf.data().is_empty() && want >= DIRECT_READ_MIN {
            self.read_direct(r, want, dest)?;
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
            // Room for the rest of a large frame too (up to one growth
            // step), so the direct reads that follow do not move it.
            dest.reserve(n.max(want.min(GROW_STEP)));
            dest.extend_from_slice(&self.buf.data()[..n]);
            self.buf.consume(n);
        }
        if let Some(key) = header.mask {
            // The offset only matters modulo 4.
            apply_mask_at(&mut dest[start..], key, (offset % 4) as usize);
        }
        Ok(dest.len() - start)
    }

    /// Reads the next piece of a large payload (at most `want` bytes)
    /// straight into `dest`; the destination at most doubles per call, so
    /// memory follows the bytes that arrive.
    ///
    /// Up to [`GROW_STEP`] bytes, one plain `read` into zeroed space: safe
    /// code must hand `read` initialised memory, and zeroing 64 KiB costs
    /// less than more system calls (measured: 64 KiB echoes took 12% less
    /// server CPU this way). Beyond that, `read_to_end` over `take` hands
    /// the stream the spare capacity unzeroed (`TcpStream` reads into
    /// uninitialised memory through `read_buf`), starting with 8 KiB reads
    /// and doubling, which a large step amortises.
    fn read_direct<R: Read + ?Sized>(
        &mut self,
        r: &mut R,
        want: usize,
        dest: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let start = dest.len();
        let step = want.min(start.max(GROW_STEP));
        dest.reserve(step);
        if step <= GROW_STEP {
            dest.resize(start + step, 0);
            let result = read_retrying(r, &mut dest[start..]);
            dest.truncate(start + *result.as_ref().unwrap_or(&0));
            return match result {
                Ok(0) => Err(eof()),
                Ok(_) => Ok(()),
                Err(e) => Err(Error::from_io(e, Timeout::Read)),
            };
        }
        let result = (&mut *r).take(step as u64).read_to_end(dest);
        match result {
            Ok(_) if dest.len() == start => Err(eof()),
            Ok(_) => Ok(()),
            // The bytes that came before a timeout or an error are kept
            // (read_to_end appends them either way) and checked now; the
            // error is reported on the next call.
            Err(e) if dest.len() > start => {
                self.pending = Some(e);
                Ok(())
            }
            Err(e) => Err(Error::from_io(e, Timeout::Read)),
        }
    }
}

pub(crate) fn eof() -> Error {
    Error::Io(io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "connection closed by peer",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Frame, Role};

    /// A stream that hands out scripted pieces, one per read, then EOF.
    struct Script(std::collections::VecDeque<io::Result<Vec<u8>>>);

    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.pop_front() {
                None => Ok(0),
                Some(Err(e)) => Err(e),
                Some(Ok(mut piece)) => {
                    let n = piece.len().min(buf.len());
                    buf[..n].copy_from_slice(&piece[..n]);
                    if n < piece.len() {
                        self.0.push_front(Ok(piece.split_off(n)));
                    }
                    Ok(n)
                }
            }
        }
    }

    fn masked_frame(payload: &[u8]) -> Vec<u8> {
        let mut frame = Frame::binary(payload.to_vec());
        frame.mask = Some([0x11, 0x22, 0x33, 0x44]);
        let mut wire = Vec::new();
        frame.encode_into(&mut wire);
        wire
    }

    /// Cuts `wire` at the given lengths, in turn, until it is used up.
    fn pieces(wire: &[u8], sizes: &[usize]) -> Script {
        let mut out = std::collections::VecDeque::new();
        let mut at = 0;
        for &size in sizes.iter().cycle() {
            if at == wire.len() {
                break;
            }
            let end = (at + size).min(wire.len());
            out.push_back(Ok(wire[at..end].to_vec()));
            at = end;
        }
        Script(out)
    }

    /// Reads one frame, returning its payload and each piece's length.
    fn read_frame(
        reader: &mut FrameReader,
        r: &mut Script,
    ) -> Result<(Vec<u8>, Vec<usize>), Error> {
        let header = reader.read_header(r)?;
        let mut dest = Vec::new();
        let mut got = 0u64;
        let mut sizes = Vec::new();
        while got < header.payload_len {
            let n = reader.read_payload(r, &header, got, header.payload_len - got, &mut dest)?;
            sizes.push(n);
            got += n as u64;
        }
        Ok((dest, sizes))
    }

    fn server_reader() -> FrameReader {
        FrameReader::new(HeaderRules::new(Role::Server, 16 << 20))
    }

    #[test]
    fn masked_payloads_arrive_whole_however_the_stream_cuts_them() {
        for len in [0, 1, 125, 126, 4095, 4096, 70_000, 300_001] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let wire = masked_frame(&payload);
            for cuts in [&[1][..], &[3, 5000, 7], &[65_536], &[usize::MAX]] {
                if cuts == [1] && len > 5000 {
                    continue; // byte by byte is slow and adds nothing here
                }
                let mut r = pieces(&wire, cuts);
                let (got, _) = read_frame(&mut server_reader(), &mut r).unwrap();
                assert!(got == payload, "len {len} cuts {cuts:?}");
            }
        }
    }

    #[test]
    fn two_frames_in_one_read_are_both_read() {
        let mut wire = masked_frame(b"first");
        wire.extend(masked_frame(&[9u8; 10_000]));
        let mut r = pieces(&wire, &[usize::MAX]);
        let mut reader = server_reader();
        assert_eq!(read_frame(&mut reader, &mut r).unwrap().0, b"first");
        assert_eq!(read_frame(&mut reader, &mut r).unwrap().0, [9u8; 10_000]);
    }

    #[test]
    fn a_timeout_inside_a_large_payload_keeps_the_bytes_and_is_reported_next() {
        // Timeouts land in both kinds of direct read: inside the first
        // 64 KiB (plain reads) and beyond 128 KiB (read_to_end).
        for before in [30_000, 150_000] {
            let payload: Vec<u8> = (0..400_000u32).map(|i| (i % 251) as u8).collect();
            let wire = masked_frame(&payload);
            let mut script = std::collections::VecDeque::new();
            script.push_back(Ok(wire[..14].to_vec()));
            script.push_back(Ok(wire[14..14 + before].to_vec()));
            script.push_back(Err(io::ErrorKind::WouldBlock.into()));
            script.push_back(Ok(wire[14 + before..].to_vec()));
            let mut r = Script(script);
            let mut reader = server_reader();
            let header = reader.read_header(&mut r).unwrap();
            let mut dest = Vec::new();
            let mut got = 0;
            let mut timeouts = Vec::new();
            while got < payload.len() {
                let left = (payload.len() - got) as u64;
                match reader.read_payload(&mut r, &header, got as u64, left, &mut dest) {
                    Ok(n) => got += n,
                    Err(Error::Timeout(Timeout::Read)) => timeouts.push(got),
                    Err(e) => panic!("{e:?}"),
                }
            }
            // Every byte before the timeout was delivered before it.
            assert_eq!(timeouts, [before]);
            assert!(dest == payload);
        }
    }

    #[test]
    fn the_end_of_the_stream_inside_a_payload_is_unexpected_eof() {
        let wire = masked_frame(&[1u8; 50_000]);
        let mut r = pieces(&wire[..20_000], &[usize::MAX]);
        match read_frame(&mut server_reader(), &mut r) {
            Err(Error::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn memory_follows_the_bytes_that_arrive_not_the_declared_length() {
        // A header declaring 16 MiB, then 100 bytes, then silence (EOF).
        let mut wire = masked_frame(&vec![0u8; 16 << 20]);
        wire.truncate(14 + 100);
        let mut r = pieces(&wire, &[usize::MAX]);
        let mut reader = server_reader();
        let header = reader.read_header(&mut r).unwrap();
        let mut dest = Vec::new();
        let n = reader
            .read_payload(&mut r, &header, 0, header.payload_len, &mut dest)
            .unwrap();
        assert_eq!(n, 100);
        assert!(dest.capacity() <= 2 * GROW_STEP, "{}", dest.capacity());
        assert!(reader
            .read_payload(&mut r, &header, 100, header.payload_len - 100, &mut dest)
            .is_err());
        assert!(dest.capacity() <= 2 * GROW_STEP, "{}", dest.capacity());
    }

    #[test]
    fn small_messages_never_take_the_full_buffer_and_a_released_one_is_taken_again() {
        let mut wire = Vec::new();
        for _ in 0..3 {
            wire.extend(masked_frame(&[7u8; 100]));
        }
        // One frame per read, as a client waiting for each echo sends them.
        let mut r = pieces(&wire, &[106]);
        let mut reader = server_reader();
        for _ in 0..3 {
            assert_eq!(read_frame(&mut reader, &mut r).unwrap().0, [7u8; 100]);
            assert!(reader.buf.buf.len() < READ_BUF, "{}", reader.buf.buf.len());
        }
        assert!(reader.release());
        assert_eq!(reader.buf.buf.capacity(), 0);
        // A burst fills the landing: the full buffer is taken and kept.
        let mut burst = Vec::new();
        for _ in 0..20 {
            burst.extend(masked_frame(&[9u8; 100]));
        }
        let mut r = pieces(&burst, &[usize::MAX]);
        for _ in 0..20 {
            assert_eq!(read_frame(&mut reader, &mut r).unwrap().0, [9u8; 100]);
        }
        assert_eq!(reader.buf.buf.len(), READ_BUF);
        assert!(reader.release());
        assert_eq!(reader.buf.buf.capacity(), 0);
    }

    #[test]
    fn a_buffer_with_unconsumed_bytes_is_not_released() {
        let wire = masked_frame(&[1u8; 50]);
        let mut r = pieces(&wire[..3], &[usize::MAX]);
        let mut reader = server_reader();
        assert!(reader.read_header(&mut r).is_err()); // EOF after 3 bytes
        assert!(!reader.release());
        assert_eq!(reader.buf.data(), &wire[..3]);
    }
}
