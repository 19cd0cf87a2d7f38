//! # stdws — WebSocket for blocking `std::net` code
//!
//! stdws implements the WebSocket protocol (RFC 6455) for programs that use
//! plain threads and blocking sockets: no async runtime, no event loop.
//!
//! It is built in layers, each usable on its own:
//!
//! ```text
//!  Server          a thread per client, Handler, Client handles, broadcast
//!    │
//!  Connection<S>   messages, ping/pong, fragmentation, closing handshake
//!    │
//!  WebSocket<S>    frames on a stream; bind/listen/accept, connect
//!    │
//!  frame, handshake, protocol, extension   sans-I/O codecs and state
//!    │
//!  Stream          TcpStream, TlsStream (wss://), UnixStream, or any Read + Write
//! ```
//!
//! `wss://` works with the default `tls` feature (native-tls) or the
//! `rustls` feature; the `tls` module has certificates, the server's
//! `TlsAcceptor` and how a TLS stream is read and written from two
//! threads at once. HTTP Basic and Digest authentication live in
//! [`handshake::auth`]. A [`Server`] takes both: `ServerBuilder::tls` and
//! [`ServerBuilder::authenticator`]. It can also serve clients of the
//! pre-RFC hixie-76 protocol ([`ServerBuilder::hixie76`], off by default;
//! the [`hixie76`] module). Clients reach servers through HTTP
//! CONNECT and SOCKS5 proxies, taken from the environment as curl takes
//! them or set with [`Connector::proxy`] (the [`proxy`] module).
//!
//! Fallible functions return [`Error`], which converts to and from
//! `std::io::Error` (the few that return `io::Result`, such as
//! `local_addr`, convert with `?`), so one `main` signature fits every
//! example here: `fn main() -> Result<(), stdws::Error>`.
//!
//! ## A client
//!
//! [`connect`] (or [`WebSocket::builder`] for options: headers,
//! subprotocols, credentials, TLS, limits):
//!
//! ```no_run
//! use stdws::{CloseCode, Message};
//!
//! let mut conn = stdws::connect("ws://127.0.0.1:9001/echo")?;
//! conn.send(Message::Text("hello".into()))?;
//! if let Some(reply) = conn.recv()? {
//!     println!("{reply:?}");
//! }
//! conn.close(CloseCode::NORMAL, "bye")?;
//! # Ok::<(), stdws::Error>(())
//! ```
//!
//! To send from other threads while one thread is blocked receiving,
//! [`WebSocket::split`] the connection into a [`SendHalf`] and a
//! [`RecvHalf`] (the [`split`] module; over `wss://` too).
//!
//! ## A server by hand (twspy's verbs)
//!
//! [`Listener::incoming`] yields each TCP connection; its handshake runs on
//! the thread you give it, so a client that fails or stalls its handshake
//! never ends or holds the loop ([`Listener::accept`] does both on the
//! calling thread: one client at a time).
//!
//! ```no_run
//! use stdws::{Connection, WebSocket};
//!
//! let listener = WebSocket::bind("127.0.0.1:9001")?.listen(128)?;
//! for pending in listener.incoming() {
//!     let pending = pending?; // an error here means the listener itself broke
//!     std::thread::spawn(move || -> Result<(), stdws::Error> {
//!         // The handshake runs on the client's thread: a plain HTTP request or
//!         // a client that sends nothing ends or holds this thread only.
//!         let mut conn = Connection::new(pending.handshake()?);
//!         while let Some(message) = conn.recv()? {
//!             conn.send(message)?;
//!         }
//!         Ok(())
//!     });
//! }
//! # Ok::<(), stdws::Error>(())
//! ```
//!
//! ## A server with handlers
//!
//! [`Server`] gives each client its own thread and calls a [`Handler`];
//! a [`Client`] handle sends from any thread, and broadcasts never wait
//! for a slow client.
//!
//! ```no_run
//! use stdws::{Client, Error, Handler, Message, Server};
//!
//! struct Echo;
//!
//! impl Handler for Echo {
//!     fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
//!         client.send(message)
//!     }
//! }
//!
//! Server::builder().route("/echo", Echo).bind("127.0.0.1:9001")?.wait();
//! # Ok::<(), stdws::Error>(())
//! ```
//!
//! ## Limits
//!
//! Every size and time has a limit with a default safe for a public server;
//! see [`Config`]. Bad input is answered with the right close code (1002,
//! 1007, 1009) or HTTP status (400, 408, 426, 431), never a panic. The
//! [`security`] chapter lists the attacks on other WebSocket libraries and
//! what stops each one here.

// One audited exception: `utf8::into_string` skips the second UTF-8 pass
// over text the incremental validator has already accepted.
#![deny(unsafe_code)]
#![deny(missing_docs)]

mod client;
mod close_code;
mod close_frame;
mod config;
mod connection;
mod deadline;
mod error;
pub mod extension;
pub mod frame;
#[cfg(all(unix, feature = "gateway"))]
pub mod gateway;
pub mod handshake;
pub mod hixie76;
pub mod hub;
mod listener;
mod mask;
mod maybe_tls;
mod message;
mod prepared;
mod protocol;
pub mod proxy;
mod read;
pub mod security;
#[cfg(unix)]
mod server;
mod session;
mod shortcut;
#[cfg(unix)]
pub mod split;
mod stream;
#[cfg(all(unix, any(feature = "tls", feature = "rustls")))]
pub mod tls;
#[cfg(unix)]
mod transport;
mod upgrade;
mod url;
pub mod utf8;
mod websocket;
mod write;

#[allow(deprecated)]
pub use client::{ClientBuilder, Connector};
pub use close_code::CloseCode;
pub use close_frame::CloseFrame;
pub use config::Config;
pub use connection::{Callbacks, Connection};
pub use error::{
    CapacityError, Error, HandshakeError, ProtocolError, ProxyError, ResponseError, Result,
    Timeout, TlsError, UrlError,
};
pub use extension::{DeflateFrame, PerMessageDeflate, SendOptions};
pub use frame::{Frame, FrameHeader, OpCode, Role, Rsv};
pub use handshake::auth::Authenticator;
pub use handshake::server::{Accept, Reject, Request};
pub use hub::{Command, CommandError, Hub, HubStats, Route};
pub use hub::{ConnectionId, IdError, NodeId};
pub use listener::{Binding, Listener};
pub use listener::{Incoming, Pending};
pub use maybe_tls::MaybeTlsStream;
pub use message::Message;
pub use protocol::Event;
#[cfg(unix)]
pub use server::{Admission, Client, Clients, Handler, Server, ServerBuilder};
pub use session::FrameHook;
pub use shortcut::{accept, connect};
#[cfg(unix)]
pub use split::{RecvHalf, SendHalf};
pub use stream::Stream;
#[cfg(all(unix, any(feature = "tls", feature = "rustls")))]
pub use tls::{TlsAcceptor, TlsConnector, TlsStream};
pub use upgrade::ServerHandshake;
pub use url::Url;
pub use websocket::WebSocket;

/// The README's examples, compiled as doc tests (with a TLS feature: the
/// README shows the default build).
#[cfg(all(doctest, unix, any(feature = "tls", feature = "rustls")))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
