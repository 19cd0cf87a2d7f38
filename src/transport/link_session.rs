//! The connection policy over a [`Link`]: one constructor for every
//! connection whose reading thread is not its only writer.

use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use super::duplex::DuplexReader;
use super::link::Link;
use crate::error::Error;
use crate::message::CloseFrame;
use crate::session::{Outgoing, Transport};
use crate::stream::Stream;

/// The policy's view of a link: the connection's thread reads the socket
/// directly, and writes through the link.
pub(crate) struct LinkTransport {
    pub(crate) link: Arc<Link>,
    pub(crate) reader: DuplexReader,
    /// Chooses the answer to the peer's close frame (default: echo its code).
    pub(crate) close_reply: Option<CloseReply>,
}

/// A passive-close hook: the peer's close frame in, ours out.
pub(crate) type CloseReply = Box<dyn FnMut(Option<&CloseFrame>) -> Option<CloseFrame> + Send>;

impl Transport for LinkTransport {
    type Reader = DuplexReader;

    fn reader(&mut self) -> &mut DuplexReader {
        &mut self.reader
    }

    fn with_out<T>(
        &mut self,
        f: impl FnOnce(&mut Outgoing, &mut dyn Write) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.link.with_out(f)
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        Stream::set_read_timeout(self.link.duplex().tcp(), timeout)
    }

    fn shutdown_write(&mut self) {
        self.link.shutdown_write();
    }

    fn close_reply(&mut self, peer: Option<&CloseFrame>) -> Option<CloseFrame> {
        match &mut self.close_reply {
            Some(hook) => hook(peer),
            None => crate::session::echo_close(peer),
        }
    }
}
