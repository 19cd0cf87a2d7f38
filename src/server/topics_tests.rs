//! Topics over loopback: who a publish reaches, leaving on close, the
//! sender left out, one encoding for every subscriber, and a slow
//! subscriber handled as in a broadcast.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Admission, Client, Handler, Server};
use crate::close_code::CloseCode;
use crate::config::Config;
use crate::connection::Connection;
use crate::error::Error;
use crate::handshake::server::{Reject, Request};
use crate::maybe_tls::MaybeTlsStream;
use crate::message::Message;
use crate::prepared::ENCODED;
use crate::websocket::WebSocket;

const WAIT: Duration = Duration::from_secs(10);

pub(super) enum Seen {
    Open(Client),
    Close(u16),
}

/// Subscribes each client to the topics in its query (`?a,b`) at the
/// handshake; reports opens and closes.
pub(super) struct Subscriber(pub(super) Mutex<Sender<Seen>>);

impl Handler for Subscriber {
    fn handshake(&self, request: &Request) -> Result<Admission, Reject> {
        let topics = request.query().unwrap_or("").split(',');
        Ok(topics
            .filter(|t| !t.is_empty())
            .fold(Admission::new(), |a, t| a.subscribe(t)))
    }
    fn on_open(&self, client: &Client) -> Result<(), Error> {
        let _ = self.0.lock().unwrap().send(Seen::Open(client.clone()));
        Ok(())
    }
    fn on_close(&self, _: &Client, code: CloseCode, _: &str) {
        let _ = self.0.lock().unwrap().send(Seen::Close(code.0));
    }
}

fn server(config: Config) -> (Server, Receiver<Seen>) {
    let (tx, rx) = channel();
    let server = Server::builder()
        .config(config)
        .route("/t", Subscriber(Mutex::new(tx)))
        .bind("127.0.0.1:0")
        .unwrap();
    (server, rx)
}

/// How long a client waits before it takes it that nothing comes.
const QUIET: Duration = Duration::from_millis(300);

/// A client on `/t?topics` and its server-side handle.
pub(super) fn join(
    server: &Server,
    events: &Receiver<Seen>,
    topics: &str,
) -> (Connection<MaybeTlsStream>, Client) {
    join_waiting(server, events, topics, QUIET)
}

fn join_waiting(
    server: &Server,
    events: &Receiver<Seen>,
    topics: &str,
    read_timeout: Duration,
) -> (Connection<MaybeTlsStream>, Client) {
    let ws = WebSocket::builder(&format!("ws://{}/t?{topics}", server.local_addr()))
        .config(Config::default().read_timeout(Some(read_timeout)))
        .connect()
        .unwrap();
    match events.recv_timeout(WAIT) {
        Ok(Seen::Open(client)) => (Connection::new(ws), client),
        _ => panic!("no open"),
    }
}

/// The next message, or None when nothing comes within the read timeout.
pub(super) fn next(conn: &mut Connection<MaybeTlsStream>) -> Option<Message> {
    match conn.recv() {
        Ok(m) => m,
        Err(e) if e.is_timeout() => None,
        Err(e) => panic!("{e}"),
    }
}

pub(super) fn text(s: &str) -> Message {
    Message::Text(s.into())
}

#[test]
fn a_publish_reaches_the_subscribers_of_its_topic_only_until_they_unsubscribe() {
    let (server, events) = server(Config::default());
    let (mut news, news_client) = join(&server, &events, "news");
    let (mut both, both_client) = join(&server, &events, "news,sport");
    let (mut none, none_client) = join(&server, &events, "");
    assert_eq!(news_client.topics(), ["news"]);
    assert_eq!(both_client.topics(), ["news", "sport"]);
    assert_eq!(server.clients().topics().len(), 2);

    assert_eq!(server.publish("news", &text("n1")), 2);
    assert_eq!(server.publish("sport", &text("s1")), 1);
    assert_eq!(server.publish("weather", &text("w1")), 0);
    assert_eq!(next(&mut news), Some(text("n1")));
    assert_eq!(next(&mut both), Some(text("n1")));
    assert_eq!(next(&mut both), Some(text("s1")));
    assert_eq!(next(&mut none), None);
    assert_eq!(next(&mut news), None);

    assert!(none_client.subscribe("sport").unwrap());
    assert!(!none_client.subscribe("sport").unwrap());
    assert!(both_client.unsubscribe("sport"));
    assert!(!both_client.unsubscribe("sport"));
    assert_eq!(server.publish("sport", &text("s2")), 1);
    assert_eq!(next(&mut none), Some(text("s2")));
    assert_eq!(next(&mut both), None);
    assert!(none_client.subscribe("").is_err());
    assert!(none_client.subscribe(&"x".repeat(257)).is_err());
}

#[test]
fn a_client_that_closes_leaves_every_topic_and_cannot_subscribe_again() {
    let (server, events) = server(Config::default());
    let (mut gone, gone_client) = join(&server, &events, "a,b");
    let (_stay, _stay_client) = join(&server, &events, "b");
    gone.close(CloseCode::NORMAL, "").unwrap();
    while gone.recv().is_ok_and(|m| m.is_some()) {}
    let deadline = Instant::now() + WAIT;
    while !matches!(events.recv_timeout(WAIT), Ok(Seen::Close(1000))) {
        assert!(Instant::now() < deadline, "no close");
    }
    assert_eq!(gone_client.topics(), Vec::<String>::new());
    assert_eq!(server.clients().topics(), ["b"]);
    assert_eq!(server.publish("a", &text("x")), 0);
    assert_eq!(server.publish("b", &text("x")), 1);
    assert!(matches!(gone_client.subscribe("c"), Err(Error::Closed)));
    assert_eq!(server.clients().topics(), ["b"]);
}

#[test]
fn a_client_publishing_leaves_itself_out_and_publish_except_leaves_out_whom_it_names() {
    let (server, events) = server(Config::default());
    let (mut a, a_client) = join(&server, &events, "room");
    let (mut b, b_client) = join(&server, &events, "room");
    assert_eq!(a_client.publish("room", &text("from a")), 1);
    assert_eq!(next(&mut b), Some(text("from a")));
    assert_eq!(next(&mut a), None);
    let clients = server.clients();
    assert_eq!(
        clients.publish_except("room", &text("not b"), b_client.id()),
        1
    );
    assert_eq!(next(&mut a), Some(text("not b")));
    assert_eq!(next(&mut b), None);
    assert_eq!(clients.publish("room", &text("all")), 2);
    assert_eq!(next(&mut a), Some(text("all")));
    assert_eq!(next(&mut b), Some(text("all")));
}

#[test]
fn a_publish_is_encoded_once_for_every_subscriber() {
    let (server, events) = server(Config::default());
    let mut conns: Vec<_> = (0..5).map(|_| join(&server, &events, "t").0).collect();
    let before = ENCODED.with(|n| n.get());
    assert_eq!(server.publish("t", &Message::Binary(vec![7; 1000])), 5);
    assert_eq!(ENCODED.with(|n| n.get()) - before, 1);
    for conn in &mut conns {
        assert_eq!(next(conn), Some(Message::Binary(vec![7; 1000])));
    }
    assert_eq!(server.publish("nobody", &text("x")), 0);
    assert_eq!(
        ENCODED.with(|n| n.get()) - before,
        1,
        "no subscriber, no encoding"
    );
}

#[test]
fn a_subscriber_that_does_not_read_is_closed_with_1008_and_never_stalls_the_publisher() {
    let (server, events) = server(
        Config::default()
            .max_write_buffer(64 << 10)
            .close_timeout(Duration::from_secs(1)),
    );
    let (_slow, _) = join(&server, &events, "feed");
    let (mut fast, _) = join_waiting(&server, &events, "feed", WAIT);
    // 16 MiB for a reader that reads nothing: far past its socket buffers
    // and its 64 KiB write buffer. The publisher goes on; the fast
    // subscriber reads every message.
    let reader = std::thread::spawn(move || {
        for i in 0..256u32 {
            match fast.recv() {
                Ok(Some(Message::Binary(data))) => assert_eq!(data[..4], i.to_be_bytes()),
                other => panic!("message {i}: {other:?}"),
            }
        }
        fast
    });
    for i in 0..256u32 {
        let mut data = vec![0u8; 64 << 10];
        data[..4].copy_from_slice(&i.to_be_bytes());
        server.publish("feed", &Message::Binary(data));
        if i % 16 == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let _fast = reader.join().unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        match events.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Seen::Close(code)) => break assert_eq!(code, 1008),
            Ok(_) => {}
            Err(e) => panic!("the slow subscriber was not closed: {e}"),
        }
    }
    assert_eq!(server.clients().len(), 1);
}

#[test]
fn a_batch_from_another_node_reaches_each_subscriber_in_order_but_what_excludes_it() {
    let (server, events) = server(Config::default());
    let (mut a, a_client) = join(&server, &events, "room");
    let (mut b, b_client) = join(&server, &events, "room");
    let batch = [
        (text("1"), Some(a_client.id().clone())),
        (text("2"), None),
        (text("3"), Some(b_client.id().clone())),
    ];
    let before = ENCODED.with(|n| n.get());
    assert_eq!(server.clients().publish_batch_here("room", &batch), 4);
    assert_eq!(
        ENCODED.with(|n| n.get()) - before,
        3,
        "each message encoded once"
    );
    for (conn, want) in [(&mut a, ["2", "3"]), (&mut b, ["1", "2"])] {
        assert_eq!(next(conn), Some(text(want[0])));
        assert_eq!(next(conn), Some(text(want[1])));
        assert_eq!(next(conn), None, "exactly once");
    }
}

#[test]
fn a_clients_topics_are_listed_sorted_once_each_and_leave_with_it() {
    use super::topics::Topics;
    use crate::hub::{ConnectionId, NodeId};
    let topics: Topics<u32> = Topics::new(None);
    let node = NodeId::new("t").unwrap();
    let (a, b) = (
        ConnectionId::new(node.clone(), 1),
        ConnectionId::new(node, 2),
    );
    for (topic, new) in [
        ("news", true),
        ("chat", true),
        ("zoo", true),
        ("chat", false),
    ] {
        assert_eq!(topics.subscribe(&a, &1, topic, || true).unwrap(), new);
    }
    assert!(topics.subscribe(&b, &2, "chat", || true).unwrap());
    assert_eq!(topics.of(&a), ["chat", "news", "zoo"]);
    assert!(topics.unsubscribe(&a, "news"));
    assert!(!topics.unsubscribe(&a, "news"));
    assert_eq!(topics.of(&a), ["chat", "zoo"]);
    assert_eq!(topics.subscribers("chat", None, |c| *c), [1, 2]);
    topics.remove(&a);
    assert!(topics.of(&a).is_empty());
    assert_eq!(topics.subscribers("chat", None, |c| *c), [2]);
    assert!(topics.subscribers("zoo", None, |c| *c).is_empty());
    assert_eq!(topics.names(), ["chat"]);
}

#[test]
fn a_broadcast_filter_may_ask_the_clients_without_deadlocking_and_chooses_who_gets_it() {
    let (server, events) = server(Config::default());
    let (mut a, a_client) = join(&server, &events, "");
    let (mut b, _) = join(&server, &events, "");
    let clients = server.clients();
    let (done, finished) = channel();
    let a_id = a_client.id().clone();
    std::thread::spawn(move || {
        // The filter asks the clients again: it must not run under their lock.
        let taken = clients.broadcast_if(&text("only a"), |c| {
            clients.get(c.id()).is_some() && *c.id() == a_id
        });
        let _ = done.send(taken);
    });
    let Ok(taken) = finished.recv_timeout(WAIT) else {
        // The server could not shut down either: its clients stay locked.
        std::mem::forget(server);
        panic!("broadcast_if deadlocked");
    };
    assert_eq!(taken, 1);
    assert_eq!(next(&mut a), Some(text("only a")));
    assert_eq!(next(&mut b), None);
}
