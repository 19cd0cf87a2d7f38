//! A small blocking HTTP/1.1 server for the control API: a thread per
//! connection (capped), keep-alive, bounded heads and bodies.
//!
//! The head is found with the library's own [`HeadScanner`] and parsed by
//! httparse (through [`Request::parse`]), as the WebSocket handshake is:
//! one parser, one set of limits, for both. Bodies need `Content-Length`
//! (the control API's clients send whole bodies); a body over the limit is
//! answered 413 without being read, and the connection closed.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::frame::Status;
use crate::handshake::server::status_text;
use crate::handshake::{HeadLimits, HeadScanner, Headers};
use crate::server::wake_addr;
use crate::Request;

/// Caps of the server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) head: HeadLimits,
    pub(crate) max_body: usize,
    pub(crate) max_connections: usize,
    /// How long a kept-alive connection may sit idle, and how long one
    /// request may take to arrive.
    pub(crate) idle: Duration,
}

/// A request as a handler sees it.
#[derive(Debug)]
pub(crate) struct HttpRequest {
    pub(crate) method: String,
    /// The path, still percent-encoded.
    pub(crate) path: String,
    pub(crate) query: Option<String>,
    pub(crate) headers: Headers,
    pub(crate) body: Vec<u8>,
}

/// A handler's answer.
#[derive(Debug)]
pub(crate) struct HttpResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
}

impl HttpResponse {
    /// A JSON answer.
    pub(crate) fn json(status: u16, value: &serde_json::Value) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![("Content-Type", "application/json".into())],
            body: value.to_string().into_bytes(),
        }
    }

    /// A JSON `{"error": why}`.
    pub(crate) fn error(status: u16, why: &str) -> HttpResponse {
        HttpResponse::json(status, &serde_json::json!({ "error": why }))
    }

    fn to_bytes(&self, close: bool) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, status_text(self.status));
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        if close {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

type Handle = dyn Fn(&HttpRequest) -> HttpResponse + Send + Sync;

/// A running server; dropping it stops it.
pub(crate) struct HttpServer {
    shared: Arc<ServerShared>,
    accept: Option<JoinHandle<()>>,
    local_addr: SocketAddr,
}

struct ServerShared {
    stopping: AtomicBool,
    /// Each connection's socket, to cut it off at shutdown.
    open: Mutex<HashMap<u64, TcpStream>>,
    changed: Condvar,
    next: AtomicU64,
    limits: Limits,
    handle: Box<Handle>,
}

impl ServerShared {
    fn open(&self) -> MutexGuard<'_, HashMap<u64, TcpStream>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl HttpServer {
    pub(crate) fn start(
        listener: TcpListener,
        limits: Limits,
        handle: Box<Handle>,
    ) -> io::Result<HttpServer> {
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(ServerShared {
            stopping: AtomicBool::new(false),
            open: Mutex::new(HashMap::new()),
            changed: Condvar::new(),
            next: AtomicU64::new(0),
            limits,
            handle,
        });
        let accepting = Arc::clone(&shared);
        let accept = thread::Builder::new()
            .name("stdws-control".into())
            .spawn(move || accept_loop(&accepting, &listener))?;
        Ok(HttpServer {
            shared,
            accept: Some(accept),
            local_addr,
        })
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, cuts off every connection and waits (a moment)
    /// for their threads.
    pub(crate) fn shutdown(&mut self) {
        let Some(accept) = self.accept.take() else {
            return;
        };
        self.shared.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&wake_addr(self.local_addr), Duration::from_secs(1));
        let _ = accept.join();
        let mut open = self.shared.open();
        for stream in open.values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while !open.is_empty() {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break;
            };
            open = self
                .shared
                .changed
                .wait_timeout(open, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn accept_loop(shared: &Arc<ServerShared>, listener: &TcpListener) {
    loop {
        let accepted = listener.accept();
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok((stream, _)) = accepted else {
            // Out of descriptors: a connection ending frees one.
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        let mut open = shared.open();
        if open.len() >= shared.limits.max_connections {
            drop(open);
            let busy = HttpResponse::error(503, "too many control connections");
            let mut stream = stream;
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = stream.write_all(&busy.to_bytes(true));
            continue;
        }
        let id = shared.next.fetch_add(1, Ordering::Relaxed);
        let Ok(clone) = stream.try_clone() else {
            continue;
        };
        open.insert(id, clone);
        drop(open);
        let serving = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name(format!("stdws-control-{id}"))
            .stack_size(128 << 10)
            .spawn(move || {
                serve(&serving, stream);
                serving.open().remove(&id);
                serving.changed.notify_all();
            });
        if spawned.is_err() {
            shared.open().remove(&id);
        }
    }
}

/// Serves one connection's requests until it closes, errs or idles out.
fn serve(shared: &ServerShared, mut stream: TcpStream) {
    let limits = shared.limits;
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(limits.idle));
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    loop {
        let (request, close) = match read_request(&mut stream, &mut buf, &limits) {
            Ok(Some(read)) => read,
            Ok(None) => return,
            Err(refusal) => {
                let _ = stream.write_all(&refusal.to_bytes(true));
                let _ = stream.shutdown(Shutdown::Write);
                linger(&mut stream);
                return;
            }
        };
        let response = (shared.handle)(&request);
        let close = close || shared.stopping.load(Ordering::SeqCst);
        if stream.write_all(&response.to_bytes(close)).is_err() || close {
            return;
        }
    }
}

/// Most bytes and time spent reading what a refused client still sends.
const LINGER_BYTES: usize = 64 << 20;
const LINGER_TIME: Duration = Duration::from_secs(2);

/// Reads and drops what the client still sends after a refusal, for a
/// moment: closing with unread bytes would reset the connection, and the
/// client (still sending a body over the limit) would lose the answer.
fn linger(stream: &mut TcpStream) {
    let deadline = Instant::now() + LINGER_TIME;
    let mut chunk = [0u8; 8192];
    let mut dropped = 0;
    while dropped < LINGER_BYTES {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => dropped += n,
        }
    }
}

/// Reads one request: `Ok(None)` when the peer closed (or idled out)
/// between requests; `Err` with the answer to a bad one.
fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    limits: &Limits,
) -> Result<Option<(HttpRequest, bool)>, HttpResponse> {
    let mut scanner = HeadScanner::new(limits.head);
    let deadline = Instant::now() + limits.idle;
    let head_len = loop {
        match scanner.scan(buf) {
            Ok(Status::Complete(n)) => break n,
            Ok(Status::Partial) => {}
            Err(e) => return Err(HttpResponse::error(431, e.describe())),
        }
        match fill(stream, buf, deadline) {
            Ok(0) | Err(_) if buf.is_empty() => return Ok(None),
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(_) => return Err(HttpResponse::error(408, "request timeout")),
        }
    };
    let parsed = Request::parse(&buf[..head_len], &scanner)
        .map_err(|e| HttpResponse::error(400, &e.to_string()))?;
    if parsed.headers.get("Transfer-Encoding").is_some() {
        return Err(HttpResponse::error(411, "send a Content-Length"));
    }
    let length = match parsed.headers.get("Content-Length") {
        None => 0,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| HttpResponse::error(400, "bad Content-Length"))?,
    };
    if length > limits.max_body {
        return Err(HttpResponse::error(
            413,
            &format!("body over {} bytes", limits.max_body),
        ));
    }
    while buf.len() < head_len + length {
        match fill(stream, buf, deadline) {
            Ok(n) if n > 0 => {}
            _ => return Err(HttpResponse::error(408, "incomplete body")),
        }
    }
    let body = buf[head_len..head_len + length].to_vec();
    buf.drain(..head_len + length);
    // HTTP/1.1 keeps the connection unless told otherwise; 1.0 closes
    // unless asked to keep it (RFC 9112 §9.3).
    let close = if parsed.minor_version == 0 {
        !parsed.headers.has_token("Connection", "keep-alive")
    } else {
        parsed.headers.has_token("Connection", "close")
    };
    let path = parsed.path().to_owned();
    let query = parsed.query().map(str::to_owned);
    Ok(Some((
        HttpRequest {
            method: parsed.method,
            path,
            query,
            headers: parsed.headers,
            body,
        },
        close,
    )))
}

/// Reads more bytes into `buf` before `deadline`.
fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>, deadline: Instant) -> io::Result<usize> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::ErrorKind::TimedOut.into());
    }
    stream.set_read_timeout(Some(left))?;
    let mut chunk = [0u8; 8192];
    let n = stream.read(&mut chunk)?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// Decodes `%XX` (and, in a query, `+` as space). Invalid escapes stay as
/// they are; bytes that are not UTF-8 are replaced.
pub(crate) fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let hex = |c: u8| (c as char).to_digit(16);
        match b {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b),
            },
            b'+' if plus_is_space => out.push(b' '),
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `name=value` pairs of a query, decoded, in order.
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(n, true), percent_decode(v, true))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_and_plus_decoded() {
        assert_eq!(
            query_pairs(Some("id=a&id=b%2Fc&reason=bye+now%21&x")),
            [
                ("id".into(), "a".into()),
                ("id".into(), "b/c".into()),
                ("reason".into(), "bye now!".into()),
                ("x".into(), String::new())
            ]
        );
        assert_eq!(percent_decode("a+b%2", false), "a+b%2");
        assert_eq!(percent_decode("%e2%82%ac", false), "€");
    }
}
