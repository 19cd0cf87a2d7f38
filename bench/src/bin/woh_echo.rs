//! A WebSocket-over-HTTP echo backend (Pushpin's protocol) for
//! `make bench-gateway`: OPEN is accepted, every TEXT and BINARY event comes
//! back as it was. Thread per connection, HTTP/1.1 keep-alive, std only
//! (the head is found and parsed by stdws's own scanner and parser).
//!
//!     woh_echo PORT

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

use stdws::frame::Status;
use stdws::handshake::{HeadLimits, HeadScanner};
use stdws::Request;

const MEDIA: &str = "application/websocket-events";

fn main() {
    let port = stdws_bench::port_arg();
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind");
    for stream in listener.incoming().flatten() {
        thread::spawn(move || {
            let _ = serve(stream);
        });
    }
}

fn serve(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let limits = HeadLimits {
        max_bytes: 64 << 10,
        max_line: 16 << 10,
        max_headers: 100,
    };
    let mut buf = Vec::with_capacity(8192);
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let mut scanner = HeadScanner::new(limits);
        let head_len = loop {
            if let Ok(Status::Complete(n)) = scanner.scan(&buf) {
                break n;
            }
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let request = Request::parse(&buf[..head_len], &scanner)
            .map_err(|e| io::Error::other(e.to_string()))?;
        let length: usize = request
            .headers
            .get("Content-Length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < head_len + length {
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = echo(&buf[head_len..head_len + length]);
        buf.drain(..head_len + length);
        let mut out = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {MEDIA}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(&body);
        stream.write_all(&out)?;
    }
}

/// The answer's events: OPEN for OPEN, the same TEXT and BINARY events.
fn echo(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    while let Some(end) = body.windows(2).position(|w| w == b"\r\n") {
        let line = &body[..end];
        body = &body[end + 2..];
        let (name, content) = match line.iter().position(|&b| b == b' ') {
            Some(space) => {
                let len = std::str::from_utf8(&line[space + 1..])
                    .ok()
                    .and_then(|h| usize::from_str_radix(h, 16).ok())
                    .unwrap_or(0)
                    .min(body.len());
                let content = &body[..len];
                body = body.get(len + 2..).unwrap_or_default();
                (&line[..space], Some(content))
            }
            None => (line, None),
        };
        match (name, content) {
            (b"OPEN", _) => out.extend_from_slice(b"OPEN\r\n"),
            (b"TEXT" | b"BINARY", Some(content)) => {
                out.extend_from_slice(name);
                out.extend_from_slice(format!(" {:x}\r\n", content.len()).as_bytes());
                out.extend_from_slice(content);
                out.extend_from_slice(b"\r\n");
            }
            _ => {}
        }
    }
    out
}
