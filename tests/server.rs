//! The thread-per-client server, end to end over loopback. Every test binds
//! port 0 and bounds every wait.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

mod support;

use support::expect;

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
fn unknown_path_is_404_and_a_plain_get_to_a_websocket_path_is_426() {
    let (handler, _events) = recorder(true);
    let server = Server::builder()
        .route("/echo", handler)
        .bind("127.0.0.1:0")
        .unwrap();
    let url = format!("ws://{}/nowhere", server.local_addr());
    assert_eq!(status_of(WebSocket::connect(&url)).0, 404);
    assert_eq!(get(server.local_addr(), "/echo").0, 426);
    assert_eq!(
        get(server.local_addr(), "/").0,
        404,
        "no console unless asked"
    );
}

/// Accepts `/room?key=open` only; picks `chat.v2` when offered.
struct Guarded;

impl Handler for Guarded {
    fn handshake(&self, request: &Request) -> Result<Admission, Reject> {
        if request.query() != Some("key=open") {
            return Err(Reject::new(401, "key required").header("WWW-Authenticate", "Key"));
        }
        let mut admission = Admission::new()
            .header("X-Room", "lobby")
            .data(String::from("member"));
        if request.protocols().contains(&"chat.v2") {
            admission = admission.protocol("chat.v2");
        }
        Ok(admission)
    }

    fn on_open(&self, client: &Client) -> Result<(), Error> {
        let role = client.data::<String>().cloned().unwrap_or_default();
        client.send(Message::Text(format!(
            "{role} {}",
            client.protocol().unwrap_or("-")
        )))
    }
}

#[test]
fn handshake_hook_rejects_with_its_status_and_headers() {
    let server = Server::builder()
        .route("/room", Guarded)
        .bind("127.0.0.1:0")
        .unwrap();
    let url = format!("ws://{}/room?key=wrong", server.local_addr());
    let (status, headers) = status_of(WebSocket::connect(&url));
    assert_eq!(status, 401);
    assert!(headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("www-authenticate") && v == "Key"));
}

#[test]
fn handshake_hook_chooses_the_subprotocol_and_attaches_data() {
    let server = Server::builder()
        .route("/room", Guarded)
        .bind("127.0.0.1:0")
        .unwrap();
    let ws = WebSocket::builder(&format!("ws://{}/room?key=open", server.local_addr()))
        .protocol("chat.v1")
        .protocol("chat.v2")
        .config(client_config())
        .connect()
        .unwrap();
    assert_eq!(ws.protocol(), Some("chat.v2"));
    assert_eq!(ws.response().unwrap().headers.get("X-Room"), Some("lobby"));
    let mut conn = Connection::new(ws);
    assert_eq!(
        conn.recv().unwrap(),
        Some(Message::Text("member chat.v2".into()))
    );
}

#[test]
fn origin_off_the_allow_list_is_403() {
    let (handler, _events) = recorder(true);
    let server = Server::builder()
        .route("/echo", handler)
        .allowed_origins(["http://good.example"])
        .bind("127.0.0.1:0")
        .unwrap();
    let url = format!("ws://{}/echo", server.local_addr());
    let evil = WebSocket::builder(&url)
        .origin("http://evil.example")
        .connect();
    assert_eq!(status_of(evil).0, 403);
    let good = WebSocket::builder(&url)
        .origin("http://good.example")
        .connect();
    assert!(good.is_ok());
}

#[test]
fn connections_over_max_connections_get_503() {
    let (handler, _events) = recorder(true);
    let server = Server::builder()
        .config(Config::default().max_connections(2))
        .route("/echo", handler)
        .bind("127.0.0.1:0")
        .unwrap();
    let _a = connect(&server, "/echo");
    let _b = connect(&server, "/echo");
    let url = format!("ws://{}/echo", server.local_addr());
    let (status, headers) = status_of(WebSocket::connect(&url));
    assert_eq!(status, 503);
    assert!(headers.iter().any(|(n, _)| n == "Retry-After"));
    drop(_a);
    // The slot frees up once the first connection's thread is done.
    let deadline = Instant::now() + WAIT;
    while server.connections() >= 2 {
        assert!(Instant::now() < deadline, "connection never ended");
        thread::sleep(Duration::from_millis(10));
    }
    assert!(WebSocket::connect(&url).is_ok());
}

#[test]
fn a_slow_reader_never_stalls_the_others_and_is_closed_with_1008() {
    const FAST: usize = 20;
    const MESSAGES: usize = 400;
    let (handler, events) = recorder(false);
    let server = Server::builder()
        .config(
            Config::default()
                .max_write_buffer(256 << 10)
                .close_timeout(Duration::from_secs(1)),
        )
        .send_buffer_size(16 << 10)
        .route("/feed", handler)
        .bind("127.0.0.1:0")
        .unwrap();
    let slow = ws(&server, "/feed");
    socket2::SockRef::from(slow.get_ref().tcp())
        .set_recv_buffer_size(4 << 10)
        .unwrap();
    let slow_addr = slow.get_ref().tcp().local_addr().unwrap();
    let (progress_tx, progress) = channel::<(usize, usize)>();
    let readers: Vec<_> = (0..FAST)
        .map(|me| {
            let mut conn = connect(&server, "/feed");
            let progress = progress_tx.clone();
            thread::spawn(move || {
                for i in 0..MESSAGES {
                    let got = conn.recv().unwrap();
                    let Some(Message::Binary(data)) = got else {
                        panic!("binary expected at {i}: {got:?} {:?}", conn.close_frame());
                    };
                    assert_eq!(data.len(), 8 << 10);
                    assert_eq!(&data[..8], &(i as u64).to_be_bytes(), "in order");
                    progress.send((me, i + 1)).unwrap();
                }
                conn
            })
        })
        .collect();
    // The broadcaster never waits for the slow client; it only keeps within
    // 8 messages of the fast ones so that their queues stay small.
    let mut received = [0usize; FAST];
    let started = Instant::now();
    for i in 0..MESSAGES {
        while received.iter().min().unwrap() + 8 < i {
            let (who, count) = progress.recv_timeout(WAIT).expect("fast readers stalled");
            received[who] = count;
        }
        let mut data = vec![0u8; 8 << 10];
        data[..8].copy_from_slice(&(i as u64).to_be_bytes());
        server.broadcast(&Message::Binary(data));
    }
    let fast: Vec<_> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    assert!(started.elapsed() < Duration::from_secs(30));
    let error = expect(
        &events,
        |s| matches!(s, Seen::Error(a, _) if *a == slow_addr),
    );
    assert!(
        format!("{error:?}").contains("WriteBufferFull"),
        "{error:?}"
    );
    assert_eq!(
        expect(
            &events,
            |s| matches!(s, Seen::Close(a, ..) if *a == slow_addr)
        ),
        Seen::Close(slow_addr, 1008, "outgoing queue full".into())
    );
    assert!(server
        .clients()
        .list()
        .iter()
        .all(|c| c.peer_addr() != slow_addr));
    assert_eq!(server.clients().len(), FAST);
    drop((slow, fast));
}

#[test]
fn a_dead_peer_is_closed_with_1011_when_its_pong_does_not_come() {
    let (handler, events) = recorder(false);
    let server = Server::builder()
        .config(
            Config::default()
                .ping_interval(Some(Duration::from_millis(200)))
                .pong_timeout(Duration::from_millis(300)),
        )
        .route("/feed", handler)
        .bind("127.0.0.1:0")
        .unwrap();
    // Frame level: nothing answers pings unless we do.
    let mut mute = ws(&server, "/feed");
    let me = mute.get_ref().tcp().local_addr().unwrap();
    let started = Instant::now();
    let error = expect(&events, |s| matches!(s, Seen::Error(..)));
    assert_eq!(error, Seen::Error(me, "Timeout(Pong)".into()));
    assert_eq!(
        expect(&events, |s| matches!(s, Seen::Close(..))),
        Seen::Close(me, 1011, "no pong".into())
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    // On the wire: the ping, then the close frame with 1011.
    let ping = mute.recv().unwrap();
    assert_eq!(ping.opcode, OpCode::Ping);
    let close = mute.recv().unwrap();
    assert_eq!(close.opcode, OpCode::Close);
    assert_eq!(close.payload, b"\x03\xf3no pong");
}

#[test]
fn a_live_peer_answers_pings_and_stays() {
    let (handler, events) = recorder(true);
    let server = Server::builder()
        .config(
            Config::default()
                .ping_interval(Some(Duration::from_millis(50)))
                .pong_timeout(Duration::from_millis(200)),
        )
        .route("/echo", handler)
        .bind("127.0.0.1:0")
        .unwrap();
    let mut conn = connect(&server, "/echo");
    let mut pings = 0;
    let deadline = Instant::now() + Duration::from_millis(600);
    while Instant::now() < deadline {
        conn.send(Message::Text("x".into())).unwrap();
        assert_eq!(conn.recv().unwrap(), Some(Message::Text("x".into())));
        thread::sleep(Duration::from_millis(20));
        pings += 1;
    }
    assert!(pings > 5);
    assert!(!events.try_iter().any(|s| matches!(s, Seen::Close(..))));
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

#[test]
fn a_broadcast_sent_after_the_handshake_always_arrives() {
    let (handler, _events) = recorder(false);
    let server = Arc::new(
        Server::builder()
            .route("/feed", handler)
            .bind("127.0.0.1:0")
            .unwrap(),
    );
    let started = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicUsize::new(0));
    let broadcaster = {
        let (server, started, stop) = (server.clone(), started.clone(), stop.clone());
        thread::spawn(move || {
            let mut i = 0u64;
            while stop.load(Ordering::SeqCst) == 0 {
                // Counted before it starts: a broadcast numbered n or more
                // started after a client saw `started == n`.
                started.store(i as usize + 1, Ordering::SeqCst);
                server.broadcast(&Message::Binary(i.to_be_bytes().to_vec()));
                i += 1;
                thread::sleep(Duration::from_micros(200));
            }
        })
    };
    for _ in 0..20 {
        let mut conn = connect(&server, "/feed");
        let first_due = started.load(Ordering::SeqCst) as u64;
        let mut expected = None;
        while expected.map_or(true, |e| e < first_due + 20) {
            let Some(Message::Binary(b)) = conn.recv().unwrap() else {
                panic!("binary expected")
            };
            let n = u64::from_be_bytes(b.try_into().unwrap());
            if let Some(e) = expected {
                assert_eq!(n, e, "a gap in the broadcasts");
            } else {
                assert!(n <= first_due, "missed broadcast {first_due} (got {n})");
            }
            expected = Some(n + 1);
        }
    }
    stop.store(1, Ordering::SeqCst);
    broadcaster.join().unwrap();
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

#[test]
fn a_silent_connection_gets_408_at_the_handshake_deadline() {
    let (handler, _events) = recorder(true);
    let server = Server::builder()
        .config(Config::default().handshake_timeout(Duration::from_millis(300)))
        .route("/echo", handler)
        .bind("127.0.0.1:0")
        .unwrap();
    let mut tcp = TcpStream::connect(server.local_addr()).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    tcp.write_all(b"GET /echo HTTP/1.1\r\n").unwrap();
    let started = Instant::now();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn console_and_files_are_served_with_their_types_and_traversal_is_refused() {
    let base = std::env::temp_dir().join(format!("stdws-server-files-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(base.join("www")).unwrap();
    std::fs::write(base.join("www/app.js"), "let x = 1;").unwrap();
    std::fs::write(base.join("www/logo.png"), [0x89, b'P', b'N', b'G']).unwrap();
    std::fs::write(base.join("secret.txt"), "secret").unwrap();
    std::os::unix::fs::symlink(base.join("secret.txt"), base.join("www/escape.txt")).unwrap();
    let (handler, _events) = recorder(true);
    let server = Server::builder()
        .route("/echo", handler)
        .document_root(base.join("www"))
        .console(true)
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = server.local_addr();

    let (status, head, body) = get(addr, "/");
    assert_eq!(status, 200);
    assert!(head.contains("Content-Type: text/html; charset=utf-8\r\n"));
    assert!(String::from_utf8(body).unwrap().contains("selftest"));

    let (status, head, body) = get(addr, "/app.js");
    assert_eq!(status, 200);
    assert!(head.contains("Content-Type: text/javascript; charset=utf-8\r\n"));
    assert!(head.contains("Content-Length: 10\r\n"));
    assert_eq!(body, b"let x = 1;");
    let (status, head, body) = http(addr, "HEAD /logo.png HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, 200);
    assert!(head.contains("Content-Type: image/png\r\nContent-Length: 4\r\n"));
    assert!(body.is_empty(), "HEAD has no body");

    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/..%2fsecret.txt",
        "/..%5csecret.txt",
    ] {
        let (status, _, body) = get(addr, path);
        assert_eq!(status, 404, "{path}");
        assert!(!String::from_utf8_lossy(&body).contains("secret\n"));
    }
    let (status, _, body) = get(addr, "/escape.txt");
    assert_eq!(status, 403, "a symlink out of the root");
    assert_ne!(body, b"secret");
    let (status, head, _) = http(addr, "POST /app.js HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, 405);
    assert!(head.contains("Allow: GET, HEAD\r\n"));
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn clients_send_from_other_threads_while_their_thread_is_blocked() {
    let (handler, events) = recorder(false);
    let server = Server::builder()
        .route("/feed", handler)
        .bind("127.0.0.1:0")
        .unwrap();
    let mut conn = connect(&server, "/feed");
    expect(&events, |s| matches!(s, Seen::Open(_)));
    let client = server.clients().list().pop().unwrap();
    assert!(client.is_open());
    // The client's thread is blocked reading; these come from this thread.
    client.send(Message::Text("one".into())).unwrap();
    client.ping(b"p").unwrap();
    client.send_binary(b"two").unwrap();
    client.close(CloseCode(4001), "later").unwrap();
    assert!(!client.is_open());
    assert_eq!(conn.recv().unwrap(), Some(Message::Text("one".into())));
    assert_eq!(conn.recv().unwrap(), Some(Message::Binary(b"two".to_vec())));
    assert_eq!(conn.recv().unwrap(), None);
    assert_eq!(
        conn.close_frame(),
        Some(CloseFrame::new(CloseCode(4001), "later"))
    );
    assert!(matches!(
        expect(&events, |s| matches!(s, Seen::Close(..))),
        Seen::Close(_, 4001, _)
    ));
    assert!(matches!(
        client.send(Message::Text("gone".into())),
        Err(Error::Closed)
    ));
}

/// A toy data-transforming extension: payloads inverted, RSV1 set.
struct Flip;

struct FlipCoder;

impl stdws::extension::FrameEncoder for FlipCoder {
    fn encode(
        &mut self,
        header: &mut stdws::FrameHeader,
        payload: &[u8],
        out: &mut Vec<u8>,
        _: &stdws::SendOptions,
    ) -> Result<bool, Error> {
        header.rsv = stdws::Rsv::RSV1;
        out.extend(payload.iter().map(|b| !b));
        Ok(true)
    }
}

impl stdws::extension::FrameDecoder for FlipCoder {
    fn accepts(&mut self, header: &stdws::FrameHeader) -> Result<bool, stdws::ProtocolError> {
        Ok(header.rsv.contains(stdws::Rsv::RSV1))
    }
    fn decode(
        &mut self,
        header: &mut stdws::FrameHeader,
        payload: &[u8],
        out: &mut Vec<u8>,
        _: usize,
    ) -> Result<(), Error> {
        header.rsv = stdws::Rsv::NONE;
        out.extend(payload.iter().map(|b| !b));
        Ok(())
    }
}

impl stdws::extension::ExtensionFactory for Flip {
    fn name(&self) -> &str {
        "x-flip"
    }
    fn rsv(&self) -> stdws::Rsv {
        stdws::Rsv::RSV1
    }
    fn offers(&self) -> Vec<Vec<stdws::extension::Param>> {
        vec![Vec::new()]
    }
    fn accept_offers(
        &self,
        _: &[&[stdws::extension::Param]],
    ) -> Option<(Vec<stdws::extension::Param>, stdws::extension::Negotiated)> {
        Some((Vec::new(), negotiated()))
    }
    fn accept_response(
        &self,
        _: &[stdws::extension::Param],
    ) -> Result<stdws::extension::Negotiated, String> {
        Ok(negotiated())
    }
}

fn negotiated() -> stdws::extension::Negotiated {
    stdws::extension::Negotiated {
        encoder: Box::new(FlipCoder),
        decoder: Box::new(FlipCoder),
    }
}

#[test]
fn a_broadcast_goes_through_the_encoder_of_clients_whose_extension_transforms_data() {
    let (handler, _events) = recorder(false);
    let server = Server::builder()
        .config(Config::default().extension(Flip))
        .route("/feed", handler)
        .bind("127.0.0.1:0")
        .unwrap();
    let url = format!("ws://{}/feed", server.local_addr());
    let mut plain = ws(&server, "/feed");
    let mut flipped = WebSocket::builder(&url)
        .config(client_config().extension(Flip))
        .connect()
        .unwrap();
    assert_eq!(flipped.extensions()[0].name, "x-flip");
    assert_eq!(server.broadcast(&Message::Binary(vec![0x0F, 0xF0])), 2);
    // The shared frame for the client without the extension...
    let frame = plain.recv().unwrap();
    assert!(frame.rsv.is_empty());
    assert_eq!(frame.payload, [0x0F, 0xF0]);
    // ...and the extension's own encoding for the other.
    let frame = flipped.recv().unwrap();
    assert_eq!(frame.rsv, stdws::Rsv::RSV1);
    assert_eq!(frame.payload, [0xF0, 0x0F]);
}

#[test]
fn a_client_that_stops_reading_is_closed_with_1008_at_the_write_timeout() {
    let (handler, events) = recorder(false);
    let server = Server::builder()
        .config(
            Config::default()
                .write_timeout(Some(Duration::from_millis(300)))
                .max_write_buffer(64 << 20),
        )
        .send_buffer_size(16 << 10)
        .route("/feed", handler)
        .bind("127.0.0.1:0")
        .unwrap();
    let stuck = ws(&server, "/feed");
    socket2::SockRef::from(stuck.get_ref().tcp())
        .set_recv_buffer_size(4 << 10)
        .unwrap();
    let me = stuck.get_ref().tcp().local_addr().unwrap();
    let started = Instant::now();
    for _ in 0..256 {
        // Never blocks, though nobody reads: the backlog waits in the queue.
        server.broadcast(&Message::Binary(vec![0; 8 << 10]));
    }
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(
        expect(&events, |s| matches!(s, Seen::Error(..))),
        Seen::Error(me, "Timeout(Write)".into())
    );
    assert_eq!(
        expect(&events, |s| matches!(s, Seen::Close(..))),
        Seen::Close(me, 1008, "write timed out".into())
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(stuck);
}

#[test]
fn an_idle_client_is_closed_with_1001_after_the_read_timeout() {
    let (handler, events) = recorder(false);
    let server = Server::builder()
        .config(Config::default().read_timeout(Some(Duration::from_millis(200))))
        .route("/feed", handler)
        .bind("127.0.0.1:0")
        .unwrap();
    let mut idle = connect(&server, "/feed");
    let me = idle.get_ref().tcp().local_addr().unwrap();
    assert_eq!(idle.recv().unwrap(), None);
    assert_eq!(
        idle.close_frame(),
        Some(CloseFrame::new(CloseCode::GOING_AWAY, "idle timeout"))
    );
    assert_eq!(
        expect(&events, |s| matches!(s, Seen::Error(..))),
        Seen::Error(me, "Timeout(Read)".into())
    );
    assert_eq!(
        expect(&events, |s| matches!(s, Seen::Close(..))),
        Seen::Close(me, 1001, "idle timeout".into())
    );
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
