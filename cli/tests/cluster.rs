//! Three `stdws serve --redis` processes on one real `redis-server` act as
//! one chat; a wrong password stops `stdws serve` at once. Ignored by
//! `make test`; `make cluster` runs them (`--ignored`).
#![cfg(all(unix, feature = "redis"))]

#[path = "../../tests/redis_support/mod.rs"]
mod redis_support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use redis_support::Redis;
use stdws::{Config, Connection, Message, Stream, WebSocket};

const NODES: usize = 3;
const PER_NODE: usize = 10;
const MESSAGES: usize = 100;
const WAIT: Duration = Duration::from_secs(30);

/// Kills the process when dropped (also when the test fails).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Lines of a child's stderr, read on their own thread.
fn lines(child: &mut Child) -> mpsc::Receiver<String> {
    let out = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// `stdws serve --redis URL --node-id NAME` on a free port; its port.
fn serve(url: &str, name: &str) -> (Running, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stdws"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--redis",
            url,
            "--node-id",
            name,
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = lines(&mut child);
    let running = Running(child);
    loop {
        let line = log.recv_timeout(WAIT).expect("serve prints its address");
        if let Some(rest) = line.split("console http://127.0.0.1:").nth(1) {
            let port = rest.split('/').next().unwrap().parse().unwrap();
            thread::spawn(move || while log.recv().is_ok() {});
            return (running, port);
        }
    }
}

fn chat(port: u16) -> Connection<stdws::MaybeTlsStream> {
    let ws = WebSocket::builder(&format!("ws://127.0.0.1:{port}/chat"))
        .config(Config::default().read_timeout(Some(WAIT)))
        .connect()
        .unwrap();
    Connection::new(ws)
}

#[test]
#[ignore = "needs redis-server: make cluster"]
fn three_serve_processes_deliver_every_chat_message_exactly_once_in_per_sender_order() {
    let redis = Redis::start();
    let nodes: Vec<(Running, u16)> = (0..NODES)
        .map(|n| serve(&redis.url(), &format!("node{n}")))
        .collect();
    let mut clients: Vec<Connection<_>> = nodes
        .iter()
        .flat_map(|(_, port)| (0..PER_NODE).map(|_| chat(*port)))
        .collect();
    let total = clients.len();
    // Every node listens to `chat` once a message from each node reaches
    // every client.
    let deadline = Instant::now() + WAIT;
    'settle: loop {
        assert!(
            Instant::now() < deadline,
            "the nodes never heard each other"
        );
        for n in 0..NODES {
            clients[n * PER_NODE]
                .send(Message::Text(format!("hello {n}")))
                .unwrap();
        }
        thread::sleep(Duration::from_millis(300));
        let mut all_heard = true;
        for client in &mut clients {
            client
                .get_mut()
                .set_read_timeout(Some(Duration::from_millis(300)))
                .unwrap();
            let mut heard = 0;
            while let Ok(Some(_)) = client.recv() {
                heard += 1;
            }
            all_heard &= heard >= NODES;
        }
        if all_heard {
            break 'settle;
        }
    }
    let start = Arc::new(Barrier::new(total));
    let runs: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(me, mut client)| {
            let start = Arc::clone(&start);
            thread::spawn(move || {
                client.get_mut().set_read_timeout(Some(WAIT)).unwrap();
                start.wait();
                for i in 0..MESSAGES {
                    client.send(Message::Text(format!("{me} {i}"))).unwrap();
                }
                let mut next = HashMap::<usize, usize>::new();
                let mut received = 0;
                while received < total * MESSAGES {
                    let message = client.recv().unwrap().expect("open");
                    let text = message.as_text().unwrap();
                    if text.starts_with("hello") {
                        continue; // late from the settling rounds
                    }
                    received += 1;
                    let (from, i) = text.split_once(' ').unwrap();
                    let (from, i): (usize, usize) = (from.parse().unwrap(), i.parse().unwrap());
                    let due = next.entry(from).or_insert(0);
                    assert_eq!(i, *due, "client {me}: from {from}, out of order or twice");
                    *due += 1;
                }
                assert_eq!(next.len(), total, "client {me} heard from every sender");
                assert!(next.values().all(|&n| n == MESSAGES));
                client
            })
        })
        .collect();
    let mut clients: Vec<_> = runs.into_iter().map(|r| r.join().unwrap()).collect();
    for client in &mut clients {
        client
            .get_mut()
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        assert!(
            !matches!(client.recv(), Ok(Some(_))),
            "a message came twice"
        );
    }
    drop(nodes);
}

#[test]
#[ignore = "needs redis-server: make cluster"]
fn serve_with_a_wrong_redis_password_exits_non_zero_within_10_s_saying_why() {
    let redis = Redis::start_with(Some("right"));
    let cases = [
        (
            format!("redis://:wrong@127.0.0.1:{}/0", redis.port),
            "WRONGPASS",
        ),
        (format!("redis://127.0.0.1:{}/0", redis.port), "NOAUTH"),
        ("redis://127.0.0.1:1/0".to_owned(), "refused"),
    ];
    for (url, cause) in cases {
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_stdws"))
            .args(["serve", "--addr", "127.0.0.1:0", "--redis", &url])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = lines(&mut child);
        let mut child = Running(child);
        let status = loop {
            if let Some(status) = child.0.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{url}: still running"
            );
            thread::sleep(Duration::from_millis(20));
        };
        assert!(!status.success(), "{url}");
        let said: Vec<String> = log.iter().collect();
        assert!(said.iter().any(|l| l.contains(cause)), "{url}: {said:?}");
        assert!(
            !said.iter().any(|l| l.contains("wrong")),
            "the password shown: {said:?}"
        );
    }
}
