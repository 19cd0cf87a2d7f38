//! `WebSocket::split`: a receiving half blocked in `recv` on one thread
//! while other threads send, over ws:// and over wss:// with every TLS
//! backend; closes from either side; a server-side split.
#![cfg(unix)]

mod support;
mod tls_support;

use std::collections::HashMap;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use stdws::{
    CloseCode, Config, Connection, Error, Frame, Listener, Message, OpCode, PerMessageDeflate,
    RecvHalf, SendHalf, ServerHandshake, WebSocket,
};
use tls_support::{serve, LIMIT};

/// What the test server saw of one connection: every message, in order,
/// as it arrived, then how the connection ended.
enum Seen {
    Message(Message),
    Ended(Result<Option<(u16, String)>, String>),
}

/// How the test server answers each message.
#[derive(Clone, Copy)]
enum Reply {
    /// Echo it.
    Echo,
    /// Close with 4001 "go away" after the first message.
    CloseAfterFirst,
}

/// Runs one server connection over `stream`: reports every message on
/// `seen` as soon as it arrives, and answers per `reply`.
fn run_server<S: stdws::Stream>(
    ws: WebSocket<S>,
    reply: Reply,
    seen: &mpsc::Sender<Seen>,
) -> Result<Option<(u16, String)>, Error> {
    let mut conn = Connection::new(ws);
    while let Some(message) = conn.recv()? {
        let _ = seen.send(Seen::Message(message.clone()));
        match reply {
            Reply::Echo => conn.send(message)?,
            Reply::CloseAfterFirst => {
                conn.close(CloseCode(4001), "go away")?;
                break;
            }
        }
    }
    Ok(conn.close_frame().map(|f| (f.code.0, f.reason)))
}

/// A server for one connection, plain or (with `tls`) over TLS.
fn server(
    reply: Reply,
    #[cfg(any(feature = "tls", feature = "rustls"))] tls: Option<stdws::TlsAcceptor>,
) -> (u16, mpsc::Receiver<Seen>) {
    let (tx, rx) = mpsc::channel();
    let (port, _) = serve(1, move |_, tcp| {
        let deadline = Instant::now() + LIMIT;
        // Compression when the client offers it.
        let config = Config::default().deflate(PerMessageDeflate::new());
        let ended = (|| {
            #[cfg(any(feature = "tls", feature = "rustls"))]
            if let Some(acceptor) = &tls {
                let tls = acceptor.accept(tcp, deadline)?;
                let ws = ServerHandshake::read_until(tls, config, deadline)?
                    .accept(stdws::Accept::new())?;
                return run_server(ws, reply, &tx);
            }
            let ws =
                ServerHandshake::read_until(tcp, config, deadline)?.accept(stdws::Accept::new())?;
            run_server(ws, reply, &tx)
        })();
        let _ = tx.send(Seen::Ended(ended.map_err(|e| e.to_string())));
    });
    (port, rx)
}

fn next_message(seen: &mpsc::Receiver<Seen>) -> Message {
    match seen.recv_timeout(LIMIT).expect("the server saw nothing") {
        Seen::Message(m) => m,
        Seen::Ended(e) => panic!("the server connection ended: {e:?}"),
    }
}

fn ending(seen: &mpsc::Receiver<Seen>) -> Result<Option<(u16, String)>, String> {
    loop {
        if let Seen::Ended(e) = seen.recv_timeout(LIMIT).expect("the server did not end") {
            return e;
        }
    }
}

/// The receiving thread: it ends with the receiving half and its last
/// result.
type Reading = thread::JoinHandle<(RecvHalf, Result<(), Error>)>;

/// Receives on another thread, reporting each message.
fn receive_in_background(mut receiver: RecvHalf) -> (mpsc::Receiver<Message>, Reading) {
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        let result = loop {
            match receiver.recv() {
                Ok(Some(m)) => {
                    let _ = tx.send(m);
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        (receiver, result)
    });
    (rx, handle)
}

/// Filler that makes each message of the scenario worth compressing.
const PADDING: &str = "the quick brown fox jumps over the lazy dog, again and again and again";

/// The whole scenario over one connected client: a send while the
/// receiver is blocked, 4 senders × 2,500 messages while it receives the
/// echoes, then a close from the sending half.
fn full_duplex(ws: WebSocket<stdws::MaybeTlsStream>, seen: mpsc::Receiver<Seen>) {
    let (sender, receiver) = ws.split().expect("split");
    let (echoes, reading) = receive_in_background(receiver);
    // The receiver is blocked: nothing comes until we send.
    assert!(echoes.recv_timeout(Duration::from_millis(100)).is_err());
    let other = sender.clone();
    thread::spawn(move || other.send_text("from another thread").unwrap())
        .join()
        .unwrap();
    assert_eq!(
        next_message(&seen),
        Message::Text("from another thread".into())
    );
    assert_eq!(
        echoes.recv_timeout(LIMIT).unwrap(),
        Message::Text("from another thread".into())
    );

    let senders: Vec<_> = (0..4)
        .map(|t| {
            let sender: SendHalf = sender.clone();
            thread::spawn(move || {
                for i in 0..2_500 {
                    // Long enough to be compressed with permessage-deflate.
                    sender.send_text(&format!("{t} {i} {PADDING}")).unwrap();
                }
            })
        })
        .collect();
    let mut next = HashMap::new();
    for _ in 0..10_000 {
        let Message::Text(text) = echoes.recv_timeout(LIMIT).expect("an echo") else {
            panic!("a binary echo");
        };
        let mut words = text.splitn(3, ' ');
        let (t, i) = (words.next().unwrap(), words.next().unwrap());
        assert_eq!(words.next(), Some(PADDING));
        let expected = next.entry(t.to_owned()).or_insert(0);
        assert_eq!(i.parse::<i32>().unwrap(), *expected, "order of sender {t}");
        *expected += 1;
    }
    for s in senders {
        s.join().unwrap();
    }
    assert!(next.values().all(|&n| n == 2_500));

    sender.close(CloseCode::NORMAL, "done").unwrap();
    assert!(!sender.is_open());
    let (receiver, result) = reading.join().unwrap();
    result.expect("the receiver ends cleanly");
    // The server echoed our code (without a reason).
    let frame = receiver.close_frame().expect("closed");
    assert_eq!((frame.code, frame.reason.as_str()), (CloseCode::NORMAL, ""));
    // Messages still arriving at the server, then its end: our 1000.
    assert_eq!(ending(&seen), Ok(Some((1000, "done".into()))));
    assert!(matches!(sender.send_text("late"), Err(Error::Closed)));
}

#[test]
fn split_over_ws_sends_while_the_receiver_is_blocked() {
    let (port, seen) = server(
        Reply::Echo,
        #[cfg(any(feature = "tls", feature = "rustls"))]
        None,
    );
    let ws = WebSocket::connect(&format!("ws://127.0.0.1:{port}/")).unwrap();
    full_duplex(ws, seen);
}

#[test]
fn split_with_compression_keeps_one_compression_context_in_wire_order() {
    // Context takeover: each message is compressed against the ones before
    // it on the wire, so four threads sending at once must not interleave
    // compression and writing.
    let (port, seen) = server(
        Reply::Echo,
        #[cfg(any(feature = "tls", feature = "rustls"))]
        None,
    );
    let ws = WebSocket::builder(&format!("ws://127.0.0.1:{port}/"))
        .config(Config::default().deflate(PerMessageDeflate::new()))
        .connect()
        .unwrap();
    assert_eq!(ws.extensions()[0].name, "permessage-deflate");
    full_duplex(ws, seen);
}

#[cfg(any(feature = "tls", feature = "rustls"))]
#[test]
fn split_over_wss_sends_while_the_receiver_is_blocked_with_every_backend() {
    use stdws::tls::{Identity, TlsBackend, TlsConnector};
    let ca = tls_support::certs::TestCa::new("split test CA");
    let leaf = ca.server(&["localhost"]);
    for &backend in TlsBackend::all() {
        let acceptor = stdws::TlsAcceptor::builder(Identity::from_pem(
            leaf.chain_pem.as_bytes(),
            leaf.key_pem.as_bytes(),
        ))
        .backend(backend)
        .build()
        .unwrap();
        let (port, seen) = server(Reply::Echo, Some(acceptor));
        let ws = WebSocket::builder(&format!("wss://localhost:{port}/"))
            .tls(
                TlsConnector::new()
                    .backend(backend)
                    .system_roots(false)
                    .add_root_pem(ca.cert_pem.as_bytes()),
            )
            .connect()
            .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
        full_duplex(ws, seen);
    }
}

#[test]
fn the_peers_close_ends_the_receiver_and_later_sends_fail() {
    let (port, seen) = server(
        Reply::CloseAfterFirst,
        #[cfg(any(feature = "tls", feature = "rustls"))]
        None,
    );
    let (sender, mut receiver) = WebSocket::connect(&format!("ws://127.0.0.1:{port}/"))
        .unwrap()
        .split()
        .unwrap();
    sender.send(Message::Binary(vec![1, 2, 3])).unwrap();
    assert_eq!(receiver.recv().unwrap(), None);
    let frame = receiver.close_frame().unwrap();
    assert_eq!((frame.code.0, frame.reason.as_str()), (4001, "go away"));
    assert!(receiver.is_closed());
    assert!(matches!(receiver.recv(), Err(Error::Closed)));
    assert_eq!(next_message(&seen), Message::Binary(vec![1, 2, 3]));
    // Our answer echoed the server's code.
    assert_eq!(ending(&seen), Ok(Some((4001, String::new()))));
    assert!(!sender.is_open());
    assert!(matches!(sender.send_text("late"), Err(Error::Closed)));
    assert!(matches!(
        sender.close(CloseCode(1005), ""),
        Err(Error::Usage(_))
    ));
}

#[test]
fn a_server_connection_splits_and_fails_bad_text_with_1007() {
    let listener = Listener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (sender, mut receiver) = listener.accept().unwrap().split().unwrap();
        // A greeting from another thread before anything is read.
        thread::spawn(move || sender.send_text("welcome").unwrap())
            .join()
            .unwrap();
        let first = receiver.recv().unwrap();
        let second = receiver.recv();
        (first, second)
    });
    let mut ws = WebSocket::connect(&format!("ws://{addr}/")).unwrap();
    let greeting = ws.recv().unwrap();
    assert_eq!(
        (greeting.opcode, greeting.payload.as_slice()),
        (OpCode::Text, &b"welcome"[..])
    );
    ws.send(&Frame::text("fine")).unwrap();
    ws.send(&Frame::new(OpCode::Text, vec![b'a', 0xff]))
        .unwrap();
    let close = ws.recv().unwrap();
    assert_eq!(close.opcode, OpCode::Close);
    assert_eq!(
        u16::from_be_bytes([close.payload[0], close.payload[1]]),
        1007
    );
    drop(ws); // the server waits for our FIN after its close frame
    let (first, second) = server.join().unwrap();
    assert_eq!(first, Some(Message::Text("fine".into())));
    assert_eq!(second.unwrap_err().close_code(), Some(CloseCode(1007)));
}

#[test]
fn a_frame_right_behind_the_101_reaches_the_receiving_half() {
    let (addr, _) = support::fake_server(
        |key| [support::ok_101(key, ""), vec![0x81, 0x02, b'h', b'i']].concat(),
        |mut s| {
            support::read_to_end(&mut s);
        },
    );
    let (_sender, mut receiver) = WebSocket::connect(&format!("ws://{addr}/"))
        .unwrap()
        .split()
        .unwrap();
    assert_eq!(receiver.recv().unwrap(), Some(Message::Text("hi".into())));
}
