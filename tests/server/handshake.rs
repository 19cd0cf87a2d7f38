//! What the server answers before a connection is open: routes (404,
//! 426), the handshake hook, origins (403), the connection cap (503), the
//! handshake deadline (408), and the console and static files.

use super::*;

#[test]
fn unknown_path_is_404_and_a_plain_get_to_a_websocket_path_is_426() {
    let (handler, _events) = recorder(true);
    let server = Server::builder()
        .route("/echo", handler)
        .bind("127.0.0.1:0")
        .unwrap();
    let url = format!("ws://{}/nowhere", server.local_addr());
    assert_eq!(status_of(WebSocket::connect(&url)).0, 404);
    assert_eq!(get(server.local_addr(), "/echo").0, 426);
    assert_eq!(
        get(server.local_addr(), "/").0,
        404,
        "no console unless asked"
    );
}

/// Accepts `/room?key=open` only; picks `chat.v2` when offered.
struct Guarded;

impl Handler for Guarded {
    fn handshake(&self, request: &Request) -> Result<Admission, Reject> {
        if request.query() != Some("key=open") {
            return Err(Reject::new(401, "key required").header("WWW-Authenticate", "Key"));
        }
        let mut admission = Admission::new()
            .header("X-Room", "lobby")
            .data(String::from("member"));
        if request.protocols().contains(&"chat.v2") {
            admission = admission.protocol("chat.v2");
        }
        Ok(admission)
    }

    fn on_open(&self, client: &Client) -> Result<(), Error> {
        let role = client.data::<String>().cloned().unwrap_or_default();
        client.send(Message::Text(format!(
            "{role} {}",
            client.protocol().unwrap_or("-")
        )))
    }
}

#[test]
fn handshake_hook_rejects_with_its_status_and_headers() {
    let server = Server::builder()
        .route("/room", Guarded)
        .bind("127.0.0.1:0")
        .unwrap();
    let url = format!("ws://{}/room?key=wrong", server.local_addr());
    let (status, headers) = status_of(WebSocket::connect(&url));
    assert_eq!(status, 401);
    assert!(headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("www-authenticate") && v == "Key"));
}

#[test]
fn handshake_hook_chooses_the_subprotocol_and_attaches_data() {
    let server = Server::builder()
        .route("/room", Guarded)
        .bind("127.0.0.1:0")
        .unwrap();
    let ws = WebSocket::builder(&format!("ws://{}/room?key=open", server.local_addr()))
        .protocol("chat.v1")
        .protocol("chat.v2")
        .config(client_config())
        .connect()
        .unwrap();
    assert_eq!(ws.protocol(), Some("chat.v2"));
    assert_eq!(ws.response().unwrap().headers.get("X-Room"), Some("lobby"));
    let mut conn = Connection::new(ws);
    assert_eq!(
        conn.recv().unwrap(),
        Some(Message::Text("member chat.v2".into()))
    );
}

#[test]
fn origin_off_the_allow_list_is_403() {
    let (handler, _events) = recorder(true);
    let server = Server::builder()
        .route("/echo", handler)
        .allowed_origins(["http://good.example"])
        .bind("127.0.0.1:0")
        .unwrap();
    let url = format!("ws://{}/echo", server.local_addr());
    let evil = WebSocket::builder(&url)
        .origin("http://evil.example")
        .connect();
    assert_eq!(status_of(evil).0, 403);
    let good = WebSocket::builder(&url)
        .origin("http://good.example")
        .connect();
    assert!(good.is_ok());
}

#[test]
fn connections_over_max_connections_get_503() {
    let (handler, _events) = recorder(true);
    let server = Server::builder()
        .config(Config::default().max_connections(2))
        .route("/echo", handler)
        .bind("127.0.0.1:0")
        .unwrap();
    let _a = connect(&server, "/echo");
    let _b = connect(&server, "/echo");
    let url = format!("ws://{}/echo", server.local_addr());
    let (status, headers) = status_of(WebSocket::connect(&url));
    assert_eq!(status, 503);
    assert!(headers.iter().any(|(n, _)| n == "Retry-After"));
    drop(_a);
    // The slot frees up once the first connection's thread is done.
    let deadline = Instant::now() + WAIT;
    while server.connections() >= 2 {
        assert!(Instant::now() < deadline, "connection never ended");
        thread::sleep(Duration::from_millis(10));
    }
    assert!(WebSocket::connect(&url).is_ok());
}

#[test]
fn a_silent_connection_gets_408_at_the_handshake_deadline() {
    let (handler, _events) = recorder(true);
    let server = Server::builder()
        .config(Config::default().handshake_timeout(Duration::from_millis(300)))
        .route("/echo", handler)
        .bind("127.0.0.1:0")
        .unwrap();
    let mut tcp = TcpStream::connect(server.local_addr()).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    tcp.write_all(b"GET /echo HTTP/1.1\r\n").unwrap();
    let started = Instant::now();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn console_and_files_are_served_with_their_types_and_traversal_is_refused() {
    let base = std::env::temp_dir().join(format!("stdws-server-files-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(base.join("www")).unwrap();
    std::fs::write(base.join("www/app.js"), "let x = 1;").unwrap();
    std::fs::write(base.join("www/logo.png"), [0x89, b'P', b'N', b'G']).unwrap();
    std::fs::write(base.join("secret.txt"), "secret").unwrap();
    std::os::unix::fs::symlink(base.join("secret.txt"), base.join("www/escape.txt")).unwrap();
    let (handler, _events) = recorder(true);
    let server = Server::builder()
        .route("/echo", handler)
        .document_root(base.join("www"))
        .console(true)
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = server.local_addr();

    let (status, head, body) = get(addr, "/");
    assert_eq!(status, 200);
    assert!(head.contains("Content-Type: text/html; charset=utf-8\r\n"));
    assert!(String::from_utf8(body).unwrap().contains("selftest"));

    let (status, head, body) = get(addr, "/app.js");
    assert_eq!(status, 200);
    assert!(head.contains("Content-Type: text/javascript; charset=utf-8\r\n"));
    assert!(head.contains("Content-Length: 10\r\n"));
    assert_eq!(body, b"let x = 1;");
    let (status, head, body) = http(addr, "HEAD /logo.png HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, 200);
    assert!(head.contains("Content-Type: image/png\r\nContent-Length: 4\r\n"));
    assert!(body.is_empty(), "HEAD has no body");

    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/..%2fsecret.txt",
        "/..%5csecret.txt",
    ] {
        let (status, _, body) = get(addr, path);
        assert_eq!(status, 404, "{path}");
        assert!(!String::from_utf8_lossy(&body).contains("secret\n"));
    }
    let (status, _, body) = get(addr, "/escape.txt");
    assert_eq!(status, 403, "a symlink out of the root");
    assert_ne!(body, b"secret");
    let (status, head, _) = http(addr, "POST /app.js HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, 405);
    assert!(head.contains("Allow: GET, HEAD\r\n"));
    let _ = std::fs::remove_dir_all(&base);
}
