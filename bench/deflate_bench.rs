//! permessage-deflate: throughput and memory, printed as tables.
//!
//! ```text
//! cargo run --release --example deflate_bench [-- MESSAGES]
//! ```
//!
//! 1. Throughput on a JSON-like corpus (MESSAGES messages, default 2000,
//!    of 100 B to 16 KiB): raw miniz_oxide compress + decompress of the
//!    same payloads (sync flush, context takeover) against a compressed
//!    echo over loopback at the same level (each message is compressed and
//!    decompressed twice: there and back). The overhead ratio divides the
//!    echo's time by twice the raw time. Each figure is the best of
//!    three runs.
//! 2. Memory per connection with compression, from VmRSS: connection
//!    pairs that each exchanged one compressed message, minus the same
//!    number of uncompressed pairs; with and without context takeover.
//! 3. Peak memory (VmHWM) while a server refuses a decompression bomb
//!    (measured first, while the peak is still low).

use std::thread;
use std::time::{Duration, Instant};

use miniz_oxide::deflate::core::{
    compress, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush,
};
use miniz_oxide::inflate::stream::{inflate, InflateState};
use miniz_oxide::{DataFormat, MZFlush};
use stdws::{
    CloseCode, CloseFrame, Config, Connection, Frame, Listener, MaybeTlsStream, PerMessageDeflate,
    Rsv, WebSocket,
};

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let corpus = corpus(count);
    let bytes: usize = corpus.iter().map(Vec::len).sum();
    println!(
        "corpus: {count} JSON-like messages, {:.1} MB",
        bytes as f64 / 1e6
    );
    println!();
    // First, while the peak (VmHWM) is still low.
    bomb();
    println!();
    throughput(&corpus, bytes);
    println!();
    memory();
}

/// Messages of 100 B to 16 KiB: arrays of records with repeated keys.
fn corpus(count: usize) -> Vec<Vec<u8>> {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    (0..count)
        .map(|_| {
            let len = 100 + (next() % (16 << 10)) as usize;
            let mut m = String::from("[");
            while m.len() < len {
                let r = next();
                m.push_str(&format!(
                    "{{\"id\":{},\"user\":\"user{}\",\"score\":{}.{},\"tags\":[\"t{}\",\"t{}\"],\"active\":{}}},",
                    r % 100_000,
                    r % 500,
                    r % 100,
                    r % 10,
                    r % 7,
                    r % 13,
                    r % 2 == 0
                ));
            }
            m.truncate(len - 1);
            m.push(']');
            m.into_bytes()
        })
        .collect()
}

fn mb_per_s(bytes: usize, t: Duration) -> f64 {
    bytes as f64 / 1e6 / t.as_secs_f64()
}

/// Raw miniz_oxide: compress every message (sync flush, shared window),
/// then inflate the stream back. Returns the time and compressed size.
fn raw_miniz(corpus: &[Vec<u8>], level: i32) -> (Duration, usize) {
    let start = Instant::now();
    let flags = create_comp_flags_from_zip_params(level, -15, 0);
    let mut comp = Box::new(CompressorOxide::new(flags));
    let mut state = InflateState::new_boxed(DataFormat::Raw);
    let mut packed = vec![0u8; 64 << 10];
    let mut plain = vec![0u8; 64 << 10];
    let mut total = 0;
    for m in corpus {
        let (_, consumed, n) = compress(&mut comp, m, &mut packed, TDEFLFlush::Sync);
        assert_eq!(consumed, m.len());
        total += n - 4;
        let r = inflate(&mut state, &packed[..n], &mut plain, MZFlush::None);
        assert_eq!(r.bytes_written, m.len());
    }
    (start.elapsed(), total)
}

/// A listener on a free loopback port, and its URL.
fn listen(config: &Config) -> (Listener, String) {
    let listener = Listener::bind("127.0.0.1:0")
        .expect("bind")
        .with_config(config.clone());
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    (listener, url)
}

/// A loopback pair: the server echoes on its own thread.
fn pair(config: Config) -> (Connection<MaybeTlsStream>, thread::JoinHandle<()>) {
    let (listener, url) = listen(&config);
    let server = thread::spawn(move || {
        let mut conn = Connection::new(listener.accept().expect("accept"));
        while let Ok(Some(m)) = conn.recv() {
            if conn.send(m).is_err() {
                break;
            }
        }
    });
    let ws = WebSocket::builder(&url)
        .config(config)
        .connect()
        .expect("connect");
    (Connection::new(ws), server)
}

/// Echoes the corpus; returns the time and the bytes the client sent.
fn echo(corpus: &[Vec<u8>], config: Config) -> (Duration, usize) {
    let (mut conn, server) = pair(config);
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&sent);
    conn.on_send_frame(move |_, payload| {
        counter.fetch_add(payload.len(), std::sync::atomic::Ordering::Relaxed);
    });
    let start = Instant::now();
    for m in corpus {
        conn.send_binary(m).expect("send");
        let back = conn.recv().expect("recv").expect("message");
        assert_eq!(back.len(), m.len());
    }
    let t = start.elapsed();
    conn.close(CloseCode::NORMAL, "").expect("close");
    server.join().expect("server");
    (t, sent.load(std::sync::atomic::Ordering::Relaxed))
}

/// The best of three runs: the machine may be shared.
fn best(mut run: impl FnMut() -> (Duration, usize)) -> (Duration, usize) {
    (0..3).map(|_| run()).min().expect("three runs")
}

fn throughput(corpus: &[Vec<u8>], bytes: usize) {
    let deflate = |p: PerMessageDeflate| Config::default().deflate(p.min_size(0));
    let no_takeover = PerMessageDeflate::new()
        .server_no_context_takeover(true)
        .client_no_context_takeover(true);
    println!(
        "| run | time | MB/s of messages | size on the wire | time / (2 x raw miniz, same level) |"
    );
    println!("|---|---|---|---|---|");
    let plain = best(|| echo(corpus, Config::default()));
    row("echo, no compression", plain, bytes, None);
    for level in [1, 6] {
        let (raw, packed) = best(|| raw_miniz(corpus, level));
        row(
            &format!("raw miniz_oxide compress+inflate, level {level}"),
            (raw, packed),
            bytes,
            None,
        );
        let p = PerMessageDeflate::new().level(level as u8);
        row(
            &format!("echo, permessage-deflate level {level}"),
            best(|| echo(corpus, deflate(p.clone()))),
            bytes,
            Some(raw),
        );
        row(
            &format!("echo, level {level}, no context takeover"),
            best(|| echo(corpus, deflate(no_takeover.clone().level(level as u8)))),
            bytes,
            Some(raw),
        );
    }
}

fn row(name: &str, (t, wire): (Duration, usize), bytes: usize, raw: Option<Duration>) {
    println!(
        "| {name} | {:.0} ms | {:.1} | {:.1}% | {} |",
        t.as_secs_f64() * 1e3,
        mb_per_s(bytes, t),
        100.0 * wire as f64 / bytes as f64,
        raw.map(|r| format!("{:.2}", t.as_secs_f64() / (2.0 * r.as_secs_f64())))
            .unwrap_or_else(|| "-".to_owned())
    );
}

/// A field of /proc/self/status, in KiB (0 where there is none).
fn status_kib(field: &str) -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Opens `n` pairs with `config`, exchanges one 4 KiB message on each, and
/// returns them open with the growth of VmRSS in KiB.
type Pairs = Vec<(Connection<MaybeTlsStream>, thread::JoinHandle<()>)>;

fn open_pairs(n: usize, config: &Config, message: &[u8]) -> (Pairs, usize) {
    let before = status_kib("VmRSS:");
    let mut pairs = Vec::new();
    for _ in 0..n {
        let (mut conn, server) = pair(config.clone());
        conn.send_binary(message).expect("send");
        conn.recv().expect("recv");
        pairs.push((conn, server));
    }
    (pairs, status_kib("VmRSS:").saturating_sub(before))
}

fn memory() {
    const N: usize = 50;
    let message = corpus(1).remove(0).repeat(2);
    let plain = Config::default();
    let keep = Config::default().deflate(PerMessageDeflate::new().min_size(0));
    let forget = Config::default().deflate(
        PerMessageDeflate::new()
            .min_size(0)
            .server_no_context_takeover(true)
            .client_no_context_takeover(true),
    );
    let (mut all, base) = open_pairs(N, &plain, &message);
    println!("| {N} connection pairs, one message each | VmRSS growth | per connection, over uncompressed |");
    println!("|---|---|---|");
    println!("| no compression | {base} KiB | - |");
    for (name, config) in [
        ("permessage-deflate, context takeover", &keep),
        ("permessage-deflate, no context takeover", &forget),
    ] {
        let (pairs, grew) = open_pairs(N, config, &message);
        println!(
            "| {name} | {grew} KiB | {} KiB |",
            grew.saturating_sub(base) / (2 * N)
        );
        all.extend(pairs);
    }
    for (mut conn, server) in all {
        let _ = conn.close(CloseCode::NORMAL, "");
        let _ = server.join();
    }
}

/// Sends a ~16 KiB frame that inflates to 16 MiB to a server whose limit
/// is 1 MiB; reports how it ended and the peak memory it cost.
fn bomb() {
    let flags = create_comp_flags_from_zip_params(9, -15, 0);
    let mut comp = Box::new(CompressorOxide::new(flags));
    let chunk = vec![b'a'; 64 << 10];
    let mut bomb = vec![0u8; 1 << 20];
    let mut len = 0;
    for i in 0..256 {
        let flush = if i == 255 {
            TDEFLFlush::Sync
        } else {
            TDEFLFlush::None
        };
        let (_, _, n) = compress(&mut comp, &chunk, &mut bomb[len..], flush);
        len += n;
    }
    bomb.truncate(len - 4);
    drop(comp);
    let limit = 1 << 20;
    let config = Config::default()
        .max_message_size(limit)
        .deflate(PerMessageDeflate::new());
    let (listener, url) = listen(&config);
    let server = thread::spawn(move || {
        let mut conn = Connection::new(listener.accept().expect("accept"));
        conn.recv().map(|_| ()).unwrap_err()
    });
    let mut ws = WebSocket::builder(&url)
        .config(config)
        .connect()
        .expect("connect");
    let before = status_kib("VmHWM:");
    ws.send(&Frame::binary(bomb.clone()).with_rsv(Rsv::RSV1))
        .expect("send");
    let err = server.join().expect("server");
    let close = ws.recv().expect("close frame");
    let code = CloseFrame::parse(&close.payload)
        .ok()
        .flatten()
        .map(|c| c.code.to_string());
    println!("| decompression bomb | result |");
    println!("|---|---|");
    println!(
        "| {} KiB frame inflating to 16 MiB, max_message_size 1 MiB | {err}; close code {} |",
        bomb.len() >> 10,
        code.unwrap_or_default()
    );
    println!(
        "| VmHWM growth while refusing it | {} KiB |",
        status_kib("VmHWM:").saturating_sub(before)
    );
}
