//! The byte streams stdws runs on.
//!
//! [`WebSocket`](crate::WebSocket) and [`Connection`](crate::Connection)
//! work over any [`Stream`]: a `Read + Write` that can also take timeouts.
//! Every limit in time (the handshake deadline, the close timeout, read and
//! write timeouts) is enforced through [`Stream::set_read_timeout`] and
//! [`Stream::set_write_timeout`]; a stream that cannot time out (an
//! in-memory pipe in a test) keeps the default methods, which do nothing.
//!
//! ```
//! use std::io::{self, Read, Write};
//! struct Pipe(Vec<u8>);
//! impl Read for Pipe { fn read(&mut self, _: &mut [u8]) -> io::Result<usize> { Ok(0) } }
//! impl Write for Pipe {
//!     fn write(&mut self, b: &[u8]) -> io::Result<usize> { self.0.extend_from_slice(b); Ok(b.len()) }
//!     fn flush(&mut self) -> io::Result<()> { Ok(()) }
//! }
//! impl stdws::Stream for Pipe {}
//! ```

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A byte stream with optional timeouts.
pub trait Stream: Read + Write {
    /// Sets how long a read may block (`None`: forever). The default does
    /// nothing, for streams without timeouts.
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Ok(())
    }

    /// Sets how long a write may block (`None`: forever). The default does
    /// nothing.
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Ok(())
    }

    /// Ends our side of the stream after the closing handshake: no more
    /// writes (a TCP FIN; TLS sends close_notify first). The default does
    /// nothing.
    fn shutdown_write(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Stream for TcpStream {
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(std::net::Shutdown::Write)
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout.map(nonzero))
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout.map(nonzero))
    }
}

#[cfg(unix)]
impl Stream for std::os::unix::net::UnixStream {
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(std::net::Shutdown::Write)
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout.map(nonzero))
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_write_timeout(self, timeout.map(nonzero))
    }
}

impl<S: Stream + ?Sized> Stream for Box<S> {
    fn shutdown_write(&mut self) -> io::Result<()> {
        (**self).shutdown_write()
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_write_timeout(timeout)
    }
}

/// A zero timeout means "never" to the socket API; a deadline that has just
/// passed must still time out, so it becomes one microsecond.
fn nonzero(d: Duration) -> Duration {
    d.max(Duration::from_micros(1))
}
