//! HTTP CONNECT (RFC 9110 §9.3.6), sans I/O: the request bytes, and the
//! proxy's reply head read into an answer.
//!
//! The request names the server as the URL wrote it (`CONNECT
//! localhost:9001`), never an address the client resolved: the proxy
//! resolves the name, and may apply its rules to it. The reply head is
//! found with [`HeadScanner`] under the
//! same caps as any response head, so a proxy that sends an endless head
//! is cut off like a server would be.

use base64::Engine as _;

use crate::error::ProxyError;
use crate::handshake::client::Response;
use crate::handshake::HeadScanner;

/// The CONNECT request for `host:port` (authority-form, RFC 9110 §9.3.6;
/// `Host` carries the same authority, RFC 9112 §3.2), with a
/// `Proxy-Authorization` value when one is given.
///
/// ```
/// let req = stdws::proxy::http_connect::request("localhost", 9001, None);
/// assert_eq!(req, b"CONNECT localhost:9001 HTTP/1.1\r\nHost: localhost:9001\r\n\r\n");
/// ```
pub fn request(host: &str, port: u16, authorization: Option<&str>) -> Vec<u8> {
    let target = super::authority(host, port);
    let mut out = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(value) = authorization {
        out.push_str("Proxy-Authorization: ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// A Basic credential (RFC 7617 §2): `Basic base64(user:password)`.
pub fn basic(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

/// Reads a complete reply head (found by `scanner`): `Ok` for any 2xx, which
/// opens the tunnel (RFC 9110 §9.3.6); [`ProxyError::Refused`] with the
/// status, the reason and the schemes of `Proxy-Authenticate` for
/// anything else; [`ProxyError::InvalidReply`] for a head that is not HTTP.
pub fn parse_reply(head: &[u8], scanner: &HeadScanner) -> Result<(), ProxyError> {
    let response =
        Response::parse(head, scanner).map_err(|e| ProxyError::InvalidReply(e.to_string()))?;
    if (200..300).contains(&response.status) {
        return Ok(());
    }
    // The first token of each challenge field is its scheme (RFC 9110
    // §11.6.1, §11.7.1). Some proxies refuse a wrong password with a 401
    // and `WWW-Authenticate` (tinyproxy): that is the proxy asking too.
    let authenticate = ["Proxy-Authenticate", "WWW-Authenticate"]
        .iter()
        .flat_map(|name| response.headers.get_all(name))
        .filter_map(|v| v.split([' ', ',']).find(|t| !t.is_empty()))
        .map(str::to_owned)
        .collect();
    Err(ProxyError::Refused {
        status: response.status,
        reason: response.reason,
        authenticate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Status;
    use crate::handshake::{HeadError, HeadLimits};

    const LIMITS: HeadLimits = HeadLimits {
        max_bytes: 1024,
        max_line: 256,
        max_headers: 8,
    };

    /// Feeds `reply` in pieces split at `split`: Partial before the end of
    /// the head, then the answer of the whole.
    fn answer_at(reply: &[u8], split: usize) -> Result<(), ProxyError> {
        let mut scanner = HeadScanner::new(LIMITS);
        if split < reply.len() {
            assert!(
                matches!(scanner.scan(&reply[..split]), Ok(Status::Partial)),
                "split {split}"
            );
        }
        match scanner.scan(reply) {
            Ok(Status::Complete(n)) => parse_reply(&reply[..n], &scanner),
            other => panic!("head not complete: {other:?}"),
        }
    }

    #[test]
    fn the_request_names_the_host_as_written_with_its_port() {
        assert_eq!(
            request("ws.example", 443, Some(&basic("alice", "open sesame"))),
            b"CONNECT ws.example:443 HTTP/1.1\r\nHost: ws.example:443\r\n\
              Proxy-Authorization: Basic YWxpY2U6b3BlbiBzZXNhbWU=\r\n\r\n"
        );
        assert_eq!(
            request("::1", 9001, None),
            b"CONNECT [::1]:9001 HTTP/1.1\r\nHost: [::1]:9001\r\n\r\n"
        );
    }

    #[test]
    fn any_2xx_opens_the_tunnel_at_every_split_point() {
        for reply in [
            &b"HTTP/1.1 200 Connection established\r\n\r\n"[..],
            b"HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n",
            b"HTTP/1.1 204 OK\nVia: x\n\n",
        ] {
            for split in 0..=reply.len() {
                assert_eq!(answer_at(reply, split), Ok(()), "split {split}");
            }
        }
    }

    #[test]
    fn a_407_is_refused_with_the_schemes_asked_for() {
        let reply = b"HTTP/1.1 407 Proxy Authentication Required\r\n\
            Proxy-Authenticate: Basic realm=\"proxy\"\r\n\
            Proxy-Authenticate: Digest realm=\"proxy\", nonce=\"1\"\r\n\
            Content-Length: 0\r\n\r\n";
        for split in 0..=reply.len() {
            assert_eq!(
                answer_at(reply, split),
                Err(ProxyError::Refused {
                    status: 407,
                    reason: "Proxy Authentication Required".into(),
                    authenticate: vec!["Basic".into(), "Digest".into()],
                })
            );
        }
        // tinyproxy's answer to a wrong password.
        let reply = b"HTTP/1.0 401 Unauthorized\r\nServer: tinyproxy/1.11.1\r\n\
            WWW-Authenticate: Basic realm=\"Tinyproxy\"\r\nConnection: close\r\n\r\n";
        assert_eq!(
            answer_at(reply, 0),
            Err(ProxyError::Refused {
                status: 401,
                reason: "Unauthorized".into(),
                authenticate: vec!["Basic".into()],
            })
        );
        let err = answer_at(b"HTTP/1.0 403 Access violation\r\n\r\n", 0).unwrap_err();
        assert_eq!(err.status(), Some(403));
        assert_eq!(
            err.to_string(),
            "proxy refused CONNECT: 403 Access violation"
        );
    }

    #[test]
    fn a_reply_that_is_not_http_is_invalid() {
        let err = answer_at(b"SSH-2.0-OpenSSH\r\n\r\n", 0).unwrap_err();
        assert!(matches!(err, ProxyError::InvalidReply(_)), "{err:?}");
    }

    #[test]
    fn the_reply_head_is_capped() {
        let mut scanner = HeadScanner::new(HeadLimits {
            max_headers: 1000,
            ..LIMITS
        });
        let mut huge = b"HTTP/1.1 200 OK\r\n".to_vec();
        for _ in 0..100 {
            huge.extend_from_slice(b"X-Pad: 0123456789\r\n");
        }
        assert_eq!(scanner.scan(&huge), Err(HeadError::TooLarge));
    }
}
