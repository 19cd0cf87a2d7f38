//! The write side of a connection shared by every thread that sends to it.
//!
//! The connection's own thread blocks reading (see [`LinkTransport`](super::link_session::LinkTransport));
//! any thread may send meanwhile. Writers serialize on one mutex around
//! [`Outgoing`] (the policy's write side: encoders, close state, pings) and
//! an outgoing queue, and nobody holds that mutex while blocked on the
//! network:
//!
//! - **Other threads** (broadcasts, timers, application threads) never
//!   block: they encode under the lock, try a non-blocking send, and queue
//!   what the socket did not take. A client that has fallen behind gets a
//!   flusher thread, started only then, which writes the queue with the
//!   write timeout and ends when the queue is empty. A queue over
//!   [`Config::max_write_buffer`](crate::Config::max_write_buffer) fails
//!   that client with 1008; nobody else waits for it.
//! - **The connection's own thread** (an echo from `on_message`) writes as
//!   a plain blocking socket would: header and payload in one system call,
//!   no copy, and when the socket is full it blocks (backpressure) instead
//!   of queueing. What the socket did not take is queued by reference to
//!   the caller's buffer and written by this same thread, lock released.
//!
//! "Busy" is the right to write to the socket outside the lock; whoever
//! holds it (the own thread or the flusher) empties the queue before giving
//! it up, so bytes leave in the order they were queued.

use std::io::{IoSlice, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use super::duplex::{Duplex, TlsOutput};
use super::queue::{write_chunks, Chunk, Queue, Wire};
use super::timer::Timers;
use crate::close_code::CloseCode;
use crate::close_frame::CloseFrame;
use crate::error::{CapacityError, Error, Timeout};
use crate::extension::SendOptions;
use crate::frame::OpCode;
use crate::prepared::{Batch, Prepared, Skip};
use crate::session::{Outgoing, HIXIE76_TEXT_ONLY};

/// Why we ended a connection ourselves: the close frame we sent (or tried
/// to send) and the error to report.
#[derive(Debug)]
pub(crate) struct LocalEnd {
    pub(crate) frame: CloseFrame,
    pub(crate) error: Option<Error>,
}

/// Settings of one link.
pub(crate) struct LinkOptions {
    /// Most bytes queued for a client that does not keep up.
    pub(crate) cap: usize,
    /// A negotiated extension transforms data: broadcasts must be encoded
    /// for this client alone.
    pub(crate) transforms: bool,
    /// Time allowed for the closing handshake and for a backlog to drain.
    pub(crate) close_timeout: Duration,
    /// Where close deadlines go (None: no deadline is enforced).
    pub(crate) timers: Option<Weak<Timers>>,
    /// Name of the flusher thread.
    pub(crate) name: FlusherName,
}

/// What a link's flusher thread is called: `{prefix}-{number}-flush`, or
/// `{prefix}-flush` without a number. Spelled out only when a flusher is
/// spawned, which most connections never need.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FlusherName {
    pub(crate) prefix: &'static str,
    pub(crate) number: Option<u64>,
}

impl std::fmt::Display for FlusherName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.number {
            Some(n) => write!(f, "{}-{n}-flush", self.prefix),
            None => write!(f, "{}-flush", self.prefix),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fin {
    None,
    /// Send FIN once the queue is empty.
    Pending,
    Done,
}

struct Out {
    outgoing: Outgoing,
    queue: Queue,
    /// Ciphertext scratch buffer (TLS).
    cipher: Vec<u8>,
    fin: Fin,
    /// Our close frame, once sent or queued.
    sent_close: Option<CloseFrame>,
    /// Set when we failed the connection (or its close timed out). Boxed:
    /// few connections end so, and every connection holds an `Out`.
    end: Option<Box<LocalEnd>>,
    flusher: Option<JoinHandle<()>>,
    /// The connection's thread has finished: nothing more is sent.
    done: bool,
}

/// How a write may behave.
#[derive(Clone, Copy)]
enum Mode<'a> {
    /// The connection's own thread sending data: waits for a backlog to
    /// drain, blocks on a full socket, writes `payload` without copying.
    Data(&'a [u8]),
    /// Control frames from any thread (the policy's pongs and close
    /// replies included: the reader must never wait for the peer to read,
    /// or two peers writing at once would each wait for the other), and
    /// data from other threads: never blocks.
    Other,
}

impl Mode<'_> {
    fn caller(&self) -> Option<&[u8]> {
        match self {
            Mode::Data(payload) => Some(payload),
            _ => None,
        }
    }
}

/// A connection's shared write side.
pub(crate) struct Link {
    duplex: Arc<Duplex>,
    out: Box<Mutex<Out>>,
    /// Signalled when the socket stops being busy.
    idle: Condvar,
    owner: ThreadId,
    options: LinkOptions,
    me: Weak<Link>,
    /// `CLOSING` and `FAILED`, readable without the lock (the reader
    /// checks them for every frame).
    state: AtomicU8,
}

/// Our close frame is out or queued, or the connection is over.
const CLOSING: u8 = 1;
/// We failed the connection (`Out::end` is set).
const FAILED: u8 = 2;

/// Data may still go out: our close frame is not sent and the socket is
/// not broken.
fn open_for_data(out: &Outgoing) -> Result<(), Error> {
    if out.close_sent || out.broken {
        return Err(Error::Closed);
    }
    Ok(())
}

/// Sends (or queues) bytes shared between recipients; a failed socket
/// marks the connection broken.
fn send_shared(out: &mut Outgoing, wire: &mut Wire<'_>, bytes: &Arc<[u8]>) -> Result<(), Error> {
    wire.send_shared(bytes).map_err(|e| {
        out.broken = true;
        Error::Io(e)
    })
}

impl Link {
    /// A link owned by the calling thread. `handshaking`: the caller is
    /// still writing the opening handshake; frames sent meanwhile wait for
    /// [`handshake_written`](Self::handshake_written).
    pub(crate) fn new(
        duplex: Arc<Duplex>,
        outgoing: Outgoing,
        options: LinkOptions,
        handshaking: bool,
    ) -> Arc<Link> {
        // Built in place in the new allocation, not on the stack and moved:
        // this runs at the deepest point of a client thread's life, and
        // the stack pages it touches stay with the thread (idle cost).
        let out = Box::new(Mutex::new(Out {
            outgoing,
            queue: Queue {
                busy: handshaking,
                ..Queue::default()
            },
            cipher: Vec::new(),
            fin: Fin::None,
            sent_close: None,
            end: None,
            flusher: None,
            done: false,
        }));
        Arc::new_cyclic(|me| Link {
            duplex,
            out,
            idle: Condvar::new(),
            owner: thread::current().id(),
            options,
            me: me.clone(),
            state: AtomicU8::new(0),
        })
    }

    /// The socket.
    #[cfg(test)]
    pub(crate) fn duplex(&self) -> &Arc<Duplex> {
        &self.duplex
    }

    /// A panic while holding the lock (in an extension's encoder) leaves
    /// the state usable for closing: take it anyway.
    fn lock(&self) -> MutexGuard<'_, Out> {
        self.out.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_owner(&self) -> bool {
        thread::current().id() == self.owner
    }

    /// The opening handshake is on the wire: frames queued meanwhile follow
    /// it, written by a flusher. This thread must get on to reading: a
    /// client that uploads before it reads would otherwise wait for us while
    /// we wait for it.
    pub(crate) fn handshake_written(&self) -> Result<(), Error> {
        let mut g = self.lock();
        if g.queue.chunks.is_empty() {
            return self.drain(g, None);
        }
        self.spawn_flusher(&mut g);
        Ok(())
    }

    /// The opening handshake failed: drop whatever was queued.
    pub(crate) fn abandon(&self) {
        let mut g = self.lock();
        g.done = true;
        self.mark(CLOSING);
        g.queue.clear();
        g.queue.busy = false;
        self.idle.notify_all();
    }

    /// Sends a data message. From the connection's own thread this blocks
    /// like a socket write; from any other thread it never blocks.
    pub(crate) fn send(&self, opcode: OpCode, payload: &[u8]) -> Result<(), Error> {
        let mode = if self.is_owner() {
            Mode::Data(payload)
        } else {
            Mode::Other
        };
        self.write(mode, |out, wire| {
            out.message(wire, opcode, payload, &SendOptions::default(), false)
        })
    }

    /// Sends a broadcast: the bytes `prepared` holds for this client's
    /// framing, shared with every recipient of the same protocol (its own
    /// encoding when a data-transforming extension is in force). Never
    /// blocks.
    pub(crate) fn send_prepared(&self, prepared: &Prepared<'_>) -> Result<(), Error> {
        if self.options.transforms {
            let message = prepared.message();
            let (opcode, payload) = (message.opcode(), message.as_bytes());
            return self.write(Mode::Other, |out, wire| {
                out.message(wire, opcode, payload, &SendOptions::default(), false)
            });
        }
        self.write(Mode::Other, |out, wire| {
            open_for_data(out)?;
            let frame = prepared.frames(out.framing).ok_or(HIXIE76_TEXT_ONLY)?;
            send_shared(out, wire, frame)
        })
    }

    /// Sends the messages of `batch` that `skip` does not name, in order,
    /// in one write (frames this framing cannot carry are left out);
    /// returns how many it took. Never blocks.
    pub(crate) fn send_batch(&self, batch: &Batch<'_>, skip: Skip<'_>) -> usize {
        if self.options.transforms {
            // Each message compressed in turn: the extension's context
            // runs across messages (RFC 7692 §7.2.3.3).
            return batch
                .items()
                .iter()
                .enumerate()
                .filter(|(i, _)| !skip.is_some_and(|s| s(*i)))
                .take_while(|(_, p)| self.send_prepared(p).is_ok())
                .count();
        }
        self.write(Mode::Other, |out, wire| {
            open_for_data(out)?;
            let (frames, n) = batch.frames(out.framing, skip);
            if n > 0 {
                send_shared(out, wire, &frames)?;
            }
            Ok(n)
        })
        .unwrap_or(0)
    }

    /// Sends a ping or an unsolicited pong. Never blocks.
    pub(crate) fn control(&self, opcode: OpCode, payload: &[u8]) -> Result<(), Error> {
        self.write(Mode::Other, |out, wire| out.control(wire, opcode, payload))
    }

    /// Starts the closing handshake from any thread: sends our close frame
    /// and gives the peer `close_timeout` to answer, after which the socket
    /// is shut down. The connection's thread sees the answer (or the end).
    pub(crate) fn close(&self, frame: CloseFrame) -> Result<(), Error> {
        let sent = self.write(Mode::Other, |out, wire| {
            if out.close_sent {
                return Ok(false);
            }
            out.close(wire, Some(&frame)).map(|()| true)
        });
        match sent {
            Ok(true) => {
                self.lock().sent_close = Some(frame);
                self.arm_close_timer();
                Ok(())
            }
            Ok(false) | Err(Error::Closed) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Fails the connection from any thread (§7.1.7): our close frame with
    /// `end`'s code goes out after what is queued, the reader is woken
    /// (its socket's read side is shut down) and reports `end`.
    pub(crate) fn fail(&self, end: LocalEnd) {
        let mut g = self.lock();
        self.fail_locked(&mut g, end);
    }

    /// The policy's access to the write side (pongs, close frames): runs
    /// `f` under the lock; never blocks on the network.
    pub(crate) fn with_out<T>(
        &self,
        f: impl FnOnce(&mut Outgoing, &mut dyn Write) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.write(Mode::Other, |out, wire| f(out, wire))
    }

    /// Ends our direction once everything queued is out.
    pub(crate) fn shutdown_write(&self) {
        let mut g = self.lock();
        if g.fin == Fin::None {
            g.fin = Fin::Pending;
        }
        if !g.queue.busy {
            self.fin_now(&mut g);
        }
    }

    /// True once a pong arrived at or after `since`.
    pub(crate) fn pong_since(&self, since: Instant) -> bool {
        self.lock()
            .outgoing
            .pings
            .last_pong
            .is_some_and(|t| t >= since)
    }

    /// Cuts the connection off: no close frame, the reader wakes to its end.
    pub(crate) fn cut(&self) {
        self.duplex.shutdown(Shutdown::Both);
    }

    /// Bytes waiting for a slow reader (what counts against the cap).
    pub(crate) fn queued_bytes(&self) -> usize {
        let g = self.lock();
        g.queue.queued + g.queue.in_flight
    }

    /// True once our close frame is out (or queued), or we failed the connection.
    pub(crate) fn is_closing(&self) -> bool {
        self.state.load(Ordering::Acquire) & CLOSING != 0
    }

    /// True once we failed the connection.
    pub(crate) fn has_failed(&self) -> bool {
        self.state.load(Ordering::Acquire) & FAILED != 0
    }

    fn mark(&self, bits: u8) {
        self.state.fetch_or(bits, Ordering::Release);
    }

    /// Why we ended the connection, if we did.
    pub(crate) fn take_end(&self) -> Option<LocalEnd> {
        self.lock().end.take().map(|end| *end)
    }

    /// The connection's thread is done: no more sends; waits for a backlog
    /// to drain (within the close timeout) so the last frames are not lost.
    pub(crate) fn finish(&self) {
        let flusher = {
            let mut g = self.lock();
            g.done = true;
            self.mark(CLOSING);
            if g.queue.busy {
                drop(g);
                self.arm_close_timer();
                g = self.lock();
            }
            g.flusher.take()
        };
        if let Some(flusher) = flusher {
            let _ = flusher.join();
        }
        self.idle.notify_all();
    }

    /// The close deadline passed: shut the socket down, which ends both the
    /// reader and any flusher.
    fn force_close(&self) {
        let mut g = self.lock();
        if g.done && !g.queue.busy {
            return;
        }
        if g.end.is_none() && !g.done {
            let frame = g
                .sent_close
                .clone()
                .unwrap_or_else(|| CloseFrame::new(CloseCode::ABNORMAL, ""));
            g.end = Some(Box::new(LocalEnd {
                frame,
                error: Some(Error::Timeout(Timeout::Close)),
            }));
            self.mark(CLOSING | FAILED);
        }
        drop(g);
        self.duplex.shutdown(Shutdown::Both);
    }

    fn arm_close_timer(&self) {
        let Some(timers) = self.options.timers.as_ref().and_then(Weak::upgrade) else {
            return;
        };
        let me = self.me.clone();
        timers.schedule(Instant::now() + self.options.close_timeout, move || {
            if let Some(link) = me.upgrade() {
                link.force_close();
            }
        });
    }

    /// Runs `f` with the write side, then makes sure what it queued gets
    /// written: by this thread (own thread) or a flusher (any other).
    fn write<T>(
        &self,
        mode: Mode<'_>,
        f: impl FnOnce(&mut Outgoing, &mut Wire<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut g = self.lock();
        if let Mode::Data(_) = mode {
            // Backpressure: the own thread waits for a backlog to drain, as
            // a blocking write would.
            while g.queue.busy && !g.done {
                g = self.idle.wait(g).unwrap_or_else(|e| e.into_inner());
            }
        }
        if g.done {
            return Err(Error::Closed);
        }
        let result = {
            let Out {
                outgoing,
                queue,
                cipher,
                ..
            } = &mut *g;
            let mut wire = Wire {
                duplex: &self.duplex,
                queue,
                cipher,
                caller: mode.caller(),
            };
            f(outgoing, &mut wire)
        };
        if g.outgoing.close_sent {
            self.mark(CLOSING);
        }
        if g.queue.queued + g.queue.in_flight > self.options.cap && g.end.is_none() {
            let max = self.options.cap;
            self.fail_locked(
                &mut g,
                LocalEnd {
                    frame: CloseFrame::new(CloseCode::POLICY_VIOLATION, "outgoing queue full"),
                    error: Some(CapacityError::WriteBufferFull { max }.into()),
                },
            );
            return result.and(Err(CapacityError::WriteBufferFull { max }.into()));
        }
        if g.queue.chunks.is_empty() || g.queue.busy {
            return result;
        }
        g.queue.busy = true;
        let drained = match mode {
            Mode::Other => {
                self.spawn_flusher(&mut g);
                Ok(())
            }
            Mode::Data(payload) => self.drain(g, Some(payload)),
        };
        result.and_then(|v| drained.map(|()| v))
    }

    fn fail_locked(&self, g: &mut MutexGuard<'_, Out>, end: LocalEnd) {
        if g.end.is_some() || g.done {
            return;
        }
        let frame = end.frame.clone();
        g.end = Some(Box::new(end));
        self.mark(CLOSING | FAILED);
        if !g.outgoing.close_sent && !g.outgoing.broken {
            let Out {
                outgoing,
                queue,
                cipher,
                ..
            } = &mut **g;
            let mut wire = Wire {
                duplex: &self.duplex,
                queue,
                cipher,
                caller: None,
            };
            if outgoing.close(&mut wire, Some(&frame)).is_ok() {
                g.sent_close = Some(frame);
            }
        }
        if g.fin == Fin::None {
            g.fin = Fin::Pending;
        }
        if !g.queue.busy {
            if g.queue.chunks.is_empty() {
                self.fin_now(g);
            } else {
                g.queue.busy = true;
                self.spawn_flusher(g);
            }
        }
        // Wake the reader: it reads the end of the stream and reports `end`.
        self.duplex.shutdown(Shutdown::Read);
        self.arm_close_timer();
    }

    fn fin_now(&self, g: &mut Out) {
        if g.fin != Fin::Done {
            g.fin = Fin::Done;
            self.duplex.shutdown_write();
        }
    }

    fn spawn_flusher(&self, g: &mut Out) {
        let Some(me) = self.me.upgrade() else {
            return;
        };
        let spawned = thread::Builder::new()
            .name(self.options.name.to_string())
            .stack_size(64 << 10)
            .spawn(move || {
                let g = me.lock();
                let _ = me.drain(g, None);
            });
        match spawned {
            // A previous flusher gave up "busy" before this one started:
            // it has nothing left to do but return.
            Ok(handle) => g.flusher = Some(handle),
            Err(e) => {
                log::error!("cannot start a flusher thread: {e}");
                g.queue.clear();
                g.queue.busy = false;
                g.outgoing.broken = true;
                self.duplex.shutdown(Shutdown::Both);
                self.idle.notify_all();
            }
        }
    }

    /// Writes the queue until it is empty, the lock released while
    /// writing; then gives up "busy". The caller holds "busy".
    fn drain<'a>(&'a self, mut g: MutexGuard<'a, Out>, caller: Option<&[u8]>) -> Result<(), Error> {
        loop {
            if g.queue.chunks.is_empty() {
                g.queue.busy = false;
                if g.fin == Fin::Pending {
                    self.fin_now(&mut g);
                }
                drop(g);
                self.idle.notify_all();
                return Ok(());
            }
            let batch: Vec<Chunk> = g.queue.chunks.drain(..).collect();
            g.queue.in_flight = std::mem::take(&mut g.queue.queued);
            drop(g);
            let result = write_chunks(&self.duplex, &batch, caller);
            drop(batch);
            g = self.lock();
            g.queue.in_flight = 0;
            if let Err(e) = result {
                // Half a frame may be on the wire: nothing more can follow.
                let error = Error::from_io(e, Timeout::Write);
                g.outgoing.broken = true;
                g.queue.clear();
                g.queue.busy = false;
                if error.is_timeout() && g.end.is_none() && !g.done {
                    g.end = Some(Box::new(LocalEnd {
                        frame: CloseFrame::new(CloseCode::POLICY_VIOLATION, "write timed out"),
                        error: Some(Error::Timeout(Timeout::Write)),
                    }));
                    self.mark(CLOSING | FAILED);
                }
                drop(g);
                self.duplex.shutdown(Shutdown::Both);
                self.idle.notify_all();
                return Err(error);
            }
        }
    }
}

impl TlsOutput for Link {
    fn send_tls_output(&self) {
        let _ = self.write(Mode::Other, |out, wire| {
            let mut cipher = Vec::new();
            self.duplex.take_tls_output(&mut cipher);
            if !cipher.is_empty() {
                if let Err(e) = wire.send_raw(&[IoSlice::new(&cipher)], None) {
                    out.broken = true;
                    return Err(Error::Io(e));
                }
            }
            Ok(())
        });
    }
}

#[cfg(test)]
#[path = "link_tests.rs"]
mod tests;
