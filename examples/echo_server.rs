//! An echo server on 127.0.0.1:PORT: every message comes back as it came.
//!
//! ```text
//! cargo run --release --example echo_server -- 9001
//! ```

use std::sync::Arc;
use std::thread;

use stdws::{Connection, Listener};

fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(9001);
    let listener = Arc::new(Listener::bind(("127.0.0.1", port)).expect("bind"));
    eprintln!("echo_server listening on ws://127.0.0.1:{port}");
    for stream in listener.get_ref().incoming() {
        let Ok(stream) = stream else { continue };
        let listener = Arc::clone(&listener);
        thread::spawn(move || {
            let Ok(ws) = listener.handshake(stream) else {
                return;
            };
            let mut conn = Connection::new(ws);
            while let Ok(Some(message)) = conn.recv() {
                if conn.send(message).is_err() {
                    break;
                }
            }
        });
    }
}
