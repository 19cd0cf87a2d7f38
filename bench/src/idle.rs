//! The thread-per-client limit: how much memory a server holds per idle
//! connection. Each connection is opened, handshaken and used for one echo,
//! then left idle (1.5 s after the last one opened; the server's keep-alive
//! pings answered meanwhile, as a real client would); the growth of the server's resident set (VmRSS) over
//! the count is the price of one idle client. Afterwards every connection
//! must still echo.

use std::io;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::pong::PongResponder;
use crate::procfs::status_field;
use crate::server::{Running, Spec};
use crate::wire::{connect, echo_once, Exchange, Protocol};

/// The idle test's result for one server and one count.
#[derive(Debug, Clone)]
pub struct IdleResult {
    /// Server name.
    pub server: String,
    /// Connections opened.
    pub connections: usize,
    /// VmRSS before the first connection, KiB.
    pub rss_before_kib: u64,
    /// VmRSS with all connections idle, KiB.
    pub rss_after_kib: u64,
    /// Threads of the server with all connections open.
    pub threads: u64,
    /// Connections that echoed again after the idle period.
    pub echo_ok: usize,
    /// Seconds taken to open the connections.
    pub open_secs: f64,
    /// Keep-alive pings of the server answered while the connections
    /// were open ([`crate::pong`]).
    pub pings_answered: u64,
}

impl IdleResult {
    /// Growth of the resident set per connection, KiB.
    pub fn kib_per_connection(&self) -> f64 {
        self.rss_after_kib.saturating_sub(self.rss_before_kib) as f64 / self.connections as f64
    }
}

/// Runs the idle test on a fresh server process.
pub fn run(spec: &Spec, count: usize, settle: Duration) -> io::Result<IdleResult> {
    let server = Running::start(spec, 0)?;
    let pid = server.pid();
    let exchange = Exchange::new(spec.protocol, 64, false);
    let rss_before_kib = status_field(pid, "VmRSS")?;
    let started = Instant::now();
    // WebSocket connections wait with the responder; raw ones here.
    let mut streams = Vec::new();
    let pongs = PongResponder::start();
    for i in 0..count {
        let mut s = connect(server.addr, spec.protocol)
            .map_err(|e| io::Error::other(format!("connection {i}: {e}")))?;
        echo_once(&mut s, &exchange)?;
        match spec.protocol {
            Protocol::WebSocket => pongs.watch(s)?,
            Protocol::Raw => streams.push(s),
        }
    }
    let open_secs = started.elapsed().as_secs_f64();
    sleep(settle);
    let rss_after_kib = status_field(pid, "VmRSS")?;
    let threads = status_field(pid, "Threads")?;
    let (pings_answered, watched) = pongs.stop()?;
    streams.extend(watched);
    let mut echo_ok = 0;
    let mut first_error = None;
    for s in &mut streams {
        match echo_once(s, &exchange) {
            Ok(()) => echo_ok += 1,
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        eprintln!(
            "idle {count} {}: {} connections failed to echo; the first: {e}",
            spec.name,
            count - echo_ok
        );
    }
    // Stop the server before the clients close: its sockets, not ours,
    // take the TIME_WAIT, and the thousands of exiting threads cost nothing
    // we measure.
    drop(server);
    drop(streams);
    Ok(IdleResult {
        server: spec.name.clone(),
        connections: count,
        rss_before_kib,
        rss_after_kib,
        threads,
        echo_ok,
        open_secs,
        pings_answered,
    })
}
