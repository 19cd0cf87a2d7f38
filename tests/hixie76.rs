//! The opt-in hixie-76 server mode end to end over loopback: the draft's
//! handshake byte for byte, echo, mixed chat with RFC 6455 clients,
//! closes from either side, shutdown, and the rules a hixie-76 client
//! shares with every other (routes, origins, authentication, the hook).

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use stdws::handshake::auth::Authenticator;
use stdws::{
    Admission, Client, CloseCode, Config, Connection, Error, Handler, Message, Reject, Request,
    Server, ServerBuilder,
};
use support::hixie76::{self, ANSWER, KEY3};
use support::{expect, read_head, read_to_end, PATIENCE};

/// What the handler saw.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Open(SocketAddr, bool),
    Message(SocketAddr, Message),
    Close(SocketAddr, u16),
    Error(SocketAddr, String),
    BinarySend(String),
}

/// Broadcasts every message to every client (a chat), and tries to send
/// binary to each new client.
struct Chat {
    events: Mutex<Sender<Seen>>,
}

impl Chat {
    fn note(&self, seen: Seen) {
        let _ = self.events.lock().unwrap().send(seen);
    }
}

impl Handler for Chat {
    fn handshake(&self, request: &Request) -> Result<Admission, Reject> {
        if request.path() == "/private" {
            return Err(Reject::new(403, "private"));
        }
        let mut admission = Admission::new();
        if request.protocols().contains(&"sample") {
            admission = admission.protocol("sample");
        }
        Ok(admission)
    }

    fn on_open(&self, client: &Client) -> Result<(), Error> {
        let hixie = client.request().is_hixie76();
        self.note(Seen::Open(client.peer_addr(), hixie));
        if hixie {
            let refused = client.send(Message::Binary(vec![1, 2, 3])).unwrap_err();
            self.note(Seen::BinarySend(format!("{refused:?}")));
        }
        Ok(())
    }

    fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
        self.note(Seen::Message(client.peer_addr(), message.clone()));
        client.clients().broadcast(&message);
        Ok(())
    }

    fn on_close(&self, client: &Client, code: CloseCode, _reason: &str) {
        self.note(Seen::Close(client.peer_addr(), code.0));
    }

    fn on_error(&self, client: &Client, error: &Error) {
        self.note(Seen::Error(client.peer_addr(), format!("{error:?}")));
    }
}

fn start(builder: ServerBuilder) -> (Server, Receiver<Seen>) {
    let (tx, rx) = channel();
    let server = builder
        .fallback(Chat {
            events: Mutex::new(tx),
        })
        .bind("127.0.0.1:0")
        .unwrap();
    (server, rx)
}

fn hixie_server() -> (Server, Receiver<Seen>) {
    start(Server::builder().hixie76(true))
}

/// The server ended the connection (its closing frame already read)
/// with nothing more, and the handler saw `code`.
fn assert_ended(tcp: &mut TcpStream, rx: &Receiver<Seen>, code: u16) {
    let me = tcp.local_addr().unwrap();
    assert!(read_to_end(tcp).is_empty());
    assert_eq!(
        expect(rx, |s| matches!(s, Seen::Close(..))),
        Seen::Close(me, code)
    );
}

/// A raw connection that has sent `request` and then `body`.
fn send_request(addr: SocketAddr, request: &str, body: &[u8]) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(PATIENCE)).unwrap();
    tcp.write_all(request.as_bytes()).unwrap();
    tcp.write_all(body).unwrap();
    tcp
}

fn status(head: &str) -> u16 {
    head[9..12].parse().unwrap()
}

#[test]
fn without_the_option_a_hixie76_request_gets_426_with_version_13() {
    let (server, _rx) = start(Server::builder());
    let (_tcp, head) = hixie76::connect(server.local_addr(), "/demo", "");
    assert_eq!(status(&head), 426, "{head}");
    assert!(head.contains("\r\nSec-WebSocket-Version: 13\r\n"), "{head}");
}

#[test]
fn the_drafts_handshake_is_answered_byte_for_byte() {
    let (server, _rx) = hixie_server();
    let mut tcp = TcpStream::connect(server.local_addr()).unwrap();
    tcp.set_read_timeout(Some(PATIENCE)).unwrap();
    // Draft §1.3, as a browser of 2010 sent it, in two writes.
    let request = hixie76::request("example.com", "/demo", "").replace(
        "\r\n\r\n",
        "\r\nSec-WebSocket-Protocol: sample\r\nOrigin: http://example.com\r\n\r\n",
    );
    tcp.write_all(request.as_bytes()).unwrap();
    tcp.write_all(KEY3).unwrap();
    let expected = "HTTP/1.1 101 WebSocket Protocol Handshake\r\n\
         Upgrade: WebSocket\r\n\
         Connection: Upgrade\r\n\
         Sec-WebSocket-Origin: http://example.com\r\n\
         Sec-WebSocket-Location: ws://example.com/demo\r\n\
         Sec-WebSocket-Protocol: sample\r\n\
         \r\n\
         8jKS'y:G*Co,Wxa-";
    let mut response = vec![0u8; expected.len()];
    tcp.read_exact(&mut response).unwrap();
    assert_eq!(String::from_utf8_lossy(&response), expected);
    // And nothing more until we speak.
    tcp.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    assert!(tcp.read(&mut [0u8; 1]).is_err());
    assert_eq!(&response[response.len() - 16..], ANSWER);
}

#[test]
fn echo_through_a_chat_of_one_then_the_client_closes() {
    let (server, rx) = hixie_server();
    let (mut tcp, head) = hixie76::connect(server.local_addr(), "/echo", "");
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    let me = tcp.local_addr().unwrap();
    assert_eq!(
        expect(&rx, |s| matches!(s, Seen::Open(..))),
        Seen::Open(me, true)
    );
    // A binary send to it failed in on_open, for the sender to see.
    let refused = expect(&rx, |s| matches!(s, Seen::BinarySend(_)));
    assert_eq!(
        refused,
        Seen::BinarySend(r#"Usage("a hixie-76 client takes text messages only")"#.into())
    );
    for text in ["hello", "héllo wörld 😀", &"x".repeat(100_000)] {
        hixie76::send_text(&mut tcp, text);
        assert_eq!(hixie76::recv(&mut tcp).as_deref(), Some(text));
    }
    // The closing handshake: ours, the server's answer, then its FIN.
    tcp.write_all(&[0xFF, 0x00]).unwrap();
    assert_eq!(hixie76::recv(&mut tcp), None);
    // No code on the wire: the handler sees 1005.
    assert_ended(&mut tcp, &rx, 1005);
}

#[test]
fn hixie76_and_rfc6455_clients_chat_on_the_same_route() {
    let (server, rx) = hixie_server();
    let addr = server.local_addr();
    let (mut old, _) = hixie76::connect(addr, "/chat", "");
    let mut new = Connection::connect(&format!("ws://{addr}/chat")).unwrap();
    let deadline = Instant::now() + PATIENCE;
    while server.clients().len() < 2 {
        assert!(Instant::now() < deadline, "both clients open");
        std::thread::sleep(Duration::from_millis(5));
    }
    hixie76::send_text(&mut old, "from the past");
    new.send(Message::Text("from the present".into())).unwrap();
    // Each gets both, each in its own framing, in the server's order.
    let mut got_old = vec![hixie76::recv(&mut old), hixie76::recv(&mut old)];
    let mut got_new = vec![new.recv().unwrap(), new.recv().unwrap()];
    got_old.sort();
    got_new.sort_by_key(|m| format!("{m:?}"));
    assert_eq!(
        got_old,
        vec![
            Some("from the past".into()),
            Some("from the present".into())
        ]
    );
    assert_eq!(
        got_new,
        vec![
            Some(Message::Text("from the past".into())),
            Some(Message::Text("from the present".into()))
        ]
    );
    // A binary broadcast reaches the RFC 6455 client only, and says so.
    assert_eq!(server.broadcast(&Message::Binary(vec![7; 3])), 1);
    assert_eq!(new.recv().unwrap(), Some(Message::Binary(vec![7; 3])));
    server.broadcast(&Message::Text("after".into()));
    assert_eq!(hixie76::recv(&mut old).as_deref(), Some("after"));
    drop(rx);
}

#[test]
fn a_server_close_sends_the_closing_frame_and_waits_for_the_answer() {
    let (server, rx) = hixie_server();
    let (mut tcp, _) = hixie76::connect(server.local_addr(), "/echo", "");
    expect(&rx, |s| matches!(s, Seen::Open(..)));
    let client = server.clients().list().pop().unwrap();
    client.close(CloseCode::NORMAL, "bye").unwrap();
    assert_eq!(hixie76::recv(&mut tcp), None);
    assert!(!client.is_open());
    // Text sent before our answer is dropped (the server is closing).
    hixie76::send_text(&mut tcp, "late");
    tcp.write_all(&[0xFF, 0x00]).unwrap();
    assert_ended(&mut tcp, &rx, 1005);
    assert!(!matches!(
        rx.try_recv(),
        Ok(Seen::Message(..)) | Ok(Seen::Error(..))
    ));
}

#[test]
fn shutdown_closes_hixie76_clients_too() {
    let (server, rx) = start(Server::builder().hixie76(true).shutdown_timeout(PATIENCE));
    let (mut tcp, _) = hixie76::connect(server.local_addr(), "/echo", "");
    expect(&rx, |s| matches!(s, Seen::Open(..)));
    let answer = std::thread::spawn(move || {
        let closing = hixie76::recv(&mut tcp);
        tcp.write_all(&[0xFF, 0x00]).unwrap();
        (closing, read_to_end(&mut tcp))
    });
    let started = Instant::now();
    server.shutdown();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(answer.join().unwrap(), (None, Vec::new()));
}

#[test]
fn no_pings_reach_a_hixie76_client_and_the_idle_timeout_lets_it_go() {
    let config = Config::default()
        .ping_interval(Some(Duration::from_millis(50)))
        .read_timeout(Some(Duration::from_millis(600)));
    let (server, rx) = start(Server::builder().hixie76(true).config(config));
    let (mut tcp, _) = hixie76::connect(server.local_addr(), "/echo", "");
    let started = Instant::now();
    // Nothing but the closing frame arrives: a ping would be 0x89.
    assert_eq!(hixie76::recv(&mut tcp), None);
    assert!(started.elapsed() >= Duration::from_millis(500));
    tcp.shutdown(Shutdown::Write).unwrap();
    assert_ended(&mut tcp, &rx, 1001);
}

#[test]
fn without_a_read_timeout_a_silent_hixie76_client_goes_when_a_dead_one_would() {
    // No read_timeout: a silent RFC 6455 client is kept by its pongs
    // (tests/server: a_live_peer_answers_pings_and_stays); a hixie-76 one
    // cannot answer pings, and goes after ping_interval + pong_timeout.
    let config = Config::default()
        .ping_interval(Some(Duration::from_millis(300)))
        .pong_timeout(Duration::from_millis(300));
    let (server, rx) = start(Server::builder().hixie76(true).config(config));
    let addr = server.local_addr();
    let (mut tcp, _) = hixie76::connect(addr, "/echo", "");
    let started = Instant::now();
    assert_eq!(hixie76::recv(&mut tcp), None);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(550), "{waited:?}");
    tcp.shutdown(Shutdown::Write).unwrap();
    assert_ended(&mut tcp, &rx, 1001);
}

#[test]
fn the_8_byte_body_is_required_within_the_handshake_deadline() {
    let config = Config::default().handshake_timeout(Duration::from_millis(500));
    let (server, _rx) = start(Server::builder().hixie76(true).config(config));
    let addr = server.local_addr();
    // The client ends its stream after 7 bytes: 400.
    let mut tcp = send_request(addr, &hixie76::request("h", "/echo", ""), &KEY3[..7]);
    tcp.shutdown(Shutdown::Write).unwrap();
    let head = read_head(&mut tcp);
    assert_eq!(status(&head), 400, "{head}");
    // The client sends 7 bytes and waits: 408 at the deadline.
    let started = Instant::now();
    let mut tcp = send_request(addr, &hixie76::request("h", "/echo", ""), &KEY3[..7]);
    let head = read_head(&mut tcp);
    assert_eq!(status(&head), 408, "{head}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn routes_origins_authentication_and_the_hook_apply_to_hixie76() {
    let (server, _rx) = start(
        Server::builder()
            .hixie76(true)
            .allowed_origins(["http://good.example"]),
    );
    let addr = server.local_addr();
    let (_t, head) = hixie76::connect(addr, "/private", "");
    assert_eq!(status(&head), 403, "the hook: {head}");
    let (_t, head) = hixie76::connect(addr, "/echo", "Origin: http://evil.example\r\n");
    assert_eq!(status(&head), 403, "the allow-list: {head}");
    let (_t, head) = hixie76::connect(addr, "/echo", "Origin: http://good.example\r\n");
    assert!(
        head.contains("\r\nSec-WebSocket-Origin: http://good.example\r\n"),
        "{head}"
    );

    let auth = Authenticator::basic("old", |user| (user == "a").then(|| "b".into()));
    let (server, _rx) = start(Server::builder().hixie76(true).authenticator(auth));
    let addr = server.local_addr();
    let (_t, head) = hixie76::connect(addr, "/echo", "");
    assert_eq!(status(&head), 401, "{head}");
    let (mut tcp, head) = hixie76::connect(addr, "/echo", "Authorization: Basic YTpi\r\n");
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert_eq!(server.clients().list()[0].user(), Some("a"));
    hixie76::send_text(&mut tcp, "in");
    assert_eq!(hixie76::recv(&mut tcp).as_deref(), Some("in"));
}

#[test]
fn malformed_hixie76_requests_get_400() {
    let (server, _rx) = hixie_server();
    let addr = server.local_addr();
    for (from, to) in [
        ("Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\n", ""),
        ("4 @1  46546xW%0l 1 5", "4@146546xW%0l15"),
        ("12998 5 Y3 1  .P00", "12998 5 Y3 1  .P01"),
    ] {
        let request = hixie76::request("h", "/echo", "").replace(from, to);
        let mut tcp = send_request(addr, &request, KEY3);
        let head = read_head(&mut tcp);
        assert_eq!(status(&head), 400, "{from:?} -> {to:?}: {head}");
    }
}
