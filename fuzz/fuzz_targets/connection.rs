//! A whole connection, server or client role, fed arbitrary bytes after a
//! valid opening handshake on an in-memory stream, driven with
//! `Connection::recv_event` until it ends.
//!
//! Input: four setup bytes, then what the peer sends after the handshake.
//! - byte 0: bit 0 our role (0 server, 1 client); bit 1 negotiate the toy
//!   extensions `x-a` (RSV1) and `x-c` (RSV2); bit 2 echo every message;
//!   bit 3 auto-pong off; bits 4–7 a row of small limits (frame, message,
//!   fragments).
//! - byte 1: read sizes (0: reads take all they ask; low nibble 0 injects
//!   a read timeout, `WouldBlock`, before every other read).
//! - byte 2: bit 7 close actively (`Connection::close`, 1000) after the
//!   first event, then read what comes within the close timeout; bits 0–6
//!   most bytes one write takes (0: no limit).
//! - byte 3: bit 7 also negotiate `x-d` (claims every data frame); bits
//!   0–6 `fragment_size` for the echo (0: none).
//!
//! Checks: no panic and no endless loop; messages within
//! `max_message_size`; the connection ends with the peer's close, an error
//! or our own closing handshake, then refuses to read and to send (and
//! never writes after its FIN); errors carry the close code of their kind
//! (1002 protocol, 1007 UTF-8, 1009 limits, none for the transport); the
//! bytes we wrote decode strictly (right masking for our role, minimal
//! lengths) into exactly one pong per ping, each echo, and the one close
//! frame the ending calls for, with nothing after it; the
//! same input read whole gives the same events and ending as read in
//! pieces with timeouts.

#![no_main]

use std::sync::Arc;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use stdws::extension::ExtensionFactory;
use stdws::{
    Accept, CloseCode, CloseFrame, Config, Connection, Connector, Error, Event, Frame, Message,
    OpCode, ProtocolError, Role, Rsv, ServerHandshake,
};
use stdws_fuzz::duplex::Duplex;
use stdws_fuzz::toy::factories;
use stdws_fuzz::wire::{self, with_real_accept, RFC_REQUEST, RFC_RESPONSE};

/// (max_frame_size, max_message_size, max_fragments): small, so the limits
/// are reached, with the edges of the length encodings.
const LIMITS: [(usize, usize, usize); 16] = [
    (65_536, 65_536, 64),
    (125, 125, 4),
    (0, 0, 1),
    (126, 1000, 8),
    (65_535, 65_536, 2),
    (65_536, 131_072, 65_537),
    (1, 10, 10),
    (4096, 8192, 16),
    (8192, 4096, 3),
    (127, 127, 127),
    (1 << 20, 1 << 20, 1000),
    (10, 1 << 20, 65_537),
    (200, 300, 2),
    (16, 16, 16),
    (5000, 20_000, 5),
    (65_537, 65_537, 65_537),
];

struct Setup {
    role: Role,
    toys: Vec<&'static str>,
    echo: bool,
    auto_pong: bool,
    close_first: bool,
    max_message_size: usize,
    fragment_size: Option<usize>,
    reads: Vec<usize>,
    write_limit: usize,
    config: Config,
}

impl Setup {
    fn new(head: [u8; 4]) -> Setup {
        let [flags, reads, writes, fragments] = head;
        let (max_frame, max_message, max_fragments) = LIMITS[usize::from(flags >> 4)];
        let mut toys = Vec::new();
        if flags & 2 != 0 {
            toys.extend(["x-a", "x-c"]);
        }
        if fragments & 0x80 != 0 {
            toys.push("x-d");
        }
        let fragment_size = match usize::from(fragments & 0x7F) {
            0 => None,
            n => Some(n),
        };
        let mut config = Config::default()
            .max_frame_size(max_frame)
            .max_message_size(max_message)
            .max_fragments(max_fragments)
            .auto_pong(flags & 8 == 0)
            .fragment_size(fragment_size)
            // Never reached: the script ends first (this only bounds time).
            .close_timeout(Duration::from_secs(8));
        for f in factories() {
            config
                .extensions
                .push(Arc::new(f) as Arc<dyn ExtensionFactory>);
        }
        let reads = match reads {
            0 => Vec::new(),
            r => vec![usize::from(r & 0x0F), usize::from(r >> 4) * 257 + 1],
        };
        Setup {
            role: if flags & 1 == 0 {
                Role::Server
            } else {
                Role::Client
            },
            toys,
            echo: flags & 4 != 0,
            auto_pong: flags & 8 == 0,
            close_first: writes & 0x80 != 0,
            max_message_size: max_message,
            fragment_size,
            reads,
            write_limit: usize::from(writes & 0x7F),
            config,
        }
    }

    /// The RSV bits our data frames carry.
    fn rsv(&self) -> Rsv {
        let mut rsv = Rsv::NONE;
        if self.toys.contains(&"x-a") {
            rsv = rsv.union(Rsv::RSV1);
        }
        if self.toys.contains(&"x-c") {
            rsv = rsv.union(Rsv::RSV2);
        }
        rsv
    }

    /// A connection after a real handshake, the peer's `wire` bytes
    /// arriving right behind the handshake.
    fn open(&self, wire: &[u8]) -> Connection<Duplex> {
        let field = if self.toys.is_empty() {
            String::new()
        } else {
            format!("Sec-WebSocket-Extensions: {}\r\n", self.toys.join(", "))
        };
        let ws = match self.role {
            Role::Server => {
                let mut input = RFC_REQUEST
                    .replacen("Origin", &format!("{field}Origin"), 1)
                    .into_bytes();
                input.extend_from_slice(wire);
                let pending = ServerHandshake::read(Duplex::new(input), self.config.clone())
                    .expect("request read");
                pending.accept(Accept::new()).expect("request accepted")
            }
            Role::Client => {
                let response = RFC_RESPONSE
                    .replacen(
                        "Sec-WebSocket-Protocol",
                        &format!("{field}Sec-WebSocket-Protocol"),
                        1,
                    )
                    .into_bytes();
                // The accept value is swapped in the head only: the frames
                // behind it stay as the fuzzer wrote them.
                let stream = Duplex::answering(
                    wire.to_vec(),
                    Box::new(move |req| with_real_accept(&response, req)),
                );
                Connector::new("ws://server.example.com/chat")
                    .config(self.config.clone())
                    .protocol("chat")
                    .connect_on(stream)
                    .expect("response accepted")
            }
        };
        let names: Vec<&str> = ws.extensions().iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, self.toys);
        let mut conn = Connection::new(ws);
        conn.get_mut().output.clear();
        conn
    }
}

/// How a run ended.
#[derive(Debug)]
enum End {
    /// The peer's close frame arrived (the event is the last one).
    Closed,
    /// The connection failed with this error.
    Failed(Error),
    /// We closed after the first event; what `close` answered.
    WeClosed(Result<(), Error>),
}

struct Run {
    events: Vec<Event>,
    echoed: usize,
    end: End,
    output: Vec<u8>,
}

fn run(setup: &Setup, wire: &[u8], reads: Vec<usize>, write_limit: usize) -> Run {
    let mut conn = setup.open(wire);
    conn.get_mut().plan_reads(reads);
    conn.get_mut().limit_writes(write_limit);
    let mut events = Vec::new();
    let mut echoed = 0;
    let mut steps = 0usize;
    let end = loop {
        // Each event or timeout consumes input or is followed by a read that does.
        steps += 1;
        assert!(steps <= 2 * wire.len() + 8, "no progress");
        match conn.recv_event() {
            Ok(Event::Message(m)) => {
                assert!(m.len() <= setup.max_message_size);
                if setup.echo {
                    conn.send(m.clone()).expect("echo");
                    echoed += 1;
                }
                events.push(Event::Message(m));
            }
            Ok(event @ Event::Close(_)) => {
                events.push(event);
                break End::Closed;
            }
            Ok(event) => events.push(event),
            Err(e) if e.is_timeout() => {
                assert!(conn.get_ref().timeouts > 0);
                continue;
            }
            Err(e) => break End::Failed(e),
        }
        if setup.close_first {
            break End::WeClosed(conn.close(CloseCode::NORMAL, "bye"));
        }
    };
    assert!(conn.is_closed());
    assert!(matches!(conn.recv_event(), Err(Error::Closed)));
    assert!(conn.send(Message::Binary(vec![1])).is_err());
    assert!(conn.get_ref().shut, "no FIN after the end");
    Run {
        events,
        echoed,
        end,
        output: std::mem::take(&mut conn.get_mut().output),
    }
}

/// What we wrote, as units: control frames, and data frames gathered into
/// messages.
#[derive(Debug, PartialEq, Eq)]
enum Unit {
    Pong(Vec<u8>),
    Message(Message),
    /// A close frame: its code, if any.
    Close(Option<u16>),
}

fn written_units(setup: &Setup, output: &[u8]) -> Vec<Unit> {
    let frames = wire::decode(setup.role, output).expect("we wrote invalid frames");
    let mut units = Vec::new();
    let mut message: Option<(OpCode, Vec<u8>)> = None;
    for Frame {
        fin,
        rsv,
        opcode,
        payload,
        ..
    } in frames
    {
        if opcode.is_control() {
            assert!(rsv.is_empty());
            match opcode {
                OpCode::Pong => units.push(Unit::Pong(payload)),
                OpCode::Close => {
                    let frame = CloseFrame::parse(&payload).expect("we wrote a bad close frame");
                    units.push(Unit::Close(frame.map(|f| f.code.0)));
                }
                other => panic!("we wrote a {other} frame"),
            }
            continue;
        }
        assert_eq!(rsv, setup.rsv());
        if let Some(n) = setup.fragment_size {
            assert!(payload.len() <= n, "frame over fragment_size");
        }
        match (&mut message, opcode) {
            (None, OpCode::Text | OpCode::Binary) => message = Some((opcode, payload)),
            (Some((_, data)), OpCode::Continuation) => data.extend_from_slice(&payload),
            _ => panic!("we broke the fragment sequence"),
        }
        if fin {
            let (op, data) = message.take().expect("in a message");
            units.push(Unit::Message(match op {
                OpCode::Text => Message::Text(String::from_utf8(data).expect("we wrote bad UTF-8")),
                _ => Message::Binary(data),
            }));
        }
    }
    assert!(message.is_none(), "unfinished message");
    units
}

/// What we should have written for these events and this ending.
fn expected_units(setup: &Setup, run: &Run) -> Vec<Unit> {
    let mut units = Vec::new();
    for event in &run.events {
        match event {
            Event::Ping(p) if setup.auto_pong => units.push(Unit::Pong(p.clone())),
            Event::Message(m) if setup.echo => units.push(Unit::Message(m.clone())),
            Event::Close(frame) => units.push(Unit::Close(frame.as_ref().map(|f| f.code.0))),
            _ => {}
        }
    }
    match &run.end {
        End::Failed(e) => {
            if let Some(code) = e.close_code() {
                units.push(Unit::Close(Some(code.0)));
            }
        }
        // Ours, once: the peer's close (if any) is not answered again.
        End::WeClosed(_) => units.push(Unit::Close(Some(CloseCode::NORMAL.0))),
        End::Closed => {}
    }
    units
}

/// The close code each kind of error must carry.
fn check_error(e: &Error) {
    let expected = match e {
        Error::Protocol(ProtocolError::InvalidUtf8) => Some(CloseCode::INVALID_PAYLOAD),
        Error::Protocol(_) => Some(CloseCode::PROTOCOL_ERROR),
        Error::Capacity(_) => Some(CloseCode::TOO_BIG),
        Error::Io(io) => {
            assert_eq!(io.kind(), std::io::ErrorKind::UnexpectedEof);
            None
        }
        other => panic!("unexpected error {other:?}"),
    };
    assert_eq!(e.close_code(), expected);
}

fuzz_target!(|data: &[u8]| {
    let Some((head, wire)) = data.split_first_chunk::<4>() else {
        return;
    };
    let setup = Setup::new(*head);
    let run = run(&setup, wire, setup.reads.clone(), setup.write_limit);
    match &run.end {
        End::Failed(e) | End::WeClosed(Err(e)) => check_error(e),
        _ => {}
    }
    assert_eq!(
        written_units(&setup, &run.output),
        expected_units(&setup, &run)
    );
    assert!(run.echoed <= run.events.len());
    assert!(
        run.output.len() <= 8 * wire.len() + 1024,
        "output out of proportion"
    );

    // Reads in pieces, with timeouts, and partial writes change nothing.
    let whole = run_whole(&setup, wire);
    assert_eq!(whole.events, run.events);
    assert_eq!(format!("{:?}", whole.end), format!("{:?}", run.end));
});

fn run_whole(setup: &Setup, wire: &[u8]) -> Run {
    run(setup, wire, Vec::new(), 0)
}
