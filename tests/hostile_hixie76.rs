//! Hostile hixie-76 peers against a [`Server`](stdws::Server) that speaks
//! the old protocol ([`ServerBuilder::hixie76`](stdws::ServerBuilder::hixie76)):
//! the same harness as `tests/hostile.rs` (exact answer, memory bound, a
//! canary served beside the attacker the whole time).
#![cfg(target_os = "linux")]

mod hostile_support;
mod support;

use std::io::Read;
use std::time::{Duration, Instant};

use hostile_support::{connection_threads, Case, Peer, MIB, PATIENCE};
use stdws::{Config, Server};
use support::hixie76::{request, ANSWER, KEY3};

fn case(name: &'static str, config: Config) -> Case {
    Case::with(name, Server::builder().hixie76(true).config(config))
}

/// A hixie-76 peer past its opening handshake on `/echo`.
fn attacker(case: &Case) -> Peer {
    let mut peer = Peer::connect(case.addr());
    peer.send(request(&case.addr().to_string(), "/echo", "").as_bytes())
        .unwrap();
    peer.send(KEY3).unwrap();
    let head = peer.head();
    assert!(head.starts_with("HTTP/1.1 101 "), "no upgrade: {head}");
    let mut answer = [0u8; 16];
    peer.tcp().read_exact(&mut answer).unwrap();
    assert_eq!(&answer, ANSWER);
    peer
}

/// Everything the server sent until it ended the connection.
fn rest_of(peer: &Peer) -> Vec<u8> {
    let mut tcp = peer.tcp();
    tcp.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut all = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n @ 1..) = tcp.read(&mut chunk) {
        all.extend_from_slice(&chunk[..n]);
    }
    all
}

/// The server sent its closing frame and ended the connection; its handler
/// saw `error` and `code`.
fn assert_closed(case: &mut Case, peer: &Peer, code: u16, error: &str) {
    assert_eq!(rest_of(peer), [0xFF, 0x00], "the closing frame, then FIN");
    peer.finish();
    let ending = case.ending_of(peer.local_addr());
    assert_eq!(ending.code, code);
    let seen = ending.error.unwrap_or_default();
    assert!(
        seen.contains(error),
        "expected {error}, the handler saw {seen}"
    );
}

#[test]
fn a_hixie76_key_flood_gets_400_at_once() {
    let case = case("hixie-76 key flood -> 400", Config::default());
    let addr = case.addr().to_string();
    // 7,000 digits in one key (within the 8 KiB line cap): refused at the
    // eleventh, not parsed to the end.
    let digits = request(&addr, "/echo", "")
        .replace("4 @1  46546xW%0l 1 5", &format!("1 {}", "9".repeat(7000)));
    // Thirty keys where the draft allows one (within the field cap).
    let many = request(&addr, "/echo", &"Sec-WebSocket-Key1: 1 \r\n".repeat(30));
    for (name, flood) in [("digits", digits), ("keys", many)] {
        let mut peer = Peer::connect(case.addr());
        let started = Instant::now();
        peer.send(flood.as_bytes()).unwrap();
        peer.send(KEY3).unwrap();
        assert_eq!(peer.status(), 400, "{name}");
        assert!(started.elapsed() < Duration::from_secs(1), "{name}");
    }
    // Their threads are gone: only the canary's is left.
    let deadline = Instant::now() + PATIENCE;
    while case.server().connections() > 1 {
        assert!(Instant::now() < deadline, "connections left open");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(connection_threads(), 1);
    case.finish("400 x2", 2 * MIB);
}

#[test]
fn a_hixie76_frame_without_its_end_byte_is_closed_at_max_message_size() {
    let config = Config::default().max_message_size(64 << 10);
    let mut case = case("hixie-76 text without 0xFF -> closed at 64 KiB", config);
    let mut peer = attacker(&case);
    // 0x00 and then 64 MiB of text that never ends.
    peer.send(&[0x00]).unwrap();
    let started = Instant::now();
    let flood = peer.flood(vec![b'a'; 1 << 20], 64);
    assert_closed(&mut case, &peer, 1009, "MessageTooBig { max: 65536 }");
    let took = started.elapsed();
    let written = flood.stop();
    assert!(took < Duration::from_secs(2), "closed after {took:?}");
    case.finish(&format!("1009 after {} KiB", written >> 10), 4 * MIB);
}

#[test]
fn hixie76_frames_of_other_types_close_the_connection() {
    let mut case = case("hixie-76 bad frame types -> closed", Config::default());
    for (frame, t) in [
        // Length-prefixed (binary) frames: 0x80 with a length of 2^35.
        (&b"\x80\x81\x80\x80\x80\x00"[..], 0x80),
        (b"\xff\x05hello", 0xff),
        (b"\x01text\xff", 0x01),
    ] {
        let mut peer = attacker(&case);
        peer.send(b"\x00fine\xff").unwrap();
        peer.send(frame).unwrap();
        let mut echo = [0u8; 6];
        peer.tcp().read_exact(&mut echo).unwrap();
        assert_eq!(&echo, b"\x00fine\xff");
        assert_closed(&mut case, &peer, 1002, &format!("Hixie76Frame({t})"));
    }
    case.finish("closed x3", 2 * MIB);
}

#[test]
fn invalid_utf8_from_a_hixie76_client_closes_it_at_once() {
    let mut case = case("hixie-76 invalid UTF-8 -> closed", Config::default());
    for text in [&b"ok \xc3\x28"[..], b"\xed\xa0\x80", b"\xc0\xaf"] {
        let mut peer = attacker(&case);
        let started = Instant::now();
        // No end byte: the bad bytes are enough.
        let mut frame = vec![0x00];
        frame.extend_from_slice(text);
        peer.send(&frame).unwrap();
        assert_closed(&mut case, &peer, 1007, "InvalidUtf8");
        assert!(started.elapsed() < Duration::from_secs(1), "{text:02x?}");
    }
    case.finish("closed x3", 2 * MIB);
}
