//! The transport: how bytes move for every connection that more than one
//! thread uses at once (a [`Server`](crate::Server) client, the halves of
//! [`WebSocket::split`](crate::WebSocket::split)) and for the client's
//! `wss://` stream.
//!
//! - [`duplex`]: one socket, plain or TLS, read by one thread while any
//!   thread writes. TLS is a pure transform (`TlsTransform`), so nobody holds
//!   a lock while blocked on the network.
//! - [`queue`]: the bytes a socket did not take yet, in order, with their
//!   cost counted against a cap.
//! - [`link`]: the shared write side of one connection: writers encode
//!   under one short lock, the queue and its flusher thread, the closing
//!   handshake and failure from any thread.
//! - [`link_session`]: the connection policy over a link, built by one
//!   constructor for the server and for `split`.
//! - [`sender`]: the sending methods of every handle on a link
//!   ([`Client`](crate::Client), [`SendHalf`](crate::SendHalf)), written once.
//! - [`timer`]: one thread for the deadlines of many connections.
//! - `tls_stream`: [`TlsStream`](crate::tls::TlsStream), the duplex with a
//!   TLS session for one owner (the `wss://` client's stream).
//!
//! ```text
//!   Server client thread / RecvHalf          any other thread
//!   ────────────────────────────────          ────────────────
//!   Session<LinkTransport>                    Client / SendHalf
//!     reads DuplexReader (no lock)              Link::send (short lock)
//!     writes through Link ──────────┐        ┌──────┘
//!                                    ▼        ▼
//!                          Link: Outgoing + Queue ─► Duplex ─► socket
//!                                    └─ flusher thread (only when behind)
//! ```

pub(crate) mod duplex;
pub(crate) mod link;
pub(crate) mod link_session;
pub(crate) mod queue;
pub(crate) mod sender;
pub(crate) mod timer;
#[cfg(any(feature = "tls", feature = "rustls"))]
pub(crate) mod tls_stream;
