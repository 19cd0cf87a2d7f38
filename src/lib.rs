//! # stdws — WebSocket for blocking `std::net` code
//!
//! stdws implements the WebSocket protocol (RFC 6455) for programs that use
//! plain threads and blocking sockets: no async runtime, no event loop.
//!
//! It is built in layers, each usable on its own:
//!
//! ```text
//!  Connection<S>   messages, ping/pong, fragmentation, closing handshake
//!    │
//!  WebSocket<S>    frames on a stream; bind/listen/accept, connect
//!    │
//!  frame, handshake, protocol, extension   sans-I/O codecs and state
//!    │
//!  Stream          TcpStream, UnixStream, or any Read + Write
//! ```
//!
//! ## A client
//!
//! ```no_run
//! use stdws::{CloseCode, Connection, Message};
//!
//! let mut conn = Connection::connect("ws://127.0.0.1:9001/echo")?;
//! conn.send(Message::Text("hello".into()))?;
//! if let Some(reply) = conn.recv()? {
//!     println!("{reply:?}");
//! }
//! conn.close(CloseCode::NORMAL, "bye")?;
//! # Ok::<(), stdws::Error>(())
//! ```
//!
//! ## A server, frame by frame (twspy's verbs)
//!
//! ```no_run
//! use stdws::{Connection, WebSocket};
//!
//! let listener = WebSocket::bind("127.0.0.1:9001")?.listen(128)?;
//! loop {
//!     let ws = listener.accept()?;
//!     std::thread::spawn(move || {
//!         let mut conn = Connection::new(ws);
//!         while let Ok(Some(message)) = conn.recv() {
//!             if conn.send(message).is_err() {
//!                 break;
//!             }
//!         }
//!     });
//! }
//! # Ok::<(), stdws::Error>(())
//! ```
//!
//! ## Limits
//!
//! Every size and time has a limit with a default safe for a public server;
//! see [`Config`]. Bad input is answered with the right close code (1002,
//! 1007, 1009) or HTTP status (400, 408, 426, 431), never a panic.

// One audited exception: `utf8::into_string` skips the second UTF-8 pass
// over text the incremental validator has already accepted.
#![deny(unsafe_code)]
#![deny(missing_docs)]

mod client;
mod config;
mod connection;
mod error;
pub mod extension;
pub mod frame;
pub mod handshake;
mod listener;
mod mask;
mod message;
mod protocol;
mod read;
mod session;
mod stream;
mod upgrade;
mod url;
pub mod utf8;
mod websocket;
mod write;

pub use client::ClientBuilder;
pub use config::Config;
pub use connection::{Callbacks, Connection};
pub use error::{CapacityError, Error, HandshakeError, ProtocolError, Result, Timeout, UrlError};
pub use extension::SendOptions;
pub use frame::{Frame, FrameHeader, OpCode, Role, Rsv};
pub use handshake::server::{Accept, Reject, Request};
pub use listener::{Binding, Listener};
pub use message::{CloseCode, CloseFrame, Message};
pub use protocol::Event;
pub use session::FrameHook;
pub use stream::{MaybeTlsStream, Stream};
pub use upgrade::ServerHandshake;
pub use url::Url;
pub use websocket::WebSocket;
