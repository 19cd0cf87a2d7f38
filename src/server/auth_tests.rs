//! HTTP authentication through the [`Server`]: one authenticator guards
//! WebSocket upgrades, static files and the console alike, and answers
//! every failure (missing, wrong, expired, replayed) with 401.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;
use std::time::Duration;

use super::{Admission, Client, Handler, Server};
use crate::error::Error;
use crate::handshake::auth::{answer, is_stale, parse_challenges, Authenticator, ClientScheme};
use crate::handshake::server::{Reject, Request};

const WAIT: Duration = Duration::from_secs(10);

/// Reports the user of every client opened.
struct Users(Mutex<Sender<Option<String>>>);

impl Handler for Users {
    fn on_open(&self, client: &Client) -> Result<(), Error> {
        let _ = self
            .0
            .lock()
            .unwrap()
            .send(client.user().map(str::to_owned));
        Ok(())
    }
}

fn alice(user: &str) -> Option<String> {
    (user == "alice").then(|| "wonder land".to_owned())
}

/// A server with `auth`, a WebSocket route `/echo`, the console at `/`
/// and a document root holding `a.txt` ("a").
fn server(auth: Authenticator, name: &str) -> (Server, Receiver<Option<String>>) {
    let root: PathBuf =
        std::env::temp_dir().join(format!("stdws-auth-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("a.txt"), "a").unwrap();
    let (tx, rx) = channel();
    let server = Server::builder()
        .authenticator(auth)
        .route("/echo", Users(Mutex::new(tx)))
        .document_root(&root)
        .console(true)
        .bind("127.0.0.1:0")
        .unwrap();
    (server, rx)
}

/// A request for `target`: an upgrade for `/echo`, a plain GET otherwise.
fn request(target: &str, authorization: Option<&str>) -> String {
    let mut text = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n");
    if target == "/echo" {
        text.push_str(
            "Upgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
        );
    }
    if let Some(a) = authorization {
        text.push_str(&format!("Authorization: {a}\r\n"));
    }
    text.push_str("\r\n");
    text
}

/// The server's answer: status, head and body (none after a 101).
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn challenges(&self) -> Vec<crate::handshake::auth::Challenge> {
        parse_challenges(
            self.head
                .lines()
                .filter_map(|l| l.strip_prefix("WWW-Authenticate: ")),
        )
    }
}

fn exchange(addr: SocketAddr, request: &str) -> Answer {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    tcp.write_all(request.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(tcp.read(&mut byte).unwrap(), 1, "closed in the head");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let status = head[9..12].parse().unwrap();
    let mut body = String::new();
    if status != 101 {
        tcp.read_to_string(&mut body).unwrap();
    }
    Answer { status, head, body }
}

/// The status a successful request for `target` gets.
fn success(target: &str) -> u16 {
    if target == "/echo" {
        101
    } else {
        200
    }
}

const TARGETS: [&str; 3] = ["/echo", "/a.txt", "/"];

#[test]
fn basic_guards_upgrades_files_and_the_console_alike() {
    let (server, users) = server(Authenticator::basic("site", alice), "basic");
    let addr = server.local_addr();
    let basic = |pair: &str| {
        use base64::Engine as _;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    };
    for target in TARGETS {
        let none = exchange(addr, &request(target, None));
        assert_eq!(none.status, 401, "{target}");
        assert!(
            none.head
                .contains("\r\nWWW-Authenticate: Basic realm=\"site\", charset=\"UTF-8\"\r\n"),
            "{target}: {}",
            none.head
        );
        assert_eq!(none.body, "401 Unauthorized: authentication required\n");
        for wrong in ["alice:wonder", "bob:wonder land"] {
            let refused = exchange(addr, &request(target, Some(&basic(wrong))));
            assert_eq!(refused.status, 401, "{target} {wrong}");
            assert_eq!(
                refused.body,
                "401 Unauthorized: wrong user name or password\n"
            );
        }
        let ok = exchange(addr, &request(target, Some(&basic("alice:wonder land"))));
        assert_eq!(ok.status, success(target), "{target}: {}", ok.head);
        match target {
            "/echo" => assert_eq!(users.recv_timeout(WAIT).unwrap().as_deref(), Some("alice")),
            "/a.txt" => assert_eq!(ok.body, "a"),
            _ => assert!(ok.body.contains("<html"), "the console page"),
        }
    }
    // Authentication comes first: a stranger cannot tell which paths exist.
    assert_eq!(exchange(addr, &request("/missing", None)).status, 401);
    let found = exchange(
        addr,
        &request("/missing", Some(&basic("alice:wonder land"))),
    );
    assert_eq!(found.status, 404);
}

/// Lets only alice through its handshake hook.
struct OnlyAlice;

impl Handler for OnlyAlice {
    fn handshake(&self, request: &Request) -> Result<Admission, Reject> {
        match request.user() {
            Some("alice") => Ok(Admission::new()),
            Some(other) => Err(Reject::new(403, format!("not for {other}"))),
            None => Err(Reject::new(500, "no user in the hook")),
        }
    }
}

#[test]
fn the_handshake_hook_sees_the_authenticated_user() {
    let users = |user: &str| match user {
        "alice" | "bob" => Some(format!("{user} pw")),
        _ => None,
    };
    let server = Server::builder()
        .authenticator(Authenticator::basic("site", users))
        .route("/echo", OnlyAlice)
        .bind("127.0.0.1:0")
        .unwrap();
    let basic = |pair: &str| {
        use base64::Engine as _;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    };
    let addr = server.local_addr();
    let alice = exchange(addr, &request("/echo", Some(&basic("alice:alice pw"))));
    assert_eq!(alice.status, 101, "{}", alice.head);
    let bob = exchange(addr, &request("/echo", Some(&basic("bob:bob pw"))));
    assert_eq!(bob.status, 403, "{}", bob.head);
    assert_eq!(bob.body, "403 Forbidden: not for bob\n");
}

#[test]
fn digest_accepts_once_per_nonce_count_and_refuses_a_wrong_password() {
    let (server, users) = server(Authenticator::digest("site", alice), "digest");
    let addr = server.local_addr();
    for target in TARGETS {
        let challenge = exchange(addr, &request(target, None));
        assert_eq!(challenge.status, 401);
        let challenges = challenge.challenges();
        // SHA-256 offered first, then MD5, with one nonce.
        assert_eq!(challenges.len(), 2, "{}", challenge.head);
        assert!(!is_stale(&challenges));
        let (scheme, wrong) = answer(&challenges, &[], "alice", "wonder", target).unwrap();
        assert_eq!(scheme, ClientScheme::Digest);
        let refused = exchange(addr, &request(target, Some(&wrong)));
        assert_eq!(refused.status, 401, "{target}");
        assert_eq!(
            refused.body,
            "401 Unauthorized: wrong user name or password\n"
        );
        assert!(!is_stale(&refused.challenges()));
        let (_, right) = answer(&challenges, &[], "alice", "wonder land", target).unwrap();
        assert!(right.contains("algorithm=SHA-256"), "{right}");
        let ok = exchange(addr, &request(target, Some(&right)));
        assert_eq!(ok.status, success(target), "{target}: {}", ok.body);
        if target == "/echo" {
            assert_eq!(users.recv_timeout(WAIT).unwrap().as_deref(), Some("alice"));
        }
        // The same nonce count again is a replay (RFC 7616 §3.4.5).
        let replayed = exchange(addr, &request(target, Some(&right)));
        assert_eq!(replayed.status, 401, "{target}");
        assert_eq!(
            replayed.body,
            "401 Unauthorized: Digest nonce count replayed\n"
        );
    }
}

#[test]
fn digest_with_an_expired_nonce_is_told_stale() {
    let auth = Authenticator::digest("site", alice).nonce_lifetime(Duration::ZERO);
    let (server, users) = server(auth, "stale");
    let addr = server.local_addr();
    for target in TARGETS {
        let challenges = exchange(addr, &request(target, None)).challenges();
        std::thread::sleep(Duration::from_millis(5));
        let (_, late) = answer(&challenges, &[], "alice", "wonder land", target).unwrap();
        let stale = exchange(addr, &request(target, Some(&late)));
        assert_eq!(stale.status, 401, "{target}");
        assert_eq!(stale.body, "401 Unauthorized: Digest nonce expired\n");
        // Right password, old nonce: the client may retry without asking
        // the user again.
        assert!(is_stale(&stale.challenges()), "{}", stale.head);
    }
    assert!(users.try_recv().is_err(), "nobody got in");
}
