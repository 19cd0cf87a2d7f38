//! [`TlsStream`]: the duplex transport with a TLS session, owned by one
//! thread: the stream of a `wss://` client, and of a server connection
//! accepted by [`TlsAcceptor`](crate::tls::TlsAcceptor).

use std::fmt;
use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use super::duplex::{Duplex, DuplexReader, DuplexStream, TlsEstablished};
use crate::stream::Stream;

/// A TLS connection over TCP: the stream of a `wss://` client, and of a
/// server connection accepted by [`TlsAcceptor`](crate::tls::TlsAcceptor).
///
/// Reads and writes work as on any stream; timeouts apply to the TCP
/// socket; [`Stream::shutdown_write`] sends a close_notify, then a FIN.
/// [`WebSocket::split`](crate::WebSocket::split) moves it, session and
/// all, onto the transport that lets one thread read while others send.
pub struct TlsStream {
    stream: DuplexStream,
}

impl TlsStream {
    /// Wraps a socket whose TLS handshake is done: the session carries on
    /// the connection, its plaintext arrived with the handshake.
    pub(crate) fn new(tcp: TcpStream, established: TlsEstablished) -> TlsStream {
        let duplex = Arc::new(Duplex::new(tcp));
        duplex.install_tls(established.session);
        TlsStream {
            stream: DuplexStream::new(DuplexReader::new(duplex, established.plaintext)),
        }
    }

    /// The TCP socket underneath (reading or writing it directly breaks
    /// the TLS stream).
    pub fn tcp(&self) -> &TcpStream {
        self.stream.duplex().tcp()
    }

    /// The transport underneath, for a connection shared between threads.
    pub(crate) fn into_duplex(self) -> DuplexStream {
        self.stream
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf)
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.stream.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

impl Stream for TlsStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.stream.set_read_timeout(timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.stream.set_write_timeout(timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.stream.shutdown_write()
    }
}

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsStream")
            .field("tcp", self.tcp())
            .finish_non_exhaustive()
    }
}
