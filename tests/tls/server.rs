//! The `Server` over real TLS, for every backend compiled in: echo,
//! sends from other threads while a client's own thread is blocked
//! reading, many writers against one reader, large messages both ways at
//! once, and authentication over `wss://`. The peer is split
//! ([`WebSocket::split`]), so it too reads while it writes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use stdws::tls::{Identity, TlsAcceptor, TlsBackend, TlsConnector};
use stdws::{
    Authenticator, Client, CloseCode, Config, Connection, Error, Handler, MaybeTlsStream, Message,
    Server, WebSocket,
};

use crate::tls_support::certs::TestCa;

/// Every wait ends by then (debug builds on a loaded machine).
const LIMIT: Duration = Duration::from_secs(30);
/// For 8 MiB each way through TLS and masking in a debug build.
const LIMIT_LARGE: Duration = Duration::from_secs(90);

/// Reports every client opened, every message received and every close.
struct Probe {
    opened: Mutex<Sender<Client>>,
    messages: Mutex<Sender<Message>>,
    closed: Mutex<Sender<CloseCode>>,
    echo: bool,
}

impl Handler for Probe {
    fn on_open(&self, client: &Client) -> Result<(), Error> {
        let _ = self.opened.lock().unwrap().send(client.clone());
        Ok(())
    }

    fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
        if self.echo {
            client.send(message.clone())?;
        }
        let _ = self.messages.lock().unwrap().send(message);
        Ok(())
    }

    fn on_close(&self, _: &Client, code: CloseCode, _: &str) {
        let _ = self.closed.lock().unwrap().send(code);
    }
}

/// A running wss server and what its handler saw.
struct Fixture {
    server: Server,
    ca: TestCa,
    backend: TlsBackend,
    opened: Receiver<Client>,
    messages: Receiver<Message>,
    closed: Receiver<CloseCode>,
}

fn wss_server(backend: TlsBackend, echo: bool, auth: Option<Authenticator>) -> Fixture {
    wss_server_with(backend, echo, auth, Config::default())
}

fn wss_server_with(
    backend: TlsBackend,
    echo: bool,
    auth: Option<Authenticator>,
    config: Config,
) -> Fixture {
    let ca = TestCa::new("server test CA");
    let leaf = ca.server(&["localhost"]);
    let acceptor = TlsAcceptor::builder(Identity::from_pem(
        leaf.chain_pem.as_bytes(),
        leaf.key_pem.as_bytes(),
    ))
    .backend(backend)
    .build()
    .unwrap();
    let (opened_tx, opened) = channel();
    let (messages_tx, messages) = channel();
    let (closed_tx, closed) = channel();
    let probe = Probe {
        opened: Mutex::new(opened_tx),
        messages: Mutex::new(messages_tx),
        closed: Mutex::new(closed_tx),
        echo,
    };
    let mut builder = Server::builder()
        .config(config.ping_interval(None))
        .tls(acceptor)
        .route("/echo", probe);
    if let Some(auth) = auth {
        builder = builder.authenticator(auth);
    }
    Fixture {
        server: builder.bind("127.0.0.1:0").unwrap(),
        ca,
        backend,
        opened,
        messages,
        closed,
    }
}

impl Fixture {
    fn url(&self, userinfo: &str) -> String {
        format!(
            "wss://{userinfo}localhost:{}/echo",
            self.server.local_addr().port()
        )
    }

    fn connect_as(&self, userinfo: &str) -> Result<WebSocket<MaybeTlsStream>, Error> {
        WebSocket::builder(&self.url(userinfo))
            .config(Config::default().read_timeout(Some(LIMIT)))
            .tls(
                TlsConnector::new()
                    .backend(self.backend)
                    .system_roots(false)
                    .add_root_pem(self.ca.cert_pem.as_bytes()),
            )
            .connect()
    }

    /// A connected peer and the server's handle on it.
    fn connect(&self) -> (WebSocket<MaybeTlsStream>, Client) {
        let ws = self
            .connect_as("")
            .unwrap_or_else(|e| panic!("{:?}: {e}", self.backend));
        (ws, self.opened.recv_timeout(LIMIT).unwrap())
    }
}

#[test]
fn wss_echo_through_the_server() {
    for &backend in TlsBackend::all() {
        let fx = wss_server(backend, true, None);
        let (ws, client) = fx.connect();
        assert_eq!(client.user(), None);
        let mut conn = Connection::new(ws);
        conn.send(Message::Text("héllo over wss".into())).unwrap();
        assert_eq!(
            conn.recv().unwrap(),
            Some(Message::Text("héllo over wss".into())),
            "{backend:?}"
        );
        // Many TLS records, crossing record boundaries both ways.
        let big: Vec<u8> = (0..1_000_003u32).map(|i| (i % 251) as u8).collect();
        conn.send(Message::Binary(big.clone())).unwrap();
        assert_eq!(conn.recv().unwrap(), Some(Message::Binary(big)));
        conn.close(CloseCode::NORMAL, "bye").unwrap();
        assert_eq!(fx.closed.recv_timeout(LIMIT).unwrap(), CloseCode::NORMAL);
        assert_eq!(conn.close_frame().map(|f| f.code), Some(CloseCode::NORMAL));
    }
}

/// The read timeout of the client's thread in the blocked-reader test: with
/// no idle release, its only wake-up.
const READER_TIMEOUT: Duration = Duration::from_secs(5);

#[test]
fn a_handle_send_arrives_before_the_blocked_clients_thread_wakes() {
    for &backend in TlsBackend::all() {
        let config = Config::default()
            .read_timeout(Some(READER_TIMEOUT))
            .idle_release(None);
        let fx = wss_server_with(backend, false, None, config);
        let (ws, client) = fx.connect();
        let mut conn = Connection::new(ws);
        // The client's thread on the server is now waiting for the peer.
        thread::sleep(Duration::from_millis(100));
        let sent = Instant::now();
        thread::spawn(move || client.send(Message::Text("from afar".into())))
            .join()
            .unwrap()
            .unwrap();
        let arrived = conn.recv().unwrap();
        let took = sent.elapsed();
        assert_eq!(arrived, Some(Message::Text("from afar".into())));
        // A send that waited for the reader's wake-up (a lock held across
        // the read, or the timeout used as a polling clock) misses this
        // bound by seconds; a loaded machine's scheduling delays (hundreds
        // of ms at worst) stay far inside it.
        assert!(took < READER_TIMEOUT / 2, "{backend:?}: {took:?}");
        // The reader had nothing to read, and still reads: it did not time
        // out (that would have let the client go).
        assert!(fx.messages.try_recv().is_err());
        conn.send(Message::Text("wake up".into())).unwrap();
        assert_eq!(
            fx.messages.recv_timeout(LIMIT).unwrap(),
            Message::Text("wake up".into())
        );
    }
}

#[test]
fn four_handle_threads_send_while_the_server_reads_10000_messages() {
    const THREADS: usize = 4;
    const EACH: usize = 2_500;
    const FROM_PEER: usize = 10_000;
    for &backend in TlsBackend::all() {
        let start = Instant::now();
        let fx = wss_server(backend, false, None);
        let (ws, client) = fx.connect();
        let (sender, mut receiver) = ws.split().unwrap();
        let uploader = thread::spawn(move || {
            for n in 0..FROM_PEER {
                sender.send_binary(format!("peer:{n}").as_bytes()).unwrap();
            }
        });
        let senders: Vec<_> = (0..THREADS)
            .map(|t| {
                let client = client.clone();
                thread::spawn(move || {
                    for n in 0..EACH {
                        client.send_binary(format!("{t}:{n}").as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        let downloader = thread::spawn(move || {
            let mut next = [0usize; THREADS];
            for _ in 0..THREADS * EACH {
                let message = receiver.recv().unwrap().unwrap();
                let text = String::from_utf8(message.into_bytes()).unwrap();
                let (t, n) = text.split_once(':').unwrap();
                let t: usize = t.parse().unwrap();
                // Each sender's messages arrive whole and in its order.
                assert_eq!(n.parse::<usize>().unwrap(), next[t]);
                next[t] += 1;
            }
            next
        });
        for n in 0..FROM_PEER {
            let message = fx.messages.recv_timeout(LIMIT).unwrap();
            assert_eq!(message, Message::Binary(format!("peer:{n}").into_bytes()));
        }
        assert_eq!(downloader.join().unwrap(), [EACH; THREADS], "{backend:?}");
        for s in senders {
            s.join().unwrap();
        }
        uploader.join().unwrap();
        assert!(
            start.elapsed() < LIMIT,
            "{backend:?}: {:?}",
            start.elapsed()
        );
    }
}

#[test]
fn both_directions_carry_8_mib_at_once() {
    const SIZE: usize = 8 << 20;
    for &backend in TlsBackend::all() {
        let start = Instant::now();
        let fx = wss_server(backend, false, None);
        let (ws, client) = fx.connect();
        let (sender, mut receiver) = ws.split().unwrap();
        // The peer uploads 8 MiB while the server sends it 8 MiB from
        // another thread; neither side may wait for the other to read.
        let uploader = thread::spawn(move || sender.send_binary(&[0xA5; SIZE]).unwrap());
        let downloader = thread::spawn(move || receiver.recv().unwrap().unwrap().into_bytes());
        thread::spawn(move || client.send_binary(&vec![0x5A; SIZE]))
            .join()
            .unwrap()
            .unwrap();
        let got = fx.messages.recv_timeout(LIMIT_LARGE).unwrap();
        assert_eq!(got.len(), SIZE);
        assert!(got.as_bytes().iter().all(|&b| b == 0xA5));
        let down = downloader.join().unwrap();
        assert_eq!(down.len(), SIZE);
        assert!(down.iter().all(|&b| b == 0x5A));
        uploader.join().unwrap();
        assert!(
            start.elapsed() < LIMIT_LARGE,
            "{backend:?}: {:?}",
            start.elapsed()
        );
    }
}

#[test]
fn digest_auth_over_wss_names_the_user_and_refuses_a_wrong_password() {
    let alice = |user: &str| (user == "alice").then(|| "wonder land".to_owned());
    for &backend in TlsBackend::all() {
        let fx = wss_server(backend, true, Some(Authenticator::digest("wss", alice)));
        // A wrong password, then none: 401 both times.
        for userinfo in ["alice:wonder@", ""] {
            let err = fx.connect_as(userinfo).unwrap_err();
            let status = match &err {
                Error::Handshake(e) => e.status(),
                _ => None,
            };
            assert_eq!(status, Some(401), "{backend:?} {userinfo:?}: {err:?}");
        }
        let ws = fx.connect_as("alice:wonder%20land@").unwrap();
        let client = fx.opened.recv_timeout(LIMIT).unwrap();
        assert_eq!(client.user(), Some("alice"));
        let mut conn = Connection::new(ws);
        conn.send(Message::Text("authenticated".into())).unwrap();
        assert_eq!(
            conn.recv().unwrap(),
            Some(Message::Text("authenticated".into()))
        );
    }
}

#[test]
fn plaintext_gets_a_400_and_silence_the_deadline_on_the_tls_port_and_the_server_goes_on() {
    for &backend in TlsBackend::all() {
        // Long enough for a real TLS handshake in a debug build on a busy
        // machine, short against the 30 s the test would otherwise wait.
        let config = Config::default().handshake_timeout(Duration::from_secs(2));
        let fx = wss_server_with(backend, true, None, config);
        // Plain HTTP: a fixed 400 in plain HTTP (nothing of the request
        // echoed; see wrong_scheme.rs), then the connection ends.
        let mut plain = TcpStream::connect(fx.server.local_addr()).unwrap();
        plain.set_read_timeout(Some(LIMIT)).unwrap();
        plain
            .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .unwrap();
        let mut answer = Vec::new();
        let _ = plain.read_to_end(&mut answer);
        assert!(
            answer.starts_with(b"HTTP/1.1 400 Bad Request\r\n"),
            "{backend:?}: {answer:?}"
        );
        assert!(!answer.windows(9).any(|w| w == b"localhost"));
        // Silence: cut off at the handshake deadline, not held forever.
        let started = Instant::now();
        let mut silent = TcpStream::connect(fx.server.local_addr()).unwrap();
        silent.set_read_timeout(Some(LIMIT)).unwrap();
        let mut rest = Vec::new();
        let _ = silent.read_to_end(&mut rest);
        let held = started.elapsed();
        assert!(held < Duration::from_secs(8), "{backend:?}: {held:?}");
        // Meanwhile and afterwards, TLS clients are served.
        let (ws, _) = fx.connect();
        let mut conn = Connection::new(ws);
        conn.send(Message::Text("still here".into())).unwrap();
        assert_eq!(
            conn.recv().unwrap(),
            Some(Message::Text("still here".into()))
        );
    }
}

#[test]
fn a_corrupt_record_is_answered_with_the_sessions_alert() {
    for &backend in TlsBackend::all() {
        let fx = wss_server(backend, true, None);
        let (ws, _) = fx.connect();
        let (stream, _) = ws.into_parts();
        let MaybeTlsStream::Tls(mut tls) = stream else {
            panic!("not TLS")
        };
        // An application-data record whose 32 bytes do not authenticate.
        let mut record = vec![0x17, 0x03, 0x03, 0x00, 0x20];
        record.extend_from_slice(&[0xAB; 32]);
        tls.tcp().write_all(&record).unwrap();
        // The server's session answers with a fatal alert, ahead of its
        // close_notify (which alone would read as a clean end of stream),
        // and the connection ends without a close frame.
        let err = tls.read(&mut [0u8; 64]).unwrap_err();
        let text = err.to_string().to_ascii_lowercase();
        assert!(text.contains("alert"), "{backend:?}: {err}");
        assert_eq!(fx.closed.recv_timeout(LIMIT).unwrap(), CloseCode::ABNORMAL);
    }
}
