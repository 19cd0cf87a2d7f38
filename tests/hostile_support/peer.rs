//! The attacker: a raw TCP peer that writes whatever bytes a case needs
//! and reads the server's answer frame by frame.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use stdws::frame::{parse_header, HeaderRules, Status};
use stdws::{OpCode, Role};

use super::PATIENCE;
use crate::support::{read_head, upgrade_request};

/// A raw connection to the server.
pub struct Peer {
    tcp: TcpStream,
    response: String,
}

impl Peer {
    /// A TCP connection that has sent nothing yet.
    pub fn connect(addr: SocketAddr) -> Peer {
        let tcp = TcpStream::connect(addr).expect("connect to the test server");
        tcp.set_read_timeout(Some(PATIENCE)).unwrap();
        Peer {
            tcp,
            response: String::new(),
        }
    }

    /// A connection past a valid opening handshake on `/echo`, with
    /// `extra` header lines (each ending in CRLF) in the request.
    pub fn upgrade(addr: SocketAddr, extra: &str) -> Peer {
        let mut peer = Peer::connect(addr);
        let mut request = upgrade_request(addr, "/echo");
        request.insert_str(request.len() - 2, extra);
        peer.send(request.as_bytes()).unwrap();
        peer.response = peer.head();
        assert!(
            peer.response.starts_with("HTTP/1.1 101 "),
            "no upgrade: {}",
            peer.response
        );
        peer
    }

    /// The server's 101 response head (after [`upgrade`](Self::upgrade)).
    pub fn response(&self) -> &str {
        &self.response
    }

    /// Our address, as the server's handler sees it.
    pub fn local_addr(&self) -> SocketAddr {
        self.tcp.local_addr().unwrap()
    }

    /// The socket.
    pub fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// Writes all of `bytes`.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.tcp.write_all(bytes)
    }

    /// An HTTP response head (status line and fields).
    pub fn head(&mut self) -> String {
        read_head(&mut self.tcp)
    }

    /// The status of the HTTP response that comes next (0 if none came).
    pub fn status(&mut self) -> u16 {
        let head = self.head();
        head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
    }

    /// Writes `chunk` `times` times from another thread, until done, the
    /// server stops taking bytes, [`Flood::stop`] or [`PATIENCE`].
    pub fn flood(&self, chunk: Vec<u8>, times: usize) -> Flood {
        let mut tcp = self.tcp.try_clone().unwrap();
        // Short write timeouts so that `stop` is noticed while the server
        // is not reading.
        tcp.set_write_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let deadline = Instant::now() + PATIENCE;
            let mut written = 0u64;
            for _ in 0..times {
                let mut rest = &chunk[..];
                while !rest.is_empty() {
                    if flag.load(Ordering::Relaxed) || Instant::now() > deadline {
                        return written;
                    }
                    match tcp.write(rest) {
                        Ok(n) => {
                            written += n as u64;
                            rest = &rest[n..];
                        }
                        Err(e) if is_timeout(&e) => {}
                        Err(_) => return written,
                    }
                }
            }
            written
        });
        Flood { stop, thread }
    }

    /// Reads the server's frames until its close frame (others are
    /// skipped without being kept); its code and reason, or `None` if the
    /// connection ended (or [`PATIENCE`] passed) without one.
    pub fn close_frame(&mut self) -> Option<(u16, String)> {
        let rules = HeaderRules::new(Role::Client, usize::MAX);
        let deadline = Instant::now() + PATIENCE;
        let mut buf: Vec<u8> = Vec::new();
        // Payload bytes of a skipped frame still to come.
        let mut skip = 0u64;
        let mut chunk = vec![0u8; 64 << 10];
        loop {
            let mut pos = 0;
            loop {
                let skipped = skip.min((buf.len() - pos) as u64);
                pos += skipped as usize;
                skip -= skipped;
                if skip > 0 {
                    break;
                }
                let Ok(Status::Complete((n, header))) = parse_header(&buf[pos..], &rules) else {
                    break;
                };
                if header.opcode != OpCode::Close {
                    pos += n;
                    skip = header.payload_len;
                    continue;
                }
                let Some(payload) = buf.get(pos + n..pos + n + header.payload_len as usize) else {
                    break;
                };
                let code = match payload {
                    [a, b, ..] => u16::from_be_bytes([*a, *b]),
                    _ => 1005,
                };
                let reason = String::from_utf8_lossy(payload.get(2..).unwrap_or(&[]));
                return Some((code, reason.into_owned()));
            }
            buf.drain(..pos);
            let left = deadline.checked_duration_since(Instant::now())?;
            self.tcp
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .ok()?;
            match self.tcp.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Ends our direction (FIN), as a peer does once it has the server's
    /// close frame; the server stops waiting for us.
    pub fn finish(&self) {
        let _ = self.tcp.shutdown(std::net::Shutdown::Write);
    }

    /// Reads and drops everything until the server ends the connection;
    /// false if it was still open after [`PATIENCE`].
    pub fn wait_closed(&mut self) -> bool {
        let deadline = Instant::now() + PATIENCE;
        let mut sink = vec![0u8; 64 << 10];
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            self.tcp
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            match self.tcp.read(&mut sink) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if is_timeout(&e) => return false,
                Err(_) => return true,
            }
        }
        false
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// A flood in progress.
pub struct Flood {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<u64>,
}

impl Flood {
    /// Stops the flood; returns the bytes written.
    pub fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the flood thread")
    }

    /// Waits until the flood is over by itself (all written or the server
    /// stopped taking bytes); returns the bytes written.
    pub fn join(self) -> u64 {
        self.thread.join().expect("the flood thread")
    }
}
