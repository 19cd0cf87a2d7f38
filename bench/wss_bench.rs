//! TLS cost in one run: the same echo over `ws://` and over `wss://` with
//! each TLS backend compiled in, on loopback, client and server in this
//! process; served first by a hand-built `ServerHandshake` + `Connection`
//! loop, then by the thread-per-client `Server` (its shared transport,
//! where a client's thread reads while others may write). Prints round
//! trips per second for small messages and MiB/s for 1 MiB messages, and
//! the share of the first row's speed each keeps. The certificate is made
//! at start (rcgen), so nothing is needed on disk.
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
        Accept, Client, CloseCode, Config, Connection, Error, Handler, Message, Server,
        ServerHandshake, Stream, WebSocket,
    };

    struct Echo;

    impl Handler for Echo {
        fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
            client.send(message)
        }
    }

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

    // (served by `Server`, backend or plain TCP)
    let mut rows: Vec<(bool, Option<TlsBackend>)> = Vec::new();
    for server in [false, true] {
        rows.push((server, None));
        rows.extend(TlsBackend::all().iter().map(|&b| (server, Some(b))));
    }
    let mut base = None;
    println!(
        "{:<26} {:>14} {:>14} {:>10}",
        "transport", "16 B echo/s", "1 MiB echo", "vs first"
    );
    for (use_server, backend) in rows {
        let acceptor = backend.map(|b| {
            TlsAcceptor::builder(identity.clone())
                .backend(b)
                .build()
                .expect("acceptor")
        });
        let mut server = None;
        let mut hand_built = None;
        let port = if use_server {
            let mut builder = Server::builder()
                .config(config.clone().ping_interval(None))
                .route("/", Echo);
            if let Some(a) = acceptor {
                builder = builder.tls(a);
            }
            let s = builder.bind("127.0.0.1:0").expect("bind");
            let port = s.local_addr().port();
            server = Some(s);
            port
        } else {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            let port = listener.local_addr().expect("addr").port();
            let server_config = config.clone();
            hand_built = Some(thread::spawn(move || {
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
            }));
            port
        };
        let by = if use_server { "Server" } else { "hand-built" };
        let (scheme, name) = match backend {
            Some(b) => ("wss", format!("{by} wss {b}")),
            None => ("ws", format!("{by} ws")),
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
        if let Some(thread) = hand_built {
            thread.join().expect("server");
        }
        drop(server);
        let (b_small, b_big) = *base.get_or_insert((per_sec, mib_s));
        println!(
            "{name:<26} {per_sec:>14.0} {:>9.1} MiB/s {:>4.0}% {:>4.0}%",
            mib_s,
            100.0 * per_sec / b_small,
            100.0 * mib_s / b_big
        );
    }
}
