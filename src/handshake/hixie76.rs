//! The server side of the opening handshake of
//! draft-hixie-thewebsocketprotocol-76 (hixie-76), sans I/O.
//!
//! Clients of 2010 (and devices frozen since) open a WebSocket with two keys
//! in header fields and eight more bytes after the head:
//!
//! ```text
//! GET /demo HTTP/1.1
//! Upgrade: WebSocket
//! Connection: Upgrade
//! Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5      digits / spaces = a 32-bit number
//! Sec-WebSocket-Key2: 12998 5 Y3 1  .P00
//! Origin: http://example.com
//!
//! ^n:ds[4U                                      key3: 8 bytes, not a header
//! ```
//!
//! The server answers with the MD5 of both numbers (big-endian) and key3:
//! sixteen bytes after its own head, which names the origin and the
//! location instead of a `Sec-WebSocket-Accept` (draft §5.2). RFC 6455
//! replaced all of it; a [`Server`](crate::Server) speaks it only when
//! asked to ([`ServerBuilder::hixie76`](crate::ServerBuilder::hixie76)),
//! and the [`security`](crate::security) chapter says why.
//!
//! [`is_hixie76`](Request::is_hixie76) tells such a request apart,
//! [`validate`] checks it (answering 400 or 405 as [`Request::validate`]
//! does), [`key3`] takes the body bytes, [`Keys::answer`] computes the
//! challenge response and [`response_101`] builds the reply.

use md5::{Digest as _, Md5};

use super::server::{push_header, Accept, Request};
use crate::error::HandshakeError;
use crate::frame::Status;

/// The bytes of key3, the body of a hixie-76 request (draft §4.1 step 26).
pub const KEY3_LEN: usize = 8;

impl Request {
    /// True for a hixie-76 request: it carries `Sec-WebSocket-Key1` or
    /// `Sec-WebSocket-Key2` and no `Sec-WebSocket-Version` (every RFC 6455
    /// client sends one). A server without hixie-76 answers it 426, like
    /// any other version but 13.
    pub fn is_hixie76(&self) -> bool {
        self.version().is_none()
            && (self.headers.get("Sec-WebSocket-Key1").is_some()
                || self.headers.get("Sec-WebSocket-Key2").is_some())
    }
}

/// Why a hixie-76 key is refused (draft §5.2; a client that follows §4.1
/// never sends one of these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// No digit at all.
    NoDigits,
    /// No space: the draft's guard against cross-protocol requests.
    NoSpaces,
    /// The digits make a number above 4,294,967,295.
    TooLarge,
    /// The number is not a multiple of the count of spaces.
    NotAMultiple,
}

impl KeyError {
    fn describe(self) -> &'static str {
        match self {
            KeyError::NoDigits => "has no digits",
            KeyError::NoSpaces => "has no spaces",
            KeyError::TooLarge => "is larger than 32 bits",
            KeyError::NotAMultiple => "is not a multiple of its spaces",
        }
    }
}

/// The number a key stands for (draft §5.2 step 4): its digits read as one
/// decimal number, divided by its count of spaces. Other characters are
/// noise the client added.
///
/// ```
/// use stdws::handshake::hixie76::key_number;
/// assert_eq!(key_number("4 @1  46546xW%0l 1 5"), Ok(829309203));
/// ```
pub fn key_number(key: &str) -> Result<u32, KeyError> {
    let mut number: u64 = 0;
    let mut digits = 0usize;
    let mut spaces = 0u64;
    for b in key.bytes() {
        match b {
            b'0'..=b'9' => {
                digits += 1;
                // Checked at every digit: a key of a thousand digits stops
                // here instead of overflowing.
                number = number * 10 + u64::from(b - b'0');
                if number > u64::from(u32::MAX) {
                    return Err(KeyError::TooLarge);
                }
            }
            b' ' => spaces += 1,
            _ => {}
        }
    }
    if digits == 0 {
        return Err(KeyError::NoDigits);
    }
    if spaces == 0 {
        return Err(KeyError::NoSpaces);
    }
    if number % spaces != 0 {
        return Err(KeyError::NotAMultiple);
    }
    // number <= u32::MAX and spaces >= 1.
    Ok((number / spaces) as u32)
}

/// The two numbers of a valid hixie-76 request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keys {
    /// The number of `Sec-WebSocket-Key1`.
    pub key1: u32,
    /// The number of `Sec-WebSocket-Key2`.
    pub key2: u32,
}

impl Keys {
    /// The challenge response (draft §5.2 steps 6–8): MD5 of both numbers
    /// as big-endian 32-bit integers followed by key3.
    pub fn answer(&self, key3: &[u8; KEY3_LEN]) -> [u8; 16] {
        let mut md5 = Md5::new();
        md5.update(self.key1.to_be_bytes());
        md5.update(self.key2.to_be_bytes());
        md5.update(key3);
        md5.finalize().into()
    }
}

/// Checks a hixie-76 request (one for which
/// [`is_hixie76`](Request::is_hixie76) holds) and reads its keys. Failures
/// carry the status to answer: 405 for a method other than GET, 400 for
/// the rest.
pub fn validate(request: &Request) -> Result<Keys, HandshakeError> {
    request.validate_upgrade()?;
    Ok(Keys {
        key1: one_key(request, "Sec-WebSocket-Key1")?,
        key2: one_key(request, "Sec-WebSocket-Key2")?,
    })
}

fn one_key(request: &Request, name: &str) -> Result<u32, HandshakeError> {
    if request.headers.count(name) != 1 {
        return Err(bad_request(&format!("exactly one {name} required")));
    }
    let value = request.headers.get(name).unwrap_or_default();
    key_number(value).map_err(|e| bad_request(&format!("{name} {}", e.describe())))
}

fn bad_request(reason: &str) -> HandshakeError {
    HandshakeError::rejected(400, reason)
}

/// Key3 from the bytes that followed the head: `Complete((key3, n))` once
/// all eight are there (`n` = 8: what follows is the first frame), else
/// `Partial`.
pub fn key3(after_head: &[u8]) -> Status<([u8; KEY3_LEN], usize)> {
    match after_head.get(..KEY3_LEN) {
        Some(bytes) => {
            let mut key3 = [0u8; KEY3_LEN];
            key3.copy_from_slice(bytes);
            Status::Complete((key3, KEY3_LEN))
        }
        None => Status::Partial,
    }
}

/// The 101 response to a valid hixie-76 request (draft §5.2): the fields in
/// the draft's order, the chosen subprotocol and extra fields of `accept`,
/// then the 16-byte `answer`. The location is `ws://` (`wss://` when
/// `secure`), the `Host` field and the resource; the origin is the
/// request's `Origin` (left out when the client sent none).
pub fn response_101(
    request: &Request,
    accept: &Accept,
    secure: bool,
    answer: &[u8; 16],
) -> Vec<u8> {
    let mut out = String::with_capacity(256);
    out.push_str("HTTP/1.1 101 WebSocket Protocol Handshake\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n");
    if let Some(origin) = request.origin() {
        push_header(&mut out, "Sec-WebSocket-Origin", origin);
    }
    let location = format!(
        "{}://{}{}",
        if secure { "wss" } else { "ws" },
        request.host().unwrap_or_default(),
        request.resource()
    );
    push_header(&mut out, "Sec-WebSocket-Location", &location);
    if let Some(p) = &accept.protocol {
        push_header(&mut out, "Sec-WebSocket-Protocol", p);
    }
    for (name, value) in &accept.headers {
        push_header(&mut out, name, value);
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(answer);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::{HeadLimits, HeadScanner};

    /// The request of draft §1.3, key3 included.
    const DRAFT_REQUEST: &[u8] = b"GET /demo HTTP/1.1\r\n\
        Host: example.com\r\n\
        Connection: Upgrade\r\n\
        Sec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n\
        Sec-WebSocket-Protocol: sample\r\n\
        Upgrade: WebSocket\r\n\
        Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\n\
        Origin: http://example.com\r\n\
        \r\n\
        ^n:ds[4U";

    /// The response of draft §1.3.
    const DRAFT_RESPONSE: &[u8] = b"HTTP/1.1 101 WebSocket Protocol Handshake\r\n\
        Upgrade: WebSocket\r\n\
        Connection: Upgrade\r\n\
        Sec-WebSocket-Origin: http://example.com\r\n\
        Sec-WebSocket-Location: ws://example.com/demo\r\n\
        Sec-WebSocket-Protocol: sample\r\n\
        \r\n\
        8jKS'y:G*Co,Wxa-";

    fn limits() -> HeadLimits {
        HeadLimits {
            max_bytes: 16 << 10,
            max_line: 8 << 10,
            max_headers: 64,
        }
    }

    /// Parses a head; returns the request and the bytes after it.
    fn parse(wire: &[u8]) -> (Request, &[u8]) {
        let mut s = HeadScanner::new(limits());
        let Status::Complete(n) = s.scan(wire).unwrap() else {
            panic!("partial head")
        };
        (Request::parse(&wire[..n], &s).unwrap(), &wire[n..])
    }

    fn status_of(wire: &[u8]) -> u16 {
        validate(&parse(wire).0).unwrap_err().status().unwrap()
    }

    fn replace(from: &str, to: &str) -> Vec<u8> {
        String::from_utf8(DRAFT_REQUEST.to_vec())
            .unwrap()
            .replacen(from, to, 1)
            .into_bytes()
    }

    #[test]
    fn draft_example_is_answered_byte_for_byte() {
        let (request, body) = parse(DRAFT_REQUEST);
        assert!(request.is_hixie76());
        let keys = validate(&request).unwrap();
        // 4146546015 / 5 spaces and 1299853100 / 5 spaces.
        assert_eq!(
            keys,
            Keys {
                key1: 829309203,
                key2: 259970620
            }
        );
        let Status::Complete((key3, used)) = key3(body) else {
            panic!("key3 missing")
        };
        assert_eq!((&key3, used), (b"^n:ds[4U", 8));
        let answer = keys.answer(&key3);
        assert_eq!(&answer, b"8jKS'y:G*Co,Wxa-");
        let accept = Accept::new().protocol("sample");
        assert_eq!(
            String::from_utf8_lossy(&response_101(&request, &accept, false, &answer)),
            String::from_utf8_lossy(DRAFT_RESPONSE)
        );
    }

    #[test]
    fn every_split_point_gives_the_same_handshake() {
        let (whole, _) = parse(DRAFT_REQUEST);
        for cut in 0..DRAFT_REQUEST.len() {
            let mut s = HeadScanner::new(limits());
            let head_len = match s.scan(&DRAFT_REQUEST[..cut]).unwrap() {
                Status::Complete(n) => n,
                Status::Partial => {
                    let Status::Complete(n) = s.scan(DRAFT_REQUEST).unwrap() else {
                        panic!("cut {cut}: partial")
                    };
                    n
                }
            };
            let request = Request::parse(&DRAFT_REQUEST[..head_len], &s).unwrap();
            assert_eq!(request, whole, "cut {cut}");
            // Key3 is Partial until its last byte is there.
            let arrived = &DRAFT_REQUEST[head_len..cut.max(head_len)];
            match key3(arrived) {
                Status::Partial => assert!(cut < DRAFT_REQUEST.len(), "cut {cut}"),
                Status::Complete((k, 8)) => assert_eq!(&k, b"^n:ds[4U"),
                other => panic!("cut {cut}: {other:?}"),
            }
            let Status::Complete((k, _)) = key3(&DRAFT_REQUEST[head_len..]) else {
                panic!()
            };
            assert_eq!(validate(&request).unwrap().answer(&k), *b"8jKS'y:G*Co,Wxa-");
        }
    }

    #[test]
    fn key3_leaves_what_follows_it() {
        let mut wire = b"12345678".to_vec();
        wire.extend_from_slice(b"\x00hi\xff");
        let Status::Complete((k, used)) = key3(&wire) else {
            panic!()
        };
        assert_eq!((&k, &wire[used..]), (b"12345678", &b"\x00hi\xff"[..]));
        assert_eq!(key3(b"1234567"), Status::Partial);
    }

    #[test]
    fn keys_follow_the_draft_arithmetic() {
        assert_eq!(key_number("12998 5 Y3 1  .P00"), Ok(259970620));
        // Digits are read across the noise; spaces count wherever they are.
        assert_eq!(key_number("1 2"), Ok(12));
        assert_eq!(key_number("4294967295 "), Ok(u32::MAX));
        assert_eq!(key_number("0 "), Ok(0));
    }

    #[test]
    fn keys_that_no_client_sends_are_refused() {
        assert_eq!(key_number("12345"), Err(KeyError::NoSpaces));
        assert_eq!(key_number("a b"), Err(KeyError::NoDigits));
        assert_eq!(key_number("1 2 3"), Err(KeyError::NotAMultiple));
        assert_eq!(key_number("4294967296 "), Err(KeyError::TooLarge));
        // A flood of digits stops at the eleventh.
        assert_eq!(key_number(&"9".repeat(100_000)), Err(KeyError::TooLarge));
    }

    #[test]
    fn bad_requests_are_400_or_405() {
        for (from, to) in [
            ("GET /demo HTTP/1.1", "GET /demo HTTP/1.0"),
            ("GET /demo", "GET demo"),
            ("Host: example.com\r\n", ""),
            ("Upgrade: WebSocket", "Upgrade: h2c"),
            ("Connection: Upgrade", "Connection: keep-alive"),
            ("Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\n", ""),
            ("4 @1  46546xW%0l 1 5", "4@146546xW%0l15"),
            ("4 @1  46546xW%0l 1 5", "4 @1  46546xW%0l 1 6"),
            ("12998 5 Y3 1  .P00", "99999999999 "),
            ("Origin", "Sec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\nOrigin"),
        ] {
            assert_eq!(status_of(&replace(from, to)), 400, "{from:?} -> {to:?}");
        }
        assert_eq!(status_of(&replace("GET", "POST")), 405);
    }

    #[test]
    fn only_requests_without_a_version_are_hixie76() {
        assert!(
            parse(&replace("Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\n", ""))
                .0
                .is_hixie76()
        );
        assert!(
            !parse(&replace("Origin", "Sec-WebSocket-Version: 13\r\nOrigin"))
                .0
                .is_hixie76()
        );
        let rfc = b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        assert!(!parse(rfc).0.is_hixie76());
        // Without the option a server answers it 426, as before.
        assert_eq!(
            parse(DRAFT_REQUEST).0.validate().unwrap_err().status(),
            Some(426)
        );
    }

    #[test]
    fn location_follows_the_scheme_host_and_resource() {
        let wire = replace("GET /demo", "GET /chat?room=1");
        let wire = String::from_utf8(wire)
            .unwrap()
            .replace("Origin: http://example.com\r\n", "");
        let (request, _) = parse(wire.as_bytes());
        let text = String::from_utf8_lossy(&response_101(&request, &Accept::new(), true, &[0; 16]))
            .into_owned();
        assert!(text.contains("\r\nSec-WebSocket-Location: wss://example.com/chat?room=1\r\n"));
        assert!(!text.contains("Origin"), "{text}");
        assert!(!text.contains("Sec-WebSocket-Protocol"), "{text}");
        assert!(text.ends_with("\r\n\r\n\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"));
    }
}
