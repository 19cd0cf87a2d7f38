//! The stdws side of `make interop` as a server: echoes every message on
//! 127.0.0.1:PORT; a text message `close CODE REASON` makes it close the
//! connection with that code and reason instead.
//!
//! ```text
//! cargo run --example interop_server -- 9001 [--deflate]
//! ```

use std::sync::Arc;
use std::thread;

use stdws::{CloseCode, Config, Connection, Listener, Message, PerMessageDeflate};

fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(9001);
    let mut config = Config::default()
        .max_message_size(32 << 20)
        .max_frame_size(32 << 20);
    if std::env::args().any(|a| a == "--deflate") {
        config = config.deflate(PerMessageDeflate::new());
    }
    let listener = Arc::new(
        Listener::bind(("127.0.0.1", port))
            .expect("bind")
            .with_config(config),
    );
    eprintln!("interop_server listening on ws://127.0.0.1:{port}");
    for stream in listener.get_ref().incoming() {
        let Ok(stream) = stream else { continue };
        let listener = Arc::clone(&listener);
        thread::spawn(move || {
            let Ok(ws) = listener.handshake(stream) else {
                return;
            };
            let mut conn = Connection::new(ws);
            while let Ok(Some(message)) = conn.recv() {
                if let Message::Text(text) = &message {
                    if let Some((code, reason)) =
                        text.strip_prefix("close ").and_then(|r| r.split_once(' '))
                    {
                        let code = CloseCode(code.parse().unwrap_or(1000));
                        let _ = conn.close(code, reason);
                        return;
                    }
                }
                if conn.send(message).is_err() {
                    break;
                }
            }
        });
    }
}
