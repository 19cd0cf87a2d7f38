//! The bytes a connection's socket has not taken yet.
//!
//! Writers never wait for a slow peer: what a non-blocking send leaves
//! over goes into the [`Queue`], in order, and whoever holds the right to
//! write ("busy", see [`link`](super::link)) empties it. Every queued byte
//! and every chunk's own overhead count against the link's cap, so a peer
//! that does not read costs bounded memory.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};
use std::ops::Range;
use std::sync::Arc;

use super::duplex::Duplex;

/// Chunks written per system call by a flusher (well under `IOV_MAX`).
const WRITE_GROUP: usize = 64;

/// Bytes waiting for the socket.
pub(crate) enum Chunk {
    Owned(Vec<u8>),
    /// A prepared broadcast frame, shared by every recipient, from an offset.
    Shared(Arc<[u8]>, usize),
    /// A range of the payload the connection's own thread is sending; only
    /// that thread writes it, before its send returns.
    Caller(Range<usize>),
}

impl Chunk {
    fn bytes<'a>(&'a self, caller: Option<&'a [u8]>) -> &'a [u8] {
        match self {
            Chunk::Owned(v) => v,
            Chunk::Shared(a, at) => &a[*at..],
            Chunk::Caller(r) => caller.map_or(&[][..], |c| &c[r.clone()]),
        }
    }
}

/// What a queued chunk costs besides its bytes (its slot in the queue and
/// the allocator's bookkeeping), counted against the cap: without it, a
/// peer that sends empty pings and never reads had the server keep 2-byte
/// pongs at some 30 times the cap in real memory.
pub(crate) const CHUNK_COST: usize = std::mem::size_of::<Chunk>() + 16;

/// Owned bytes join the last owned chunk while it stays under this size:
/// small frames (pongs, short messages) share an allocation.
pub(crate) const OWNED_JOIN: usize = 16 << 10;

#[derive(Default)]
pub(crate) struct Queue {
    pub(crate) chunks: VecDeque<Chunk>,
    /// Bytes held in `chunks` plus [`CHUNK_COST`] per chunk (caller ranges
    /// not counted: not our memory).
    pub(crate) queued: usize,
    /// Bytes taken out by the writer and not yet written.
    pub(crate) in_flight: usize,
    /// Someone is writing to the socket outside the lock.
    pub(crate) busy: bool,
}

impl Queue {
    /// Queues `bufs` minus their first `skip` bytes.
    pub(crate) fn append(&mut self, bufs: &[IoSlice<'_>], mut skip: usize, caller: Option<&[u8]>) {
        for b in bufs {
            if skip >= b.len() {
                skip -= b.len();
                continue;
            }
            let rest = &b[skip..];
            skip = 0;
            match caller.and_then(|c| range_within(c, rest)) {
                Some(range) => self.chunks.push_back(Chunk::Caller(range)),
                None => self.push_owned(rest),
            }
        }
    }

    pub(crate) fn push_owned(&mut self, bytes: &[u8]) {
        self.queued += bytes.len();
        if let Some(Chunk::Owned(last)) = self.chunks.back_mut() {
            if last.len() + bytes.len() <= OWNED_JOIN {
                last.extend_from_slice(bytes);
                return;
            }
        }
        self.queued += CHUNK_COST;
        self.chunks.push_back(Chunk::Owned(bytes.to_vec()));
    }

    pub(crate) fn push_shared(&mut self, frame: &Arc<[u8]>, at: usize) {
        self.queued += frame.len() - at + CHUNK_COST;
        self.chunks.push_back(Chunk::Shared(Arc::clone(frame), at));
    }

    pub(crate) fn clear(&mut self) {
        self.chunks.clear();
        self.queued = 0;
    }
}

/// Where `inner` lies inside `outer`, if it does (compared by address).
fn range_within(outer: &[u8], inner: &[u8]) -> Option<Range<usize>> {
    let o = outer.as_ptr() as usize;
    let i = inner.as_ptr() as usize;
    (i >= o && i + inner.len() <= o + outer.len()).then(|| i - o..i - o + inner.len())
}

/// The writer `Outgoing` writes frames into: a non-blocking send, and the
/// queue for the rest.
pub(crate) struct Wire<'a> {
    pub(crate) duplex: &'a Duplex,
    pub(crate) queue: &'a mut Queue,
    pub(crate) cipher: &'a mut Vec<u8>,
    pub(crate) caller: Option<&'a [u8]>,
}

impl Wire<'_> {
    /// Raw bytes (ciphertext for TLS): straight to the socket when nothing
    /// waits before them, else queued.
    pub(crate) fn send_raw(
        &mut self,
        bufs: &[IoSlice<'_>],
        caller: Option<&[u8]>,
    ) -> io::Result<()> {
        if self.queue.busy || !self.queue.chunks.is_empty() {
            self.queue.append(bufs, 0, caller);
            return Ok(());
        }
        loop {
            match self.duplex.send_now(bufs) {
                Ok(n) => {
                    self.queue.append(bufs, n, caller);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.queue.append(bufs, 0, caller);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// A prepared frame: the shared bytes go out or wait without a copy.
    pub(crate) fn send_shared(&mut self, frame: &Arc<[u8]>) -> io::Result<()> {
        if self.duplex.is_tls() {
            return self.write_all(frame);
        }
        if self.queue.busy || !self.queue.chunks.is_empty() {
            self.queue.push_shared(frame, 0);
            return Ok(());
        }
        loop {
            match self.duplex.send_now(&[IoSlice::new(frame)]) {
                Ok(n) if n == frame.len() => return Ok(()),
                Ok(n) => {
                    self.queue.push_shared(frame, n);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.queue.push_shared(frame, 0);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl Write for Wire<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    /// Takes everything: what the socket does not take now is queued.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let total = bufs.iter().map(|b| b.len()).sum();
        if total == 0 {
            return Ok(0);
        }
        if self.duplex.is_tls() {
            let mut cipher = std::mem::take(self.cipher);
            cipher.clear();
            let result = self
                .duplex
                .encrypt(bufs, &mut cipher)
                .and_then(|()| self.send_raw(&[IoSlice::new(&cipher)], None));
            *self.cipher = cipher;
            result?;
        } else {
            let caller = self.caller;
            self.send_raw(bufs, caller)?;
        }
        Ok(total)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub(crate) fn write_chunks(
    duplex: &Duplex,
    batch: &[Chunk],
    caller: Option<&[u8]>,
) -> io::Result<()> {
    for group in batch.chunks(WRITE_GROUP) {
        let mut slices: Vec<IoSlice<'_>> = group
            .iter()
            .map(|c| IoSlice::new(c.bytes(caller)))
            .collect();
        duplex.write_raw(&mut slices)?;
    }
    Ok(())
}
