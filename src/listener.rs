//! twspy's server verbs: `bind`, `listen`, `accept`.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};

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
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<Binding> {
        let mut last = io::Error::new(io::ErrorKind::InvalidInput, "no address to bind");
        for addr in addr.to_socket_addrs()? {
            let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
            socket.set_reuse_address(true)?;
            match socket.bind(&addr.into()) {
                Ok(()) => return Ok(Binding { socket }),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Starts listening with this backlog of pending connections.
    pub fn listen(self, backlog: i32) -> io::Result<Listener> {
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

/// A listening WebSocket server socket: each [`accept`](Listener::accept)
/// takes one TCP connection and runs the server handshake on it.
#[derive(Debug)]
pub struct Listener {
    listener: TcpListener,
    config: Config,
    protocols: Vec<String>,
}

impl Listener {
    /// Binds and listens (backlog 1024) in one step.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<Listener> {
        Binding::bind(addr)?.listen(1024)
    }

    /// Wraps a listening `TcpListener`.
    pub fn from_tcp(listener: TcpListener) -> Listener {
        Listener {
            listener,
            config: Config::default(),
            protocols: Vec::new(),
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
        self.protocols = protocols.into_iter().map(Into::into).collect();
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

    /// Accepts a TCP connection and performs the server handshake on it
    /// (with the handshake timeout). A failed handshake is answered with
    /// its HTTP status and returned as an error; call `accept` again for
    /// the next client.
    pub fn accept(&self) -> Result<WebSocket<TcpStream>, Error> {
        let (stream, _) = self.listener.accept()?;
        self.handshake(stream)
    }

    /// Performs the server handshake on an accepted stream.
    pub fn handshake(&self, stream: TcpStream) -> Result<WebSocket<TcpStream>, Error> {
        stream.set_nodelay(self.config.nodelay)?;
        let pending = ServerHandshake::read(stream, self.config.clone())?;
        let wanted = pending.request().protocols();
        let chosen = self.protocols.iter().find(|p| wanted.contains(&p.as_str()));
        let accept = match chosen {
            Some(p) => Accept::new().protocol(p.clone()),
            None => Accept::new(),
        };
        pending.accept(accept)
    }

    /// An endless iterator over handshaken connections (and errors).
    pub fn incoming(&self) -> impl Iterator<Item = Result<WebSocket<TcpStream>, Error>> + '_ {
        std::iter::repeat_with(move || self.accept())
    }
}

impl WebSocket<TcpStream> {
    /// Binds a TCP socket for a WebSocket server (twspy's `bind`); call
    /// [`listen`](Binding::listen) next, then
    /// [`accept`](crate::Listener::accept).
    ///
    /// ```no_run
    /// use stdws::WebSocket;
    /// let listener = WebSocket::bind("127.0.0.1:9001")?.listen(128)?;
    /// let mut ws = listener.accept()?;
    /// let frame = ws.recv()?;
    /// ws.send(&frame)?; // echo one frame back
    /// # Ok::<(), stdws::Error>(())
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<Binding> {
        Binding::bind(addr)
    }
}
