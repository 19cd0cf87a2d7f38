//! The seed corpus: RFC 6455 examples, Autobahn-like frame sequences and
//! extension header examples, one list per fuzz target.
//!
//! `cargo run --bin seeds -- DIR` writes them to `DIR/<target>/<name>`;
//! the files committed under `fuzz/seeds/` are its output.

use stdws::frame::MAX_HEADER_LEN;
use stdws::{CloseCode, Frame, OpCode, Role, Rsv};

use crate::wire::{frames, RFC_MASK, RFC_REQUEST, RFC_RESPONSE};

/// One seed input.
pub struct Seed {
    /// The fuzz target it is for.
    pub target: &'static str,
    /// Its file name.
    pub name: String,
    /// The input.
    pub bytes: Vec<u8>,
}

/// Every seed of every target.
pub fn all() -> Vec<Seed> {
    let mut seeds = Vec::new();
    frame_header(&mut seeds);
    handshake_request(&mut seeds);
    handshake_response(&mut seeds);
    extensions(&mut seeds);
    connection(&mut seeds);
    url(&mut seeds);
    inflate(&mut seeds);
    hixie76(&mut seeds);
    proxy(&mut seeds);
    seeds
}

/// Hixie-76 clients: draft §1.3's request and key3, then frames.
fn hixie76(seeds: &mut Vec<Seed>) {
    const REQUEST: &str = "GET /demo HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\nSec-WebSocket-Protocol: sample\r\n\
        Upgrade: WebSocket\r\nSec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\n\
        Origin: http://example.com\r\n\r\n^n:ds[4U";
    let with = |frames: &[u8]| [REQUEST.as_bytes(), frames].concat();
    push(seeds, "hixie76", "draft_request", with(b""));
    push(
        seeds,
        "hixie76",
        "text_and_close",
        with(b"\x00hello\xff\x00\xc3\xa9\xff\xff\x00"),
    );
    push(
        seeds,
        "hixie76",
        "length_prefixed",
        with(b"\x80\x81\x80\x05hello"),
    );
    push(
        seeds,
        "hixie76",
        "unfinished_text",
        with(b"\x00no end byte"),
    );
    let bad_key = REQUEST.replace("12998 5 Y3 1  .P00", "12998 5 Y3 1  .P01");
    push(seeds, "hixie76", "key_not_a_multiple", bad_key.into_bytes());
}

/// Proxy inputs: mode byte (0 SOCKS5 name, 1 SOCKS5 address, 2 CONNECT
/// reply, 3 text; +4 credentials), split byte, then the proxy's bytes.
fn proxy(seeds: &mut Vec<Seed>) {
    let bound = [5, 0, 0, 1, 127, 0, 0, 1, 0x23, 0x29];
    let values: [(&str, u8, &[u8]); 9] = [
        ("socks5h", 0, &[&[5, 0][..], &bound].concat()),
        ("socks5_auth", 5, &[&[5, 2, 1, 0][..], &bound].concat()),
        ("socks5_refused", 0, &[5, 0, 5, 5, 0, 1, 0, 0, 0, 0, 0, 0]),
        ("socks5_no_method", 4, &[5, 0xFF]),
        ("socks5_bound_name", 1, &[5, 0, 5, 0, 0, 3, 4, b'h', b'o', b's', b't', 0, 80]),
        ("connect_200", 2, b"HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n"),
        ("connect_407", 2, b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\n\r\n"),
        ("url", 3, b"socks5h://alice:s%40cret@[::1]:1080/"),
        ("no_proxy", 3, b"localhost, .example.com, 10.0.0.0/8, [::1]:9001, *"),
    ];
    for (name, mode, bytes) in values {
        let mut input = vec![mode, 7];
        input.extend_from_slice(bytes);
        push(seeds, "proxy", name, input);
    }
}

/// Inflate inputs: parameter byte, 2-byte limit, then length-prefixed
/// messages (odd: compressed bytes to inflate; even: plain bytes to
/// compress and inflate back).
fn inflate(seeds: &mut Vec<Seed>) {
    fn input(flags: u8, limit: u16, messages: &[&[u8]]) -> Vec<u8> {
        let mut out = vec![flags];
        out.extend_from_slice(&limit.to_be_bytes());
        for m in messages {
            out.extend_from_slice(&(m.len() as u16).to_be_bytes());
            out.extend_from_slice(m);
        }
        out
    }
    // RFC 7692 §7.2.3.1 "Hello", §7.2.3.2 the same with a shared window,
    // §7.2.3.3 a stored block, §7.2.3.4 a final block.
    let hello: &[u8] = &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let again: &[u8] = &[0xf2, 0x00, 0x11, 0x00, 0x00];
    let stored: &[u8] = &[
        0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
    ];
    let last: &[u8] = &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
    let json = br#"{"id":1,"name":"stdws","tags":["a","b","c"],"id2":1,"name2":"stdws"}"#;
    push(
        seeds,
        "inflate",
        "rfc_hello_then_json",
        input(0, 1024, &[hello, json]),
    );
    push(
        seeds,
        "inflate",
        "rfc_shared_window",
        input(0, 1024, &[hello, b"Hello", again]),
    );
    push(
        seeds,
        "inflate",
        "rfc_stored_block",
        input(3, 64, &[stored, b""]),
    );
    push(
        seeds,
        "inflate",
        "rfc_final_block",
        input(0x50, 16, &[last, &[b'x'; 300]]),
    );
    // A stored block claiming more than the limit allows.
    let mut big = vec![0x01, 0xff, 0xff, 0x00, 0x00];
    big.extend(std::iter::repeat_n(b'z', 2000));
    push(
        seeds,
        "inflate",
        "stored_past_limit",
        input(0, 100, &[&big]),
    );
    // Not DEFLATE at all: reserved block type 3.
    push(
        seeds,
        "inflate",
        "reserved_block_type",
        input(1, 1024, &[&[0x07, 0x00]]),
    );
}

fn push(seeds: &mut Vec<Seed>, target: &'static str, name: &str, bytes: Vec<u8>) {
    seeds.push(Seed {
        target,
        name: name.to_owned(),
        bytes,
    });
}

/// The close frame with a raw code (any `u16`, sendable or not) and reason.
fn close(code: u16, reason: &[u8]) -> Frame {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason);
    Frame::new(OpCode::Close, payload)
}

/// Frame sequences as a peer in `sender`'s role sends them: Autobahn's
/// case families, in miniature.
fn sequences() -> Vec<(&'static str, Vec<Frame>)> {
    let hello = || Frame::text("Hello");
    vec![
        // 1.x: single-frame messages at the length edges.
        ("text_hello", vec![hello()]),
        ("text_empty", vec![Frame::text("")]),
        ("text_125", vec![Frame::text("*".repeat(125))]),
        ("text_126", vec![Frame::text("*".repeat(126))]),
        ("binary_256", vec![Frame::binary(vec![0xfe; 256])]),
        ("binary_65536", vec![Frame::binary(vec![0xcd; 65_536])]),
        // 2.x: pings and pongs.
        ("ping_hello", vec![Frame::ping(&b"Hello"[..]), hello()]),
        ("ping_125", vec![Frame::ping(vec![0xfe; 125])]),
        (
            "pong_unsolicited",
            vec![Frame::pong(&b"Hello"[..]), hello()],
        ),
        (
            "ping_10",
            (0..10).map(|i| Frame::ping(vec![i; 4])).collect(),
        ),
        // 3.x and 4.x: reserved bits and opcodes.
        ("rsv1_text", vec![hello().with_rsv(Rsv::RSV1)]),
        ("rsv3_ping", vec![Frame::ping(vec![]).with_rsv(Rsv::RSV3)]),
        (
            "reserved_op_3",
            vec![Frame::new(OpCode::Reserved(3), vec![])],
        ),
        (
            "reserved_op_b",
            vec![Frame::new(OpCode::Reserved(0xB), vec![])],
        ),
        // 5.x: fragmentation (§5.4, and the RFC §5.7 example).
        (
            "fragmented_hello",
            vec![
                Frame::text("Hel").with_fin(false),
                Frame::continuation(&b"lo"[..]),
            ],
        ),
        (
            "fragmented_with_ping",
            vec![
                Frame::text("Hel").with_fin(false),
                Frame::ping(&b"p"[..]),
                Frame::continuation(&b""[..]).with_fin(false),
                Frame::continuation(&b"lo"[..]),
            ],
        ),
        ("continuation_alone", vec![Frame::continuation(&b"x"[..])]),
        (
            "text_inside_message",
            vec![Frame::binary(vec![1]).with_fin(false), hello()],
        ),
        ("fragmented_ping", vec![Frame::ping(vec![]).with_fin(false)]),
        (
            "tiny_fragments",
            std::iter::once(Frame::binary(vec![0]).with_fin(false))
                .chain((0..100).map(|_| Frame::continuation(vec![1]).with_fin(false)))
                .chain(std::iter::once(Frame::continuation(vec![2])))
                .collect(),
        ),
        // 6.x: UTF-8, valid and not, whole and split inside a character.
        ("utf8_kosme", vec![Frame::text("κόσμε")]),
        (
            "utf8_split_character",
            vec![
                Frame::new(OpCode::Text, &b"\xce"[..]).with_fin(false),
                Frame::continuation(&b"\xba"[..]),
            ],
        ),
        (
            "utf8_invalid",
            vec![Frame::new(OpCode::Text, &b"ab\xff"[..])],
        ),
        (
            "utf8_invalid_first_fragment",
            vec![
                Frame::new(
                    OpCode::Text,
                    &b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80"[..],
                )
                .with_fin(false),
                Frame::continuation(&b"edited"[..]),
            ],
        ),
        (
            "utf8_surrogate",
            vec![Frame::new(OpCode::Text, &b"\xed\xa0\x80"[..])],
        ),
        (
            "utf8_overlong",
            vec![Frame::new(OpCode::Text, &b"\xc0\xaf"[..])],
        ),
        (
            "utf8_truncated",
            vec![Frame::new(OpCode::Text, &b"\xe2\x82"[..])],
        ),
        // 7.x: closing.
        (
            "close_1000",
            vec![hello(), Frame::close(CloseCode::NORMAL, "bye")],
        ),
        ("close_empty", vec![Frame::new(OpCode::Close, vec![])]),
        (
            "close_one_byte",
            vec![Frame::new(OpCode::Close, vec![0x03])],
        ),
        ("close_1005", vec![close(1005, b"")]),
        ("close_999", vec![close(999, b"")]),
        ("close_3000", vec![close(3000, b"app")]),
        ("close_4999", vec![close(4999, b"")]),
        ("close_5000", vec![close(5000, b"")]),
        ("close_bad_reason", vec![close(1000, b"\xff")]),
        ("data_after_close", vec![close(1000, b""), hello()]),
        // 9.x in miniature: a message in many frames.
        (
            "fragments_4096",
            std::iter::once(Frame::binary(vec![7; 1024]).with_fin(false))
                .chain((0..3).map(|i| Frame::continuation(vec![i; 1024]).with_fin(i == 2)))
                .collect(),
        ),
    ]
}

fn frame_header(seeds: &mut Vec<Seed>) {
    // Rules byte: bit 0 role (0 server: client frames are masked), bits
    // 1-3 allowed RSV bits, bits 4-7 max_frame_size index (9: 1 MiB).
    let server = 0x90u8;
    let client = 0x91u8;
    let with_rules = |rules: u8, wire: &[u8]| {
        let mut v = vec![rules];
        v.extend_from_slice(&wire[..wire.len().min(MAX_HEADER_LEN + 2)]);
        v
    };
    // RFC 6455 §5.7.
    let examples: [(&str, u8, Vec<u8>); 8] = [
        (
            "rfc_unmasked_hello",
            client,
            vec![0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f],
        ),
        (
            "rfc_masked_hello",
            server,
            vec![
                0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
            ],
        ),
        ("rfc_fragment_1", client, vec![0x01, 0x03, 0x48, 0x65, 0x6c]),
        ("rfc_fragment_2", client, vec![0x80, 0x02, 0x6c, 0x6f]),
        (
            "rfc_ping",
            client,
            vec![0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f],
        ),
        (
            "rfc_masked_pong",
            server,
            vec![
                0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
            ],
        ),
        ("rfc_256_bytes", client, vec![0x82, 0x7E, 0x01, 0x00]),
        (
            "rfc_64_kib",
            client,
            vec![0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0],
        ),
    ];
    for (name, rules, wire) in examples {
        push(seeds, "frame_header", name, with_rules(rules, &wire));
    }
    let edges: [(&str, u8, Vec<u8>); 8] = [
        (
            "len_2_pow_63_minus_1",
            client,
            vec![0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
        ),
        (
            "len_top_bit",
            client,
            vec![0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0],
        ),
        ("len_non_minimal_16", client, vec![0x82, 0x7E, 0x00, 0x7D]),
        (
            "len_non_minimal_64",
            client,
            vec![0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF],
        ),
        ("close_126", server, vec![0x88, 0xFE, 0x00, 0x7E]),
        ("rsv_all_allowed", 0x9F, vec![0xF2, 0x80, 1, 2, 3, 4]),
        ("max_0_empty", 0x01, vec![0x82, 0x00]),
        ("masked_to_client", client, vec![0x82, 0x80, 1, 2, 3, 4]),
    ];
    for (name, rules, wire) in edges {
        push(seeds, "frame_header", name, with_rules(rules, &wire));
    }
    for (name, seq) in sequences() {
        let wire = frames(Role::Client, &seq);
        push(
            seeds,
            "frame_header",
            &format!("seq_{name}"),
            with_rules(server, &wire),
        );
    }
}

fn handshake_request(seeds: &mut Vec<Seed>) {
    let rfc = RFC_REQUEST;
    let variants: Vec<(&str, String)> = vec![
        ("rfc", rfc.to_owned()),
        ("rfc_bare_lf", rfc.replace("\r\n", "\n")),
        (
            "extensions",
            rfc.replacen(
                "Origin",
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-webkit-deflate-frame\r\nOrigin",
                1,
            ),
        ),
        ("version_8", rfc.replace("Version: 13", "Version: 8")),
        ("post", rfc.replacen("GET", "POST", 1)),
        ("http_1_0", rfc.replace("HTTP/1.1", "HTTP/1.0")),
        ("no_key", rfc.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "")),
        ("short_key", rfc.replace("dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ=")),
        ("two_hosts", rfc.replacen("Origin", "Host: other\r\nOrigin", 1)),
        ("absolute_target", rfc.replacen("/chat", "ws://server.example.com/chat?room=1", 1)),
        ("plain_get", "GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n".to_owned()),
        ("many_headers", rfc.replacen("Origin", &"X-A: b\r\n".repeat(30), 1) + "Origin: x\r\n"),
        ("long_line", rfc.replacen("/chat", &format!("/{}", "a".repeat(1100)), 1)),
        ("frames_behind", rfc.to_owned() + "\u{81}\u{85}"),
        ("partial", rfc[..rfc.len() - 2].to_owned()),
    ];
    for (name, text) in variants {
        push(seeds, "handshake_request", name, text.into_bytes());
    }
    // A wss:// client on a plain port: the start of its ClientHello record.
    push(
        seeds,
        "handshake_request",
        "tls_client_hello",
        vec![
            0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
        ],
    );
}

fn handshake_response(seeds: &mut Vec<Seed>) {
    let rfc = RFC_RESPONSE;
    let variants: Vec<(&str, String)> = vec![
        ("rfc", rfc.to_owned()),
        ("rfc_bare_lf", rfc.replace("\r\n", "\n")),
        (
            "no_protocol",
            rfc.replace("Sec-WebSocket-Protocol: chat\r\n", ""),
        ),
        (
            "other_protocol",
            rfc.replace("Protocol: chat", "Protocol: other"),
        ),
        (
            "two_protocols",
            rfc.replace("Protocol: chat", "Protocol: chat, superchat"),
        ),
        (
            "wrong_accept",
            rfc.replace(
                "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            ),
        ),
        ("no_upgrade", rfc.replace("Upgrade: websocket\r\n", "")),
        (
            "extension",
            rfc.replace(
                "Sec-WebSocket-Protocol: chat\r\n",
                "Sec-WebSocket-Extensions: permessage-deflate\r\n",
            ),
        ),
        (
            "forbidden",
            "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".to_owned(),
        ),
        (
            "upgrade_required",
            "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n\r\n".to_owned(),
        ),
        (
            "redirect",
            "HTTP/1.1 302 Found\r\nLocation: ws://a/b\r\n\r\n".to_owned(),
        ),
        ("frames_behind", rfc.to_owned() + "\u{81}\u{05}Hello"),
    ];
    for (name, text) in variants {
        push(seeds, "handshake_response", name, text.into_bytes());
    }
    // A TLS server answering a ws:// request: a fatal alert record.
    push(
        seeds,
        "handshake_response",
        "tls_alert",
        vec![0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46],
    );
}

fn extensions(seeds: &mut Vec<Seed>) {
    let values = [
        ("pmd", "permessage-deflate"),
        (
            "pmd_params",
            "permessage-deflate; client_max_window_bits; server_max_window_bits=10",
        ),
        (
            "pmd_fallbacks",
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=\"12\", permessage-deflate",
        ),
        ("deflate_frame", "x-webkit-deflate-frame, deflate-frame; no_context_takeover"),
        ("toys", "x-a; a, x-b; b=1, x-c, x-d"),
        ("toys_case", "X-A; zz, x-a; a, x-c; b=\"2\", X-D, x-d"),
        ("toys_conflict", "x-b, x-a; a; a, x-a"),
        ("empty_elements", " , x-c ,, "),
        ("quoted_escape", "x-c; b=\"\\1\\2\""),
        ("bad_quoted", "x-c; b=\"1 2\""),
        ("bad_name", "x(c)"),
        ("trailing_semicolon", "x-c;"),
    ];
    for (name, value) in values {
        push(seeds, "extensions", name, value.as_bytes().to_vec());
    }
}

fn connection(seeds: &mut Vec<Seed>) {
    // Setup bytes: see fuzz_targets/connection.rs. Row 5 of the limits is
    // (64 KiB frame, 128 KiB message, 65,537 fragments).
    let server = 0x54u8; // server, echo, row 5
    let client = 0x55u8; // client, echo, row 5
    for (name, seq) in sequences() {
        let as_server: Vec<u8> = [server, 0, 0, 0]
            .into_iter()
            .chain(frames(Role::Client, &seq))
            .collect();
        push(seeds, "connection", &format!("server_{name}"), as_server);
        let as_client: Vec<u8> = [client, 0, 0, 0]
            .into_iter()
            .chain(frames(Role::Server, &seq))
            .collect();
        push(seeds, "connection", &format!("client_{name}"), as_client);
    }
    // The same traffic read in pieces with timeouts, partial writes,
    // fragmented echoes, extensions, and small limits.
    let hello_ping_close = [
        Frame::text("Hel").with_fin(false),
        Frame::ping(&b"p"[..]),
        Frame::continuation(&b"lo"[..]),
        Frame::binary(vec![9; 300]),
        Frame::close(CloseCode::NORMAL, "bye"),
    ];
    let wire = frames(Role::Client, &hello_ping_close);
    let variants: [(&str, [u8; 4]); 8] = [
        ("server_closes_first", [server, 0, 0x80, 0]),
        ("server_closes_first_in_pieces", [server, 0x21, 0x85, 0]),
        ("server_pieces_timeouts", [server, 0x30, 0, 0]),
        ("server_partial_writes", [server, 0x17, 3, 2]),
        ("server_toys", [server | 2, 0, 0, 0x80]),
        ("server_small_limits", [0x14, 0, 0, 0]),
        ("server_tiny_fragment_cap", [0x24, 0, 0, 0]),
        ("server_no_auto_pong", [server | 8, 0, 0, 0]),
    ];
    for (name, head) in variants {
        push(
            seeds,
            "connection",
            name,
            head.into_iter().chain(wire.iter().copied()).collect(),
        );
    }
    let toy_frames = [
        Frame::text("Hel").with_fin(false).with_rsv(Rsv::RSV1),
        Frame::continuation(&b"lo"[..]).with_rsv(Rsv::RSV2),
        Frame::binary(vec![1; 10]).with_rsv(Rsv::RSV1.union(Rsv::RSV2)),
        Frame::ping(vec![]).with_rsv(Rsv::RSV1),
    ];
    push(
        seeds,
        "connection",
        "client_toys_rsv",
        [client | 2, 0, 0, 0x80]
            .into_iter()
            .chain(frames(Role::Server, &toy_frames))
            .collect(),
    );
    // A masked frame whose key is the RFC example's, to a server, declaring
    // far more than it sends.
    let mut truncated = vec![server, 0, 0, 0, 0x82, 0xFE, 0xFF, 0xFF];
    truncated.extend_from_slice(&RFC_MASK);
    truncated.extend_from_slice(&[0; 100]);
    push(seeds, "connection", "server_truncated_frame", truncated);
}

fn url(seeds: &mut Vec<Seed>) {
    let values = [
        ("port_query", "ws://example.com:9001/chat?room=1"),
        ("secure_default", "wss://example.com"),
        ("query_only", "ws://127.0.0.1:9001?case=1"),
        ("ipv6", "wss://[::1]:8000/x"),
        ("userinfo", "ws://al%20ice:p%40ss@host/"),
        ("http_redirect", "https://h:443/a"),
        ("location_path", "/next?x=1"),
        ("location_scheme_relative", "//other.example/p"),
        ("port_zero", "ws://h:0/"),
        ("fragment", "ws://host/#frag"),
    ];
    for (name, value) in values {
        push(seeds, "url", name, value.as_bytes().to_vec());
    }
}
