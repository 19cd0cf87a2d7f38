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
//! allows: at most 50 messages beyond the last one a subscriber on the
//! last node has received (end-to-end flow control, so no queue grows
//! without bound). Prints one JSON line of results on stdout.

use std::io::{self, Read};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use stdws::{Config, WebSocket};

/// A warm-up message: not measured.
const WARMUP: u64 = u64::MAX;
/// Messages in flight past the canary subscriber with `--max`.
const WINDOW: u64 = 50;

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

/// A subscriber's socket after its handshake (the server sends nothing on
/// `/chat` before the first publish, so no byte is left behind).
fn subscriber(port: u16) -> TcpStream {
    let (stream, rest) = connect(port).into_parts();
    assert!(rest.is_empty());
    match stream {
        stdws::MaybeTlsStream::Plain(tcp) => tcp,
        #[allow(unreachable_patterns)]
        _ => unreachable!("ws:// only"),
    }
}

/// What the subscribers saw: latencies in microseconds, of all and of
/// those on another node than the publisher's.
#[derive(Default)]
struct Seen {
    all: Vec<u32>,
    remote: Vec<u32>,
    last: Option<Instant>,
}

/// Unmasked server frames (RFC 6455 §5.2) in `buf`: calls `f` with each
/// payload and drops what it consumed.
fn frames(buf: &mut Vec<u8>, mut f: impl FnMut(&[u8])) {
    let mut at = 0;
    loop {
        let rest = &buf[at..];
        if rest.len() < 2 {
            break;
        }
        let (len, head) = match rest[1] & 0x7f {
            126 if rest.len() >= 4 => (usize::from(u16::from_be_bytes([rest[2], rest[3]])), 4),
            126 => break,
            127 => panic!("a 64-bit length in a benchmark"),
            n => (usize::from(n), 2),
        };
        if rest.len() < head + len {
            break;
        }
        f(&rest[head..head + len]);
        at += head + len;
    }
    buf.drain(..at);
}

/// All subscribers on one thread (epoll through mio): the load generator
/// must not be what limits the servers.
fn read_all(
    sockets: Vec<(TcpStream, bool)>,
    epoch: Instant,
    canary: usize,
    seq_seen: &AtomicU64,
    warm: &mpsc::Sender<()>,
    stop: &AtomicBool,
) -> Seen {
    let mut poll = Poll::new().unwrap();
    let mut conns: Vec<(mio::net::TcpStream, bool, Vec<u8>, bool)> = Vec::new();
    for (i, (tcp, remote)) in sockets.into_iter().enumerate() {
        tcp.set_nonblocking(true).unwrap();
        let mut stream = mio::net::TcpStream::from_std(tcp);
        poll.registry()
            .register(&mut stream, Token(i), Interest::READABLE)
            .unwrap();
        conns.push((stream, remote, Vec::with_capacity(1 << 16), false));
    }
    let mut events = Events::with_capacity(1024);
    let mut seen = Seen::default();
    let mut chunk = vec![0u8; 1 << 16];
    while !stop.load(Ordering::Relaxed) {
        poll.poll(&mut events, Some(Duration::from_millis(100)))
            .unwrap();
        for event in events.iter() {
            let i = event.token().0;
            let (stream, remote, buf, warmed) = &mut conns[i];
            loop {
                match stream.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("subscriber {i}: {e}"),
                }
            }
            let now = Instant::now();
            let at = now.duration_since(epoch).as_nanos() as u64;
            frames(buf, |payload| {
                let sent = u64::from_be_bytes(payload[..8].try_into().unwrap());
                let seq = u64::from_be_bytes(payload[8..16].try_into().unwrap());
                if seq == WARMUP {
                    if !*warmed {
                        *warmed = true;
                        let _ = warm.send(());
                    }
                    return;
                }
                let latency = (at.saturating_sub(sent) / 1000) as u32;
                seen.all.push(latency);
                if *remote {
                    seen.remote.push(latency);
                }
                seen.last = Some(now);
                if i == canary {
                    seq_seen.fetch_max(seq, Ordering::Relaxed);
                }
            });
        }
    }
    seen
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
    let (warm_tx, warm_rx) = mpsc::channel::<()>();
    let last_node = o.nodes.len() - 1;
    let sockets: Vec<(TcpStream, bool)> = (0..o.subscribers)
        .map(|i| {
            let node = i % o.nodes.len();
            (subscriber(o.nodes[node]), node != 0)
        })
        .collect();
    let reader = {
        let (stop, canary) = (Arc::clone(&stop), Arc::clone(&canary));
        thread::spawn(move || read_all(sockets, epoch, last_node, &canary, &warm_tx, &stop))
    };

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
                    // Sleeping, not spinning: the servers share the cores.
                    thread::sleep(Duration::from_micros(100));
                }
            }
        }
        publish(seq);
    }
    let published = seq;
    thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let mut seen = reader.join().unwrap();
    // The drain ends with the closing handshake.
    let _ = sender.close(stdws::CloseCode::NORMAL, "");
    let _ = drain.join();

    let last = seen.last.unwrap_or(start);
    let span = last.duration_since(start).as_secs_f64();
    let (all, remote) = (&mut seen.all, &mut seen.remote);
    all.sort_unstable();
    remote.sort_unstable();
    let expected = published * o.subscribers as u64;
    let remote_subscribers = (0..o.subscribers)
        .filter(|i| i % o.nodes.len() != 0)
        .count() as u64;
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
        percentile(all, 0.5),
        percentile(all, 0.99),
        percentile(remote, 0.5),
        percentile(remote, 0.99),
    );
}
