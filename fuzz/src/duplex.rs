//! [`Duplex`]: an in-memory stream whose peer is a script of bytes.
//!
//! Reads hand out the script in pieces of planned sizes (so every code path
//! that handles a short read runs), and a planned size of 0 is one
//! `WouldBlock`, which is what a socket read timeout looks like. Writes are
//! collected, in pieces of at most `write_limit` bytes (partial writes).

use std::io::{self, IoSlice, Read, Write};

use stdws::Stream;

/// Builds what the peer answers from what we wrote so far.
pub type Answer = Box<dyn FnOnce(&[u8]) -> Vec<u8>>;

/// An in-memory stream: reads come from a script, writes are kept.
pub struct Duplex {
    input: Vec<u8>,
    pos: usize,
    reads: Vec<usize>,
    read_no: usize,
    write_limit: usize,
    /// Everything written to the stream.
    pub output: Vec<u8>,
    /// Number of `WouldBlock` errors returned.
    pub timeouts: usize,
    /// Set once `shutdown_write` was called.
    pub shut: bool,
    answer: Option<Answer>,
}

impl Duplex {
    /// A stream whose peer sends `input`; reads take as much as they ask.
    pub fn new(input: Vec<u8>) -> Duplex {
        Duplex {
            input,
            pos: 0,
            reads: Vec::new(),
            read_no: 0,
            write_limit: 0,
            output: Vec::new(),
            timeouts: 0,
            shut: false,
            answer: None,
        }
    }

    /// A stream whose peer, at the first read, puts `answer(written so
    /// far)` in front of `input` (a server answering the request).
    pub fn answering(input: Vec<u8>, answer: Answer) -> Duplex {
        Duplex {
            answer: Some(answer),
            ..Duplex::new(input)
        }
    }

    /// From now on, reads return at most these sizes in turn (cycled); a 0
    /// is one `WouldBlock`. An empty plan means no limit.
    pub fn plan_reads(&mut self, sizes: Vec<usize>) {
        self.reads = sizes;
        self.read_no = 0;
    }

    /// From now on, one write takes at most `limit` bytes (0: no limit).
    pub fn limit_writes(&mut self, limit: usize) {
        self.write_limit = limit;
    }

    /// The script bytes not read yet.
    pub fn unread(&self) -> usize {
        self.input.len() - self.pos
    }

    fn next_read_size(&mut self) -> Option<usize> {
        if self.reads.is_empty() {
            return Some(usize::MAX);
        }
        let size = self.reads[self.read_no % self.reads.len()];
        self.read_no += 1;
        (size > 0).then_some(size)
    }

    fn accept(&self, len: usize) -> usize {
        match self.write_limit {
            0 => len,
            limit => len.min(limit),
        }
    }
}

impl Read for Duplex {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(answer) = self.answer.take() {
            let mut input = answer(&self.output);
            input.extend_from_slice(&self.input[self.pos..]);
            self.input = input;
            self.pos = 0;
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let Some(size) = self.next_read_size() else {
            self.timeouts += 1;
            return Err(io::ErrorKind::WouldBlock.into());
        };
        let n = size.min(buf.len()).min(self.unread());
        buf[..n].copy_from_slice(&self.input[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for Duplex {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        assert!(!self.shut, "write after shutdown_write");
        let n = self.accept(buf.len());
        self.output.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    /// Takes from several buffers in one call, as `writev` does, so the
    /// caller's bookkeeping across buffers is exercised.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        assert!(!self.shut, "write after shutdown_write");
        let mut room = self.accept(usize::MAX);
        let mut n = 0;
        for buf in bufs {
            let take = buf.len().min(room);
            self.output.extend_from_slice(&buf[..take]);
            n += take;
            room -= take;
            if room == 0 {
                break;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Stream for Duplex {
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shut = true;
        Ok(())
    }
}
