//! wss:// end to end, for every TLS backend compiled in (and every pair of
//! them: a native-tls server with a rustls client and the reverse): every
//! TLS test sits here. Certificates and trust in this file, full duplex on
//! the shared transport in `duplex`, the `Server` over wss in `server`.
#![cfg(any(feature = "tls", feature = "rustls"))]

mod duplex;
mod hixie76;
mod server;
#[path = "../tls_support/mod.rs"]
mod tls_support;
mod wrong_scheme;

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use stdws::tls::{Identity, TlsAcceptor, TlsBackend, TlsConnector};
use stdws::{
    Accept, CloseCode, Config, Connection, Error, Message, ServerHandshake, Timeout, WebSocket,
};
use tls_support::certs::{Leaf, TestCa};
use tls_support::{serve, LIMIT};

pub(crate) fn acceptor(backend: TlsBackend, leaf: &Leaf) -> TlsAcceptor {
    TlsAcceptor::builder(Identity::from_pem(
        leaf.chain_pem.as_bytes(),
        leaf.key_pem.as_bytes(),
    ))
    .backend(backend)
    .build()
    .expect("acceptor")
}

/// A wss echo server for `connections` clients; each result is how that
/// connection ended (the client's close code, or the error).
fn echo_server(
    acceptor: TlsAcceptor,
    connections: usize,
) -> (u16, std::sync::mpsc::Receiver<Result<Option<u16>, String>>) {
    serve(connections, move |_, tcp| {
        let deadline = Instant::now() + LIMIT;
        let run = || -> Result<Option<u16>, Error> {
            let tls = acceptor.accept(tcp, deadline)?;
            let ws = ServerHandshake::read_until(tls, Config::default(), deadline)?
                .accept(Accept::new())?;
            let mut conn = Connection::new(ws);
            while let Some(message) = conn.recv()? {
                conn.send(message)?;
            }
            Ok(conn.close_frame().map(|f| f.code.0))
        };
        run().map_err(|e| e.to_string())
    })
}

fn connector(backend: TlsBackend, ca: &TestCa) -> TlsConnector {
    TlsConnector::new()
        .backend(backend)
        .system_roots(false)
        .add_root_pem(ca.cert_pem.as_bytes())
}

#[test]
fn wss_echo_for_every_pair_of_backends() {
    let ca = TestCa::new("stdws test CA");
    let leaf = ca.server(&["localhost"]);
    for &server in TlsBackend::all() {
        for &client in TlsBackend::all() {
            let (port, ended) = echo_server(acceptor(server, &leaf), 1);
            let ws = WebSocket::builder(&format!("wss://localhost:{port}/echo"))
                .tls(connector(client, &ca))
                .connect()
                .unwrap_or_else(|e| panic!("{server:?} server, {client:?} client: {e}"));
            let mut conn = Connection::new(ws);
            conn.send(Message::Text("héllo".into())).unwrap();
            assert_eq!(conn.recv().unwrap(), Some(Message::Text("héllo".into())));
            // Larger than many TLS records, so it crosses record boundaries.
            let big: Vec<u8> = (0..1_000_003u32).map(|i| (i % 251) as u8).collect();
            conn.send(Message::Binary(big.clone())).unwrap();
            assert_eq!(conn.recv().unwrap(), Some(Message::Binary(big)));
            conn.close(CloseCode::NORMAL, "bye").unwrap();
            assert_eq!(
                ended.recv_timeout(LIMIT).unwrap(),
                Ok(Some(1000)),
                "{server:?} server, {client:?} client"
            );
        }
    }
}

#[test]
fn wrong_ca_fails_with_a_tls_error_naming_the_cause() {
    let trusted = TestCa::new("trusted CA");
    let other = TestCa::new("other CA");
    let leaf = other.server(&["localhost"]);
    for &client in TlsBackend::all() {
        let (port, ended) = echo_server(acceptor(TlsBackend::default(), &leaf), 1);
        let err = WebSocket::builder(&format!("wss://localhost:{port}/"))
            .tls(connector(client, &trusted))
            .connect()
            .unwrap_err();
        let Error::Tls(message) = &err else {
            panic!("{client:?}: expected a TLS error, got {err:?}")
        };
        let cause = match format!("{client:?}").as_str() {
            "NativeTls" => "certificate verify failed",
            _ => "UnknownIssuer",
        };
        assert!(message.to_string().contains(cause), "{client:?}: {message}");
        assert_eq!(message.context(), "TLS handshake failed");
        assert_backend_error(&err, client);
        // The server saw the client give up during the TLS handshake.
        assert!(ended.recv_timeout(LIMIT).unwrap().is_err());
    }
}

/// `source()` of a TLS error is the backend's own error, with the reason a
/// caller can match on.
fn assert_backend_error(err: &Error, backend: TlsBackend) {
    let source = std::error::Error::source(err).expect("the backend's error as source");
    match backend {
        #[cfg(feature = "tls")]
        TlsBackend::NativeTls => assert!(
            source.downcast_ref::<native_tls::Error>().is_some(),
            "{source:?}"
        ),
        #[cfg(feature = "rustls")]
        TlsBackend::Rustls => assert!(
            matches!(
                source.downcast_ref::<rustls::Error>(),
                Some(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::UnknownIssuer
                ))
            ),
            "{source:?}"
        ),
        #[allow(unreachable_patterns)]
        other => panic!("no check for {other:?}"),
    }
}

#[test]
fn certificate_for_another_name_is_refused() {
    let ca = TestCa::new("stdws test CA");
    let leaf = ca.server(&["example.test"]);
    for &client in TlsBackend::all() {
        let (port, _ended) = echo_server(acceptor(TlsBackend::default(), &leaf), 1);
        let err = WebSocket::builder(&format!("wss://localhost:{port}/"))
            .tls(connector(client, &ca))
            .connect()
            .unwrap_err();
        assert!(matches!(err, Error::Tls(_)), "{client:?}: {err:?}");
    }
}

#[test]
fn danger_accept_invalid_certs_connects_to_an_untrusted_server() {
    let leaf = TestCa::new("unknown CA").server(&["example.test"]);
    for &client in TlsBackend::all() {
        let (port, ended) = echo_server(acceptor(TlsBackend::default(), &leaf), 1);
        let ws = WebSocket::builder(&format!("wss://127.0.0.1:{port}/"))
            .tls(TlsConnector::new().backend(client).system_roots(false))
            .danger_accept_invalid_certs(true)
            .connect()
            .unwrap_or_else(|e| panic!("{client:?}: {e}"));
        let mut conn = Connection::new(ws);
        conn.send(Message::Text("x".into())).unwrap();
        assert_eq!(conn.recv().unwrap(), Some(Message::Text("x".into())));
        conn.close(CloseCode::NORMAL, "").unwrap();
        assert_eq!(ended.recv_timeout(LIMIT).unwrap(), Ok(Some(1000)));
    }
}

#[test]
fn ca_file_is_read_at_connect() {
    let ca = TestCa::new("file CA");
    let leaf = ca.server(&["localhost"]);
    let path = std::env::temp_dir().join(format!("stdws-ca-{}.pem", std::process::id()));
    std::fs::write(&path, &ca.cert_pem).unwrap();
    let (port, ended) = echo_server(acceptor(TlsBackend::default(), &leaf), 1);
    let ws = WebSocket::builder(&format!("wss://localhost:{port}/"))
        .tls(TlsConnector::new().system_roots(false))
        .ca_file(&path)
        .connect();
    std::fs::remove_file(&path).ok();
    Connection::new(ws.unwrap())
        .close(CloseCode::NORMAL, "")
        .unwrap();
    assert_eq!(ended.recv_timeout(LIMIT).unwrap(), Ok(Some(1000)));

    let (port, _ended) = echo_server(acceptor(TlsBackend::default(), &leaf), 1);
    let err = WebSocket::builder(&format!("wss://localhost:{port}/"))
        .ca_file("/nonexistent/ca.pem")
        .connect()
        .unwrap_err();
    assert!(
        matches!(&err, Error::Tls(m) if m.context() == "cannot read CA file /nonexistent/ca.pem"),
        "{err:?}"
    );
    // The cause is the I/O error, kept whole.
    let source = std::error::Error::source(&err).expect("a source");
    let io = source
        .downcast_ref::<std::io::Error>()
        .expect("an io::Error");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
}

/// The server name a ClientHello asks for (RFC 6066 §3), if any.
fn sni_of(hello: &[u8]) -> Option<String> {
    let u16_at = |i: usize| Some(u16::from_be_bytes([*hello.get(i)?, *hello.get(i + 1)?]) as usize);
    // Record header (5), handshake header (4), version (2), random (32).
    let mut i = 5 + 4 + 2 + 32;
    i += 1 + *hello.get(i)? as usize; // session id
    i += 2 + u16_at(i)?; // cipher suites
    i += 1 + *hello.get(i)? as usize; // compression methods
    let end = i + 2 + u16_at(i)?;
    i += 2;
    while i + 4 <= end {
        let (kind, len) = (u16_at(i)?, u16_at(i + 2)?);
        if kind == 0 {
            // server_name_list: length (2), type (1, host_name = 0), length (2), name
            let name_len = u16_at(i + 4 + 3)?;
            let name = hello.get(i + 4 + 5..i + 4 + 5 + name_len)?;
            return String::from_utf8(name.to_vec()).ok();
        }
        i += 4 + len;
    }
    None
}

/// Reads what a client sends first (its ClientHello), then hangs up.
fn capture_client_hello() -> (u16, std::sync::mpsc::Receiver<Vec<u8>>) {
    serve(1, |_, mut tcp: TcpStream| {
        let mut hello = vec![0u8; 5];
        if tcp.read_exact(&mut hello).is_err() {
            return Vec::new();
        }
        let len = u16::from_be_bytes([hello[3], hello[4]]) as usize;
        hello.resize(5 + len, 0);
        let _ = tcp.read_exact(&mut hello[5..]);
        hello
    })
}

#[test]
fn client_sends_the_url_host_as_sni_and_none_for_an_ip() {
    for &client in TlsBackend::all() {
        for (host, expected) in [("localhost", Some("localhost")), ("127.0.0.1", None)] {
            let (port, hello) = capture_client_hello();
            let _ = WebSocket::builder(&format!("wss://{host}:{port}/"))
                .tls(TlsConnector::new().backend(client))
                .handshake_timeout(Duration::from_secs(3))
                .connect();
            let hello = hello.recv_timeout(LIMIT).unwrap();
            assert_eq!(sni_of(&hello).as_deref(), expected, "{client:?} to {host}");
        }
    }
}

#[test]
fn server_certificate_for_one_name_serves_that_name() {
    // The server has a certificate for `localhost` only: a client that asks
    // for it by name (SNI and verification) gets in.
    let ca = TestCa::new("stdws test CA");
    let leaf = ca.server(&["localhost"]);
    for &server in TlsBackend::all() {
        let (port, ended) = echo_server(acceptor(server, &leaf), 2);
        let ws = WebSocket::builder(&format!("wss://localhost:{port}/"))
            .tls(connector(TlsBackend::default(), &ca))
            .connect()
            .unwrap();
        Connection::new(ws).close(CloseCode::NORMAL, "").unwrap();
        assert_eq!(ended.recv_timeout(LIMIT).unwrap(), Ok(Some(1000)));
        // By IP address, the certificate does not match.
        let err = WebSocket::builder(&format!("wss://127.0.0.1:{port}/"))
            .tls(connector(TlsBackend::default(), &ca))
            .connect()
            .unwrap_err();
        assert!(matches!(err, Error::Tls(_)), "{err:?}");
    }
}

#[test]
fn silent_server_hits_the_client_handshake_timeout() {
    for &client in TlsBackend::all() {
        let (port, _) = serve(1, |_, tcp: TcpStream| {
            std::thread::sleep(Duration::from_secs(2));
            drop(tcp);
        });
        let start = Instant::now();
        let err = WebSocket::builder(&format!("wss://localhost:{port}/"))
            .tls(TlsConnector::new().backend(client))
            .handshake_timeout(Duration::from_millis(300))
            .connect()
            .unwrap_err();
        assert!(
            matches!(err, Error::Timeout(Timeout::Handshake)),
            "{client:?}: {err:?}"
        );
        assert!(start.elapsed() < Duration::from_millis(1500));
    }
}

#[test]
fn silent_client_hits_the_server_handshake_deadline() {
    let leaf = TestCa::new("stdws test CA").server(&["localhost"]);
    for &server in TlsBackend::all() {
        let acceptor = acceptor(server, &leaf);
        let (port, result) = serve(1, move |_, tcp| {
            let start = Instant::now();
            let r = acceptor.accept(tcp, Instant::now() + Duration::from_millis(300));
            (r.map(|_| ()).map_err(|e| e.to_string()), start.elapsed())
        });
        let _idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (r, took) = result.recv_timeout(LIMIT).unwrap();
        assert_eq!(
            r,
            Err("opening handshake timed out".to_owned()),
            "{server:?}"
        );
        assert!(took < Duration::from_millis(1500));
    }
}

#[test]
fn bad_pem_is_a_tls_error() {
    for &backend in TlsBackend::all() {
        let err = TlsAcceptor::builder(Identity::from_pem(b"not a certificate", b"nor a key"))
            .backend(backend)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Tls(_)), "{backend:?}: {err:?}");
    }
    let err = TlsAcceptor::from_pem("/nonexistent/cert.pem", "/nonexistent/key.pem").unwrap_err();
    assert!(
        matches!(&err, Error::Tls(m) if m.context().starts_with("cannot read certificate chain")),
        "{err:?}"
    );
}

#[cfg(feature = "rustls")]
#[test]
fn rustls_server_requires_a_client_certificate_when_asked() {
    let ca = TestCa::new("stdws test CA");
    let leaf = ca.server(&["localhost"]);
    let client_leaf = ca.client("client.test");
    let acceptor = TlsAcceptor::builder(Identity::from_pem(
        leaf.chain_pem.as_bytes(),
        leaf.key_pem.as_bytes(),
    ))
    .backend(TlsBackend::Rustls)
    .client_ca_pem(ca.cert_pem.as_bytes())
    .build()
    .unwrap();
    for &client in TlsBackend::all() {
        let (port, ended) = echo_server(acceptor.clone(), 2);
        // Without a certificate: refused during the TLS handshake (TLS 1.3
        // may only tell the client when it first reads).
        let refused = WebSocket::builder(&format!("wss://localhost:{port}/"))
            .tls(connector(client, &ca))
            .connect();
        assert!(refused.is_err(), "{client:?}");
        assert!(ended.recv_timeout(LIMIT).unwrap().is_err());
        // With one signed by the CA: in.
        let ws = WebSocket::builder(&format!("wss://localhost:{port}/"))
            .tls(connector(client, &ca).identity(Identity::from_pem(
                client_leaf.chain_pem.as_bytes(),
                client_leaf.key_pem.as_bytes(),
            )))
            .connect()
            .unwrap_or_else(|e| panic!("{client:?}: {e}"));
        Connection::new(ws).close(CloseCode::NORMAL, "").unwrap();
        assert_eq!(ended.recv_timeout(LIMIT).unwrap(), Ok(Some(1000)));
    }
}

#[cfg(feature = "tls")]
#[test]
fn native_tls_cannot_require_client_certificates_and_says_so() {
    let ca = TestCa::new("stdws test CA");
    let leaf = ca.server(&["localhost"]);
    let err = TlsAcceptor::builder(Identity::from_pem(
        leaf.chain_pem.as_bytes(),
        leaf.key_pem.as_bytes(),
    ))
    .backend(TlsBackend::NativeTls)
    .client_ca_pem(ca.cert_pem.as_bytes())
    .build()
    .unwrap_err();
    assert!(
        matches!(&err, Error::Tls(m) if m.to_string().contains("needs the rustls backend")),
        "{err:?}"
    );
}

#[cfg(all(feature = "tls", target_os = "linux"))]
#[test]
fn pkcs12_identity_serves_wss_and_a_wrong_password_is_a_tls_error() {
    use openssl::pkcs12::Pkcs12;
    use openssl::pkey::PKey;
    use openssl::stack::Stack;
    use openssl::x509::X509;

    let ca = TestCa::new("stdws test CA");
    let leaf = ca.server(&["localhost"]);
    let certs = X509::stack_from_pem(leaf.chain_pem.as_bytes()).unwrap();
    let mut chain = Stack::new().unwrap();
    chain.push(certs[1].clone()).unwrap();
    let der = Pkcs12::builder()
        .name("stdws")
        .pkey(&PKey::private_key_from_pem(leaf.key_pem.as_bytes()).unwrap())
        .cert(&certs[0])
        .ca(chain)
        .build2("p12 password")
        .unwrap()
        .to_der()
        .unwrap();
    let path = std::env::temp_dir().join(format!("stdws-{}.p12", std::process::id()));
    std::fs::write(&path, der).unwrap();
    let acceptor = TlsAcceptor::from_pkcs12(&path, "p12 password");
    let wrong = TlsAcceptor::from_pkcs12(&path, "guess");
    let with_rustls = TlsBackend::all().last().map(|&b| {
        TlsAcceptor::builder(Identity::from_pkcs12_file(&path, "p12 password").unwrap())
            .backend(b)
            .build()
    });
    std::fs::remove_file(&path).ok();

    let (port, ended) = echo_server(acceptor.unwrap(), 1);
    let ws = WebSocket::builder(&format!("wss://localhost:{port}/"))
        .tls(connector(TlsBackend::default(), &ca))
        .connect()
        .unwrap();
    let mut conn = Connection::new(ws);
    conn.send(Message::Text("p12".into())).unwrap();
    assert_eq!(conn.recv().unwrap(), Some(Message::Text("p12".into())));
    conn.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(ended.recv_timeout(LIMIT).unwrap(), Ok(Some(1000)));

    assert!(matches!(wrong, Err(Error::Tls(_))), "{wrong:?}");
    #[cfg(feature = "rustls")]
    assert!(
        matches!(&with_rustls, Some(Err(Error::Tls(m))) if m.to_string().contains("PKCS#12 identities need the native-tls backend")),
        "{with_rustls:?}"
    );
    let _ = with_rustls;
}
