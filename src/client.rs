//! The client: TCP connect and the client handshake, under one deadline.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::deadline::time_left;
use crate::error::{Error, HandshakeError, ResponseError, Timeout, UrlError};
use crate::extension::{format_extensions, negotiate_client, ExtensionOffer};
use crate::frame::Role;
use crate::handshake::auth::{answer, basic, is_stale, parse_challenges, ClientScheme};
use crate::handshake::client::{build_request, new_key, RequestParts, Response};
use crate::handshake::{HeadError, HeadLimits};
use crate::maybe_tls::MaybeTlsStream;
use crate::proxy::{tunnel, ProxyChoice};
use crate::stream::Stream;
use crate::upgrade::read_head;
use crate::url::Url;
use crate::websocket::WebSocket;

/// The former name of [`Connector`], kept so that older code builds.
#[deprecated(
    note = "renamed `Connector`: the server's handle to a peer is `Client`, the client's connection builder `Connector`"
)]
pub type ClientBuilder = Connector;

/// Connects to a WebSocket server: the client side's options (subprotocols,
/// headers, credentials, TLS, redirects, limits), then
/// [`connect`](Self::connect). Made by [`WebSocket::builder`]. (The
/// server's handle to one of its peers is [`Client`](crate::Client).)
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
#[derive(Clone)]
#[doc(alias = "ClientBuilder")]
pub struct Connector {
    url: String,
    config: Config,
    protocols: Vec<String>,
    origin: Option<String>,
    headers: Vec<(String, String)>,
    credentials: Option<Credentials>,
    max_redirects: usize,
    proxy: ProxyChoice,
    #[cfg(any(feature = "tls", feature = "rustls"))]
    tls: crate::tls::TlsConnector,
}

impl std::fmt::Debug for Connector {
    /// The URL without its password; credentials show the user only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url =
            Url::parse(&self.url).map_or_else(|_| "<invalid URL>".to_owned(), |u| u.to_string());
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                let secret = CREDENTIAL_HEADERS.iter().any(|c| n.eq_ignore_ascii_case(c));
                (n.as_str(), if secret { "***" } else { v.as_str() })
            })
            .collect();
        let mut d = f.debug_struct("Connector");
        d.field("url", &url)
            .field("config", &self.config)
            .field("protocols", &self.protocols)
            .field("origin", &self.origin)
            .field("headers", &headers)
            .field("credentials", &self.credentials)
            .field("max_redirects", &self.max_redirects)
            .field("proxy", &self.proxy);
        #[cfg(any(feature = "tls", feature = "rustls"))]
        d.field("tls", &self.tls);
        d.finish()
    }
}

/// A user name and password; `Debug` shows the user only. `preemptive`:
/// sent as Basic with the first request, before any 401.
#[derive(Clone, PartialEq, Eq)]
struct Credentials {
    user: String,
    password: String,
    preemptive: bool,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let when = if self.preemptive { ", sent first" } else { "" };
        write!(f, "Credentials({:?}, ***{when})", self.user)
    }
}

/// Statuses whose `Location` a client may follow (RFC 9110 §15.4). A
/// WebSocket handshake is a GET, so 303 needs no change of method.
const REDIRECTS: [u16; 5] = [301, 302, 303, 307, 308];

/// Header fields that carry credentials for one origin: dropped when a
/// redirect leaves it (CVE-2022-0536 and CVE-2024-28849 in
/// follow-redirects, ws 8.x fixes).
const CREDENTIAL_HEADERS: [&str; 3] = ["Authorization", "Proxy-Authorization", "Cookie"];

impl Connector {
    /// A builder for `url`.
    pub fn new(url: &str) -> Connector {
        Connector {
            url: url.to_owned(),
            config: Config::default(),
            protocols: Vec::new(),
            origin: None,
            headers: Vec::new(),
            credentials: None,
            max_redirects: 0,
            proxy: ProxyChoice::Environment,
            #[cfg(any(feature = "tls", feature = "rustls"))]
            tls: crate::tls::TlsConnector::new(),
        }
    }

    /// Uses this configuration (limits, timeouts, extensions).
    pub fn config(mut self, config: Config) -> Connector {
        self.config = config;
        self
    }

    /// Offers a subprotocol (call again for more, most preferred first).
    pub fn protocol(mut self, protocol: impl Into<String>) -> Connector {
        self.protocols.push(protocol.into());
        self
    }

    /// Sends an `Origin` header.
    pub fn origin(mut self, origin: impl Into<String>) -> Connector {
        self.origin = Some(origin.into());
        self
    }

    /// Adds a header field to the request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Connector {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the time for TCP connect, TLS and the handshake together (all
    /// attempts, when following redirects or answering a 401).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Connector {
        self.config.handshake_timeout = timeout;
        self
    }

    /// Answers a `401` with these credentials (Digest when offered, else
    /// Basic), reconnecting once per scheme. Without this, the URL's
    /// `user:pass@` is used. Never sent before the server asks, nor to
    /// another origin after a redirect: a login costs two handshakes. For
    /// a server known to take Basic, [`basic_auth`](Self::basic_auth)
    /// costs one.
    pub fn credentials(
        mut self,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> Connector {
        self.credentials = Some(Credentials {
            user: user.into(),
            password: password.into(),
            preemptive: false,
        });
        self
    }

    /// Sends these credentials as HTTP Basic (RFC 7617) with the first
    /// request, as `curl -u` does, so a login costs one handshake. A
    /// server that answers `401` with a Digest challenge anyway gets the
    /// Digest answer on the next connection, as with
    /// [`credentials`](Self::credentials). Never sent to another origin
    /// after a redirect. Basic shows the password to anyone on the path:
    /// use it over `wss://`.
    ///
    /// ```no_run
    /// let ws = stdws::WebSocket::builder("wss://chat.example/room")
    ///     .basic_auth("alice", "s3cret")
    ///     .connect()?;
    /// # Ok::<(), stdws::Error>(())
    /// ```
    pub fn basic_auth(self, user: impl Into<String>, password: impl Into<String>) -> Connector {
        let mut connector = self.credentials(user, password);
        if let Some(c) = &mut connector.credentials {
            c.preemptive = true;
        }
        connector
    }

    /// Follows up to `max` redirects (301, 302, 303, 307, 308 to `ws`,
    /// `wss`, `http` or `https` locations). Off (0) by default. A URL seen
    /// twice is a loop and fails with [`HandshakeError::Redirect`], as does
    /// one redirect too many. `Authorization`, `Cookie` and credentials
    /// are dropped when a redirect goes to another host or port, or from
    /// `wss` to `ws`.
    pub fn max_redirects(mut self, max: usize) -> Connector {
        self.max_redirects = max;
        self
    }

    /// Connects through this proxy, for every host: `http://` (CONNECT),
    /// `https://` (TLS to the proxy, then CONNECT; the proxy's certificate
    /// is checked with the same [`tls`](Self::tls) settings), `socks5://`
    /// (this client resolves the server's name) or `socks5h://` (the proxy
    /// does). `user:password@` in the URL is sent as Basic
    /// `Proxy-Authorization` or RFC 1929 credentials, to the proxy only.
    /// Without this, the proxy comes from the environment (see the
    /// [`proxy`](crate::proxy) module). A bad URL fails at
    /// [`connect`](Self::connect) with [`ProxyError::InvalidUrl`](crate::ProxyError::InvalidUrl).
    ///
    /// A `Proxy-Authorization` field given with [`header`](Self::header) is
    /// sent in the CONNECT request (it wins over the URL's credentials)
    /// and never to the WebSocket server; like `Authorization`, it is
    /// dropped when a redirect leaves the origin.
    pub fn proxy(mut self, url: impl Into<String>) -> Connector {
        self.proxy = ProxyChoice::Url(url.into());
        self
    }

    /// Connects directly: no proxy from the environment, and none set
    /// earlier with [`proxy`](Self::proxy).
    pub fn no_proxy(mut self) -> Connector {
        self.proxy = ProxyChoice::Off;
        self
    }

    /// TLS settings for `wss://` (trust anchors, backend, client
    /// certificate).
    #[cfg(any(feature = "tls", feature = "rustls"))]
    pub fn tls(mut self, tls: crate::tls::TlsConnector) -> Connector {
        self.tls = tls;
        self
    }

    /// Also trusts the CA certificates in this PEM file (`wss://`).
    #[cfg(any(feature = "tls", feature = "rustls"))]
    pub fn ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Connector {
        self.tls = self.tls.ca_file(path);
        self
    }

    /// **Turns off certificate verification** for `wss://`: for tests
    /// against a self-signed certificate only (see
    /// [`TlsConnector::danger_accept_invalid_certs`](crate::tls::TlsConnector::danger_accept_invalid_certs)).
    #[cfg(any(feature = "tls", feature = "rustls"))]
    pub fn danger_accept_invalid_certs(mut self, on: bool) -> Connector {
        self.tls = self.tls.danger_accept_invalid_certs(on);
        self
    }

    /// Connects and performs the handshake, answering a `401` and following
    /// redirects as configured.
    pub fn connect(self) -> Result<WebSocket<MaybeTlsStream>, Error> {
        let mut url = Url::parse(&self.url)?;
        let deadline = Instant::now() + self.config.handshake_timeout;
        let (mut proxy_authorization, mut headers) = split_proxy_authorization(&self.headers);
        let mut credentials = self.credentials.clone().or_else(|| userinfo(&url));
        let mut seen = vec![url_key(&url)];
        let mut auth = AuthAttempts::first(credentials.as_ref());
        loop {
            let stream = self.open(&url, deadline, proxy_authorization.as_deref())?;
            let mut request_headers = headers.clone();
            if let Some(value) = &auth.authorization {
                request_headers.push(("Authorization".into(), value.clone()));
            }
            let err = match self.handshake(stream, &url, deadline, &request_headers) {
                Ok(ws) => return Ok(ws),
                Err(e) => e,
            };
            let Error::Handshake(HandshakeError::UnexpectedStatus {
                status,
                headers: response,
                ..
            }) = &err
            else {
                return Err(err);
            };
            if *status == 401 {
                match &credentials {
                    Some(c) if auth.next(response, c, &url.resource) => continue,
                    _ => return Err(err),
                }
            }
            if !REDIRECTS.contains(status) || self.max_redirects == 0 {
                return Err(err);
            }
            if seen.len() > self.max_redirects {
                return Err(redirect_error(format!(
                    "more than {} redirects",
                    self.max_redirects
                )));
            }
            let location = header(response, "Location")
                .ok_or_else(|| redirect_error(format!("{status} without Location")))?;
            let next = resolve(&url, location)
                .map_err(|e| redirect_error(format!("cannot follow {location:?}: {e}")))?;
            let key = url_key(&next);
            if seen.contains(&key) {
                return Err(redirect_error(format!("loop: {next} seen twice")));
            }
            seen.push(key);
            if leaves_origin(&url, &next) {
                headers
                    .retain(|(n, _)| !CREDENTIAL_HEADERS.iter().any(|c| n.eq_ignore_ascii_case(c)));
                credentials = None;
                proxy_authorization = None;
            }
            if let Some(c) = userinfo(&next) {
                credentials = Some(c);
            }
            log::debug!("following a {status} redirect to {next}");
            auth = AuthAttempts::first(credentials.as_ref());
            url = next;
        }
    }

    /// Performs the handshake over a stream already connected to the URL's
    /// host (a proxy tunnel, a Unix socket, a test pipe). No 401 answer
    /// and no redirect: those need a new connection.
    pub fn connect_on<S: Stream>(self, stream: S) -> Result<WebSocket<S>, Error> {
        let url = Url::parse(&self.url)?;
        let deadline = Instant::now() + self.config.handshake_timeout;
        let (_, headers) = split_proxy_authorization(&self.headers);
        self.handshake(stream, &url, deadline, &headers)
    }

    /// TCP (to the proxy for this hop, then through its tunnel), then TLS
    /// for `wss://`.
    fn open(
        &self,
        url: &Url,
        deadline: Instant,
        proxy_authorization: Option<&str>,
    ) -> Result<MaybeTlsStream, Error> {
        #[cfg(not(any(feature = "tls", feature = "rustls")))]
        if url.secure {
            return Err(UrlError::TlsNotEnabled.into());
        }
        let proxy = self.proxy.select(url)?;
        let (host, port) = match &proxy {
            Some(p) => (p.host.as_str(), p.port),
            None => (url.host.as_str(), url.port),
        };
        let mut tcp = connect_tcp(host, port, deadline)?;
        tcp.set_nodelay(self.config.nodelay)?;
        if let Some(proxy) = proxy {
            let settings = tunnel::Settings {
                limits: HeadLimits::from_config(&self.config),
                authorization: proxy_authorization,
                #[cfg(any(feature = "tls", feature = "rustls"))]
                tls: &self.tls,
            };
            tcp = match tunnel::open(&proxy, tcp, url, deadline, &settings)? {
                tunnel::Tunnel::Tcp(tcp) => tcp,
                #[cfg(any(feature = "tls", feature = "rustls"))]
                tunnel::Tunnel::Tls(tls) => return Ok(MaybeTlsStream::Tls(tls)),
            };
        }
        if !url.secure {
            return Ok(MaybeTlsStream::Plain(tcp));
        }
        #[cfg(any(feature = "tls", feature = "rustls"))]
        return Ok(MaybeTlsStream::Tls(
            self.tls.connect(&url.host, tcp, deadline)?,
        ));
        #[cfg(not(any(feature = "tls", feature = "rustls")))]
        Err(UrlError::TlsNotEnabled.into())
    }

    fn handshake<S: Stream>(
        &self,
        mut stream: S,
        url: &Url,
        deadline: Instant,
        headers: &[(String, String)],
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
            headers,
        });
        stream.set_write_timeout(Some(time_left(deadline)?))?;
        stream
            .write_all(&request)
            .map_err(|e| Error::from_io(e, Timeout::Handshake))?;
        stream
            .flush()
            .map_err(|e| Error::from_io(e, Timeout::Handshake))?;

        // A response head over our caps is the server's fault, not a status
        // we answer: an invalid response.
        let head = read_head(
            &mut stream,
            HeadLimits::from_config(&self.config),
            deadline,
            HeadError::to_invalid_response,
        )?;
        let response = Response::parse(head.bytes(), &head.scanner)?;
        let agreed = response.validate(&key, &self.protocols)?;
        let extensions = negotiate_client(&self.config.extensions, &agreed.extensions)
            .map_err(|e| HandshakeError::InvalidResponse(ResponseError::Extension(e)))?;
        let mut ws =
            WebSocket::from_raw(stream, Role::Client, self.config.clone(), head.leftover());
        ws.set_agreed(agreed.protocol, extensions);
        ws.response = Some(Box::new(response));
        ws.apply_timeouts()?;
        Ok(ws)
    }
}

/// The answers to 401s tried on one URL: each scheme once, Digest first;
/// a Digest answer told `stale=true` gets one more try with the new nonce
/// (RFC 7616 §3.3: the password was right).
#[derive(Debug, Default)]
struct AuthAttempts {
    authorization: Option<String>,
    tried: Vec<ClientScheme>,
    stale_retried: bool,
}

impl AuthAttempts {
    /// The first request's: Basic already, for preemptive credentials.
    fn first(credentials: Option<&Credentials>) -> AuthAttempts {
        let preempt = credentials
            .filter(|c| c.preemptive)
            .and_then(|c| basic(&c.user, &c.password));
        AuthAttempts {
            tried: preempt.iter().map(|_| ClientScheme::Basic).collect(),
            authorization: preempt,
            stale_retried: false,
        }
    }

    /// Prepares the next answer to this 401; false when there is none.
    fn next(&mut self, response: &[(String, String)], c: &Credentials, uri: &str) -> bool {
        let challenges = parse_challenges(
            response
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("WWW-Authenticate"))
                .map(|(_, v)| v.as_str()),
        );
        if self.tried.last() == Some(&ClientScheme::Digest)
            && is_stale(&challenges)
            && !self.stale_retried
        {
            self.stale_retried = true;
            self.tried.pop();
        }
        match answer(&challenges, &self.tried, &c.user, &c.password, uri) {
            Some((scheme, value)) => {
                self.tried.push(scheme);
                self.authorization = Some(value);
                true
            }
            None => false,
        }
    }
}

fn userinfo(url: &Url) -> Option<Credentials> {
    url.userinfo.as_ref().map(|(user, password)| Credentials {
        user: user.clone(),
        password: password.clone(),
        preemptive: false,
    })
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn redirect_error(reason: String) -> Error {
    HandshakeError::Redirect(reason).into()
}

/// What makes two URLs the same for loop detection.
fn url_key(url: &Url) -> String {
    format!("{}{}", url.origin(), url.resource)
}

/// True when credentials for `from` must not go to `to`: another host or
/// port, or a downgrade from `wss` to `ws`.
fn leaves_origin(from: &Url, to: &Url) -> bool {
    !from.host.eq_ignore_ascii_case(&to.host) || from.port != to.port || (from.secure && !to.secure)
}

/// Resolves a `Location` value against the current URL (RFC 3986 §5.2):
/// absolute, scheme-relative (`//host/path`), absolute path or relative path.
fn resolve(base: &Url, location: &str) -> Result<Url, UrlError> {
    if let Some(rest) = location.strip_prefix("//") {
        let scheme = if base.secure { "wss" } else { "ws" };
        return Url::parse(&format!("{scheme}://{rest}"));
    }
    if location.contains("://") || location.starts_with('/') {
        return base.join(location);
    }
    let path = base.resource.split('?').next().unwrap_or("/");
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    base.join(&format!("{dir}{location}"))
}

/// `Proxy-Authorization` is for the proxy only: taken out of the fields
/// sent to the WebSocket server (through a tunnel, they reach it).
fn split_proxy_authorization(
    headers: &[(String, String)],
) -> (Option<String>, Vec<(String, String)>) {
    let (proxy, rest): (Vec<_>, Vec<_>) = headers
        .iter()
        .cloned()
        .partition(|(n, _)| n.eq_ignore_ascii_case("Proxy-Authorization"));
    (proxy.into_iter().next().map(|(_, v)| v), rest)
}

/// Connects to the first address of `host` that answers before the
/// deadline.
fn connect_tcp(host: &str, port: u16, deadline: Instant) -> Result<TcpStream, Error> {
    let addrs = (host, port).to_socket_addrs().map_err(|e| {
        Error::Io(std::io::Error::new(
            e.kind(),
            format!("cannot resolve {host}: {e}"),
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
    Err(last.unwrap_or_else(|| Error::Url(UrlError::InvalidHost(host.to_owned()))))
}

impl WebSocket<MaybeTlsStream> {
    /// Connects to a `ws://` (or `wss://`) URL and performs the client
    /// handshake with the default [`Config`].
    ///
    /// ```no_run
    /// let mut ws = stdws::WebSocket::connect("ws://127.0.0.1:9001/echo")?;
    /// ws.send(&stdws::Frame::text("hello"))?;
    /// let echo = ws.recv()?;
    /// # Ok::<(), stdws::Error>(())
    /// ```
    pub fn connect(url: &str) -> Result<WebSocket<MaybeTlsStream>, Error> {
        Connector::new(url).connect()
    }

    /// A builder for a client connection: headers, subprotocols, origin,
    /// limits and timeouts.
    pub fn builder(url: &str) -> Connector {
        Connector::new(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(deprecated)]
    fn code_using_the_former_name_client_builder_still_builds() {
        let old: crate::ClientBuilder = WebSocket::builder("ws://127.0.0.1:1/");
        let new: Connector = old.protocol("chat");
        assert_eq!(new.protocols, ["chat"]);
    }

    #[test]
    fn locations_resolve_like_rfc_3986() {
        let base = Url::parse("wss://a.example:8443/dir/page?q=1").unwrap();
        for (location, expected) in [
            ("ws://b.example/x", "ws://b.example/x"),
            ("https://b.example/x", "wss://b.example/x"),
            ("//c.example/y", "wss://c.example/y"),
            ("/top", "wss://a.example:8443/top"),
            ("other?z", "wss://a.example:8443/dir/other?z"),
        ] {
            assert_eq!(resolve(&base, location).unwrap().to_string(), expected);
        }
    }

    #[cfg(not(any(feature = "tls", feature = "rustls")))]
    #[test]
    fn wss_without_a_tls_feature_fails_before_connecting() {
        let err = Connector::new("wss://127.0.0.1:1/").connect().unwrap_err();
        assert!(
            matches!(err, Error::Url(UrlError::TlsNotEnabled)),
            "{err:?}"
        );
    }

    #[test]
    fn credentials_stay_within_host_port_and_security() {
        let from = Url::parse("wss://a.example:8443/").unwrap();
        let leaves = |to: &str| leaves_origin(&from, &Url::parse(to).unwrap());
        assert!(!leaves("wss://A.example:8443/other"));
        assert!(leaves("wss://b.example:8443/"));
        assert!(leaves("wss://a.example:9443/"));
        assert!(leaves("ws://a.example:8443/"));
        let plain = Url::parse("ws://a.example:8080/").unwrap();
        assert!(!leaves_origin(
            &plain,
            &Url::parse("wss://a.example:8080/").unwrap()
        ));
    }
}
