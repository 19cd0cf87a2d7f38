//! The opening handshake (RFC 6455 §4), sans I/O.
//!
//! Both sides read an HTTP/1.1 head the same way: bytes are pushed into a
//! [`HeadScanner`], which looks at each byte once to find the blank line
//! that ends the head while it enforces the caps on total size, line length
//! and header count. Only then is the head parsed, once, with `httparse`.
//! Re-parsing the whole head on every read is what made tungstenite's
//! handshake quadratic (CVE-2023-43669); here a byte-by-byte sender costs
//! linear time and is cut off by the caps and the handshake deadline.
//!
//! [`server`] parses and checks a request and builds the 101 reply or an
//! error page; [`client`] builds a request and checks the reply.
//! [`hixie76`] is the server side of the pre-RFC handshake, for servers
//! that opt in to it.

pub mod auth;
pub mod client;
pub mod hixie76;
pub mod server;

use base64::Engine as _;

use crate::error::{HandshakeError, ResponseError};
use crate::frame::Status;

/// The GUID of RFC 6455 §1.3, appended to the key before hashing.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key` (§4.2.2):
/// base64(SHA-1(key + GUID)).
///
/// ```
/// // RFC 6455 §1.3
/// assert_eq!(stdws::handshake::accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &str) -> String {
    accept_key_into(key, &mut [0; ACCEPT_KEY_LEN]).to_owned()
}

/// The length of an accept key: 20 bytes of SHA-1 in base64.
pub(crate) const ACCEPT_KEY_LEN: usize = 28;

/// [`accept_key`] written into `out`, without an allocation.
pub(crate) fn accept_key_into<'a>(key: &str, out: &'a mut [u8; ACCEPT_KEY_LEN]) -> &'a str {
    let mut sha = sha1_smol::Sha1::new();
    sha.update(key.as_bytes());
    sha.update(GUID.as_bytes());
    let n = base64::engine::general_purpose::STANDARD
        .encode_slice(sha.digest().bytes(), out)
        .expect("20 bytes are 28 in base64");
    std::str::from_utf8(&out[..n]).expect("base64 is ASCII")
}

/// Caps on an HTTP head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadLimits {
    /// Most bytes in the head, blank line included.
    pub max_bytes: usize,
    /// Longest line.
    pub max_line: usize,
    /// Most header fields.
    pub max_headers: usize,
}

impl HeadLimits {
    pub(crate) fn from_config(config: &crate::config::Config) -> HeadLimits {
        HeadLimits {
            max_bytes: config.max_header_bytes,
            max_line: config.max_header_line,
            max_headers: config.max_headers,
        }
    }
}

/// Which cap a head broke (a server answers 431), or why the bytes are
/// no HTTP head at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeadError {
    /// The head is longer than `max_bytes`.
    TooLarge,
    /// A line is longer than `max_line`.
    LineTooLong,
    /// More than `max_headers` header fields.
    TooManyHeaders,
    /// The bytes begin a TLS record (RFC 8446 §5.1: a content type 20–23,
    /// then major version 3), not an HTTP head: a `wss://` client on a
    /// plain port (its ClientHello), or a `ws://` client answered by a TLS
    /// server (an alert). A server answers 400.
    TlsRecord,
}

impl HeadError {
    /// What went wrong, for either side's message.
    pub fn describe(self) -> &'static str {
        match self {
            HeadError::TooLarge => "header too large",
            HeadError::LineTooLong => "header line too long",
            HeadError::TooManyHeaders => "too many header fields",
            HeadError::TlsRecord => "a TLS record, not HTTP",
        }
    }

    /// The server's answer: 431 with a one-line reason (400 for TLS).
    pub fn to_rejection(self) -> HandshakeError {
        let reason = match self {
            HeadError::TooLarge => "request header too large",
            HeadError::LineTooLong => "request header line too long",
            HeadError::TooManyHeaders => "too many request header fields",
            HeadError::TlsRecord => {
                return HandshakeError::rejected(
                    400,
                    "TLS handshake on a plain ws:// port (the client wants wss://)",
                )
            }
        };
        HandshakeError::rejected(431, reason)
    }

    /// The client's view of a response head that broke a cap or is TLS.
    pub(crate) fn to_invalid_response(self) -> HandshakeError {
        HandshakeError::InvalidResponse(match self {
            HeadError::TlsRecord => ResponseError::Tls,
            e => ResponseError::Malformed(format!("response head: {}", e.describe())),
        })
    }
}

/// True when `buf` begins like a TLS record: a content type of 20
/// (change_cipher_spec) to 23 (application_data), then major version 3
/// (RFC 8446 §5.1). No HTTP head starts with these control bytes.
fn starts_like_tls(buf: &[u8]) -> bool {
    matches!(buf, [0x14..=0x17, 0x03, ..])
}

/// Finds the end of an HTTP head in bytes that arrive in pieces, looking at
/// each byte once.
///
/// Call [`scan`](HeadScanner::scan) with the whole buffer each time more
/// bytes arrive; it resumes where it stopped. `Complete(n)`: the head is
/// `buf[..n]`, and anything after it belongs to the WebSocket. The blank
/// line may be CRLF or bare LF (httparse accepts both). Empty lines before
/// the start line are skipped, as RFC 9112 §2.2 asks of a server (httparse
/// skips them too); they still count toward the byte cap.
#[derive(Debug, Clone)]
pub struct HeadScanner {
    limits: HeadLimits,
    scanned: usize,
    line_len: usize,
    lines: usize,
}

impl HeadScanner {
    /// A scanner enforcing `limits`.
    pub fn new(limits: HeadLimits) -> HeadScanner {
        HeadScanner {
            limits,
            scanned: 0,
            line_len: 0,
            lines: 0,
        }
    }

    /// The number of header lines seen (the start line not counted); once
    /// the head is complete, the exact size of httparse's header array.
    pub fn header_count(&self) -> usize {
        self.lines.saturating_sub(1)
    }

    /// Scans the bytes of `buf` not seen before.
    pub fn scan(&mut self, buf: &[u8]) -> Result<Status<usize>, HeadError> {
        if self.scanned < 2 && starts_like_tls(buf) {
            return Err(HeadError::TlsRecord);
        }
        while self.scanned < buf.len() {
            let b = buf[self.scanned];
            self.scanned += 1;
            if self.scanned > self.limits.max_bytes {
                return Err(HeadError::TooLarge);
            }
            match b {
                b'\n' => {
                    if self.line_len == 0 && self.lines == 0 {
                        // An empty line before the start line.
                        continue;
                    }
                    if self.line_len == 0 {
                        return Ok(Status::Complete(self.scanned));
                    }
                    self.lines += 1;
                    self.line_len = 0;
                    if self.header_count() > self.limits.max_headers {
                        return Err(HeadError::TooManyHeaders);
                    }
                }
                // A CR is part of the line ending, not of the line.
                b'\r' => {}
                _ => {
                    self.line_len += 1;
                    if self.line_len > self.limits.max_line {
                        return Err(HeadError::LineTooLong);
                    }
                }
            }
        }
        Ok(Status::Partial)
    }
}

/// Header fields of a parsed head, names as sent, values as text (bytes
/// that are not UTF-8 are replaced; the fields stdws checks are ASCII).
///
/// `Debug` hides the values of fields that carry credentials
/// (`Authorization`, `Proxy-Authorization`, `Cookie`), so logging a request
/// never leaks them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// Every name and value, one after another: a server's client keeps
    /// its request for as long as it is connected, in two allocations
    /// rather than two per field.
    text: String,
    fields: Vec<Field>,
}

/// Where one field is in [`Headers::text`]: the name at
/// `start..value`, the value at `value..end`.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Field {
    start: u32,
    value: u32,
    end: u32,
}

/// Fields whose values `Debug` never shows.
const SECRET_FIELDS: [&str; 3] = ["Authorization", "Proxy-Authorization", "Cookie"];

impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(n, v)| {
                let secret = SECRET_FIELDS.iter().any(|s| n.eq_ignore_ascii_case(s));
                (n, if secret { "***" } else { v })
            }))
            .finish()
    }
}

impl Headers {
    pub(crate) fn from_httparse(raw: &[httparse::Header<'_>]) -> Headers {
        let mut headers = Headers {
            text: String::with_capacity(raw.iter().map(|h| h.name.len() + h.value.len()).sum()),
            fields: Vec::with_capacity(raw.len()),
        };
        for h in raw {
            headers.push(h.name, String::from_utf8_lossy(h.value).trim());
        }
        headers
    }

    /// Appends a field. A head is capped far below 4 GiB, so the offsets
    /// fit in `u32`.
    fn push(&mut self, name: &str, value: &str) {
        let offset = |text: &String| u32::try_from(text.len()).unwrap_or(u32::MAX);
        let start = offset(&self.text);
        self.text.push_str(name);
        let value_start = offset(&self.text);
        self.text.push_str(value);
        self.fields.push(Field {
            start,
            value: value_start,
            end: offset(&self.text),
        });
    }

    /// A field's name and value.
    fn field(&self, f: &Field) -> (&str, &str) {
        let (start, value, end) = (f.start as usize, f.value as usize, f.end as usize);
        (&self.text[start..value], &self.text[value..end])
    }

    /// The first value of a field (names compare case-insensitively).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Every value of a field, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The number of fields with this name.
    pub fn count(&self, name: &str) -> usize {
        self.get_all(name).count()
    }

    /// All fields in order, as (name, value).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|f| self.field(f))
    }

    /// The elements of a comma-separated list field, over all its fields,
    /// trimmed, empty elements dropped (RFC 7230 §7).
    pub fn list<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.get_all(name)
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// True when the list field contains `token`, compared case-insensitively.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.list(name).any(|t| t.eq_ignore_ascii_case(token))
    }

    /// The whole list field joined with ", " (for the extension parser).
    pub(crate) fn joined(&self, name: &str) -> Option<String> {
        let all: Vec<&str> = self.get_all(name).collect();
        (!all.is_empty()).then(|| all.join(", "))
    }
}

/// True for a valid RFC 7230 token (subprotocol names must be tokens).
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// A byte allowed in a token (RFC 9110 §5.6.2).
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A header value stdws may write: no CR, LF or other control bytes, which
/// would let a caller inject header lines.
pub(crate) fn is_safe_header_value(s: &str) -> bool {
    s.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7F))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> HeadLimits {
        HeadLimits {
            max_bytes: 1024,
            max_line: 100,
            max_headers: 4,
        }
    }

    fn fields(list: &[(&str, &str)]) -> Headers {
        let mut headers = Headers::default();
        for (name, value) in list {
            headers.push(name, value);
        }
        headers
    }

    #[test]
    fn fields_keep_their_order_names_and_values() {
        let h = fields(&[("Host", "a"), ("", ""), ("X-Empty", ""), ("host", "b c")]);
        let all: Vec<_> = h.iter().collect();
        assert_eq!(
            all,
            [("Host", "a"), ("", ""), ("X-Empty", ""), ("host", "b c")]
        );
        assert_eq!(h.get("HOST"), Some("a"));
        assert_eq!(h.get_all("host").collect::<Vec<_>>(), ["a", "b c"]);
        assert_eq!(h.get("x-empty"), Some(""));
        assert_eq!(h.get("missing"), None);
    }

    #[test]
    fn debug_hides_credentials() {
        let headers = fields(&[
            ("Host", "h"),
            ("authorization", "Basic YTpi"),
            ("Cookie", "session=1"),
        ]);
        assert_eq!(
            format!("{headers:?}"),
            r#"[("Host", "h"), ("authorization", "***"), ("Cookie", "***")]"#
        );
    }

    #[test]
    fn rfc_6455_accept_key_example() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn scanner_finds_the_end_at_every_split() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\x81\x80";
        for cut in 0..head.len() {
            let mut s = HeadScanner::new(limits());
            let first = s.scan(&head[..cut]).unwrap();
            let result = if first == Status::Partial {
                s.scan(head).unwrap()
            } else {
                first
            };
            assert_eq!(result, Status::Complete(head.len() - 2), "cut {cut}");
            assert_eq!(s.header_count(), 1);
        }
    }

    #[test]
    fn scanner_accepts_bare_lf() {
        let mut s = HeadScanner::new(limits());
        assert_eq!(
            s.scan(b"GET / HTTP/1.1\nHost: a\n\nrest").unwrap(),
            Status::Complete(24)
        );
    }

    #[test]
    fn scanner_skips_empty_lines_before_the_start_line() {
        let head = b"\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\nrest";
        let mut s = HeadScanner::new(limits());
        assert_eq!(s.scan(head).unwrap(), Status::Complete(head.len() - 4));
        assert_eq!(s.header_count(), 1);

        let mut s = HeadScanner::new(HeadLimits {
            max_bytes: 20,
            ..limits()
        });
        assert_eq!(s.scan(&[b'\n'; 21]), Err(HeadError::TooLarge));
    }

    #[test]
    fn scanner_names_a_tls_client_hello_and_a_tls_alert_at_any_split() {
        // A ClientHello's record header, and a fatal protocol_version alert.
        let hello = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc];
        let alert = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46];
        for record in [&hello[..], &alert[..]] {
            let mut s = HeadScanner::new(limits());
            assert_eq!(s.scan(&record[..1]), Ok(Status::Partial));
            assert_eq!(s.scan(record), Err(HeadError::TlsRecord));
        }
        assert_eq!(
            HeadError::TlsRecord.to_rejection().status(),
            Some(400),
            "a server answers 400"
        );
    }

    #[test]
    fn scanner_enforces_each_cap() {
        let mut s = HeadScanner::new(limits());
        let long_line = format!("GET /{} HTTP/1.1\r\n", "a".repeat(100));
        assert_eq!(s.scan(long_line.as_bytes()), Err(HeadError::LineTooLong));

        let mut s = HeadScanner::new(limits());
        let many = "GET / HTTP/1.1\r\n".to_owned() + &"a: b\r\n".repeat(5);
        assert_eq!(s.scan(many.as_bytes()), Err(HeadError::TooManyHeaders));

        let mut s = HeadScanner::new(HeadLimits {
            max_bytes: 20,
            ..limits()
        });
        assert_eq!(
            s.scan(b"GET / HTTP/1.1\r\nHost: abc\r\n"),
            Err(HeadError::TooLarge)
        );
    }

    #[test]
    fn header_lists_are_case_insensitive_tokens() {
        let h = fields(&[
            ("connection", "keep-alive, Upgrade"),
            ("Connection", "close"),
        ]);
        assert!(h.has_token("Connection", "upgrade"));
        assert!(h.has_token("CONNECTION", "CLOSE"));
        assert!(!h.has_token("Connection", "keep"));
        assert_eq!(h.count("connection"), 2);
    }
}
