//! The Autobahn TestSuite agent in server mode: an echo server on
//! 127.0.0.1:PORT that answers every resource path, with permessage-deflate
//! on (for cases 12.* and 13.*).
//!
//! ```text
//! cargo run --release --example autobahn_server -- 9001
//! ```

use std::sync::Arc;
use std::thread;

use stdws::{Config, Connection, Listener, PerMessageDeflate};

fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(9001);
    let config = Config::default().deflate(PerMessageDeflate::new());
    let listener = Listener::bind(("127.0.0.1", port))
        .expect("bind")
        .with_config(config);
    let listener = Arc::new(listener);
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
