//! HTTP Basic and Digest authentication in the handshake, end to end: a
//! server built from `ServerHandshake` + `Authenticator`, the client
//! answering the 401 from URL userinfo or `credentials`.

mod tls_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc::Receiver;

use stdws::handshake::auth::Authenticator;
use stdws::{
    Accept, CloseCode, Config, Connection, Error, HandshakeError, ServerHandshake, WebSocket,
};
use tls_support::{serve, LIMIT};

/// What the server saw on one connection: the `Authorization` sent (if
/// any), and the outcome (the user, or the 401's reason).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    authorization: Option<String>,
    outcome: Result<String, String>,
}

fn alice(user: &str) -> Option<String> {
    (user == "alice").then(|| "wonder land".to_owned())
}

/// A server that checks every request with `auth`, answers 401 or accepts
/// and then waits for the client's close.
fn auth_server(auth: Authenticator, connections: usize) -> (u16, Receiver<Seen>) {
    serve(connections, move |_, tcp| {
        let pending = ServerHandshake::read(tcp, Config::default()).expect("request");
        let authorization = pending
            .request()
            .headers
            .get("Authorization")
            .map(str::to_owned);
        match auth.check(pending.request()) {
            Ok(user) => {
                let mut conn = Connection::new(pending.accept(Accept::new()).expect("101"));
                while let Ok(Some(_)) = conn.recv() {}
                Seen {
                    authorization,
                    outcome: Ok(user),
                }
            }
            Err(reject) => {
                let reason = reject.reason.clone();
                pending.reject(reject);
                Seen {
                    authorization,
                    outcome: Err(reason),
                }
            }
        }
    })
}

fn seen(rx: &Receiver<Seen>, n: usize) -> Vec<Seen> {
    (0..n).map(|_| rx.recv_timeout(LIMIT).unwrap()).collect()
}

fn status_of(err: &Error) -> Option<u16> {
    match err {
        Error::Handshake(e) => e.status(),
        _ => None,
    }
}

#[test]
fn basic_from_url_userinfo_succeeds_on_the_second_connection() {
    let (port, rx) = auth_server(Authenticator::basic("stdws", alice), 2);
    let ws = WebSocket::connect(&format!("ws://alice:wonder%20land@127.0.0.1:{port}/")).unwrap();
    Connection::new(ws).close(CloseCode::NORMAL, "").unwrap();
    let seen = seen(&rx, 2);
    // Never sent before the server asks.
    assert_eq!(seen[0].authorization, None);
    assert_eq!(seen[0].outcome, Err("authentication required".into()));
    // "alice:wonder land" in base64.
    assert_eq!(
        seen[1].authorization.as_deref(),
        Some("Basic YWxpY2U6d29uZGVyIGxhbmQ=")
    );
    assert_eq!(seen[1].outcome, Ok("alice".into()));
}

#[test]
fn basic_wrong_password_ends_with_the_401() {
    let (port, rx) = auth_server(Authenticator::basic("stdws", alice), 2);
    let err = WebSocket::builder(&format!("ws://127.0.0.1:{port}/"))
        .credentials("alice", "wonderland")
        .connect()
        .unwrap_err();
    assert_eq!(status_of(&err), Some(401));
    let seen = seen(&rx, 2);
    assert_eq!(seen[1].outcome, Err("wrong user name or password".into()));
    // One try per scheme: no third connection.
    assert!(rx
        .recv_timeout(std::time::Duration::from_millis(300))
        .is_err());
}

#[test]
fn basic_auth_logs_in_with_one_handshake() {
    let (port, rx) = auth_server(Authenticator::basic("stdws", alice), 2);
    let ws = WebSocket::builder(&format!("ws://127.0.0.1:{port}/"))
        .basic_auth("alice", "wonder land")
        .connect()
        .unwrap();
    Connection::new(ws).close(CloseCode::NORMAL, "").unwrap();
    let seen = seen(&rx, 1);
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some("Basic YWxpY2U6d29uZGVyIGxhbmQ="),
        "the credentials go with the first request"
    );
    assert_eq!(seen[0].outcome, Ok("alice".into()));
    assert!(
        rx.recv_timeout(std::time::Duration::from_millis(300))
            .is_err(),
        "one connection only"
    );
}

#[test]
fn basic_auth_still_answers_a_digest_challenge() {
    let (port, rx) = auth_server(Authenticator::digest("stdws", alice), 3);
    let ws = WebSocket::builder(&format!("ws://127.0.0.1:{port}/"))
        .basic_auth("alice", "wonder land")
        .connect()
        .unwrap();
    Connection::new(ws).close(CloseCode::NORMAL, "").unwrap();
    let seen = seen(&rx, 2);
    assert!(seen[0]
        .authorization
        .as_deref()
        .unwrap()
        .starts_with("Basic "));
    assert_eq!(
        seen[0].outcome,
        Err("unsupported authentication scheme".into())
    );
    let digest = seen[1].authorization.as_deref().unwrap();
    assert!(digest.starts_with("Digest username=\"alice\""), "{digest}");
    assert_eq!(seen[1].outcome, Ok("alice".into()));
    assert!(rx
        .recv_timeout(std::time::Duration::from_millis(300))
        .is_err());
}

#[test]
fn digest_with_builder_credentials_uses_sha256() {
    let (port, rx) = auth_server(Authenticator::digest("stdws", alice), 2);
    let ws = WebSocket::builder(&format!("ws://127.0.0.1:{port}/chat?room=1"))
        .credentials("alice", "wonder land")
        .connect()
        .unwrap();
    Connection::new(ws).close(CloseCode::NORMAL, "").unwrap();
    let seen = seen(&rx, 2);
    let sent = seen[1].authorization.clone().unwrap();
    assert!(
        sent.starts_with("Digest username=\"alice\", realm=\"stdws\""),
        "{sent}"
    );
    assert!(sent.contains("uri=\"/chat?room=1\""), "{sent}");
    assert!(sent.contains("algorithm=SHA-256"), "{sent}");
    assert!(
        !sent.contains("wonder"),
        "the password itself is never sent"
    );
    assert_eq!(seen[1].outcome, Ok("alice".into()));
}

#[test]
fn digest_wrong_password_is_a_401_after_one_try() {
    let (port, rx) = auth_server(Authenticator::digest("stdws", alice), 2);
    let err = WebSocket::builder(&format!("ws://127.0.0.1:{port}/"))
        .credentials("alice", "wonder")
        .connect()
        .unwrap_err();
    assert_eq!(status_of(&err), Some(401));
    assert_eq!(
        seen(&rx, 2)[1].outcome,
        Err("wrong user name or password".into())
    );
    assert!(rx
        .recv_timeout(std::time::Duration::from_millis(300))
        .is_err());
}

#[test]
fn digest_is_preferred_when_basic_is_offered_too() {
    let auth = Authenticator::digest("stdws", alice);
    let check = auth.clone();
    let (port, rx) = serve(2, move |_, tcp| {
        let pending = ServerHandshake::read(tcp, Config::default()).unwrap();
        let authorization = pending
            .request()
            .headers
            .get("Authorization")
            .map(str::to_owned);
        match check.check(pending.request()) {
            Ok(_) => {
                let mut conn = Connection::new(pending.accept(Accept::new()).unwrap());
                while let Ok(Some(_)) = conn.recv() {}
            }
            // Basic first in the list: the client still picks Digest.
            Err(reject) => {
                let mut both = reject.clone();
                both.headers.insert(
                    0,
                    ("WWW-Authenticate".into(), "Basic realm=\"stdws\"".into()),
                );
                pending.reject(both);
            }
        }
        authorization
    });
    let ws = WebSocket::builder(&format!("ws://127.0.0.1:{port}/"))
        .credentials("alice", "wonder land")
        .connect()
        .unwrap();
    Connection::new(ws).close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(rx.recv_timeout(LIMIT).unwrap(), None);
    assert!(rx
        .recv_timeout(LIMIT)
        .unwrap()
        .unwrap()
        .starts_with("Digest "));
}

#[test]
fn stale_nonce_gets_one_more_digest_try_and_succeeds() {
    let auth = Authenticator::digest("stdws", alice);
    let check = auth.clone();
    let (port, rx) = serve(3, move |i, tcp| {
        let pending = ServerHandshake::read(tcp, Config::default()).unwrap();
        if i == 0 {
            // A nonce this server never issued (as if it had expired and
            // been forgotten).
            let mut reject = check.challenge(false, "authentication required");
            for (_, v) in &mut reject.headers {
                let start = v.find("nonce=\"").unwrap() + 7;
                let end = start + v[start..].find('"').unwrap();
                v.replace_range(start..end, "00000000000000000000000000000000");
            }
            pending.reject(reject);
            return "challenged".to_owned();
        }
        match check.check(pending.request()) {
            Ok(user) => {
                let mut conn = Connection::new(pending.accept(Accept::new()).unwrap());
                while let Ok(Some(_)) = conn.recv() {}
                user
            }
            Err(reject) => {
                let stale = reject
                    .headers
                    .iter()
                    .any(|(_, v)| v.ends_with("stale=true"));
                let reason = format!("{} stale={stale}", reject.reason);
                pending.reject(reject);
                reason
            }
        }
    });
    let ws = WebSocket::builder(&format!("ws://127.0.0.1:{port}/"))
        .credentials("alice", "wonder land")
        .connect()
        .unwrap();
    Connection::new(ws).close(CloseCode::NORMAL, "").unwrap();
    let seen: Vec<String> = (0..3).map(|_| rx.recv_timeout(LIMIT).unwrap()).collect();
    assert_eq!(
        seen,
        ["challenged", "Digest nonce expired stale=true", "alice"]
    );
}

#[test]
fn replayed_digest_nonce_count_is_refused() {
    let (port, rx) = auth_server(Authenticator::digest("stdws", alice), 3);
    let ws = WebSocket::builder(&format!("ws://127.0.0.1:{port}/replay"))
        .credentials("alice", "wonder land")
        .connect()
        .unwrap();
    Connection::new(ws).close(CloseCode::NORMAL, "").unwrap();
    let captured = seen(&rx, 2)[1].authorization.clone().unwrap();
    // An eavesdropper sends the same request again, Authorization and all.
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(LIMIT)).unwrap();
    write!(
        tcp,
        "GET /replay HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Authorization: {captured}\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 401 Unauthorized\r\n"),
        "{response}"
    );
    assert!(response.contains("WWW-Authenticate: Digest realm=\"stdws\""));
    assert_eq!(
        rx.recv_timeout(LIMIT).unwrap().outcome,
        Err("Digest nonce count replayed".into())
    );
}

#[test]
fn without_credentials_the_401_and_its_challenge_are_returned() {
    let (port, _rx) = auth_server(Authenticator::basic("stdws", alice), 1);
    let err = WebSocket::connect(&format!("ws://127.0.0.1:{port}/")).unwrap_err();
    let Error::Handshake(HandshakeError::UnexpectedStatus {
        status, headers, ..
    }) = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(status, 401);
    assert!(headers.contains(&(
        "WWW-Authenticate".to_owned(),
        "Basic realm=\"stdws\", charset=\"UTF-8\"".to_owned()
    )));
}

#[test]
fn passwords_stay_out_of_debug_output() {
    let builder =
        WebSocket::builder("ws://bob:hunter2@127.0.0.1:1/").credentials("alice", "s3cret");
    let text = format!("{builder:?}");
    assert!(
        !text.contains("s3cret") && !text.contains("hunter2"),
        "{text}"
    );
    assert!(text.contains("alice"));
}
