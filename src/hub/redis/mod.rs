//! [`RedisHub`]: the nodes of a cluster meet in Redis pub/sub (feature
//! `redis`, the `redis` crate's blocking API: no async runtime).
//!
//! ```text
//!  client threads ──enqueue (never wait)──▶ bounded queue ──▶ publisher thread ──PUBLISH──▶ Redis
//!  LocalNode ◀── subscriber thread ◀──SUBSCRIBE (node, broadcast, topics with local subscribers)──┘
//! ```
//!
//! Channels, all under the cluster prefix (`stdws` by default; clusters
//! with different prefixes share one Redis without hearing each other):
//! `{prefix}:topic:{topic}` for publishes, `{prefix}:node:{node id}` for
//! commands to one node's connections, `{prefix}:all` for broadcasts.
//! The subscriber listens to its node's channel, the broadcast channel and
//! the topics that have local subscribers, nothing else.
//!
//! A client thread never waits on Redis: it encodes its envelope and puts
//! it in the publisher's queue; a full queue drops it (counted). When
//! Redis goes away, local delivery goes on; each link reconnects with
//! backoff (100 ms doubling to 5 s, jitter; a cheap TCP probe ends the
//! wait as soon as Redis listens again, so cross-node delivery resumes
//! within a second or so of its return, however long it was away) and
//! the subscriber listens to its channels again. What was published
//! meanwhile is lost, and counted by the receivers from the gaps in the
//! sequence numbers.

mod delivery;
mod publisher;
mod subscriber;

use std::collections::BTreeSet;
use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use super::envelope::Body;
use super::{Command, CommandError, ConnectionId, Hub, HubStats, LocalNode, NodeId};
use crate::message::Message;
use publisher::Queue;

/// Options for a [`RedisHub`]; made by [`RedisHub::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until connect()"]
pub struct RedisHubBuilder {
    url: String,
    prefix: String,
    queue_messages: usize,
    queue_bytes: usize,
    connect_timeout: Duration,
    linger: Duration,
}

/// A [`Hub`] over Redis pub/sub: several servers started with the same
/// Redis and prefix act as one (publishes, broadcasts and commands reach
/// every node). At-most-once: see [`crate::hub`].
///
/// ```no_run
/// use stdws::hub::RedisHub;
/// use stdws::{Handler, NodeId, Server};
///
/// struct Chat;
/// impl Handler for Chat {}
///
/// let hub = RedisHub::builder("redis://:secret@127.0.0.1:6379/0").prefix("chat-eu").connect()?;
/// let server = Server::builder()
///     .node(NodeId::new("eu-1")?)
///     .hub(hub)
///     .route("/chat", Chat)
///     .bind("0.0.0.0:8000")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct RedisHub {
    shared: Arc<Shared>,
}

/// What the hub's threads and the client threads share.
struct Shared {
    client: redis::Client,
    prefix: String,
    connect_timeout: Duration,
    /// How long the delivery thread gathers under load.
    linger: Duration,
    queue: Queue,
    /// The links made at connect(), handed to the threads at attach().
    links: Mutex<Option<(redis::Connection, redis::Connection)>>,
    node: Mutex<Option<Attached>>,
    /// Topics with local subscribers; `dirty` when the subscriber has not
    /// caught up yet.
    topics: Mutex<BTreeSet<String>>,
    dirty: AtomicBool,
    stopping: AtomicBool,
    threads: Mutex<Vec<JoinHandle<()>>>,
    counters: Counters,
}

struct Attached {
    local: Arc<dyn LocalNode>,
    /// Our node id as text: the origin of every envelope we send.
    origin: String,
}

#[derive(Default)]
struct Counters {
    published: AtomicU64,
    delivered: AtomicU64,
    dropped: AtomicU64,
    lost: AtomicU64,
    reconnects: AtomicU64,
    publisher_up: AtomicBool,
    subscriber_up: AtomicBool,
    /// Bumped each time the subscriber connects: the publisher tries at
    /// once instead of waiting out its backoff.
    epoch: AtomicU64,
}

/// The longest cluster prefix, in bytes.
const MAX_PREFIX: usize = 64;

impl RedisHub {
    /// A builder for the Redis at `url`: `redis://[[user]:password@]host[:port][/db]`,
    /// `rediss://…` (TLS, with feature `tls` or `rustls`) or
    /// `redis+unix:///path`.
    pub fn builder(url: impl Into<String>) -> RedisHubBuilder {
        RedisHubBuilder {
            url: url.into(),
            prefix: "stdws".into(),
            queue_messages: 4096,
            queue_bytes: 16 << 20,
            connect_timeout: Duration::from_secs(3),
            linger: Duration::from_millis(1),
        }
    }

    /// Connects to `url` with the default options ([`RedisHub::builder`]).
    pub fn connect(url: &str) -> io::Result<RedisHub> {
        RedisHub::builder(url).connect()
    }

    /// The cluster prefix of every channel.
    pub fn prefix(&self) -> &str {
        &self.shared.prefix
    }
}

impl RedisHubBuilder {
    /// Isolates this cluster from others on the same Redis: every channel
    /// starts with `prefix:` (1 to 64 letters, digits, `-`, `_`, `.`;
    /// default `stdws`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> RedisHubBuilder {
        self.prefix = prefix.into();
        self
    }

    /// The publisher's queue holds at most this many envelopes (default
    /// 4096); past that, publishes are dropped and counted.
    pub fn queue_messages(mut self, messages: usize) -> RedisHubBuilder {
        self.queue_messages = messages.max(1);
        self
    }

    /// The publisher's queue holds at most this many bytes (default
    /// 16 MiB); past that, publishes are dropped and counted.
    pub fn queue_bytes(mut self, bytes: usize) -> RedisHubBuilder {
        self.queue_bytes = bytes;
        self
    }

    /// How long connecting (TCP, TLS, AUTH, SELECT) may take (default 3 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> RedisHubBuilder {
        self.connect_timeout = timeout;
        self
    }

    /// Under load, how long the delivery thread gathers what other nodes
    /// publish before it writes to the local subscribers (default 1 ms;
    /// `Duration::ZERO` turns it off, at most 100 ms).
    ///
    /// Consecutive publishes to a topic reach each subscriber in one
    /// write, so the more are gathered, the fewer system calls per
    /// delivered message. "Under load" means the previous batch held more
    /// than one envelope: a lone message (a quiet topic) is written at
    /// once and never waits, as with Linux's TCP autocorking.
    pub fn linger(mut self, linger: Duration) -> RedisHubBuilder {
        self.linger = linger.min(Duration::from_millis(100));
        self
    }

    /// Checks the URL and the prefix and connects both links now: a wrong
    /// password, an unknown database or an unreachable Redis is an error
    /// here (with Redis's own words: `WRONGPASS`, `NOAUTH`, …), never a
    /// hub that silently reaches no one.
    pub fn connect(self) -> io::Result<RedisHub> {
        check_prefix(&self.prefix)?;
        let client = redis::Client::open(self.url.as_str()).map_err(redis_error)?;
        let open = || -> io::Result<redis::Connection> {
            let mut link = client
                .get_connection_with_timeout(self.connect_timeout)
                .map_err(redis_error)?;
            link.set_read_timeout(Some(self.connect_timeout))
                .map_err(redis_error)?;
            // The handshake may be lazy: a PING proves the password and
            // the database.
            redis::cmd("PING")
                .query::<String>(&mut link)
                .map_err(redis_error)?;
            Ok(link)
        };
        let links = (open()?, open()?);
        Ok(RedisHub {
            shared: Arc::new(Shared {
                client,
                prefix: self.prefix,
                connect_timeout: self.connect_timeout,
                linger: self.linger,
                queue: Queue::new(self.queue_messages, self.queue_bytes),
                links: Mutex::new(Some(links)),
                node: Mutex::new(None),
                topics: Mutex::new(BTreeSet::new()),
                dirty: AtomicBool::new(false),
                stopping: AtomicBool::new(false),
                threads: Mutex::new(Vec::new()),
                counters: Counters::default(),
            }),
        })
    }
}

fn check_prefix(prefix: &str) -> io::Result<()> {
    // No ':' in a prefix: "a" and "a:topic" would otherwise share channels.
    let valid = !prefix.is_empty()
        && prefix.len() <= MAX_PREFIX
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a cluster prefix is 1 to 64 letters, digits, '-', '_' or '.'",
        ))
    }
}

/// Keeps Redis's error (and its words) as the cause.
fn redis_error(e: redis::RedisError) -> io::Error {
    let kind = if e.is_connection_refusal() {
        io::ErrorKind::ConnectionRefused
    } else if e.is_timeout() {
        io::ErrorKind::TimedOut
    } else if e.kind() == redis::ErrorKind::AuthenticationFailed {
        io::ErrorKind::PermissionDenied
    } else {
        io::ErrorKind::Other
    };
    io::Error::new(kind, RedisFailure(e))
}

/// A Redis error, said so that an operator knows what to fix.
#[derive(Debug)]
struct RedisFailure(redis::RedisError);

impl std::fmt::Display for RedisFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The redis crate keeps "authentication failed" but not the
        // server's WRONGPASS line, which is what operators search for.
        if self.0.kind() == redis::ErrorKind::AuthenticationFailed {
            write!(
                f,
                "Redis refused the password (WRONGPASS: invalid password): {}",
                self.0
            )
        } else {
            write!(f, "Redis: {}", self.0)
        }
    }
}

impl std::error::Error for RedisFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn topic_channel(&self, topic: &str) -> String {
        format!("{}:topic:{topic}", self.prefix)
    }

    fn node_channel(&self, node: &NodeId) -> String {
        format!("{}:node:{node}", self.prefix)
    }

    fn broadcast_channel(&self) -> String {
        format!("{}:all", self.prefix)
    }

    /// The topic a channel of ours names, if it is a topic channel.
    fn topic_of<'a>(&self, channel: &'a str) -> Option<&'a str> {
        channel
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix(":topic:")
    }

    fn origin(&self) -> Option<String> {
        lock(&self.node).as_ref().map(|a| a.origin.clone())
    }

    fn local(&self) -> Option<Arc<dyn LocalNode>> {
        lock(&self.node).as_ref().map(|a| Arc::clone(&a.local))
    }

    /// Queues `body` for `channel`; false when it was dropped.
    fn send(&self, channel: String, body: &Body) -> bool {
        let Some(origin) = self.origin() else {
            return false;
        };
        let sent = self.queue.push(channel, &origin, body);
        if !sent {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    fn open(&self) -> Result<redis::Connection, redis::RedisError> {
        self.client
            .get_connection_with_timeout(self.connect_timeout)
    }

    /// A TCP connect to Redis's address succeeds: worth a real attempt now.
    fn reachable(&self) -> bool {
        let (host, port) = match &self.client.get_connection_info().addr {
            redis::ConnectionAddr::Tcp(host, port) => (host, *port),
            redis::ConnectionAddr::TcpTls { host, port, .. } => (host, *port),
            _ => return true,
        };
        let Ok(mut addrs) = (host.as_str(), port).to_socket_addrs() else {
            return false;
        };
        addrs.any(|a| TcpStream::connect_timeout(&a, Duration::from_millis(200)).is_ok())
    }

    /// Waits up to `delay` before a reconnect attempt: less when Redis is
    /// found listening again, or the hub stops.
    fn wait_to_retry(&self, delay: Duration, probe: bool) {
        const STEP: Duration = Duration::from_millis(250);
        let until = std::time::Instant::now() + delay;
        loop {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() || self.stopping() {
                return;
            }
            std::thread::sleep(left.min(STEP));
            if probe && left > STEP && self.reachable() {
                return;
            }
        }
    }
}

impl Hub for RedisHub {
    fn attach(&self, local: Arc<dyn LocalNode>) -> io::Result<()> {
        let shared = &self.shared;
        let (publisher_link, subscriber_link) = lock(&shared.links).take().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "this RedisHub serves a server already",
            )
        })?;
        lock(&shared.topics).extend(local.topics());
        *lock(&shared.node) = Some(Attached {
            origin: local.node().to_string(),
            local,
        });
        let publisher = publisher::start(Arc::clone(shared), publisher_link)?;
        lock(&shared.threads).push(publisher);
        match subscriber::start(Arc::clone(shared), subscriber_link) {
            Ok(thread) => {
                lock(&shared.threads).push(thread);
                Ok(())
            }
            Err(e) => {
                self.detach();
                Err(e)
            }
        }
    }

    fn detach(&self) {
        let shared = &self.shared;
        shared.stopping.store(true, Ordering::SeqCst);
        shared.queue.wake_all();
        let threads = std::mem::take(&mut *lock(&shared.threads));
        for thread in threads {
            let _ = thread.join();
        }
        *lock(&shared.node) = None;
    }

    fn publish(&self, topic: &str, message: &Message, except: Option<&ConnectionId>) {
        let body = Body::Publish {
            except: except.cloned(),
            message: message.clone(),
        };
        self.shared.send(self.shared.topic_channel(topic), &body);
    }

    fn broadcast(&self, message: &Message) {
        let body = Body::Broadcast(message.clone());
        self.shared.send(self.shared.broadcast_channel(), &body);
    }

    fn forward(&self, command: &Command) -> Result<(), CommandError> {
        let channel = self.shared.node_channel(command.to().node());
        if self.shared.send(channel, &Body::Command(command.clone())) {
            Ok(())
        } else {
            Err(CommandError::Dropped)
        }
    }

    fn interest(&self, topic: &str, subscribed: bool) {
        let shared = &self.shared;
        {
            let mut topics = lock(&shared.topics);
            if subscribed {
                topics.insert(topic.to_owned());
            } else {
                topics.remove(topic);
            }
        }
        shared.dirty.store(true, Ordering::SeqCst);
        // Wakes our subscriber (blocked reading) through its own channel.
        let node = shared.local().map(|l| l.node().clone());
        if let (Some(node), Some(origin)) = (node, shared.origin()) {
            shared
                .queue
                .push_unnumbered(shared.node_channel(&node), &origin, &Body::Wake);
        }
    }

    fn stats(&self) -> HubStats {
        let c = &self.shared.counters;
        let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
        HubStats {
            published: load(&c.published),
            delivered: load(&c.delivered),
            dropped: load(&c.dropped),
            lost: load(&c.lost),
            reconnects: load(&c.reconnects),
            connected: c.publisher_up.load(Ordering::Relaxed)
                && c.subscriber_up.load(Ordering::Relaxed),
            queued: self.shared.queue.len() as u64,
        }
    }
}

impl std::fmt::Debug for RedisHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisHub")
            .field("prefix", &self.shared.prefix)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}
