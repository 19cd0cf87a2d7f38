//! The load of the soak test (`make soak`): CLIENTS clients in a chat room
//! for SECONDS seconds, each connecting, chatting for a few seconds (now
//! and then a minute) and leaving, again and again, so that the server
//! sees thousands of connections come and go while the room stays full.
//!
//! ```text
//! cargo run --release --example soak_client -- ws://127.0.0.1:8000/chat 500 300
//! ```
//!
//! Each client checks that every message it sent came back through the
//! room, in order, before it leaves. The totals are printed at the end; the
//! exit status is 1 if anything went wrong.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rand::RngExt;
use stdws::{CloseCode, Config, Connection, Error, MaybeTlsStream, Message, WebSocket};

/// Mean pause between two messages of one client.
const TALK_EVERY: Duration = Duration::from_secs(4);

/// How long a visit to the room lasts (uniform in this range)...
const VISIT: (Duration, Duration) = (Duration::from_secs(2), Duration::from_secs(10));

/// ...except one visit in ten, long enough for the server's keep-alive
/// pings (every 30 s by default), which the client answers.
const LONG_VISIT: (Duration, Duration) = (Duration::from_secs(30), Duration::from_secs(60));

/// How often a waiting client looks at its clock (the read timeout).
const TICK: Duration = Duration::from_millis(100);

/// How long a leaving client waits for its last messages to come back.
const LINGER: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Totals {
    connections: AtomicU64,
    sent: AtomicU64,
    own_back: AtomicU64,
    others: AtomicU64,
    failures: AtomicU64,
}

impl Totals {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:8000/chat".into());
    let clients: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(500);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(300);
    let end = Instant::now() + Duration::from_secs(seconds);
    let totals = Arc::new(Totals::default());
    let threads: Vec<_> = (0..clients)
        .map(|me| {
            let (url, totals) = (url.clone(), Arc::clone(&totals));
            thread::Builder::new()
                .name(format!("soak-{me}"))
                .stack_size(256 << 10)
                .spawn(move || {
                    // Spread the first connections over a second.
                    thread::sleep(Duration::from_millis(me as u64 * 1000 / clients as u64));
                    while Instant::now() < end {
                        if let Err(why) = visit(&url, me, end, &totals) {
                            eprintln!("soak client {me}: {why}");
                            Totals::add(&totals.failures, 1);
                            thread::sleep(TICK);
                        }
                    }
                })
                .expect("spawn a client thread")
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    println!(
        "soak client: {} connections, {} messages sent, {} came back to their sender, \
         {} relayed to others, {} failures",
        get(&totals.connections),
        get(&totals.sent),
        get(&totals.own_back),
        get(&totals.others),
        get(&totals.failures),
    );
    let ok = get(&totals.failures) == 0 && get(&totals.sent) == get(&totals.own_back);
    std::process::exit(if ok { 0 } else { 1 });
}

/// One visit to the room: connect, talk for a while, check every message
/// came back, leave.
fn visit(url: &str, me: usize, end: Instant, totals: &Totals) -> Result<(), String> {
    let mut rng = rand::rng();
    let ws = WebSocket::builder(url)
        .config(Config::default().read_timeout(Some(TICK)))
        .connect()
        .map_err(|e| format!("connect: {e}"))?;
    let mut conn = Connection::new(ws);
    Totals::add(&totals.connections, 1);
    let (shortest, longest) = if rng.random_ratio(1, 10) {
        LONG_VISIT
    } else {
        VISIT
    };
    let stay = rng.random_range(shortest..longest);
    let leave = (Instant::now() + stay).min(end);
    let mut next_talk = Instant::now() + rng.random_range(Duration::ZERO..TALK_EVERY * 2);
    let (mut sent, mut back) = (0u64, 0u64);
    let mine = format!("{me}:");
    loop {
        let now = Instant::now();
        if now >= leave && back == sent {
            break;
        }
        if now >= leave + LINGER {
            return Err(format!(
                "{} of {sent} messages never came back",
                sent - back
            ));
        }
        if now >= next_talk && now < leave {
            conn.send(Message::Text(format!("{mine}{sent}")))
                .map_err(|e| format!("send: {e}"))?;
            sent += 1;
            Totals::add(&totals.sent, 1);
            next_talk = now + rng.random_range(Duration::ZERO..TALK_EVERY * 2);
        }
        match receive(&mut conn)? {
            Some(text) if text.starts_with(&mine) => {
                // The room relays each sender's messages in order.
                let expected = format!("{mine}{back}");
                if text != expected {
                    return Err(format!("got {text:?}, expected {expected:?}"));
                }
                back += 1;
                Totals::add(&totals.own_back, 1);
            }
            Some(_) => Totals::add(&totals.others, 1),
            None => {}
        }
    }
    conn.close(CloseCode::NORMAL, "")
        .map_err(|e| format!("close: {e}"))
}

/// The next text from the room, or `None` when nothing came within a tick.
fn receive(conn: &mut Connection<MaybeTlsStream>) -> Result<Option<String>, String> {
    match conn.recv() {
        Ok(Some(Message::Text(text))) => Ok(Some(text)),
        Ok(Some(other)) => Err(format!("unexpected {other:?}")),
        Ok(None) => Err(format!("closed by the server: {:?}", conn.close_frame())),
        Err(e) if e.is_timeout() => Ok(None),
        Err(Error::Io(e)) => Err(format!("I/O: {e}")),
        Err(e) => Err(format!("recv: {e}")),
    }
}
