//! [`MaybeTlsStream`]: the stream of a client connection, `ws://` or
//! `wss://`, chosen by the URL's scheme.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::stream::Stream;
#[cfg(any(feature = "tls", feature = "rustls"))]
use crate::transport::tls_stream::TlsStream;

/// The stream a client connection runs on: plain TCP, or TLS over TCP.
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream {
    /// `ws://`
    Plain(TcpStream),
    /// `wss://` (with the `tls` or `rustls` feature).
    #[cfg(any(feature = "tls", feature = "rustls"))]
    Tls(TlsStream),
}

impl MaybeTlsStream {
    /// The TCP socket underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            MaybeTlsStream::Plain(s) => s,
            #[cfg(any(feature = "tls", feature = "rustls"))]
            MaybeTlsStream::Tls(s) => s.tcp(),
        }
    }
}

impl Read for MaybeTlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(s) => s.read(buf),
            #[cfg(any(feature = "tls", feature = "rustls"))]
            MaybeTlsStream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for MaybeTlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(s) => s.write(buf),
            #[cfg(any(feature = "tls", feature = "rustls"))]
            MaybeTlsStream::Tls(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            MaybeTlsStream::Plain(s) => s.write_vectored(bufs),
            #[cfg(any(feature = "tls", feature = "rustls"))]
            MaybeTlsStream::Tls(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            MaybeTlsStream::Plain(s) => s.flush(),
            #[cfg(any(feature = "tls", feature = "rustls"))]
            MaybeTlsStream::Tls(s) => s.flush(),
        }
    }
}

impl Stream for MaybeTlsStream {
    fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            MaybeTlsStream::Plain(s) => s.shutdown_write(),
            #[cfg(any(feature = "tls", feature = "rustls"))]
            MaybeTlsStream::Tls(s) => s.shutdown_write(),
        }
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        Stream::set_read_timeout(self.tcp(), timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        Stream::set_write_timeout(self.tcp(), timeout)
    }
}
