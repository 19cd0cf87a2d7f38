//! The blocking driver: runs [`http_connect`](super::http_connect) or
//! [`socks5`](super::socks5) on a socket already connected to the proxy,
//! before the handshake deadline, and hands back the tunnel.
//!
//! Once the tunnel is open the client speaks first (a TLS ClientHello or
//! the upgrade request), so a proxy that sends anything after its reply
//! has broken its protocol: those bytes are an error, never passed on as
//! if the server had sent them.

use std::net::{IpAddr, TcpStream, ToSocketAddrs};
use std::time::Instant;

use super::socks5::{Address, Socks5, Step};
use super::{http_connect, Proxy, ProxyKind};
use crate::deadline::time_left;
use crate::error::{Error, HandshakeError, ProxyError, Timeout};
use crate::handshake::HeadLimits;
use crate::stream::Stream;
use crate::upgrade::read_head;
use crate::url::Url;

/// An open tunnel to the server.
pub(crate) enum Tunnel {
    /// Through an `http://` or SOCKS5 proxy: the TCP socket to the proxy.
    Tcp(TcpStream),
    /// Through an `https://` proxy: the TLS session with the proxy, which
    /// carries the server's bytes.
    #[cfg(any(feature = "tls", feature = "rustls"))]
    Tls(crate::tls::TlsStream),
}

/// What the driver needs besides the proxy and the target.
pub(crate) struct Settings<'a> {
    /// Caps on the proxy's reply head (the client's response caps).
    pub(crate) limits: HeadLimits,
    /// A `Proxy-Authorization` value given by the caller; it wins over the
    /// proxy URL's credentials.
    pub(crate) authorization: Option<&'a str>,
    /// TLS settings for an `https://` proxy.
    #[cfg(any(feature = "tls", feature = "rustls"))]
    pub(crate) tls: &'a crate::tls::TlsConnector,
}

/// Opens a tunnel to `target` through `proxy`, on `tcp` (connected to the
/// proxy), before `deadline`.
pub(crate) fn open(
    proxy: &Proxy,
    mut tcp: TcpStream,
    target: &Url,
    deadline: Instant,
    settings: &Settings<'_>,
) -> Result<Tunnel, Error> {
    log::debug!("opening a tunnel to {} through {proxy}", target.origin());
    match proxy.kind {
        ProxyKind::Http => {
            connect(&mut tcp, proxy, target, deadline, settings)?;
            Ok(Tunnel::Tcp(tcp))
        }
        ProxyKind::Socks5 | ProxyKind::Socks5h => {
            socks(&mut tcp, proxy, target, deadline)?;
            Ok(Tunnel::Tcp(tcp))
        }
        #[cfg(any(feature = "tls", feature = "rustls"))]
        ProxyKind::Https => {
            if target.secure {
                return Err(ProxyError::TlsInTls.into());
            }
            let mut tls = settings.tls.connect(&proxy.host, tcp, deadline)?;
            connect(&mut tls, proxy, target, deadline, settings)?;
            Ok(Tunnel::Tls(tls))
        }
        #[cfg(not(any(feature = "tls", feature = "rustls")))]
        ProxyKind::Https => Err(ProxyError::TlsNotEnabled.into()),
    }
}

/// I/O errors of the exchange: a socket timeout is the proxy's timeout.
fn io_error(e: std::io::Error) -> Error {
    Error::from_io(e, Timeout::Proxy)
}

fn send<S: Stream>(stream: &mut S, bytes: &[u8], deadline: Instant) -> Result<(), Error> {
    stream.set_write_timeout(Some(proxy_time_left(deadline)?))?;
    stream.write_all(bytes).map_err(io_error)?;
    stream.flush().map_err(io_error)
}

fn proxy_time_left(deadline: Instant) -> Result<std::time::Duration, Error> {
    time_left(deadline).map_err(|_| Error::Timeout(Timeout::Proxy))
}

/// CONNECT over `stream`; `Ok` once a 2xx arrived.
fn connect<S: Stream>(
    stream: &mut S,
    proxy: &Proxy,
    target: &Url,
    deadline: Instant,
    settings: &Settings<'_>,
) -> Result<(), Error> {
    let from_url = proxy
        .credentials
        .as_ref()
        .map(|(u, p)| http_connect::basic(u, p));
    let authorization = settings.authorization.or(from_url.as_deref());
    let request = http_connect::request(&target.host, target.port, authorization);
    send(stream, &request, deadline)?;
    // A head over the caps is the proxy's fault: an invalid reply.
    let head = read_head(stream, settings.limits, deadline, |e| {
        ProxyError::InvalidReply(format!("reply head: {}", e.describe()))
    })
    .map_err(|e| match e {
        Error::Timeout(_) => Error::Timeout(Timeout::Proxy),
        Error::Handshake(HandshakeError::ConnectionClosed) => ProxyError::TunnelClosed.into(),
        other => other,
    })?;
    http_connect::parse_reply(head.bytes(), &head.scanner)?;
    if !head.leftover().is_empty() {
        return Err(ProxyError::InvalidReply("data after the CONNECT reply".into()).into());
    }
    Ok(())
}

/// The SOCKS5 exchange over `stream`; `Ok` once the reply said 0.
fn socks<S: Stream>(
    stream: &mut S,
    proxy: &Proxy,
    target: &Url,
    deadline: Instant,
) -> Result<(), Error> {
    let address = match target.host.parse::<IpAddr>() {
        Ok(ip) => Address::Ip(ip),
        Err(_) if proxy.kind == ProxyKind::Socks5h => Address::Domain(target.host.clone()),
        // socks5://: the client resolves the name (RFC 1928 §5, ATYP 1 or 4).
        Err(_) => Address::Ip(resolve(&target.host, target.port)?),
    };
    let credentials = proxy
        .credentials
        .as_ref()
        .map(|(u, p)| (u.as_str(), p.as_str()));
    let (mut machine, greeting) = Socks5::new(address, target.port, credentials)?;
    send(stream, &greeting, deadline)?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        match machine.advance(&buf)? {
            Step::Partial => {
                stream.set_read_timeout(Some(proxy_time_left(deadline)?))?;
                let n = match stream.read(&mut chunk) {
                    Ok(0) => return Err(ProxyError::TunnelClosed.into()),
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => 0,
                    Err(e) => return Err(io_error(e)),
                };
                buf.extend_from_slice(&chunk[..n]);
            }
            Step::Send { consumed, bytes } => {
                buf.drain(..consumed);
                send(stream, &bytes, deadline)?;
            }
            Step::Done { consumed } => {
                if buf.len() > consumed {
                    return Err(
                        ProxyError::InvalidReply("data after the SOCKS5 reply".into()).into(),
                    );
                }
                return Ok(());
            }
        }
    }
}

/// An address of `host` for `socks5://`: the first IPv4 one if there is
/// one (one address is sent, so there is no falling back to the next, and
/// IPv4 is what every SOCKS5 proxy reaches), else the first.
fn resolve(host: &str, port: u16) -> Result<IpAddr, Error> {
    let addrs: Vec<IpAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| {
            Error::Io(std::io::Error::new(
                e.kind(),
                format!("cannot resolve {host}: {e}"),
            ))
        })?
        .map(|a| a.ip())
        .collect();
    let first = addrs.iter().find(|ip| ip.is_ipv4()).or(addrs.first());
    first.copied().ok_or_else(|| {
        Error::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{host} has no address"),
        ))
    })
}
