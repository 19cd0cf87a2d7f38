//! fastwebsockets' echo server as its example writes it (a tokio task per
//! client, `FragmentCollector`, echo text and binary frames), except for
//! the opening handshake: fastwebsockets leaves it to hyper, which would
//! put an HTTP server in the measurement; here it is read by hand, once per
//! connection, so the echo loop is fastwebsockets alone. `TCP_NODELAY` is
//! set, as on the other servers.
//!
//! ```text
//! fastwebsockets_echo PORT
//! ```

use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Reads the request head and answers 101 (RFC 6455 §4.2.2); `None` when
/// the request is not an upgrade (the harness's readiness probe).
async fn handshake(stream: &mut TcpStream) -> Option<()> {
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    // The client sends nothing after its request until it sees the 101,
    // so no frame byte is read here.
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || head.len() > 8192 {
            return None;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let text = std::str::from_utf8(&head).ok()?;
    let key = text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("sec-websocket-key")
            .then(|| value.trim())
    })?;
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let reply = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    stream.write_all(reply.as_bytes()).await.ok()
}

#[tokio::main]
async fn main() {
    let port = stdws_bench::port_arg();
    let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            if handshake(&mut stream).await.is_none() {
                return;
            }
            let mut ws = FragmentCollector::new(WebSocket::after_handshake(stream, Role::Server));
            while let Ok(frame) = ws.read_frame().await {
                let echo = matches!(frame.opcode, OpCode::Text | OpCode::Binary);
                if frame.opcode == OpCode::Close || (echo && ws.write_frame(frame).await.is_err()) {
                    break;
                }
            }
        });
    }
}
