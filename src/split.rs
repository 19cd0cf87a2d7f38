//! A connection split in two: a [`RecvHalf`] that one thread reads
//! messages from, and a [`SendHalf`] that any number of threads send
//! through at the same time, over `ws://` and `wss://` alike.
//!
//! A [`Connection`](crate::Connection) is one value owned by one thread: it
//! cannot send while it is blocked in `recv`. [`WebSocket::split`] moves a
//! handshaken connection onto the transport each
//! [`Server`](crate::Server) client runs on: the receiving thread waits on the raw socket without holding any lock,
//! and a send from another thread goes out at once, without polling, even
//! over TLS, where the session is shared and used under a short lock for
//! each record. A send never waits for the peer to read: what the socket
//! does not take is queued (up to
//! [`Config::max_write_buffer`](crate::Config::max_write_buffer), then
//! [`Error::Capacity`]) and written by a helper
//! thread.
//!
//! ```no_run
//! use std::thread;
//! use stdws::{CloseCode, Message, WebSocket};
//!
//! let (sender, mut receiver) = WebSocket::connect("wss://example.com/chat")?.split()?;
//! let ticker = sender.clone();
//! thread::spawn(move || {
//!     for i in 0.. {
//!         if ticker.send_text(&format!("tick {i}")).is_err() {
//!             break; // closed
//!         }
//!         thread::sleep(std::time::Duration::from_secs(1));
//!     }
//! });
//! while let Some(message) = receiver.recv()? {
//!     if message == Message::Text("bye".into()) {
//!         sender.close(CloseCode::NORMAL, "")?;
//!     }
//! }
//! println!("closed: {:?}", receiver.close_frame());
//! # Ok::<(), stdws::Error>(())
//! ```
//!
//! Like a `Connection`, the receiving half answers pings, echoes the
//! peer's close code, fails the connection with 1002/1007/1009 on bad input
//! and applies every limit of the [`Config`](crate::Config); a close the
//! sending half starts is cut off after
//! [`Config::close_timeout`](crate::Config::close_timeout) if the peer does
//! not answer. Each split connection has one extra thread for those
//! deadlines, which ends when both halves are dropped.

use std::fmt;
use std::io;
use std::net::TcpStream;
use std::sync::{Arc, Weak};

use crate::error::Error;
use crate::frame::OpCode;
use crate::message::{CloseCode, CloseFrame, Message};
use crate::protocol::Event;
use crate::session::{assemble, Ending, Session};
use crate::stream::MaybeTlsStream;
use crate::transport::duplex::{Duplex, DuplexReader, TlsOutput, TlsSession};
use crate::transport::link::{Link, LinkOptions};
use crate::transport::link_session::LinkTransport;
use crate::transport::timer::Timers;
use crate::websocket::WebSocket;

/// Stops the deadline thread when the last half is dropped.
struct Deadlines(Arc<Timers>);

impl Drop for Deadlines {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// The sending half of a split connection: `Clone + Send + Sync`; every
/// clone sends on the same connection, messages from one thread in order.
#[derive(Clone)]
pub struct SendHalf {
    link: Arc<Link>,
    _deadlines: Arc<Deadlines>,
}

/// The receiving half of a split connection, read by one thread.
pub struct RecvHalf {
    session: Session<LinkTransport>,
    _deadlines: Arc<Deadlines>,
}

impl WebSocket<MaybeTlsStream> {
    /// Splits a connected client (`ws://` or `wss://`) into a sending and a
    /// receiving half (see the [`split`](crate::split) module). Frames
    /// that arrived behind the handshake are kept.
    pub fn split(self) -> Result<(SendHalf, RecvHalf), Error> {
        halves(self, |stream| match stream {
            MaybeTlsStream::Plain(tcp) => Ok((tcp, None, Vec::new())),
            #[cfg(any(feature = "tls", feature = "rustls"))]
            MaybeTlsStream::Tls(tls) => {
                let (tcp, established) = tls.into_parts()?;
                Ok((tcp, Some(established.session), established.plaintext))
            }
        })
    }
}

impl WebSocket<TcpStream> {
    /// Splits a connection over plain TCP (an accepted server connection,
    /// or a client built on a `TcpStream`) into a sending and a receiving
    /// half (see the [`split`](crate::split) module).
    pub fn split(self) -> Result<(SendHalf, RecvHalf), Error> {
        halves(self, |tcp| Ok((tcp, None, Vec::new())))
    }
}

/// The socket under a stream, its TLS session if any, and the plaintext
/// the session had already decrypted.
type Opened = (TcpStream, Option<Box<dyn TlsSession>>, Vec<u8>);

/// Builds the halves on a shared transport over the socket `open` takes
/// out of the stream.
fn halves<S>(
    ws: WebSocket<S>,
    open: impl FnOnce(S) -> io::Result<Opened>,
) -> Result<(SendHalf, RecvHalf), Error> {
    let WebSocket {
        stream,
        reader,
        writer,
        role,
        config,
        extensions,
        ..
    } = ws;
    let (tcp, tls, early) = open(stream)?;
    let duplex = Arc::new(Duplex::new(tcp));
    if let Some(session) = tls {
        duplex.install_tls(session);
    }
    let (timers, _) = Timers::start()?;
    let transforms = !extensions.encoders.is_empty();
    let (incoming, outgoing, policy) = assemble(
        role,
        &config,
        reader,
        writer,
        extensions.encoders,
        extensions.decoders,
    );
    let options = LinkOptions {
        cap: config.max_write_buffer,
        transforms,
        close_timeout: config.close_timeout,
        timers: Some(Arc::downgrade(&timers)),
        name: "stdws-send".into(),
    };
    let link = Link::new(Arc::clone(&duplex), outgoing, options, false);
    let mut reader = DuplexReader::new(duplex, early);
    // Records the TLS session produces while decrypting (key updates,
    // alerts) go out through the link, in order with the senders' records.
    let output: Weak<dyn TlsOutput> = Arc::downgrade(&link) as Weak<Link>;
    reader.set_tls_output(output);
    let mut session = Session {
        transport: LinkTransport {
            link: Arc::clone(&link),
            reader,
            close_reply: None,
        },
        incoming,
        policy,
        ending: Ending::Open,
    };
    session.restore_read_timeout();
    let deadlines = Arc::new(Deadlines(timers));
    Ok((
        SendHalf {
            link,
            _deadlines: Arc::clone(&deadlines),
        },
        RecvHalf {
            session,
            _deadlines: deadlines,
        },
    ))
}

impl SendHalf {
    /// Sends a message. Returns once the frame is written or queued; a
    /// queue over [`Config::max_write_buffer`](crate::Config::max_write_buffer)
    /// fails the connection with [`Error::Capacity`] (close code 1008).
    /// After the closing handshake started: [`Error::Closed`].
    pub fn send(&self, message: impl Into<Message>) -> Result<(), Error> {
        let message = message.into();
        self.link.send(message.opcode(), message.as_bytes())
    }

    /// Sends text without building a [`Message`].
    pub fn send_text(&self, text: &str) -> Result<(), Error> {
        self.link.send(OpCode::Text, text.as_bytes())
    }

    /// Sends binary data without building a [`Message`].
    pub fn send_binary(&self, data: &[u8]) -> Result<(), Error> {
        self.link.send(OpCode::Binary, data)
    }

    /// Sends a ping (at most 125 bytes); the receiving half records the
    /// pong.
    pub fn ping(&self, payload: &[u8]) -> Result<(), Error> {
        self.link.control(OpCode::Ping, payload)
    }

    /// Sends an unsolicited pong (a one-way heartbeat, RFC 6455 §5.5.3).
    pub fn pong(&self, payload: &[u8]) -> Result<(), Error> {
        self.link.control(OpCode::Pong, payload)
    }

    /// Starts the closing handshake and returns: the receiving half sees
    /// the peer's answer ([`RecvHalf::recv`] returns `Ok(None)`). A peer
    /// that does not answer within
    /// [`Config::close_timeout`](crate::Config::close_timeout) is cut off.
    /// Closing twice does nothing. Codes that must not be sent (1005,
    /// 1006, 1015, out of range) are [`Error::Usage`].
    pub fn close(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.link.close(CloseFrame::to_send(code, reason)?)
    }

    /// True until the closing handshake starts or the connection fails.
    pub fn is_open(&self) -> bool {
        !self.link.is_closing()
    }
}

impl RecvHalf {
    /// Receives the next message; pings are answered and pongs recorded on
    /// the way. `Ok(None)`: the closing handshake is done (see
    /// [`close_frame`](Self::close_frame)); every call after that is
    /// [`Error::Closed`]. A read timeout
    /// ([`Config::read_timeout`](crate::Config::read_timeout)) returns
    /// [`Error::Timeout`] and leaves the connection usable; any other error
    /// has failed it, with the close code it maps to sent to the peer.
    pub fn recv(&mut self) -> Result<Option<Message>, Error> {
        loop {
            match self.recv_event()? {
                Event::Message(message) => return Ok(Some(message)),
                Event::Close(_) => return Ok(None),
                Event::Ping(_) | Event::Pong(_) => {}
            }
        }
    }

    /// Receives the next message, ping, pong or close (pings are still
    /// answered).
    pub fn recv_event(&mut self) -> Result<Event, Error> {
        self.session.next_event()
    }

    /// The peer's close frame once the closing handshake is done (code
    /// 1005 when the peer sent none); `None` before, or if the connection
    /// failed.
    pub fn close_frame(&self) -> Option<CloseFrame> {
        match &self.session.ending {
            Ending::Closed(frame) => Some(frame.clone().unwrap_or_else(crate::session::no_status)),
            _ => None,
        }
    }

    /// True once the closing handshake is done or the connection failed.
    pub fn is_closed(&self) -> bool {
        self.session.ending != Ending::Open
    }
}

impl fmt::Debug for SendHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendHalf")
            .field("open", &self.is_open())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for RecvHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvHalf")
            .field("ending", &self.session.ending)
            .finish_non_exhaustive()
    }
}
