//! Helpers for loopback tests: servers on port 0, raw clients that speak
//! bytes, and a deadline on every wait.
#![allow(dead_code)]

pub mod hixie76;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::Receiver;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use stdws::{Config, Connection, Listener, WebSocket};

/// Every blocking read in a test gives up after this long.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// How long a test waits for a handler's event.
pub const EVENT_WAIT: Duration = Duration::from_secs(10);

/// The next event on `rx` that matches, within [`EVENT_WAIT`]; those
/// before it are dropped.
pub fn expect<T>(rx: &Receiver<T>, what: impl Fn(&T) -> bool) -> T {
    let deadline = Instant::now() + EVENT_WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(seen) if what(&seen) => return seen,
            Ok(_) => {}
            Err(e) => panic!("no matching event: {e}"),
        }
    }
}

/// A server accepting one connection on 127.0.0.1:0, running `f` on it.
pub fn serve_one<T, F>(config: Config, f: F) -> (SocketAddr, JoinHandle<T>)
where
    F: FnOnce(Result<WebSocket<TcpStream>, stdws::Error>) -> T + Send + 'static,
    T: Send + 'static,
{
    let listener = Listener::bind("127.0.0.1:0").unwrap().with_config(config);
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || f(listener.accept()));
    (addr, handle)
}

/// How an echo server's connection ended: the connection and its error.
pub type EchoEnd = (Connection<TcpStream>, Option<stdws::Error>);

/// A server that echoes messages on one connection until it closes, then
/// returns the connection (to inspect how it ended).
pub fn echo_server(config: Config) -> (SocketAddr, JoinHandle<EchoEnd>) {
    serve_one(config, |ws| {
        let mut conn = Connection::new(ws.unwrap());
        loop {
            match conn.recv() {
                Ok(Some(m)) => {
                    if let Err(e) = conn.send(m) {
                        return (conn, Some(e));
                    }
                }
                Ok(None) => return (conn, None),
                Err(e) => return (conn, Some(e)),
            }
        }
    })
}

/// A plain TCP listener for hand-written servers.
pub fn raw_listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

/// The RFC 6455 §1.2 client request for `path` on `addr`.
pub fn upgrade_request(addr: SocketAddr, path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// Connects raw TCP, sends `request`, returns the stream and the response head.
pub fn raw_handshake(addr: SocketAddr, request: &str) -> (TcpStream, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let head = read_head(&mut s);
    (s, head)
}

/// A hand-written server for one connection: it reads the upgrade request,
/// writes `reply(key)` (see [`ok_101`]), then runs `then` on the stream.
pub fn fake_server<T: Send + 'static>(
    reply: impl FnOnce(&str) -> Vec<u8> + Send + 'static,
    then: impl FnOnce(TcpStream) -> T + Send + 'static,
) -> (SocketAddr, JoinHandle<T>) {
    let (l, addr) = raw_listener();
    let handle = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        let head = read_head(&mut s);
        let key = head
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap_or("")
            .trim()
            .to_owned();
        let _ = s.write_all(&reply(&key));
        then(s)
    });
    (addr, handle)
}

/// A valid 101 answer to `key`, with `extra` header lines.
pub fn ok_101(key: &str, extra: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{extra}\r\n",
        stdws::handshake::accept_key(key)
    )
    .into_bytes()
}

/// Reads up to the end of an HTTP head, byte by byte (never past it).
pub fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Reads everything until the peer closes (or PATIENCE passes).
pub fn read_to_end(s: &mut TcpStream) -> Vec<u8> {
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// Masks a client frame: header bytes (without mask bit/key) plus payload.
pub fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    let key = [0x11, 0x22, 0x33, 0x44];
    let mut out = vec![first];
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | n as u8),
        n @ 126..=0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

/// The close code in the first server frame of `bytes` (an unmasked close frame).
pub fn close_code_of(bytes: &[u8]) -> Option<u16> {
    let mut i = 0;
    while i + 2 <= bytes.len() {
        let op = bytes[i] & 0x0F;
        let len = (bytes[i + 1] & 0x7F) as usize;
        let (hdr, len) = match len {
            126 => (4, u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize),
            127 => (
                10,
                u64::from_be_bytes(bytes[i + 2..i + 10].try_into().ok()?) as usize,
            ),
            n => (2, n),
        };
        if op == 0x8 {
            let p = bytes.get(i + hdr..i + hdr + len)?;
            return (p.len() >= 2).then(|| u16::from_be_bytes([p[0], p[1]]));
        }
        i += hdr + len;
    }
    None
}
