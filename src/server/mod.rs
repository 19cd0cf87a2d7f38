//! [`Server`]: a thread per client, [`Handler`]s by resource path,
//! [`Client`] handles that send from any thread, broadcasts, static files
//! and an echo console, graceful shutdown.
//!
//! One thread accepts; each connection gets its own thread (named
//! `stdws-client-N`, with a small stack) that runs the opening handshake
//! under [`Config::handshake_timeout`], then reads the client's frames and
//! calls its handler. One timer thread keeps every deadline (handshake,
//! keep-alive pings and pongs, closing handshakes) and shuts a socket down
//! to stop a blocked reader. A client that reads slower than the server
//! writes gets a flusher thread while it is behind; nobody else waits for it.
//!
//! ```no_run
//! use stdws::{Client, Error, Handler, Message, Server};
//!
//! struct Chat;
//!
//! impl Handler for Chat {
//!     fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
//!         client.clients().broadcast(&message);
//!         Ok(())
//!     }
//! }
//!
//! let server = Server::builder()
//!     .route("/chat", Chat)
//!     .console(true)
//!     .bind("127.0.0.1:8000")?;
//! println!("chat on ws://{}/chat", server.local_addr());
//! server.wait(); // until shutdown() from another thread
//! # Ok::<(), stdws::Error>(())
//! ```
//!
//! The same port can speak TLS (`ServerBuilder::tls`, with a TLS feature:
//! `https://` and `wss://`) and require HTTP Basic or Digest
//! authentication for every request ([`ServerBuilder::authenticator`]; the
//! user is [`Request::user`](crate::Request::user) in the handshake hook and
//! [`Client::user`] after). Over TLS a client's thread waits on the raw socket
//! without holding the TLS session, so [`Client`] handles send at once from
//! any thread, as over plain TCP.

#[cfg(test)]
mod auth_tests;
mod client;
mod files;
mod handler;
#[cfg(test)]
mod hub_tests;
mod idle;
mod logging;
mod node;
mod router;
mod stack;
#[cfg(test)]
mod tests;
mod topics;
#[cfg(test)]
mod topics_tests;
mod worker;

pub use client::{Client, Clients};
pub use handler::{Admission, Handler};

use std::collections::HashMap;
use std::io::{self, IoSlice};
use std::net::ToSocketAddrs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::close_code::CloseCode;
use crate::config::Config;
use crate::error::Error;
use crate::handshake::auth::Authenticator;
use crate::handshake::server::error_response;
use crate::hub::{ConnectionId, Hub, HubStats, InProcess, NodeId};
use crate::listener::Binding;
use crate::transport::duplex::{Acceptor, Duplex};
use crate::transport::timer::Timers;
use files::DocumentRoot;
use router::Router;

/// Refused connections (over `max_connections`) kept open at most at once
/// while their 503 drains.
const MAX_LINGERING: usize = 256;

/// How long a refused connection is kept so the peer reads its 503 before
/// the socket closes (closing with its request unread would reset it).
const LINGER: Duration = Duration::from_secs(1);

/// Options for a [`Server`]; made by [`Server::builder`].
///
/// ```no_run
/// use std::time::Duration;
/// use stdws::{Config, Handler, Server};
///
/// struct Echo;
/// impl Handler for Echo {}
///
/// let server = Server::builder()
///     .config(Config::default().max_connections(1000).ping_interval(Some(Duration::from_secs(20))))
///     .route("/echo", Echo)
///     .document_root("public")
///     .allowed_origins(["https://example.com"])
///     .bind("0.0.0.0:8080")?;
/// # Ok::<(), stdws::Error>(())
/// ```
#[must_use = "a builder does nothing until bind()"]
pub struct ServerBuilder {
    config: Config,
    router: Router,
    root: Option<PathBuf>,
    console: bool,
    origins: Option<Vec<String>>,
    stack_size: Option<usize>,
    shutdown_timeout: Duration,
    send_buffer_size: Option<usize>,
    backlog: i32,
    acceptor: Option<Arc<dyn Acceptor>>,
    authenticator: Option<Authenticator>,
    node: Option<NodeId>,
    hub: Option<Arc<dyn Hub>>,
    hixie76: bool,
}

/// The default stack of a client's thread.
const STACK_SIZE: usize = 256 << 10;

/// With compression in a debug build: miniz_oxide builds its compressor
/// (about 300 KB) on the stack before boxing it; optimised builds build it
/// in place. Untouched stack pages cost address space, not memory.
const STACK_SIZE_DEBUG_DEFLATE: usize = 1 << 20;

impl Default for ServerBuilder {
    fn default() -> ServerBuilder {
        ServerBuilder {
            config: Config::default(),
            router: Router::default(),
            root: None,
            console: false,
            origins: None,
            stack_size: None,
            shutdown_timeout: Duration::from_secs(5),
            send_buffer_size: None,
            backlog: 1024,
            acceptor: None,
            authenticator: None,
            node: None,
            hub: None,
            hixie76: false,
        }
    }
}

impl ServerBuilder {
    /// Limits and timeouts for every connection (including
    /// [`max_connections`](Config::max_connections) and the keep-alive
    /// [`ping_interval`](Config::ping_interval)).
    pub fn config(mut self, config: Config) -> ServerBuilder {
        self.config = config;
        self
    }

    /// Serves WebSocket connections to `path` (exact match, query
    /// ignored) with `handler`.
    pub fn route(mut self, path: impl Into<String>, handler: impl Handler) -> ServerBuilder {
        self.router.add(path.into(), Arc::new(handler));
        self
    }

    /// Serves WebSocket connections to every path without a
    /// [`route`](Self::route) with `handler` (without one: 404).
    pub fn fallback(mut self, handler: impl Handler) -> ServerBuilder {
        self.router.set_fallback(Arc::new(handler));
        self
    }

    /// Serves files from `dir` to plain HTTP GET and HEAD requests on the
    /// same port (no directory listings; `index.html` for a directory;
    /// nothing outside `dir`, by name or by symlink).
    pub fn document_root(mut self, dir: impl Into<PathBuf>) -> ServerBuilder {
        self.root = Some(dir.into());
        self
    }

    /// Serves the built-in echo console page at `/` (plain HTTP): type a
    /// message, see the echo, connect to any path, see close codes.
    /// `/?selftest=/echo` runs a self-test against `/echo` and shows PASS
    /// or FAIL. Off by default.
    pub fn console(mut self, on: bool) -> ServerBuilder {
        self.console = on;
        self
    }

    /// Accepts WebSocket requests only from these origins (exact,
    /// case-insensitive `Origin` values, e.g. `https://example.com`);
    /// others get 403. Requests without `Origin` (not from a browser) pass.
    pub fn allowed_origins<I, S>(mut self, origins: I) -> ServerBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.origins = Some(origins.into_iter().map(Into::into).collect());
        self
    }

    /// Stack size of each client's thread (default 256 KiB; 1 MiB in debug
    /// builds with an extension configured, for miniz_oxide). Handlers that
    /// recurse deeply or keep large arrays on the stack need more.
    pub fn stack_size(mut self, bytes: usize) -> ServerBuilder {
        self.stack_size = Some(bytes);
        self
    }

    /// How long [`Server::shutdown`] waits for clients to answer 1001
    /// before cutting them off (default 5 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> ServerBuilder {
        self.shutdown_timeout = timeout;
        self
    }

    /// Sets `SO_SNDBUF` on accepted sockets (default: the system's). A
    /// smaller buffer bounds kernel memory per client and notices a slow
    /// reader sooner.
    pub fn send_buffer_size(mut self, bytes: usize) -> ServerBuilder {
        self.send_buffer_size = Some(bytes);
        self
    }

    /// The listen backlog (default 1024).
    pub fn backlog(mut self, backlog: i32) -> ServerBuilder {
        self.backlog = backlog;
        self
    }

    /// Serves `https://` and `wss://` only: every accepted connection runs
    /// a TLS handshake first, on its own thread, within
    /// [`Config::handshake_timeout`] (which covers TLS, the HTTP head and
    /// the 101 together). A failed TLS handshake ends the connection
    /// without an answer (logged). A plain HTTP request on this port (a
    /// `ws://` or `http://` URL) is answered `400` in plain HTTP, saying
    /// to use `wss://` or `https://`, where a TLS library would reset it.
    ///
    /// Sends from other threads reach a `wss://` client at once while its
    /// thread is blocked reading, as over plain TCP: the reader waits on
    /// the raw socket without holding the TLS session (see [`crate::tls`]).
    ///
    /// ```no_run
    /// use stdws::tls::TlsAcceptor;
    /// use stdws::{Handler, Server};
    ///
    /// struct Echo;
    /// impl Handler for Echo {}
    ///
    /// let server = Server::builder()
    ///     .tls(TlsAcceptor::from_pem("cert.pem", "key.pem")?)
    ///     .route("/echo", Echo)
    ///     .bind("0.0.0.0:8443")?;
    /// # Ok::<(), stdws::Error>(())
    /// ```
    #[cfg(any(feature = "tls", feature = "rustls"))]
    pub fn tls(self, acceptor: crate::tls::TlsAcceptor) -> ServerBuilder {
        self.tls_acceptor(acceptor.acceptor())
    }

    /// Makes every accepted connection TLS: `acceptor` runs the TLS
    /// handshake on the client's thread and hands back a session.
    #[cfg_attr(not(any(feature = "tls", feature = "rustls", test)), allow(dead_code))]
    pub(crate) fn tls_acceptor(mut self, acceptor: Arc<dyn Acceptor>) -> ServerBuilder {
        self.acceptor = Some(acceptor);
        self
    }

    /// Requires HTTP authentication (Basic, RFC 7617, or Digest,
    /// RFC 7616) for every request on the port: WebSocket upgrades, static
    /// files and the console alike. A request without valid credentials
    /// is answered `401 Unauthorized` with `WWW-Authenticate` challenges
    /// before anything else is looked at (so a 404 does not tell an
    /// unauthenticated client which paths exist); the user name it proved
    /// is [`Request::user`](crate::Request::user) in the handshake hook
    /// and [`Client::user`] after. Credentials are never logged.
    ///
    /// Basic sends the password in the clear: use it with
    /// `tls` (feature `tls` or `rustls`).
    ///
    /// ```no_run
    /// use stdws::handshake::auth::Authenticator;
    /// use stdws::{Handler, Server};
    ///
    /// struct Echo;
    /// impl Handler for Echo {}
    ///
    /// let auth = Authenticator::digest("chat", |user| (user == "alice").then(|| "s3cret".into()));
    /// let server = Server::builder()
    ///     .authenticator(auth)
    ///     .route("/echo", Echo)
    ///     .bind("127.0.0.1:8000")?;
    /// # Ok::<(), stdws::Error>(())
    /// ```
    pub fn authenticator(mut self, authenticator: Authenticator) -> ServerBuilder {
        self.authenticator = Some(authenticator);
        self
    }

    /// This server's node in a cluster: part of every
    /// [`ConnectionId`] it hands out. Default: a new start of the node
    /// named `node` (ids stay unique: each start draws its own random
    /// component).
    pub fn node(mut self, node: NodeId) -> ServerBuilder {
        self.node = Some(node);
        self
    }

    /// Joins a cluster: publishes, broadcasts and commands for other
    /// nodes' connections go through `hub` (default: [`InProcess`],
    /// nothing leaves the process). See [`crate::hub`].
    pub fn hub(mut self, hub: impl Hub) -> ServerBuilder {
        self.hub = Some(Arc::new(hub));
        self
    }

    /// Also serves clients of draft-hixie-thewebsocketprotocol-76, the
    /// protocol of 2010-era browsers and of devices frozen since (off by
    /// default: such a request is answered 426 with
    /// `Sec-WebSocket-Version: 13`).
    ///
    /// A hixie-76 client meets the same routes, authentication, origin
    /// allow-list and [`Handler`] (its
    /// [`handshake`](Handler::handshake) hook included) as any other, and
    /// gets [`Message::Text`](crate::Message::Text) in and out:
    /// [`Client::send`] and broadcasts reach it in its own framing,
    /// encoded once per protocol. It cannot carry binary messages: sending
    /// one to it is [`Error::Usage`](crate::Error::Usage), and a binary
    /// broadcast does not count it. It has no pings either: one that sends
    /// nothing for [`Config::read_timeout`] is let go as idle, or, without
    /// one, for [`Config::ping_interval`] + [`Config::pong_timeout`] (the
    /// time a silent RFC 6455 client is given). Nor has it close codes
    /// ([`Handler::on_close`] sees 1005 when it closes). Tell one apart with
    /// [`Request::is_hixie76`](crate::Request::is_hixie76)
    /// (`client.request()`).
    ///
    /// The protocol has no masking, which makes a browser on the same
    /// network as a caching proxy a tool to poison that cache: see the
    /// [`security`](crate::security) chapter before turning this on.
    pub fn hixie76(mut self, on: bool) -> ServerBuilder {
        self.hixie76 = on;
        self
    }

    /// Binds to `addr` and starts serving.
    pub fn bind<A: ToSocketAddrs>(self, addr: A) -> Result<Server, Error> {
        let listener = Binding::bind(addr)?.listen(self.backlog)?.into_inner();
        self.listen(listener)
    }

    /// Starts serving on a listening socket.
    pub fn listen(self, listener: TcpListener) -> Result<Server, Error> {
        Ok(self.start(listener)?)
    }

    /// What `listen` does; every failure here is the operating system's.
    fn start(self, listener: TcpListener) -> io::Result<Server> {
        let root = self.root.as_deref().map(DocumentRoot::new).transpose()?;
        let local_addr = listener.local_addr()?;
        let (timers, timer_thread) = Timers::start()?;
        let stack_size = self.stack_size.unwrap_or(
            if cfg!(debug_assertions) && !self.config.extensions.is_empty() {
                STACK_SIZE_DEBUG_DEFLATE
            } else {
                STACK_SIZE
            },
        );
        let node = self.node.unwrap_or_default();
        let hub = self.hub.unwrap_or_else(|| Arc::new(InProcess));
        let inner = Arc::new(ServerState {
            clients: Clients::new(self.config.fragment_size, node.clone(), Arc::clone(&hub)),
            node,
            hub,
            config: self.config,
            router: self.router,
            root,
            console: self.console,
            origins: self.origins,
            stack_size,
            send_buffer_size: self.send_buffer_size,
            acceptor: self.acceptor,
            authenticator: self.authenticator,
            hixie76: self.hixie76,
            timers,
            live: Mutex::new(HashMap::new()),
            live_changed: Condvar::new(),
            next_id: AtomicU64::new(1),
            stopping: AtomicBool::new(false),
            stopped: Mutex::new(false),
            stopped_changed: Condvar::new(),
            lingering: Arc::new(AtomicUsize::new(0)),
            local_addr,
            shutdown_timeout: self.shutdown_timeout,
        });
        if let Err(e) = inner.hub.attach(node::attach(&inner.clients)) {
            inner.timers.stop();
            let _ = timer_thread.join();
            return Err(e);
        }
        let accepting = Arc::clone(&inner);
        let accept_thread = thread::Builder::new()
            .name("stdws-accept".into())
            .spawn(move || accept_loop(&accepting, &listener));
        let accept_thread = match accept_thread {
            Ok(handle) => handle,
            Err(e) => {
                inner.hub.detach();
                inner.timers.stop();
                let _ = timer_thread.join();
                return Err(e);
            }
        };
        Ok(Server {
            inner,
            threads: Mutex::new(Some((accept_thread, timer_thread))),
        })
    }
}

/// A running WebSocket server.
///
/// Dropping it shuts it down ([`shutdown`](Self::shutdown)); call
/// [`wait`](Self::wait) to serve until another thread (a Ctrl-C handler)
/// calls `shutdown`.
///
/// # Logging
///
/// The server logs through the `log` crate under the target
/// `stdws::server`, whatever its handlers override (install a logger such
/// as `env_logger` to see it): at INFO a connection opened (peer, path,
/// client id, subprotocol) and closed (close code, reason, duration), a
/// handshake refused with the HTTP status it was answered (400, 401, 403,
/// 404, 408, 426, 431, 503, ...) and a failed TLS handshake; at WARN a
/// client's connection that failed (protocol violation, limit, timeout, an
/// error from a handler); at DEBUG a connection accepted; at TRACE each
/// message, ping and pong received. Paths are logged without their query,
/// credentials never.
pub struct Server {
    inner: Arc<ServerState>,
    threads: Mutex<Option<(JoinHandle<()>, JoinHandle<()>)>>,
}

/// What the server's threads share.
pub(crate) struct ServerState {
    pub(crate) node: NodeId,
    hub: Arc<dyn Hub>,
    pub(crate) config: Config,
    pub(crate) router: Router,
    pub(crate) root: Option<DocumentRoot>,
    pub(crate) console: bool,
    pub(crate) origins: Option<Vec<String>>,
    pub(crate) acceptor: Option<Arc<dyn Acceptor>>,
    pub(crate) authenticator: Option<Authenticator>,
    pub(crate) hixie76: bool,
    pub(crate) clients: Clients,
    pub(crate) timers: Arc<Timers>,
    pub(crate) stopping: AtomicBool,
    stack_size: usize,
    send_buffer_size: Option<usize>,
    /// Every connection's thread, from accept to its end.
    live: Mutex<HashMap<u64, Live>>,
    live_changed: Condvar,
    next_id: AtomicU64,
    stopped: Mutex<bool>,
    stopped_changed: Condvar,
    lingering: Arc<AtomicUsize>,
    local_addr: SocketAddr,
    shutdown_timeout: Duration,
}

struct Live {
    duplex: Weak<Duplex>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// A builder: routes, files, limits.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// The address the server listens on (with the port chosen when
    /// binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }

    /// The open clients, a handle to list them and broadcast.
    pub fn clients(&self) -> Clients {
        self.inner.clients.clone()
    }

    /// Sends `message` to every open client ([`Clients::broadcast`]: of
    /// the whole cluster), encoded once; returns how many clients of this
    /// server took it. Never blocks on a slow client.
    pub fn broadcast(&self, message: &crate::message::Message) -> usize {
        self.inner.clients.broadcast(message)
    }

    /// Publishes `message` to every subscriber of `topic`
    /// ([`Clients::publish`]); returns how many took it.
    pub fn publish(&self, topic: &str, message: &crate::message::Message) -> usize {
        self.inner.clients.publish(topic, message)
    }

    /// This server's node id (part of every [`ConnectionId`] it hands out).
    pub fn node(&self) -> &NodeId {
        &self.inner.node
    }

    /// What the server's hub has carried between nodes (all zero with the
    /// default in-process hub).
    pub fn hub_stats(&self) -> HubStats {
        self.inner.hub.stats()
    }

    /// The number of connections (handshakes in progress included).
    pub fn connections(&self) -> usize {
        self.inner.live().len()
    }

    /// Blocks until the server is shut down (by [`shutdown`](Self::shutdown)
    /// from another thread).
    pub fn wait(&self) {
        let mut stopped = self.inner.stopped();
        while !*stopped {
            stopped = self
                .inner
                .stopped_changed
                .wait(stopped)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Shuts the server down: stops accepting, sends 1001 Going Away to
    /// every client, gives them the shutdown timeout to answer, cuts off
    /// the rest, and joins every thread. Returns when done; calling it
    /// again (or from another thread meanwhile) waits for the same end.
    /// Do not call it from a handler: it waits for that handler's thread.
    pub fn shutdown(&self) {
        let inner = &self.inner;
        if inner.stopping.swap(true, Ordering::SeqCst) {
            self.wait();
            return;
        }
        let threads = self
            .threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let Some((accept_thread, timer_thread)) = threads else {
            return;
        };
        // The accept thread is blocked in accept(): a connection wakes it.
        let _ = TcpStream::connect_timeout(&wake_addr(inner.local_addr), Duration::from_secs(1));
        let _ = accept_thread.join();

        for (id, duplex) in inner.live_sockets() {
            match inner
                .clients
                .get(&ConnectionId::new(inner.node.clone(), id))
            {
                Some(client) => {
                    let _ = client.close(CloseCode::GOING_AWAY, "server shutting down");
                }
                // A handshake in progress: no WebSocket to close yet.
                None => duplex.shutdown(Shutdown::Both),
            }
        }
        let start = Instant::now();
        if !inner.wait_for_no_connections(start + inner.shutdown_timeout) {
            for (_, duplex) in inner.live_sockets() {
                duplex.shutdown(Shutdown::Both);
            }
            inner.wait_for_no_connections(Instant::now() + Duration::from_secs(2));
        }
        let stragglers: Vec<JoinHandle<()>> = inner
            .live()
            .drain()
            .filter_map(|(_, live)| live.thread)
            .collect();
        for thread in stragglers {
            if thread.is_finished() {
                let _ = thread.join();
            } else {
                log::warn!(
                    "thread {:?} still runs (a handler that does not return); left behind",
                    thread.thread().name()
                );
            }
        }
        inner.hub.detach();
        inner.timers.stop();
        let _ = timer_thread.join();
        *inner.stopped() = true;
        inner.stopped_changed.notify_all();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.inner.local_addr)
            .field("clients", &self.inner.clients.len())
            .finish_non_exhaustive()
    }
}

/// Where to connect to wake our own accept(): loopback for a wildcard address.
pub(crate) fn wake_addr(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

fn accept_loop(inner: &Arc<ServerState>, listener: &TcpListener) {
    loop {
        let accepted = listener.accept();
        if inner.stopping.load(Ordering::SeqCst) {
            return;
        }
        match accepted {
            Ok((tcp, peer)) => inner.admit(tcp, peer),
            Err(e) if crate::listener::out_of_descriptors(&e) => {
                // The connection waits in the backlog; retrying at once
                // would spin. A connection ending frees a descriptor.
                log::warn!("accept: {e}");
                let live = inner.live();
                let _ = inner
                    .live_changed
                    .wait_timeout(live, Duration::from_millis(100));
            }
            Err(e) => log::debug!("accept: {e}"),
        }
    }
}

impl ServerState {
    fn live(&self) -> MutexGuard<'_, HashMap<u64, Live>> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stopped(&self) -> MutexGuard<'_, bool> {
        self.stopped.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn live_sockets(&self) -> Vec<(u64, Arc<Duplex>)> {
        self.live()
            .iter()
            .filter_map(|(id, live)| Some((*id, live.duplex.upgrade()?)))
            .collect()
    }

    /// Waits until every connection's thread has ended; false at the deadline.
    fn wait_for_no_connections(&self, deadline: Instant) -> bool {
        let mut live = self.live();
        while !live.is_empty() {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            live = self
                .live_changed
                .wait_timeout(live, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// Gives an accepted connection its thread, or a 503.
    fn admit(self: &Arc<Self>, tcp: TcpStream, peer: SocketAddr) {
        let mut live = self.live();
        if live.len() >= self.config.max_connections {
            drop(live);
            logging::busy(peer, self.config.max_connections);
            self.refuse(tcp);
            return;
        }
        let _ = tcp.set_nodelay(self.config.nodelay);
        if let Some(bytes) = self.send_buffer_size {
            let _ = socket2::SockRef::from(&tcp).set_send_buffer_size(bytes);
        }
        let number = self.next_id.fetch_add(1, Ordering::Relaxed);
        logging::accepted(peer, number);
        let duplex = Arc::new(Duplex::new(tcp));
        let inner = Arc::clone(self);
        let socket = Arc::clone(&duplex);
        // Spawned under the lock: the thread's end (which takes the lock)
        // always finds its entry.
        let spawned = thread::Builder::new()
            .name(format!("stdws-client-{number}"))
            .stack_size(self.stack_size)
            .spawn(move || {
                let stack = stack::Stack::of_this_thread(inner.stack_size);
                // Runs even if a handler panics: the connection's slot and
                // its registration are given back.
                let id = ConnectionId::new(inner.node.clone(), number);
                let _ended = Ended {
                    inner: &inner,
                    id: &id,
                };
                worker::run(&inner, socket, peer, id.clone(), stack);
            });
        match spawned {
            Ok(thread) => {
                live.insert(
                    number,
                    Live {
                        duplex: Arc::downgrade(&duplex),
                        thread: Some(thread),
                    },
                );
            }
            Err(e) => {
                drop(live);
                logging::no_thread(peer, &e);
                let _ = duplex.send_now(&[IoSlice::new(&busy_page())]);
            }
        }
    }

    /// Answers 503 without reading the request and without blocking.
    fn refuse(&self, tcp: TcpStream) {
        let duplex = Duplex::new(tcp);
        let _ = duplex.send_now(&[IoSlice::new(&busy_page())]);
        duplex.shutdown_write();
        if self.lingering.fetch_add(1, Ordering::SeqCst) < MAX_LINGERING {
            let lingering = Arc::clone(&self.lingering);
            self.timers.schedule(Instant::now() + LINGER, move || {
                drop(duplex);
                lingering.fetch_sub(1, Ordering::SeqCst);
            });
        } else {
            self.lingering.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// A connection's thread is about to return: the timer thread joins it.
    fn ended(self: &Arc<Self>, id: u64) {
        let me = Arc::downgrade(self);
        self.timers.schedule(Instant::now(), move || {
            let Some(inner) = me.upgrade() else { return };
            let thread = inner.live().remove(&id).and_then(|live| live.thread);
            if let Some(thread) = thread {
                let _ = thread.join();
            }
            inner.live_changed.notify_all();
        });
    }
}

/// Marks a connection's thread as ended when dropped (also by a panic).
struct Ended<'a> {
    inner: &'a Arc<ServerState>,
    id: &'a ConnectionId,
}

impl Drop for Ended<'_> {
    fn drop(&mut self) {
        self.inner.clients.remove(self.id);
        self.inner.ended(self.id.number());
    }
}

fn busy_page() -> Vec<u8> {
    error_response(
        503,
        "too many connections",
        &[("Retry-After".into(), "1".into())],
    )
}
