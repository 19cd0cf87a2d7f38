//! [`TlsStream`] and its two halves: a reader that waits on the raw socket
//! without a lock, and writers that seal and send under the write lock
//! (the design is in the [module docs](super)).

use std::fmt;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use crate::stream::Stream;
use crate::transport::duplex::{TlsEstablished, TlsSession};

/// Ciphertext read from the socket at once: more than one full TLS record
/// (16 KiB of plaintext plus overhead), so a record rarely needs two reads.
const RAW_READ: usize = 32 << 10;

/// Plaintext sealed per round: bounds the ciphertext held in memory for a
/// large message and lets the first records leave while the rest waits.
const SEAL_CHUNK: usize = 64 << 10;

/// Small pieces of a vectored write (a frame header) are joined with what
/// follows, up to this size, so they do not become records of their own.
const COALESCE: usize = 16 << 10;

/// What the reader and the writers share.
struct Shared {
    tcp: TcpStream,
    /// The session and the ciphertext it produced that is not yet sent, in
    /// sealing order. Held only for in-memory work, never across I/O.
    tls: Mutex<Tls>,
    /// Held by whoever sends ciphertext, from before it is sealed until it
    /// is on the socket, so records leave in sequence order.
    write: Mutex<()>,
    /// A write failed half-way: the record stream is cut, nothing more may
    /// be sent.
    broken: AtomicBool,
}

struct Tls {
    session: Box<dyn TlsSession>,
    outbox: Vec<u8>,
}

fn lock<T>(m: &Mutex<T>) -> io::Result<MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| io::Error::other("TLS session lock poisoned"))
}

impl Shared {
    /// Sends the outbox until it stays empty. The caller holds `write`
    /// (`guard`); it is released while `tls` is held and the outbox is seen
    /// empty, so a record queued by the reader right after is sent by the
    /// reader itself (its `try_lock` then succeeds).
    fn drain_outbox(&self, guard: MutexGuard<'_, ()>, scratch: &mut Vec<u8>) -> io::Result<()> {
        loop {
            {
                let mut tls = lock(&self.tls)?;
                if tls.outbox.is_empty() {
                    drop(guard);
                    return Ok(());
                }
                std::mem::swap(&mut tls.outbox, scratch);
            }
            let result = (&self.tcp).write_all(scratch);
            scratch.clear();
            if let Err(e) = result {
                self.broken.store(true, Ordering::Relaxed);
                return Err(e);
            }
        }
    }

    fn check_writable(&self) -> io::Result<()> {
        if self.broken.load(Ordering::Relaxed) {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "TLS stream cut by an earlier failed write",
            ));
        }
        Ok(())
    }
}

/// The read half: raw socket reads without a lock, decryption under it.
pub(crate) struct DuplexReader {
    shared: Arc<Shared>,
    raw: Vec<u8>,
    plain: Vec<u8>,
    pos: usize,
    scratch: Vec<u8>,
}

impl Read for DuplexReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.plain.len() {
                let n = buf.len().min(self.plain.len() - self.pos);
                buf[..n].copy_from_slice(&self.plain[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if buf.is_empty() {
                return Ok(0);
            }
            self.plain.clear();
            self.pos = 0;
            if self.raw.is_empty() {
                self.raw = vec![0; RAW_READ];
            }
            // Waits for the peer holding no lock: writers go on meanwhile.
            let n = (&self.shared.tcp).read(&mut self.raw)?;
            if n == 0 {
                return Ok(0);
            }
            let (decrypted, pending) = {
                let mut tls = lock(&self.shared.tls)?;
                let Tls { session, outbox } = &mut *tls;
                let decrypted = session.decrypt(&self.raw[..n], &mut self.plain);
                // Also after a failure: the session may have an alert to send.
                session.take_output(outbox);
                (decrypted, !outbox.is_empty())
            };
            let sent = if pending { self.send_pending() } else { Ok(()) };
            decrypted?;
            sent?;
        }
    }
}

impl DuplexReader {
    /// Sends records the session produced while decrypting, unless a writer
    /// is active: it will send them ahead of its own. Never waits for a
    /// writer, which may be blocked on a peer that waits for us to read.
    fn send_pending(&mut self) -> io::Result<()> {
        match self.shared.write.try_lock() {
            Ok(guard) => {
                self.shared.check_writable()?;
                self.shared.drain_outbox(guard, &mut self.scratch)
            }
            Err(TryLockError::WouldBlock) => Ok(()),
            Err(TryLockError::Poisoned(_)) => Err(io::Error::other("TLS write lock poisoned")),
        }
    }
}

/// A write half; clones write to the same stream, each write whole and
/// in order.
pub(crate) struct DuplexWriter {
    shared: Arc<Shared>,
    cipher: Vec<u8>,
    join: Vec<u8>,
}

impl Clone for DuplexWriter {
    fn clone(&self) -> DuplexWriter {
        DuplexWriter {
            shared: Arc::clone(&self.shared),
            cipher: Vec::new(),
            join: Vec::new(),
        }
    }
}

impl DuplexWriter {
    /// Seals `plaintext` and sends it, with any records queued before it.
    /// All or nothing: on error the stream cannot be written any more.
    pub(crate) fn send(&mut self, plaintext: &[u8]) -> io::Result<()> {
        let guard = lock(&self.shared.write)?;
        self.shared.check_writable()?;
        {
            let mut tls = lock(&self.shared.tls)?;
            let Tls { session, outbox } = &mut *tls;
            session.encrypt(plaintext, outbox)?;
        }
        self.shared.drain_outbox(guard, &mut self.cipher)
    }

    /// Sends a close_notify and ends the TCP stream for writing. A broken
    /// stream only gets its FIN.
    pub(crate) fn shutdown(&mut self) -> io::Result<()> {
        let guard = lock(&self.shared.write)?;
        if self.shared.check_writable().is_ok() {
            {
                let mut tls = lock(&self.shared.tls)?;
                let Tls { session, outbox } = &mut *tls;
                session.close_notify(outbox);
            }
            self.shared.drain_outbox(guard, &mut self.cipher)?;
        }
        self.shared.tcp.shutdown(Shutdown::Write)
    }
}

impl Write for DuplexWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(SEAL_CHUNK);
        self.send(&buf[..n])?;
        Ok(n)
    }

    /// Joins small leading pieces (a frame header) with what follows, so
    /// a frame does not cost one TLS record per piece; a large first piece
    /// is sealed as it is, without a copy.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match bufs.iter().find(|b| !b.is_empty()) {
            None => return Ok(0),
            Some(b) if b.len() >= COALESCE => return self.write(b),
            Some(_) => {}
        }
        let mut join = std::mem::take(&mut self.join);
        join.clear();
        for b in bufs {
            let room = COALESCE - join.len();
            join.extend_from_slice(&b[..b.len().min(room)]);
            if b.len() >= room {
                break;
            }
        }
        let result = self.send(&join).map(|()| join.len());
        self.join = join;
        result
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A TLS connection over TCP: the stream of a `wss://` client, and of a
/// server connection accepted by [`TlsAcceptor`](super::TlsAcceptor).
///
/// Reads and writes work as on any stream; timeouts apply to the TCP
/// socket; [`Stream::shutdown_write`] sends a close_notify, then a FIN.
pub struct TlsStream {
    reader: DuplexReader,
    writer: DuplexWriter,
}

impl TlsStream {
    /// Wraps a socket whose TLS handshake is done: the session carries on
    /// the connection, its plaintext arrived with the handshake.
    pub(crate) fn new(tcp: TcpStream, established: TlsEstablished) -> TlsStream {
        let TlsEstablished { session, plaintext } = established;
        let shared = Arc::new(Shared {
            tcp,
            tls: Mutex::new(Tls {
                session,
                outbox: Vec::new(),
            }),
            write: Mutex::new(()),
            broken: AtomicBool::new(false),
        });
        TlsStream {
            reader: DuplexReader {
                shared: Arc::clone(&shared),
                raw: Vec::new(),
                plain: plaintext,
                pos: 0,
                scratch: Vec::new(),
            },
            writer: DuplexWriter {
                shared,
                cipher: Vec::new(),
                join: Vec::new(),
            },
        }
    }

    /// The TCP socket underneath (reading or writing it directly breaks
    /// the TLS stream).
    pub fn tcp(&self) -> &TcpStream {
        &self.writer.shared.tcp
    }

    /// The read half and a cloneable write half, for a peer that reads
    /// on one thread and sends from others (tests).
    #[cfg(test)]
    pub(crate) fn split(self) -> (DuplexReader, DuplexWriter) {
        (self.reader, self.writer)
    }

    /// Takes the stream apart for a transport that drives the socket itself
    /// (the full-duplex client of `stdws connect`): the socket, the
    /// session, and the plaintext decrypted but not read yet. Records the
    /// session had queued (an alert, a key update) are sent first, so the
    /// new owner seals the next record in sequence.
    pub(crate) fn into_parts(self) -> io::Result<(TcpStream, TlsEstablished)> {
        let TlsStream { reader, writer } = self;
        let DuplexReader {
            shared,
            mut plain,
            pos,
            ..
        } = reader;
        drop(writer);
        let shared = Arc::try_unwrap(shared)
            .map_err(|_| io::Error::other("TLS stream still in use by another half"))?;
        shared.check_writable()?;
        let Shared { tcp, tls, .. } = shared;
        let Tls { session, outbox } = tls
            .into_inner()
            .map_err(|_| io::Error::other("TLS session lock poisoned"))?;
        (&tcp).write_all(&outbox)?;
        plain.drain(..pos);
        Ok((
            tcp,
            TlsEstablished {
                session,
                plaintext: plain,
            },
        ))
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.writer.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Stream for TlsStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        Stream::set_read_timeout(self.tcp(), timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        Stream::set_write_timeout(self.tcp(), timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.writer.shutdown()
    }
}

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsStream")
            .field("tcp", self.tcp())
            .finish_non_exhaustive()
    }
}
