//! Clients through proxies: what goes on the wire to the proxy and to the
//! server, TLS to the server through the tunnel, the environment per
//! redirect hop, and proxies that misbehave (huge heads, garbage, silence).
//! The real proxies (tinyproxy, dante) are driven by
//! `scripts/interop-proxy.sh`; here a relay of a few lines plays the
//! well-behaved proxy, so that the bytes it sees can be asserted.
//!
//! Every test but `environment_*` sets its proxy explicitly (or turns it
//! off), so the one test that changes the environment cannot reach them.

mod tls_support;

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc::Receiver;
use std::thread;
use std::time::{Duration, Instant};

use stdws::{
    Accept, CloseCode, Config, Connection, Error, Message, ProxyError, ServerHandshake, Timeout,
    WebSocket,
};
use tls_support::{serve, LIMIT};

/// Reads up to the blank line that ends an HTTP head (byte by byte, so
/// nothing after it is taken).
fn read_head(tcp: &mut impl Read) -> io::Result<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if tcp.read(&mut byte)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// Copies bytes both ways until either side ends.
fn relay(a: TcpStream, b: TcpStream) {
    let (mut a2, mut b2) = (a.try_clone().unwrap(), b.try_clone().unwrap());
    let up = thread::spawn(move || {
        let (mut a, mut b) = (a, b);
        let _ = io::copy(&mut a, &mut b);
        let _ = b.shutdown(Shutdown::Write);
    });
    let _ = io::copy(&mut b2, &mut a2);
    let _ = a2.shutdown(Shutdown::Write);
    let _ = up.join();
}

/// A CONNECT proxy for `connections` tunnels: each CONNECT head goes to
/// the channel, the target (host:port from the request line) is
/// connected, and bytes are relayed until either side ends.
fn connect_proxy(connections: usize) -> (u16, Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        for _ in 0..connections {
            let Ok((mut client, _)) = listener.accept() else {
                return;
            };
            client.set_read_timeout(Some(LIMIT)).unwrap();
            let tx = tx.clone();
            thread::spawn(move || {
                let Ok(head) = read_head(&mut client) else {
                    return;
                };
                let target = head.split(' ').nth(1).unwrap_or_default().to_owned();
                let _ = tx.send(head);
                let Ok(server) = TcpStream::connect(&target) else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
                    return;
                };
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .unwrap();
                relay(client, server);
            });
        }
    });
    (port, rx)
}

/// A WebSocket echo server for one connection; sends the request's
/// `Proxy-Authorization` (if any) to the channel.
fn ws_server() -> (u16, Receiver<Option<String>>) {
    serve(1, |_, tcp| {
        let pending = ServerHandshake::read(tcp, Config::default()).unwrap();
        let seen = pending
            .request()
            .headers
            .get("Proxy-Authorization")
            .map(str::to_owned);
        let mut conn = Connection::new(pending.accept(Accept::new()).unwrap());
        while let Ok(Some(m)) = conn.recv() {
            if conn.send(m).is_err() {
                break;
            }
        }
        seen
    })
}

fn echo_once<S: stdws::Stream>(ws: WebSocket<S>) {
    let mut conn = Connection::new(ws);
    conn.send(Message::Text("through".into())).unwrap();
    assert_eq!(conn.recv().unwrap(), Some(Message::Text("through".into())));
    conn.close(CloseCode::NORMAL, "").unwrap();
}

#[test]
fn connect_names_the_host_as_written_and_credentials_stay_with_the_proxy() {
    let (server, seen_by_server) = ws_server();
    let (proxy, heads) = connect_proxy(1);
    let ws = WebSocket::builder(&format!("ws://localhost:{server}/echo"))
        .proxy(format!("http://alice:open%20sesame@127.0.0.1:{proxy}"))
        .connect()
        .unwrap();
    echo_once(ws);
    assert_eq!(
        heads.recv_timeout(LIMIT).unwrap(),
        format!(
            "CONNECT localhost:{server} HTTP/1.1\r\nHost: localhost:{server}\r\n\
             Proxy-Authorization: Basic YWxpY2U6b3BlbiBzZXNhbWU=\r\n\r\n"
        )
    );
    assert_eq!(seen_by_server.recv_timeout(LIMIT).unwrap(), None);
}

#[test]
fn a_proxy_authorization_header_goes_to_the_proxy_never_to_the_server() {
    let (server, seen_by_server) = ws_server();
    let (proxy, heads) = connect_proxy(1);
    let ws = WebSocket::builder(&format!("ws://127.0.0.1:{server}/"))
        .proxy(format!("http://u:url-password@127.0.0.1:{proxy}"))
        .header("Proxy-Authorization", "Bearer for-the-proxy")
        .connect()
        .unwrap();
    echo_once(ws);
    let head = heads.recv_timeout(LIMIT).unwrap();
    assert!(
        head.contains("\r\nProxy-Authorization: Bearer for-the-proxy\r\n"),
        "{head}"
    );
    assert_eq!(seen_by_server.recv_timeout(LIMIT).unwrap(), None);
    // Without a proxy the field has nowhere to go: the server never sees it.
    let (server, seen_by_server) = ws_server();
    let ws = WebSocket::builder(&format!("ws://127.0.0.1:{server}/"))
        .no_proxy()
        .header("Proxy-Authorization", "Bearer for-the-proxy")
        .connect()
        .unwrap();
    echo_once(ws);
    assert_eq!(seen_by_server.recv_timeout(LIMIT).unwrap(), None);
}

#[cfg(any(feature = "tls", feature = "rustls"))]
mod tls {
    use super::*;
    use stdws::tls::{Identity, TlsAcceptor, TlsConnector};
    use tls_support::certs::TestCa;

    fn wss_server(names: &[&str], ca: &TestCa) -> (u16, Receiver<Result<(), String>>) {
        let leaf = ca.server(names);
        let acceptor = TlsAcceptor::builder(Identity::from_pem(
            leaf.chain_pem.as_bytes(),
            leaf.key_pem.as_bytes(),
        ))
        .build()
        .unwrap();
        serve(1, move |_, tcp| {
            let deadline = Instant::now() + LIMIT;
            let run = || -> Result<(), Error> {
                let tls = acceptor.accept(tcp, deadline)?;
                let ws = ServerHandshake::read_until(tls, Config::default(), deadline)?
                    .accept(Accept::new())?;
                let mut conn = Connection::new(ws);
                while let Some(m) = conn.recv()? {
                    conn.send(m)?;
                }
                Ok(())
            };
            run().map_err(|e| e.to_string())
        })
    }

    fn trusting(ca: &TestCa) -> TlsConnector {
        TlsConnector::new()
            .system_roots(false)
            .add_root_pem(ca.cert_pem.as_bytes())
    }

    #[test]
    fn wss_through_a_tunnel_checks_the_servers_name_not_the_proxys() {
        let ca = TestCa::new("stdws proxy test CA");
        // The certificate names localhost only; the proxy is 127.0.0.1.
        let (server, ended) = wss_server(&["localhost"], &ca);
        let (proxy, heads) = connect_proxy(1);
        let ws = WebSocket::builder(&format!("wss://localhost:{server}/"))
            .proxy(format!("http://127.0.0.1:{proxy}"))
            .tls(trusting(&ca))
            .connect()
            .unwrap();
        echo_once(ws);
        assert!(heads
            .recv_timeout(LIMIT)
            .unwrap()
            .starts_with(&format!("CONNECT localhost:{server} HTTP/1.1\r\n")));
        assert_eq!(ended.recv_timeout(LIMIT).unwrap(), Ok(()));
    }

    #[test]
    fn a_server_certificate_for_another_name_fails_through_the_tunnel() {
        let ca = TestCa::new("stdws proxy test CA");
        let (server, _ended) = wss_server(&["other.example"], &ca);
        let (proxy, _heads) = connect_proxy(1);
        let err = WebSocket::builder(&format!("wss://localhost:{server}/"))
            .proxy(format!("http://127.0.0.1:{proxy}"))
            .tls(trusting(&ca))
            .connect()
            .unwrap_err();
        assert!(matches!(err, Error::Tls(_)), "{err:?}");
    }

    /// An `https://` proxy that, once CONNECT arrived inside its TLS
    /// session, answers 200 and then plays the WebSocket server itself on
    /// the same session: the client's upgrade must arrive inside it.
    #[test]
    fn ws_through_an_https_proxy_runs_inside_the_proxys_tls() {
        let ca = TestCa::new("stdws proxy test CA");
        let leaf = ca.server(&["localhost"]);
        let acceptor = TlsAcceptor::builder(Identity::from_pem(
            leaf.chain_pem.as_bytes(),
            leaf.key_pem.as_bytes(),
        ))
        .build()
        .unwrap();
        let (proxy, seen) = serve(1, move |_, tcp| {
            let deadline = Instant::now() + LIMIT;
            let mut tls = acceptor.accept(tcp, deadline).unwrap();
            let head = read_head(&mut tls).unwrap();
            tls.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .unwrap();
            let ws = ServerHandshake::read_until(tls, Config::default(), deadline)
                .unwrap()
                .accept(Accept::new())
                .unwrap();
            let mut conn = Connection::new(ws);
            while let Ok(Some(m)) = conn.recv() {
                if conn.send(m).is_err() {
                    break;
                }
            }
            head
        });
        let ws = WebSocket::builder("ws://ws.example:9001/")
            .proxy(format!("https://u:p@localhost:{proxy}"))
            .tls(trusting(&ca))
            .connect()
            .unwrap();
        echo_once(ws);
        assert_eq!(
            seen.recv_timeout(LIMIT).unwrap(),
            "CONNECT ws.example:9001 HTTP/1.1\r\nHost: ws.example:9001\r\n\
             Proxy-Authorization: Basic dTpw\r\n\r\n"
        );
    }

    #[test]
    fn wss_through_an_https_proxy_is_refused_as_tls_in_tls() {
        let (proxy, _) = serve(1, |_, tcp| drop(tcp));
        let err = WebSocket::builder("wss://ws.example/")
            .proxy(format!("https://127.0.0.1:{proxy}"))
            .connect()
            .unwrap_err();
        assert!(matches!(err, Error::Proxy(ProxyError::TlsInTls)), "{err:?}");
    }
}

/// A proxy that answers every connection with `reply` (after reading what
/// the client sent first) and then waits for the client to go.
fn scripted_proxy(reply: Vec<u8>) -> u16 {
    serve(1, move |_, mut tcp| {
        let mut first = [0u8; 512];
        let _ = tcp.read(&mut first);
        let _ = tcp.write_all(&reply);
        let _ = tcp.read(&mut first);
    })
    .0
}

fn connect_through(proxy: &str, timeout: Duration) -> (Error, Duration) {
    let started = Instant::now();
    let err = WebSocket::builder("ws://ws.example/")
        .proxy(proxy)
        .handshake_timeout(timeout)
        .connect()
        .unwrap_err();
    (err, started.elapsed())
}

#[test]
fn a_407_is_refused_with_its_status_and_scheme() {
    let port = scripted_proxy(
        b"HTTP/1.0 407 Proxy Authentication Required\r\n\
          Proxy-Authenticate: Basic realm=\"tinyproxy\"\r\n\r\n"
            .to_vec(),
    );
    let (err, _) = connect_through(&format!("http://127.0.0.1:{port}"), LIMIT);
    let Error::Proxy(proxy) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        proxy,
        &ProxyError::Refused {
            status: 407,
            reason: "Proxy Authentication Required".into(),
            authenticate: vec!["Basic".into()],
        }
    );
    assert_eq!(proxy.status(), Some(407));
    assert!(err.to_string().contains("407"), "{err}");
}

#[test]
fn a_huge_connect_reply_head_is_an_invalid_reply() {
    let mut reply = b"HTTP/1.1 200 OK\r\n".to_vec();
    while reply.len() < 1 << 20 {
        reply.extend_from_slice(b"X-Flood: 0123456789abcdef\r\n");
    }
    let port = scripted_proxy(reply);
    let (err, _) = connect_through(&format!("http://127.0.0.1:{port}"), LIMIT);
    assert!(
        matches!(&err, Error::Proxy(ProxyError::InvalidReply(why)) if why.contains("reply head")),
        "{err:?}"
    );
}

#[test]
fn data_after_the_connect_reply_is_an_invalid_reply() {
    let port = scripted_proxy(b"HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 101 Switching".to_vec());
    let (err, _) = connect_through(&format!("http://127.0.0.1:{port}"), LIMIT);
    assert!(
        matches!(err, Error::Proxy(ProxyError::InvalidReply(_))),
        "{err:?}"
    );
}

#[test]
fn a_garbage_socks_reply_is_an_invalid_reply() {
    let port = scripted_proxy(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec());
    let (err, _) = connect_through(&format!("socks5h://127.0.0.1:{port}"), LIMIT);
    assert!(
        matches!(err, Error::Proxy(ProxyError::InvalidReply(_))),
        "{err:?}"
    );
}

#[test]
fn a_socks_refusal_carries_its_reply_code() {
    // Method "no authentication", then reply 5: connection refused.
    let port = serve(1, |_, mut tcp| {
        let mut buf = [0u8; 512];
        let _ = tcp.read(&mut buf);
        let _ = tcp.write_all(&[5, 0]);
        let _ = tcp.read(&mut buf);
        let _ = tcp.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]);
    })
    .0;
    let (err, _) = connect_through(&format!("socks5h://127.0.0.1:{port}"), LIMIT);
    assert!(matches!(err, Error::Proxy(ProxyError::Socks(5))), "{err:?}");
    assert!(err.to_string().contains("connection refused"), "{err}");
}

#[test]
fn a_proxy_that_closes_is_a_closed_tunnel() {
    for scheme in ["http", "socks5h"] {
        let port = serve(1, |_, mut tcp| {
            let _ = tcp.read(&mut [0u8; 512]);
        })
        .0;
        let (err, _) = connect_through(&format!("{scheme}://127.0.0.1:{port}"), LIMIT);
        assert!(
            matches!(err, Error::Proxy(ProxyError::TunnelClosed)),
            "{scheme}: {err:?}"
        );
    }
}

#[test]
fn a_proxy_that_never_answers_times_out_within_the_deadline() {
    for scheme in ["http", "socks5", "socks5h"] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let timeout = Duration::from_millis(400);
        // socks5:// resolves locally: an IP literal keeps DNS out of it.
        let started = Instant::now();
        let err = WebSocket::builder("ws://127.0.0.1:9/")
            .proxy(format!("{scheme}://127.0.0.1:{port}"))
            .handshake_timeout(timeout)
            .connect()
            .unwrap_err();
        let elapsed = started.elapsed();
        assert!(
            matches!(err, Error::Timeout(Timeout::Proxy)),
            "{scheme}: {err:?}"
        );
        assert!(
            elapsed >= timeout && elapsed < timeout + Duration::from_secs(1),
            "{scheme}: {elapsed:?}"
        );
        drop(listener);
    }
}

/// The one test that changes the environment (see the file's docs).
#[test]
fn environment_picks_the_proxy_per_redirect_hop_and_no_proxy_bypasses() {
    let (target, seen_by_target) = ws_server();
    // The first server redirects to the second, which NO_PROXY names with
    // its port: the first hop goes through the proxy, the second does not.
    let (first, _) = serve(1, move |_, tcp| {
        let pending = ServerHandshake::read(tcp, Config::default()).unwrap();
        let page = format!("HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:{target}/\r\n\r\n");
        pending.respond(page.as_bytes()).unwrap();
    });
    let (proxy, heads) = connect_proxy(2);
    std::env::set_var("HTTP_PROXY", format!("http://127.0.0.1:{proxy}"));
    std::env::set_var("no_proxy", format!("example.invalid, 127.0.0.1:{target}"));
    let ws = WebSocket::builder(&format!("ws://localhost:{first}/"))
        .header("Proxy-Authorization", "Basic cHJveHk6cHc=")
        .max_redirects(1)
        .connect();
    // `no_proxy()` turns the environment off: a direct connection.
    let (direct, direct_seen) = ws_server();
    let direct_ws = WebSocket::builder(&format!("ws://localhost:{direct}/"))
        .no_proxy()
        .connect();
    std::env::remove_var("HTTP_PROXY");
    std::env::remove_var("no_proxy");
    echo_once(ws.unwrap());
    echo_once(direct_ws.unwrap());
    assert!(heads
        .recv_timeout(LIMIT)
        .unwrap()
        .starts_with(&format!("CONNECT localhost:{first} HTTP/1.1\r\n")));
    assert!(
        heads.recv_timeout(Duration::from_millis(200)).is_err(),
        "the proxy saw a second tunnel"
    );
    // Neither the redirect target nor the direct server saw the proxy's
    // credentials.
    assert_eq!(seen_by_target.recv_timeout(LIMIT).unwrap(), None);
    assert_eq!(direct_seen.recv_timeout(LIMIT).unwrap(), None);
}

#[cfg(not(any(feature = "tls", feature = "rustls")))]
#[test]
fn an_https_proxy_without_a_tls_feature_is_a_clear_error() {
    let (proxy, _) = serve(1, |_, tcp| drop(tcp));
    let err = WebSocket::builder("ws://ws.example/")
        .proxy(format!("https://127.0.0.1:{proxy}"))
        .connect()
        .unwrap_err();
    assert!(
        matches!(err, Error::Proxy(ProxyError::TlsNotEnabled)),
        "{err:?}"
    );
}
