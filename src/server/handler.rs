//! [`Handler`]: what a server does with its clients.

use std::any::Any;
use std::sync::Arc;

use super::client::Client;
use crate::close_code::CloseCode;
use crate::close_frame::CloseFrame;
use crate::error::Error;
use crate::handshake::server::{Accept, Reject, Request};
use crate::message::Message;

/// The events of a server's clients, in the manner of twspy's and
/// mod_pywebsocket's handlers. One handler serves every client of its
/// resource path, each from the client's own thread, so it takes `&self`:
/// keep state in the [`Client`] (its [`data`](Client::data)) or behind a
/// lock.
///
/// Every method has a default: an empty `impl` accepts every handshake and
/// ignores what arrives. The server logs each connection itself, whichever
/// methods a handler overrides (target `stdws::server`, through the `log`
/// crate: opened, closed with its code and duration, refused with its HTTP
/// status and errors at INFO and WARN; each message at TRACE). An echo
/// server:
///
/// ```no_run
/// use stdws::{Client, Error, Handler, Message, Server};
///
/// struct Echo;
///
/// impl Handler for Echo {
///     fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
///         client.send(message)
///     }
/// }
///
/// let server = Server::builder().route("/echo", Echo).bind("127.0.0.1:9001")?;
/// server.wait();
/// # Ok::<(), stdws::Error>(())
/// ```
///
/// An error returned by `on_open`, `on_message`, `on_ping` or `on_pong`
/// closes the client with the error's close code (1011 if it has none),
/// after `on_error`.
pub trait Handler: Send + Sync + 'static {
    /// The extra handshake (mod_pywebsocket's `do_extra_handshake`): sees a
    /// valid upgrade request for this handler's path, and accepts it
    /// (choosing a subprotocol, adding response headers, attaching data to
    /// the client) or rejects it with an HTTP status. The default accepts.
    fn handshake(&self, request: &Request) -> Result<Admission, Reject> {
        let _ = request;
        Ok(Admission::new())
    }

    /// The client is connected (its 101 response is sent).
    fn on_open(&self, client: &Client) -> Result<(), Error> {
        let _ = client;
        Ok(())
    }

    /// A message arrived.
    fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
        let _ = (client, message);
        Ok(())
    }

    /// A ping arrived (already answered with a pong when
    /// [`Config::auto_pong`](crate::Config::auto_pong) is on).
    fn on_ping(&self, client: &Client, payload: &[u8]) -> Result<(), Error> {
        let _ = (client, payload);
        Ok(())
    }

    /// A pong arrived.
    fn on_pong(&self, client: &Client, payload: &[u8]) -> Result<(), Error> {
        let _ = (client, payload);
        Ok(())
    }

    /// The peer closed: returns the close frame to answer with (RFC 6455
    /// §5.5.1), mod_pywebsocket's passive closing handshake hook. The
    /// default echoes the peer's code (no code when it sent none).
    fn passive_close(&self, client: &Client, frame: Option<&CloseFrame>) -> Option<CloseFrame> {
        let _ = client;
        crate::session::echo_close(frame)
    }

    /// The connection ended, once per opened client, last: `code` and
    /// `reason` are the peer's close frame after a closing handshake (1005
    /// when it had no code), else the code we closed with (1002, 1007,
    /// 1008, 1009, 1011, ...), else 1006 (the connection dropped).
    fn on_close(&self, client: &Client, code: CloseCode, reason: &str) {
        let _ = (client, code, reason);
    }

    /// The connection failed (protocol violation, limit, timeout, transport
    /// error, an error from a handler method); `on_close` follows.
    fn on_error(&self, client: &Client, error: &Error) {
        let _ = (client, error);
    }
}

impl<H: Handler + ?Sized> Handler for Arc<H> {
    fn handshake(&self, request: &Request) -> Result<Admission, Reject> {
        (**self).handshake(request)
    }
    fn on_open(&self, client: &Client) -> Result<(), Error> {
        (**self).on_open(client)
    }
    fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
        (**self).on_message(client, message)
    }
    fn on_ping(&self, client: &Client, payload: &[u8]) -> Result<(), Error> {
        (**self).on_ping(client, payload)
    }
    fn on_pong(&self, client: &Client, payload: &[u8]) -> Result<(), Error> {
        (**self).on_pong(client, payload)
    }
    fn passive_close(&self, client: &Client, frame: Option<&CloseFrame>) -> Option<CloseFrame> {
        (**self).passive_close(client, frame)
    }
    fn on_close(&self, client: &Client, code: CloseCode, reason: &str) {
        (**self).on_close(client, code, reason)
    }
    fn on_error(&self, client: &Client, error: &Error) {
        (**self).on_error(client, error)
    }
}

/// The extra handshake's yes: subprotocol, response headers, and data the
/// [`Client`] carries from then on.
///
/// ```
/// use stdws::{Admission, Handler, Reject, Request};
///
/// struct User(String);
/// struct Chat;
///
/// impl Handler for Chat {
///     fn handshake(&self, request: &Request) -> Result<Admission, Reject> {
///         let Some(name) = request.query().and_then(|q| q.strip_prefix("name=")) else {
///             return Err(Reject::new(400, "name required"));
///         };
///         let mut admission = Admission::new().data(User(name.to_owned()));
///         if request.protocols().contains(&"chat.v1") {
///             admission = admission.protocol("chat.v1");
///         }
///         Ok(admission)
///     }
/// }
/// ```
#[derive(Default)]
pub struct Admission {
    pub(crate) accept: Accept,
    pub(crate) data: Option<Box<dyn Any + Send + Sync>>,
    pub(crate) topics: Vec<String>,
}

impl Admission {
    /// Accept, with no subprotocol, header or data.
    pub fn new() -> Admission {
        Admission::default()
    }

    /// Choose this subprotocol; it must be one the client offered (else the
    /// handshake fails with 500).
    pub fn protocol(mut self, protocol: impl Into<String>) -> Admission {
        self.accept = self.accept.protocol(protocol);
        self
    }

    /// Add a header field to the 101 response.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Admission {
        self.accept = self.accept.header(name, value);
        self
    }

    /// Attach data to the client, read back with [`Client::data`].
    pub fn data<T: Any + Send + Sync>(mut self, data: T) -> Admission {
        self.data = Some(Box::new(data));
        self
    }

    /// Subscribe the client to `topic` ([`Client::subscribe`]) before its
    /// 101 response is written: every publish from then on reaches it,
    /// before its first message. A topic name that is not 1 to 256 bytes
    /// (or more than 1024 topics) fails the handshake with 500.
    pub fn subscribe(mut self, topic: impl Into<String>) -> Admission {
        self.topics.push(topic.into());
        self
    }
}

impl From<Accept> for Admission {
    fn from(accept: Accept) -> Admission {
        Admission {
            accept,
            ..Admission::default()
        }
    }
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admission")
            .field("accept", &self.accept)
            .field("data", &self.data.is_some())
            .field("topics", &self.topics)
            .finish()
    }
}
