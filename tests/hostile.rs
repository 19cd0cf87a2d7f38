//! Hostile peers against a running [`Server`]: every case asserts the exact
//! answer (HTTP status or close code, and the error the handler saw), that
//! the process's memory stayed within a bound far below what the attack
//! would cost without the limit, and that a well-behaved client connected
//! at the same time kept getting its echoes (see `hostile_support`).
//!
//! `cargo test --test hostile -- --nocapture` prints each case's figures.
#![cfg(target_os = "linux")]

mod hostile_support;
mod support;

use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hostile_support::{connection_threads, Case, Peer, MIB, PATIENCE};
use stdws::{Config, Error, HandshakeError, Message, PerMessageDeflate, Server, WebSocket};
use support::masked;

// ---------------------------------------------------------------------------
// The opening handshake
// ---------------------------------------------------------------------------

/// A request head for `/echo` on `addr` whose header fields are `fields`
/// (each ending in CRLF), without the blank line that would end it.
fn head_with(addr: SocketAddr, fields: &str) -> String {
    let mut head = support::upgrade_request(addr, "/echo");
    head.truncate(head.len() - 2);
    head + fields
}

/// Sends `bytes` as a flood (the server may stop reading at any point) and
/// returns the HTTP status of its answer and how long it took.
fn answer_to(case: &Case, bytes: Vec<u8>) -> (u16, Duration) {
    let mut peer = Peer::connect(case.addr());
    let started = Instant::now();
    let flood = peer.flood(bytes, 1);
    let status = peer.status();
    let took = started.elapsed();
    flood.stop();
    (status, took)
}

#[test]
fn a_megabyte_of_headers_gets_431_once_the_head_cap_is_reached() {
    let config = Config::default().handshake_timeout(Duration::from_secs(2));
    let case = Case::start("1 MiB of headers -> 431", config);
    let mut flood = head_with(case.addr(), "");
    // Lines of 4 KiB: under the line cap (8 KiB), and 16 KiB of them
    // (max_header_bytes) come long before the field count cap (64).
    while flood.len() < 1 << 20 {
        flood += &format!("X-Flood-{}: {}\r\n", flood.len(), "f".repeat(4000));
    }
    let (status, took) = answer_to(&case, flood.into_bytes());
    assert_eq!(status, 431);
    // The server stops at 16 KiB: no need to wait for the rest, nor for
    // the deadline.
    assert!(took < Duration::from_secs(1), "answered after {took:?}");
    case.finish(&format!("431 in {} ms", took.as_millis()), 4 * MIB);
}

#[test]
fn ten_thousand_headers_get_431() {
    let config = Config::default()
        .handshake_timeout(Duration::from_secs(2))
        .max_header_bytes(1 << 20);
    let case = Case::start("10,000 header fields -> 431", config);
    // Within the byte cap (raised here), over the field cap (64).
    let flood = head_with(case.addr(), &"a: b\r\n".repeat(10_000)) + "\r\n";
    let (status, took) = answer_to(&case, flood.into_bytes());
    assert_eq!(status, 431);
    assert!(took < Duration::from_secs(1), "answered after {took:?}");
    case.finish(&format!("431 in {} ms", took.as_millis()), 4 * MIB);
}

#[test]
fn a_100_kib_header_line_gets_431() {
    let config = Config::default()
        .handshake_timeout(Duration::from_secs(2))
        .max_header_bytes(1 << 20);
    let case = Case::start("one 100 KiB header line -> 431", config);
    let line = format!("X-Long: {}\r\n\r\n", "l".repeat(100 << 10));
    let (status, took) = answer_to(&case, head_with(case.addr(), &line).into_bytes());
    assert_eq!(status, 431);
    assert!(took < Duration::from_secs(1), "answered after {took:?}");
    case.finish(&format!("431 in {} ms", took.as_millis()), 4 * MIB);
}

#[test]
fn a_malformed_head_gets_400() {
    let config = Config::default().handshake_timeout(Duration::from_secs(2));
    let case = Case::start("header name of control bytes -> 400", config);
    let head = head_with(case.addr(), "\x01\x02: x\r\n\r\n");
    let (status, took) = answer_to(&case, head.into_bytes());
    assert_eq!(status, 400);
    case.finish(&format!("400 in {} ms", took.as_millis()), 4 * MIB);
}

#[test]
fn a_request_sent_byte_by_byte_gets_408_at_the_handshake_deadline() {
    let timeout = Duration::from_secs(1);
    let case = Case::start(
        "slowloris: a byte every 10 ms -> 408",
        Config::default().handshake_timeout(timeout),
    );
    let mut peer = Peer::connect(case.addr());
    let mut writer = peer.tcp().try_clone().unwrap();
    let started = Instant::now();
    // A valid request line and then an endless header, one byte at a time:
    // each read gets only what is left of the one deadline, so the trickle
    // does not extend it (and stays within every size cap).
    let trickle = std::thread::spawn(move || {
        let bytes = b"GET /echo HTTP/1.1\r\nX-Slow: "
            .iter()
            .chain([b's'].iter().cycle());
        for &b in bytes.take(500) {
            if writer.write_all(&[b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    let status = peer.status();
    let took = started.elapsed();
    assert_eq!(status, 408);
    // Not before the deadline, and long before the trickle (5 s) ends: a
    // deadline each byte pushed back would miss the upper bound by
    // seconds, where a loaded machine's scheduling delays stay inside.
    assert!(
        took >= timeout - Duration::from_millis(50) && took < timeout * 3,
        "answered after {took:?}"
    );
    assert!(peer.wait_closed(), "the connection stays open after 408");
    trickle.join().unwrap();
    case.finish(&format!("408 in {} ms", took.as_millis()), 4 * MIB);
}

/// The time from the first byte of an upgrade request padded with about
/// `padding` bytes of header fields (1 KiB lines) to its 101.
fn upgrade_time(case: &Case, padding: usize) -> Duration {
    let line = "p".repeat(1000);
    let mut head = head_with(case.addr(), "");
    for i in 0..padding / 1024 {
        head += &format!("X-Pad-{i:04}: {line}\r\n");
    }
    head += "\r\n";
    let len = head.len() as u64;
    let mut peer = Peer::connect(case.addr());
    let started = Instant::now();
    let flood = peer.flood(head.into_bytes(), 1);
    let response = peer.head();
    let took = started.elapsed();
    assert!(response.starts_with("HTTP/1.1 101 "), "{response}");
    assert_eq!(flood.join(), len);
    took
}

#[test]
fn header_scanning_time_is_linear_in_the_bytes_received() {
    // The caps are raised so that the server really reads 4 MiB of head.
    // It reads at most 2 KiB per call, so 4 MiB is at least 2,048 reads: a
    // server that re-parsed everything received on each read (tungstenite
    // before CVE-2023-43669) would scan 2,048 * 2 MiB = 4 GiB, seconds
    // even for an optimised parser and minutes in a debug build. Looking
    // at each byte once, a debug build needs well under a second.
    let config = Config::default()
        .handshake_timeout(Duration::from_secs(20))
        .max_header_bytes(8 << 20)
        .max_headers(8192);
    let case = Case::start("4 MiB head read in 2 KiB pieces -> 101", config);
    let small = upgrade_time(&case, 1 << 20);
    let large = upgrade_time(&case, 4 << 20);
    assert!(
        large < Duration::from_secs(2),
        "4 MiB of header fields took {large:?} (1 MiB: {small:?})"
    );
    case.finish(
        &format!(
            "1 MiB {} ms, 4 MiB {} ms",
            small.as_millis(),
            large.as_millis()
        ),
        48 * MIB,
    );
}

// ---------------------------------------------------------------------------
// Frame sizes and fragment floods
// ---------------------------------------------------------------------------

/// A masked binary frame header declaring `len` bytes (64-bit length form).
fn header_declaring(first: u8, len: u64) -> Vec<u8> {
    let mut header = vec![first, 0x80 | 127];
    header.extend_from_slice(&len.to_be_bytes());
    header.extend_from_slice(&[0x11, 0x22, 0x33, 0x44]);
    header
}

/// Expects the server to close `peer` with `code`, reporting an error whose
/// debug form contains `error`; returns the close reason.
fn assert_closed(case: &mut Case, peer: &mut Peer, code: u16, error: &str) -> String {
    let (wire, reason) = peer.close_frame().expect("a close frame");
    assert_eq!(wire, code, "close code on the wire ({reason})");
    peer.finish();
    let ending = case.ending_of(peer.local_addr());
    assert_eq!(ending.code, code);
    let seen = ending.error.unwrap_or_default();
    assert!(
        seen.contains(error),
        "expected {error}, the handler saw {seen}"
    );
    reason
}

#[test]
fn a_frame_declaring_2_63_bytes_gets_1009_without_allocation() {
    let mut case = Case::start("frame declaring 2^63-1 bytes -> 1009", Config::default());
    let mut peer = case.attacker("");
    peer.send(&header_declaring(0x82, u64::MAX >> 1)).unwrap();
    assert_closed(
        &mut case,
        &mut peer,
        1009,
        "FrameTooBig { size: 9223372036854775807, max: 16777216 }",
    );
    case.finish("1009", 2 * MIB);
}

#[test]
fn a_frame_just_over_max_frame_size_gets_1009_before_its_payload() {
    let mut case = Case::start("frame of max_frame_size + 1 -> 1009", Config::default());
    let mut peer = case.attacker("");
    // The header alone: the answer must not wait for 16 MiB of payload.
    peer.send(&header_declaring(0x82, (16 << 20) + 1)).unwrap();
    assert_closed(
        &mut case,
        &mut peer,
        1009,
        "FrameTooBig { size: 16777217, max: 16777216 }",
    );
    case.finish("1009", 2 * MIB);
}

#[test]
fn a_million_empty_continuation_frames_are_cut_at_the_fragment_cap_with_1009() {
    let mut case = Case::start("1,000,000 empty continuations -> 1009", Config::default());
    let mut peer = case.attacker("");
    peer.send(&masked(0x02, b"")).unwrap();
    // 100 writes of 10,000 frames: 999,999 continuation frames and more.
    let flood = peer.flood(masked(0x00, b"").repeat(10_000), 100);
    assert_closed(
        &mut case,
        &mut peer,
        1009,
        "TooManyFragments { max: 65537 }",
    );
    let sent = flood.stop();
    case.finish(&format!("1009 after {} KiB", sent >> 10), 4 * MIB);
}

#[test]
fn a_hundred_thousand_one_byte_fragments_are_cut_at_the_fragment_cap_with_1009() {
    let mut case = Case::start("100,000 one-byte fragments -> 1009", Config::default());
    let mut peer = case.attacker("");
    let mut message = masked(0x01, b"a");
    message.extend(masked(0x00, b"a").repeat(99_998));
    message.extend(masked(0x80, b"a"));
    let flood = peer.flood(message, 1);
    assert_closed(
        &mut case,
        &mut peer,
        1009,
        "TooManyFragments { max: 65537 }",
    );
    flood.stop();
    case.finish("1009", 4 * MIB);
}

// ---------------------------------------------------------------------------
// Decompression bombs (permessage-deflate negotiated)
// ---------------------------------------------------------------------------

const OFFER_DEFLATE: &str = "Sec-WebSocket-Extensions: permessage-deflate\r\n";

/// 1 MiB of zeros as raw DEFLATE, ending with a sync flush. The piece
/// refers only to bytes it produced itself, so n copies in a row are a
/// valid stream of n MiB of zeros (about 1,000 to 1: DEFLATE's best).
fn mebibyte_of_zeros_deflated() -> Vec<u8> {
    use miniz_oxide::deflate::core::{
        compress_to_output, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush,
    };
    let mut engine = Box::new(CompressorOxide::new(create_comp_flags_from_zip_params(
        10, -15, 0,
    )));
    let mut out = Vec::new();
    compress_to_output(&mut engine, &vec![0; 1 << 20], TDEFLFlush::Sync, |b| {
        out.extend_from_slice(b);
        true
    });
    assert!(out.ends_with(&[0, 0, 0xFF, 0xFF]));
    out
}

/// A deflate-negotiating server and a peer past its handshake.
fn deflate_case(name: &'static str) -> (Case, Peer) {
    let case = Case::start(name, Config::default().deflate(PerMessageDeflate::new()));
    let peer = case.attacker(OFFER_DEFLATE);
    assert!(
        peer.response()
            .contains("Sec-WebSocket-Extensions: permessage-deflate"),
        "{}",
        peer.response()
    );
    (case, peer)
}

#[test]
fn a_one_gib_deflate_bomb_in_one_frame_gets_1009_with_memory_bounded() {
    let piece = mebibyte_of_zeros_deflated();
    let mut bomb = piece.repeat(1024);
    // RFC 7692 §7.2.1: the sender drops the flush's final 00 00 FF FF.
    bomb.truncate(bomb.len() - 4);
    let frame = masked(0xC2, &bomb); // FIN, RSV1, binary
    let (mut case, mut peer) = deflate_case("1 GiB deflate bomb in one frame -> 1009");
    let flood = peer.flood(frame, 1);
    assert_closed(
        &mut case,
        &mut peer,
        1009,
        "MessageTooBig { max: 16777216 }",
    );
    flood.stop();
    // The message may grow to max_message_size (16 MiB); not to 1 GiB.
    case.finish(&format!("1009 ({} KiB frame)", bomb.len() >> 10), 48 * MIB);
}

#[test]
fn a_one_gib_deflate_bomb_in_10_kib_frames_gets_1009_with_memory_bounded() {
    let piece = mebibyte_of_zeros_deflated();
    let stream = piece.repeat(1024);
    // DEFLATE inflates at most about 1,000 to 1, so a 10 KiB frame carries
    // 10 MiB: the 1 GiB message takes a hundred of them.
    let mut frames = Vec::new();
    for (i, chunk) in stream.chunks(10 << 10).enumerate() {
        let first = if i == 0 { 0x42 } else { 0x00 }; // RSV1 + binary, then continuations
        frames.extend(masked(first, chunk));
    }
    let (mut case, mut peer) = deflate_case("1 GiB deflate bomb in 10 KiB frames -> 1009");
    let flood = peer.flood(frames, 1);
    assert_closed(
        &mut case,
        &mut peer,
        1009,
        "MessageTooBig { max: 16777216 }",
    );
    flood.stop();
    case.finish("1009", 48 * MIB);
}

// ---------------------------------------------------------------------------
// Invalid UTF-8: 1007 at the frame that carries it
// ---------------------------------------------------------------------------

/// Each of `frames` on its own connection must get 1007 at once: the
/// message is left unfinished, so a server that waited for its end would
/// never answer.
fn assert_each_gets_1007(case: &mut Case, frames: &[Vec<u8>]) {
    for frame in frames {
        let mut peer = case.attacker("");
        let started = Instant::now();
        peer.send(frame).unwrap();
        assert_closed(case, &mut peer, 1007, "InvalidUtf8");
        let took = started.elapsed();
        assert!(took < Duration::from_secs(1), "{frame:02x?}: {took:?}");
    }
}

#[test]
fn invalid_utf8_in_the_first_fragment_gets_1007_at_once() {
    let mut case = Case::start("bad UTF-8 in a first fragment -> 1007", Config::default());
    assert_each_gets_1007(
        &mut case,
        &[
            masked(0x01, b"hello \xff"),
            masked(0x01, b"\x80"),
            masked(0x01, b"\xf4\x90\x80\x80"), // above U+10FFFF
        ],
    );
    case.finish("1007 x3", 2 * MIB);
}

#[test]
fn invalid_utf8_in_a_close_reason_gets_1007() {
    let mut case = Case::start("bad UTF-8 in a close reason -> 1007", Config::default());
    assert_each_gets_1007(&mut case, &[masked(0x88, b"\x03\xe8bye \xc3\x28")]);
    case.finish("1007", 2 * MIB);
}

#[test]
fn overlong_encodings_get_1007_at_once() {
    let mut case = Case::start("overlong encodings -> 1007", Config::default());
    let overlong: [&[u8]; 5] = [
        b"\xc0\xaf",         // '/' in two bytes
        b"\xc1\xbf",         // U+007F in two bytes
        b"\xe0\x80\xaf",     // '/' in three bytes
        b"\xe0\x9f\xbf",     // U+07FF in three bytes
        b"\xf0\x8f\xbf\xbf", // U+FFFF in four bytes
    ];
    let frames: Vec<Vec<u8>> = overlong.iter().map(|b| masked(0x01, b)).collect();
    assert_each_gets_1007(&mut case, &frames);
    case.finish("1007 x5", 2 * MIB);
}

#[test]
fn surrogates_get_1007_at_once() {
    let mut case = Case::start("UTF-16 surrogates -> 1007", Config::default());
    let mut split = masked(0x01, b"ok\xed"); // a valid prefix so far...
    split.extend(masked(0x00, b"\xa0\x80")); // ...completed as U+D800
    assert_each_gets_1007(
        &mut case,
        &[
            masked(0x01, b"\xed\xa0\x80"),             // U+D800
            masked(0x01, b"\xed\xbf\xbf"),             // U+DFFF
            masked(0x01, b"\xed\xa0\x80\xed\xb0\x80"), // a CESU-8 pair
            split,
        ],
    );
    case.finish("1007 x4", 2 * MIB);
}

// ---------------------------------------------------------------------------
// Framing violations: 1002
// ---------------------------------------------------------------------------

/// Each of `frames` on its own connection gets 1002 and the handler sees
/// the matching error.
fn assert_each_gets_1002(case: &mut Case, frames: &[(Vec<u8>, &str)]) {
    for (frame, error) in frames {
        let mut peer = case.attacker("");
        peer.send(frame).unwrap();
        assert_closed(case, &mut peer, 1002, error);
    }
}

#[test]
fn reserved_opcodes_get_1002() {
    let mut case = Case::start("reserved opcodes 3-7, B-F -> 1002", Config::default());
    let frames: Vec<(Vec<u8>, String)> = (3..=7)
        .chain(0xB..=0xF)
        .map(|op| (masked(0x80 | op, b"x"), format!("ReservedOpCode({op})")))
        .collect();
    let frames: Vec<(Vec<u8>, &str)> = frames
        .iter()
        .map(|(f, e)| (f.clone(), e.as_str()))
        .collect();
    assert_each_gets_1002(&mut case, &frames);
    case.finish("1002 x10", 2 * MIB);
}

#[test]
fn rsv_bits_without_an_extension_get_1002() {
    let mut case = Case::start("RSV1/2/3 without extension -> 1002", Config::default());
    assert_each_gets_1002(
        &mut case,
        &[
            (masked(0xC1, b"x"), "ReservedBits(64)"),
            (masked(0xA1, b"x"), "ReservedBits(32)"),
            (masked(0x92, b"x"), "ReservedBits(16)"),
            (masked(0xC9, b""), "ReservedBits(64)"), // on a ping
        ],
    );
    case.finish("1002 x4", 2 * MIB);
}

#[test]
fn rsv1_on_a_control_frame_gets_1002_with_deflate_negotiated() {
    let (mut case, mut peer) = deflate_case("RSV1 on a ping, deflate on -> 1002");
    peer.send(&masked(0xC9, b"")).unwrap();
    assert_closed(&mut case, &mut peer, 1002, "ReservedBits(64)");
    case.finish("1002", 2 * MIB);
}

#[test]
fn unmasked_client_frames_get_1002() {
    let mut case = Case::start("unmasked client frames -> 1002", Config::default());
    assert_each_gets_1002(
        &mut case,
        &[
            (vec![0x81, 0x02, b'h', b'i'], "UnmaskedFrame"),
            (vec![0x82, 0x00], "UnmaskedFrame"),
            (vec![0x89, 0x00], "UnmaskedFrame"),
            (vec![0x88, 0x02, 0x03, 0xE8], "UnmaskedFrame"),
        ],
    );
    case.finish("1002 x4", 2 * MIB);
}

#[test]
fn fragmented_control_frames_get_1002() {
    let mut case = Case::start("control frames without FIN -> 1002", Config::default());
    assert_each_gets_1002(
        &mut case,
        &[
            (masked(0x09, b"ping"), "FragmentedControlFrame"),
            (masked(0x0A, b"pong"), "FragmentedControlFrame"),
            (masked(0x08, b"\x03\xe8"), "FragmentedControlFrame"),
        ],
    );
    case.finish("1002 x3", 2 * MIB);
}

#[test]
fn oversized_control_frames_get_1002() {
    let mut case = Case::start("control frames over 125 bytes -> 1002", Config::default());
    assert_each_gets_1002(
        &mut case,
        &[
            (masked(0x89, &[0; 126]), "ControlFrameTooLong"),
            (masked(0x8A, &[0; 126]), "ControlFrameTooLong"),
            (masked(0x88, &[b'x'; 126]), "ControlFrameTooLong"),
            (header_declaring(0x89, u64::MAX >> 1), "ControlFrameTooLong"),
        ],
    );
    case.finish("1002 x4", 2 * MIB);
}

#[test]
fn malformed_payload_lengths_get_1002() {
    let mut case = Case::start(
        "64-bit top bit, non-minimal length -> 1002",
        Config::default(),
    );
    assert_each_gets_1002(
        &mut case,
        &[
            (header_declaring(0x82, u64::MAX), "LengthTopBitSet"),
            (header_declaring(0x82, 5), "NonMinimalLength"),
        ],
    );
    case.finish("1002 x2", 2 * MIB);
}

// ---------------------------------------------------------------------------
// Peers that do not read: the write side stays bounded
// ---------------------------------------------------------------------------

#[test]
fn a_ping_flood_from_a_peer_that_never_reads_its_pongs_is_closed_with_1008() {
    let cap = 1 << 20;
    let builder = Server::builder()
        .config(
            Config::default()
                .max_write_buffer(cap)
                // Time for the peer to read the backlog once the flood is over.
                .close_timeout(Duration::from_secs(10)),
        )
        .send_buffer_size(16 << 10);
    let mut case = Case::with("ping flood, pongs never read -> 1008", builder);
    let mut peer = case.attacker("");
    // Empty pings: the cheapest frame to send (6 bytes) for a pong the
    // server must keep until the peer reads it. Up to 4,000,000 of them.
    let flood = peer.flood(masked(0x89, b"").repeat(10_000), 400);
    case.wait_gone(peer.local_addr());
    let sent = flood.stop();
    // Now the peer reads: the pongs queued so far, then the close frame.
    let reason = assert_closed(
        &mut case,
        &mut peer,
        1008,
        "WriteBufferFull { max: 1048576 }",
    );
    assert_eq!(reason, "outgoing queue full");
    case.finish(&format!("1008 after {} pings", sent / 6), 8 * MIB);
}

#[test]
fn a_peer_that_never_reads_its_echoes_is_closed_with_1008_at_the_write_timeout() {
    let builder = Server::builder()
        // Longer than the canary's MAX_STALL: were other clients held up
        // behind the blocked write, the canary would notice.
        .config(Config::default().write_timeout(Some(Duration::from_secs(1))))
        .send_buffer_size(16 << 10);
    let mut case = Case::with("echoes never read -> 1008 at write timeout", builder);
    let mut peer = case.attacker("");
    let started = Instant::now();
    let flood = peer.flood(masked(0x82, &[7; 64 << 10]), 64);
    let ending = case.ending_of(peer.local_addr());
    let took = started.elapsed();
    flood.stop();
    assert_eq!(ending.error.as_deref(), Some("Timeout(Write)"));
    assert_eq!(
        (ending.code, ending.reason.as_str()),
        (1008, "write timed out")
    );
    // The socket is full: no close frame can get through, the connection
    // is cut instead.
    assert!(peer.wait_closed(), "the connection stays open");
    assert!(took < Duration::from_secs(3), "noticed after {took:?}");
    case.finish(&format!("1008 after {} ms", took.as_millis()), 8 * MIB);
}

// ---------------------------------------------------------------------------
// Connection floods
// ---------------------------------------------------------------------------

/// Silent connections in one case, and the soft limit on open files
/// they need (both ends are in this process, plus the server's threads).
const SILENT: usize = 2000;
const OPEN_FILES: u64 = 2 * SILENT as u64 + 512;

/// Opens `SILENT` TCP connections that send nothing.
fn silent_connections(case: &Case) -> Vec<Peer> {
    let limit = rlimit::increase_nofile_limit(OPEN_FILES).expect("raise RLIMIT_NOFILE");
    assert!(
        limit >= OPEN_FILES,
        "{SILENT} connections need {OPEN_FILES} open files; the hard limit is {limit}"
    );
    (0..SILENT).map(|_| Peer::connect(case.addr())).collect()
}

/// A new, well-behaved client: connects to `/echo` and gets one echo.
fn good_client(addr: SocketAddr) -> Result<Duration, Error> {
    let started = Instant::now();
    let ws = WebSocket::builder(&format!("ws://{addr}/echo"))
        .config(Config::default().read_timeout(Some(PATIENCE)))
        .connect()?;
    let mut conn = stdws::Connection::new(ws);
    conn.send(Message::Text("good".into()))?;
    assert_eq!(conn.recv()?, Some(Message::Text("good".into())));
    conn.close(stdws::CloseCode::NORMAL, "")?;
    Ok(started.elapsed())
}

/// Waits until the server's connections (the canary's included) are `n`.
fn wait_for_connections(case: &Case, n: usize) {
    let deadline = Instant::now() + PATIENCE;
    while case.server().connections() != n {
        assert!(
            Instant::now() < deadline,
            "{} connections, expected {n}",
            case.server().connections()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn two_thousand_silent_connections_are_reaped_at_the_handshake_timeout() {
    let timeout = Duration::from_secs(2);
    // A backlog that holds the whole burst: with the default (1,024) the
    // kernel drops SYNs while the accept thread catches up, and those
    // clients retry only a second later.
    let builder = Server::builder()
        .config(Config::default().handshake_timeout(timeout))
        .backlog(4096);
    let case = Case::with("2,000 silent connections -> 408 each", builder);
    let opened = Instant::now();
    let mut silent = silent_connections(&case);
    wait_for_connections(&case, SILENT + 1);
    // The 2,001st client is served while the 2,000 wait.
    let good = good_client(case.addr()).expect("the 2,001st client is served");
    assert!(opened.elapsed() < timeout, "served only after the reaping");
    for peer in &mut silent {
        assert_eq!(peer.status(), 408);
    }
    let reaped = opened.elapsed();
    assert!(reaped < timeout * 3, "the last 408 came after {reaped:?}");
    for peer in &mut silent {
        assert!(peer.wait_closed());
    }
    drop(silent);
    wait_for_connections(&case, 1);
    // Every connection's thread has ended but the canary's.
    assert_eq!(connection_threads(), 1);
    let answer = format!(
        "408 x{SILENT} by {} ms; 2,001st served in {:.1} ms",
        reaped.as_millis(),
        good.as_secs_f64() * 1000.0
    );
    case.finish(&answer, 96 * MIB);
}

#[test]
fn silent_connections_over_max_connections_get_503_and_the_slots_come_back() {
    let max = 64;
    let timeout = Duration::from_secs(2);
    let builder = Server::builder()
        .config(
            Config::default()
                .handshake_timeout(timeout)
                .max_connections(max),
        )
        .backlog(4096);
    let case = Case::with("2,000 silent, max_connections 64 -> 503/408", builder);
    let opened = Instant::now();
    let mut silent = silent_connections(&case);
    wait_for_connections(&case, max);
    // Full: a good client is refused at once, like the silent ones.
    match good_client(case.addr()) {
        Err(Error::Handshake(HandshakeError::UnexpectedStatus { status: 503, .. })) => {}
        other => panic!("expected 503, got {other:?}"),
    }
    assert!(opened.elapsed() < timeout, "the 503 came late");
    let mut statuses = std::collections::BTreeMap::new();
    for peer in &mut silent {
        *statuses.entry(peer.status()).or_insert(0) += 1;
    }
    // The canary holds one slot; the first 63 silent ones the others.
    let expected = [(408, max - 1), (503, SILENT - (max - 1))];
    assert_eq!(statuses.into_iter().collect::<Vec<_>>(), expected);
    drop(silent);
    wait_for_connections(&case, 1);
    assert_eq!(connection_threads(), 1);
    let good = good_client(case.addr()).expect("served once the slots are free");
    let answer = format!(
        "408 x{}, 503 x{}; then served in {:.1} ms",
        max - 1,
        SILENT - (max - 1),
        good.as_secs_f64() * 1000.0
    );
    case.finish(&answer, 48 * MIB);
}
