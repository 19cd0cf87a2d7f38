//! The server side of the opening handshake (RFC 6455 §4.2), sans I/O.
//!
//! [`Request::parse`] turns a complete head (see
//! [`HeadScanner`]) into a [`Request`];
//! [`Request::validate`] applies the checks of §4.2.1 and names the HTTP
//! status for each failure; [`response_101`] and [`error_response`] build
//! the bytes to send back.

use std::net::SocketAddr;

use base64::Engine as _;

use super::{is_safe_header_value, is_token, HeadScanner, Headers};
use crate::error::HandshakeError;
use crate::extension::{parse_extensions, ExtensionOffer};

/// Header fields [`Request::parse`] reads without a heap allocation (a
/// browser's upgrade sends about a dozen).
const STACK_FIELDS: usize = 16;

/// A parsed HTTP request: a WebSocket upgrade or a plain GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The request target as sent: `/path?query`, or an absolute URI.
    pub target: String,
    /// The minor HTTP version (1 for HTTP/1.1).
    pub minor_version: u8,
    /// The header fields.
    pub headers: Headers,
    /// The user HTTP authentication admitted (see [`Request::user`]).
    user: Option<String>,
    /// Who sent it and how (see [`Request::peer_addr`]).
    peer: Option<(SocketAddr, bool)>,
    /// The id the connection will have (see [`Request::connection_id`]).
    connection: Option<String>,
}

impl Request {
    /// Parses a complete head (`buf[..head_len]` as found by the scanner).
    /// A malformed head is a 400.
    pub fn parse(head: &[u8], scanner: &HeadScanner) -> Result<Request, HandshakeError> {
        // The field array httparse fills lives only while the head is
        // parsed: on the stack for an ordinary head, so a server's client
        // thread does not keep its freed chunk in its malloc cache.
        let count = scanner.header_count();
        let mut on_stack = [httparse::EMPTY_HEADER; STACK_FIELDS];
        let mut on_heap;
        let raw = if count <= STACK_FIELDS {
            &mut on_stack[..count]
        } else {
            on_heap = vec![httparse::EMPTY_HEADER; count];
            &mut on_heap[..]
        };
        let mut req = httparse::Request::new(raw);
        match req.parse(head) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) => return Err(bad_request("incomplete request head")),
            Err(e) => return Err(bad_request(&format!("malformed request: {e}"))),
        }
        Ok(Request {
            method: req.method.unwrap_or_default().to_owned(),
            target: req.path.unwrap_or_default().to_owned(),
            minor_version: req.version.unwrap_or(0),
            headers: Headers::from_httparse(req.headers),
            user: None,
            peer: None,
            connection: None,
        })
    }

    /// The user name the client proved with HTTP authentication: set by a
    /// [`Server`](crate::Server) with an
    /// [`authenticator`](crate::ServerBuilder::authenticator) before the
    /// handshake hook ([`Handler::handshake`](crate::Handler::handshake))
    /// runs, so the hook can decide by user. `None` otherwise.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    pub(crate) fn set_user(&mut self, user: Option<String>) {
        self.user = user;
    }

    /// The address the request came from, as a [`Server`](crate::Server)
    /// saw it (`None` for a request parsed elsewhere).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer.map(|(addr, _)| addr)
    }

    /// True when a [`Server`](crate::Server) received the request over TLS.
    pub fn is_tls(&self) -> bool {
        self.peer.is_some_and(|(_, tls)| tls)
    }

    pub(crate) fn set_peer(&mut self, addr: SocketAddr, tls: bool) {
        self.peer = Some((addr, tls));
    }

    /// The text of the id the connection gets if accepted
    /// ([`Client::id`](crate::Client::id)), as a [`Server`](crate::Server)
    /// assigned it before the handshake hook: a hook can hand it to whoever
    /// will address the connection.
    pub fn connection_id(&self) -> Option<&str> {
        self.connection.as_deref()
    }

    pub(crate) fn set_connection_id(&mut self, id: String) {
        self.connection = Some(id);
    }

    /// The path part of the target (`/chat` of `/chat?room=1`), also for an
    /// absolute-form target (`ws://host/chat`, §4.2.1 item 2).
    pub fn path(&self) -> &str {
        let t = self.origin_form();
        t.split_once('?').map_or(t, |(p, _)| p)
    }

    /// The query, without `?`, if any.
    pub fn query(&self) -> Option<&str> {
        self.origin_form().split_once('?').map(|(_, q)| q)
    }

    /// The resource name of RFC 6455: path and query.
    pub fn resource(&self) -> &str {
        self.origin_form()
    }

    fn origin_form(&self) -> &str {
        let t = self.target.as_str();
        match t.find("://") {
            Some(i) if !t.starts_with('/') => {
                let rest = &t[i + 3..];
                rest.find('/').map_or("/", |j| &rest[j..])
            }
            _ => t,
        }
    }

    /// The `Host` field.
    pub fn host(&self) -> Option<&str> {
        self.headers.get("Host")
    }

    /// The `Origin` field (browsers always send it).
    pub fn origin(&self) -> Option<&str> {
        self.headers.get("Origin")
    }

    /// The `Sec-WebSocket-Version` field.
    pub fn version(&self) -> Option<&str> {
        self.headers.get("Sec-WebSocket-Version")
    }

    /// The `Sec-WebSocket-Key` field.
    pub fn key(&self) -> Option<&str> {
        self.headers.get("Sec-WebSocket-Key")
    }

    /// The subprotocols the client asked for, in its order.
    pub fn protocols(&self) -> Vec<&str> {
        self.headers.list("Sec-WebSocket-Protocol").collect()
    }

    /// The extension offers, in the client's order (empty if none, or if
    /// the field is malformed; [`Request::validate`] rejects those).
    pub fn extensions(&self) -> Vec<ExtensionOffer> {
        self.headers
            .joined("Sec-WebSocket-Extensions")
            .and_then(|v| parse_extensions(&v).ok())
            .unwrap_or_default()
    }

    /// True when the request asks for a WebSocket upgrade at all (an
    /// `Upgrade` field naming `websocket`). Other GETs are plain HTTP.
    pub fn is_upgrade(&self) -> bool {
        self.headers.has_token("Upgrade", "websocket")
    }

    /// Checks the request against RFC 6455 §4.2.1. Failures carry the status
    /// to answer: 426 (with `Sec-WebSocket-Version: 13`, see
    /// [`error_response`]) for a version other than 13, 400 for the rest.
    pub fn validate(&self) -> Result<(), HandshakeError> {
        self.validate_upgrade()?;
        if self.headers.count("Sec-WebSocket-Version") != 1 || self.version() != Some("13") {
            return Err(HandshakeError::rejected(
                426,
                "Sec-WebSocket-Version must be 13",
            ));
        }
        if self.headers.count("Sec-WebSocket-Key") != 1 {
            return Err(bad_request("exactly one Sec-WebSocket-Key required"));
        }
        let key = self.key().unwrap_or_default();
        // 24 base64 characters decode to at most 18 bytes; a longer key
        // does not fit and is refused like any other that is not 16 bytes.
        let mut nonce = [0u8; 18];
        match base64::engine::general_purpose::STANDARD.decode_slice(key, &mut nonce) {
            Ok(16) => {}
            _ => return Err(bad_request("Sec-WebSocket-Key must be 16 bytes in base64")),
        }
        if !self.headers.list("Sec-WebSocket-Protocol").all(is_token) {
            return Err(bad_request("malformed Sec-WebSocket-Protocol"));
        }
        if let Some(value) = self.headers.joined("Sec-WebSocket-Extensions") {
            parse_extensions(&value)
                .map_err(|e| bad_request(&format!("malformed Sec-WebSocket-Extensions: {e}")))?;
        }
        Ok(())
    }

    /// The checks every WebSocket upgrade passes, whatever its version
    /// (RFC 6455 §4.2.1 items 1–4; the same in hixie-76): GET (else 405),
    /// HTTP/1.1, an absolute path, one `Host`, `Upgrade: websocket` and
    /// `Connection: Upgrade` (else 400).
    pub(crate) fn validate_upgrade(&self) -> Result<(), HandshakeError> {
        if self.method != "GET" {
            return Err(HandshakeError::rejected(
                405,
                format!("method {} not allowed", self.method),
            ));
        }
        if self.minor_version < 1 {
            return Err(bad_request("HTTP/1.1 or later required"));
        }
        if !self.resource().starts_with('/') {
            return Err(bad_request("request target must be an absolute path"));
        }
        match self.headers.count("Host") {
            1 => {}
            0 => return Err(bad_request("missing Host")),
            _ => return Err(bad_request("more than one Host")),
        }
        if !self.is_upgrade() {
            return Err(bad_request("Upgrade must include websocket"));
        }
        if !self.headers.has_token("Connection", "Upgrade") {
            return Err(bad_request("Connection must include Upgrade"));
        }
        Ok(())
    }
}

fn bad_request(reason: &str) -> HandshakeError {
    HandshakeError::rejected(400, reason)
}

/// How the server accepts an upgrade: the parts it chooses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Accept {
    /// The chosen subprotocol; must be one the client asked for.
    pub protocol: Option<String>,
    /// More header fields for the 101 response.
    pub headers: Vec<(String, String)>,
}

impl Accept {
    /// Accept with no subprotocol and no extra headers.
    pub fn new() -> Accept {
        Accept::default()
    }

    /// Choose this subprotocol.
    pub fn protocol(mut self, protocol: impl Into<String>) -> Accept {
        self.protocol = Some(protocol.into());
        self
    }

    /// Add a response header field.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Accept {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// How the server refuses a request: an HTTP status, a one-line reason
/// (the body of the response) and optional header fields (for example
/// `WWW-Authenticate` with a 401).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reject {
    /// The HTTP status.
    pub status: u16,
    /// Why, in one line.
    pub reason: String,
    /// More header fields.
    pub headers: Vec<(String, String)>,
    /// The body and its `Content-Type`, instead of the one-line reason.
    pub body: Option<(String, Vec<u8>)>,
}

impl Reject {
    /// Refuse with this status and reason.
    pub fn new(status: u16, reason: impl Into<String>) -> Reject {
        Reject {
            status,
            reason: reason.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// Send this body (of this `Content-Type`) instead of the reason, for a
    /// hook that answers with its own page.
    pub fn body(mut self, content_type: impl Into<String>, body: impl Into<Vec<u8>>) -> Reject {
        self.body = Some((content_type.into(), body.into()));
        self
    }

    /// Add a response header field.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Reject {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The error page bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        match &self.body {
            Some((content_type, body)) => {
                response_with_body(self.status, &self.headers, content_type, body)
            }
            None => error_response(self.status, &self.reason, &self.headers),
        }
    }
}

impl From<HandshakeError> for Reject {
    fn from(e: HandshakeError) -> Reject {
        match e {
            HandshakeError::Rejected { status, reason } => Reject::new(status, reason),
            other => Reject::new(400, other.to_string()),
        }
    }
}

/// The 101 response to `request` (RFC 6455 §4.2.2 item 5), with the
/// accepted extensions' `Sec-WebSocket-Extensions` value if any. `request`
/// must have passed [`Request::validate`].
pub fn response_101(request: &Request, accept: &Accept, extensions: Option<&str>) -> Vec<u8> {
    const HEAD: &str =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
    // Sized exactly: the answer is freed once sent, and a chunk of its
    // own size class would stay in the client thread's malloc cache.
    let len = HEAD.len()
        + pushed_len("Sec-WebSocket-Accept", "")
        + super::ACCEPT_KEY_LEN
        + accept
            .protocol
            .as_deref()
            .map_or(0, |p| pushed_len("Sec-WebSocket-Protocol", p))
        + extensions.map_or(0, |e| pushed_len("Sec-WebSocket-Extensions", e))
        + accept
            .headers
            .iter()
            .map(|(n, v)| pushed_len(n, v))
            .sum::<usize>()
        + 2;
    let mut out = String::with_capacity(len);
    out.push_str(HEAD);
    let mut accept_key = [0u8; super::ACCEPT_KEY_LEN];
    push_header(
        &mut out,
        "Sec-WebSocket-Accept",
        super::accept_key_into(request.key().unwrap_or_default(), &mut accept_key),
    );
    if let Some(p) = &accept.protocol {
        push_header(&mut out, "Sec-WebSocket-Protocol", p);
    }
    if let Some(e) = extensions {
        push_header(&mut out, "Sec-WebSocket-Extensions", e);
    }
    for (name, value) in &accept.headers {
        push_header(&mut out, name, value);
    }
    out.push_str("\r\n");
    debug_assert!(out.len() <= len, "the 101 outgrew its computed size");
    out.into_bytes()
}

/// An HTTP error response with a one-line plain-text body, closing the
/// connection. A 426 carries `Sec-WebSocket-Version: 13` (§4.4).
pub fn error_response(status: u16, reason: &str, headers: &[(String, String)]) -> Vec<u8> {
    let body = format!("{status} {}: {reason}\n", status_text(status));
    response_with_body(
        status,
        headers,
        "text/plain; charset=utf-8",
        body.as_bytes(),
    )
}

/// A response closing the connection, with `body`. `headers` may not set
/// the framing (`Content-Length`, `Transfer-Encoding`, `Connection`): the
/// body given is the whole body.
fn response_with_body(
    status: u16,
    headers: &[(String, String)],
    content_type: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", status_text(status));
    if status == 426 {
        out.push_str("Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n");
    }
    for (name, value) in headers {
        let framing = [
            "content-length",
            "transfer-encoding",
            "connection",
            "content-type",
        ]
        .iter()
        .any(|f| name.eq_ignore_ascii_case(f));
        if !framing {
            push_header(&mut out, name, value);
        }
    }
    push_header(&mut out, "Content-Type", content_type);
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// The bytes [`push_header`] writes for a safe field: `name: value\r\n`.
fn pushed_len(name: &str, value: &str) -> usize {
    name.len() + ": ".len() + value.len() + "\r\n".len()
}

/// Appends `name: value\r\n`, dropping fields a caller could use to inject
/// lines (names that are not tokens, values with CR, LF or controls).
pub(crate) fn push_header(out: &mut String, name: &str, value: &str) {
    if is_token(name) && is_safe_header_value(value) {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    } else {
        log::warn!("dropping unsafe response header {name:?}");
    }
}

/// The reason phrase for the statuses stdws sends.
pub fn status_text(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Status;
    use crate::handshake::HeadLimits;

    const RFC_REQUEST: &str = "GET /chat HTTP/1.1\r\n\
        Host: server.example.com\r\n\
        Upgrade: websocket\r\n\
        Connection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Origin: http://example.com\r\n\
        Sec-WebSocket-Protocol: chat, superchat\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";

    fn limits() -> HeadLimits {
        HeadLimits {
            max_bytes: 16 << 10,
            max_line: 8 << 10,
            max_headers: 64,
        }
    }

    fn parse(text: &str) -> Request {
        let mut s = HeadScanner::new(limits());
        let Status::Complete(n) = s.scan(text.as_bytes()).unwrap() else {
            panic!("partial")
        };
        Request::parse(&text.as_bytes()[..n], &s).unwrap()
    }

    fn status_of(text: &str) -> u16 {
        parse(text).validate().unwrap_err().status().unwrap()
    }

    #[test]
    fn rfc_example_request_is_valid_and_answered_byte_for_byte() {
        let req = parse(RFC_REQUEST);
        req.validate().unwrap();
        assert_eq!(req.path(), "/chat");
        assert_eq!(req.protocols(), vec!["chat", "superchat"]);
        assert_eq!(req.origin(), Some("http://example.com"));
        let accept = Accept::new().protocol("chat");
        assert_eq!(
            String::from_utf8(response_101(&req, &accept, None)).unwrap(),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
        );
    }

    #[test]
    fn the_101_is_built_in_a_buffer_of_exactly_its_size() {
        let req = parse(RFC_REQUEST);
        for (accept, extensions) in [
            (Accept::new(), None),
            (Accept::new().protocol("chat"), Some("permessage-deflate")),
            (
                Accept::new()
                    .protocol("chat")
                    .header("X-Served-By", "node-7"),
                Some("permessage-deflate; client_max_window_bits=10"),
            ),
        ] {
            let answer = response_101(&req, &accept, extensions);
            assert_eq!(answer.capacity(), answer.len());
            assert!(answer.ends_with(b"\r\n\r\n"));
        }
        // An unsafe field is dropped: the buffer is then only larger.
        let accept = Accept::new().header("X-Bad", "a\r\nInjected: 1");
        let answer = String::from_utf8(response_101(&req, &accept, None)).unwrap();
        assert!(!answer.contains("Injected"));
    }

    #[test]
    fn every_split_point_parses_the_same() {
        let wire = RFC_REQUEST.as_bytes();
        for cut in 0..wire.len() {
            let mut s = HeadScanner::new(limits());
            assert_eq!(s.scan(&wire[..cut]).unwrap(), Status::Partial);
            let Status::Complete(n) = s.scan(wire).unwrap() else {
                panic!()
            };
            assert_eq!(Request::parse(&wire[..n], &s).unwrap(), parse(RFC_REQUEST));
        }
    }

    #[test]
    fn header_tokens_are_case_insensitive_lists() {
        let req = RFC_REQUEST
            .replace("Upgrade: websocket", "upgrade: WebSocket")
            .replace("Connection: Upgrade", "connection: keep-alive, UPGRADE");
        parse(&req).validate().unwrap();
    }

    #[test]
    fn wrong_version_is_426() {
        assert_eq!(
            status_of(&RFC_REQUEST.replace("Version: 13", "Version: 8")),
            426
        );
        assert_eq!(
            status_of(&RFC_REQUEST.replace("Sec-WebSocket-Version: 13\r\n", "")),
            426
        );
        let page = String::from_utf8(error_response(426, "Sec-WebSocket-Version must be 13", &[]))
            .unwrap();
        assert!(page.starts_with("HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"));
    }

    #[test]
    fn bad_requests_are_400() {
        for (from, to) in [
            ("GET /chat HTTP/1.1", "GET /chat HTTP/1.0"),
            ("Host: server.example.com\r\n", ""),
            ("Upgrade: websocket", "Upgrade: h2c"),
            ("Connection: Upgrade", "Connection: keep-alive"),
            ("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ"),
            ("dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ="),
            ("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""),
            ("chat, superchat", "chat, super chat"),
            ("GET /chat", "GET chat"),
        ] {
            assert_eq!(
                status_of(&RFC_REQUEST.replace(from, to)),
                400,
                "{from:?} -> {to:?}"
            );
        }
        assert_eq!(status_of(&RFC_REQUEST.replace("GET", "POST")), 405);
        let two_keys = RFC_REQUEST.replace(
            "Origin",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin",
        );
        assert_eq!(status_of(&two_keys), 400);
    }

    #[test]
    fn malformed_head_is_400() {
        let text = "GET /chat HTTP/1.1\r\nHo st: x\r\n\r\n";
        let mut s = HeadScanner::new(limits());
        let Status::Complete(n) = s.scan(text.as_bytes()).unwrap() else {
            panic!()
        };
        assert_eq!(
            Request::parse(&text.as_bytes()[..n], &s)
                .unwrap_err()
                .status(),
            Some(400)
        );
    }

    #[test]
    fn absolute_form_targets_give_the_path() {
        let req = parse(&RFC_REQUEST.replace("GET /chat", "GET ws://server.example.com/chat?x=1"));
        assert_eq!(req.path(), "/chat");
        assert_eq!(req.query(), Some("x=1"));
        req.validate().unwrap();
    }

    #[test]
    fn unsafe_response_headers_are_dropped() {
        let req = parse(RFC_REQUEST);
        let accept = Accept::new()
            .header("X-A", "ok")
            .header("X-B", "a\r\nSet-Cookie: x");
        let text = String::from_utf8(response_101(&req, &accept, None)).unwrap();
        assert!(text.contains("X-A: ok\r\n"));
        assert!(!text.contains("Set-Cookie"));
    }
}
