//! permessage-deflate and deflate-frame over real loopback connections:
//! what is negotiated, what goes on the wire, what comes out, and how bad
//! compressed input is answered.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;
use stdws::extension::ExtensionOffer;
use stdws::{
    CloseCode, CloseFrame, Config, Connection, DeflateFrame, Error, Frame, FrameHeader,
    HandshakeError, Listener, Message, OpCode, PerMessageDeflate, Rsv, WebSocket,
};

/// Ends every wait of a test that went wrong. It is not a pace: a peer
/// deflating 300 KB in a debug build on a loaded machine can be silent for
/// seconds, and a read or close timeout that fired then would end a
/// healthy conversation (the echo server hung up on its client that way).
const PATIENCE: Duration = Duration::from_secs(60);

fn bounded(config: Config) -> Config {
    config
        .read_timeout(Some(PATIENCE))
        .handshake_timeout(PATIENCE)
        .close_timeout(PATIENCE)
}

/// The server thread: the extensions it agreed and how its connection ended.
type ServerEnd = JoinHandle<(Vec<ExtensionOffer>, Result<(), Error>)>;

/// A server that echoes every message until the peer closes; it returns
/// the extensions it agreed and how its connection ended.
fn echo_server(config: Config) -> (String, ServerEnd) {
    let listener = Listener::bind("127.0.0.1:0")
        .unwrap()
        .with_config(bounded(config));
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        let mut conn = Connection::new(listener.accept().unwrap());
        let agreed = conn.extensions().to_vec();
        let result = loop {
            match conn.recv() {
                Ok(Some(m)) => {
                    if let Err(e) = conn.send(m) {
                        break Err(e);
                    }
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        (agreed, result)
    });
    (url, handle)
}

fn client(url: &str, config: Config) -> Connection<stdws::MaybeTlsStream> {
    Connection::new(
        WebSocket::builder(url)
            .config(bounded(config))
            .connect()
            .unwrap(),
    )
}

/// JSON-like text: compressible, with repeats near and far.
fn json(len: usize) -> String {
    let mut s = String::new();
    let mut i = 0;
    while s.len() < len {
        s.push_str(&format!(
            "{{\"id\":{i},\"user\":\"name-{}\",\"tags\":[\"a\",\"b{}\"]}},",
            i % 37,
            i % 11
        ));
        i += 1;
    }
    s.truncate(len);
    s
}

/// Records the (RSV bits, payload) of every frame a connection receives.
type Wire = Arc<Mutex<Vec<(FrameHeader, Vec<u8>)>>>;

fn tap<S: stdws::Stream>(conn: &mut Connection<S>) -> Wire {
    let wire: Wire = Arc::default();
    let w = Arc::clone(&wire);
    conn.on_recv_frame(move |h, p| w.lock().unwrap().push((*h, p.to_vec())));
    wire
}

fn reply_text(list: &[ExtensionOffer]) -> String {
    stdws::extension::format_extensions(list)
}

#[test]
fn messages_round_trip_with_every_parameter_combination() {
    let base = || PerMessageDeflate::new().min_size(0);
    let combos: Vec<(&str, PerMessageDeflate, PerMessageDeflate, &str)> = vec![
        ("defaults", base(), base(), "permessage-deflate"),
        (
            "server_no_context_takeover asked by the client",
            base(),
            base().server_no_context_takeover(true),
            "permessage-deflate; server_no_context_takeover",
        ),
        (
            "client_no_context_takeover required by the server",
            base().client_no_context_takeover(true),
            base(),
            "permessage-deflate; client_no_context_takeover",
        ),
        (
            "server_max_window_bits asked by the client",
            base(),
            base().server_max_window_bits(9),
            "permessage-deflate; server_max_window_bits=9",
        ),
        (
            "client_max_window_bits asked by the server",
            base().client_max_window_bits(8),
            base(),
            "permessage-deflate; client_max_window_bits=8",
        ),
        (
            "everything at once",
            base()
                .server_no_context_takeover(true)
                .client_no_context_takeover(true)
                .client_max_window_bits(10),
            base().server_max_window_bits(11).client_max_window_bits(12),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=10",
        ),
    ];
    for (name, server, client_side, agreed) in combos {
        let (url, server) = echo_server(Config::default().deflate(server));
        let mut conn = client(&url, Config::default().deflate(client_side));
        assert_eq!(reply_text(conn.extensions()), agreed, "{name}");
        let wire = tap(&mut conn);
        for len in [0, 1, 100, 5_000, 70_000, 300_000] {
            let text = json(len);
            conn.send(Message::Text(text.clone())).unwrap();
            assert_eq!(conn.recv().unwrap(), Some(Message::Text(text)), "{name}");
            let data = json(len).into_bytes();
            conn.send(Message::Binary(data.clone())).unwrap();
            assert_eq!(conn.recv().unwrap(), Some(Message::Binary(data)), "{name}");
        }
        conn.close(CloseCode::NORMAL, "").unwrap();
        let (server_agreed, result) = server.join().unwrap();
        assert_eq!(reply_text(&server_agreed), agreed, "{name}");
        result.unwrap();
        let wire = wire.lock().unwrap();
        let data_frames = wire.iter().filter(|(h, _)| !h.opcode.is_control());
        assert!(
            data_frames.clone().all(|(h, _)| h.rsv == Rsv::RSV1),
            "{name}: every echoed message compressed"
        );
        let on_wire: usize = data_frames.map(|(_, p)| p.len()).sum();
        let plain = 2 * (1 + 100 + 5_000 + 70_000 + 300_000);
        assert!(on_wire < plain / 2, "{name}: {on_wire} bytes on the wire");
    }
}

/// Inflates one direction's messages (payloads as received, in order)
/// with only 2^bits bytes of history; `None` if the data needs more.
fn inflate_with_window(messages: &[Vec<u8>], bits: u8) -> Option<Vec<Vec<u8>>> {
    let mut decomp = DecompressorOxide::new();
    let mut ring = vec![0u8; 1 << bits];
    let mut pos = 0;
    let mut out = Vec::new();
    for message in messages {
        let mut input = message.clone();
        input.extend_from_slice(&[0, 0, 0xff, 0xff]);
        let mut rest = &input[..];
        let mut plain = Vec::new();
        loop {
            let (status, consumed, written) = decompress(
                &mut decomp,
                rest,
                &mut ring,
                pos,
                inflate_flags::TINFL_FLAG_HAS_MORE_INPUT,
            );
            plain.extend_from_slice(&ring[pos..pos + written]);
            pos = (pos + written) % ring.len();
            rest = &rest[consumed..];
            match status {
                TINFLStatus::HasMoreOutput => {}
                TINFLStatus::NeedsMoreInput => break,
                _ => return None,
            }
        }
        out.push(plain);
    }
    Some(out)
}

#[test]
fn the_server_keeps_to_the_window_the_client_asked_for() {
    let (url, server) = echo_server(Config::default().deflate(PerMessageDeflate::new()));
    let mut conn = client(
        &url,
        Config::default().deflate(PerMessageDeflate::new().server_max_window_bits(9)),
    );
    let wire = tap(&mut conn);
    let sent: Vec<Vec<u8>> = [3_000, 20_000, 600, 50_000]
        .iter()
        .map(|&n| json(n).into_bytes())
        .collect();
    for m in &sent {
        conn.send(Message::Binary(m.clone())).unwrap();
        conn.recv().unwrap().unwrap();
    }
    conn.close(CloseCode::NORMAL, "").unwrap();
    server.join().unwrap().1.unwrap();
    let received: Vec<Vec<u8>> = wire
        .lock()
        .unwrap()
        .iter()
        .filter(|(h, _)| h.opcode == OpCode::Binary)
        .map(|(_, p)| p.clone())
        .collect();
    // A peer with a 512-byte window decodes every message.
    assert_eq!(inflate_with_window(&received, 9), Some(sent.clone()));
    // And the check has teeth: what a default server sends needs more.
    let default = stdws_deflate_default(&sent);
    assert_ne!(inflate_with_window(&default, 9), Some(sent));
}

/// What a default server sends for these messages (15-bit window).
fn stdws_deflate_default(messages: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let (url, server) = echo_server(Config::default().deflate(PerMessageDeflate::new()));
    let mut conn = client(&url, Config::default().deflate(PerMessageDeflate::new()));
    let wire = tap(&mut conn);
    for m in messages {
        conn.send(Message::Binary(m.clone())).unwrap();
        conn.recv().unwrap().unwrap();
    }
    conn.close(CloseCode::NORMAL, "").unwrap();
    server.join().unwrap().1.unwrap();
    let out = wire
        .lock()
        .unwrap()
        .iter()
        .filter(|(h, _)| h.opcode == OpCode::Binary)
        .map(|(_, p)| p.clone())
        .collect();
    out
}

#[test]
fn small_and_opted_out_messages_travel_uncompressed() {
    let (url, server) = echo_server(Config::default().deflate(PerMessageDeflate::new()));
    let mut conn = client(&url, Config::default().deflate(PerMessageDeflate::new()));
    let wire = tap(&mut conn);
    conn.send(Message::Text("tiny".into())).unwrap();
    conn.recv().unwrap().unwrap();
    conn.send(Message::Text(json(1000))).unwrap();
    conn.recv().unwrap().unwrap();
    conn.close(CloseCode::NORMAL, "").unwrap();
    server.join().unwrap().1.unwrap();
    let rsv: Vec<Rsv> = wire
        .lock()
        .unwrap()
        .iter()
        .filter(|(h, _)| h.opcode == OpCode::Text)
        .map(|(h, _)| h.rsv)
        .collect();
    assert_eq!(rsv, [Rsv::NONE, Rsv::RSV1]);

    // Per-message opt-out on the sending side.
    let (url, server) = echo_server(Config::default().deflate(PerMessageDeflate::new()));
    let mut conn = client(&url, Config::default().deflate(PerMessageDeflate::new()));
    let sent: Wire = Arc::default();
    let s = Arc::clone(&sent);
    conn.on_send_frame(move |h, p| s.lock().unwrap().push((*h, p.to_vec())));
    let secret = Message::Text(json(1000));
    conn.send_with(&secret, &stdws::SendOptions::uncompressed())
        .unwrap();
    assert_eq!(conn.recv().unwrap(), Some(secret));
    conn.close(CloseCode::NORMAL, "").unwrap();
    server.join().unwrap().1.unwrap();
    let sent = sent.lock().unwrap();
    assert_eq!(sent[0].0.rsv, Rsv::NONE);
    assert_eq!(sent[0].1, json(1000).as_bytes());
}

#[test]
fn fragmented_compressed_messages_round_trip() {
    let (url, server) = echo_server(
        Config::default()
            .fragment_size(Some(1000))
            .deflate(PerMessageDeflate::new()),
    );
    let mut conn = client(
        &url,
        Config::default()
            .fragment_size(Some(333))
            .deflate(PerMessageDeflate::new()),
    );
    let wire = tap(&mut conn);
    let text = json(100_000);
    conn.send(Message::Text(text.clone())).unwrap();
    assert_eq!(conn.recv().unwrap(), Some(Message::Text(text)));
    conn.close(CloseCode::NORMAL, "").unwrap();
    server.join().unwrap().1.unwrap();
    let wire = wire.lock().unwrap();
    let frames: Vec<&(FrameHeader, Vec<u8>)> = wire
        .iter()
        .filter(|(h, _)| !h.opcode.is_control())
        .collect();
    assert!(frames.len() > 1);
    assert_eq!(frames[0].0.rsv, Rsv::RSV1);
    assert!(frames[1..].iter().all(|(h, _)| h.rsv.is_empty()));
}

#[test]
fn a_server_without_deflate_ignores_the_offer() {
    let (url, server) = echo_server(Config::default());
    let mut conn = client(&url, Config::default().deflate(PerMessageDeflate::new()));
    assert!(conn.extensions().is_empty());
    let text = json(10_000);
    conn.send(Message::Text(text.clone())).unwrap();
    assert_eq!(conn.recv().unwrap(), Some(Message::Text(text)));
    conn.close(CloseCode::NORMAL, "").unwrap();
    assert!(server.join().unwrap().0.is_empty());
}

#[test]
fn deflate_frame_round_trips_and_marks_each_frame() {
    let df = || DeflateFrame::new().min_size(0);
    let (url, server) = echo_server(Config::default().fragment_size(Some(4000)).extension(df()));
    let mut conn = client(
        &url,
        Config::default()
            .fragment_size(Some(3000))
            .extension(df().no_context_takeover(true)),
    );
    // The client's request is for the server's compressor; the server
    // asks nothing back.
    assert_eq!(reply_text(conn.extensions()), "deflate-frame");
    let wire = tap(&mut conn);
    let text = json(10_000);
    conn.send(Message::Text(text.clone())).unwrap();
    assert_eq!(conn.recv().unwrap(), Some(Message::Text(text)));
    conn.close(CloseCode::NORMAL, "").unwrap();
    let (agreed, result) = server.join().unwrap();
    assert_eq!(reply_text(&agreed), "deflate-frame");
    result.unwrap();
    let wire = wire.lock().unwrap();
    let rsv: Vec<(OpCode, Rsv)> = wire
        .iter()
        .filter(|(h, _)| !h.opcode.is_control())
        .map(|(h, _)| (h.opcode, h.rsv))
        .collect();
    assert_eq!(
        rsv,
        [
            (OpCode::Text, Rsv::RSV1),
            (OpCode::Continuation, Rsv::RSV1),
            (OpCode::Continuation, Rsv::RSV1)
        ]
    );

    // Offered both ways, the server takes the first it knows.
    let (url, server) = echo_server(Config::default().extension(DeflateFrame::webkit()));
    let conn = client(
        &url,
        Config::default()
            .deflate(PerMessageDeflate::new())
            .extension(DeflateFrame::webkit()),
    );
    assert_eq!(reply_text(conn.extensions()), "x-webkit-deflate-frame");
    drop(conn);
    let _ = server.join();
}

/// A frame-level client with permessage-deflate agreed, and the server's
/// connection thread returning how it ended.
fn raw_client(server_config: Config) -> (WebSocket<stdws::MaybeTlsStream>, ServerEnd) {
    let (url, server) = echo_server(server_config.deflate(PerMessageDeflate::new()));
    let ws = WebSocket::builder(&url)
        .config(bounded(Config::default().deflate(PerMessageDeflate::new())))
        .connect()
        .unwrap();
    assert_eq!(ws.extensions().len(), 1);
    (ws, server)
}

/// Reads frames until the close frame and returns its code; then ends the
/// connection, as a client does once the server has closed (RFC 6455
/// §7.1.1), so a server draining after its close (§7.1.7) stops at once.
fn close_code(mut ws: WebSocket<stdws::MaybeTlsStream>) -> CloseCode {
    for _ in 0..100 {
        let frame = ws.recv().unwrap();
        if frame.opcode == OpCode::Close {
            let close: Option<CloseFrame> = CloseFrame::parse(&frame.payload).unwrap();
            return close.unwrap().code;
        }
    }
    panic!("no close frame");
}

/// "a" a million times, compressed: about 1 KiB.
fn bomb() -> Vec<u8> {
    let mut comp = miniz_oxide::deflate::core::CompressorOxide::new(
        miniz_oxide::deflate::core::create_comp_flags_from_zip_params(9, -15, 0),
    );
    let mut out = vec![0; 1 << 20];
    let input = vec![b'a'; 1 << 20];
    let (_, _, n) = miniz_oxide::deflate::core::compress(
        &mut comp,
        &input,
        &mut out,
        miniz_oxide::deflate::core::TDEFLFlush::Sync,
    );
    out.truncate(n - 4);
    out
}

#[test]
fn a_one_kib_frame_that_inflates_past_the_limit_closes_with_1009() {
    let payload = bomb();
    assert!(payload.len() <= 1100, "{} bytes", payload.len());
    let (mut ws, server) = raw_client(Config::default().max_message_size(64 << 10));
    ws.send(&Frame::binary(payload).with_rsv(Rsv::RSV1))
        .unwrap();
    assert_eq!(close_code(ws), CloseCode::TOO_BIG);
    let (_, result) = server.join().unwrap();
    assert!(matches!(
        result,
        Err(Error::Capacity(stdws::CapacityError::MessageTooBig {
            max: 65_536
        }))
    ));
}

#[test]
fn invalid_deflate_data_closes_with_1002() {
    let (mut ws, server) = raw_client(Config::default());
    // BTYPE 11 is reserved (RFC 1951 §3.2.3).
    ws.send(&Frame::binary(vec![0xff, 0xff, 0xff]).with_rsv(Rsv::RSV1))
        .unwrap();
    assert_eq!(close_code(ws), CloseCode::PROTOCOL_ERROR);
    assert!(matches!(server.join().unwrap().1, Err(Error::Protocol(_))));
}

#[test]
fn rsv1_on_a_continuation_frame_closes_with_1002() {
    let (mut ws, server) = raw_client(Config::default());
    ws.send(
        &Frame::new(OpCode::Text, vec![0xf2, 0x48])
            .with_fin(false)
            .with_rsv(Rsv::RSV1),
    )
    .unwrap();
    ws.send(&Frame::continuation(vec![0xcd, 0xc9, 0xc9, 0x07, 0x00]).with_rsv(Rsv::RSV1))
        .unwrap();
    assert_eq!(close_code(ws), CloseCode::PROTOCOL_ERROR);
    assert!(matches!(server.join().unwrap().1, Err(Error::Protocol(_))));
}

#[test]
fn rsv1_on_a_ping_closes_with_1002() {
    let (mut ws, server) = raw_client(Config::default());
    ws.send(&Frame::ping(b"x".to_vec()).with_rsv(Rsv::RSV1))
        .unwrap();
    assert_eq!(close_code(ws), CloseCode::PROTOCOL_ERROR);
    assert!(matches!(server.join().unwrap().1, Err(Error::Protocol(_))));
}

#[test]
fn compressed_invalid_utf8_closes_with_1007() {
    let (mut ws, server) = raw_client(Config::default());
    // A stored block holding the byte 0xff, sent as text.
    ws.send(
        &Frame::new(OpCode::Text, vec![0x00, 0x01, 0x00, 0xfe, 0xff, 0xff]).with_rsv(Rsv::RSV1),
    )
    .unwrap();
    assert_eq!(close_code(ws), CloseCode::INVALID_PAYLOAD);
    assert!(matches!(server.join().unwrap().1, Err(Error::Protocol(_))));
}

#[test]
fn rfc7692_frames_from_the_wire_are_decoded() {
    let (mut ws, server) = raw_client(Config::default());
    // §7.2.3.1, §7.2.3.2 (shared window) and the two-fragment form.
    ws.send(
        &Frame::new(OpCode::Text, vec![0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])
            .with_rsv(Rsv::RSV1),
    )
    .unwrap();
    ws.send(&Frame::new(OpCode::Text, vec![0xf2, 0x00, 0x11, 0x00, 0x00]).with_rsv(Rsv::RSV1))
        .unwrap();
    ws.send(
        &Frame::new(OpCode::Text, vec![0xf2, 0x48, 0xcd])
            .with_fin(false)
            .with_rsv(Rsv::RSV1),
    )
    .unwrap();
    ws.send(&Frame::continuation(vec![0xc9, 0xc9, 0x07, 0x00]))
        .unwrap();
    // The server decoded three "Hello"s: its echoes, too short to be
    // compressed, show them as they are.
    for _ in 0..3 {
        let f = ws.recv().unwrap();
        assert_eq!((f.opcode, f.rsv), (OpCode::Text, Rsv::NONE));
        assert_eq!(f.payload, b"Hello");
    }
    ws.send(&Frame::close(CloseCode::NORMAL, "")).unwrap();
    assert_eq!(close_code(ws), CloseCode::NORMAL);
    server.join().unwrap().1.unwrap();
}

/// A one-shot server that answers the handshake with this
/// `Sec-WebSocket-Extensions` value.
fn fake_server(extensions: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head);
        let key = head
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap()
            .trim();
        let accept = stdws::handshake::accept_key(key);
        let reply = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Extensions: {extensions}\r\n\r\n"
        );
        let _ = s.write_all(reply.as_bytes());
    });
    url
}

#[test]
fn the_client_fails_the_handshake_on_a_reply_it_cannot_honour() {
    let strict = || {
        PerMessageDeflate::new()
            .server_no_context_takeover(true)
            .server_max_window_bits(10)
    };
    for (config, reply) in [
        (PerMessageDeflate::new(), "permessage-deflate; foo"),
        (
            PerMessageDeflate::new(),
            "permessage-deflate; client_max_window_bits",
        ),
        (
            PerMessageDeflate::new(),
            "permessage-deflate; server_max_window_bits=99",
        ),
        (strict(), "permessage-deflate; server_max_window_bits=10"),
        (
            strict(),
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=12",
        ),
        (PerMessageDeflate::new(), "x-webkit-deflate-frame"),
        (
            PerMessageDeflate::new(),
            "permessage-deflate, permessage-deflate",
        ),
    ] {
        let url = fake_server(reply);
        let err = WebSocket::builder(&url)
            .config(bounded(Config::default().deflate(config)))
            .connect()
            .unwrap_err();
        assert!(
            matches!(err, Error::Handshake(HandshakeError::InvalidResponse(_))),
            "{reply}: {err:?}"
        );
    }
    let url =
        fake_server("permessage-deflate; server_no_context_takeover; server_max_window_bits=9");
    let ws = WebSocket::builder(&url)
        .config(bounded(Config::default().deflate(strict())))
        .connect()
        .unwrap();
    assert_eq!(ws.extensions().len(), 1);
}
