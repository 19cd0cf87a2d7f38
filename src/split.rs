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
use std::net::TcpStream;
use std::sync::Arc;

use crate::close_frame::CloseFrame;
use crate::error::Error;
use crate::maybe_tls::MaybeTlsStream;
use crate::message::Message;
use crate::protocol::Event;
use crate::session::Session;
use crate::transport::duplex::{Duplex, DuplexReader, DuplexStream};
use crate::transport::link::{FlusherName, Link};
use crate::transport::link_session::{self, LinkSetup, LinkTransport};
use crate::transport::sender::link_sender_methods;
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
        halves(self.map_stream(|stream| match stream {
            MaybeTlsStream::Plain(tcp) => plain(tcp),
            #[cfg(any(feature = "tls", feature = "rustls"))]
            MaybeTlsStream::Tls(tls) => tls.into_duplex(),
        }))
    }
}

impl WebSocket<TcpStream> {
    /// Splits a connection over plain TCP (an accepted server connection,
    /// or a client built on a `TcpStream`) into a sending and a receiving
    /// half (see the [`split`](crate::split) module).
    pub fn split(self) -> Result<(SendHalf, RecvHalf), Error> {
        halves(self.map_stream(plain))
    }
}

fn plain(tcp: TcpStream) -> DuplexStream {
    DuplexStream::new(DuplexReader::new(Arc::new(Duplex::new(tcp)), Vec::new()))
}

/// Builds the halves on the shared transport.
fn halves(ws: WebSocket<DuplexStream>) -> Result<(SendHalf, RecvHalf), Error> {
    let (timers, _) = Timers::start()?;
    let setup = LinkSetup {
        timers: Arc::downgrade(&timers),
        name: FlusherName {
            prefix: "stdws-send",
            number: None,
        },
        handshaking: false,
    };
    let (link, mut session) = link_session::open(ws, setup);
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
    fn link(&self) -> Option<&Link> {
        Some(&self.link)
    }

    link_sender_methods!();
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
        self.session.next_message()
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
        self.session.close_frame()
    }

    /// True once the closing handshake is done or the connection failed.
    pub fn is_closed(&self) -> bool {
        self.session.is_closed()
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
