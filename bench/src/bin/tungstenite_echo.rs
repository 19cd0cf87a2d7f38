//! The yardstick: a tungstenite echo server written the way its README and
//! examples show (std::net, one thread per client, `accept`, then a
//! read/send loop). `TCP_NODELAY` is set, as on the other servers, so no
//! server waits for Nagle.
//!
//! ```text
//! tungstenite_echo PORT
//! ```

use std::net::TcpListener;
use std::thread;

fn main() {
    let port = stdws_bench::port_arg();
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind");
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        thread::spawn(move || {
            let _ = stream.set_nodelay(true);
            let Ok(mut ws) = tungstenite::accept(stream) else {
                return;
            };
            while let Ok(message) = ws.read() {
                if (message.is_text() || message.is_binary()) && ws.send(message).is_err() {
                    break;
                }
            }
        });
    }
}
