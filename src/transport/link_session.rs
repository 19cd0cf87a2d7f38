//! The connection policy over a [`Link`]: one constructor for every
//! connection whose reading thread is not its only writer (a server's
//! client, the halves of a split connection).

use std::io::{self, Write};
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::duplex::{DuplexStream, TlsOutput};
use super::link::{FlusherName, Link, LinkOptions};
use super::timer::Timers;
use crate::close_frame::CloseFrame;
use crate::error::Error;
use crate::session::{echo_close, Outgoing, Session, Transport};
use crate::stream::Stream;
use crate::websocket::WebSocket;

/// The policy's view of a link: the connection's thread reads the socket
/// directly, and writes through the link.
pub(crate) struct LinkTransport {
    pub(crate) link: Arc<Link>,
    /// The reading side. Its own writes bypass the link: only the opening
    /// handshake's answer, written before anyone else can send, uses them.
    pub(crate) stream: DuplexStream,
    /// Chooses the answer to the peer's close frame (default: echo its code).
    pub(crate) close_reply: Option<CloseReply>,
}

/// A passive-close hook: the peer's close frame in, ours out.
pub(crate) type CloseReply = Box<dyn FnMut(Option<&CloseFrame>) -> Option<CloseFrame> + Send>;

/// Where a link's deadlines go and what its flusher thread is called.
pub(crate) struct LinkSetup {
    pub(crate) timers: Weak<Timers>,
    pub(crate) name: FlusherName,
    /// The caller is still writing the opening handshake: frames sent
    /// meanwhile wait for [`Link::handshake_written`].
    pub(crate) handshaking: bool,
}

/// Puts a handshaken WebSocket on a shared link: the link that any thread
/// sends through, and the session the reading thread runs.
pub(crate) fn open(
    ws: WebSocket<DuplexStream>,
    setup: LinkSetup,
) -> (Arc<Link>, Session<LinkTransport>) {
    let WebSocket {
        mut stream,
        reader,
        writer,
        role,
        config,
        extensions,
        ..
    } = ws;
    let options = LinkOptions {
        cap: config.max_write_buffer,
        transforms: !extensions.encoders.is_empty(),
        close_timeout: config.close_timeout,
        timers: Some(setup.timers),
        name: setup.name,
    };
    let duplex = Arc::clone(stream.duplex());
    let session = Session::new(role, &config, reader, writer, extensions, |outgoing| {
        let shared = Link::new(duplex, outgoing, options, setup.handshaking);
        // Records the TLS session produces while decrypting (key updates,
        // alerts) go out through the link, in order with the senders' records.
        let output: Weak<dyn TlsOutput> = Arc::downgrade(&shared) as Weak<Link>;
        stream.set_tls_output(output);
        LinkTransport {
            link: shared,
            stream,
            close_reply: None,
        }
    });
    (Arc::clone(&session.transport.link), session)
}

impl Transport for LinkTransport {
    type Reader = DuplexStream;

    fn reader(&mut self) -> &mut DuplexStream {
        &mut self.stream
    }

    fn with_out<T>(
        &mut self,
        f: impl FnOnce(&mut Outgoing, &mut dyn Write) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.link.with_out(f)
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        Stream::set_read_timeout(&self.stream, timeout)
    }

    fn shutdown_write(&mut self) {
        self.link.shutdown_write();
    }

    fn close_reply(&mut self, peer: Option<&CloseFrame>) -> Option<CloseFrame> {
        match &mut self.close_reply {
            Some(hook) => hook(peer),
            None => echo_close(peer),
        }
    }
}
