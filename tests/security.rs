//! The rules of the security chapter (`stdws::security`) that no other test
//! proves, the bugs the fuzz targets in `fuzz/` found, each named for its
//! scenario, and checks that the chapter cites tests that exist and states
//! the defaults `Config` really has. Everything runs on an in-memory peer:
//! no sockets, no timing beyond a generous bound.

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use stdws::extension::{ExtensionFactory, FrameDecoder, FrameEncoder, Negotiated, Param};
use stdws::frame::{parse_header, HeaderRules, Status};
use stdws::handshake::auth::Authenticator;
use stdws::{
    Accept, CapacityError, Config, Connection, Error, FrameHeader, HandshakeError, Message,
    ProtocolError, Role, Rsv, SendOptions, ServerHandshake, Stream, WebSocket,
};

/// A peer that sends `input` (at most `per_read` bytes per read) and then
/// ends the stream; what we write is kept, and a write after our FIN fails.
struct Peer {
    input: io::Cursor<Vec<u8>>,
    per_read: usize,
    output: Vec<u8>,
    shut: bool,
}

impl Peer {
    fn new(input: &[u8]) -> Peer {
        Peer {
            input: io::Cursor::new(input.to_vec()),
            per_read: usize::MAX,
            output: Vec::new(),
            shut: false,
        }
    }

    /// The bytes of `input` read so far.
    fn consumed(&self) -> usize {
        self.input.position() as usize
    }
}

impl Read for Peer {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.per_read);
        self.input.read(&mut buf[..n])
    }
}

impl Write for Peer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.shut {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Stream for Peer {
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shut = true;
        Ok(())
    }
}

/// Lent to a handshake that may drop it, so the test can look afterwards.
impl Stream for &mut Peer {}

const KEY_FIELD: &str = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

/// An upgrade request with `extra` header lines before the blank line.
fn request(extra: &str) -> String {
    format!(
        "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// The status a server answers `request` with (101 when accepted), and the
/// first line it wrote.
fn answer(request: &str, config: Config) -> (u16, String) {
    let result = ServerHandshake::read(Peer::new(request.as_bytes()), config).and_then(|pending| {
        pending.accept(Accept::new()).map(|ws| {
            let head = String::from_utf8_lossy(&ws.get_ref().output).into_owned();
            (101, head)
        })
    });
    match result {
        Ok(done) => (done.0, done.1.lines().next().unwrap_or("").to_owned()),
        Err(Error::Handshake(HandshakeError::Rejected { status, .. })) => (status, String::new()),
        Err(e) => panic!("unexpected error {e:?}"),
    }
}

/// A server connection whose client sends `wire` after the handshake.
fn server(wire: &[u8], config: Config) -> Connection<Peer> {
    Connection::new(WebSocket::from_raw(
        Peer::new(wire),
        Role::Server,
        config,
        &[],
    ))
}

/// A masked client frame (key 0: the payload reads as sent).
fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut out = vec![first, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    out.extend_from_slice(payload);
    out
}

/// The code of the close frame a server wrote last.
fn close_code_written(output: &[u8]) -> Option<u16> {
    let rules = HeaderRules::new(Role::Client, 1 << 20);
    let mut rest = output;
    let mut code = None;
    while let Ok(Status::Complete((n, h))) = parse_header(rest, &rules) {
        let end = n + h.payload_len as usize;
        if h.opcode == stdws::OpCode::Close && end >= n + 2 {
            code = Some(u16::from_be_bytes([rest[n], rest[n + 1]]));
        }
        rest = &rest[end..];
    }
    code
}

// --- The security chapter's rules ---------------------------------------

#[test]
fn header_line_sent_byte_by_byte_stops_being_read_at_the_cap() {
    // tungstenite CVE-2023-43669: each byte is looked at once, and reading
    // stops at the byte that makes a line longer than `max_header_line`.
    let request_line = "GET / HTTP/1.1\r\n";
    let input = format!("{request_line}X: {}", "a".repeat(100 << 10));
    let mut peer = Peer::new(input.as_bytes());
    peer.per_read = 1;
    let config = Config::default();
    let max_line = config.max_header_line;
    let began = Instant::now();
    let result = ServerHandshake::read(&mut peer, config);
    assert!(matches!(
        result.map(|_| ()),
        Err(Error::Handshake(HandshakeError::Rejected {
            status: 431,
            ..
        }))
    ));
    assert!(began.elapsed() < Duration::from_secs(2));
    assert_eq!(peer.consumed(), request_line.len() + max_line + 1);
    assert!(peer.output.starts_with(b"HTTP/1.1 431 "));
}

#[test]
fn key_in_the_last_allowed_header_field_is_found() {
    // ws CVE-2024-37890: fields past a count limit were dropped, and the
    // missing key crashed the server. Here the head is refused whole (431)
    // or parsed whole.
    let max = Config::default().max_headers;
    // Host, Upgrade, Connection, Version: 4 fields; the key is field `max`.
    let filler: String = (0..max - 5).map(|i| format!("X-{i}: y\r\n")).collect();
    assert_eq!(
        answer(&request(&format!("{filler}{KEY_FIELD}")), Config::default()).0,
        101
    );
    let over = format!("{filler}X-last: y\r\n{KEY_FIELD}");
    assert_eq!(answer(&request(&over), Config::default()).0, 431);
}

#[test]
fn protocol_list_of_spaces_is_refused_with_400_in_linear_time() {
    // ws CVE-2021-32640: a regular expression took quadratic time on
    // `b<spaces>x`. Here lists are split on commas, once.
    let value = format!("b{}x", " ".repeat(8000));
    let began = Instant::now();
    let status = answer(
        &request(&format!("{KEY_FIELD}Sec-WebSocket-Protocol: {value}\r\n")),
        Config::default(),
    )
    .0;
    assert_eq!(status, 400);
    assert!(began.elapsed() < Duration::from_secs(1));
}

#[test]
fn frame_declaring_2_pow_63_minus_1_bytes_gets_1009_before_any_payload() {
    // rust-websocket CVE-2022-35922: memory was reserved for the declared
    // length. Here the header alone is refused.
    let mut wire = vec![
        0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0,
    ];
    wire.extend_from_slice(&[0; 64]);
    let mut conn = server(&wire, Config::default());
    let err = conn.recv().unwrap_err();
    assert!(matches!(
        err,
        Error::Capacity(CapacityError::FrameTooBig {
            size: 0x7FFF_FFFF_FFFF_FFFF,
            max: 16_777_216
        })
    ));
    assert_eq!(close_code_written(&conn.get_ref().output), Some(1009));
}

#[test]
fn empty_continuation_frames_count_toward_max_fragments() {
    // ws's tiny-fragment flood (and its empty-frame variant): every frame
    // of a message counts, whatever its size; the message shares one buffer.
    let config = Config::default().max_fragments(100);
    let mut wire = masked(0x01, b"a");
    for _ in 0..100 {
        wire.extend(masked(0x00, b""));
    }
    let mut conn = server(&wire, config);
    let err = conn.recv().unwrap_err();
    assert!(matches!(
        err,
        Error::Capacity(CapacityError::TooManyFragments { max: 100 })
    ));
    assert_eq!(close_code_written(&conn.get_ref().output), Some(1009));
    assert_eq!(
        conn.get_ref().consumed(),
        wire.len(),
        "failed at the 101st frame"
    );
}

#[test]
fn feed_past_max_write_buffer_is_refused() {
    // ws-rs RUSTSEC-2020-0043: the outgoing buffer grew without bound.
    let config = Config::default().max_write_buffer(100);
    let mut conn = server(&[], config);
    conn.feed(&Message::Binary(vec![0; 60])).unwrap();
    let err = conn.feed(&Message::Binary(vec![0; 60])).unwrap_err();
    assert!(matches!(
        err,
        Error::Capacity(CapacityError::WriteBufferFull { max: 100 })
    ));
    conn.flush().unwrap();
    assert_eq!(
        conn.get_ref().output.len(),
        2 + 60,
        "only the first message went out"
    );
}

#[test]
fn client_masks_each_frame_with_a_fresh_key() {
    // gorilla's weak mask keys: keys must not be predictable (RFC 6455
    // §10.3); at the least, no two frames share one.
    let ws = WebSocket::from_raw(Peer::new(&[]), Role::Client, Config::default(), &[]);
    let mut conn = Connection::new(ws);
    for _ in 0..256 {
        conn.send_binary(b"x").unwrap();
    }
    let rules = HeaderRules::new(Role::Server, 1 << 20);
    let mut rest = &conn.get_ref().output[..];
    let mut keys = std::collections::HashSet::new();
    while let Ok(Status::Complete((n, h))) = parse_header(rest, &rules) {
        keys.insert(h.mask.expect("client frames are masked"));
        rest = &rest[n + h.payload_len as usize..];
    }
    assert!(rest.is_empty());
    assert!(
        keys.len() >= 250,
        "{} distinct keys in 256 frames",
        keys.len()
    );
}

/// The request an authenticator sees when the client sends
/// `authorization`.
fn authorized(authorization: &str) -> stdws::Request {
    let text = request(&format!("{KEY_FIELD}Authorization: {authorization}\r\n"));
    let pending = ServerHandshake::read(Peer::new(text.as_bytes()), Config::default()).unwrap();
    pending.request().clone()
}

/// The value of `name="..."` in a challenge.
fn quoted<'a>(challenge: &'a str, name: &str) -> &'a str {
    let start = challenge.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
    let len = challenge[start..].find('"').expect("closing quote");
    &challenge[start..start + len]
}

#[test]
fn unknown_user_is_refused_like_a_wrong_password() {
    // Python websockets CVE-2021-33880: the answer, like the time it takes,
    // must not tell a wrong password from an unknown user.
    let alice = |user: &str| (user == "alice").then(|| "wonder land".to_owned());
    let basic = Authenticator::basic("r", alice);
    // "alice:wonder land", "alice:wrong", "bob:wonder land".
    assert_eq!(
        basic.check(&authorized("Basic YWxpY2U6d29uZGVyIGxhbmQ=")),
        Ok("alice".to_owned())
    );
    let wrong = basic
        .check(&authorized("Basic YWxpY2U6d3Jvbmc="))
        .unwrap_err();
    let unknown = basic
        .check(&authorized("Basic Ym9iOndvbmRlciBsYW5k"))
        .unwrap_err();
    assert_eq!(
        (wrong.status, wrong.reason.as_str()),
        (401, "wrong user name or password")
    );
    assert_eq!(unknown, wrong);

    // Digest: the response is checked before the nonce, so neither an
    // issued nonce nor a forged one tells the two apart.
    let digest = Authenticator::digest("r", alice);
    let challenge = digest.check(&authorized("Digest")).unwrap_err();
    let offered = &challenge.headers[0].1;
    let (nonce, opaque) = (quoted(offered, "nonce"), quoted(offered, "opaque"));
    for nonce in [nonce, "00000000"] {
        let answers: Vec<_> = ["alice", "bob"]
            .iter()
            .map(|user| {
                let credentials = format!(
                    "Digest username=\"{user}\", realm=\"r\", nonce=\"{nonce}\", uri=\"/chat\", \
                     algorithm=SHA-256, qop=auth, nc=00000001, cnonce=\"0a4f113b\", \
                     response=\"{}\", opaque=\"{opaque}\"",
                    "0".repeat(64)
                );
                digest.check(&authorized(&credentials)).unwrap_err()
            })
            .collect();
        for answer in &answers {
            assert_eq!(
                (answer.status, answer.reason.as_str()),
                (401, "wrong user name or password"),
                "nonce {nonce}"
            );
            assert!(answer.headers.iter().all(|(_, v)| !v.contains("stale")));
        }
    }
}

// --- Found by the fuzz targets ------------------------------------------

#[test]
fn send_after_the_peer_vanished_is_closed_without_writing() {
    // fuzz/connection: an empty text message, then the end of the stream.
    let ws = WebSocket::from_raw(
        Peer::new(&[0x81, 0x00]),
        Role::Client,
        Config::default(),
        &[],
    );
    let mut conn = Connection::new(ws);
    assert_eq!(conn.recv().unwrap(), Some(Message::Text(String::new())));
    match conn.recv() {
        Err(Error::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof),
        other => panic!("expected the end of the stream, got {other:?}"),
    }
    assert!(conn.get_ref().shut, "FIN after the failure");
    assert!(matches!(conn.send("late"), Err(Error::Closed)));
    assert!(matches!(conn.ping(b""), Err(Error::Closed)));
    assert!(
        conn.get_ref().output.is_empty(),
        "nothing written after FIN"
    );
}

/// A toy extension: it claims the frames that carry its RSV bit (every
/// data frame when it owns none) and passes payloads through, twice over
/// when `sloppy` (a decoder that ignores its limit, against the contract).
#[derive(Clone, Copy)]
struct Toy {
    name: &'static str,
    rsv: Rsv,
    sloppy: bool,
}

impl FrameEncoder for Toy {
    fn encode(
        &mut self,
        _: &mut FrameHeader,
        _: &[u8],
        _: &mut Vec<u8>,
        _: &SendOptions,
    ) -> Result<bool, Error> {
        Ok(false)
    }
}

impl FrameDecoder for Toy {
    fn accepts(&mut self, header: &FrameHeader) -> Result<bool, ProtocolError> {
        Ok(header.rsv.contains(self.rsv))
    }

    fn decode(
        &mut self,
        header: &mut FrameHeader,
        payload: &[u8],
        out: &mut Vec<u8>,
        _limit: usize,
    ) -> Result<(), Error> {
        out.extend_from_slice(payload);
        if self.sloppy {
            out.extend_from_slice(payload);
        }
        header.rsv = header.rsv.without(self.rsv);
        Ok(())
    }
}

impl ExtensionFactory for Toy {
    fn name(&self) -> &str {
        self.name
    }

    fn rsv(&self) -> Rsv {
        self.rsv
    }

    fn offers(&self) -> Vec<Vec<Param>> {
        vec![Vec::new()]
    }

    fn accept_offers(&self, _: &[&[Param]]) -> Option<(Vec<Param>, Negotiated)> {
        Some((Vec::new(), self.accept_response(&[]).ok()?))
    }

    fn accept_response(&self, _: &[Param]) -> Result<Negotiated, String> {
        Ok(Negotiated {
            encoder: Box::new(*self),
            decoder: Box::new(*self),
        })
    }
}

/// A server connection that negotiated `toy`, its client sending `wire`.
fn server_with(toy: Toy, config: Config, wire: &[u8]) -> Connection<Peer> {
    let text = request(&format!(
        "{KEY_FIELD}Sec-WebSocket-Extensions: {}\r\n",
        toy.name
    ));
    let mut config = config;
    config
        .extensions
        .push(Arc::new(toy) as Arc<dyn ExtensionFactory>);
    let input = [text.as_bytes(), wire].concat();
    let ws = ServerHandshake::read(Peer::new(&input), config)
        .unwrap()
        .accept(Accept::new())
        .unwrap();
    let mut conn = Connection::new(ws);
    conn.get_mut().output.clear();
    conn
}

#[test]
fn extension_that_overruns_its_limit_still_gets_1009() {
    // A decoder must stop at the limit it is given; one that does not
    // (a bug in a user's extension) still cannot exceed max_message_size.
    let toy = Toy {
        name: "x-sloppy",
        rsv: Rsv::RSV1,
        sloppy: true,
    };
    let mut conn = server_with(
        toy,
        Config::default().max_message_size(10),
        &masked(0xC2, &[7; 8]),
    );
    let err = conn.recv().unwrap_err();
    assert!(matches!(
        err,
        Error::Capacity(CapacityError::MessageTooBig { max: 10 })
    ));
    assert_eq!(close_code_written(&conn.get_ref().output), Some(1009));
}

#[test]
fn server_accepts_an_extension_offered_in_two_cases_once() {
    // fuzz/extensions: `X-D, x-d` made the server accept x-d twice, a reply
    // every client refuses (RFC 6455 §9.1: each extension at most once).
    let text = request(&format!(
        "{KEY_FIELD}Sec-WebSocket-Extensions: X-D, x-d\r\n"
    ));
    let toy = Toy {
        name: "x-d",
        rsv: Rsv::NONE,
        sloppy: false,
    };
    let mut config = Config::default();
    config
        .extensions
        .push(Arc::new(toy) as Arc<dyn ExtensionFactory>);
    let ws = ServerHandshake::read(Peer::new(text.as_bytes()), config)
        .unwrap()
        .accept(Accept::new())
        .unwrap();
    let names: Vec<&str> = ws.extensions().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["x-d"]);
    assert_eq!(
        String::from_utf8(ws.get_ref().output.clone()).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: x-d\r\n\r\n"
    );
}

// --- The chapter itself -------------------------------------------------

/// The text of the security chapter, without the `//!` markers.
fn chapter() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/security.rs");
    let source = std::fs::read_to_string(path).expect("src/security.rs");
    source
        .lines()
        .filter_map(|line| line.strip_prefix("//!"))
        .map(|line| line.strip_prefix(' ').unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every code span (`...`) of `text` naming a file of the repository: a
/// fuzz target as `fuzz/fuzz_targets/name.rs`, a test (or another
/// function) as `tests/file.rs::name` or `src/file.rs::name`.
fn citations(text: &str) -> Vec<&str> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| {
            ["src/", "tests/", "fuzz/"]
                .iter()
                .any(|dir| span.starts_with(dir))
                && span.contains(".rs")
        })
        .collect()
}

#[test]
fn chapter_cites_only_tests_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = chapter();
    let cited = citations(&text);
    // A change of markup that hid every citation would pass vacuously.
    assert!(cited.len() > 80, "only {} citations found", cited.len());
    assert!(
        cited.iter().any(|c| c.starts_with("tests/hostile.rs::")),
        "the hostile suite is cited"
    );
    let mut missing = Vec::new();
    for citation in cited {
        let (file, function) = match citation.split_once(".rs::") {
            Some((stem, name)) => (format!("{stem}.rs"), Some(name)),
            None => (citation.to_owned(), None),
        };
        let Ok(source) = std::fs::read_to_string(root.join(&file)) else {
            missing.push(format!("{citation}: no file {file}"));
            continue;
        };
        if let Some(name) = function {
            let well_formed =
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !well_formed || !source.contains(&format!("fn {name}(")) {
                missing.push(format!("{citation}: no fn {name} in {file}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the chapter cites:\n{}",
        missing.join("\n")
    );
    // The chapter speaks of what exists, not of what is to come.
    let lower = text.to_lowercase();
    for word in ["planned", "to be completed", "under way"] {
        assert!(!lower.contains(word), "the chapter still says {word:?}");
    }
}

/// A default as the chapter writes it ("16 MiB", "65,537 frames", "10 s
/// for ...", "none", "on"), as `Config`'s `Debug` writes the value.
fn as_debug(cell: &str) -> String {
    let mut words = cell.split_whitespace();
    let first = words.next().unwrap_or_default();
    let unit = words
        .next()
        .unwrap_or_default()
        .trim_end_matches(|c: char| !c.is_alphanumeric());
    match first {
        "none" => return "None".to_owned(),
        "on" => return "true".to_owned(),
        "off" => return "false".to_owned(),
        _ => {}
    }
    let n: u64 = first
        .replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("default {cell:?} is not a number"));
    match unit {
        "KiB" => (n << 10).to_string(),
        "MiB" => (n << 20).to_string(),
        "s" | "ms" => format!("{n}{unit}"),
        _ => n.to_string(),
    }
}

#[test]
fn chapter_lists_every_config_field_with_its_default() {
    let text = chapter();
    // `Config { name: value, ... }`; no default value holds ", ".
    let debug = format!("{:?}", Config::default());
    let fields: Vec<(&str, &str)> = debug
        .strip_prefix("Config { ")
        .and_then(|d| d.strip_suffix(" }"))
        .unwrap_or_else(|| panic!("{debug}"))
        .split(", ")
        .filter_map(|field| field.split_once(": "))
        .collect();
    assert!(fields.len() >= 18, "{debug}");
    for (name, value) in fields {
        let value = value
            .strip_prefix("Some(")
            .and_then(|v| v.strip_suffix(')'))
            .unwrap_or(value);
        let value = if value == "[]" { "None" } else { value };
        let link = format!("| [`{name}`](crate::Config::{name}) |");
        let row = text
            .lines()
            .find(|line| line.starts_with(&link))
            .unwrap_or_else(|| panic!("no row for Config::{name} in the chapter"));
        let cell = row[link.len()..].split('|').next().unwrap_or_default();
        assert_eq!(
            as_debug(cell),
            value,
            "Config::{name}: the chapter says {cell:?}"
        );
    }
}
