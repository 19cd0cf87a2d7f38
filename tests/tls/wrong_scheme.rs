//! The wrong scheme for the port: a `ws://` client (or curl) on a TLS
//! port, and a `wss://` client on a plain port, are told so.

use std::io::{Read, Write};
use std::net::TcpStream;

use stdws::tls::{TlsBackend, TlsConnector};
use stdws::{Error, Handler, HandshakeError, Listener, Server, WebSocket};

use crate::tls_support::certs::TestCa;
use crate::tls_support::LIMIT;

struct Echo;
impl Handler for Echo {}

#[test]
fn plain_http_on_a_tls_server_is_answered_400_in_plain_http() {
    let leaf = TestCa::new("stdws test CA").server(&["localhost"]);
    for &backend in TlsBackend::all() {
        let server = Server::builder()
            .tls(crate::acceptor(backend, &leaf))
            .route("/echo", Echo)
            .bind("127.0.0.1:0")
            .unwrap();
        let addr = server.local_addr();

        let err = WebSocket::connect(&format!("ws://{addr}/echo")).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Handshake(HandshakeError::UnexpectedStatus { status: 400, .. })
            ),
            "{backend:?}: {err:?}"
        );

        // What curl http://… shows.
        let mut tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(LIMIT)).unwrap();
        write!(tcp, "GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
        assert!(
            answer.ends_with(
                "\r\n\r\n400 Bad Request: plain HTTP on a TLS port: use wss:// or https://\n"
            ),
            "{backend:?}: {answer}"
        );
    }
}

/// rustls answers a request that is not TLS with an alert record; the
/// client names it. (OpenSSL sends no alert, it resets: the `Server`
/// answers in HTTP before its TLS library sees the request, as above.)
#[cfg(feature = "rustls")]
#[test]
fn ws_client_answered_with_a_tls_alert_says_the_server_speaks_tls() {
    use crate::tls_support::serve;
    use std::time::Instant;
    use stdws::ResponseError;

    let leaf = TestCa::new("stdws test CA").server(&["localhost"]);
    // A bare TLS acceptor, not the Server.
    let acceptor = crate::acceptor(TlsBackend::Rustls, &leaf);
    let (port, ended) = serve(1, move |_, tcp| {
        acceptor.accept(tcp, Instant::now() + LIMIT).map(drop)
    });
    let err = WebSocket::connect(&format!("ws://127.0.0.1:{port}/")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Handshake(HandshakeError::InvalidResponse(ResponseError::Tls))
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "handshake failed: invalid response: the server speaks TLS: use wss://"
    );
    assert!(ended.recv_timeout(LIMIT).unwrap().is_err());
}

#[test]
fn tls_client_hello_on_a_plain_port_is_refused_400_naming_tls() {
    let listener = Listener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    for &backend in TlsBackend::all() {
        let client = std::thread::spawn(move || {
            WebSocket::builder(&format!("wss://localhost:{}/", addr.port()))
                .tls(TlsConnector::new().backend(backend))
                .connect()
                .map(drop)
        });
        let refused = listener.accept().unwrap_err();
        let Error::Handshake(HandshakeError::Rejected { status, reason }) = &refused else {
            panic!("{backend:?}: {refused:?}")
        };
        assert_eq!(*status, 400);
        assert_eq!(
            reason,
            "TLS handshake on a plain ws:// port (the client wants wss://)"
        );
        let err = client.join().unwrap().unwrap_err();
        assert!(matches!(err, Error::Tls(_)), "{backend:?}: {err:?}");
    }
}
