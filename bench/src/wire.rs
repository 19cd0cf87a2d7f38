//! What the load generator sends and expects back, built once per payload
//! size: a masked client frame and the unmasked echo (RFC 6455 §5.2), or
//! the bare payload for the raw TCP echo. The opening handshake is done
//! here too, by hand, so no WebSocket library sits on the client side.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How the generator talks to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// WebSocket text frames after an opening handshake.
    WebSocket,
    /// The payload bytes alone, no handshake, no framing.
    Raw,
}

/// One message in both directions, as bytes on the wire.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// What the client writes.
    pub request: Vec<u8>,
    /// What the server must answer, byte for byte.
    pub expected: Vec<u8>,
    /// Payload bytes per message (one way).
    pub payload_len: usize,
}

/// The fixed key of the handshake request and the accept value RFC 6455
/// §1.3 derives from it.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// The text every benchmark message carries: chat-like JSON, mostly ASCII
/// with a few two- and three-byte characters (8% of the bytes).
pub const TEXT: &str = "{\"from\":\"zoë\",\"room\":\"général\",\"text\":\"The quick brown fox jumps over the lazy dog — again\",\"seq\":1234567}\n";

/// Text of dense multi-byte characters (Greek, CJK): the slow case for a
/// validator, used by the micro-benchmarks only.
pub const DENSE: &str = "κόσμε 日本語のテキスト Ελληνικά ";

/// Valid UTF-8 of exactly `len` bytes, `pattern` repeated (and padded with
/// ASCII where a character would not fit).
pub fn repeat_text(pattern: &str, len: usize) -> Vec<u8> {
    let mut out = String::with_capacity(len);
    'fill: loop {
        for c in pattern.chars() {
            if out.len() + c.len_utf8() > len {
                break 'fill;
            }
            out.push(c);
        }
    }
    while out.len() < len {
        out.push('.');
    }
    out.into_bytes()
}

/// The payload of a benchmark message of `len` bytes.
pub fn text_payload(len: usize) -> Vec<u8> {
    repeat_text(TEXT, len)
}

/// The header of an unmasked (server) or masked (client) final frame with
/// this opcode (0x1 text, 0x2 binary).
fn frame_header(opcode: u8, len: usize, mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut h = vec![0x80 | opcode];
    let bit = if mask.is_some() { 0x80 } else { 0 };
    if len < 126 {
        h.push(bit | len as u8);
    } else if len <= 0xFFFF {
        h.push(bit | 126);
        h.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        h.push(bit | 127);
        h.extend_from_slice(&(len as u64).to_be_bytes());
    }
    if let Some(key) = mask {
        h.extend_from_slice(&key);
    }
    h
}

impl Exchange {
    /// The bytes for one message of `len` payload bytes, sent as a text
    /// frame, or as a binary frame with `binary`.
    pub fn new(protocol: Protocol, len: usize, binary: bool) -> Exchange {
        let opcode = if binary { 0x2 } else { 0x1 };
        let payload = text_payload(len);
        match protocol {
            Protocol::Raw => Exchange {
                request: payload.clone(),
                expected: payload,
                payload_len: len,
            },
            Protocol::WebSocket => {
                let key = [0x5a, 0x13, 0xc7, 0x2e];
                let mut request = frame_header(opcode, len, Some(key));
                request.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
                let mut expected = frame_header(opcode, len, None);
                expected.extend_from_slice(&payload);
                Exchange {
                    request,
                    expected,
                    payload_len: len,
                }
            }
        }
    }
}

/// Connects (with `TCP_NODELAY`) and, for WebSocket, performs the client
/// handshake, checking the status and `Sec-WebSocket-Accept`.
pub fn connect(addr: SocketAddr, protocol: Protocol) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    if protocol == Protocol::WebSocket {
        let request = format!(
            "GET /echo HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes())?;
        let mut head = Vec::with_capacity(256);
        let mut chunk = [0u8; 512];
        // The server sends nothing after its 101 until we send a frame, so
        // reading past the head cannot happen.
        while !head.ends_with(b"\r\n\r\n") {
            let n = stream.read(&mut chunk)?;
            if n == 0 || head.len() > 4096 {
                return Err(io::Error::other("handshake: connection closed"));
            }
            head.extend_from_slice(&chunk[..n]);
        }
        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
        if !head.starts_with("http/1.1 101") || !head.contains(&ACCEPT.to_ascii_lowercase()) {
            return Err(io::Error::other(format!("handshake refused: {head:?}")));
        }
    }
    Ok(stream)
}

/// One blocking round trip on a connected stream: the echo must match.
pub fn echo_once(stream: &mut TcpStream, exchange: &Exchange) -> io::Result<()> {
    stream.write_all(&exchange.request)?;
    let mut got = vec![0u8; exchange.expected.len()];
    stream.read_exact(&mut got)?;
    if got != exchange.expected {
        return Err(io::Error::other("echo differs from what was sent"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_payload_has_exact_length_and_is_utf8() {
        for len in [0, 1, 63, 64, 125, 126, 4096, 65536, 100_003] {
            for p in [text_payload(len), repeat_text(DENSE, len)] {
                assert_eq!(p.len(), len);
                assert!(std::str::from_utf8(&p).is_ok());
            }
        }
    }

    #[test]
    fn frames_use_the_rfc_length_forms() {
        assert_eq!(frame_header(1, 64, None), [0x81, 64]);
        assert_eq!(frame_header(2, 4096, None), [0x82, 126, 0x10, 0x00]);
        assert_eq!(
            frame_header(1, 1 << 20, Some([1, 2, 3, 4])),
            [0x81, 0xff, 0, 0, 0, 0, 0, 0x10, 0, 0, 1, 2, 3, 4]
        );
        let e = Exchange::new(Protocol::WebSocket, 64, false);
        let mut unmasked = e.request[6..].to_vec();
        stdws::frame::apply_mask(&mut unmasked, [0x5a, 0x13, 0xc7, 0x2e]);
        assert_eq!(unmasked, e.expected[2..]);
    }
}
