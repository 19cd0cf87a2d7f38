//! The stdws side of `make interop` as a server: echoes every message on
//! 127.0.0.1:PORT; a text message `close CODE REASON` makes it close the
//! connection with that code and reason instead.
//!
//! ```text
//! cargo run --example interop_server -- 9001 [--deflate]
//! cargo run --example interop_server -- 9001 --hixie76
//! cargo run --example interop_server -- 9443 --tls-cert cert.pem --tls-key key.pem [--tls-backend rustls]
//! ```
//!
//! Plain `ws://` runs on `Listener` + `Connection` (a thread per client,
//! written out); with `--tls-cert` it is `wss://` on the `Server` (its
//! `Handler` below), the TLS transport that lets other threads send while
//! a client's thread is blocked reading. `--hixie76` runs the `Server` on
//! `ws://` with hixie-76 clients welcome too.

use std::sync::Arc;
use std::thread;

use stdws::{
    Client, CloseCode, Config, Connection, Error, Handler, Listener, Message, PerMessageDeflate,
    Server, ServerBuilder,
};

/// `--deflate`: permessage-deflate offered (client) or accepted (server).
fn deflate() -> bool {
    std::env::args().any(|a| a == "--deflate")
}

fn config() -> Config {
    let config = Config::default()
        .max_message_size(32 << 20)
        .max_frame_size(32 << 20);
    if deflate() {
        config.deflate(PerMessageDeflate::new())
    } else {
        config
    }
}

/// `close CODE REASON`: the code and reason to close with.
fn close_command(message: &Message) -> Option<(CloseCode, &str)> {
    let Message::Text(text) = message else {
        return None;
    };
    let (code, reason) = text.strip_prefix("close ")?.split_once(' ')?;
    Some((CloseCode(code.parse().unwrap_or(1000)), reason))
}

/// The `Server`'s handler: echo, or close on command.
struct Echo;

impl Handler for Echo {
    fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
        match close_command(&message) {
            Some((code, reason)) => client.close(code, reason),
            None => client.send(message),
        }
    }
}

/// Serves [`Echo`] with the `Server` until killed.
fn serve(port: u16, builder: ServerBuilder, what: &str) {
    let server = builder
        .config(config())
        .fallback(Echo)
        .bind(("127.0.0.1", port))
        .expect("bind");
    eprintln!("interop_server ({what}) listening on 127.0.0.1:{port}");
    server.wait();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port: u16 = args.first().and_then(|p| p.parse().ok()).unwrap_or(9001);
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if let Some(cert) = flag("--tls-cert") {
        let key = flag("--tls-key").expect("--tls-cert needs --tls-key");
        return tls::serve(port, &cert, &key, flag("--tls-backend"));
    }
    if args.iter().any(|a| a == "--hixie76") {
        return serve(port, Server::builder().hixie76(true), "ws:// and hixie-76");
    }
    let listener = Arc::new(
        Listener::bind(("127.0.0.1", port))
            .expect("bind")
            .with_config(config()),
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
                if let Some((code, reason)) = close_command(&message) {
                    let _ = conn.close(code, reason);
                    return;
                }
                if conn.send(message).is_err() {
                    break;
                }
            }
        });
    }
}

#[cfg(all(unix, any(feature = "tls", feature = "rustls")))]
mod tls {
    use stdws::tls::{Identity, TlsAcceptor};
    use stdws::Server;

    pub fn serve(port: u16, cert: &str, key: &str, backend: Option<String>) {
        let mut acceptor = TlsAcceptor::builder(Identity::from_pem_files(cert, key).expect("PEM"));
        if let Some(name) = backend {
            acceptor = acceptor.backend(name.parse().expect("TLS backend"));
        }
        let acceptor = acceptor.build().expect("TLS setup");
        let backend = acceptor.backend().to_string();
        super::serve(
            port,
            Server::builder().tls(acceptor),
            &format!("wss://, {backend}"),
        );
    }
}

#[cfg(not(all(unix, any(feature = "tls", feature = "rustls"))))]
mod tls {
    pub fn serve(_: u16, _: &str, _: &str, _: Option<String>) {
        eprintln!("interop_server: --tls-cert needs the `tls` or `rustls` feature (on Unix)");
        std::process::exit(2);
    }
}
