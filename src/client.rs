//! The client: TCP connect and the client handshake, under one deadline.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::error::{Error, HandshakeError, Timeout, UrlError};
use crate::extension::{format_extensions, negotiate_client, ExtensionOffer};
use crate::frame::Role;
use crate::handshake::client::{build_request, new_key, RequestParts, Response};
use crate::handshake::HeadLimits;
use crate::stream::{MaybeTlsStream, Stream};
use crate::upgrade::{read_head, time_left};
use crate::url::Url;
use crate::websocket::WebSocket;

/// Options for a client connection; made by [`WebSocket::builder`].
///
/// ```no_run
/// use std::time::Duration;
/// let ws = stdws::WebSocket::builder("ws://127.0.0.1:9001/chat")
///     .protocol("chat")
///     .origin("http://localhost")
///     .header("X-Trace", "1")
///     .handshake_timeout(Duration::from_secs(3))
///     .connect()?;
/// assert_eq!(ws.protocol(), Some("chat"));
/// # Ok::<(), stdws::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    url: String,
    config: Config,
    protocols: Vec<String>,
    origin: Option<String>,
    headers: Vec<(String, String)>,
}

impl ClientBuilder {
    /// A builder for `url`.
    pub fn new(url: &str) -> ClientBuilder {
        ClientBuilder {
            url: url.to_owned(),
            config: Config::default(),
            protocols: Vec::new(),
            origin: None,
            headers: Vec::new(),
        }
    }

    /// Uses this configuration (limits, timeouts, extensions).
    pub fn config(mut self, config: Config) -> ClientBuilder {
        self.config = config;
        self
    }

    /// Offers a subprotocol (call again for more, most preferred first).
    pub fn protocol(mut self, protocol: impl Into<String>) -> ClientBuilder {
        self.protocols.push(protocol.into());
        self
    }

    /// Sends an `Origin` header.
    pub fn origin(mut self, origin: impl Into<String>) -> ClientBuilder {
        self.origin = Some(origin.into());
        self
    }

    /// Adds a header field to the request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> ClientBuilder {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the time for TCP connect plus handshake together.
    pub fn handshake_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.config.handshake_timeout = timeout;
        self
    }

    /// Connects and performs the handshake.
    pub fn connect(self) -> Result<WebSocket<MaybeTlsStream>, Error> {
        let url = Url::parse(&self.url)?;
        let deadline = Instant::now() + self.config.handshake_timeout;
        let tcp = connect_tcp(&url, deadline)?;
        tcp.set_nodelay(self.config.nodelay)?;
        if url.secure {
            return Err(UrlError::TlsNotEnabled.into());
        }
        self.handshake(MaybeTlsStream::Plain(tcp), &url, deadline)
    }

    /// Performs the handshake over a stream already connected to the URL's
    /// host (a proxy tunnel, a Unix socket, a test pipe).
    pub fn connect_on<S: Stream>(self, stream: S) -> Result<WebSocket<S>, Error> {
        let url = Url::parse(&self.url)?;
        let deadline = Instant::now() + self.config.handshake_timeout;
        self.handshake(stream, &url, deadline)
    }

    fn handshake<S: Stream>(
        self,
        mut stream: S,
        url: &Url,
        deadline: Instant,
    ) -> Result<WebSocket<S>, Error> {
        let key = new_key();
        let offers: Vec<ExtensionOffer> = self
            .config
            .extensions
            .iter()
            .flat_map(|f| {
                f.offers().into_iter().map(|params| ExtensionOffer {
                    name: f.name().to_owned(),
                    params,
                })
            })
            .collect();
        let extensions = (!offers.is_empty()).then(|| format_extensions(&offers));
        let host = url.host_header();
        let request = build_request(&RequestParts {
            host: &host,
            resource: &url.resource,
            key: &key,
            origin: self.origin.as_deref(),
            protocols: &self.protocols,
            extensions: extensions.as_deref(),
            headers: &self.headers,
        });
        stream.set_write_timeout(Some(time_left(deadline)?))?;
        stream
            .write_all(&request)
            .map_err(|e| Error::from_io(e, Timeout::Handshake))?;
        stream
            .flush()
            .map_err(|e| Error::from_io(e, Timeout::Handshake))?;

        let head = read_head(&mut stream, HeadLimits::from_config(&self.config), deadline)?;
        let response = Response::parse(head.bytes(), &head.scanner)?;
        let agreed = response.validate(&key, &self.protocols)?;
        let extensions = negotiate_client(&self.config.extensions, &agreed.extensions)
            .map_err(HandshakeError::InvalidResponse)?;
        let mut ws = WebSocket::from_raw(stream, Role::Client, self.config, head.leftover());
        ws.set_agreed(agreed.protocol, extensions);
        ws.response = Some(Box::new(response));
        ws.apply_timeouts()?;
        Ok(ws)
    }
}

/// Connects to the first address of the URL's host that answers before
/// the deadline.
fn connect_tcp(url: &Url, deadline: Instant) -> Result<TcpStream, Error> {
    let addrs = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|e| {
            Error::Io(std::io::Error::new(
                e.kind(),
                format!("cannot resolve {}: {e}", url.host),
            ))
        })?;
    let mut last = None;
    for addr in addrs {
        let left = time_left(deadline).map_err(|_| Error::Timeout(Timeout::Connect))?;
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(Error::from_io(e, Timeout::Connect)),
        }
    }
    Err(last.unwrap_or_else(|| Error::Url(UrlError::InvalidHost(url.host.clone()))))
}
