//! An echo server on 127.0.0.1:PORT: every message comes back as it came,
//! on every resource path.
//!
//! ```text
//! cargo run --release --example echo_server -- 9001
//! ```

use stdws::{Client, Error, Handler, Message, Server};

struct Echo;

impl Handler for Echo {
    fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
        client.send(message)
    }
}

fn main() -> Result<(), Error> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(9001);
    let server = Server::builder().fallback(Echo).bind(("127.0.0.1", port))?;
    eprintln!("echo_server listening on ws://{}", server.local_addr());
    server.wait();
    Ok(())
}
