//! The web-hook gateway (feature `gateway`): WebSocket for applications
//! written in any language, which never hold a socket.
//!
//! ```text
//!  client ──ws──▶ Server ──▶ Gateway (a Handler) ──HTTP hooks──▶ application
//!                              ▲                                    │
//!                              └──────── control API (HTTP) ◀───────┘
//! ```
//!
//! The gateway keeps the connections and tells the application what
//! happens, one HTTP POST per event (TyphoonAE's model, as AWS API
//! Gateway's WebSocket APIs and Pushpin do it today):
//!
//! - `POST {upstream}/connect` before the 101, with the handshake as JSON
//!   (`path`, `query`, `headers`, `subprotocols`, `remote_addr`, `tls`,
//!   `user`). A 2xx accepts, and its JSON body may choose a `subprotocol`,
//!   `topics` and `meta`; any other status and its body (at most 64 KiB)
//!   are what the client gets instead of the 101; an application that
//!   cannot be reached gives 503.
//! - `POST {upstream}/message` for each message, in order, at most one in
//!   flight per connection: the client's own thread waits for the answer,
//!   so a fast client is slowed by TCP backpressure, not by a queue. A 200
//!   answer's body is sent back (its `Content-Type` picks text or binary);
//!   204 sends nothing.
//! - `POST {upstream}/close` exactly once per accepted connection, with
//!   `code`, `reason` and `initiator` (`client`, `server` or `error`; 1006
//!   when the TCP connection dropped).
//!
//! Every hook carries `Stdws-Connection-Id` and `Stdws-Seq` (0 for connect,
//! then 1, 2, … per message, the next number for close), and a Standard
//! Webhooks signature with [`GatewayBuilder::hook_secret`]. A hook has
//! [`GatewayBuilder::hook_timeout`] in all, retries included (see
//! [`HookFailure`] for what follows when it runs out).
//!
//! The application answers through the [control API](ControlServer): send
//! to one connection or many, broadcast, topics, close, list.
//!
//! ```no_run
//! use stdws::gateway::Gateway;
//! use stdws::Server;
//!
//! let gateway = Gateway::builder("http://127.0.0.1:8080/ws").build()?;
//! let control = gateway.control().bind("127.0.0.1:8081")?;
//! let server = Server::builder().fallback(gateway.clone()).bind("127.0.0.1:8000")?;
//! server.wait();
//! # drop(control);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A hook may take up to its timeout inside the opening handshake: keep
//! [`Config::handshake_timeout`](crate::Config::handshake_timeout) longer.

mod control;
mod events;
mod handler;
mod hooks;
mod http;
mod native;
mod over_http;
mod registry;
mod signing;
mod time;
mod typhoonae;

pub use control::{
    ControlBuilder, ControlServer, DEFAULT_MAX_CONTROL_BODY, DEFAULT_MAX_CONTROL_CONNECTIONS,
};

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hooks::HookClient;
use registry::Registry;
use signing::Signer;

/// How the gateway speaks to its application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Mode {
    /// stdws's own hooks (see the [module docs](self)).
    #[default]
    Native,
    /// TyphoonAE's Web Socket API: form posts to
    /// `/_ah/websocket/{handshake,message,closed}/<path>`; hook answers
    /// are never sent to the client; the control API also takes TyphoonAE's
    /// `POST /message` and `POST /broadcast`.
    TyphoonAe,
    /// Pushpin's WebSocket-over-HTTP protocol: each connection's events
    /// are POSTed as `application/websocket-events` to the client's own
    /// path under the upstream's prefix, and the answer's events come back
    /// (a backend written for Pushpin works unchanged).
    WebSocketOverHttp,
}

/// What happens to a connection when a message hook gets no answer within
/// its budget (or a final answer that is not 2xx).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HookFailure {
    /// Close the client with 1011; the close hook still follows.
    #[default]
    Close,
    /// Drop that message and go on.
    Skip,
}

/// Why a gateway or its control listener could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum GatewayError {
    /// The upstream URL is not an `http://` URL.
    Upstream(String),
    /// The hook secret is unusable.
    Secret(&'static str),
    /// A control listener on an address that is not loopback needs a token.
    Unprotected(SocketAddr),
    /// Binding a listener failed.
    Io(std::io::Error),
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GatewayError::Upstream(url) => write!(f, "upstream must be an http:// URL: {url:?}"),
            GatewayError::Secret(why) => f.write_str(why),
            GatewayError::Unprotected(addr) => write!(
                f,
                "the control API on {addr} (not loopback) needs a bearer token"
            ),
            GatewayError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for GatewayError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            GatewayError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for GatewayError {
    fn from(e: std::io::Error) -> GatewayError {
        GatewayError::Io(e)
    }
}

/// Default budget of one hook, retries included.
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// Default cap on a hook answer's body (what a message hook sends back).
pub const DEFAULT_MAX_HOOK_BODY: usize = 1 << 20;

/// The most of a rejecting connect answer's body the client is shown.
pub const MAX_REJECT_BODY: usize = 64 << 10;

/// Default cap on bytes waiting for a connection whose 101 is not out yet.
pub const DEFAULT_MAX_PENDING: usize = 1 << 20;

/// Options for a [`Gateway`]; made by [`Gateway::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until build()"]
pub struct GatewayBuilder {
    upstream: String,
    mode: Mode,
    hook_timeout: Duration,
    secret: Option<String>,
    on_failure: HookFailure,
    max_hook_body: usize,
    max_pending: usize,
}

impl GatewayBuilder {
    /// Speak TyphoonAE's API or Pushpin's WebSocket-over-HTTP instead of
    /// stdws's own hooks (default [`Mode::Native`]).
    pub fn mode(mut self, mode: Mode) -> GatewayBuilder {
        self.mode = mode;
        self
    }

    /// The budget of one hook, retries and pauses included (default 10 s).
    pub fn hook_timeout(mut self, timeout: Duration) -> GatewayBuilder {
        self.hook_timeout = timeout;
        self
    }

    /// Signs every hook the Standard Webhooks way with this secret
    /// (`whsec_<base64>` or raw; surrounding whitespace is ignored).
    pub fn hook_secret(mut self, secret: impl Into<String>) -> GatewayBuilder {
        self.secret = Some(secret.into());
        self
    }

    /// What a message hook that fails does to its connection (default
    /// [`HookFailure::Close`]).
    pub fn on_hook_failure(mut self, failure: HookFailure) -> GatewayBuilder {
        self.on_failure = failure;
        self
    }

    /// Most bytes of a hook answer's body (default 1 MiB); a longer answer
    /// is a failed hook.
    pub fn max_hook_body(mut self, bytes: usize) -> GatewayBuilder {
        self.max_hook_body = bytes;
        self
    }

    /// Most bytes the control API may queue for a connection whose 101 is
    /// not written yet (default 1 MiB; past it: 503).
    pub fn max_pending(mut self, bytes: usize) -> GatewayBuilder {
        self.max_pending = bytes;
        self
    }

    /// Checks the options and makes the gateway.
    pub fn build(self) -> Result<Gateway, GatewayError> {
        let upstream = self.upstream.trim_end_matches('/').to_owned();
        let rest = upstream
            .strip_prefix("http://")
            .ok_or_else(|| GatewayError::Upstream(self.upstream.clone()))?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(GatewayError::Upstream(self.upstream));
        }
        let signer = self
            .secret
            .as_deref()
            .map(Signer::from_secret)
            .transpose()?;
        Ok(Gateway {
            shared: Arc::new(Shared {
                hooks: HookClient::new(self.hook_timeout, self.max_hook_body, signer),
                registry: Registry::new(self.max_pending),
                upstream,
                mode: self.mode,
                on_failure: self.on_failure,
                clients: OnceLock::new(),
            }),
        })
    }
}

/// The gateway: a [`Handler`](crate::Handler) to mount on a route (or as
/// the [fallback](crate::ServerBuilder::fallback) for every path), and the
/// connections its [`ControlServer`] reaches. Cheap to clone.
#[derive(Clone)]
pub struct Gateway {
    shared: Arc<Shared>,
}

/// What the handler and the control API share.
pub(crate) struct Shared {
    pub(crate) upstream: String,
    pub(crate) mode: Mode,
    pub(crate) on_failure: HookFailure,
    pub(crate) hooks: HookClient,
    pub(crate) registry: Registry,
    /// The server's clients: broadcasts, topics and connections of other
    /// nodes go through it (and its hub).
    pub(crate) clients: OnceLock<crate::Clients>,
}

impl Gateway {
    /// A builder for a gateway calling the application at `upstream`
    /// (`http://host:port/prefix`).
    pub fn builder(upstream: impl Into<String>) -> GatewayBuilder {
        GatewayBuilder {
            upstream: upstream.into(),
            mode: Mode::Native,
            hook_timeout: DEFAULT_HOOK_TIMEOUT,
            secret: None,
            on_failure: HookFailure::Close,
            max_hook_body: DEFAULT_MAX_HOOK_BODY,
            max_pending: DEFAULT_MAX_PENDING,
        }
    }

    /// A builder for this gateway's control API listener.
    pub fn control(&self) -> ControlBuilder {
        ControlBuilder::new(Arc::clone(&self.shared))
    }

    /// Serves the control API through `clients` (the
    /// [`Server::clients`](crate::Server::clients) of the server the gateway
    /// is mounted on): broadcasts and publishes are encoded once and, with
    /// a [`Hub`](crate::hub::Hub) such as `RedisHub`, reach every node of
    /// the cluster, as do sends, closes and subscriptions for connection
    /// ids of other nodes. Without it the gateway learns the set from its
    /// first client; call it when the server starts.
    pub fn attach(&self, clients: crate::Clients) {
        let _ = self.shared.clients.set(clients);
    }

    /// The number of connections (accepted by the connect hook, not yet
    /// closed).
    pub fn connections(&self) -> usize {
        self.shared.registry.len()
    }

    /// Marks every connection as closed by the server with 1001, before
    /// [`Server::shutdown`](crate::Server::shutdown): their close hooks
    /// then say `"initiator": "server"`.
    pub fn going_away(&self) {
        for conn in self.shared.registry.list() {
            conn.close(
                crate::CloseCode::GOING_AWAY,
                "server shutting down",
                registry::Initiator::Server,
            );
        }
    }
}

impl fmt::Debug for Gateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gateway")
            .field("upstream", &self.shared.upstream)
            .field("mode", &self.shared.mode)
            .field("connections", &self.connections())
            .finish_non_exhaustive()
    }
}
