//! twspy's server verbs: `bind`, `listen`, `accept`, and
//! [`incoming`](Listener::incoming) for a server that hands each
//! connection's handshake to that connection's own thread.
//!
//! The opening handshake reads from the client: a client that sends
//! nothing holds the thread that waits for it until
//! [`Config::handshake_timeout`], and a request that is not an upgrade
//! (a browser, `curl`) fails it. [`Listener::accept`] does that on the
//! accepting thread, so it suits a server for one client at a time; a
//! server for many runs [`Pending::handshake`] on each client's thread.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::config::Config;
use crate::error::Error;
use crate::handshake::server::Accept;
use crate::upgrade::ServerHandshake;
use crate::websocket::WebSocket;

/// A bound, not yet listening, server socket (from [`WebSocket::bind`]).
#[derive(Debug)]
pub struct Binding {
    socket: Socket,
}

impl Binding {
    /// Binds to the first address that works, with `SO_REUSEADDR` so a
    /// restarted server can bind again at once.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> Result<Binding, Error> {
        let mut last = io::Error::new(io::ErrorKind::InvalidInput, "no address to bind");
        for addr in addr.to_socket_addrs()? {
            let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
            socket.set_reuse_address(true)?;
            match socket.bind(&addr.into()) {
                Ok(()) => return Ok(Binding { socket }),
                Err(e) => last = e,
            }
        }
        Err(last.into())
    }

    /// Starts listening with this backlog of pending connections.
    pub fn listen(self, backlog: i32) -> Result<Listener, Error> {
        self.socket.listen(backlog)?;
        Ok(Listener::from_tcp(self.socket.into()))
    }

    /// The bound address (with the port chosen when binding port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("not an IP socket"))
    }
}

/// A listening WebSocket server socket.
///
/// [`incoming`](Listener::incoming) yields each TCP connection as a
/// [`Pending`] whose handshake runs where you call
/// [`handshake`](Pending::handshake), on the connection's own thread: a
/// client that fails or stalls its handshake ends or holds that thread
/// only. [`accept`](Listener::accept) does both steps on the calling thread.
///
/// ```no_run
/// use stdws::{Connection, WebSocket};
///
/// let listener = WebSocket::bind("127.0.0.1:9001")?.listen(128)?;
/// for pending in listener.incoming() {
///     let pending = pending?; // only a broken listener stops the loop
///     std::thread::spawn(move || -> Result<(), stdws::Error> {
///         let mut conn = Connection::new(pending.handshake()?);
///         while let Some(message) = conn.recv()? {
///             conn.send(message)?;
///         }
///         Ok(())
///     });
/// }
/// # Ok::<(), stdws::Error>(())
/// ```
#[derive(Debug)]
pub struct Listener {
    listener: TcpListener,
    config: Config,
    protocols: Arc<[String]>,
}

impl Listener {
    /// Binds and listens (backlog 1024) in one step.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> Result<Listener, Error> {
        Binding::bind(addr)?.listen(1024)
    }

    /// Wraps a listening `TcpListener`.
    pub fn from_tcp(listener: TcpListener) -> Listener {
        Listener {
            listener,
            config: Config::default(),
            protocols: Arc::from([]),
        }
    }

    /// Uses this configuration for accepted connections.
    pub fn with_config(mut self, config: Config) -> Listener {
        self.config = config;
        self
    }

    /// Subprotocols this server speaks, most preferred first. A client
    /// asking for some of them gets the first of this list it asked for.
    pub fn with_protocols<I, P>(mut self, protocols: I) -> Listener
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        self.protocols = protocols
            .into_iter()
            .map(Into::into)
            .collect::<Vec<_>>()
            .into();
        self
    }

    /// The listening address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The `TcpListener`.
    pub fn get_ref(&self) -> &TcpListener {
        &self.listener
    }

    /// The `TcpListener`, taken out.
    pub fn into_inner(self) -> TcpListener {
        self.listener
    }

    /// Accepts a TCP connection and performs the server handshake on it,
    /// both on the calling thread, within [`Config::handshake_timeout`].
    ///
    /// A failed handshake (a plain HTTP request, a wrong version, a client
    /// that sends nothing until the timeout) is answered with its HTTP
    /// status (400, 408, 426, ...) and returned as
    /// [`Error::Handshake`](crate::HandshakeError); the listener stays
    /// usable, so call `accept` again, but `?` on it ends your loop. While
    /// it waits for one client's request no other client is accepted: a
    /// server for many clients uses [`incoming`](Self::incoming) instead.
    pub fn accept(&self) -> Result<WebSocket<TcpStream>, Error> {
        let (stream, _) = self.listener.accept()?;
        self.handshake(stream)
    }

    /// Performs the server handshake on an accepted stream, within
    /// [`Config::handshake_timeout`] from now.
    pub fn handshake(&self, stream: TcpStream) -> Result<WebSocket<TcpStream>, Error> {
        let deadline = Instant::now() + self.config.handshake_timeout;
        handshake(stream, self.config.clone(), &self.protocols, deadline)
    }

    /// TCP connections as they are accepted, each a [`Pending`] to
    /// [`handshake`](Pending::handshake) on its own thread. Never ends;
    /// yields an error only when the listener itself cannot accept any
    /// more (not a listening socket). A connection that the peer aborted
    /// before it was accepted is skipped, and when the process is out of
    /// file descriptors it waits 100 ms before it tries again (logged as
    /// a warning), rather than spin.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }
}

/// The iterator of [`Listener::incoming`].
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a Listener,
}

impl Iterator for Incoming<'_> {
    type Item = Result<Pending, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let listener = self.listener;
        loop {
            match listener.listener.accept() {
                Ok((stream, peer)) => {
                    return Some(Ok(Pending {
                        stream,
                        peer,
                        config: listener.config.clone(),
                        protocols: Arc::clone(&listener.protocols),
                        deadline: Instant::now() + listener.config.handshake_timeout,
                    }))
                }
                Err(e) if listener_is_broken(&e) => return Some(Err(e.into())),
                Err(e) if out_of_descriptors(&e) => {
                    // The connection waits in the backlog; retrying at once
                    // would spin. A connection ending frees a descriptor.
                    log::warn!("accept: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => log::debug!("accept: {e}"),
            }
        }
    }
}

/// A TCP connection accepted by [`Listener::incoming`], its opening
/// handshake not yet run. Send it to the connection's own thread and call
/// [`handshake`](Self::handshake) there.
#[derive(Debug)]
pub struct Pending {
    stream: TcpStream,
    peer: SocketAddr,
    config: Config,
    protocols: Arc<[String]>,
    deadline: Instant,
}

impl Pending {
    /// The client's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// Runs the server handshake with the listener's configuration and
    /// subprotocols, to be finished within [`Config::handshake_timeout`]
    /// of the TCP accept. A failed handshake is answered with its HTTP
    /// status (400, 408, 426, ...) and returned as
    /// [`Error::Handshake`](crate::HandshakeError).
    pub fn handshake(self) -> Result<WebSocket<TcpStream>, Error> {
        handshake(self.stream, self.config, &self.protocols, self.deadline)
    }

    /// The TCP connection, for a server that answers it some other way.
    pub fn into_inner(self) -> TcpStream {
        self.stream
    }
}

/// The server handshake, answering with the first of `protocols` (most
/// preferred first) that the client asked for.
fn handshake(
    stream: TcpStream,
    config: Config,
    protocols: &[String],
    deadline: Instant,
) -> Result<WebSocket<TcpStream>, Error> {
    stream.set_nodelay(config.nodelay)?;
    let pending = ServerHandshake::read_until(stream, config, deadline)?;
    let wanted = pending.request().protocols();
    let accept = match protocols.iter().find(|p| wanted.contains(&p.as_str())) {
        Some(p) => Accept::new().protocol(p.clone()),
        None => Accept::new(),
    };
    pending.accept(accept)
}

/// An accept error that ends because the process has no file descriptor
/// (or kernel memory) for the connection waiting in the backlog.
pub(crate) fn out_of_descriptors(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// An accept error that will come back on every call: the socket is not
/// a listening socket.
fn listener_is_broken(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EBADF | libc::EINVAL | libc::ENOTSOCK | libc::EOPNOTSUPP | libc::EFAULT)
    )
}

impl WebSocket<TcpStream> {
    /// Binds a TCP socket for a WebSocket server (twspy's `bind`); call
    /// [`listen`](Binding::listen) next, then
    /// [`incoming`](crate::Listener::incoming) (see [`Listener`] for a
    /// server for many clients) or [`accept`](crate::Listener::accept)
    /// (one client at a time, the handshake on this thread).
    ///
    /// ```no_run
    /// use stdws::WebSocket;
    /// let listener = WebSocket::bind("127.0.0.1:9001")?.listen(128)?;
    /// let mut ws = listener.accept()?;
    /// let frame = ws.recv()?;
    /// ws.send(&frame)?; // echo one frame back
    /// # Ok::<(), stdws::Error>(())
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A) -> Result<Binding, Error> {
        Binding::bind(addr)
    }
}
