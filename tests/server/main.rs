//! The thread-per-client server, end to end over loopback: every server
//! scenario sits here (over wss: tests/tls). Every test binds port 0 and
//! bounds every wait. Messages, handlers and the lifecycle in this file;
//! what the handshake answers in `handshake`; slow, dead and idle peers,
//! sends from other threads and broadcasts in `flow`.

mod flow;
mod handshake;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use stdws::{
    Admission, Client, CloseCode, CloseFrame, Config, Connection, Error, Frame, Handler,
    HandshakeError, MaybeTlsStream, Message, OpCode, Reject, Request, Server, WebSocket,
};

const WAIT: Duration = Duration::from_secs(10);

/// What a server's handler saw.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Open(SocketAddr),
    Message(SocketAddr, Message),
    Close(SocketAddr, u16, String),
    Error(SocketAddr, String),
}

/// Records every event; echoes messages when `echo` is set.
struct Recorder {
    events: Mutex<Sender<Seen>>,
    echo: bool,
}

fn recorder(echo: bool) -> (Recorder, Receiver<Seen>) {
    let (tx, rx) = channel();
    (
        Recorder {
            events: Mutex::new(tx),
            echo,
        },
        rx,
    )
}

impl Recorder {
    fn note(&self, seen: Seen) {
        let _ = self.events.lock().unwrap().send(seen);
    }
}

impl Handler for Recorder {
    fn on_open(&self, client: &Client) -> Result<(), Error> {
        self.note(Seen::Open(client.peer_addr()));
        Ok(())
    }
    fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
        if self.echo {
            client.send(message.clone())?;
        }
        self.note(Seen::Message(client.peer_addr(), message));
        Ok(())
    }
    fn on_close(&self, client: &Client, code: CloseCode, reason: &str) {
        self.note(Seen::Close(client.peer_addr(), code.0, reason.to_owned()));
    }
    fn on_error(&self, client: &Client, error: &Error) {
        self.note(Seen::Error(client.peer_addr(), format!("{error:?}")));
    }
}

/// The next event that matches, within `WAIT`.
fn expect(rx: &Receiver<Seen>, what: impl Fn(&Seen) -> bool) -> Seen {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(seen) if what(&seen) => return seen,
            Ok(_) => {}
            Err(e) => panic!("no matching event: {e}"),
        }
    }
}

fn client_config() -> Config {
    Config::default().read_timeout(Some(WAIT))
}

fn ws(server: &Server, path: &str) -> WebSocket<MaybeTlsStream> {
    WebSocket::builder(&format!("ws://{}{path}", server.local_addr()))
        .config(client_config())
        .connect()
        .unwrap()
}

fn connect(server: &Server, path: &str) -> Connection<MaybeTlsStream> {
    Connection::new(ws(server, path))
}

fn status_of(result: Result<WebSocket<MaybeTlsStream>, Error>) -> (u16, Vec<(String, String)>) {
    match result {
        Err(Error::Handshake(HandshakeError::UnexpectedStatus {
            status, headers, ..
        })) => (status, headers),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// One raw HTTP exchange: status, head, body.
fn http(addr: SocketAddr, request: &str) -> (u16, String, Vec<u8>) {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    tcp.write_all(request.as_bytes()).unwrap();
    let mut all = Vec::new();
    tcp.read_to_end(&mut all).unwrap();
    let end = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head")
        + 4;
    let head = String::from_utf8(all[..end].to_vec()).unwrap();
    let status = head[9..12].parse().unwrap();
    (status, head, all[end..].to_vec())
}

fn get(addr: SocketAddr, path: &str) -> (u16, String, Vec<u8>) {
    http(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n"),
    )
}

#[test]
fn echo_text_and_binary_come_back_and_on_close_gets_the_peer_code() {
    let (handler, events) = recorder(true);
    let server = Server::builder()
        .route("/echo", handler)
        .bind("127.0.0.1:0")
        .unwrap();
    let mut conn = connect(&server, "/echo");
    let me = conn.get_ref().tcp().local_addr().unwrap();
    assert_eq!(expect(&events, |_| true), Seen::Open(me));
    conn.send(Message::Text("héllo".into())).unwrap();
    assert_eq!(conn.recv().unwrap(), Some(Message::Text("héllo".into())));
    let big: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
    conn.send(Message::Binary(big.clone())).unwrap();
    assert_eq!(conn.recv().unwrap(), Some(Message::Binary(big)));
    conn.close(CloseCode(4000), "done").unwrap();
    assert_eq!(
        conn.close_frame(),
        Some(CloseFrame::new(CloseCode(4000), ""))
    );
    assert_eq!(
        expect(&events, |s| matches!(s, Seen::Close(..))),
        Seen::Close(me, 4000, "done".into())
    );
}

/// Broadcasts every message to everyone on `/chat`.
struct Chat;

impl Handler for Chat {
    fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
        client.clients().broadcast(&message);
        Ok(())
    }
}

#[test]
fn chat_with_50_clients_delivers_every_message_once_in_order_per_sender() {
    const CLIENTS: usize = 50;
    const EACH: usize = 5;
    let server = Server::builder()
        .route("/chat", Chat)
        .bind("127.0.0.1:0")
        .unwrap();
    // All connected (and so registered) before anyone speaks.
    let conns: Vec<_> = (0..CLIENTS).map(|_| connect(&server, "/chat")).collect();
    assert_eq!(server.clients().len(), CLIENTS);
    let threads: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(me, mut conn)| {
            thread::spawn(move || {
                for k in 0..EACH {
                    conn.send(Message::Text(format!("{me}:{k}"))).unwrap();
                }
                let mut next = vec![0usize; CLIENTS];
                for _ in 0..CLIENTS * EACH {
                    let Some(Message::Text(text)) = conn.recv().unwrap() else {
                        panic!("text expected");
                    };
                    let (from, k) = text.split_once(':').unwrap();
                    let (from, k): (usize, usize) = (from.parse().unwrap(), k.parse().unwrap());
                    assert_eq!(k, next[from], "client {me}: from {from} out of order");
                    next[from] += 1;
                }
                assert!(next.iter().all(|&n| n == EACH));
                conn
            })
        })
        .collect();
    let conns: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    drop(conns);
}

#[test]
fn shutdown_sends_1001_to_every_client_and_returns_within_its_deadline() {
    let (handler, events) = recorder(true);
    let server = Server::builder()
        .route("/echo", handler)
        .shutdown_timeout(Duration::from_secs(1))
        .bind("127.0.0.1:0")
        .unwrap();
    let readers: Vec<_> = (0..5)
        .map(|_| {
            let mut conn = connect(&server, "/echo");
            thread::spawn(move || {
                assert_eq!(conn.recv().unwrap(), None);
                conn.close_frame().unwrap().code
            })
        })
        .collect();
    // One client that never reads nor answers.
    let mut mute = ws(&server, "/echo");
    for _ in 0..6 {
        expect(&events, |s| matches!(s, Seen::Open(_)));
    }
    let started = Instant::now();
    server.shutdown();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "shutdown took {took:?}");
    for reader in readers {
        assert_eq!(reader.join().unwrap(), CloseCode::GOING_AWAY);
    }
    let close = mute.recv().unwrap();
    assert_eq!(close.opcode, OpCode::Close);
    assert_eq!(&close.payload[..2], &1001u16.to_be_bytes());
    let closes = events
        .try_iter()
        .filter(|s| matches!(s, Seen::Close(..)))
        .count();
    assert_eq!(
        closes, 6,
        "on_close for every client before shutdown returns"
    );
    // Nothing listens any more.
    assert!(TcpStream::connect(server.local_addr()).is_err());
}

/// Answers a peer's close with its own code.
struct Stubborn;

impl Handler for Stubborn {
    fn passive_close(&self, _: &Client, frame: Option<&CloseFrame>) -> Option<CloseFrame> {
        let code = frame.map_or(0, |f| f.code.0);
        Some(CloseFrame::new(CloseCode(4321), format!("you said {code}")))
    }
}

#[test]
fn the_passive_close_hook_chooses_the_answer() {
    let server = Server::builder()
        .route("/x", Stubborn)
        .bind("127.0.0.1:0")
        .unwrap();
    let mut conn = connect(&server, "/x");
    conn.close(CloseCode::NORMAL, "bye").unwrap();
    assert_eq!(
        conn.close_frame(),
        Some(CloseFrame::new(CloseCode(4321), "you said 1000"))
    );
}

/// Fails on a message that says so.
struct Picky;

impl Handler for Picky {
    fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
        if message.as_text() == Some("bad") {
            return Err(Error::Usage("bad input"));
        }
        client.send(message)
    }
}

#[test]
fn a_handler_error_closes_the_client_with_1011() {
    let server = Server::builder()
        .route("/x", Picky)
        .bind("127.0.0.1:0")
        .unwrap();
    let mut conn = connect(&server, "/x");
    conn.send(Message::Text("ok".into())).unwrap();
    assert_eq!(conn.recv().unwrap(), Some(Message::Text("ok".into())));
    conn.send(Message::Text("bad".into())).unwrap();
    assert_eq!(conn.recv().unwrap(), None);
    let frame = conn.close_frame().unwrap();
    assert_eq!(frame.code, CloseCode::INTERNAL_ERROR);
    assert_eq!(frame.reason, "invalid use: bad input");
}

#[test]
fn a_protocol_violation_is_closed_with_1002_and_reported() {
    let (handler, events) = recorder(true);
    let server = Server::builder()
        .route("/echo", handler)
        .bind("127.0.0.1:0")
        .unwrap();
    let mut raw = ws(&server, "/echo");
    let me = raw.get_ref().tcp().local_addr().unwrap();
    // A reserved opcode.
    let mut frame = Frame::binary(b"x".to_vec());
    frame.opcode = OpCode::Reserved(3);
    raw.send(&frame).unwrap();
    let close = raw.recv().unwrap();
    assert_eq!(close.opcode, OpCode::Close);
    assert_eq!(&close.payload[..2], &1002u16.to_be_bytes());
    assert!(
        matches!(expect(&events, |s| matches!(s, Seen::Error(..))), Seen::Error(a, e) if a == me && e.contains("ReservedOpCode(3)"))
    );
    assert!(matches!(
        expect(&events, |s| matches!(s, Seen::Close(..))),
        Seen::Close(_, 1002, _)
    ));
}

/// Panics on any message.
struct Buggy;

impl Handler for Buggy {
    fn on_message(&self, _: &Client, _: Message) -> Result<(), Error> {
        panic!("a bug in a handler");
    }
}

#[test]
fn a_panicking_handler_ends_its_client_and_frees_its_slot() {
    let server = Server::builder()
        .config(Config::default().max_connections(1))
        .route("/x", Buggy)
        .bind("127.0.0.1:0")
        .unwrap();
    let mut conn = connect(&server, "/x");
    conn.send(Message::Text("boom".into())).unwrap();
    assert!(conn.recv().is_err(), "the connection is dropped");
    let deadline = Instant::now() + WAIT;
    while server.connections() > 0 || !server.clients().is_empty() {
        assert!(Instant::now() < deadline, "slot never freed");
        thread::sleep(Duration::from_millis(10));
    }
    // The one slot is free again.
    let mut again = connect(&server, "/x");
    again.close(CloseCode::NORMAL, "").unwrap();
}
