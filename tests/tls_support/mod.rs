//! Helpers for the TLS, auth and redirect tests: certificates made at test
//! time and tiny servers built on `ServerHandshake`, each bounded in time.
#![allow(dead_code)]

pub mod certs;

use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// How long any test waits for anything.
pub const LIMIT: Duration = Duration::from_secs(10);

/// Accepts `connections` TCP connections on 127.0.0.1 (a free port) and
/// runs `handle` on each in turn, on one thread; each result goes to the
/// returned channel. Returns the port.
pub fn serve<T, F>(connections: usize, mut handle: F) -> (u16, mpsc::Receiver<T>)
where
    T: Send + 'static,
    F: FnMut(usize, TcpStream) -> T + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for i in 0..connections {
            let Ok((tcp, _)) = listener.accept() else {
                return;
            };
            tcp.set_read_timeout(Some(LIMIT)).ok();
            tcp.set_write_timeout(Some(LIMIT)).ok();
            // The test may have stopped listening; serve the rest anyway.
            let _ = tx.send(handle(i, tcp));
        }
    });
    (port, rx)
}
