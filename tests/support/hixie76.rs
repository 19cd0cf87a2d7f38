//! A hand-written hixie-76 client for tests: the draft's own keys, so the
//! expected challenge response is the draft's too.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::{read_head, PATIENCE};

/// Key3 of draft §1.3.
pub const KEY3: &[u8; 8] = b"^n:ds[4U";

/// The answer to the draft's keys (draft §1.3).
pub const ANSWER: &[u8; 16] = b"8jKS'y:G*Co,Wxa-";

/// A hixie-76 request head for `path` on `host`, with the draft's keys
/// and `extra` header lines (each ending in CRLF); key3 not included.
pub fn request(host: &str, path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\nUpgrade: WebSocket\r\n\
         Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\n{extra}\r\n"
    )
}

/// Connects, sends the request and key3, reads the head; for a 101 also
/// the 16-byte answer, which must be the draft's.
pub fn connect(addr: SocketAddr, path: &str, extra: &str) -> (TcpStream, String) {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut wire = request(&addr.to_string(), path, extra).into_bytes();
    wire.extend_from_slice(KEY3);
    tcp.write_all(&wire).unwrap();
    let head = read_head(&mut tcp);
    if head.starts_with("HTTP/1.1 101 ") {
        let mut answer = [0u8; 16];
        tcp.read_exact(&mut answer).unwrap();
        assert_eq!(&answer, ANSWER, "challenge response");
    }
    (tcp, head)
}

/// Sends a text message.
pub fn send_text(tcp: &mut TcpStream, text: &str) {
    let mut frame = vec![0x00];
    frame.extend_from_slice(text.as_bytes());
    frame.push(0xFF);
    tcp.write_all(&frame).unwrap();
}

/// What the server sent next: a text message, or `None` for its closing
/// frame. Panics on anything else, or after [`PATIENCE`].
pub fn recv(tcp: &mut TcpStream) -> Option<String> {
    let deadline = Instant::now() + PATIENCE;
    let mut kind = [0u8; 1];
    read_before(tcp, &mut kind, deadline);
    match kind[0] {
        0x00 => {
            let mut text = Vec::new();
            let mut b = [0u8; 1];
            loop {
                read_before(tcp, &mut b, deadline);
                if b[0] == 0xFF {
                    return Some(String::from_utf8(text).expect("UTF-8 from the server"));
                }
                text.push(b[0]);
            }
        }
        0xFF => {
            read_before(tcp, &mut kind, deadline);
            assert_eq!(kind[0], 0x00, "closing frame");
            None
        }
        other => panic!("frame type {other:#04x} from the server"),
    }
}

fn read_before(tcp: &mut TcpStream, buf: &mut [u8], deadline: Instant) {
    let left = deadline.saturating_duration_since(Instant::now());
    tcp.set_read_timeout(Some(left.max(Duration::from_millis(1))))
        .unwrap();
    tcp.read_exact(buf).expect("a frame from the server");
}
