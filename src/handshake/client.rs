//! The client side of the opening handshake (RFC 6455 §4.1), sans I/O.
//!
//! [`new_key`] makes a fresh nonce, [`build_request`] the request bytes,
//! [`Response::parse`] reads the server's head and [`Response::validate`]
//! applies the client's checks of §4.1 (status 101, `Upgrade`,
//! `Connection`, `Sec-WebSocket-Accept`, and a subprotocol we offered).

use base64::Engine as _;

use super::server::push_header;
use super::{HeadScanner, Headers};
use crate::error::{HandshakeError, ResponseError};
use crate::extension::{parse_extensions, ExtensionOffer};

/// A fresh `Sec-WebSocket-Key`: 16 random bytes in base64 (§4.1 item 7).
pub fn new_key() -> String {
    let mut nonce = [0u8; 16];
    for chunk in nonce.chunks_mut(4) {
        chunk.copy_from_slice(&crate::mask::random_mask_key());
    }
    base64::engine::general_purpose::STANDARD.encode(nonce)
}

/// What goes into a client's upgrade request besides the fixed fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestParts<'a> {
    /// The `Host` value (`host` or `host:port`).
    pub host: &'a str,
    /// The resource: path and query, starting with `/`.
    pub resource: &'a str,
    /// The `Sec-WebSocket-Key`.
    pub key: &'a str,
    /// The `Origin`, if any.
    pub origin: Option<&'a str>,
    /// Subprotocols to offer, most preferred first.
    pub protocols: &'a [String],
    /// The `Sec-WebSocket-Extensions` value, if any.
    pub extensions: Option<&'a str>,
    /// More header fields.
    pub headers: &'a [(String, String)],
}

/// The request bytes (§4.1). Fields that could inject lines are dropped.
pub fn build_request(parts: &RequestParts<'_>) -> Vec<u8> {
    let mut out = String::with_capacity(256);
    out.push_str("GET ");
    out.push_str(parts.resource);
    out.push_str(" HTTP/1.1\r\n");
    push_header(&mut out, "Host", parts.host);
    out.push_str("Upgrade: websocket\r\nConnection: Upgrade\r\n");
    push_header(&mut out, "Sec-WebSocket-Key", parts.key);
    out.push_str("Sec-WebSocket-Version: 13\r\n");
    if let Some(origin) = parts.origin {
        push_header(&mut out, "Origin", origin);
    }
    if !parts.protocols.is_empty() {
        push_header(
            &mut out,
            "Sec-WebSocket-Protocol",
            &parts.protocols.join(", "),
        );
    }
    if let Some(ext) = parts.extensions {
        push_header(&mut out, "Sec-WebSocket-Extensions", ext);
    }
    for (name, value) in parts.headers {
        push_header(&mut out, name, value);
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// A parsed HTTP response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// The header fields.
    pub headers: Headers,
}

/// What a valid 101 response agreed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Agreed {
    /// The subprotocol the server chose, if any.
    pub protocol: Option<String>,
    /// The extensions the server accepted, in order.
    pub extensions: Vec<ExtensionOffer>,
}

impl Response {
    /// Parses a complete head found by the scanner.
    pub fn parse(head: &[u8], scanner: &HeadScanner) -> Result<Response, HandshakeError> {
        let mut raw = vec![httparse::EMPTY_HEADER; scanner.header_count()];
        let mut resp = httparse::Response::new(&mut raw);
        match resp.parse(head) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) => {
                return Err(malformed("incomplete response head".into()))
            }
            Err(e) => return Err(malformed(format!("malformed response: {e}"))),
        }
        Ok(Response {
            status: resp.code.unwrap_or(0),
            reason: resp.reason.unwrap_or_default().to_owned(),
            headers: Headers::from_httparse(resp.headers),
        })
    }

    /// The client's checks of §4.1: status 101 (any other status is
    /// [`HandshakeError::UnexpectedStatus`]), `Upgrade: websocket`,
    /// `Connection: Upgrade`, the accept key for `key`, at most one
    /// subprotocol and only one of `offered`, a well-formed extension list.
    pub fn validate(&self, key: &str, offered: &[String]) -> Result<Agreed, HandshakeError> {
        if self.status != 101 {
            return Err(HandshakeError::UnexpectedStatus {
                status: self.status,
                reason: self.reason.clone(),
                headers: self
                    .headers
                    .iter()
                    .map(|(n, v)| (n.to_owned(), v.to_owned()))
                    .collect(),
            });
        }
        if !self.headers.has_token("Upgrade", "websocket") {
            return Err(invalid(ResponseError::NoUpgrade));
        }
        if !self.headers.has_token("Connection", "Upgrade") {
            return Err(invalid(ResponseError::NoConnectionUpgrade));
        }
        if self.headers.count("Sec-WebSocket-Accept") != 1
            || self.headers.get("Sec-WebSocket-Accept") != Some(super::accept_key(key).as_str())
        {
            return Err(invalid(ResponseError::WrongAccept));
        }
        let chosen: Vec<&str> = self.headers.list("Sec-WebSocket-Protocol").collect();
        let protocol = match chosen.as_slice() {
            [] => None,
            [one] if offered.iter().any(|p| p == one) => Some((*one).to_owned()),
            [one] => {
                return Err(invalid(ResponseError::Subprotocol(format!(
                    "server chose subprotocol {one:?}, which was not offered"
                ))))
            }
            _ => {
                return Err(invalid(ResponseError::Subprotocol(
                    "server chose more than one subprotocol".into(),
                )))
            }
        };
        let extensions = match self.headers.joined("Sec-WebSocket-Extensions") {
            Some(v) => parse_extensions(&v).map_err(|e| {
                invalid(ResponseError::Extension(format!(
                    "malformed Sec-WebSocket-Extensions: {e}"
                )))
            })?,
            None => Vec::new(),
        };
        Ok(Agreed {
            protocol,
            extensions,
        })
    }
}

fn invalid(why: ResponseError) -> HandshakeError {
    HandshakeError::InvalidResponse(why)
}

fn malformed(why: String) -> HandshakeError {
    invalid(ResponseError::Malformed(why))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Status;
    use crate::handshake::HeadLimits;

    const RFC_RESPONSE: &str = "HTTP/1.1 101 Switching Protocols\r\n\
        Upgrade: websocket\r\n\
        Connection: Upgrade\r\n\
        Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
        Sec-WebSocket-Protocol: chat\r\n\r\n";
    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn parse(text: &str) -> Response {
        let mut s = HeadScanner::new(HeadLimits {
            max_bytes: 4096,
            max_line: 1024,
            max_headers: 16,
        });
        let Status::Complete(n) = s.scan(text.as_bytes()).unwrap() else {
            panic!("partial")
        };
        Response::parse(&text.as_bytes()[..n], &s).unwrap()
    }

    fn offered() -> Vec<String> {
        vec!["chat".into(), "superchat".into()]
    }

    #[test]
    fn request_bytes_match_rfc_example() {
        let protocols = offered();
        let parts = RequestParts {
            host: "server.example.com",
            resource: "/chat",
            key: KEY,
            origin: Some("http://example.com"),
            protocols: &protocols,
            ..RequestParts::default()
        };
        assert_eq!(
            String::from_utf8(build_request(&parts)).unwrap(),
            "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n"
        );
    }

    #[test]
    fn keys_are_16_random_bytes() {
        let a = new_key();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&a)
            .unwrap();
        assert_eq!(decoded.len(), 16);
        assert_ne!(a, new_key());
    }

    #[test]
    fn every_split_point_of_the_response_parses_the_same() {
        let wire = [RFC_RESPONSE.as_bytes(), b"\x81\x02hi"].concat();
        let whole = parse(RFC_RESPONSE);
        for cut in 0..RFC_RESPONSE.len() {
            let mut s = HeadScanner::new(HeadLimits {
                max_bytes: 4096,
                max_line: 1024,
                max_headers: 16,
            });
            assert_eq!(s.scan(&wire[..cut]).unwrap(), Status::Partial, "cut {cut}");
            let Status::Complete(n) = s.scan(&wire).unwrap() else {
                panic!()
            };
            assert_eq!(
                n,
                RFC_RESPONSE.len(),
                "the frame behind the head is not part of it"
            );
            assert_eq!(Response::parse(&wire[..n], &s).unwrap(), whole);
        }
    }

    #[test]
    fn rfc_response_is_accepted() {
        let agreed = parse(RFC_RESPONSE).validate(KEY, &offered()).unwrap();
        assert_eq!(agreed.protocol.as_deref(), Some("chat"));
    }

    #[test]
    fn each_check_fails_on_its_own() {
        for (from, to) in [
            ("Upgrade: websocket\r\n", ""),
            ("Connection: Upgrade\r\n", "Connection: close\r\n"),
            (
                "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            ),
            ("Protocol: chat", "Protocol: other"),
            ("Protocol: chat", "Protocol: chat, superchat"),
        ] {
            let err = parse(&RFC_RESPONSE.replace(from, to))
                .validate(KEY, &offered())
                .unwrap_err();
            assert!(
                matches!(err, HandshakeError::InvalidResponse(_)),
                "{from:?}: {err:?}"
            );
        }
    }

    #[test]
    fn non_101_is_unexpected_status() {
        let resp = parse("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(resp.validate(KEY, &[]).unwrap_err().status(), Some(403));
    }

    #[test]
    fn no_subprotocol_chosen_is_fine() {
        let agreed = parse(&RFC_RESPONSE.replace("Sec-WebSocket-Protocol: chat\r\n", ""))
            .validate(KEY, &offered());
        assert_eq!(agreed.unwrap().protocol, None);
    }
}
