//! Every limit and time in one place, with defaults safe for a public server.
//!
//! | limit | default | what happens when it is exceeded |
//! |---|---|---|
//! | [`max_frame_size`](Config::max_frame_size) | 16 MiB | close 1009, before the payload is read |
//! | [`max_message_size`](Config::max_message_size) | 16 MiB | close 1009 (counts decompressed bytes) |
//! | [`max_fragments`](Config::max_fragments) | 65,537 | close 1009 |
//! | [`max_header_bytes`](Config::max_header_bytes) | 16 KiB | HTTP 431 |
//! | [`max_header_line`](Config::max_header_line) | 8 KiB | HTTP 431 |
//! | [`max_headers`](Config::max_headers) | 64 | HTTP 431 |
//! | [`handshake_timeout`](Config::handshake_timeout) | 10 s, whole handshake | HTTP 408 |
//! | [`close_timeout`](Config::close_timeout) | 5 s | connection dropped |
//! | [`read_timeout`](Config::read_timeout) | none | [`Timeout::Read`](crate::Timeout::Read) |
//! | [`write_timeout`](Config::write_timeout) | 30 s | [`Timeout::Write`](crate::Timeout::Write) |
//! | [`max_write_buffer`](Config::max_write_buffer) | 16 MiB | [`Error::Capacity`](crate::Error::Capacity) on `feed`; a server client is closed with 1008 |
//! | [`max_connections`](Config::max_connections) | 10,000 | [`Server`](crate::Server): HTTP 503 before the handshake |
//! | [`ping_interval`](Config::ping_interval) | 30 s | [`Server`](crate::Server) pings each client this often |
//! | [`pong_timeout`](Config::pong_timeout) | 30 s | no pong: close 1011, [`Timeout::Pong`](crate::Timeout::Pong) |
//! | [`idle_release`](Config::idle_release) | 1 s | [`Server`](crate::Server): a quiet client's read buffer is given back |
//!
//! Compression is off by default; [`Config::deflate`] turns on
//! permessage-deflate, whose inflated bytes count against
//! `max_message_size` as they are produced.

use std::sync::Arc;
use std::time::Duration;

use crate::extension::{ExtensionFactory, PerMessageDeflate};

/// Limits, timeouts and options for a connection (both roles).
///
/// `Config::default()` is safe for a public server. Adjust with the
/// builder-style methods:
///
/// ```
/// use std::time::Duration;
/// let config = stdws::Config::default()
///     .max_message_size(1 << 20)
///     .handshake_timeout(Duration::from_secs(5));
/// assert_eq!(config.max_message_size, 1 << 20);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct Config {
    /// Largest frame payload accepted. Checked on the header, before the
    /// payload is read or memory is reserved for it.
    pub max_frame_size: usize,
    /// Largest message accepted, after reassembly and decompression.
    pub max_message_size: usize,
    /// Most frames one message may arrive in (stops floods of tiny or empty
    /// continuation frames). The default, 65,537, is what a 4 MiB message in
    /// 64-byte frames takes with the empty final frame some senders add
    /// (Autobahn 9.3.1); 100,000 one-byte frames are refused.
    pub max_fragments: usize,
    /// Largest HTTP head (request or response line plus headers) accepted in
    /// the opening handshake.
    pub max_header_bytes: usize,
    /// Longest single line of the HTTP head.
    pub max_header_line: usize,
    /// Most header fields in the HTTP head.
    pub max_headers: usize,
    /// Time for the whole opening handshake (not per read).
    pub handshake_timeout: Duration,
    /// Time to wait for the peer's close frame (and, for a client, the end
    /// of the TCP connection) after we sent ours.
    pub close_timeout: Duration,
    /// Time a read may wait for data, or `None` to wait forever (servers
    /// detect dead peers with keep-alive pings instead).
    pub read_timeout: Option<Duration>,
    /// Time a write may take, or `None` to wait forever.
    pub write_timeout: Option<Duration>,
    /// Send messages larger than this in frames of this size (`None`: one
    /// frame per message).
    pub fragment_size: Option<usize>,
    /// Largest amount of data held by [`Connection::feed`](crate::Connection::feed)
    /// before a flush is required.
    pub max_write_buffer: usize,
    /// Answer pings with pongs automatically (RFC 6455 §5.5.2). On by default.
    pub auto_pong: bool,
    /// Set `TCP_NODELAY` on sockets stdws opens or accepts. On by default:
    /// a WebSocket frame is a message and should not wait for Nagle.
    pub nodelay: bool,
    /// Extensions offered (client) or accepted (server), in order of preference.
    pub extensions: Vec<Arc<dyn ExtensionFactory>>,
    /// [`Server`](crate::Server): most connections at once (handshakes
    /// included); beyond it a new connection is answered 503 at once.
    pub max_connections: usize,
    /// [`Server`](crate::Server): send a keep-alive ping to each client
    /// this often (`None`: never), so a peer that vanished without a word is
    /// noticed.
    pub ping_interval: Option<Duration>,
    /// [`Server`](crate::Server): time for the pong that answers a
    /// keep-alive ping; without it the client is closed with 1011 and the
    /// handler's `on_error` sees [`Timeout::Pong`](crate::Timeout::Pong).
    pub pong_timeout: Duration,
    /// [`Server`](crate::Server): after this long without a byte from a
    /// client, its thread gives its read buffer and the stack pages below
    /// its wait back, and waits without them (`None`: keep them). The buffer
    /// is taken again when bytes arrive; a client that sends more often
    /// than this keeps it, at no cost per message. A busy client (16 events
    /// in a row, each within a sixteenth of this after the one before)
    /// waits without the alarm, which costs the kernel a timer per wait; if
    /// it falls silent it gives its memory back this long after the next
    /// thing that wakes its thread (a keep-alive pong at the latest).
    pub idle_release: Option<Duration>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 16 << 20,
            max_fragments: 65_537,
            max_header_bytes: 16 << 10,
            max_header_line: 8 << 10,
            max_headers: 64,
            handshake_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(5),
            read_timeout: None,
            write_timeout: Some(Duration::from_secs(30)),
            fragment_size: None,
            max_write_buffer: 16 << 20,
            auto_pong: true,
            nodelay: true,
            extensions: Vec::new(),
            max_connections: 10_000,
            ping_interval: Some(Duration::from_secs(30)),
            pong_timeout: Duration::from_secs(30),
            idle_release: Some(Duration::from_secs(1)),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let extensions: Vec<&str> = self.extensions.iter().map(|e| e.name()).collect();
        f.debug_struct("Config")
            .field("max_frame_size", &self.max_frame_size)
            .field("max_message_size", &self.max_message_size)
            .field("max_fragments", &self.max_fragments)
            .field("max_header_bytes", &self.max_header_bytes)
            .field("max_header_line", &self.max_header_line)
            .field("max_headers", &self.max_headers)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("close_timeout", &self.close_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("write_timeout", &self.write_timeout)
            .field("fragment_size", &self.fragment_size)
            .field("max_write_buffer", &self.max_write_buffer)
            .field("auto_pong", &self.auto_pong)
            .field("nodelay", &self.nodelay)
            .field("extensions", &extensions)
            .field("max_connections", &self.max_connections)
            .field("ping_interval", &self.ping_interval)
            .field("pong_timeout", &self.pong_timeout)
            .field("idle_release", &self.idle_release)
            .finish()
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        impl Config {
            $(
                $(#[$doc])*
                pub fn $name(mut self, value: $ty) -> Config {
                    self.$name = value;
                    self
                }
            )*
        }
    };
}

setters! {
    /// Sets [`Config::max_frame_size`].
    max_frame_size: usize;
    /// Sets [`Config::max_message_size`].
    max_message_size: usize;
    /// Sets [`Config::max_fragments`].
    max_fragments: usize;
    /// Sets [`Config::max_header_bytes`].
    max_header_bytes: usize;
    /// Sets [`Config::max_header_line`].
    max_header_line: usize;
    /// Sets [`Config::max_headers`].
    max_headers: usize;
    /// Sets [`Config::handshake_timeout`].
    handshake_timeout: Duration;
    /// Sets [`Config::close_timeout`].
    close_timeout: Duration;
    /// Sets [`Config::read_timeout`].
    read_timeout: Option<Duration>;
    /// Sets [`Config::write_timeout`].
    write_timeout: Option<Duration>;
    /// Sets [`Config::fragment_size`].
    fragment_size: Option<usize>;
    /// Sets [`Config::max_write_buffer`].
    max_write_buffer: usize;
    /// Sets [`Config::auto_pong`].
    auto_pong: bool;
    /// Sets [`Config::nodelay`].
    nodelay: bool;
    /// Sets [`Config::max_connections`].
    max_connections: usize;
    /// Sets [`Config::ping_interval`].
    ping_interval: Option<Duration>;
    /// Sets [`Config::pong_timeout`].
    pong_timeout: Duration;
    /// Sets [`Config::idle_release`].
    idle_release: Option<Duration>;
}

impl Config {
    /// Adds an extension to offer or accept (after those already added).
    pub fn extension(mut self, extension: impl ExtensionFactory + 'static) -> Config {
        self.extensions.push(Arc::new(extension));
        self
    }

    /// Turns on permessage-deflate (RFC 7692) with these parameters: a
    /// client offers it, a server accepts it when offered. Replaces an
    /// earlier `deflate` call; other extensions stay.
    ///
    /// ```
    /// use stdws::{Config, PerMessageDeflate};
    /// let config = Config::default().deflate(PerMessageDeflate::new().min_size(256));
    /// assert_eq!(config.extensions[0].name(), "permessage-deflate");
    /// ```
    pub fn deflate(mut self, deflate: PerMessageDeflate) -> Config {
        self.extensions
            .retain(|e| e.name() != ExtensionFactory::name(&deflate));
        self.extension(deflate)
    }
}
