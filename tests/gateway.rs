//! `stdws::gateway` end to end over loopback, with nothing but cargo: a
//! small HTTP application in the test records the hooks (the real Python
//! application and clients are `make gateway`'s). Every test binds port 0
//! and bounds every wait.
#![cfg(all(unix, feature = "gateway"))]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread;
use std::time::Duration;

use stdws::frame::Status;
use stdws::gateway::Gateway;
use stdws::handshake::{HeadLimits, HeadScanner};
use stdws::{CloseCode, Connection, Message, Request, Server};

const WAIT: Duration = Duration::from_secs(10);

/// One hook as the application received it.
#[derive(Debug)]
struct Hook {
    path: String,
    id: String,
    seq: u64,
    body: String,
}

/// Reads one HTTP request (head and `Content-Length` body); `None` at EOF.
fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(Request, Vec<u8>)> {
    let limits = HeadLimits {
        max_bytes: 64 << 10,
        max_line: 16 << 10,
        max_headers: 100,
    };
    let mut scanner = HeadScanner::new(limits);
    let mut chunk = [0u8; 8192];
    let head = loop {
        if let Ok(Status::Complete(n)) = scanner.scan(buf) {
            break n;
        }
        let n = stream.read(&mut chunk).ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let request = Request::parse(&buf[..head], &scanner).ok()?;
    let length: usize = request
        .headers
        .get("Content-Length")
        .map_or(0, |v| v.parse().unwrap());
    while buf.len() < head + length {
        let n = stream.read(&mut chunk).ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[head..head + length].to_vec();
    buf.drain(..head + length);
    Some((request, body))
}

/// The application: accepts (401 with a body for `/deny`), echoes each
/// message with its Content-Type, answers close with 204.
fn application() -> (SocketAddr, Receiver<Hook>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = channel();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let tx: Sender<Hook> = tx.clone();
            thread::spawn(move || serve(stream, &tx));
        }
    });
    (addr, rx)
}

fn serve(mut stream: TcpStream, tx: &Sender<Hook>) {
    let mut buf = Vec::new();
    while let Some((request, body)) = read_request(&mut stream, &mut buf) {
        let header = |name| request.headers.get(name).unwrap_or("").to_owned();
        let hook = Hook {
            path: request.path().to_owned(),
            id: header("Stdws-Connection-Id"),
            seq: header("Stdws-Seq").parse().unwrap(),
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        let (status, content_type, reply) = match hook.path.as_str() {
            "/app/connect" if hook.body.contains(r#""path":"/deny""#) => {
                (401, "text/plain".to_owned(), b"members only\n".to_vec())
            }
            "/app/connect" => (200, "application/json".into(), b"{}".to_vec()),
            "/app/message" => (200, header("Content-Type"), body),
            _ => (204, "text/plain".into(), Vec::new()),
        };
        let _ = tx.send(hook);
        let head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            reply.len()
        );
        if stream
            .write_all(&[head.as_bytes(), &reply].concat())
            .is_err()
        {
            return;
        }
    }
}

fn gateway(app: SocketAddr) -> (Gateway, Server) {
    let gateway = Gateway::builder(format!("http://{app}/app"))
        .hook_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let server = Server::builder()
        .fallback(gateway.clone())
        .bind("127.0.0.1:0")
        .unwrap();
    (gateway, server)
}

#[test]
fn a_message_hooks_answer_comes_back_and_one_close_hook_follows() {
    let (app, hooks) = application();
    let (_gateway, server) = gateway(app);
    let mut client =
        Connection::connect(&format!("ws://{}/room?x=1", server.local_addr())).unwrap();
    client.send_text("hi").unwrap();
    assert_eq!(client.recv().unwrap(), Some(Message::Text("hi".into())));
    client.send_binary(&[0, 1, 2]).unwrap();
    assert_eq!(client.recv().unwrap(), Some(Message::Binary(vec![0, 1, 2])));
    client.close(CloseCode::NORMAL, "done").unwrap();

    let connect = hooks.recv_timeout(WAIT).unwrap();
    assert_eq!((connect.path.as_str(), connect.seq), ("/app/connect", 0));
    assert!(
        connect.body.contains(r#""path":"/room""#),
        "{}",
        connect.body
    );
    assert!(
        connect.body.contains(r#""query":"x=1""#),
        "{}",
        connect.body
    );
    let text = hooks.recv_timeout(WAIT).unwrap();
    assert_eq!(
        (text.path.as_str(), text.seq, text.body.as_str()),
        ("/app/message", 1, "hi")
    );
    let binary = hooks.recv_timeout(WAIT).unwrap();
    assert_eq!(binary.seq, 2);
    let close = hooks.recv_timeout(WAIT).unwrap();
    assert_eq!((close.path.as_str(), close.seq), ("/app/close", 3));
    assert_eq!(
        close.body,
        r#"{"code":1000,"initiator":"client","reason":"done"}"#
    );
    assert!(connect.id == close.id && text.id == close.id);
    assert!(
        hooks.recv_timeout(Duration::from_millis(300)).is_err(),
        "a second hook"
    );
}

#[test]
fn a_refusing_connect_hook_gives_the_client_its_status_and_body() {
    let (app, hooks) = application();
    let (_gateway, server) = gateway(app);
    let mut tcp = TcpStream::connect(server.local_addr()).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    tcp.write_all(
        b"GET /deny HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 401 "), "{answer}");
    assert!(answer.ends_with("\r\n\r\nmembers only\n"), "{answer}");
    assert_eq!(hooks.recv_timeout(WAIT).unwrap().path, "/app/connect");
    assert!(
        hooks.recv_timeout(Duration::from_millis(300)).is_err(),
        "a close hook"
    );
}

/// One control API call: status and body.
fn call(addr: SocketAddr, request: &str) -> (u16, String) {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    tcp.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    (status, answer.split("\r\n\r\n").nth(1).unwrap().to_owned())
}

#[test]
fn the_control_api_sends_to_a_connection_and_closes_it_with_its_code() {
    let (app, hooks) = application();
    let (gateway, server) = gateway(app);
    let api = gateway
        .control()
        .token("t0ken\n")
        .bind("127.0.0.1:0")
        .unwrap();
    let mut client = Connection::connect(&format!("ws://{}/", server.local_addr())).unwrap();
    let id = hooks.recv_timeout(WAIT).unwrap().id;
    let send = |path: &str, token: &str| {
        call(
            api.local_addr(),
            &format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
                 Content-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
            ),
        )
    };
    assert_eq!(send(&format!("/connections/{id}/send"), "wrong").0, 401);
    assert_eq!(
        send(&format!("/connections/{id}/send"), "t0ken"),
        (202, r#"{"sent":1}"#.into())
    );
    assert_eq!(client.recv().unwrap(), Some(Message::Text("hello".into())));
    assert_eq!(send("/connections/nobody-1/send", "t0ken").0, 404);
    let (status, _) = call(
        api.local_addr(),
        &format!(
            "DELETE /connections/{id}?code=4000&reason=bye HTTP/1.1\r\nHost: x\r\n\
             Authorization: Bearer t0ken\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(status, 202);
    assert_eq!(client.recv().unwrap(), None);
    let frame = client.close_frame().unwrap();
    assert_eq!(
        (frame.code, frame.reason.as_str()),
        (CloseCode(4000), "bye")
    );
    let close = hooks.recv_timeout(WAIT).unwrap();
    assert_eq!(
        close.body,
        r#"{"code":4000,"initiator":"server","reason":"bye"}"#
    );
}

#[test]
fn a_control_listener_off_loopback_needs_a_token() {
    let gateway = Gateway::builder("http://127.0.0.1:9/").build().unwrap();
    let refused = gateway.control().bind("0.0.0.0:0").unwrap_err();
    assert!(
        matches!(refused, stdws::gateway::GatewayError::Unprotected(_)),
        "{refused}"
    );
    assert!(Gateway::builder("https://example.com/").build().is_err());
}
