//! Client ↔ server over real sockets on 127.0.0.1: messages, fragments,
//! pings, and the closing handshake in both directions.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use stdws::{CloseCode, CloseFrame, Config, Connection, Error, Event, Message, Timeout, WebSocket};
use support::*;

fn client(addr: std::net::SocketAddr, config: Config) -> Connection<stdws::MaybeTlsStream> {
    Connection::new(
        WebSocket::builder(&format!("ws://{addr}/"))
            .config(config)
            .connect()
            .unwrap(),
    )
}

#[test]
fn echoes_text_and_binary_at_every_length_boundary() {
    let (addr, server) = echo_server(Config::default());
    let mut conn = client(addr, Config::default());
    for len in [0usize, 1, 125, 126, 127, 65535, 65536, 1 << 20] {
        let text: String = (0..len)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        conn.send(Message::Text(text.clone())).unwrap();
        assert_eq!(
            conn.recv().unwrap(),
            Some(Message::Text(text)),
            "text {len}"
        );
        let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        conn.send(Message::Binary(data.clone())).unwrap();
        assert_eq!(
            conn.recv().unwrap(),
            Some(Message::Binary(data)),
            "binary {len}"
        );
    }
    conn.close(CloseCode::NORMAL, "done").unwrap();
    let (server_conn, err) = server.join().unwrap();
    assert!(err.is_none());
    assert_eq!(
        server_conn.close_frame(),
        Some(CloseFrame::new(CloseCode::NORMAL, "done"))
    );
}

#[test]
fn fragmented_messages_are_reassembled() {
    let (addr, server) = echo_server(Config::default());
    let mut conn = client(addr, Config::default().fragment_size(Some(7)));
    let sent = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&sent);
    conn.on_send_frame(move |h, p| log.lock().unwrap().push((h.fin, p.len())));
    let text = "é".repeat(10); // 20 bytes, cut inside characters
    conn.send(Message::Text(text.clone())).unwrap();
    assert_eq!(conn.recv().unwrap(), Some(Message::Text(text)));
    assert_eq!(
        *sent.lock().unwrap(),
        vec![(false, 7), (false, 7), (true, 6)]
    );
    conn.close(CloseCode::NORMAL, "").unwrap();
    server.join().unwrap();
}

#[test]
fn server_fragments_to_fragment_size() {
    let (addr, server) = echo_server(Config::default().fragment_size(Some(1000)));
    let mut conn = client(addr, Config::default());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    conn.on_recv_frame(move |h, p| log.lock().unwrap().push((h.opcode, h.fin, p.len())));
    conn.send(Message::Binary(vec![7; 2500])).unwrap();
    assert_eq!(conn.recv().unwrap(), Some(Message::Binary(vec![7; 2500])));
    use stdws::OpCode::*;
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            (Binary, false, 1000),
            (Continuation, false, 1000),
            (Continuation, true, 500)
        ]
    );
    conn.close(CloseCode::NORMAL, "").unwrap();
    server.join().unwrap();
}

#[test]
fn pings_are_answered_and_pongs_matched() {
    let (addr, server) = echo_server(Config::default());
    let mut conn = client(addr, Config::default());
    conn.ping(b"are you there").unwrap();
    assert_eq!(conn.pending_pings(), 1);
    assert_eq!(
        conn.recv_event().unwrap(),
        Event::Pong(b"are you there".to_vec())
    );
    assert_eq!(conn.pending_pings(), 0);
    assert!(conn.rtt().is_some());
    assert!(matches!(conn.ping(&[0; 126]), Err(Error::Usage(_))));
    conn.close(CloseCode::NORMAL, "").unwrap();
    server.join().unwrap();
}

#[test]
fn server_initiated_close_is_echoed_and_reported() {
    let (addr, server) = serve_one(Config::default(), |ws| {
        let mut conn = Connection::new(ws.unwrap());
        let first = conn.recv().unwrap();
        conn.close(CloseCode(4000), "going").unwrap();
        (first, conn.is_closed())
    });
    let mut conn = client(addr, Config::default());
    conn.send_text("hi").unwrap();
    assert_eq!(conn.recv().unwrap(), None);
    assert_eq!(
        conn.close_frame(),
        Some(CloseFrame::new(CloseCode(4000), "going"))
    );
    assert!(matches!(conn.recv(), Err(Error::Closed)));
    assert!(matches!(conn.send_text("late"), Err(Error::Closed)));
    assert_eq!(
        server.join().unwrap(),
        (Some(Message::Text("hi".into())), true)
    );
}

#[test]
fn peer_close_code_is_echoed_on_the_wire() {
    let (addr, server) = echo_server(Config::default());
    let (mut s, head) = raw_handshake(addr, &upgrade_request(addr, "/"));
    assert!(head.starts_with("HTTP/1.1 101"));
    std::io::Write::write_all(&mut s, &masked(0x88, b"\x0f\xa0why")).unwrap(); // 4000 "why"
    let rest = read_to_end(&mut s);
    assert_eq!(
        rest,
        [0x88, 0x02, 0x0f, 0xa0],
        "the code is echoed, the reason is not"
    );
    let (conn, err) = server.join().unwrap();
    assert!(err.is_none());
    assert_eq!(
        conn.close_frame(),
        Some(CloseFrame::new(CloseCode(4000), "why"))
    );
}

#[test]
fn empty_close_is_answered_with_empty_close_and_reported_as_1005() {
    let (addr, server) = echo_server(Config::default());
    let (mut s, _) = raw_handshake(addr, &upgrade_request(addr, "/"));
    std::io::Write::write_all(&mut s, &masked(0x88, b"")).unwrap();
    assert_eq!(read_to_end(&mut s), [0x88, 0x00]);
    let (conn, _) = server.join().unwrap();
    assert_eq!(conn.close_frame().unwrap().code, CloseCode::NO_STATUS);
}

#[test]
fn close_rejects_codes_that_must_not_be_sent() {
    let (addr, server) = echo_server(Config::default());
    let mut conn = client(addr, Config::default());
    for code in [1005, 1006, 1015, 999, 5000] {
        assert!(
            matches!(conn.close(CloseCode(code), ""), Err(Error::Usage(_))),
            "{code}"
        );
    }
    conn.close(CloseCode::GOING_AWAY, "").unwrap();
    server.join().unwrap();
}

#[test]
fn close_times_out_when_the_peer_never_answers() {
    let (addr, server) = fake_server(
        |key| ok_101(key, ""),
        |_stream| std::thread::sleep(Duration::from_secs(2)), // never answers the close
    );
    let mut conn = client(
        addr,
        Config::default().close_timeout(Duration::from_millis(300)),
    );
    let start = Instant::now();
    assert!(matches!(
        conn.close(CloseCode::NORMAL, ""),
        Err(Error::Timeout(Timeout::Close))
    ));
    assert!(start.elapsed() < Duration::from_secs(2));
    server.join().unwrap();
}

#[test]
fn read_timeout_leaves_the_connection_usable() {
    let (addr, server) = serve_one(Config::default(), |ws| {
        let mut conn = Connection::new(ws.unwrap());
        std::thread::sleep(Duration::from_millis(300));
        conn.send_text("late").unwrap();
        conn.recv().unwrap()
    });
    let mut conn = client(
        addr,
        Config::default().read_timeout(Some(Duration::from_millis(50))),
    );
    assert!(matches!(conn.recv(), Err(Error::Timeout(Timeout::Read))));
    let deadline = Instant::now() + PATIENCE;
    let message = loop {
        match conn.recv() {
            Ok(m) => break m,
            Err(e) if e.is_timeout() && Instant::now() < deadline => continue,
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(message, Some(Message::Text("late".into())));
    conn.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(server.join().unwrap(), None);
}

#[test]
fn fed_messages_leave_together_on_flush() {
    let (addr, server) = serve_one(Config::default(), |ws| {
        let mut conn = Connection::new(ws.unwrap());
        for i in 0..3 {
            conn.feed(&Message::Text(format!("m{i}"))).unwrap();
        }
        conn.flush().unwrap();
        conn.recv().unwrap()
    });
    let ws = WebSocket::connect(&format!("ws://{addr}/")).unwrap();
    let mut conn = Connection::new(ws);
    for i in 0..3 {
        assert_eq!(conn.recv().unwrap(), Some(Message::Text(format!("m{i}"))));
    }
    conn.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(server.join().unwrap(), None);
}

#[test]
fn frame_in_the_same_segment_as_the_request_is_not_lost() {
    let (addr, server) = echo_server(Config::default());
    let mut bytes = upgrade_request(addr, "/").into_bytes();
    bytes.extend(masked(0x81, b"right behind"));
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    std::io::Write::write_all(&mut s, &bytes).unwrap();
    let head = read_head(&mut s);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let mut echo = [0u8; 14];
    std::io::Read::read_exact(&mut s, &mut echo).unwrap();
    assert_eq!(&echo[..2], [0x81, 12]);
    assert_eq!(&echo[2..], b"right behind");
    std::io::Write::write_all(&mut s, &masked(0x88, b"\x03\xe8")).unwrap();
    server.join().unwrap();
}

#[test]
fn callbacks_see_every_event_in_order() {
    struct Log(Vec<String>);
    impl<S: stdws::Stream> stdws::Callbacks<S> for Log {
        fn on_open(&mut self, conn: &mut Connection<S>) -> Result<(), Error> {
            self.0.push("open".into());
            conn.ping(b"p")
        }
        fn on_message(&mut self, conn: &mut Connection<S>, message: Message) -> Result<(), Error> {
            self.0
                .push(format!("message {}", message.as_text().unwrap_or("?")));
            conn.close(CloseCode::NORMAL, "enough")
        }
        fn on_pong(&mut self, _: &mut Connection<S>, payload: &[u8]) -> Result<(), Error> {
            self.0
                .push(format!("pong {}", String::from_utf8_lossy(payload)));
            Ok(())
        }
        fn on_close(&mut self, _: &mut Connection<S>, code: CloseCode, reason: &str) {
            self.0.push(format!("close {code} {reason:?}"));
        }
    }
    let (addr, server) = serve_one(Config::default(), |ws| {
        let mut conn = Connection::new(ws.unwrap());
        let mut log = Log(Vec::new());
        conn.run(&mut log).unwrap();
        log.0
    });
    let mut conn = client(addr, Config::default());
    assert_eq!(conn.recv_event().unwrap(), Event::Ping(b"p".to_vec()));
    conn.send_text("hello").unwrap();
    assert_eq!(conn.recv().unwrap(), None);
    assert_eq!(
        server.join().unwrap(),
        vec!["open", "pong p", "message hello", "close 1000 \"\""]
    );
}

#[test]
fn send_hooks_see_masked_frames_unmasked() {
    let (addr, server) = echo_server(Config::default());
    let mut conn = client(addr, Config::default());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    conn.on_send_frame(move |h, p| {
        log.lock()
            .unwrap()
            .push((h.opcode, h.mask.is_some(), p.to_vec()))
    });
    conn.send_text("abc").unwrap();
    assert_eq!(conn.recv().unwrap(), Some(Message::Text("abc".into())));
    assert_eq!(
        seen.lock().unwrap()[0],
        (stdws::OpCode::Text, true, b"abc".to_vec())
    );
    conn.close(CloseCode::NORMAL, "").unwrap();
    server.join().unwrap();
}
