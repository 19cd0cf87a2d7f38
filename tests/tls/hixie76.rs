//! A hixie-76 client over `wss://`: the 101 names a `wss://` location
//! (the draft's client checks it against the URL it used), for every
//! backend compiled in.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use stdws::tls::{TlsBackend, TlsConnector};
use stdws::{Client, Error, Handler, Message, Server};

use crate::tls_support::certs::TestCa;
use crate::tls_support::LIMIT;

struct Echo;

impl Handler for Echo {
    fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
        client.send(message)
    }
}

/// Draft §1.3's keys; its answer is `8jKS'y:G*Co,Wxa-`.
const KEYS: &str = "Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\n\
                    Sec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n";

#[test]
fn a_hixie76_client_over_tls_is_told_a_wss_location() {
    let ca = TestCa::new("hixie76 CA");
    let leaf = ca.server(&["localhost"]);
    for &backend in TlsBackend::all() {
        let server = Server::builder()
            .tls(crate::acceptor(backend, &leaf))
            .hixie76(true)
            .route("/echo", Echo)
            .bind("127.0.0.1:0")
            .unwrap();
        let port = server.local_addr().port();
        let tcp = TcpStream::connect(server.local_addr()).unwrap();
        tcp.set_read_timeout(Some(LIMIT)).unwrap();
        let mut tls = TlsConnector::new()
            .backend(backend)
            .system_roots(false)
            .add_root_pem(ca.cert_pem.as_bytes())
            .connect("localhost", tcp, Instant::now() + LIMIT)
            .unwrap();
        let request = format!(
            "GET /echo?x=1 HTTP/1.1\r\nHost: localhost:{port}\r\nUpgrade: WebSocket\r\n\
             Connection: Upgrade\r\nOrigin: https://localhost\r\n{KEYS}\r\n^n:ds[4U"
        );
        tls.write_all(request.as_bytes()).unwrap();
        let expected = format!(
            "HTTP/1.1 101 WebSocket Protocol Handshake\r\nUpgrade: WebSocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Origin: https://localhost\r\n\
             Sec-WebSocket-Location: wss://localhost:{port}/echo?x=1\r\n\r\n8jKS'y:G*Co,Wxa-"
        );
        let mut response = vec![0u8; expected.len()];
        tls.read_exact(&mut response).unwrap();
        assert_eq!(String::from_utf8_lossy(&response), expected, "{backend:?}");
        tls.write_all(b"\x00secure\xff").unwrap();
        let mut echo = [0u8; 8];
        tls.read_exact(&mut echo).unwrap();
        assert_eq!(&echo, b"\x00secure\xff", "{backend:?}");
    }
}
