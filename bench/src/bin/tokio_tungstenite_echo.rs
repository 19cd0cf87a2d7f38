//! tokio-tungstenite's echo server as its README and examples write it:
//! a tokio runtime, one task per client, `accept_async`, then a read/send
//! loop. `TCP_NODELAY` is set, as on the other servers. Pinned to one core,
//! the runtime has one worker thread.
//!
//! ```text
//! tokio_tungstenite_echo PORT
//! ```

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() {
    let port = stdws_bench::port_arg();
    let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            while let Some(Ok(message)) = ws.next().await {
                if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
                    break;
                }
            }
        });
    }
}
