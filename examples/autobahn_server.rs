//! The Autobahn TestSuite agent in server mode: an echo server on
//! 127.0.0.1:PORT that answers every resource path.
//!
//! ```text
//! cargo run --release --example autobahn_server -- 9001
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
    eprintln!("autobahn_server listening on ws://127.0.0.1:{port}");
    for stream in listener.get_ref().incoming() {
        let Ok(stream) = stream else { continue };
        let listener = Arc::clone(&listener);
        thread::spawn(move || {
            let ws = match listener.handshake(stream) {
                Ok(ws) => ws,
                Err(e) => return eprintln!("handshake failed: {e}"),
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
