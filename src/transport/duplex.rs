//! One socket, one reader, many writers: the carrier under the server's
//! clients, the halves of a split connection and the client's TLS stream.
//!
//! A client's own thread blocks reading its socket while any other thread
//! may send to it. Over plain TCP both sides use the same `TcpStream`
//! (`Read` and `Write` are implemented for `&TcpStream`), so a connection
//! costs one file descriptor, not two as with `try_clone`.
//!
//! TLS cannot be split that way: one session object holds the state of
//! both directions. Here it is a pure transform ([`TlsTransform`]): the
//! reader reads ciphertext from the raw socket without any lock, then locks
//! the session only to decrypt what arrived; writers encrypt under the same
//! short lock and write to the raw socket. Every socket operation (timeouts,
//! `shutdown`, non-blocking sends) therefore works the same for TLS and for
//! plain TCP, and nobody holds a lock while blocked on the network.
//!
//! ```text
//!                 ┌──────────── Duplex ────────────┐
//!  reader thread ─┤ read(&tcp) ─► [decrypt] ─► plaintext
//!  any thread    ─┤ plaintext ─► [encrypt] ─► send(&tcp)   (MSG_DONTWAIT, or blocking)
//!                 └── tcp: TcpStream, tls: Option<Mutex<dyn TlsTransform>> ──┘
//! ```

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::stream::Stream;
use crate::write::write_all_vectored;

/// A TLS session as a pure transform, so the server can read the raw socket without holding the
/// lock that writers need (full duplex over TLS without polling).
pub(crate) trait TlsTransform: Send {
    /// Ciphertext from the socket in; plaintext appended to `plaintext`.
    fn decrypt(&mut self, ciphertext: &[u8], plaintext: &mut Vec<u8>) -> io::Result<()>;
    /// Plaintext in; ciphertext appended to `ciphertext`.
    fn encrypt(&mut self, plaintext: &[u8], ciphertext: &mut Vec<u8>) -> io::Result<()>;
    /// Ciphertext the session produced on its own (alerts, key updates, tickets) to be sent.
    fn take_output(&mut self, ciphertext: &mut Vec<u8>);
    /// Appends a close_notify alert.
    fn close_notify(&mut self, ciphertext: &mut Vec<u8>);
    /// True when [`take_output`](Self::take_output) may have something to
    /// send. The default, always true, is correct; a session that knows
    /// better (rustls' `wants_write`) spares the reader a lock per read.
    fn has_output(&self) -> bool {
        true
    }
}

/// A TLS session whose handshake is done (server or client side), and the
/// application data that arrived along with the handshake.
pub(crate) struct TlsEstablished {
    pub(crate) session: Box<dyn TlsTransform>,
    pub(crate) plaintext: Vec<u8>,
}

/// Turns an accepted TCP socket into a TLS session: what a TLS backend
/// gives the server (`ServerBuilder::tls`) and `TlsAcceptor::accept`. It
/// runs on the client's own thread and must finish the TLS handshake
/// before `deadline` (the server also shuts the socket down shortly
/// after). Failures are typed: [`Error::Tls`] naming the cause,
/// [`Error::Timeout`] for the deadline, [`Error::Io`] for the socket.
pub(crate) trait Acceptor: Send + Sync {
    /// Runs the TLS handshake on `tcp` (blocking reads and writes on it).
    fn accept(&self, tcp: &TcpStream, deadline: Instant) -> Result<TlsEstablished, Error>;
}

/// Somewhere to send the ciphertext a TLS session produced while
/// decrypting (key updates, alerts): the writers' side, which must put it
/// on the wire in order with their own records.
pub(crate) trait TlsOutput: Send + Sync {
    /// Takes the session's pending output under the writers' lock and sends it.
    fn send_tls_output(&self);
}

/// Plaintext joined into one record when a write comes in pieces (a
/// frame header and its payload): one full TLS record.
const COALESCE: usize = 16 * 1024;

/// Plaintext sealed per round by a blocking write: bounds the ciphertext
/// held in memory for a large message and lets the first records leave
/// while the rest waits.
const SEAL_CHUNK: usize = 64 << 10;

/// Size of the ciphertext read buffer: one full TLS record (16 KiB of
/// plaintext plus header and tag), so decrypting never waits for a second
/// read while plaintext is already complete.
const CIPHER_BUF: usize = 16 * 1024 + 512;

/// A TCP socket shared by one reader and any number of writers, with an
/// optional TLS session.
pub(crate) struct Duplex {
    tcp: TcpStream,
    tls: OnceLock<Mutex<Box<dyn TlsTransform>>>,
}

impl Duplex {
    pub(crate) fn new(tcp: TcpStream) -> Duplex {
        Duplex {
            tcp,
            tls: OnceLock::new(),
        }
    }

    /// The raw socket.
    pub(crate) fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// Puts a TLS session on the socket (once, right after the TLS handshake).
    pub(crate) fn install_tls(&self, session: Box<dyn TlsTransform>) {
        if self.tls.set(Mutex::new(session)).is_err() {
            log::error!("a TLS session was installed twice");
        }
    }

    /// True when a TLS session is installed.
    pub(crate) fn is_tls(&self) -> bool {
        self.tls.get().is_some()
    }

    /// The TLS session, locked. A panic in another holder does not matter:
    /// the session state is the TLS library's, not half-updated by us.
    fn session(&self) -> Option<MutexGuard<'_, Box<dyn TlsTransform>>> {
        self.tls
            .get()
            .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Encrypts `bufs` (as one plaintext) into `out`. Plain TCP: copies.
    pub(crate) fn encrypt(&self, bufs: &[IoSlice<'_>], out: &mut Vec<u8>) -> io::Result<()> {
        let Some(mut session) = self.session() else {
            for b in bufs {
                out.extend_from_slice(b);
            }
            return Ok(());
        };
        let mut nonempty = bufs.iter().filter(|b| !b.is_empty());
        match (nonempty.next(), nonempty.next()) {
            (None, _) => Ok(()),
            (Some(only), None) => session.encrypt(only, out),
            _ => {
                // A frame header is a few bytes: it goes into one record
                // with the start of the payload rather than a record of its
                // own, and the rest of a large payload is sealed in place
                // instead of being copied first.
                let mut joined = Vec::with_capacity(COALESCE);
                let mut rest: &[IoSlice<'_>] = bufs;
                let mut tail: &[u8] = &[];
                while let Some((first, others)) = rest.split_first() {
                    let room = COALESCE - joined.len();
                    if first.len() > room {
                        joined.extend_from_slice(&first[..room]);
                        tail = &first[room..];
                        rest = others;
                        break;
                    }
                    joined.extend_from_slice(first);
                    rest = others;
                }
                session.encrypt(&joined, out)?;
                for piece in std::iter::once(tail).chain(rest.iter().map(|b| &b[..])) {
                    if !piece.is_empty() {
                        session.encrypt(piece, out)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// Sends what the socket takes now without blocking (`MSG_DONTWAIT`),
    /// raw bytes (ciphertext for TLS). `WouldBlock` when it takes nothing.
    pub(crate) fn send_now(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        socket2::SockRef::from(&self.tcp).send_vectored_with_flags(bufs, SEND_NOW_FLAGS)
    }

    /// Writes raw bytes, blocking up to the socket's write timeout per call.
    pub(crate) fn write_raw(&self, bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
        write_all_vectored(&mut &self.tcp, bufs)
    }

    /// Writes plaintext (encrypted first for TLS), blocking. TLS seals
    /// and sends at most [`SEAL_CHUNK`] bytes of plaintext per round, so a
    /// large message never holds its whole ciphertext in memory.
    pub(crate) fn write_plain(&self, bufs: &[IoSlice<'_>]) -> io::Result<()> {
        if !self.is_tls() {
            // `write_raw` advances the slices it is given: a copy, on the
            // stack for the few this is called with (the handshake's answer,
            // an error page).
            let mut few = [IoSlice::new(&[]); 4];
            if let Some(few) = few.get_mut(..bufs.len()) {
                few.copy_from_slice(bufs);
                return self.write_raw(few);
            }
            return self.write_raw(&mut bufs.to_vec());
        }
        let mut cipher = Vec::new();
        let mut round: Vec<IoSlice<'_>> = Vec::new();
        let mut size = 0;
        for buf in bufs {
            let mut piece: &[u8] = buf;
            while !piece.is_empty() {
                let take = piece.len().min(SEAL_CHUNK - size);
                round.push(IoSlice::new(&piece[..take]));
                piece = &piece[take..];
                size += take;
                if size == SEAL_CHUNK {
                    self.seal_and_write(&round, &mut cipher)?;
                    round.clear();
                    size = 0;
                }
            }
        }
        if round.is_empty() {
            return Ok(());
        }
        self.seal_and_write(&round, &mut cipher)
    }

    fn seal_and_write(&self, plain: &[IoSlice<'_>], cipher: &mut Vec<u8>) -> io::Result<()> {
        cipher.clear();
        self.encrypt(plain, cipher)?;
        self.write_raw(&mut [IoSlice::new(cipher)])
    }

    /// Takes the TLS session's pending output (nothing for plain TCP).
    pub(crate) fn take_tls_output(&self, out: &mut Vec<u8>) {
        if let Some(mut session) = self.session() {
            if session.has_output() {
                session.take_output(out);
            }
        }
    }

    /// Ends our direction: TLS close_notify (if the socket takes it now),
    /// then a TCP FIN. Never blocks.
    pub(crate) fn shutdown_write(&self) {
        if let Some(mut session) = self.session() {
            let mut alert = Vec::new();
            session.close_notify(&mut alert);
            drop(session);
            let _ = self.send_now(&[IoSlice::new(&alert)]);
        }
        let _ = self.tcp.shutdown(Shutdown::Write);
    }

    /// Shuts the socket down; `Read` or `Both` wakes a reader blocked on it
    /// (it reads the end of the stream).
    pub(crate) fn shutdown(&self, how: Shutdown) {
        let _ = self.tcp.shutdown(how);
    }
}

/// `MSG_DONTWAIT` makes this one call non-blocking without touching the
/// socket's mode, which the reader relies on. `MSG_NOSIGNAL`: a closed peer
/// is an error, not a SIGPIPE.
#[cfg(any(target_os = "linux", target_os = "android"))]
const SEND_NOW_FLAGS: libc::c_int = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const SEND_NOW_FLAGS: libc::c_int = libc::MSG_DONTWAIT;

/// The read half of a [`Duplex`]: used by one thread only, and lock-free
/// for plain TCP.
pub(crate) struct DuplexReader {
    duplex: Arc<Duplex>,
    /// What only TLS (or early plaintext) needs: boxed, so the reader of a
    /// plain TCP connection, which every idle client holds, is two words.
    tls: Option<Box<TlsReading>>,
}

/// A TLS reader's state.
#[derive(Default)]
struct TlsReading {
    /// Ciphertext read buffer (allocated on first use).
    cipher: Vec<u8>,
    /// Decrypted bytes not yet handed out, from `plain_at`.
    plain: Vec<u8>,
    plain_at: usize,
    /// Where TLS output produced while decrypting goes once writers exist;
    /// before that (the handshake) this reader writes it itself.
    output: Option<Weak<dyn TlsOutput>>,
}

impl DuplexReader {
    /// A reader that first returns `early` (plaintext that came with the
    /// TLS handshake).
    pub(crate) fn new(duplex: Arc<Duplex>, early: Vec<u8>) -> DuplexReader {
        let tls = (duplex.is_tls() || !early.is_empty()).then(|| {
            Box::new(TlsReading {
                plain: early,
                ..TlsReading::default()
            })
        });
        DuplexReader { duplex, tls }
    }

    /// The socket.
    pub(crate) fn duplex(&self) -> &Arc<Duplex> {
        &self.duplex
    }

    /// Sends TLS output through `output` from now on (writers exist).
    /// A plain TCP connection has no TLS output: nothing is kept.
    pub(crate) fn set_tls_output(&mut self, output: Weak<dyn TlsOutput>) {
        if self.duplex.is_tls() {
            self.tls.get_or_insert_with(Box::default).output = Some(output);
        }
    }

    fn read_tls(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let duplex = &self.duplex;
        let tls = self.tls.get_or_insert_with(Box::default);
        loop {
            if tls.plain_at < tls.plain.len() {
                let n = buf.len().min(tls.plain.len() - tls.plain_at);
                buf[..n].copy_from_slice(&tls.plain[tls.plain_at..tls.plain_at + n]);
                tls.plain_at += n;
                if tls.plain_at == tls.plain.len() {
                    tls.plain.clear();
                    tls.plain_at = 0;
                }
                return Ok(n);
            }
            if tls.cipher.is_empty() {
                tls.cipher = vec![0; CIPHER_BUF];
            }
            // No lock while blocked: writers keep encrypting and sending.
            let n = (&duplex.tcp).read(&mut tls.cipher)?;
            if n == 0 {
                return Ok(0);
            }
            let (decrypted, output) = {
                let mut session = duplex.session().expect("TLS reader without session");
                let decrypted = session.decrypt(&tls.cipher[..n], &mut tls.plain);
                (decrypted, session.has_output())
            };
            // Also after a failure: the session may have an alert to send,
            // and the peer should learn why before the connection ends.
            let flushed = if output {
                flush_tls_output(duplex, tls.output.as_ref())
            } else {
                Ok(())
            };
            decrypted?;
            flushed?;
        }
    }
}

/// Sends what the TLS session produced while decrypting: through the
/// writers once there are any, by the reader itself before.
fn flush_tls_output(duplex: &Duplex, writers: Option<&Weak<dyn TlsOutput>>) -> io::Result<()> {
    match writers.and_then(Weak::upgrade) {
        Some(writers) => writers.send_tls_output(),
        None => {
            let mut out = Vec::new();
            duplex.take_tls_output(&mut out);
            if !out.is_empty() {
                duplex.write_raw(&mut [IoSlice::new(&out)])?;
            }
        }
    }
    Ok(())
}

impl Read for DuplexReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let early = self
            .tls
            .as_ref()
            .is_some_and(|t| t.plain_at < t.plain.len());
        if early || self.duplex.is_tls() {
            return self.read_tls(buf);
        }
        (&self.duplex.tcp).read(buf)
    }
}

/// A [`Duplex`] used by one thread as an ordinary blocking stream: the
/// opening handshake and plain HTTP responses, before any other thread
/// can write.
pub(crate) struct DuplexStream {
    reader: DuplexReader,
}

impl DuplexStream {
    pub(crate) fn new(reader: DuplexReader) -> DuplexStream {
        DuplexStream { reader }
    }

    /// The socket.
    pub(crate) fn duplex(&self) -> &Arc<Duplex> {
        self.reader.duplex()
    }

    /// Sends TLS output through `output` from now on (writers exist).
    pub(crate) fn set_tls_output(&mut self, output: Weak<dyn TlsOutput>) {
        self.reader.set_tls_output(output);
    }
}

impl Read for DuplexStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

impl Write for DuplexStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.duplex().write_plain(&[IoSlice::new(buf)])?;
        Ok(buf.len())
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.duplex().write_plain(bufs)?;
        Ok(bufs.iter().map(|b| b.len()).sum())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Stream for DuplexStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        Stream::set_read_timeout(self.duplex().tcp(), timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        Stream::set_write_timeout(self.duplex().tcp(), timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.duplex().shutdown_write();
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A toy "cipher": XOR with a key byte, each write framed as one
    /// "record" so nothing about it is stateless by accident.
    pub(crate) struct Xor(pub(crate) u8);

    impl TlsTransform for Xor {
        fn decrypt(&mut self, ciphertext: &[u8], plaintext: &mut Vec<u8>) -> io::Result<()> {
            plaintext.extend(ciphertext.iter().map(|b| b ^ self.0));
            Ok(())
        }
        fn encrypt(&mut self, plaintext: &[u8], ciphertext: &mut Vec<u8>) -> io::Result<()> {
            ciphertext.extend(plaintext.iter().map(|b| b ^ self.0));
            Ok(())
        }
        fn take_output(&mut self, _: &mut Vec<u8>) {}
        fn close_notify(&mut self, ciphertext: &mut Vec<u8>) {
            ciphertext.extend_from_slice(b"~bye~");
        }
        fn has_output(&self) -> bool {
            false
        }
    }

    /// A connected pair of TCP sockets on loopback.
    pub(crate) fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (b, _) = listener.accept().unwrap();
        a.set_nodelay(true).unwrap();
        b.set_nodelay(true).unwrap();
        a.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        b.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        (a, b)
    }

    #[test]
    fn tls_reader_decrypts_and_writer_encrypts() {
        let (ours, mut peer) = pair();
        let duplex = Arc::new(Duplex::new(ours));
        duplex.install_tls(Box::new(Xor(0x5A)));
        let mut stream = DuplexStream::new(DuplexReader::new(duplex, b"early ".to_vec()));
        peer.write_all(&b"hello".map(|b| b ^ 0x5A)).unwrap();
        let mut got = [0u8; 11];
        stream.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"early hello");
        let n = stream
            .write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")])
            .unwrap();
        assert_eq!(n, 4);
        let mut wire = [0u8; 4];
        peer.read_exact(&mut wire).unwrap();
        assert_eq!(wire, b"abcd".map(|b| b ^ 0x5A));
        stream.shutdown_write().unwrap();
        let mut rest = Vec::new();
        peer.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"~bye~", "close_notify, then FIN");
    }

    /// Records every encrypt call as one "record": its length and bytes.
    struct Records(Arc<Mutex<Vec<Vec<u8>>>>);

    impl TlsTransform for Records {
        fn decrypt(&mut self, ciphertext: &[u8], plaintext: &mut Vec<u8>) -> io::Result<()> {
            plaintext.extend_from_slice(ciphertext);
            Ok(())
        }
        fn encrypt(&mut self, plaintext: &[u8], ciphertext: &mut Vec<u8>) -> io::Result<()> {
            self.0.lock().unwrap().push(plaintext.to_vec());
            ciphertext.extend_from_slice(plaintext);
            Ok(())
        }
        fn take_output(&mut self, _: &mut Vec<u8>) {}
        fn close_notify(&mut self, _: &mut Vec<u8>) {}
    }

    #[test]
    fn a_frame_header_shares_a_record_and_a_large_payload_is_sealed_in_place() {
        let (ours, _peer) = pair();
        let duplex = Duplex::new(ours);
        let records = Arc::new(Mutex::new(Vec::new()));
        duplex.install_tls(Box::new(Records(Arc::clone(&records))));
        let header = [0x82, 126, 0x9C, 0x40];
        let payload: Vec<u8> = (0..40_000u32).map(|i| i as u8).collect();
        let mut out = Vec::new();
        duplex
            .encrypt(&[IoSlice::new(&header), IoSlice::new(&payload)], &mut out)
            .unwrap();
        let records = records.lock().unwrap();
        let sizes: Vec<usize> = records.iter().map(Vec::len).collect();
        assert_eq!(sizes, [COALESCE, 40_004 - COALESCE]);
        assert_eq!(&records[0][..4], &header);
        assert_eq!(out[4..], payload[..]);
        drop(records);
        // Small pieces stay one record.
        let records = Arc::new(Mutex::new(Vec::new()));
        let (ours, _peer) = pair();
        let duplex = Duplex::new(ours);
        duplex.install_tls(Box::new(Records(Arc::clone(&records))));
        duplex
            .encrypt(&[IoSlice::new(b"\x81\x02"), IoSlice::new(b"hi")], &mut out)
            .unwrap();
        assert_eq!(*records.lock().unwrap(), [b"\x81\x02hi".to_vec()]);
    }

    #[test]
    fn send_now_never_blocks_on_a_full_socket() {
        let (ours, _peer) = pair();
        socket2::SockRef::from(&ours)
            .set_send_buffer_size(4096)
            .unwrap();
        let duplex = Duplex::new(ours);
        let chunk = vec![0u8; 64 << 10];
        let started = Instant::now();
        let mut sent = 0usize;
        loop {
            match duplex.send_now(&[IoSlice::new(&chunk)]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
            assert!(started.elapsed() < Duration::from_secs(5), "never filled");
        }
        assert!(sent > 0);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
