//! Full duplex over real TLS on loopback, for every pair of backends, on
//! the one transport every connection shares: a thread blocked receiving
//! while others send, both sides writing large messages at once, and the
//! single-owner `TlsStream` ending cleanly or answering a forged record.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use stdws::tls::{Identity, TlsAcceptor, TlsBackend, TlsConnector, TlsStream};
use stdws::{
    Accept, Config, Connection, MaybeTlsStream, Message, RecvHalf, SendHalf, ServerHandshake,
    Stream, WebSocket,
};

use crate::tls_support::certs::TestCa;

/// Every wait in these tests ends by then.
const LIMIT: Duration = Duration::from_secs(20);

/// A wss connection: the server's WebSocket after the handshake, and the
/// client's.
fn connected(
    server: TlsBackend,
    client: TlsBackend,
) -> (WebSocket<MaybeTlsStream>, WebSocket<MaybeTlsStream>) {
    let ca = TestCa::new("duplex CA");
    let leaf = ca.server(&["localhost"]);
    let acceptor = TlsAcceptor::builder(Identity::from_pem(
        leaf.chain_pem.as_bytes(),
        leaf.key_pem.as_bytes(),
    ))
    .backend(server)
    .build()
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let deadline = Instant::now() + LIMIT;
        let tls = MaybeTlsStream::Tls(acceptor.accept(tcp, deadline).unwrap());
        let config = Config::default().read_timeout(Some(LIMIT));
        let ws = ServerHandshake::read_until(tls, config, deadline)
            .unwrap()
            .accept(Accept::new())
            .unwrap();
        tx.send(ws).unwrap();
    });
    let ws = WebSocket::builder(&format!("wss://localhost:{port}/"))
        .config(Config::default().read_timeout(Some(LIMIT)))
        .tls(
            TlsConnector::new()
                .backend(client)
                .system_roots(false)
                .add_root_pem(ca.cert_pem.as_bytes()),
        )
        .connect()
        .unwrap();
    (rx.recv_timeout(LIMIT).unwrap(), ws)
}

/// The server side's TLS stream, for one owner.
fn tls_stream(ws: WebSocket<MaybeTlsStream>) -> TlsStream {
    let (stream, rest) = ws.into_parts();
    assert!(rest.is_empty());
    let MaybeTlsStream::Tls(tls) = stream else {
        panic!("not TLS")
    };
    tls
}

fn pairs() -> Vec<(TlsBackend, TlsBackend)> {
    let all = TlsBackend::all();
    all.iter()
        .flat_map(|&s| all.iter().map(move |&c| (s, c)))
        .collect()
}

/// A client that echoes messages until it has echoed `count`.
fn echo_client(ws: WebSocket<MaybeTlsStream>, count: usize) -> thread::JoinHandle<usize> {
    thread::spawn(move || {
        let mut conn = Connection::new(ws);
        for n in 0..count {
            match conn.recv() {
                Ok(Some(m)) => conn.send(m).unwrap(),
                _ => return n,
            }
        }
        count
    })
}

#[test]
fn four_threads_send_while_the_reader_receives_10000_messages() {
    const WRITERS: usize = 4;
    const EACH: usize = 2_500;
    for (server, client) in pairs() {
        let start = Instant::now();
        let (ws, peer) = connected(server, client);
        let echo = echo_client(peer, WRITERS * EACH);
        let (sender, mut receiver) = ws.split().unwrap();
        let writers: Vec<_> = (0..WRITERS)
            .map(|t| {
                let sender = sender.clone();
                thread::spawn(move || {
                    for n in 0..EACH {
                        sender.send_binary(format!("{t}:{n}").as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        let mut next = [0usize; WRITERS];
        for _ in 0..WRITERS * EACH {
            let message = receiver.recv().unwrap().unwrap();
            let text = String::from_utf8(message.into_bytes()).unwrap();
            let (t, n) = text.split_once(':').unwrap();
            let t: usize = t.parse().unwrap();
            // Each writer's messages arrive whole and in its order.
            assert_eq!(
                n.parse::<usize>().unwrap(),
                next[t],
                "{server:?}/{client:?}"
            );
            next[t] += 1;
        }
        assert_eq!(next, [EACH; WRITERS]);
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(echo.join().unwrap(), WRITERS * EACH);
        assert!(start.elapsed() < LIMIT, "{server:?}/{client:?}");
    }
}

#[test]
fn send_from_another_thread_arrives_before_the_idle_readers_timeout() {
    for (server, client) in pairs() {
        let (ws, peer) = connected(server, client);
        let (sender, mut receiver) = ws.split().unwrap();
        let (got_tx, got_rx) = mpsc::channel();
        let blocked = thread::spawn(move || {
            got_tx
                .send(receiver.recv().map_err(|e| e.to_string()))
                .unwrap();
        });
        // Let the reader block on the socket first.
        thread::sleep(Duration::from_millis(100));
        let mut conn = Connection::new(peer);
        let sent = Instant::now();
        thread::spawn(move || sender.send_binary(b"while you wait"))
            .join()
            .unwrap()
            .unwrap();
        let arrived = conn.recv().unwrap();
        let took = sent.elapsed();
        assert_eq!(arrived, Some(Message::Binary(b"while you wait".to_vec())));
        // The reader's only wake-up is its read timeout (`LIMIT`, set in
        // `connected`). A send that waited for it (a lock held across the
        // read, or the timeout used as a polling clock) misses this bound
        // by seconds; a loaded machine's scheduling delays (hundreds of
        // ms at worst) stay far inside it.
        assert!(took < LIMIT / 4, "{server:?}/{client:?}: {took:?}");
        // The reader is still inside its first read: it has neither
        // returned nor timed out.
        assert_eq!(got_rx.try_recv(), Err(mpsc::TryRecvError::Empty));
        conn.send(Message::Binary(b"wake up".to_vec())).unwrap();
        assert_eq!(
            got_rx.recv_timeout(LIMIT).unwrap(),
            Ok(Some(Message::Binary(b"wake up".to_vec())))
        );
        blocked.join().unwrap();
    }
}

/// Splits `ws` on a thread of its own, which then sends `SIZE` bytes of
/// `fill` (blocking, as the owner of the link does) while another thread
/// receives the peer's message.
fn send_while_receiving(
    ws: WebSocket<MaybeTlsStream>,
    fill: u8,
    size: usize,
) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let (sender, receiver): (SendHalf, RecvHalf) = ws.split().unwrap();
        let downloader = thread::spawn(move || {
            let mut receiver = receiver;
            receiver.recv().unwrap().unwrap().into_bytes()
        });
        sender.send_binary(&vec![fill; size]).unwrap();
        downloader.join().unwrap()
    })
}

#[test]
fn both_sides_write_8_mib_at_once_without_deadlock() {
    const SIZE: usize = 8 << 20;
    for (server, client) in pairs() {
        let start = Instant::now();
        let (server_ws, client_ws) = connected(server, client);
        let server_side = send_while_receiving(server_ws, 0x5A, SIZE);
        let client_side = send_while_receiving(client_ws, 0xA5, SIZE);
        for (side, peer_fill) in [(server_side, 0xA5u8), (client_side, 0x5A)] {
            let payload = side.join().unwrap();
            assert_eq!(payload.len(), SIZE);
            assert!(payload.iter().all(|&b| b == peer_fill));
        }
        assert!(start.elapsed() < LIMIT, "{server:?}/{client:?}");
    }
}

#[test]
fn close_notify_then_fin_ends_the_peer_stream() {
    for (server, client) in pairs() {
        let (ws, peer) = connected(server, client);
        let mut stream = tls_stream(ws);
        let (mut client_stream, _) = peer.into_parts();
        stream.shutdown_write().unwrap();
        let mut rest = Vec::new();
        // The client sees a clean end of stream, no error and no bytes.
        assert_eq!(client_stream.read_to_end(&mut rest).unwrap(), 0);
        // Writing after shutdown fails instead of sending into a closed stream.
        assert!(stream.write_all(b"late").is_err());
    }
}

#[test]
fn corrupt_record_is_invalid_data_and_the_session_answers_with_an_alert() {
    for (server, client) in pairs() {
        let (ws, peer) = connected(server, client);
        let mut stream = tls_stream(ws);
        let (client_stream, _) = peer.into_parts();
        let mut raw = client_stream.tcp();
        // An application-data record whose 32 bytes do not authenticate.
        let mut record = vec![0x17, 0x03, 0x03, 0x00, 0x20];
        record.extend_from_slice(&[0xAB; 32]);
        raw.write_all(&record).unwrap();
        let err = stream.read(&mut [0u8; 64]).unwrap_err();
        // Never a timeout kind: the caller must not retry.
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::InvalidData,
            "{server:?}: {err}"
        );
        assert!(err.to_string().starts_with("TLS: "), "{err}");
        // The alert reached the client before anything else.
        raw.set_read_timeout(Some(LIMIT)).unwrap();
        let mut alert = [0u8; 5];
        raw.read_exact(&mut alert).unwrap();
        assert!(
            matches!(alert[0], 0x15 | 0x17),
            "{server:?}: record type {:#x}",
            alert[0]
        );
    }
}

#[test]
fn streams_halves_and_acceptor_cross_threads() {
    fn send<T: Send>() {}
    fn shared<T: Send + Sync>() {}
    send::<TlsStream>();
    send::<RecvHalf>();
    shared::<SendHalf>();
    shared::<TlsAcceptor>();
    shared::<TlsConnector>();
}
