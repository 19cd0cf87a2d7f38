//! The harness of the hostile-input suite: a [`Server`] under attack in
//! this process, the process's memory watched while the attack runs, and a
//! well-behaved client (the [`Canary`]) exchanging echoes beside the
//! attacker the whole time.
//!
//! Cases run one at a time (they share the process's memory figures), each
//! inside a [`Case`]: start it, attack, assert the answer, then
//! [`Case::finish`] checks the memory bound and the canary and prints one
//! line of figures (`cargo test --test hostile -- --nocapture` shows them).
#![allow(dead_code)]

mod canary;
mod peer;
mod process;

pub use canary::Canary;
pub use peer::Peer;
pub use process::{connection_threads, MemoryWatch};

use std::net::SocketAddr;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use stdws::{Client, CloseCode, Config, Error, Handler, Message, Server, ServerBuilder};

/// One mebibyte, for memory bounds.
pub const MIB: u64 = 1 << 20;

/// Every wait in the suite gives up after this long.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The longest the canary may wait for one echo while an attack runs. A
/// server that serialised clients behind the attacker (a shared lock held
/// across a blocking write, an accept thread stuck in a handshake) would
/// stall it for a whole timeout of the attacker's, a second or more in
/// these cases; a busy debug build on two shared cores answers within
/// tens of milliseconds.
pub const MAX_STALL: Duration = Duration::from_millis(750);

/// The cases share the process's memory figures: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// What the server's handler saw of one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// `on_error`, with the error's debug form.
    Error(String),
    /// `on_close`: the code and reason.
    Close(u16, String),
}

/// Echoes every message and reports errors and closes by peer address.
struct Recorder {
    events: Mutex<Sender<(SocketAddr, Seen)>>,
}

impl Recorder {
    fn note(&self, client: &Client, seen: Seen) {
        let tx = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let _ = tx.send((client.peer_addr(), seen));
    }
}

impl Handler for Recorder {
    fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
        client.send(message)
    }

    fn on_close(&self, client: &Client, code: CloseCode, reason: &str) {
        self.note(client, Seen::Close(code.0, reason.to_owned()));
    }

    fn on_error(&self, client: &Client, error: &Error) {
        self.note(client, Seen::Error(format!("{error:?}")));
    }
}

/// How the server ended one client, as its handler saw it.
#[derive(Debug)]
pub struct Ending {
    /// `on_error`'s error (debug form), if it was called.
    pub error: Option<String>,
    /// `on_close`'s code.
    pub code: u16,
    /// `on_close`'s reason.
    pub reason: String,
}

/// One hostile case: a server with an echo handler on `/echo`, a canary
/// connected to it, and the memory watch started.
pub struct Case {
    name: &'static str,
    server: Server,
    events: Receiver<(SocketAddr, Seen)>,
    seen: Vec<(SocketAddr, Seen)>,
    canary: Canary,
    memory: MemoryWatch,
    _serial: MutexGuard<'static, ()>,
}

impl Case {
    /// A case against a server with `config`.
    pub fn start(name: &'static str, config: Config) -> Case {
        Case::with(name, Server::builder().config(config))
    }

    /// A case against a server built from `builder` (plus the `/echo` route).
    pub fn with(name: &'static str, builder: ServerBuilder) -> Case {
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let (tx, events) = channel();
        let recorder = Recorder {
            events: Mutex::new(tx),
        };
        let server = builder
            .route("/echo", recorder)
            .bind("127.0.0.1:0")
            .expect("bind a test server");
        let canary = Canary::start(server.local_addr());
        let memory = MemoryWatch::start();
        Case {
            name,
            server,
            events,
            seen: Vec::new(),
            canary,
            memory,
            _serial: serial,
        }
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The server.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// A raw peer past the opening handshake on `/echo` (with `extra`
    /// header lines, each ending in CRLF).
    pub fn attacker(&self, extra: &str) -> Peer {
        Peer::upgrade(self.addr(), extra)
    }

    /// Waits until the client at `peer` is no longer among the server's
    /// open clients (its connection failed or closed): the server has
    /// given up on it, though its close frame may still wait to be read.
    pub fn wait_gone(&self, peer: SocketAddr) {
        let deadline = Instant::now() + PATIENCE;
        while self
            .server
            .clients()
            .list()
            .iter()
            .any(|c| c.peer_addr() == peer)
        {
            assert!(
                Instant::now() < deadline,
                "{}: {peer} never let go",
                self.name
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// How the server ended the client at `peer` (waits for its `on_close`).
    pub fn ending_of(&mut self, peer: SocketAddr) -> Ending {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let close = self.seen.iter().find_map(|(a, s)| match s {
                Seen::Close(code, reason) if *a == peer => Some((*code, reason.clone())),
                _ => None,
            });
            if let Some((code, reason)) = close {
                let error = self.seen.iter().find_map(|(a, s)| match s {
                    Seen::Error(e) if *a == peer => Some(e.clone()),
                    _ => None,
                });
                return Ending {
                    error,
                    code,
                    reason,
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) => self.seen.push(event),
                Err(_) => panic!("{}: the server never closed {peer}", self.name),
            }
        }
    }

    /// Ends the case: the canary must have kept its echoes coming (and
    /// still does), the memory must have stayed within `max_growth` bytes
    /// over what it was at the start. Prints the case's figures.
    pub fn finish(self, answer: &str, max_growth: u64) {
        let canary = self.canary.stop();
        let growth = self.memory.stop();
        println!(
            "hostile {:<58} {:<22} memory +{:>6.1} MiB (bound {:>4} MiB)  canary {:>4} echoes, worst {:>4} ms",
            self.name,
            answer,
            growth as f64 / MIB as f64,
            max_growth / MIB,
            canary.echoes,
            canary.worst.as_millis(),
        );
        canary.assert_healthy(self.name);
        assert!(
            growth <= max_growth,
            "{}: memory grew by {} KiB, over the {} KiB bound",
            self.name,
            growth >> 10,
            max_growth >> 10
        );
        drop(self.server);
    }
}
