//! The opening handshake over real sockets: statuses for bad requests,
//! caps, the deadline, subprotocols, and the client's checks.

mod support;

use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use stdws::{Config, Error, HandshakeError, Listener, ResponseError, Timeout, WebSocket};
use support::*;

/// Starts a listener, sends `request` raw, returns (response head + body, server error).
fn exchange(config: Config, request: impl FnOnce(SocketAddr) -> Vec<u8>) -> (String, Error) {
    let listener = Listener::bind("127.0.0.1:0").unwrap().with_config(config);
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || listener.accept().map(|_| ()).unwrap_err());
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let _ = s.write_all(&request(addr));
    let back = read_to_end(&mut s);
    (
        String::from_utf8_lossy(&back).into_owned(),
        server.join().unwrap(),
    )
}

fn status_of(err: &Error) -> Option<u16> {
    match err {
        Error::Handshake(e) => e.status(),
        _ => None,
    }
}

#[test]
fn wrong_version_gets_426_naming_version_13() {
    let (back, err) = exchange(Config::default(), |a| {
        upgrade_request(a, "/")
            .replace("Version: 13", "Version: 8")
            .into()
    });
    assert!(
        back.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{back}"
    );
    assert!(back.contains("\r\nSec-WebSocket-Version: 13\r\n"));
    assert_eq!(status_of(&err), Some(426));
}

#[test]
fn bad_requests_get_400_with_a_reason() {
    for (from, to, reason) in [
        (
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
            "",
            "Sec-WebSocket-Key",
        ),
        (
            "Connection: Upgrade",
            "Connection: close",
            "Connection must include Upgrade",
        ),
        ("HTTP/1.1\r\n", "HTTP/1.0\r\n", "HTTP/1.1"),
    ] {
        let (back, err) = exchange(Config::default(), |a| {
            upgrade_request(a, "/").replace(from, to).into()
        });
        assert!(back.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{back}");
        assert!(back.contains(reason), "{back}");
        assert_eq!(status_of(&err), Some(400));
    }
}

#[test]
fn empty_lines_before_the_request_line_are_ignored() {
    // RFC 9112 §2.2: a server SHOULD ignore at least one empty line there.
    let listener = Listener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        listener
            .accept()
            .map(|ws| ws.request().unwrap().path().to_owned())
    });
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(format!("\r\n\n{}", upgrade_request(addr, "/x")).as_bytes())
        .unwrap();
    let mut head = [0u8; 12];
    std::io::Read::read_exact(&mut s, &mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 101");
    assert_eq!(server.join().unwrap().unwrap(), "/x");
}

#[test]
fn header_caps_get_431() {
    let config = Config::default();
    let (back, err) = exchange(config.clone(), |a| {
        let mut r = upgrade_request(a, "/");
        r.insert_str(
            r.len() - 2,
            &format!("X-Big: {}\r\n", "a".repeat(100 << 10)),
        );
        r.into()
    });
    assert!(back.starts_with("HTTP/1.1 431 "), "{back}");
    assert_eq!(status_of(&err), Some(431));

    let (back, _) = exchange(config.clone(), |a| {
        let mut r = upgrade_request(a, "/");
        r.insert_str(r.len() - 2, &"X: y\r\n".repeat(10_000));
        r.into()
    });
    assert!(back.starts_with("HTTP/1.1 431 "), "{back}");

    let (back, _) = exchange(config, |a| {
        let mut r = upgrade_request(a, "/");
        for i in 0..30 {
            r.insert_str(r.len() - 2, &format!("X-{i}: {}\r\n", "b".repeat(1000)));
        }
        r.into()
    });
    assert!(back.starts_with("HTTP/1.1 431 "), "{back}");
}

#[test]
fn slow_handshake_gets_408_at_the_deadline_not_per_read() {
    let config = Config::default().handshake_timeout(Duration::from_millis(400));
    let listener = Listener::bind("127.0.0.1:0").unwrap().with_config(config);
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || listener.accept().map(|_| ()).unwrap_err());
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let start = Instant::now();
    // One byte every 100 ms: each read succeeds, the whole never finishes.
    for b in upgrade_request(addr, "/").bytes().take(8) {
        if s.write_all(&[b]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let back = String::from_utf8_lossy(&read_to_end(&mut s)).into_owned();
    assert!(back.starts_with("HTTP/1.1 408 "), "{back}");
    assert_eq!(status_of(&server.join().unwrap()), Some(408));
    assert!(start.elapsed() < Duration::from_secs(3));
}

#[test]
fn client_gets_the_subprotocol_the_server_prefers() {
    let listener = Listener::bind("127.0.0.1:0")
        .unwrap()
        .with_protocols(["v2.chat", "v1.chat"]);
    let addr = listener.local_addr().unwrap();
    let server =
        std::thread::spawn(move || listener.accept().unwrap().protocol().map(str::to_owned));
    let ws = WebSocket::builder(&format!("ws://{addr}/"))
        .protocol("v1.chat")
        .protocol("v2.chat")
        .connect()
        .unwrap();
    assert_eq!(ws.protocol(), Some("v2.chat"));
    assert_eq!(server.join().unwrap().as_deref(), Some("v2.chat"));
}

#[test]
fn no_common_subprotocol_means_none() {
    let listener = Listener::bind("127.0.0.1:0").unwrap().with_protocols(["a"]);
    let addr = listener.local_addr().unwrap();
    let server =
        std::thread::spawn(move || listener.accept().unwrap().protocol().map(str::to_owned));
    let ws = WebSocket::builder(&format!("ws://{addr}/"))
        .protocol("b")
        .connect()
        .unwrap();
    assert_eq!(ws.protocol(), None);
    assert_eq!(server.join().unwrap(), None);
}

/// A fake server that answers the upgrade with `reply(key)`, then drains.
fn fake(reply: impl FnOnce(&str) -> Vec<u8> + Send + 'static) -> SocketAddr {
    fake_server(reply, |mut s| {
        read_to_end(&mut s);
    })
    .0
}

fn invalid_response(
    addr: SocketAddr,
    builder: impl FnOnce(stdws::Connector) -> stdws::Connector,
) -> ResponseError {
    match builder(WebSocket::builder(&format!("ws://{addr}/"))).connect() {
        Err(Error::Handshake(HandshakeError::InvalidResponse(why))) => why,
        other => panic!("expected an invalid response, got {other:?}"),
    }
}

#[test]
fn client_refuses_a_wrong_accept_key() {
    let addr = fake(|_| ok_101("not the key", ""));
    let why = invalid_response(addr, |b| b);
    assert_eq!(why, ResponseError::WrongAccept);
    assert_eq!(why.to_string(), "wrong Sec-WebSocket-Accept");
}

#[test]
fn client_refuses_a_subprotocol_it_did_not_offer() {
    let addr = fake(|key| ok_101(key, "Sec-WebSocket-Protocol: evil\r\n"));
    let why = invalid_response(addr, |b| b.protocol("good"));
    assert!(
        matches!(&why, ResponseError::Subprotocol(m) if m.contains("not offered")),
        "{why:?}"
    );
    let addr = fake(|key| ok_101(key, "Sec-WebSocket-Protocol: evil\r\n"));
    let why = invalid_response(addr, |b| b);
    assert!(
        matches!(&why, ResponseError::Subprotocol(m) if m.contains("not offered")),
        "{why:?}"
    );
}

#[test]
fn client_refuses_an_extension_it_did_not_offer() {
    let addr = fake(|key| ok_101(key, "Sec-WebSocket-Extensions: permessage-deflate\r\n"));
    let why = invalid_response(addr, |b| b);
    assert!(
        matches!(&why, ResponseError::Extension(m) if m.contains("not offered")),
        "{why:?}"
    );
}

#[test]
fn client_refuses_a_response_head_over_its_caps() {
    let many = "X-Filler: y\r\n".repeat(100);
    let addr = fake(move |key| ok_101(key, &many));
    let why = invalid_response(addr, |b| b);
    assert!(
        matches!(&why, ResponseError::Malformed(m) if m.starts_with("response head")),
        "{why:?}"
    );
}

#[test]
fn client_reports_non_101_statuses() {
    let addr = fake(|_| b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".to_vec());
    match WebSocket::connect(&format!("ws://{addr}/")) {
        Err(Error::Handshake(HandshakeError::UnexpectedStatus { status: 403, .. })) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn client_handshake_times_out_as_a_whole() {
    let (l, addr) = raw_listener();
    let _hold = std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        std::thread::sleep(Duration::from_secs(2));
        drop(s);
    });
    let start = Instant::now();
    let result = WebSocket::builder(&format!("ws://{addr}/"))
        .handshake_timeout(Duration::from_millis(300))
        .connect();
    assert!(
        matches!(result, Err(Error::Timeout(Timeout::Handshake))),
        "{result:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn frame_right_behind_the_101_reaches_the_client() {
    let addr = fake(|key| [ok_101(key, ""), vec![0x81, 0x02, b'h', b'i']].concat());
    let mut conn = stdws::Connection::connect(&format!("ws://{addr}/")).unwrap();
    assert_eq!(
        conn.recv().unwrap(),
        Some(stdws::Message::Text("hi".into()))
    );
}
