//! One error type for the whole crate, with kinds a caller can match on.
//!
//! The variants say who is at fault: the peer broke the protocol
//! ([`Error::Protocol`]), the peer sent more than our limits allow
//! ([`Error::Capacity`]), the opening handshake failed ([`Error::Handshake`]),
//! a time limit passed ([`Error::Timeout`]), the caller used a closed
//! connection ([`Error::Closed`]), or the transport failed ([`Error::Io`]).
//! Every error that reaches the wire knows its close code
//! ([`Error::close_code`]) or HTTP status ([`HandshakeError::status`]).

use std::borrow::Cow;
use std::fmt;
use std::io;

use crate::close_code::CloseCode;

/// Shorthand for `Result<T, stdws::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in stdws.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed (reset, broken pipe, unexpected end of stream).
    Io(io::Error),
    /// A time limit passed; the variant says which one.
    Timeout(Timeout),
    /// The opening handshake failed.
    Handshake(HandshakeError),
    /// The peer broke RFC 6455 (or a negotiated extension's rules).
    Protocol(ProtocolError),
    /// The peer sent more than a configured limit allows.
    Capacity(CapacityError),
    /// A `ws://` or `wss://` URL could not be used.
    Url(UrlError),
    /// The proxy on the way to the server failed or refused (the variant
    /// names the step).
    Proxy(ProxyError),
    /// TLS setup or the TLS session failed; [`source`](std::error::Error::source)
    /// is the TLS library's own error when there is one.
    Tls(TlsError),
    /// The connection is closed (the closing handshake finished, or the
    /// connection failed earlier); nothing more can be sent or received.
    Closed,
    /// An extension failed on our side (for example a compressor error);
    /// the extension's own error, also [`source`](std::error::Error::source).
    /// Close code 1011.
    Extension(Box<dyn std::error::Error + Send + Sync>),
    /// The caller asked for something the API does not allow, such as
    /// sending a close code that must not appear on the wire.
    Usage(&'static str),
}

impl Error {
    /// The close code to send when this error ends a connection
    /// (RFC 6455 §7.4.1), or `None` when no close frame can or should be
    /// sent (the transport is gone, or the handshake never finished).
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            Error::Protocol(e) => Some(e.close_code()),
            // A peer that does not read what we send breaks our policy (1008);
            // every other limit is about what it sent (1009).
            Error::Capacity(CapacityError::WriteBufferFull { .. }) => {
                Some(CloseCode::POLICY_VIOLATION)
            }
            Error::Capacity(_) => Some(CloseCode::TOO_BIG),
            Error::Extension(_) => Some(CloseCode::INTERNAL_ERROR),
            Error::Timeout(Timeout::Pong) => Some(CloseCode::INTERNAL_ERROR),
            _ => None,
        }
    }

    /// True when the error comes from a time limit (a [`Timeout`], or an I/O
    /// error of kind `TimedOut`/`WouldBlock` from a socket timeout).
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout(_) => true,
            Error::Io(e) => is_timeout_kind(e.kind()),
            _ => false,
        }
    }

    /// The `io::ErrorKind` nearest to this error (see `From<Error> for io::Error`).
    fn io_kind(&self) -> io::ErrorKind {
        match self {
            Error::Io(e) => e.kind(),
            Error::Timeout(_) => io::ErrorKind::TimedOut,
            Error::Protocol(_) | Error::Capacity(_) => io::ErrorKind::InvalidData,
            Error::Handshake(HandshakeError::ConnectionClosed) => io::ErrorKind::UnexpectedEof,
            Error::Closed => io::ErrorKind::ConnectionAborted,
            Error::Url(_) | Error::Usage(_) => io::ErrorKind::InvalidInput,
            Error::Proxy(
                ProxyError::InvalidUrl(_) | ProxyError::TlsNotEnabled | ProxyError::TlsInTls,
            ) => io::ErrorKind::InvalidInput,
            Error::Proxy(ProxyError::InvalidReply(_)) => io::ErrorKind::InvalidData,
            Error::Proxy(ProxyError::TunnelClosed) => io::ErrorKind::UnexpectedEof,
            // The proxy said no: to us, to our credentials or to the target.
            Error::Proxy(_) => io::ErrorKind::ConnectionRefused,
            Error::Handshake(_) | Error::Tls(_) | Error::Extension(_) => io::ErrorKind::Other,
        }
    }

    /// Turns an I/O error into `Error::Timeout(which)` when it is a socket
    /// timeout (`WouldBlock` and `TimedOut` mean the same thing here), and
    /// into `Error::Io` otherwise.
    pub(crate) fn from_io(e: io::Error, which: Timeout) -> Error {
        if is_timeout_kind(e.kind()) {
            Error::Timeout(which)
        } else {
            Error::Io(e)
        }
    }
}

fn is_timeout_kind(kind: io::ErrorKind) -> bool {
    matches!(kind, io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Timeout(t) => write!(f, "{t} timed out"),
            Error::Handshake(e) => write!(f, "handshake failed: {e}"),
            Error::Protocol(e) => write!(f, "protocol violation: {e}"),
            Error::Capacity(e) => write!(f, "limit exceeded: {e}"),
            Error::Url(e) => write!(f, "bad URL: {e}"),
            Error::Proxy(e) => write!(f, "{e}"),
            Error::Tls(e) => write!(f, "TLS error: {e}"),
            Error::Closed => f.write_str("connection closed"),
            Error::Extension(e) => write!(f, "extension error: {e}"),
            Error::Usage(e) => write!(f, "invalid use: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            // The backend's error itself (native-tls, rustls, or the I/O
            // error under them), not our wrapper of it.
            Error::Tls(e) => std::error::Error::source(e),
            Error::Extension(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

/// For a `main` or a function that returns `io::Result`: `?` works on
/// stdws's results there too. An [`Error::Io`] gives back the `io::Error`
/// itself; every other error becomes an `io::Error` of the nearest kind
/// (`TimedOut`, `InvalidData` for what the peer sent, `ConnectionAborted`
/// for a connection closed, `InvalidInput` for a URL or a misuse, `Other`
/// for a failed handshake, TLS or an extension) that keeps the stdws error
/// as its [`get_ref`](io::Error::get_ref), so nothing is lost.
impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        match e {
            Error::Io(io) => io,
            e => io::Error::new(e.io_kind(), e),
        }
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Error::Protocol(e)
    }
}

impl From<CapacityError> for Error {
    fn from(e: CapacityError) -> Self {
        Error::Capacity(e)
    }
}

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Self {
        Error::Handshake(e)
    }
}

impl From<ProxyError> for Error {
    fn from(e: ProxyError) -> Self {
        Error::Proxy(e)
    }
}

impl From<UrlError> for Error {
    fn from(e: UrlError) -> Self {
        Error::Url(e)
    }
}

/// Which time limit passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Timeout {
    /// TCP connect (client).
    Connect,
    /// The whole opening handshake ([`Config::handshake_timeout`](crate::Config::handshake_timeout)).
    Handshake,
    /// No data from the peer for [`Config::read_timeout`](crate::Config::read_timeout).
    Read,
    /// A write did not finish within [`Config::write_timeout`](crate::Config::write_timeout).
    Write,
    /// The peer did not answer our close frame within
    /// [`Config::close_timeout`](crate::Config::close_timeout).
    Close,
    /// The peer did not answer a keep-alive ping in time.
    Pong,
    /// The proxy exchange (CONNECT or SOCKS5) did not finish before the
    /// handshake deadline, which covers it.
    Proxy,
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Timeout::Connect => "connect",
            Timeout::Handshake => "opening handshake",
            Timeout::Read => "read",
            Timeout::Write => "write",
            Timeout::Close => "closing handshake",
            Timeout::Pong => "pong",
            Timeout::Proxy => "proxy exchange",
        })
    }
}

/// A violation of RFC 6455 by the peer. Each variant maps to one close code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A 64-bit payload length with the most significant bit set (§5.2).
    LengthTopBitSet,
    /// A payload length not encoded in the fewest bytes (§5.2).
    NonMinimalLength,
    /// A control frame with more than 125 bytes of payload (§5.5).
    ControlFrameTooLong,
    /// A control frame without FIN (§5.5).
    FragmentedControlFrame,
    /// An opcode reserved for future use (§5.2).
    ReservedOpCode(u8),
    /// RSV bits set that no negotiated extension owns (§5.2); the bits as in
    /// the first header byte (0x40, 0x20, 0x10).
    ReservedBits(u8),
    /// A client frame without a mask (§5.1).
    UnmaskedFrame,
    /// A server frame with a mask (§5.1).
    MaskedFrame,
    /// A continuation frame with no message in progress (§5.4).
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is unfinished (§5.4).
    ExpectedContinuation,
    /// Text that is not UTF-8, in a message or a close reason (§8.1). Close code 1007.
    InvalidUtf8,
    /// A close frame with a one-byte payload (§5.5.1).
    InvalidClosePayload,
    /// A close code that must not appear on the wire (§7.4).
    InvalidCloseCode(u16),
    /// A data frame after the peer's close frame (§5.5.1).
    DataAfterClose,
    /// A negotiated extension rejected a frame (for example a compressed
    /// continuation frame, or a payload that does not inflate).
    Extension(String),
    /// A hixie-76 frame other than text or the closing frame: its type
    /// byte (a length-prefixed frame has the high bit set).
    Hixie76Frame(u8),
}

impl ProtocolError {
    /// The close code for this violation: 1007 for bad UTF-8, 1002 for all else.
    pub fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8 => CloseCode::INVALID_PAYLOAD,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::LengthTopBitSet => {
                f.write_str("64-bit payload length has its top bit set")
            }
            ProtocolError::NonMinimalLength => f.write_str("payload length not minimally encoded"),
            ProtocolError::ControlFrameTooLong => {
                f.write_str("control frame longer than 125 bytes")
            }
            ProtocolError::FragmentedControlFrame => f.write_str("fragmented control frame"),
            ProtocolError::ReservedOpCode(op) => write!(f, "reserved opcode {op:#x}"),
            ProtocolError::ReservedBits(bits) => write!(f, "reserved bits {bits:#04x} set"),
            ProtocolError::UnmaskedFrame => f.write_str("unmasked frame from a client"),
            ProtocolError::MaskedFrame => f.write_str("masked frame from a server"),
            ProtocolError::UnexpectedContinuation => {
                f.write_str("continuation frame without a message")
            }
            ProtocolError::ExpectedContinuation => {
                f.write_str("new message inside a fragmented message")
            }
            ProtocolError::InvalidUtf8 => f.write_str("invalid UTF-8 in text"),
            ProtocolError::InvalidClosePayload => {
                f.write_str("close frame with a one-byte payload")
            }
            ProtocolError::InvalidCloseCode(c) => write!(f, "invalid close code {c}"),
            ProtocolError::DataAfterClose => f.write_str("frame after the close frame"),
            ProtocolError::Extension(e) => write!(f, "extension: {e}"),
            ProtocolError::Hixie76Frame(t) if t & 0x80 != 0 => {
                write!(f, "hixie-76 length-prefixed frame (type {t:#04x})")
            }
            ProtocolError::Hixie76Frame(t) => write!(f, "hixie-76 frame of type {t:#04x}"),
        }
    }
}

impl std::error::Error for ProtocolError {}

/// A configured limit was exceeded: close code 1009 when the peer sent too
/// much (frame, message, fragments; HTTP 431 for a handshake's headers), 1008
/// when the peer does not read what we send ([`WriteBufferFull`](Self::WriteBufferFull)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CapacityError {
    /// A frame declared a payload longer than `max_frame_size`.
    FrameTooBig {
        /// The length the frame header declared.
        size: u64,
        /// The configured limit.
        max: usize,
    },
    /// A message (after decompression) grew past `max_message_size`.
    MessageTooBig {
        /// The limit.
        max: usize,
    },
    /// A message arrived in more frames than `max_fragments`.
    TooManyFragments {
        /// The limit.
        max: usize,
    },
    /// More data was queued for sending than `max_write_buffer` allows
    /// (the peer does not read, or the caller never flushes). Close code
    /// 1008: the peer breaks our policy (RFC 6455 §7.4.1), it sent nothing
    /// too big.
    WriteBufferFull {
        /// The limit.
        max: usize,
    },
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapacityError::FrameTooBig { size, max } => {
                write!(f, "frame of {size} bytes exceeds the {max}-byte limit")
            }
            CapacityError::MessageTooBig { max } => {
                write!(f, "message exceeds the {max}-byte limit")
            }
            CapacityError::TooManyFragments { max } => {
                write!(f, "message split into more than {max} frames")
            }
            CapacityError::WriteBufferFull { max } => {
                write!(f, "more than {max} bytes queued for sending")
            }
        }
    }
}

impl std::error::Error for CapacityError {}

/// Why an opening handshake failed, on either side.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// Server side: the request was refused with this HTTP status and reason
    /// (400 malformed, 403 forbidden, 404 unknown resource, 408 too slow,
    /// 426 wrong version, 431 headers too large, 503 overloaded, ...).
    Rejected {
        /// The HTTP status sent to the client.
        status: u16,
        /// One line saying why.
        reason: String,
    },
    /// Client side: the server answered with a status other than 101.
    UnexpectedStatus {
        /// The status code.
        status: u16,
        /// Its reason phrase.
        reason: String,
        /// The response headers (name, value).
        headers: Vec<(String, String)>,
    },
    /// Client side: the server's response could not be read, or its 101
    /// broke RFC 6455 §4.2.2; the [`ResponseError`] says how.
    InvalidResponse(ResponseError),
    /// Client side: the server answered a request with `Location` that
    /// cannot be followed (loop, too many, unsupported scheme).
    Redirect(String),
    /// The peer closed the connection before the handshake finished.
    ConnectionClosed,
}

impl HandshakeError {
    /// The HTTP status involved: the one we sent (server) or received (client).
    pub fn status(&self) -> Option<u16> {
        match self {
            HandshakeError::Rejected { status, .. }
            | HandshakeError::UnexpectedStatus { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub(crate) fn rejected(status: u16, reason: impl Into<String>) -> HandshakeError {
        HandshakeError::Rejected {
            status,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::Rejected { status, reason } => write!(f, "{status}: {reason}"),
            HandshakeError::UnexpectedStatus { status, reason, .. } => {
                write!(f, "server answered {status} {reason}")
            }
            HandshakeError::InvalidResponse(e) => write!(f, "invalid response: {e}"),
            HandshakeError::Redirect(e) => write!(f, "redirect: {e}"),
            HandshakeError::ConnectionClosed => {
                f.write_str("connection closed during the handshake")
            }
        }
    }
}

impl std::error::Error for HandshakeError {}

/// How a server's response to our opening handshake was unusable
/// (RFC 6455 §4.1, the client's checks of the server's response).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseError {
    /// The head is not HTTP/1.1, is incomplete, or is over the header limits.
    Malformed(String),
    /// No `Upgrade: websocket`: not a WebSocket server.
    NoUpgrade,
    /// No `Connection: Upgrade`.
    NoConnectionUpgrade,
    /// `Sec-WebSocket-Accept` is missing, repeated or not derived from our
    /// key: not a WebSocket server, or something between us answered (a
    /// cache, a proxy).
    WrongAccept,
    /// The server chose a subprotocol we did not offer, or more than one.
    Subprotocol(String),
    /// The server's `Sec-WebSocket-Extensions` cannot be used (malformed,
    /// not offered, or parameters we cannot honour): connecting again
    /// without offering extensions may work.
    Extension(String),
    /// The server answered with TLS (an alert record): the URL is
    /// `ws://` but the port speaks TLS, so use `wss://`.
    Tls,
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseError::Malformed(e) | ResponseError::Subprotocol(e) => f.write_str(e),
            ResponseError::Extension(e) => f.write_str(e),
            ResponseError::NoUpgrade => f.write_str("Upgrade is not websocket"),
            ResponseError::NoConnectionUpgrade => {
                f.write_str("Connection does not include Upgrade")
            }
            ResponseError::WrongAccept => f.write_str("wrong Sec-WebSocket-Accept"),
            ResponseError::Tls => f.write_str("the server speaks TLS: use wss://"),
        }
    }
}

impl std::error::Error for ResponseError {}

/// A TLS failure: what failed, in stdws's words ([`context`](Self::context)),
/// and the TLS library's own error ([`source`](std::error::Error::source):
/// `native_tls::Error`, `rustls::Error`, or the `io::Error` under them) when
/// the failure came from it.
#[derive(Debug)]
pub struct TlsError {
    context: Cow<'static, str>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl TlsError {
    /// A failure found by stdws itself (no backend error behind it).
    #[cfg_attr(not(any(feature = "tls", feature = "rustls", test)), allow(dead_code))]
    pub(crate) fn new(context: impl Into<Cow<'static, str>>) -> TlsError {
        TlsError {
            context: context.into(),
            source: None,
        }
    }

    /// A failure of the TLS library (or of the I/O under it).
    #[cfg_attr(not(any(feature = "tls", feature = "rustls")), allow(dead_code))]
    pub(crate) fn caused_by(
        context: impl Into<Cow<'static, str>>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> TlsError {
        TlsError {
            context: context.into(),
            source: Some(source.into()),
        }
    }

    /// What failed, without the backend's words (e.g. "TLS handshake
    /// failed", "cannot read CA file ca.pem").
    pub fn context(&self) -> &str {
        &self.context
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(source) => write!(f, "{}: {source}", self.context),
            None => f.write_str(&self.context),
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}

impl From<TlsError> for Error {
    fn from(e: TlsError) -> Self {
        Error::Tls(e)
    }
}

/// Why a URL could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// The scheme is not `ws`, `wss` (or `http`/`https` for redirects).
    UnsupportedScheme(String),
    /// No host, or a malformed host or port.
    InvalidHost(String),
    /// A `wss://` URL, but stdws was built without a TLS feature.
    TlsNotEnabled,
    /// Anything else malformed (fragment, whitespace, bad escapes).
    Malformed(String),
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::UnsupportedScheme(s) => write!(f, "unsupported scheme {s:?}"),
            UrlError::InvalidHost(h) => write!(f, "invalid host {h:?}"),
            UrlError::TlsNotEnabled => f.write_str("wss:// needs the `tls` feature"),
            UrlError::Malformed(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for UrlError {}

/// Why the way through a proxy could not be opened. Each variant names the
/// step that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyError {
    /// The proxy URL cannot be used (scheme, host, port, or credentials
    /// longer than RFC 1929 allows).
    InvalidUrl(String),
    /// An `https://` proxy, but stdws was built without a TLS feature.
    TlsNotEnabled,
    /// A `wss://` server through an `https://` proxy: TLS inside TLS is not
    /// supported (use an `http://` proxy: the tunnel still carries TLS to
    /// the server).
    TlsInTls,
    /// The HTTP proxy answered CONNECT with a status other than 2xx
    /// (RFC 9110 §9.3.6).
    Refused {
        /// The status code (407: the proxy wants credentials; some proxies
        /// send 401 instead).
        status: u16,
        /// Its reason phrase.
        reason: String,
        /// The schemes of the proxy's challenges (`Basic`, `Digest`, ...)
        /// in `Proxy-Authenticate`, or `WWW-Authenticate` with a 401, in
        /// order.
        authenticate: Vec<String>,
    },
    /// The SOCKS5 proxy accepts none of the methods offered (RFC 1928 §3:
    /// `X'FF'`); it may want credentials that were not given.
    NoAcceptableMethod,
    /// The SOCKS5 proxy refused the user name and password (RFC 1929 §2:
    /// a status other than 0).
    AuthFailed(u8),
    /// The SOCKS5 proxy answered the CONNECT request with this reply code
    /// (RFC 1928 §6: 1 general failure, 2 not allowed by ruleset, 3
    /// network unreachable, 4 host unreachable, 5 connection refused, 6 TTL
    /// expired, 7 command not supported, 8 address type not supported).
    Socks(u8),
    /// The proxy broke its protocol: a malformed or oversized reply, or
    /// data sent before the tunnel was used.
    InvalidReply(String),
    /// The proxy closed the connection before the tunnel was open.
    TunnelClosed,
}

impl ProxyError {
    /// The HTTP status of a refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            ProxyError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// RFC 1928 §6's words for a SOCKS5 reply code.
fn socks_reply_text(code: u8) -> &'static str {
    match code {
        1 => "general SOCKS server failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unassigned reply code",
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyError::InvalidUrl(e) => write!(f, "bad proxy URL: {e}"),
            ProxyError::TlsNotEnabled => f.write_str("an https:// proxy needs a TLS feature"),
            ProxyError::TlsInTls => {
                f.write_str("wss:// through an https:// proxy (TLS inside TLS) is not supported")
            }
            ProxyError::Refused {
                status,
                reason,
                authenticate,
            } => {
                write!(f, "proxy refused CONNECT: {status} {reason}")?;
                if !authenticate.is_empty() {
                    write!(f, " (it asks for {})", authenticate.join(", "))?;
                }
                Ok(())
            }
            ProxyError::NoAcceptableMethod => {
                f.write_str("SOCKS5 proxy accepts none of the offered authentication methods")
            }
            ProxyError::AuthFailed(status) => {
                write!(
                    f,
                    "SOCKS5 proxy refused the user name and password (status {status})"
                )
            }
            ProxyError::Socks(code) => {
                write!(
                    f,
                    "SOCKS5 proxy refused CONNECT: reply {code} ({})",
                    socks_reply_text(*code)
                )
            }
            ProxyError::InvalidReply(e) => write!(f, "invalid proxy reply: {e}"),
            ProxyError::TunnelClosed => {
                f.write_str("proxy closed the connection before the tunnel was open")
            }
        }
    }
}

impl std::error::Error for ProxyError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn capacity_errors_close_with_1009_except_an_unread_write_buffer_with_1008() {
        let too_big = [
            CapacityError::FrameTooBig { size: 2, max: 1 },
            CapacityError::MessageTooBig { max: 1 },
            CapacityError::TooManyFragments { max: 1 },
        ];
        for e in too_big {
            assert_eq!(Error::from(e).close_code(), Some(CloseCode::TOO_BIG));
        }
        let unread = Error::from(CapacityError::WriteBufferFull { max: 1 });
        assert_eq!(unread.close_code(), Some(CloseCode::POLICY_VIOLATION));
    }

    #[test]
    fn errors_convert_to_io_errors_and_back_without_loss() {
        let reset = Error::from(io::Error::from(io::ErrorKind::ConnectionReset));
        let back = io::Error::from(reset);
        assert_eq!(back.kind(), io::ErrorKind::ConnectionReset);
        assert!(
            back.get_ref().is_none(),
            "the io::Error itself, not wrapped"
        );

        let cases = [
            (Error::Timeout(Timeout::Read), io::ErrorKind::TimedOut),
            (
                ProtocolError::UnmaskedFrame.into(),
                io::ErrorKind::InvalidData,
            ),
            (
                HandshakeError::ConnectionClosed.into(),
                io::ErrorKind::UnexpectedEof,
            ),
            (Error::Closed, io::ErrorKind::ConnectionAborted),
            (UrlError::TlsNotEnabled.into(), io::ErrorKind::InvalidInput),
            (
                HandshakeError::rejected(401, "no").into(),
                io::ErrorKind::Other,
            ),
        ];
        for (error, kind) in cases {
            let text = error.to_string();
            let io = io::Error::from(error);
            assert_eq!(io.kind(), kind, "{text}");
            let inner = io.get_ref().and_then(|e| e.downcast_ref::<Error>());
            assert_eq!(inner.map(Error::to_string), Some(text));
        }
    }

    #[test]
    fn extension_and_tls_errors_keep_their_cause() {
        let cause = io::Error::new(io::ErrorKind::InvalidData, "deflate stream corrupt");
        let e = Error::Extension(Box::new(cause));
        assert_eq!(e.close_code(), Some(CloseCode::INTERNAL_ERROR));
        let source = e.source().expect("the extension's error");
        let io = source
            .downcast_ref::<io::Error>()
            .expect("the io::Error itself");
        assert_eq!(io.kind(), io::ErrorKind::InvalidData);
        assert_eq!(e.to_string(), "extension error: deflate stream corrupt");

        let e = Error::from(TlsError::caused_by(
            "TLS handshake failed",
            io::Error::from(io::ErrorKind::ConnectionReset),
        ));
        let source = e.source().expect("the backend's error");
        assert_eq!(
            source.downcast_ref::<io::Error>().map(io::Error::kind),
            Some(io::ErrorKind::ConnectionReset)
        );
        let Error::Tls(tls) = &e else { unreachable!() };
        assert_eq!(tls.context(), "TLS handshake failed");
        assert!(Error::from(TlsError::new("no hello")).source().is_none());
    }
}
