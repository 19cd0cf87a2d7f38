//! The load generator behind `make bench-cluster` (see `bench/cluster.sh`):
//! subscribers on `/chat` spread over the nodes given, one publisher on the
//! first node, publish-to-delivery latency measured on every delivery.
//!
//! ```text
//! cluster --label NAME --nodes PORT[,PORT...] [--subscribers 300]
//!         [--rate MSGS_PER_S | --max] [--seconds 10] [--size 64]
//! ```
//!
//! `--rate` publishes at a fixed rate; `--max` as fast as the slowest path
//! allows: at most 200 messages beyond the last one a subscriber on the
//! last node has received (end-to-end flow control, so no queue grows
//! without bound). Prints one JSON line of results on stdout.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use stdws::{Config, Connection, Message, Stream, WebSocket};

/// A warm-up message: not measured.
const WARMUP: u64 = u64::MAX;
/// Messages in flight past the canary subscriber with `--max`.
const WINDOW: u64 = 200;

struct Options {
    label: String,
    nodes: Vec<u16>,
    subscribers: usize,
    rate: Option<f64>,
    seconds: f64,
    size: usize,
}

fn options() -> Options {
    let mut o = Options {
        label: String::new(),
        nodes: Vec::new(),
        subscribers: 300,
        rate: None,
        seconds: 10.0,
        size: 64,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().expect("a value");
        match arg.as_str() {
            "--label" => o.label = value(),
            "--nodes" => o.nodes = value().split(',').map(|p| p.parse().unwrap()).collect(),
            "--subscribers" => o.subscribers = value().parse().unwrap(),
            "--rate" => o.rate = Some(value().parse().unwrap()),
            "--max" => o.rate = None,
            "--seconds" => o.seconds = value().parse().unwrap(),
            "--size" => o.size = value().parse::<usize>().unwrap().max(16),
            other => panic!("unknown option {other}"),
        }
    }
    assert!(!o.nodes.is_empty(), "--nodes PORT[,PORT...]");
    o
}

fn connect(port: u16) -> WebSocket<stdws::MaybeTlsStream> {
    WebSocket::builder(&format!("ws://127.0.0.1:{port}/chat"))
        .config(Config::default())
        .connect()
        .expect("a node on /chat")
}

fn join(port: u16) -> Connection<stdws::MaybeTlsStream> {
    Connection::new(connect(port))
}

/// What one subscriber saw: latencies in microseconds.
struct Seen {
    remote: bool,
    latencies: Vec<u32>,
    last: Option<Instant>,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

fn main() {
    let o = options();
    let epoch = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let canary = Arc::new(AtomicU64::new(0));
    let ready = Arc::new(Barrier::new(o.subscribers + 1));
    let (warm_tx, warm_rx) = mpsc::channel::<()>();
    let last_node = o.nodes.len() - 1;
    let subscribers: Vec<_> = (0..o.subscribers)
        .map(|i| {
            let node = i % o.nodes.len();
            let mut conn = join(o.nodes[node]);
            conn.get_mut()
                .set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let (stop, canary, ready, warm) = (
                Arc::clone(&stop),
                Arc::clone(&canary),
                Arc::clone(&ready),
                warm_tx.clone(),
            );
            let is_canary = node == last_node && i == last_node;
            thread::Builder::new()
                .stack_size(128 << 10)
                .spawn(move || {
                    let mut seen = Seen {
                        remote: node != 0,
                        latencies: Vec::new(),
                        last: None,
                    };
                    let mut warmed = false;
                    ready.wait();
                    loop {
                        match conn.recv() {
                            Ok(Some(Message::Binary(data))) => {
                                let now = Instant::now();
                                let sent = u64::from_be_bytes(data[..8].try_into().unwrap());
                                let seq = u64::from_be_bytes(data[8..16].try_into().unwrap());
                                if seq == WARMUP {
                                    if !warmed {
                                        warmed = true;
                                        let _ = warm.send(());
                                    }
                                    continue;
                                }
                                let at = now.duration_since(epoch).as_nanos() as u64;
                                seen.latencies.push((at.saturating_sub(sent) / 1000) as u32);
                                seen.last = Some(now);
                                if is_canary {
                                    canary.fetch_max(seq, Ordering::Relaxed);
                                }
                            }
                            Ok(Some(_)) => {}
                            Ok(None) => return seen,
                            Err(e) if e.is_timeout() => {
                                if stop.load(Ordering::Relaxed) {
                                    return seen;
                                }
                            }
                            Err(e) => panic!("subscriber: {e}"),
                        }
                    }
                })
                .unwrap()
        })
        .collect();
    drop(warm_tx);
    ready.wait();

    let (sender, mut own) = connect(o.nodes[0]).split().unwrap();
    // The publisher is on /chat too: its copies are read and dropped.
    let drain = thread::spawn(move || while let Ok(Some(_)) = own.recv() {});
    let mut payload = vec![0u8; o.size];
    let mut publish = |seq: u64| {
        let at = epoch.elapsed().as_nanos() as u64;
        payload[..8].copy_from_slice(&at.to_be_bytes());
        payload[8..16].copy_from_slice(&seq.to_be_bytes());
        sender.send_binary(&payload).unwrap();
    };
    // Every subscriber hears a warm-up message: every node listens.
    let mut warmed = 0;
    let warm_deadline = Instant::now() + Duration::from_secs(30);
    while warmed < o.subscribers {
        assert!(
            Instant::now() < warm_deadline,
            "only {warmed} subscribers warmed up"
        );
        publish(WARMUP);
        while warm_rx.recv_timeout(Duration::from_millis(100)).is_ok() {
            warmed += 1;
        }
    }
    thread::sleep(Duration::from_millis(500));

    let start = Instant::now();
    let end = start + Duration::from_secs_f64(o.seconds);
    let mut seq = 0u64;
    while Instant::now() < end {
        seq += 1;
        match o.rate {
            Some(rate) => {
                let due = start + Duration::from_secs_f64(seq as f64 / rate);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    thread::sleep(wait);
                }
            }
            None => {
                while seq > canary.load(Ordering::Relaxed) + WINDOW && Instant::now() < end {
                    std::hint::spin_loop();
                    thread::yield_now();
                }
            }
        }
        publish(seq);
    }
    let published = seq;
    thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let seen: Vec<Seen> = subscribers.into_iter().map(|s| s.join().unwrap()).collect();
    // The drain ends with the closing handshake.
    let _ = sender.close(stdws::CloseCode::NORMAL, "");
    let _ = drain.join();

    let last = seen.iter().filter_map(|s| s.last).max().unwrap_or(start);
    let span = last.duration_since(start).as_secs_f64();
    let mut all: Vec<u32> = seen
        .iter()
        .flat_map(|s| s.latencies.iter().copied())
        .collect();
    let mut remote: Vec<u32> = seen
        .iter()
        .filter(|s| s.remote)
        .flat_map(|s| s.latencies.iter().copied())
        .collect();
    all.sort_unstable();
    remote.sort_unstable();
    let expected = published * o.subscribers as u64;
    let remote_subscribers = seen.iter().filter(|s| s.remote).count() as u64;
    println!(
        "{{\"label\":\"{}\",\"nodes\":{},\"subscribers\":{},\"mode\":\"{}\",\"published\":{},\
         \"deliveries\":{},\"expected\":{},\"seconds\":{:.3},\"deliveries_per_s\":{:.0},\
         \"remote_deliveries\":{},\"remote_expected\":{},\"remote_per_s\":{:.0},\
         \"p50_ms\":{:.3},\"p99_ms\":{:.3},\"remote_p50_ms\":{:.3},\"remote_p99_ms\":{:.3}}}",
        o.label,
        o.nodes.len(),
        o.subscribers,
        o.rate.map_or("max".to_owned(), |r| format!("{r}/s")),
        published,
        all.len(),
        expected,
        span,
        all.len() as f64 / span,
        remote.len(),
        published * remote_subscribers,
        remote.len() as f64 / span,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        percentile(&remote, 0.5),
        percentile(&remote, 0.99),
    );
}
