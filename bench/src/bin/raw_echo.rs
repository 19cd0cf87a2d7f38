//! The floor: a TCP echo server with one thread per client and no
//! WebSocket at all. What it costs per message is what the threading model
//! itself costs (a blocking read and a write per message).
//!
//! ```text
//! raw_echo PORT
//! ```

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;

/// Read size: as large as a loopback segment, so a 1 MiB message takes
/// few system calls. Pages are touched only as far as reads fill them.
const BUF: usize = 64 << 10;

fn main() {
    let port = stdws_bench::port_arg();
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind");
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        thread::spawn(move || {
            let _ = stream.set_nodelay(true);
            let mut buf = vec![0u8; BUF];
            loop {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if stream.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
}
