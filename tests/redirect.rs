//! Client redirects: opt-in and bounded, http(s) locations mapped to
//! ws(s), loops detected, credentials kept only within one origin.

mod tls_support;

use std::net::TcpStream;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use stdws::{
    Accept, CloseCode, Config, Connection, Error, HandshakeError, ServerHandshake, WebSocket,
};
use tls_support::{serve, LIMIT};

/// What a server saw: the path and the credential-bearing fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Seen {
    path: String,
    authorization: Option<String>,
    proxy_authorization: Option<String>,
    cookie: Option<String>,
    trace: Option<String>,
}

/// Answers each request with `route(path)`: `Some((status, location))`
/// redirects, `None` accepts (then waits for the close).
fn server<S>(
    connections: usize,
    route: fn(&str) -> Option<(u16, String)>,
    stream: S,
) -> (u16, Receiver<Seen>)
where
    S: Fn(TcpStream) -> TcpStream + Send + 'static,
{
    serve(connections, move |_, tcp| {
        let pending = ServerHandshake::read(stream(tcp), Config::default()).unwrap();
        let req = pending.request();
        let field = |n: &str| req.headers.get(n).map(str::to_owned);
        let seen = Seen {
            path: req.resource().to_owned(),
            authorization: field("Authorization"),
            proxy_authorization: field("Proxy-Authorization"),
            cookie: field("Cookie"),
            trace: field("X-Trace"),
        };
        match route(req.resource()) {
            Some((status, location)) => {
                let page = format!(
                    "HTTP/1.1 {status} Moved\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                pending.respond(page.as_bytes()).unwrap();
            }
            None => {
                let mut conn = Connection::new(pending.accept(Accept::new()).unwrap());
                while let Ok(Some(_)) = conn.recv() {}
            }
        }
        seen
    })
}

fn plain(tcp: TcpStream) -> TcpStream {
    tcp
}

fn redirect_error(err: Error) -> String {
    match err {
        Error::Handshake(HandshakeError::Redirect(reason)) => reason,
        other => panic!("expected a redirect error, got {other:?}"),
    }
}

fn old_to_new(path: &str) -> Option<(u16, String)> {
    (path == "/old").then(|| (302, "/new".to_owned()))
}

#[test]
fn redirects_are_not_followed_by_default() {
    let (port, _) = server(1, old_to_new, plain);
    let err = WebSocket::connect(&format!("ws://127.0.0.1:{port}/old")).unwrap_err();
    let Error::Handshake(HandshakeError::UnexpectedStatus {
        status, headers, ..
    }) = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(status, 302);
    assert!(headers.contains(&("Location".into(), "/new".into())));
}

#[test]
fn each_redirect_status_is_followed() {
    fn route(path: &str) -> Option<(u16, String)> {
        let status: u16 = path.strip_prefix("/old/")?.parse().ok()?;
        Some((status, "/new".to_owned()))
    }
    for status in [301, 302, 303, 307, 308] {
        let (port, rx) = server(2, route, plain);
        let ws = WebSocket::builder(&format!("ws://127.0.0.1:{port}/old/{status}"))
            .max_redirects(1)
            .connect()
            .unwrap_or_else(|e| panic!("{status}: {e}"));
        Connection::new(ws).close(CloseCode::NORMAL, "").unwrap();
        let paths: Vec<String> = (0..2)
            .map(|_| rx.recv_timeout(LIMIT).unwrap().path)
            .collect();
        assert_eq!(paths, [format!("/old/{status}"), "/new".to_owned()]);
    }
    // 300 and 304 are not redirects to follow.
    fn not_followed(_: &str) -> Option<(u16, String)> {
        Some((300, "/new".to_owned()))
    }
    let (port, _) = server(1, not_followed, plain);
    let err = WebSocket::builder(&format!("ws://127.0.0.1:{port}/"))
        .max_redirects(5)
        .connect()
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Handshake(HandshakeError::UnexpectedStatus { status: 300, .. })
    ));
}

#[test]
fn http_location_is_followed_as_ws_and_relative_paths_resolve() {
    let (target, rx_target) = server(1, |_| None, plain);
    let (port, rx) = serve(2, move |i, tcp| {
        let pending = ServerHandshake::read(tcp, Config::default()).unwrap();
        let path = pending.request().resource().to_owned();
        let location = if i == 0 {
            "next?step=2".to_owned() // relative to /dir/
        } else {
            format!("http://127.0.0.1:{target}/final")
        };
        let page = format!(
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
        );
        pending.respond(page.as_bytes()).unwrap();
        path
    });
    let ws = WebSocket::builder(&format!("ws://127.0.0.1:{port}/dir/start"))
        .max_redirects(2)
        .connect()
        .unwrap();
    Connection::new(ws).close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(rx.recv_timeout(LIMIT).unwrap(), "/dir/start");
    assert_eq!(rx.recv_timeout(LIMIT).unwrap(), "/dir/next?step=2");
    assert_eq!(rx_target.recv_timeout(LIMIT).unwrap().path, "/final");
}

#[test]
fn a_loop_is_detected() {
    fn ping_pong(path: &str) -> Option<(u16, String)> {
        Some((302, if path == "/a" { "/b" } else { "/a" }.to_owned()))
    }
    let (port, _) = server(3, ping_pong, plain);
    let err = WebSocket::builder(&format!("ws://127.0.0.1:{port}/a"))
        .max_redirects(10)
        .connect()
        .unwrap_err();
    assert_eq!(
        redirect_error(err),
        format!("loop: ws://127.0.0.1:{port}/a seen twice")
    );
}

#[test]
fn the_maximum_is_enforced() {
    fn onwards(path: &str) -> Option<(u16, String)> {
        let n: u32 = path.trim_start_matches('/').parse().unwrap();
        Some((302, format!("/{}", n + 1)))
    }
    let (port, rx) = server(3, onwards, plain);
    let err = WebSocket::builder(&format!("ws://127.0.0.1:{port}/0"))
        .max_redirects(2)
        .connect()
        .unwrap_err();
    assert_eq!(redirect_error(err), "more than 2 redirects");
    let paths: Vec<String> = (0..3)
        .map(|_| rx.recv_timeout(LIMIT).unwrap().path)
        .collect();
    assert_eq!(paths, ["/0", "/1", "/2"]);
}

#[test]
fn unsupported_or_missing_locations_are_errors() {
    fn ftp(_: &str) -> Option<(u16, String)> {
        Some((301, "ftp://127.0.0.1/".to_owned()))
    }
    let (port, _) = server(1, ftp, plain);
    let err = WebSocket::builder(&format!("ws://127.0.0.1:{port}/"))
        .max_redirects(3)
        .connect()
        .unwrap_err();
    assert_eq!(
        redirect_error(err),
        "cannot follow \"ftp://127.0.0.1/\": unsupported scheme \"ftp\""
    );

    let (port, _) = serve(1, |_, tcp| {
        let pending = ServerHandshake::read(tcp, Config::default()).unwrap();
        pending
            .respond(b"HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
    });
    let err = WebSocket::builder(&format!("ws://127.0.0.1:{port}/"))
        .max_redirects(3)
        .connect()
        .unwrap_err();
    assert_eq!(redirect_error(err), "302 without Location");
}

#[test]
fn same_origin_redirect_keeps_authorization_and_cookie() {
    let (port, rx) = server(2, old_to_new, plain);
    let ws = WebSocket::builder(&format!("ws://127.0.0.1:{port}/old"))
        .header("Authorization", "Bearer abc")
        .header("Cookie", "session=1")
        .max_redirects(1)
        .connect()
        .unwrap();
    Connection::new(ws).close(CloseCode::NORMAL, "").unwrap();
    rx.recv_timeout(LIMIT).unwrap();
    let second = rx.recv_timeout(LIMIT).unwrap();
    assert_eq!(second.authorization.as_deref(), Some("Bearer abc"));
    assert_eq!(second.cookie.as_deref(), Some("session=1"));
}

#[test]
fn cross_origin_redirect_drops_authorization_proxy_authorization_and_cookie() {
    let (target, rx_target) = server(1, |_| None, plain);
    let (port, _rx) = serve(1, move |_, tcp| {
        let pending = ServerHandshake::read(tcp, Config::default()).unwrap();
        // Another port on the same host is another origin.
        let page = format!("HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:{target}/x\r\n\r\n");
        pending.respond(page.as_bytes()).unwrap();
    });
    let ws = WebSocket::builder(&format!("ws://127.0.0.1:{port}/"))
        .header("Authorization", "Bearer abc")
        .header("Proxy-Authorization", "Basic cHJveHk6cHc=")
        .header("cookie", "session=1")
        .header("X-Trace", "kept")
        .max_redirects(1)
        .connect()
        .unwrap();
    Connection::new(ws).close(CloseCode::NORMAL, "").unwrap();
    let seen = rx_target.recv_timeout(LIMIT).unwrap();
    assert_eq!(
        seen,
        Seen {
            path: "/x".into(),
            trace: Some("kept".into()),
            ..Seen::default()
        }
    );
}

#[test]
fn userinfo_credentials_do_not_follow_a_cross_origin_redirect() {
    // The target asks for Basic credentials: the client has none for it.
    let basic = stdws::handshake::auth::Authenticator::basic("x", |_| Some("pw".into()));
    let (target, rx_target) = serve(1, move |_, tcp| {
        let pending = ServerHandshake::read(tcp, Config::default()).unwrap();
        let authorization = pending
            .request()
            .headers
            .get("Authorization")
            .map(str::to_owned);
        let reject = basic.check(pending.request()).unwrap_err();
        pending.reject(reject);
        authorization
    });
    let (port, _rx) = serve(1, move |_, tcp| {
        let pending = ServerHandshake::read(tcp, Config::default()).unwrap();
        let page = format!("HTTP/1.1 302 Found\r\nLocation: ws://localhost:{target}/\r\n\r\n");
        pending.respond(page.as_bytes()).unwrap();
    });
    let err = WebSocket::builder(&format!("ws://alice:pw@127.0.0.1:{port}/"))
        .max_redirects(1)
        .connect()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Handshake(HandshakeError::UnexpectedStatus { status: 401, .. })
        ),
        "{err:?}"
    );
    assert_eq!(rx_target.recv_timeout(LIMIT).unwrap(), None);
    // No second try at the target.
    assert!(rx_target.recv_timeout(Duration::from_millis(300)).is_err());
}

#[cfg(any(feature = "tls", feature = "rustls"))]
mod over_tls {
    use super::*;
    use std::time::Instant;
    use stdws::tls::{Identity, TlsAcceptor, TlsConnector};
    use stdws::MaybeTlsStream;
    use tls_support::certs::TestCa;

    /// One port speaking TLS and plain TCP (told apart by the first byte,
    /// 0x16 for a TLS handshake record), so that `wss://h:p` and `ws://h:p`
    /// differ only in the scheme.
    fn dual_server(
        connections: usize,
        ca: &TestCa,
        route: fn(bool, &str) -> Option<String>,
    ) -> (u16, Receiver<(bool, Seen)>) {
        let leaf = ca.server(&["localhost"]);
        let acceptor = TlsAcceptor::builder(Identity::from_pem(
            leaf.chain_pem.as_bytes(),
            leaf.key_pem.as_bytes(),
        ))
        .build()
        .unwrap();
        serve(connections, move |_, tcp| {
            let mut first = [0u8; 1];
            tcp.peek(&mut first).unwrap();
            let secure = first[0] == 0x16;
            let stream = if secure {
                MaybeTlsStream::Tls(acceptor.accept(tcp, Instant::now() + LIMIT).unwrap())
            } else {
                MaybeTlsStream::Plain(tcp)
            };
            let pending = ServerHandshake::read(stream, Config::default()).unwrap();
            let req = pending.request();
            let seen = Seen {
                path: req.resource().to_owned(),
                authorization: req.headers.get("Authorization").map(str::to_owned),
                cookie: req.headers.get("Cookie").map(str::to_owned),
                ..Seen::default()
            };
            match route(secure, req.resource()) {
                Some(location) => {
                    let page = format!("HTTP/1.1 301 Moved\r\nLocation: {location}\r\n\r\n");
                    pending.respond(page.as_bytes()).unwrap();
                }
                None => {
                    let mut conn = Connection::new(pending.accept(Accept::new()).unwrap());
                    while let Ok(Some(_)) = conn.recv() {}
                }
            }
            (secure, seen)
        })
    }

    fn trusting(ca: &TestCa) -> TlsConnector {
        TlsConnector::new()
            .system_roots(false)
            .add_root_pem(ca.cert_pem.as_bytes())
    }

    #[test]
    fn https_location_is_followed_as_wss() {
        let ca = TestCa::new("redirect CA");
        // The port is only known once bound, so the first path carries it.
        let (port, rx) = dual_server(2, &ca, |secure, path| {
            (!secure).then(|| format!("https://localhost:{}/secure", &path[1..]))
        });
        let ws = WebSocket::builder(&format!("ws://localhost:{port}/{port}"))
            .tls(trusting(&ca))
            .header("Authorization", "Bearer abc")
            .max_redirects(1)
            .connect()
            .unwrap();
        assert!(matches!(ws.get_ref(), MaybeTlsStream::Tls(_)));
        Connection::new(ws).close(CloseCode::NORMAL, "").unwrap();
        let (first_secure, _) = rx.recv_timeout(LIMIT).unwrap();
        let (secure, seen) = rx.recv_timeout(LIMIT).unwrap();
        assert!(!first_secure && secure);
        assert_eq!(seen.path, "/secure");
        // ws → wss on the same host and port is an upgrade: kept.
        assert_eq!(seen.authorization.as_deref(), Some("Bearer abc"));
    }

    #[test]
    fn wss_to_ws_downgrade_drops_authorization_and_cookie() {
        let ca = TestCa::new("redirect CA");
        let (port, rx) = dual_server(2, &ca, |secure, path| {
            secure.then(|| format!("ws://localhost:{}/plain", &path[1..]))
        });
        let ws = WebSocket::builder(&format!("wss://localhost:{port}/{port}"))
            .tls(trusting(&ca))
            .header("Authorization", "Bearer abc")
            .header("Cookie", "session=1")
            .max_redirects(1)
            .connect()
            .unwrap();
        Connection::new(ws).close(CloseCode::NORMAL, "").unwrap();
        let (_, first) = rx.recv_timeout(LIMIT).unwrap();
        assert_eq!(first.authorization.as_deref(), Some("Bearer abc"));
        let (secure, seen) = rx.recv_timeout(LIMIT).unwrap();
        assert!(!secure);
        assert_eq!(
            (seen.path.as_str(), seen.authorization, seen.cookie),
            ("/plain", None, None)
        );
    }
}
