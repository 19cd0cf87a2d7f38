//! permessage-deflate (RFC 7692) echo against every server that speaks it
//! (stdws, node `ws`, Python `websockets`), each with its own default
//! compression settings. The load generator is stdws's client, one thread
//! per connection, pinned with the harness to its core: it offers
//! permessage-deflate, sends JSON-like messages of 100 B to 16 KiB and
//! checks every echo. The server's CPU per message is what it costs to
//! inflate and deflate each one there and back.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use stdws::{Config, Connection, Message, PerMessageDeflate, WebSocket};

use crate::procfs::cpu_ticks;
use crate::procfs::TICKS_PER_SEC;
use crate::server::{Running, Spec};

/// One server's compressed echo.
#[derive(Debug, Clone)]
pub struct DeflateResult {
    /// Server name.
    pub server: String,
    /// Connections.
    pub conns: usize,
    /// Echoes per second.
    pub msgs_per_sec: f64,
    /// Payload MB/s (uncompressed, one way).
    pub mb_per_sec: f64,
    /// Server CPU per echo, microseconds.
    pub cpu_us: f64,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// Messages of 100 B to 16 KiB: arrays of records with repeated keys and
/// varying values, as an API's JSON compresses.
pub fn corpus(count: usize) -> Vec<String> {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
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
                    "{{\"id\":{},\"name\":\"user{}\",\"score\":{}.{},\"online\":{}}},",
                    r % 1_000_000,
                    r % 997,
                    r % 1000,
                    r % 100,
                    r % 3 == 0
                ));
            }
            m.truncate(len - 1);
            m.push(']');
            m
        })
        .collect()
}

/// Runs `conns` compressed echo loops against `spec` (started with the
/// argument `deflate`) for `warmup` then `window`.
pub fn run(
    spec: &Spec,
    conns: usize,
    warmup: Duration,
    window: Duration,
    corpus: &Arc<Vec<String>>,
) -> DeflateResult {
    let mut result = DeflateResult {
        server: spec.name.clone(),
        conns,
        msgs_per_sec: 0.0,
        mb_per_sec: 0.0,
        cpu_us: f64::NAN,
        error: None,
    };
    if let Err(e) = measure(spec, conns, warmup, window, corpus, &mut result) {
        result.error = Some(e.to_string());
    }
    result
}

fn measure(
    spec: &Spec,
    conns: usize,
    warmup: Duration,
    window: Duration,
    corpus: &Arc<Vec<String>>,
    result: &mut DeflateResult,
) -> io::Result<()> {
    let server = Running::start_with(spec, 0, &["deflate"])?;
    let url = format!("ws://{}/echo", server.addr);
    let config = Config::default()
        .deflate(PerMessageDeflate::new())
        .read_timeout(Some(Duration::from_secs(10)));
    let stop = Arc::new(AtomicBool::new(false));
    let counting = Arc::new(AtomicBool::new(false));
    let (messages, bytes) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut threads = Vec::new();
    for k in 0..conns {
        let ws = WebSocket::builder(&url)
            .config(config.clone())
            .connect()
            .map_err(|e| io::Error::other(format!("{}: {e}", spec.name)))?;
        if ws.extensions().is_empty() {
            return Err(io::Error::other(format!(
                "{} did not accept permessage-deflate",
                spec.name
            )));
        }
        let mut conn = Connection::new(ws);
        let (stop, counting, messages, bytes, corpus) = (
            Arc::clone(&stop),
            Arc::clone(&counting),
            Arc::clone(&messages),
            Arc::clone(&bytes),
            Arc::clone(corpus),
        );
        threads.push(thread::spawn(move || -> Result<(), String> {
            let mut i = k * 7;
            while !stop.load(Ordering::Relaxed) {
                let text = &corpus[i % corpus.len()];
                i += 1;
                conn.send(Message::Text(text.clone()))
                    .map_err(|e| e.to_string())?;
                match conn.recv() {
                    Ok(Some(Message::Text(echo))) if echo == *text => {}
                    other => return Err(format!("wrong echo: {other:?}")),
                }
                if counting.load(Ordering::Relaxed) {
                    messages.fetch_add(1, Ordering::Relaxed);
                    bytes.fetch_add(text.len() as u64, Ordering::Relaxed);
                }
            }
            Ok(())
        }));
    }
    thread::sleep(warmup);
    let s0 = cpu_ticks(server.pid())?;
    let t0 = Instant::now();
    counting.store(true, Ordering::Relaxed);
    thread::sleep(window);
    counting.store(false, Ordering::Relaxed);
    let s1 = cpu_ticks(server.pid())?;
    let secs = t0.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut failure = None;
    for t in threads {
        if let Err(e) = t.join().unwrap_or_else(|_| Err("panicked".into())) {
            failure.get_or_insert(e);
        }
    }
    if let Some(e) = failure {
        return Err(io::Error::other(format!("{}: {e}", spec.name)));
    }
    let n = messages.load(Ordering::Relaxed);
    result.msgs_per_sec = n as f64 / secs;
    result.mb_per_sec = bytes.load(Ordering::Relaxed) as f64 / secs / 1e6;
    result.cpu_us = (s1 - s0) as f64 / TICKS_PER_SEC * 1e6 / n.max(1) as f64;
    Ok(())
}
