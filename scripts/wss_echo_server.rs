//! A `wss://` echo server on 127.0.0.1:PORT, one thread per client, built
//! from the public pieces: `TlsAcceptor` + `ServerHandshake` + `Connection`.
//! For interop runs (Autobahn over TLS, Python `websockets`, browsers).
//!
//! ```text
//! cargo run --release --example wss_echo_server -- 9443 cert.pem key.pem [rustls]
//! cargo run --release --example wss_echo_server -- 9443 [rustls]   # self-signed
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

    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || -> ! {
        eprintln!("usage: wss_echo_server PORT [CERT.pem KEY.pem] [native-tls|rustls]");
        std::process::exit(2);
    };
    let port: u16 = args
        .first()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| usage());
    let backend_named = |name: &str| {
        TlsBackend::all()
            .iter()
            .copied()
            .find(|b| format!("{b:?}").eq_ignore_ascii_case(&name.replace('-', "")))
    };
    let (identity, backend) = match &args[1..] {
        [cert, key, rest @ ..] if backend_named(cert).is_none() => (
            Identity::from_pem_files(cert, key).expect("certificate and key"),
            rest.first(),
        ),
        rest => {
            // No files given: a self-signed certificate for localhost and
            // 127.0.0.1, made now (clients must skip verification).
            let key = rcgen::KeyPair::generate().expect("key");
            let cert = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
                .and_then(|p| p.self_signed(&key))
                .expect("certificate");
            (
                Identity::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes()),
                rest.first(),
            )
        }
    };
    let backend = match backend {
        None => TlsBackend::default(),
        Some(name) => backend_named(name).unwrap_or_else(|| usage()),
    };
    let acceptor = TlsAcceptor::builder(identity)
        .backend(backend)
        .build()
        .expect("TLS setup");
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind");
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
