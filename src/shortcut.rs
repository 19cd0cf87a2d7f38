//! `stdws::connect` and `stdws::accept`: the two entry points a Rust user
//! tries first (tungstenite has them at its crate root), for the message
//! level with the default [`Config`]. Everything else starts from
//! [`Connector`](crate::Connector) (client options),
//! [`Listener`](crate::Listener) (by-hand server) or
//! [`Server`](crate::Server) (a thread per client, handlers).

use crate::config::Config;
use crate::connection::Connection;
use crate::error::Error;
use crate::handshake::server::Accept;
use crate::maybe_tls::MaybeTlsStream;
use crate::stream::Stream;
use crate::upgrade::ServerHandshake;

/// Connects to a `ws://` or `wss://` URL and returns the connection, ready
/// for messages (the same as [`Connection::connect`]). For headers,
/// subprotocols, credentials, TLS options or limits use
/// [`Connector`](crate::Connector); to send from one thread while another
/// receives, [`WebSocket::split`](crate::WebSocket::split).
///
/// ```no_run
/// let mut conn = stdws::connect("ws://127.0.0.1:9001/echo")?;
/// conn.send_text("hello")?;
/// let echo = conn.recv()?;
/// # Ok::<(), stdws::Error>(())
/// ```
#[doc(alias = "client")]
pub fn connect(url: &str) -> Result<Connection<MaybeTlsStream>, Error> {
    Connection::connect(url)
}

/// Runs the server side of the opening handshake on an accepted stream
/// (a `TcpStream`, a [`TlsStream`](crate::tls::TlsStream), any
/// [`Stream`]), for any path, and returns the connection. A request that
/// is not a valid upgrade is answered with its HTTP status and returned as
/// [`Error::Handshake`]. It reads from the client, for up to
/// [`Config::handshake_timeout`]: call it on the connection's own thread.
/// To choose a subprotocol or refuse a path, use
/// [`ServerHandshake`](crate::ServerHandshake).
///
/// ```no_run
/// let listener = std::net::TcpListener::bind("127.0.0.1:9001")?;
/// for tcp in listener.incoming() {
///     let tcp = tcp?;
///     std::thread::spawn(move || -> Result<(), stdws::Error> {
///         let mut conn = stdws::accept(tcp)?;
///         while let Some(message) = conn.recv()? {
///             conn.send(message)?;
///         }
///         Ok(())
///     });
/// }
/// # Ok::<(), stdws::Error>(())
/// ```
#[doc(alias = "server")]
pub fn accept<S: Stream>(stream: S) -> Result<Connection<S>, Error> {
    let ws = ServerHandshake::read(stream, Config::default())?.accept(Accept::new())?;
    Ok(Connection::new(ws))
}
