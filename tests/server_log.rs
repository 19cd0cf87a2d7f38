//! The server logs each connection by itself (target `stdws::server`),
//! whatever its handler overrides: accepted, refused with its HTTP status,
//! opened, closed with its code and duration. A test logger captures the
//! lines (one test per binary: the logger is process-wide).

mod support;

use std::io::Write;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use log::{Level, Log, Metadata, Record};
use stdws::{Admission, Client, CloseCode, CloseFrame, Connection, Error, Handler, Message};
use stdws::{MaybeTlsStream, Reject, Request, Server};
use support::{raw_handshake, upgrade_request};

/// Every line logged, with its level and target.
struct Capture(Mutex<Vec<(Level, String, String)>>);

impl Log for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &Record<'_>) {
        let line = (
            record.level(),
            record.target().to_owned(),
            record.args().to_string(),
        );
        self.0.lock().unwrap().push(line);
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

/// Overrides every method, and logs nothing itself.
struct Everything;

impl Handler for Everything {
    fn handshake(&self, request: &Request) -> Result<Admission, Reject> {
        match request.query() {
            Some("deny") => Err(Reject::new(403, "denied by the hook")),
            _ => Ok(Admission::new()),
        }
    }
    fn on_open(&self, _: &Client) -> Result<(), Error> {
        Ok(())
    }
    fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
        client.send(message)
    }
    fn on_ping(&self, _: &Client, _: &[u8]) -> Result<(), Error> {
        Ok(())
    }
    fn on_pong(&self, _: &Client, _: &[u8]) -> Result<(), Error> {
        Ok(())
    }
    fn passive_close(&self, _: &Client, frame: Option<&CloseFrame>) -> Option<CloseFrame> {
        frame.cloned()
    }
    fn on_close(&self, _: &Client, _: CloseCode, _: &str) {}
    fn on_error(&self, _: &Client, _: &Error) {}
}

/// The empty handler: every default.
struct Defaults;

impl Handler for Defaults {}

/// The captured lines about one peer (each line starts with the peer's
/// address).
fn lines_about(peer: &str) -> Vec<(Level, String, String)> {
    CAPTURE
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, _, text)| text.starts_with(peer))
        .cloned()
        .collect()
}

/// Waits (bounded) until a line about `peer` contains `needle`.
fn wait_for(peer: &str, needle: &str) -> (Level, String, String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(line) = lines_about(peer).into_iter().find(|l| l.2.contains(needle)) {
            return line;
        }
        assert!(
            Instant::now() < deadline,
            "no line with {needle:?} about {peer}: {:?}",
            lines_about(peer)
        );
        thread::sleep(Duration::from_millis(10));
    }
}

/// The client's own address: the peer address the server logs.
fn local_addr(conn: &Connection<MaybeTlsStream>) -> String {
    match conn.get_ref() {
        MaybeTlsStream::Plain(tcp) => tcp.local_addr().unwrap().to_string(),
        #[allow(unreachable_patterns)]
        _ => unreachable!("ws:// is plain TCP"),
    }
}

#[test]
fn server_logs_accepted_refused_opened_and_closed_whatever_the_handler_overrides() {
    log::set_logger(&CAPTURE).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
    let server = Server::builder()
        .route("/all", Everything)
        .route("/defaults", Defaults)
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = server.local_addr();

    // Opened and closed, with code, reason and duration.
    let mut conn = Connection::connect(&format!("ws://{addr}/all?token=secret")).unwrap();
    let me = local_addr(&conn);
    conn.send(Message::Text("hi".into())).unwrap();
    assert_eq!(conn.recv().unwrap(), Some(Message::Text("hi".into())));
    conn.close(CloseCode::NORMAL, "bye").unwrap();
    let (level, target, text) = wait_for(&me, "closed");
    assert_eq!((level, target.as_str()), (Level::Info, "stdws::server"));
    assert!(
        text.starts_with(&format!("{me} /all: closed 1000 \"bye\" after ")),
        "{text}"
    );
    let (level, _, text) = wait_for(&me, "opened");
    assert_eq!(level, Level::Info);
    assert!(
        text.starts_with(&format!("{me} /all: opened (client ")),
        "{text}"
    );
    assert_eq!(wait_for(&me, "accepted").0, Level::Debug);
    assert_eq!(wait_for(&me, "text message of 2 bytes").0, Level::Trace);
    // The query (a token here) is never logged.
    assert!(!lines_about(&me).iter().any(|l| l.2.contains("secret")));

    // Refused by the server (404) and by the handler's hook (403), with
    // the status answered.
    for (path, status) in [("/nowhere", "404"), ("/all?deny", "403")] {
        let (stream, head) = raw_handshake(addr, &upgrade_request(addr, path));
        assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
        let peer = stream.local_addr().unwrap().to_string();
        let (level, target, text) = wait_for(&peer, "refused");
        assert_eq!((level, target.as_str()), (Level::Info, "stdws::server"));
        let bare = path.split('?').next().unwrap();
        assert!(
            text.starts_with(&format!("{peer} {bare}: refused {status}: ")),
            "{text}"
        );
    }
    // A wrong version: 426.
    let request = upgrade_request(addr, "/all").replace("Version: 13", "Version: 8");
    let (stream, head) = raw_handshake(addr, &request);
    assert!(head.starts_with("HTTP/1.1 426 "), "{head}");
    let peer = stream.local_addr().unwrap().to_string();
    assert_eq!(wait_for(&peer, "refused 426").0, Level::Info);

    // A TLS ClientHello on this plain port: refused 400, naming TLS.
    let mut hello = std::net::TcpStream::connect(addr).unwrap();
    hello
        .write_all(&[
            0x16, 0x03, 0x01, 0x00, 0xf4, 0x01, 0x00, 0x00, 0xf0, 0x03, 0x03,
        ])
        .unwrap();
    let peer = hello.local_addr().unwrap().to_string();
    let (level, _, text) = wait_for(&peer, "refused");
    assert_eq!(level, Level::Info);
    assert_eq!(
        text,
        format!(
            "{peer} -: refused 400: TLS handshake on a plain ws:// port (the client wants wss://)"
        )
    );

    // The empty handler: messages are not logged above TRACE.
    let mut conn = Connection::connect(&format!("ws://{addr}/defaults")).unwrap();
    let quiet = local_addr(&conn);
    for _ in 0..3 {
        conn.send(Message::Binary(vec![1, 2, 3])).unwrap();
    }
    conn.close(CloseCode::GOING_AWAY, "").unwrap();
    wait_for(&quiet, "closed 1001");
    let lines = lines_about(&quiet);
    let loud: Vec<_> = lines.iter().filter(|l| l.0 <= Level::Info).collect();
    assert_eq!(loud.len(), 2, "one line opened, one closed: {loud:?}");
    let messages: Vec<_> = lines.iter().filter(|l| l.2.contains("message")).collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(messages.iter().all(|l| l.0 == Level::Trace), "{messages:?}");
    drop(server);
}
