//! Bugs the fuzz targets in `fuzz/` found, each kept as a test named for
//! its scenario. The inputs are the minimised ones from the fuzzer.

use std::io::{self, Read, Write};
use std::sync::Arc;

use stdws::extension::{ExtensionFactory, FrameDecoder, FrameEncoder, Negotiated, Param};
use stdws::{
    Accept, Config, Connection, Error, FrameHeader, Message, ProtocolError, Role, Rsv, SendOptions,
    ServerHandshake, Stream, WebSocket,
};

/// A peer that sends `input` and then ends the stream; what we write is kept.
struct Peer {
    input: io::Cursor<Vec<u8>>,
    output: Vec<u8>,
    shut: bool,
}

impl Peer {
    fn new(input: &[u8]) -> Peer {
        Peer {
            input: io::Cursor::new(input.to_vec()),
            output: Vec::new(),
            shut: false,
        }
    }
}

impl Read for Peer {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
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

/// An extension that owns no RSV bit and changes nothing.
struct NoBits;

struct Same;

impl FrameEncoder for Same {
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

impl FrameDecoder for Same {
    fn accepts(&mut self, _: &FrameHeader) -> Result<bool, ProtocolError> {
        Ok(false)
    }

    fn decode(
        &mut self,
        _: &mut FrameHeader,
        _: &[u8],
        _: &mut Vec<u8>,
        _: usize,
    ) -> Result<(), Error> {
        Ok(())
    }
}

impl ExtensionFactory for NoBits {
    fn name(&self) -> &str {
        "x-d"
    }

    fn rsv(&self) -> Rsv {
        Rsv::NONE
    }

    fn offers(&self) -> Vec<Vec<Param>> {
        vec![Vec::new()]
    }

    fn accept_offers(&self, _: &[&[Param]]) -> Option<(Vec<Param>, Negotiated)> {
        Some((Vec::new(), self.accept_response(&[]).ok()?))
    }

    fn accept_response(&self, _: &[Param]) -> Result<Negotiated, String> {
        Ok(Negotiated {
            encoder: Box::new(Same),
            decoder: Box::new(Same),
        })
    }
}

#[test]
fn server_accepts_an_extension_offered_in_two_cases_once() {
    // fuzz/extensions: `X-D, x-d` made the server accept x-d twice, a reply
    // every client refuses (RFC 6455 §9.1: each extension at most once).
    let request = "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
        Sec-WebSocket-Extensions: X-D, x-d\r\n\r\n";
    let mut config = Config::default();
    config
        .extensions
        .push(Arc::new(NoBits) as Arc<dyn ExtensionFactory>);
    let ws = ServerHandshake::read(Peer::new(request.as_bytes()), config)
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
