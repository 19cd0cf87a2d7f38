//! [`Connection`]: messages on a WebSocket.
//!
//! A `Connection` reassembles fragmented messages, validates text as it
//! arrives (bad UTF-8 fails the connection with 1007 at the frame that
//! carries it), answers pings, matches pongs to the pings it sent, runs the
//! closing handshake in both directions (echoing the peer's code, checking
//! codes and reasons), and turns every protocol error into the right close
//! code: 1002 for a broken rule, 1007 for bad UTF-8, 1009 for a limit.
//!
//! [`recv`](Connection::recv) returns `Ok(Some(message))`, then `Ok(None)`
//! once the peer has closed and the closing handshake is done; the peer's
//! code and reason are then in [`close_frame`](Connection::close_frame).
//! Every call after that is [`Error::Closed`].
//!
//! ```no_run
//! use stdws::{Connection, Message};
//! let mut conn = Connection::connect("ws://127.0.0.1:9001/echo")?;
//! conn.send(Message::Text("hello".into()))?;
//! while let Some(message) = conn.recv()? {
//!     println!("got {message:?}");
//!     conn.close(stdws::CloseCode::NORMAL, "done")?;
//! }
//! # Ok::<(), stdws::Error>(())
//! ```

use std::fmt;
use std::io::{self, Write};
use std::time::Duration;

use crate::close_code::CloseCode;
use crate::close_frame::CloseFrame;
use crate::error::Error;
use crate::extension::{ExtensionOffer, SendOptions};
use crate::frame::{OpCode, Role};
use crate::handshake::client::Response;
use crate::handshake::server::Request;
use crate::maybe_tls::MaybeTlsStream;
use crate::message::Message;
use crate::protocol::Event;
use crate::session::{FrameHook, Outgoing, Session, Transport};
use crate::stream::Stream;
use crate::websocket::WebSocket;

/// Both halves of one stream, owned by one thread.
pub(crate) struct Owned<S> {
    pub(crate) stream: S,
    pub(crate) out: Outgoing,
}

impl<S: Stream> Transport for Owned<S> {
    type Reader = S;

    fn reader(&mut self) -> &mut S {
        &mut self.stream
    }

    fn with_out<T>(
        &mut self,
        f: impl FnOnce(&mut Outgoing, &mut dyn Write) -> Result<T, Error>,
    ) -> Result<T, Error> {
        f(&mut self.out, &mut self.stream)
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.stream.set_read_timeout(timeout)
    }

    fn shutdown_write(&mut self) {
        let _ = self.stream.flush();
        let _ = self.stream.shutdown_write();
    }
}

/// A WebSocket connection that sends and receives whole messages, from
/// one thread.
///
/// To send from other threads while one thread is blocked in `recv` (a
/// chat client, a client that pings on a timer), split the
/// [`WebSocket`] instead of wrapping it: [`WebSocket::split`] gives a
/// [`RecvHalf`](crate::RecvHalf) and a [`SendHalf`](crate::SendHalf)
/// with the same methods as a `Connection`, over `ws://` and `wss://`.
///
/// ```no_run
/// let (sender, mut receiver) = stdws::WebSocket::connect("ws://127.0.0.1:9001/chat")?.split()?;
/// std::thread::spawn(move || sender.send_text("from another thread"));
/// while let Some(message) = receiver.recv()? {
///     println!("{message:?}");
/// }
/// # Ok::<(), stdws::Error>(())
/// ```
#[doc(alias = "split")]
pub struct Connection<S: Stream> {
    session: Session<Owned<S>>,
    role: Role,
    protocol: Option<String>,
    extensions: Vec<ExtensionOffer>,
    request: Option<Box<Request>>,
    response: Option<Box<Response>>,
}

impl Connection<MaybeTlsStream> {
    /// Connects to a `ws://` or `wss://` URL with the default [`Config`](crate::Config).
    /// For options, use [`WebSocket::builder`] and [`Connection::new`].
    pub fn connect(url: &str) -> Result<Connection<MaybeTlsStream>, Error> {
        Ok(Connection::new(WebSocket::connect(url)?))
    }
}

impl<S: Stream> From<WebSocket<S>> for Connection<S> {
    fn from(ws: WebSocket<S>) -> Self {
        Connection::new(ws)
    }
}

impl<S: Stream> Connection<S> {
    /// Takes over a handshaken [`WebSocket`], with its configuration and
    /// negotiated extensions.
    pub fn new(ws: WebSocket<S>) -> Connection<S> {
        let WebSocket {
            stream,
            reader,
            writer,
            role,
            config,
            protocol,
            mut extensions,
            request,
            response,
        } = ws;
        let names = std::mem::take(&mut extensions.names);
        Connection {
            session: Session::new(role, &config, reader, writer, extensions, |out| Owned {
                stream,
                out,
            }),
            role,
            protocol,
            extensions: names,
            request,
            response,
        }
    }

    /// Receives the next message. Pings are answered (with auto-pong on)
    /// and pongs recorded on the way. `Ok(None)`: the peer closed and the
    /// closing handshake is done (see [`close_frame`](Self::close_frame)).
    ///
    /// A read timeout ([`Config::read_timeout`](crate::Config::read_timeout))
    /// returns [`Error::Timeout`] and leaves the connection usable: call
    /// `recv` again to go on. Any other error has failed the connection,
    /// with the close code it maps to sent to the peer.
    pub fn recv(&mut self) -> Result<Option<Message>, Error> {
        self.session.next_message()
    }

    /// Receives the next event of any kind: a message, a ping, a pong, or
    /// the peer's close (after which the connection is closed).
    pub fn recv_event(&mut self) -> Result<Event, Error> {
        self.session.next_event()
    }

    /// Sends a message (split into frames of
    /// [`Config::fragment_size`](crate::Config::fragment_size) if set).
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let message = message.into();
        self.send_with(&message, &SendOptions::default())
    }

    /// Sends text without building a [`Message`].
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.data(
            OpCode::Text,
            text.as_bytes(),
            &SendOptions::default(),
            false,
        )
    }

    /// Sends binary data without building a [`Message`].
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.data(OpCode::Binary, data, &SendOptions::default(), false)
    }

    /// Sends a message with per-message options (for example, no compression).
    pub fn send_with(&mut self, message: &Message, options: &SendOptions) -> Result<(), Error> {
        self.data(message.opcode(), message.as_bytes(), options, false)
    }

    /// Queues a message without writing it; [`flush`](Self::flush) sends all
    /// queued messages in one write. At most
    /// [`Config::max_write_buffer`](crate::Config::max_write_buffer) bytes wait.
    pub fn feed(&mut self, message: &Message) -> Result<(), Error> {
        self.data(
            message.opcode(),
            message.as_bytes(),
            &SendOptions::default(),
            true,
        )
    }

    /// Writes the queued messages.
    pub fn flush(&mut self) -> Result<(), Error> {
        let result = self.session.transport.with_out(|out, w| out.flush(w));
        self.checked(result)
    }

    fn data(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
        options: &SendOptions,
        buffered: bool,
    ) -> Result<(), Error> {
        let result = self
            .session
            .transport
            .with_out(|out, w| out.message(w, opcode, payload, options, buffered));
        self.checked(result)
    }

    /// A failed write leaves half a frame on the wire: the connection is over.
    fn checked<T>(&mut self, result: Result<T, Error>) -> Result<T, Error> {
        match result {
            Err(e @ (Error::Io(_) | Error::Timeout(_))) => Err(self.session.fail(e)),
            other => other,
        }
    }

    /// Sends a ping (at most 125 bytes); the matching pong is recorded
    /// ([`rtt`](Self::rtt)) when it arrives.
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        let result = self
            .session
            .transport
            .with_out(|out, w| out.control(w, OpCode::Ping, payload));
        self.checked(result)
    }

    /// Sends an unsolicited pong (a one-way heartbeat, §5.5.3).
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        let result = self
            .session
            .transport
            .with_out(|out, w| out.control(w, OpCode::Pong, payload));
        self.checked(result)
    }

    /// The round-trip time of the last ping answered by a matching pong.
    pub fn rtt(&self) -> Option<Duration> {
        self.session.transport.out.pings.rtt
    }

    /// Pings sent and not yet answered.
    pub fn pending_pings(&self) -> usize {
        self.session.transport.out.pings.outstanding()
    }

    /// Closes the connection: sends a close frame with `code` and `reason`
    /// (cut to 123 bytes), waits up to the close timeout for the peer's
    /// close frame (dropping messages that arrive meanwhile), then ends the
    /// stream. Closing a closed connection does nothing.
    ///
    /// Codes that must not be sent (1005, 1006, 1015, out of range) are
    /// refused with [`Error::Usage`].
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        let result = self
            .session
            .close(Some(&CloseFrame::to_send(code, reason)?));
        self.session.restore_read_timeout();
        result
    }

    /// Sends a close frame and returns at once; keep calling
    /// [`recv`](Self::recv) until it returns `Ok(None)` (the peer's answer).
    pub fn send_close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        let frame = CloseFrame::to_send(code, reason)?;
        let result = self
            .session
            .transport
            .with_out(|out, w| out.close(w, Some(&frame)));
        self.checked(result)
    }

    /// The peer's close frame once the connection is closed; a close frame
    /// without a code reads as 1005 (no status).
    pub fn close_frame(&self) -> Option<CloseFrame> {
        self.session.close_frame()
    }

    /// True once the connection is closed or failed.
    pub fn is_closed(&self) -> bool {
        self.session.is_closed()
    }

    /// Adds a hook that sees every frame we send (header, unmasked payload).
    pub fn on_send_frame(
        &mut self,
        hook: impl FnMut(&crate::frame::FrameHeader, &[u8]) + Send + 'static,
    ) {
        let hook: FrameHook = Box::new(hook);
        self.session.transport.out.hooks.push(hook);
    }

    /// Adds a hook that sees every frame we receive (header, unmasked
    /// payload as on the wire, before extensions decode it).
    pub fn on_recv_frame(
        &mut self,
        hook: impl FnMut(&crate::frame::FrameHeader, &[u8]) + Send + 'static,
    ) {
        let hook: FrameHook = Box::new(hook);
        self.session.incoming.hooks.push(hook);
    }

    /// Runs the connection until it closes, calling `callbacks` for each
    /// event: the loop of twspy's and mod_pywebsocket's handlers.
    /// A callback error fails the connection (close code from the error,
    /// 1011 if it has none) and is returned.
    pub fn run<C: Callbacks<S>>(&mut self, callbacks: &mut C) -> Result<(), Error> {
        let result = self.run_inner(callbacks);
        if let Err(e) = &result {
            callbacks.on_error(self, e);
        }
        result
    }

    fn run_inner<C: Callbacks<S>>(&mut self, callbacks: &mut C) -> Result<(), Error> {
        self.callback(|c, conn| c.on_open(conn), callbacks)?;
        while !self.is_closed() {
            match self.recv_event()? {
                Event::Message(m) => self.callback(|c, conn| c.on_message(conn, m), callbacks)?,
                Event::Ping(p) => self.callback(|c, conn| c.on_ping(conn, &p), callbacks)?,
                Event::Pong(p) => self.callback(|c, conn| c.on_pong(conn, &p), callbacks)?,
                Event::Close(_) => {}
            }
        }
        // Closed by the peer, or by a callback that called `close`.
        if let Some(frame) = self.close_frame() {
            callbacks.on_close(self, frame.code, &frame.reason);
        }
        Ok(())
    }

    fn callback<C: Callbacks<S>>(
        &mut self,
        f: impl FnOnce(&mut C, &mut Connection<S>) -> Result<(), Error>,
        callbacks: &mut C,
    ) -> Result<(), Error> {
        match f(callbacks, self) {
            Ok(()) => Ok(()),
            Err(e) if self.is_closed() => Err(e),
            Err(e) => {
                let code = e.close_code().unwrap_or(CloseCode::INTERNAL_ERROR);
                let reason = crate::close_frame::truncate_reason(&e.to_string()).to_owned();
                let _ = self.close(code, &reason);
                Err(e)
            }
        }
    }
}

impl<S: Stream> Connection<S> {
    /// Our role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The subprotocol agreed in the handshake.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The extensions agreed in the handshake.
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    /// The client's handshake request (server side).
    pub fn request(&self) -> Option<&Request> {
        self.request.as_deref()
    }

    /// The server's handshake response (client side).
    pub fn response(&self) -> Option<&Response> {
        self.response.as_deref()
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.session.transport.stream
    }

    /// The underlying stream, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.session.transport.stream
    }

    /// The underlying stream.
    pub fn into_inner(self) -> S {
        self.session.transport.stream
    }
}

impl<S: Stream> fmt::Debug for Connection<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("protocol", &self.protocol)
            .field("extensions", &self.extensions)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// Callbacks for [`Connection::run`]. Only `on_message` is required.
///
/// The client-side (or by-hand) twin of the server's
/// [`Handler`](crate::Handler): the same events and arguments, with the
/// connection itself in place of a [`Client`](crate::Client) handle.
///
/// ```no_run
/// use stdws::{Callbacks, Connection, Error, Message, Stream};
/// struct Echo;
/// impl<S: Stream> Callbacks<S> for Echo {
///     fn on_message(&mut self, conn: &mut Connection<S>, message: Message) -> Result<(), Error> {
///         conn.send(message)
///     }
/// }
/// let mut conn = Connection::connect("ws://127.0.0.1:9001/")?;
/// conn.run(&mut Echo)?;
/// # Ok::<(), stdws::Error>(())
/// ```
pub trait Callbacks<S: Stream> {
    /// The connection is open (called first).
    fn on_open(&mut self, conn: &mut Connection<S>) -> Result<(), Error> {
        let _ = conn;
        Ok(())
    }

    /// A message arrived.
    fn on_message(&mut self, conn: &mut Connection<S>, message: Message) -> Result<(), Error>;

    /// A ping arrived (already answered when auto-pong is on).
    fn on_ping(&mut self, conn: &mut Connection<S>, payload: &[u8]) -> Result<(), Error> {
        let _ = (conn, payload);
        Ok(())
    }

    /// A pong arrived.
    fn on_pong(&mut self, conn: &mut Connection<S>, payload: &[u8]) -> Result<(), Error> {
        let _ = (conn, payload);
        Ok(())
    }

    /// The closing handshake finished; `code` and `reason` are the peer's
    /// close frame (1005 when it carried no code). The same arguments as
    /// [`Handler::on_close`](crate::Handler::on_close); `&mut self` here
    /// because one connection's loop owns its callbacks, where a
    /// `Handler` is shared by every client's thread (`&self`).
    fn on_close(&mut self, conn: &mut Connection<S>, code: CloseCode, reason: &str) {
        let _ = (conn, code, reason);
    }

    /// The connection failed with this error.
    fn on_error(&mut self, conn: &mut Connection<S>, error: &Error) {
        let _ = (conn, error);
    }
}
