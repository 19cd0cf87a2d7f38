//! A `wss://` echo server on 127.0.0.1:PORT, one thread per client, built
//! from the public pieces: `TlsAcceptor` + `ServerHandshake` + `Connection`.
//! For interop runs (Autobahn over TLS, Python `websockets`, browsers).
//!
//! ```text
//! cargo run --release --example wss_echo_server -- 9443 cert.pem key.pem [rustls]
//! ```

#[cfg(not(any(feature = "tls", feature = "rustls")))]
fn main() {
    eprintln!("wss_echo_server needs the `tls` or `rustls` feature");
    std::process::exit(2);
}

#[cfg(any(feature = "tls", feature = "rustls"))]
fn main() {
    use std::net::TcpListener;
    use std::thread;
    use std::time::Instant;

    use stdws::tls::{Identity, TlsAcceptor, TlsBackend};
    use stdws::{Accept, Config, Connection, ServerHandshake};

    let args: Vec<String> = std::env::args().collect();
    let [_, port, cert, key, rest @ ..] = args.as_slice() else {
        eprintln!("usage: wss_echo_server PORT CERT.pem KEY.pem [native-tls|rustls]");
        std::process::exit(2);
    };
    let backend = match rest.first().map(String::as_str) {
        None => TlsBackend::default(),
        Some(name) => *TlsBackend::all()
            .iter()
            .find(|b| format!("{b:?}").eq_ignore_ascii_case(&name.replace('-', "")))
            .unwrap_or_else(|| panic!("backend {name} not compiled in")),
    };
    let identity = Identity::from_pem_files(cert, key).expect("certificate and key");
    let acceptor = TlsAcceptor::builder(identity)
        .backend(backend)
        .build()
        .expect("TLS setup");
    let listener =
        TcpListener::bind(("127.0.0.1", port.parse::<u16>().expect("port"))).expect("bind");
    eprintln!("wss_echo_server ({backend:?}) listening on wss://127.0.0.1:{port}");
    for tcp in listener.incoming() {
        let Ok(tcp) = tcp else { continue };
        let acceptor = acceptor.clone();
        thread::spawn(move || {
            let config = Config::default();
            let deadline = Instant::now() + config.handshake_timeout;
            let _ = tcp.set_nodelay(true);
            let ws = acceptor
                .accept(tcp, deadline)
                .and_then(|tls| ServerHandshake::read_until(tls, config, deadline))
                .and_then(|pending| pending.accept(Accept::new()));
            let ws = match ws {
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
