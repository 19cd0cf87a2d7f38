//! Servers joined by a `RedisHub` on a real `redis-server` (started per
//! test on a free port): cross-node commands, Redis going away and coming
//! back, `CLIENT KILL`, `CLIENT PAUSE`, passwords, prefixes. Ignored by
//! `make test`; `make cluster` runs them (`--ignored`).
#![cfg(all(unix, feature = "redis"))]

mod redis_support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use redis_support::Redis;
use stdws::hub::RedisHub;
use stdws::{
    Admission, Client, CloseCode, Command, Config, Connection, Error, Handler, MaybeTlsStream,
    Message, NodeId, Reject, Request, Route, Server, WebSocket,
};

const WAIT: Duration = Duration::from_secs(10);

/// Runs a Redis command (`CLIENT KILL …`) through the `redis` crate.
fn command(redis: &Redis, args: &[&str]) -> redis::Value {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut link = client
        .get_connection_with_timeout(Duration::from_secs(5))
        .unwrap();
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(&mut link).unwrap()
}

/// `/chat`: the topic `chat`, sender included. `/echo` echoes.
struct Chat;

impl Handler for Chat {
    fn handshake(&self, _: &Request) -> Result<Admission, Reject> {
        Ok(Admission::new().subscribe("chat"))
    }
    fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
        client.clients().publish("chat", &message);
        Ok(())
    }
}

struct Echo;

impl Handler for Echo {
    fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
        client.send(message)
    }
}

fn node_on(hub: RedisHub, name: &str) -> Server {
    Server::builder()
        .node(NodeId::new(name).unwrap())
        .hub(hub)
        .route("/chat", Chat)
        .route("/echo", Echo)
        .bind("127.0.0.1:0")
        .unwrap()
}

fn node(redis: &Redis, name: &str) -> Server {
    node_on(RedisHub::connect(&redis.url()).unwrap(), name)
}

fn join(server: &Server, path: &str) -> Connection<MaybeTlsStream> {
    let ws = WebSocket::builder(&format!("ws://{}{path}", server.local_addr()))
        .config(Config::default().read_timeout(Some(Duration::from_millis(200))))
        .connect()
        .unwrap();
    Connection::new(ws)
}

/// The next message within `wait`, or None.
fn within(conn: &mut Connection<MaybeTlsStream>, wait: Duration) -> Option<Message> {
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        match conn.recv() {
            Ok(Some(m)) => return Some(m),
            Ok(None) => return None,
            Err(e) if e.is_timeout() => {}
            Err(e) => panic!("{e}"),
        }
    }
    None
}

fn text(s: impl Into<String>) -> Message {
    Message::Text(s.into())
}

/// Waits until a publish from `from` reaches `to` (the subscriber threads
/// have caught up with the topics).
fn settle(from: &mut Connection<MaybeTlsStream>, to: &mut Connection<MaybeTlsStream>) {
    let deadline = Instant::now() + WAIT;
    loop {
        assert!(
            Instant::now() < deadline,
            "the nodes never heard each other"
        );
        from.send(text("settle")).unwrap();
        if within(to, Duration::from_millis(300)).is_some() {
            break;
        }
    }
    // Drain the other copies.
    while within(to, Duration::from_millis(300)).is_some() {}
    while within(from, Duration::from_millis(300)).is_some() {}
}

#[test]
#[ignore = "needs redis-server: make cluster"]
fn a_command_issued_on_node_a_reaches_a_connection_on_node_c() {
    let redis = Redis::start();
    let (a, c) = (node(&redis, "a"), node(&redis, "c"));
    let mut on_c = join(&c, "/echo");
    let deadline = Instant::now() + WAIT;
    while c.clients().is_empty() {
        assert!(Instant::now() < deadline);
        thread::sleep(Duration::from_millis(10));
    }
    let id = c.clients().list()[0].id().clone();
    assert_eq!(id.node(), c.node());
    let send = Command::Send {
        to: id.clone(),
        message: Message::Binary(vec![0, 1, 2, 255]),
    };
    assert_eq!(a.clients().execute(send).unwrap(), Route::Forwarded);
    assert_eq!(
        within(&mut on_c, WAIT),
        Some(Message::Binary(vec![0, 1, 2, 255]))
    );
    let subscribe = Command::Subscribe {
        to: id.clone(),
        topic: "news".into(),
    };
    a.clients().execute(subscribe).unwrap();
    let deadline = Instant::now() + WAIT;
    while c.clients().get(&id).unwrap().topics() != ["news"] {
        assert!(Instant::now() < deadline, "not subscribed");
        thread::sleep(Duration::from_millis(10));
    }
    let close = Command::Close {
        to: id.clone(),
        code: CloseCode(4000),
        reason: "from a".into(),
    };
    a.clients().execute(close).unwrap();
    assert_eq!(within(&mut on_c, WAIT), None);
    let frame = on_c.close_frame().expect("a close frame");
    assert_eq!(
        (frame.code, frame.reason.as_str()),
        (CloseCode(4000), "from a")
    );
    assert!(a.hub_stats().published >= 3);
    assert!(c.hub_stats().delivered >= 3);
}

#[test]
#[ignore = "needs redis-server: make cluster"]
fn redis_away_local_chat_goes_on_cross_node_resumes_within_5_s_and_losses_are_counted() {
    let mut redis = Redis::start();
    let (a, b) = (node(&redis, "a"), node(&redis, "b"));
    let mut sender = join(&a, "/chat");
    let mut same_node = join(&a, "/chat");
    let mut other_node = join(&b, "/chat");
    settle(&mut sender, &mut other_node);
    while within(&mut same_node, Duration::from_millis(300)).is_some() {}

    // The sender numbers its messages; its own node's client must get
    // every one, the other node's client misses those sent while Redis
    // was away, and node b counts exactly those as lost.
    let mut sent = 0u32;
    let mut send = |conn: &mut Connection<MaybeTlsStream>| {
        sent += 1;
        conn.send(text(format!("m{sent}"))).unwrap();
        sent
    };
    let mut far: BTreeSet<u32> = BTreeSet::new();
    let mut near: BTreeSet<u32> = BTreeSet::new();
    let number = |m: Message| -> Option<u32> { m.as_text()?.strip_prefix('m')?.parse().ok() };
    for _ in 0..10 {
        send(&mut sender);
    }
    redis.stop();
    let away = Instant::now();
    while away.elapsed() < Duration::from_secs(2) {
        let n = send(&mut sender);
        let got = within(&mut same_node, Duration::from_secs(2)).and_then(number);
        assert!(got.is_some(), "local chat stopped while Redis was away");
        near.extend(got);
        let _ = n;
    }
    redis.restart();
    let back = Instant::now();
    let resumed = loop {
        let n = send(&mut sender);
        near.extend(within(&mut same_node, Duration::from_secs(2)).and_then(number));
        let mut heard_new = false;
        while let Some(m) = within(&mut other_node, Duration::from_millis(50)) {
            let k = number(m).unwrap();
            heard_new |= k > 10;
            far.insert(k);
        }
        if heard_new && far.iter().any(|&k| k >= n.saturating_sub(3)) {
            break back.elapsed();
        }
        assert!(back.elapsed() < WAIT, "cross-node delivery did not resume");
        thread::sleep(Duration::from_millis(20));
    };
    assert!(
        resumed < Duration::from_secs(5),
        "resumed after {resumed:?}"
    );
    // A last message closes every gap, then the counts must agree.
    let last = send(&mut sender);
    while let Some(m) = within(&mut other_node, Duration::from_millis(500)) {
        far.insert(number(m).unwrap());
    }
    while let Some(m) = within(&mut same_node, Duration::from_millis(300)) {
        near.extend(number(m));
    }
    assert!(far.contains(&last));
    let missed = (1..=last).filter(|k| !far.contains(k)).count() as u64;
    let stats = b.hub_stats();
    assert!(missed > 0, "nothing was missed: Redis was not away");
    assert_eq!(stats.lost, missed, "{stats}");
    assert!(stats.reconnects >= 1, "{stats}");
    assert!(a.hub_stats().dropped > 0, "{}", a.hub_stats());
    assert!(
        (11..=last).all(|k| near.contains(&k)),
        "the sender's own node missed messages"
    );
}

#[test]
#[ignore = "needs redis-server: make cluster"]
fn after_client_kill_type_pubsub_the_node_listens_again_by_itself() {
    let redis = Redis::start();
    let (a, b) = (node(&redis, "a"), node(&redis, "b"));
    let mut on_a = join(&a, "/chat");
    let mut on_b = join(&b, "/chat");
    settle(&mut on_a, &mut on_b);
    let killed = command(&redis, &["CLIENT", "KILL", "TYPE", "pubsub"]);
    assert_eq!(killed, redis::Value::Int(2), "both subscribers killed");
    let start = Instant::now();
    settle(&mut on_a, &mut on_b);
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(b.hub_stats().reconnects >= 1, "{}", b.hub_stats());
    assert!(b.hub_stats().connected);
}

#[test]
#[ignore = "needs redis-server: make cluster"]
fn client_pause_blocks_no_client_thread_and_the_queue_stays_within_its_bound() {
    const BOUND: usize = 64;
    let redis = Redis::start();
    let hub = RedisHub::builder(redis.url())
        .queue_messages(BOUND)
        .connect()
        .unwrap();
    let a = node_on(hub, "a");
    let _b = node(&redis, "b");
    let mut echo = join(&a, "/echo");
    command(&redis, &["CLIENT", "PAUSE", "3000", "ALL"]);
    let paused = Instant::now();
    let flooding = Arc::new(AtomicBool::new(true));
    let flood = {
        let flooding = Arc::clone(&flooding);
        let clients = a.clients();
        thread::spawn(move || {
            let mut i = 0u32;
            while flooding.load(Ordering::SeqCst) {
                i += 1;
                clients.publish("chat", &text(format!("flood {i}")));
                thread::sleep(Duration::from_millis(1));
            }
            i
        })
    };
    let mut slowest = Duration::ZERO;
    let mut most_queued = 0;
    while paused.elapsed() < Duration::from_millis(2500) {
        let start = Instant::now();
        echo.send(text("ping")).unwrap();
        assert_eq!(within(&mut echo, WAIT), Some(text("ping")));
        slowest = slowest.max(start.elapsed());
        most_queued = most_queued.max(a.hub_stats().queued);
        thread::sleep(Duration::from_millis(20));
    }
    flooding.store(false, Ordering::SeqCst);
    let flooded = flood.join().unwrap();
    assert!(flooded > BOUND as u32 * 2, "only {flooded} publishes");
    // A client thread blocked on Redis would wait out the 3 s pause.
    assert!(slowest < Duration::from_secs(1), "an echo took {slowest:?}");
    assert!(most_queued <= BOUND as u64, "{most_queued} queued");
    assert!(a.hub_stats().dropped > 0, "{}", a.hub_stats());
}

#[test]
#[ignore = "needs redis-server: make cluster"]
fn the_password_in_the_url_works_and_a_wrong_one_is_an_error_at_connect() {
    let redis = Redis::start_with(Some("s3cret"));
    let right = RedisHub::connect(&redis.url());
    assert!(right.is_ok(), "{:?}", right.err());
    let wrong = RedisHub::connect(&format!("redis://:nope@127.0.0.1:{}/0", redis.port))
        .unwrap_err()
        .to_string();
    assert!(
        wrong.contains("WRONGPASS") || wrong.contains("invalid password"),
        "{wrong}"
    );
    let none = RedisHub::connect(&format!("redis://127.0.0.1:{}/0", redis.port))
        .unwrap_err()
        .to_string();
    assert!(
        none.contains("NOAUTH") || none.contains("uthentication"),
        "{none}"
    );
    let bad_db = RedisHub::connect(&format!("redis://:s3cret@127.0.0.1:{}/99", redis.port));
    assert!(bad_db.is_err());
    let mut stopped = Redis::start();
    let url = stopped.url();
    stopped.stop();
    let started = Instant::now();
    assert!(RedisHub::connect(&url).is_err());
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
#[ignore = "needs redis-server: make cluster"]
fn clusters_with_different_prefixes_on_one_redis_never_hear_each_other() {
    let redis = Redis::start();
    let hub = |prefix: &str| {
        RedisHub::builder(redis.url())
            .prefix(prefix)
            .connect()
            .unwrap()
    };
    let (a1, a2, b1) = (
        node_on(hub("one"), "a1"),
        node_on(hub("one"), "a2"),
        node_on(hub("two"), "b1"),
    );
    let mut on_a1 = join(&a1, "/chat");
    let mut on_a2 = join(&a2, "/chat");
    let mut on_b1 = join(&b1, "/chat");
    settle(&mut on_a1, &mut on_a2);
    while within(&mut on_b1, Duration::from_millis(300)).is_some() {}
    on_a1.send(text("for cluster one")).unwrap();
    a1.broadcast(&text("broadcast in one"));
    let heard: BTreeSet<String> = (0..2)
        .filter_map(|_| within(&mut on_a2, WAIT))
        .map(|m| m.as_text().unwrap().to_owned())
        .collect();
    assert_eq!(
        heard,
        BTreeSet::from(["for cluster one".into(), "broadcast in one".into()])
    );
    assert_eq!(within(&mut on_b1, Duration::from_secs(1)), None);
    assert_eq!(b1.hub_stats().delivered, 0);
    assert!(RedisHub::builder(redis.url())
        .prefix("a:b")
        .connect()
        .is_err());
}
