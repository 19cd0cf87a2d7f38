//! Full duplex over real TLS on loopback, for every pair of backends: the
//! reader blocks on the raw socket while other threads send, and both
//! sides can write large messages at once (the design in the module docs).

use std::io::Read;
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::*;
use crate::frame::{FrameHeader, HeaderRules, OpCode, Role, Rsv};
use crate::read::FrameReader;
use crate::stream::{MaybeTlsStream, Stream};
use crate::write::FrameWriter;
use crate::{Accept, Config, Connection, Message, ServerHandshake, WebSocket};

#[allow(dead_code)]
#[path = "../../tests/tls_support/certs.rs"]
pub(crate) mod certs;

/// Every wait in these tests ends by then.
const LIMIT: Duration = Duration::from_secs(20);

/// A wss connection: the server's stream after the WebSocket handshake,
/// and the client's WebSocket.
fn connected(server: TlsBackend, client: TlsBackend) -> (TlsStream, WebSocket<MaybeTlsStream>) {
    let ca = certs::TestCa::new("duplex CA");
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
        let tls = acceptor.accept(tcp, deadline).unwrap();
        let ws = ServerHandshake::read_until(tls, Config::default(), deadline)
            .unwrap()
            .accept(Accept::new())
            .unwrap();
        let (stream, rest) = ws.into_parts();
        assert!(rest.is_empty());
        tx.send(stream).unwrap();
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
    let stream = rx.recv_timeout(LIMIT).unwrap();
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    stream.set_write_timeout(Some(LIMIT)).unwrap();
    (stream, ws)
}

fn pairs() -> Vec<(TlsBackend, TlsBackend)> {
    let all = TlsBackend::all();
    all.iter()
        .flat_map(|&s| all.iter().map(move |&c| (s, c)))
        .collect()
}

/// Writes one binary frame, masked in the client role.
pub(crate) fn send_frame(w: &mut DuplexWriter, role: Role, payload: &[u8]) {
    let header = FrameHeader {
        fin: true,
        rsv: Rsv::NONE,
        opcode: OpCode::Binary,
        mask: (role == Role::Client).then_some([7, 1, 9, 3]),
        payload_len: payload.len() as u64,
    };
    FrameWriter::default()
        .write_frame(w, &header, payload)
        .unwrap();
}

/// Reads one whole frame's payload (`frames` has the reader's role).
pub(crate) fn recv_frame(r: &mut DuplexReader, frames: &mut FrameReader) -> Vec<u8> {
    let header = frames.read_header(r).unwrap();
    let mut payload = Vec::new();
    while (payload.len() as u64) < header.payload_len {
        let got = payload.len() as u64;
        frames
            .read_payload(r, &header, got, header.payload_len - got, &mut payload)
            .unwrap();
    }
    payload
}

pub(crate) fn frame_reader(role: Role) -> FrameReader {
    FrameReader::new(HeaderRules::new(role, 64 << 20))
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
        let (stream, ws) = connected(server, client);
        let echo = echo_client(ws, WRITERS * EACH);
        let (mut reader, writer) = stream.split();
        let writers: Vec<_> = (0..WRITERS)
            .map(|t| {
                let mut w = writer.clone();
                thread::spawn(move || {
                    for n in 0..EACH {
                        send_frame(&mut w, Role::Server, format!("{t}:{n}").as_bytes());
                    }
                })
            })
            .collect();
        let mut frames = frame_reader(Role::Server);
        let mut next = [0usize; WRITERS];
        for _ in 0..WRITERS * EACH {
            let text = String::from_utf8(recv_frame(&mut reader, &mut frames)).unwrap();
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
fn send_from_another_thread_arrives_within_50ms_while_the_reader_is_idle() {
    for (server, client) in pairs() {
        let (stream, ws) = connected(server, client);
        let (mut reader, mut writer) = stream.split();
        let (got_tx, got_rx) = mpsc::channel();
        let blocked = thread::spawn(move || {
            let mut frames = frame_reader(Role::Server);
            got_tx.send(recv_frame(&mut reader, &mut frames)).unwrap();
        });
        // Let the reader block on the socket first.
        thread::sleep(Duration::from_millis(100));
        let mut conn = Connection::new(ws);
        let sent = Instant::now();
        send_frame(&mut writer, Role::Server, b"while you wait");
        let arrived = conn.recv().unwrap();
        let took = sent.elapsed();
        assert_eq!(arrived, Some(Message::Binary(b"while you wait".to_vec())));
        assert!(
            took < Duration::from_millis(50),
            "{server:?}/{client:?}: {took:?}"
        );
        // The reader was still waiting, and still works.
        assert!(got_rx.try_recv().is_err());
        conn.send(Message::Binary(b"wake up".to_vec())).unwrap();
        assert_eq!(got_rx.recv_timeout(LIMIT).unwrap(), b"wake up");
        blocked.join().unwrap();
    }
}

#[test]
fn both_sides_write_8_mib_at_once_without_deadlock() {
    const SIZE: usize = 8 << 20;
    for (server, client) in pairs() {
        let start = Instant::now();
        let (server_stream, ws) = connected(server, client);
        let (client_stream, rest) = ws.into_parts();
        assert!(rest.is_empty());
        let MaybeTlsStream::Tls(client_stream) = client_stream else {
            panic!("not TLS")
        };
        let mut threads = Vec::new();
        for (stream, role, fill) in [
            (server_stream, Role::Server, 0x5Au8),
            (client_stream, Role::Client, 0xA5u8),
        ] {
            let (mut reader, mut writer) = stream.split();
            threads.push(thread::spawn(move || {
                send_frame(&mut writer, role, &vec![fill; SIZE]);
            }));
            let peer = if role == Role::Server { 0xA5 } else { 0x5A };
            threads.push(thread::spawn(move || {
                let mut frames = frame_reader(role);
                let payload = recv_frame(&mut reader, &mut frames);
                assert_eq!(payload.len(), SIZE);
                assert!(payload.iter().all(|&b| b == peer));
            }));
        }
        for t in threads {
            t.join().unwrap();
        }
        assert!(start.elapsed() < LIMIT, "{server:?}/{client:?}");
    }
}

#[test]
fn close_notify_then_fin_ends_the_peer_stream() {
    for (server, client) in pairs() {
        let (mut stream, ws) = connected(server, client);
        let (mut client_stream, _) = ws.into_parts();
        stream.shutdown_write().unwrap();
        let mut rest = Vec::new();
        // The client sees a clean end of stream, no error and no bytes.
        assert_eq!(client_stream.read_to_end(&mut rest).unwrap(), 0);
        // Writing after shutdown fails instead of sending into a closed stream.
        assert!(std::io::Write::write_all(&mut stream, b"late").is_err());
    }
}

#[test]
fn corrupt_record_is_invalid_data_and_the_session_answers_with_an_alert() {
    for (server, client) in pairs() {
        let (stream, ws) = connected(server, client);
        let (client_stream, _) = ws.into_parts();
        let mut raw = client_stream.tcp();
        // An application-data record whose 32 bytes do not authenticate.
        let mut record = vec![0x17, 0x03, 0x03, 0x00, 0x20];
        record.extend_from_slice(&[0xAB; 32]);
        std::io::Write::write_all(&mut raw, &record).unwrap();
        let (mut reader, _writer) = stream.split();
        let err = reader.read(&mut [0u8; 64]).unwrap_err();
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
fn halves_and_acceptor_cross_threads() {
    fn send<T: Send>() {}
    fn shared<T: Send + Sync>() {}
    send::<TlsStream>();
    send::<DuplexReader>();
    send::<DuplexWriter>();
    shared::<TlsAcceptor>();
    shared::<TlsConnector>();
}
