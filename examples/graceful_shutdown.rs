//! An echo server that stops cleanly on Ctrl-C (SIGINT) or SIGTERM: it
//! stops accepting, sends 1001 Going Away to every client, waits up to
//! the shutdown timeout for their answers, and exits.
//!
//! ```text
//! cargo run --example graceful_shutdown -- 9001
//! cargo run --example split_client -- ws://127.0.0.1:9001/   # then Ctrl-C the server:
//!                                                            # the client prints "closed 1001"
//! ```
//!
//! Signal handling is not stdws's business; this example uses the
//! `signal-hook` crate (any way to learn of the signal on a thread works).

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
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
    let server = Server::builder()
        .fallback(Echo)
        .shutdown_timeout(Duration::from_secs(2))
        .bind(("127.0.0.1", port))?;
    let server = Arc::new(server);
    eprintln!(
        "graceful_shutdown listening on ws://{}",
        server.local_addr()
    );

    // A thread waits for the signal; `shutdown` may be called from any
    // thread except a handler's (it waits for every client's thread).
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    let stopping = Arc::clone(&server);
    thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            eprintln!("signal {signal}: closing every client with 1001");
            stopping.shutdown();
        }
    });

    server.wait(); // returns once shutdown() is done
    eprintln!("stopped");
    Ok(())
}
