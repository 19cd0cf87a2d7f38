//! The server over a toy TLS session (the `Acceptor` hook a TLS backend
//! plugs into), and full duplex with large messages both ways at once.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::{Client, Handler, Server};
use crate::config::Config;
use crate::connection::Connection;
use crate::error::Error;
use crate::frame::{Frame, OpCode, Role};
use crate::message::Message;
use crate::stream::Stream;
use crate::transport::duplex::tests::Xor;
use crate::transport::duplex::{Acceptor, TlsEstablished};
use crate::websocket::WebSocket;

const KEY: u8 = 0x5A;
const HELLO: u8 = 0x16;
const WAIT: Duration = Duration::from_secs(10);
/// For 8 MiB through the toy cipher and masking in a debug build on a
/// loaded machine (about 4 s when alone).
const WAIT_LARGE: Duration = Duration::from_secs(60);

/// Every accepted socket "speaks TLS": XOR with `KEY`. The "TLS
/// handshake" is one byte from the client (`HELLO`, a TLS handshake
/// record's content type), and the first application bytes may come with
/// it, as with a real TLS backend.
struct XorAcceptor;

impl Acceptor for XorAcceptor {
    fn accept(&self, tcp: &TcpStream, _deadline: Instant) -> Result<TlsEstablished, Error> {
        let mut hello = [0u8; 8];
        let n = (&*tcp).read(&mut hello)?;
        if n == 0 || hello[0] != HELLO {
            return Err(Error::Tls(crate::error::TlsError::new("no hello")));
        }
        Ok(TlsEstablished {
            session: Box::new(Xor(KEY)),
            plaintext: hello[1..n].iter().map(|b| b ^ KEY).collect(),
        })
    }
}

/// The client side of the toy cipher.
struct XorStream(TcpStream);

impl Read for XorStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        buf[..n].iter_mut().for_each(|b| *b ^= KEY);
        Ok(n)
    }
}

impl Write for XorStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let cipher: Vec<u8> = buf.iter().map(|b| b ^ KEY).collect();
        self.0.write_all(&cipher)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Stream for XorStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.0.set_read_timeout(timeout)
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.0.shutdown(Shutdown::Write)
    }
}

/// Echoes, and reports the size of every message.
struct Echo(Mutex<Sender<usize>>);

impl Handler for Echo {
    fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
        let _ = self.0.lock().unwrap().send(message.len());
        if message.len() < 1000 {
            client.send(message)?;
        }
        Ok(())
    }
}

fn server(tls: bool) -> (Server, std::sync::mpsc::Receiver<usize>) {
    let (tx, rx) = channel();
    let mut builder = Server::builder()
        .config(Config::default().read_timeout(None))
        .route("/echo", Echo(Mutex::new(tx)));
    if tls {
        builder = builder.tls_acceptor(Arc::new(XorAcceptor));
    }
    (builder.bind("127.0.0.1:0").unwrap(), rx)
}

const UPGRADE: &str = "GET /echo HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

/// Handshakes by hand over `stream` (the public client connects only TCP).
fn upgrade<S: Stream>(mut stream: S) -> WebSocket<S> {
    stream.write_all(UPGRADE.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "closed in the head");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101 "), "{head:?}");
    WebSocket::from_raw(stream, Role::Client, Config::default(), &[])
}

fn tls_client(server: &Server) -> TcpStream {
    let mut tcp = TcpStream::connect(server.local_addr()).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    tcp.write_all(&[HELLO]).unwrap();
    tcp
}

#[test]
fn tls_sessions_carry_the_handshake_echoes_and_sends_from_other_threads() {
    let (server, sizes) = server(true);
    let mut conn = Connection::new(upgrade(XorStream(tls_client(&server))));
    conn.send(Message::Text("over toy TLS".into())).unwrap();
    assert_eq!(
        conn.recv().unwrap(),
        Some(Message::Text("over toy TLS".into()))
    );
    assert_eq!(sizes.recv_timeout(WAIT).unwrap(), 12);
    // The client's thread on the server is blocked reading ciphertext; a
    // broadcast from this thread is encrypted and arrives at once.
    assert_eq!(server.broadcast(&Message::Binary(vec![1, 2, 3])), 1);
    assert_eq!(conn.recv().unwrap(), Some(Message::Binary(vec![1, 2, 3])));
    conn.close(crate::close_code::CloseCode::NORMAL, "")
        .unwrap();
}

#[test]
fn a_failed_tls_handshake_ends_the_connection_quietly() {
    let (server, _) = server(true);
    let mut tcp = TcpStream::connect(server.local_addr()).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    tcp.write_all(b"\x01\x02 neither a hello nor HTTP").unwrap();
    let mut rest = Vec::new();
    let _ = tcp.read_to_end(&mut rest);
    assert!(rest.is_empty(), "no plaintext answer on a TLS port");
}

/// The server sends 8 MiB to a client (from another thread) while the
/// client sends 8 MiB and reads nothing until its upload is done. A server
/// whose reader waited for a writer blocked on the full socket would hang
/// here (each side waiting for the other to read); ours keeps reading.
fn large_messages_both_ways(tls: bool) {
    const SIZE: usize = 8 << 20;
    let (server, sizes) = server(tls);
    let tcp = if tls {
        tls_client(&server)
    } else {
        TcpStream::connect(server.local_addr()).unwrap()
    };
    tcp.set_read_timeout(Some(WAIT_LARGE)).unwrap();
    tcp.set_write_timeout(Some(WAIT_LARGE)).unwrap();
    let stream: Box<dyn StreamBox> = if tls {
        Box::new(XorStream(tcp))
    } else {
        Box::new(tcp)
    };
    let mut ws = upgrade(stream);
    let started = Instant::now();
    let client = server
        .clients()
        .list()
        .pop()
        .expect("registered before its 101");
    // Queued at once (the socket takes a part); a flusher writes the rest.
    thread::spawn(move || client.send(Message::Binary(vec![9u8; SIZE])))
        .join()
        .unwrap()
        .unwrap();
    ws.send(&Frame::binary(vec![7u8; SIZE])).unwrap();
    assert_eq!(sizes.recv_timeout(WAIT_LARGE).unwrap(), SIZE);
    let frame = ws.recv().unwrap();
    assert_eq!(frame.opcode, OpCode::Binary);
    assert_eq!(frame.payload.len(), SIZE);
    assert!(frame.payload.iter().all(|&b| b == 9));
    assert!(started.elapsed() < WAIT_LARGE);
}

trait StreamBox: Stream + Send {}
impl<S: Stream + Send> StreamBox for S {}

#[test]
fn large_messages_both_ways_at_once_over_tcp() {
    large_messages_both_ways(false);
}

#[test]
fn large_messages_both_ways_at_once_over_tls() {
    large_messages_both_ways(true);
}
