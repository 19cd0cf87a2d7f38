//! An echo server on 127.0.0.1:PORT: every message comes back as it came,
//! on every resource path; with `deflate`, permessage-deflate is accepted
//! when a client offers it.
//!
//! ```text
//! cargo run --release --example echo_server -- 9001 [deflate]
//! ```

use stdws::{Client, Config, Error, Handler, Message, PerMessageDeflate, Server};

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
    let mut config = Config::default();
    if std::env::args().nth(2).as_deref() == Some("deflate") {
        config = config.deflate(PerMessageDeflate::new());
    }
    let server = Server::builder()
        .config(config)
        .fallback(Echo)
        .bind(("127.0.0.1", port))?;
    eprintln!("echo_server listening on ws://{}", server.local_addr());
    server.wait();
    Ok(())
}
