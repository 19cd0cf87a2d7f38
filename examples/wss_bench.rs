//! TLS cost in one run: the same echo over `ws://` and over `wss://` with
//! each TLS backend compiled in, on loopback, client and server in this
//! process. Prints round trips per second for small messages and MiB/s
//! for 1 MiB messages, and the share of plain-TCP speed each keeps. The
//! certificate is made at start (rcgen), so nothing is needed on disk.
//!
//! ```text
//! cargo run --release --all-features --example wss_bench [ROUND_TRIPS] [MIB]
//! ```

#[cfg(not(any(feature = "tls", feature = "rustls")))]
fn main() {
    eprintln!("wss_bench needs the `tls` or `rustls` feature");
}

#[cfg(any(feature = "tls", feature = "rustls"))]
fn main() {
    use std::net::TcpListener;
    use std::thread;
    use std::time::{Duration, Instant};

    use stdws::tls::{Identity, TlsAcceptor, TlsBackend, TlsConnector};
    use stdws::{
        Accept, CloseCode, Config, Connection, Message, ServerHandshake, Stream, WebSocket,
    };

    fn echo<S: Stream>(pending: ServerHandshake<S>) {
        let mut conn = Connection::new(pending.accept(Accept::new()).expect("101"));
        while let Ok(Some(m)) = conn.recv() {
            if conn.send(m).is_err() {
                break;
            }
        }
    }

    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<usize>().expect("a number"));
    let round_trips = args.next().unwrap_or(20_000);
    let mib = args.next().unwrap_or(200);

    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .and_then(|p| p.self_signed(&key))
        .expect("certificate");
    let identity = Identity::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes());
    let config = Config::default().max_message_size(2 << 20);

    let mut rows: Vec<Option<TlsBackend>> = vec![None];
    rows.extend(TlsBackend::all().iter().copied().map(Some));
    let mut base = None;
    println!(
        "{:<16} {:>14} {:>14} {:>10}",
        "transport", "16 B echo/s", "1 MiB echo", "vs ws"
    );
    for backend in rows {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let acceptor = backend.map(|b| {
            TlsAcceptor::builder(identity.clone())
                .backend(b)
                .build()
                .expect("acceptor")
        });
        let server_config = config.clone();
        let server = thread::spawn(move || {
            let (tcp, _) = listener.accept().expect("accept");
            tcp.set_nodelay(true).expect("nodelay");
            let deadline = Instant::now() + Duration::from_secs(10);
            match acceptor {
                Some(a) => echo(
                    ServerHandshake::read_until(
                        a.accept(tcp, deadline).expect("TLS"),
                        server_config,
                        deadline,
                    )
                    .expect("request"),
                ),
                None => echo(
                    ServerHandshake::read_until(tcp, server_config, deadline).expect("request"),
                ),
            }
        });
        let (scheme, name) = match backend {
            Some(b) => ("wss", format!("wss {b:?}")),
            None => ("ws", "ws (plain TCP)".to_owned()),
        };
        let mut builder =
            WebSocket::builder(&format!("{scheme}://localhost:{port}/")).config(config.clone());
        if let Some(b) = backend {
            builder = builder.tls(
                TlsConnector::new()
                    .backend(b)
                    .danger_accept_invalid_certs(true),
            );
        }
        let mut conn = Connection::new(builder.connect().expect("connect"));
        let small = Message::Binary(vec![7; 16]);
        let start = Instant::now();
        for _ in 0..round_trips {
            conn.send(small.clone()).expect("send");
            conn.recv().expect("recv");
        }
        let per_sec = round_trips as f64 / start.elapsed().as_secs_f64();
        let big = Message::Binary(vec![1; 1 << 20]);
        let start = Instant::now();
        for _ in 0..mib {
            conn.send(big.clone()).expect("send");
            conn.recv().expect("recv");
        }
        let mib_s = mib as f64 / start.elapsed().as_secs_f64();
        conn.close(CloseCode::NORMAL, "").expect("close");
        server.join().expect("server");
        let (b_small, b_big) = *base.get_or_insert((per_sec, mib_s));
        println!(
            "{name:<16} {per_sec:>14.0} {:>9.1} MiB/s {:>4.0}% {:>4.0}%",
            mib_s,
            100.0 * per_sec / b_small,
            100.0 * mib_s / b_big
        );
    }
}
