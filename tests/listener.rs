//! The by-hand server of the README and the crate docs (twspy's verbs with
//! `Listener::incoming`): clients that fail or stall their handshake do
//! not end it or hold up the clients behind them.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use stdws::{Config, Connection, HandshakeError, Listener, Message, WebSocket};
use support::PATIENCE;

/// The README's server, handling `connections` connections, with a
/// handshake timeout far longer than the test waits.
fn by_hand_server(connections: usize) -> (SocketAddr, JoinHandle<Result<(), stdws::Error>>) {
    let config = Config::default().handshake_timeout(Duration::from_secs(30));
    let listener = Listener::bind("127.0.0.1:0").unwrap().with_config(config);
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        for pending in listener.incoming().take(connections) {
            let pending = pending?;
            thread::spawn(move || -> Result<(), stdws::Error> {
                let mut conn = Connection::new(pending.handshake()?);
                while let Some(message) = conn.recv()? {
                    conn.send(message)?;
                }
                Ok(())
            });
        }
        Ok(())
    });
    (addr, server)
}

/// A `curl http://ADDR/`: the status line it is answered with.
fn curl(addr: SocketAddr) -> String {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(
        tcp,
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    answer.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn by_hand_server_survives_a_plain_http_request_and_a_silent_client() {
    let (addr, server) = by_hand_server(3);
    assert_eq!(curl(addr), "HTTP/1.1 400 Bad Request");
    let silent = TcpStream::connect(addr).unwrap();

    let started = Instant::now();
    let config = Config::default().read_timeout(Some(PATIENCE));
    let ws = WebSocket::builder(&format!("ws://{addr}/echo")).config(config);
    let mut conn = Connection::new(ws.connect().unwrap());
    conn.send(Message::Text("behind them".into())).unwrap();
    assert_eq!(
        conn.recv().unwrap(),
        Some(Message::Text("behind them".into()))
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "echoed after {:?}: the silent client held the accept loop",
        started.elapsed()
    );
    drop(silent);
    server
        .join()
        .unwrap()
        .expect("the accept loop never failed");
}

#[test]
fn accept_returns_a_failed_handshake_and_stays_usable() {
    let listener = Listener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let curl = thread::spawn(move || curl(addr));
    match listener.accept() {
        Err(stdws::Error::Handshake(HandshakeError::Rejected { status, .. })) => {
            assert_eq!(status, 400)
        }
        other => panic!("expected a 400 rejection, got {other:?}"),
    }
    assert_eq!(curl.join().unwrap(), "HTTP/1.1 400 Bad Request");

    let client = thread::spawn(move || Connection::connect(&format!("ws://{addr}/")).map(drop));
    let ws = listener.accept().expect("the next client is accepted");
    assert_eq!(ws.request().map(|r| r.path()), Some("/"));
    client.join().unwrap().unwrap();
}

#[test]
fn crate_level_connect_and_accept_echo_a_message() {
    let (tcp_listener, addr) = support::raw_listener();
    let server = thread::spawn(move || -> Result<Option<u16>, stdws::Error> {
        let (tcp, _) = tcp_listener.accept()?;
        tcp.set_read_timeout(Some(PATIENCE))?;
        let mut conn = stdws::accept(tcp)?;
        while let Some(message) = conn.recv()? {
            conn.send(message)?;
        }
        Ok(conn.close_frame().map(|f| f.code.0))
    });
    let mut conn = stdws::connect(&format!("ws://{addr}/anywhere")).unwrap();
    conn.send_text("shortcut").unwrap();
    assert_eq!(conn.recv().unwrap(), Some(Message::Text("shortcut".into())));
    conn.close(stdws::CloseCode::NORMAL, "").unwrap();
    assert_eq!(server.join().unwrap().unwrap(), Some(1000));
}
