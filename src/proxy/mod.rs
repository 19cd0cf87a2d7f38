//! Clients behind proxies: HTTP CONNECT and SOCKS5, chosen from the
//! environment as curl chooses them.
//!
//! A client that may not reach the server directly opens a tunnel through
//! a proxy first, then speaks TLS (for `wss://`) and the WebSocket
//! handshake through it as if it were connected to the server:
//!
//! ```text
//!  client ──TCP──▶ proxy ──TCP──▶ server
//!     │  CONNECT host:port (RFC 9110 §9.3.6)   or
//!     │  SOCKS5 greeting, RFC 1929 auth, CONNECT (RFC 1928)
//!     │◀─ 2xx / reply 0: the tunnel is open
//!     └── TLS with SNI and certificate checks for the server's name,
//!         then GET /resource Upgrade: websocket
//! ```
//!
//! - [`Proxy`] is a parsed proxy URL: `http://` (CONNECT), `https://` (TLS
//!   to the proxy, then CONNECT), `socks5://` (the client resolves the
//!   server's name and sends the address) and `socks5h://` (the proxy
//!   resolves the name). Credentials in the URL become a Basic
//!   `Proxy-Authorization` (HTTP) or an RFC 1929 user name and password
//!   (SOCKS5).
//! - [`env`](mod@env) picks the proxy for a URL from `https_proxy`, `http_proxy`,
//!   `all_proxy` and `no_proxy` (upper or lower case, lower case first).
//! - [`http_connect`] and [`socks5`] are the two exchanges, sans I/O:
//!   request bytes out, reply bytes in, at any split point.
//!
//! The blocking driver that runs them on a socket is crate-internal; a
//! client uses it through
//! [`Connector::proxy`](crate::Connector::proxy) and the
//! environment. The handshake deadline covers the proxy exchange, and the
//! proxy's reply head is bounded by the same caps as any response head.
//! `Proxy-Authorization` goes to the proxy only, never through the tunnel
//! to the WebSocket server.

pub mod env;
pub mod http_connect;
pub mod socks5;
pub(crate) mod tunnel;

use std::fmt;

use crate::error::ProxyError;
use crate::url::{check_chars, percent_decode, split_host_port, Url};

/// How a proxy is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyKind {
    /// `http://`: CONNECT over TCP.
    Http,
    /// `https://`: TLS to the proxy, then CONNECT inside it.
    Https,
    /// `socks5://`: SOCKS5, the client resolves the server's name.
    Socks5,
    /// `socks5h://`: SOCKS5, the proxy resolves the server's name.
    Socks5h,
}

impl ProxyKind {
    /// The URL scheme.
    pub fn scheme(self) -> &'static str {
        match self {
            ProxyKind::Http => "http",
            ProxyKind::Https => "https",
            ProxyKind::Socks5 => "socks5",
            ProxyKind::Socks5h => "socks5h",
        }
    }

    /// The port when the URL names none: 443 for `https`, else 1080, as
    /// curl assumes.
    pub fn default_port(self) -> u16 {
        match self {
            ProxyKind::Https => 443,
            _ => 1080,
        }
    }

    /// True for the SOCKS5 kinds.
    pub fn is_socks(self) -> bool {
        matches!(self, ProxyKind::Socks5 | ProxyKind::Socks5h)
    }
}

/// A proxy URL: `scheme://[user[:password]@]host[:port][/]`.
///
/// ```
/// use stdws::proxy::{Proxy, ProxyKind};
/// let p = Proxy::parse("socks5h://alice:s%40cret@proxy.example:1080").unwrap();
/// assert_eq!((p.kind, p.host.as_str(), p.port), (ProxyKind::Socks5h, "proxy.example", 1080));
/// assert_eq!(p.credentials, Some(("alice".into(), "s@cret".into())));
/// // Without a scheme, as curl reads it: an HTTP proxy.
/// assert_eq!(Proxy::parse("proxy.example:3128").unwrap().kind, ProxyKind::Http);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    /// How to speak to it.
    pub kind: ProxyKind,
    /// Its host name or IP address (IPv6 without brackets).
    pub host: String,
    /// Its port.
    pub port: u16,
    /// User name and password from the URL, percent-decoded.
    pub credentials: Option<(String, String)>,
}

impl Proxy {
    /// Parses a proxy URL. A path after the host is ignored (`http://proxy:3128/`
    /// is common); a URL without a scheme is an HTTP proxy. SOCKS5
    /// credentials must fit RFC 1929 (1 to 255 bytes of user name, at most
    /// 255 of password); HTTP ones must not have a `:` in the user name
    /// (RFC 7617 §2).
    pub fn parse(text: &str) -> Result<Proxy, ProxyError> {
        let invalid = |e: &dyn fmt::Display| ProxyError::InvalidUrl(e.to_string());
        check_chars(text).map_err(|e| invalid(&e))?;
        let (scheme, rest) = text.split_once("://").unwrap_or(("http", text));
        let kind = match scheme.to_ascii_lowercase().as_str() {
            "http" => ProxyKind::Http,
            "https" => ProxyKind::Https,
            "socks5" => ProxyKind::Socks5,
            "socks5h" => ProxyKind::Socks5h,
            other => {
                return Err(ProxyError::InvalidUrl(format!(
                    "unsupported proxy scheme {other:?} (http, https, socks5, socks5h)"
                )))
            }
        };
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((info, hp)) => (Some(info), hp),
            None => (None, authority),
        };
        let (host, port) =
            split_host_port(hostport, kind.default_port()).map_err(|e| invalid(&e))?;
        let credentials = match userinfo {
            None => None,
            Some(info) => {
                let (user, pass) = info.split_once(':').unwrap_or((info, ""));
                let user = percent_decode(user).map_err(|e| invalid(&e))?;
                let pass = percent_decode(pass).map_err(|e| invalid(&e))?;
                check_credentials(kind, &user, &pass)?;
                Some((user, pass))
            }
        };
        Ok(Proxy {
            kind,
            host,
            port,
            credentials,
        })
    }

    /// `host:port`, with brackets around an IPv6 address.
    pub fn authority(&self) -> String {
        authority(&self.host, self.port)
    }
}

/// `host:port` as a request target or a `Host` value (RFC 9110 §9.3.6:
/// CONNECT always names the port); IPv6 addresses get their brackets.
pub(crate) fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn check_credentials(kind: ProxyKind, user: &str, pass: &str) -> Result<(), ProxyError> {
    let bad = |why: &str| Err(ProxyError::InvalidUrl(why.to_owned()));
    if kind.is_socks() {
        if user.is_empty() || user.len() > 255 || pass.len() > 255 {
            return bad(
                "a SOCKS5 user name is 1 to 255 bytes and a password at most 255 (RFC 1929)",
            );
        }
    } else if user.contains(':') {
        return bad("a Basic user name cannot contain ':' (RFC 7617 §2)");
    }
    Ok(())
}

impl fmt::Display for Proxy {
    /// The URL without its password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let user = match &self.credentials {
            Some((u, _)) => format!("{u}@"),
            None => String::new(),
        };
        write!(f, "{}://{user}{}", self.kind.scheme(), self.authority())
    }
}

impl fmt::Debug for Proxy {
    /// Never shows the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Proxy({self})")
    }
}

/// Which proxy a client uses: the environment's (the default), a given
/// one, or none.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum ProxyChoice {
    /// Read the environment at each connection (each redirect hop).
    Environment,
    /// Connect directly.
    Off,
    /// This proxy URL, for every host (parsed at connect).
    Url(String),
}

impl ProxyChoice {
    /// The proxy for this hop, or `None` to connect directly.
    pub(crate) fn select(&self, url: &Url) -> Result<Option<Proxy>, ProxyError> {
        match self {
            ProxyChoice::Environment => env::from_env(url),
            ProxyChoice::Off => Ok(None),
            ProxyChoice::Url(text) => Proxy::parse(text).map(Some),
        }
    }
}

impl fmt::Debug for ProxyChoice {
    /// The URL without its password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyChoice::Environment => f.write_str("Environment"),
            ProxyChoice::Off => f.write_str("Off"),
            ProxyChoice::Url(text) => match Proxy::parse(text) {
                Ok(p) => write!(f, "{p:?}"),
                Err(_) => f.write_str("<invalid proxy URL>"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_parse_like_curl() {
        for (text, kind, host, port) in [
            ("http://p.example:3128", ProxyKind::Http, "p.example", 3128),
            ("http://p.example:3128/", ProxyKind::Http, "p.example", 3128),
            ("HTTPS://p.example", ProxyKind::Https, "p.example", 443),
            ("socks5://127.0.0.1", ProxyKind::Socks5, "127.0.0.1", 1080),
            ("socks5h://[::1]:9050", ProxyKind::Socks5h, "::1", 9050),
            ("p.example", ProxyKind::Http, "p.example", 1080),
        ] {
            let p = Proxy::parse(text).unwrap();
            assert_eq!(
                (p.kind, p.host.as_str(), p.port),
                (kind, host, port),
                "{text}"
            );
        }
    }

    #[test]
    fn bad_proxy_urls_are_invalid_url_errors() {
        for bad in [
            "socks4://p:1080",
            "ftp://p",
            "http://",
            "http://p:0",
            "http://p :80",
            "socks5://:pw@p",
            "http://a%3Ab:c@p",
        ] {
            let err = Proxy::parse(bad).unwrap_err();
            assert!(matches!(err, ProxyError::InvalidUrl(_)), "{bad}: {err:?}");
        }
        let long = "u".repeat(256);
        assert!(Proxy::parse(&format!("socks5://{long}:pw@p")).is_err());
        assert!(Proxy::parse(&format!("http://{long}:pw@p")).is_ok());
    }

    #[test]
    fn debug_and_display_hide_the_password() {
        let p = Proxy::parse("http://alice:secret@p.example:3128").unwrap();
        assert_eq!(p.to_string(), "http://alice@p.example:3128");
        let choice = ProxyChoice::Url("socks5://bob:hunter2@[::1]:1080".into());
        let shown = format!("{p:?} {choice:?}");
        assert!(
            !shown.contains("secret") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(shown.contains("socks5://bob@[::1]:1080"), "{shown}");
    }
}
