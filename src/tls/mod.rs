//! TLS for `wss://`: certificates, the server's acceptor, the client's
//! connector, and the TLS stream of one connection.
//!
//! Two backends sit behind one API: **native-tls** (feature `tls`, on by
//! default: OpenSSL on Linux, the system library elsewhere) and **rustls**
//! (feature `rustls`: pure Rust, with `ring`). Both may be compiled in;
//! [`TlsBackend`] picks one per acceptor or connector.
//!
//! ```no_run
//! use std::time::{Duration, Instant};
//! use stdws::tls::TlsAcceptor;
//! use stdws::{Accept, Config, ServerHandshake};
//!
//! let acceptor = TlsAcceptor::from_pem("cert.pem", "key.pem")?;
//! let listener = std::net::TcpListener::bind("127.0.0.1:9443")?;
//! let (tcp, _) = listener.accept()?;
//! let deadline = Instant::now() + Duration::from_secs(10);
//! let tls = acceptor.accept(tcp, deadline)?;
//! let ws = ServerHandshake::read_until(tls, Config::default(), deadline)?.accept(Accept::new())?;
//! # Ok::<(), stdws::Error>(())
//! ```
//!
//! # Full duplex over TLS
//!
//! A TLS stream is one state machine for both directions, so a
//! `native-tls` stream cannot be cloned or split: a thread blocked in
//! `read` holds it, and a thread that wants to send waits for the next
//! byte from the peer. stdws does not lock the stream. Each backend turns
//! its session into a pure transform once the handshake is done
//! (`TlsTransform`, crate-internal): ciphertext in, plaintext out, and the
//! reverse. The socket stays outside, in the transport that every
//! connection runs on (plain TCP is the same transport without a session):
//!
//! ```text
//!   reading thread                     any sending thread
//!   ──────────────                     ──────────────────
//!   read(raw socket)    no lock        lock the connection's link
//!   lock session                         lock session
//!     decrypt → plaintext                  encrypt → ciphertext
//!     alerts, key updates?               unlock session
//!   unlock session                       send(raw socket, MSG_DONTWAIT);
//!   hand them to the link  ─────────►    the rest waits in the link's queue
//!                                      unlock the link
//! ```
//!
//! - The reader waits for the peer on the raw socket holding no lock, so a
//!   sender never waits for the peer to speak: a send from another thread
//!   goes out at once (no polling, no read timeout used as a clock).
//! - The session lock is held only to transform bytes in memory, never
//!   across socket I/O.
//! - Records must reach the socket in the order they were sealed (TLS
//!   sequence numbers). Senders seal and queue under the link's lock, and
//!   the link writes its queue in order; records the reader's decrypt
//!   produced (an alert, a key update) go through the same link. What the
//!   socket does not take at once is queued and written by the
//!   connection's own thread or a flusher thread, so both sides can write
//!   large messages at the same time without deadlock: each keeps reading
//!   while its queue drains.
//! - The read buffer holds a full TLS record, and every decrypt drains the
//!   session of plaintext, so no plaintext stays behind inside the TLS
//!   layer while the reader goes back to wait on the socket.
//! - The end of the stream is the socket's FIN. A close_notify adds
//!   nothing a WebSocket needs: its closing handshake (RFC 6455 §7)
//!   already proves that the peer meant to end the connection.
//!
//! [`TlsStream`] is that transport for one owner (the client's `wss://`
//! stream, a server connection from [`TlsAcceptor::accept`]): reads and
//! writes on one thread, each write sealed and sent in rounds of at most
//! 64 KiB. A [`Server`](crate::Server) puts every client on the shared
//! form, and [`WebSocket::split`](crate::WebSocket::split) moves a
//! `TlsStream` onto it, session and all.
//!
//! # Client certificates
//!
//! A server can ask for and verify client certificates with the rustls
//! backend ([`TlsAcceptorBuilder::client_ca_pem`]). native-tls has no API
//! for it on the server side, so that combination is refused when the
//! acceptor is built. Clients can present a certificate with both backends
//! ([`TlsConnector::identity`]).

use std::borrow::Cow;
use std::fmt;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::error::{Error, TlsError};
use crate::transport::duplex::{Acceptor, TlsEstablished};

#[cfg(feature = "tls")]
mod native;
#[cfg(feature = "rustls")]
mod rustls_backend;

pub use crate::transport::tls_stream::TlsStream;

/// Which TLS library does the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsBackend {
    /// `native-tls`: OpenSSL on Linux, Secure Transport on macOS, SChannel
    /// on Windows (feature `tls`).
    #[cfg(feature = "tls")]
    NativeTls,
    /// `rustls` with `ring` (feature `rustls`).
    #[cfg(feature = "rustls")]
    Rustls,
}

impl TlsBackend {
    /// Every backend compiled in, the default first.
    pub fn all() -> &'static [TlsBackend] {
        &[
            #[cfg(feature = "tls")]
            TlsBackend::NativeTls,
            #[cfg(feature = "rustls")]
            TlsBackend::Rustls,
        ]
    }
}

impl TlsBackend {
    /// The backend's name: `native-tls` or `rustls` (what
    /// [`from_str`](std::str::FromStr::from_str) reads back).
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "tls")]
            TlsBackend::NativeTls => "native-tls",
            #[cfg(feature = "rustls")]
            TlsBackend::Rustls => "rustls",
        }
    }
}

impl fmt::Display for TlsBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for TlsBackend {
    type Err = Error;

    /// `native-tls` or `rustls`, among the backends compiled in.
    fn from_str(name: &str) -> Result<TlsBackend, Error> {
        TlsBackend::all()
            .iter()
            .copied()
            .find(|b| b.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                let known: Vec<&str> = TlsBackend::all().iter().map(|b| b.name()).collect();
                Error::Tls(TlsError::new(format!(
                    "no TLS backend {name:?} in this build (it has: {})",
                    known.join(", ")
                )))
            })
    }
}

impl Default for TlsBackend {
    /// native-tls when compiled in, else rustls.
    fn default() -> TlsBackend {
        TlsBackend::all()[0]
    }
}

/// A certificate chain and its private key: what a server (or a client
/// asked for a certificate) proves itself with.
#[derive(Clone)]
pub struct Identity {
    kind: IdentityKind,
}

#[derive(Clone)]
enum IdentityKind {
    Pem {
        chain: Vec<u8>,
        key: Vec<u8>,
    },
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    Pkcs12 {
        der: Vec<u8>,
        password: String,
    },
}

impl Identity {
    /// From PEM: the certificate chain (leaf first) and a PKCS#8, PKCS#1 or
    /// SEC1 private key.
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> Identity {
        Identity {
            kind: IdentityKind::Pem {
                chain: cert_chain.to_vec(),
                key: key.to_vec(),
            },
        }
    }

    /// From two PEM files (the chain, the key).
    pub fn from_pem_files(
        cert_chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Identity, Error> {
        Ok(Identity::from_pem(
            &read_file(cert_chain.as_ref(), "certificate chain")?,
            &read_file(key.as_ref(), "private key")?,
        ))
    }

    /// From a PKCS#12 archive (`.p12`, `.pfx`) and its password. The
    /// native-tls backend only.
    pub fn from_pkcs12(der: &[u8], password: &str) -> Identity {
        Identity {
            kind: IdentityKind::Pkcs12 {
                der: der.to_vec(),
                password: password.to_owned(),
            },
        }
    }

    /// From a PKCS#12 file and its password.
    pub fn from_pkcs12_file(path: impl AsRef<Path>, password: &str) -> Result<Identity, Error> {
        Ok(Identity::from_pkcs12(
            &read_file(path.as_ref(), "PKCS#12 file")?,
            password,
        ))
    }
}

impl fmt::Debug for Identity {
    /// Never shows the key or the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            IdentityKind::Pem { .. } => "Identity(PEM)",
            IdentityKind::Pkcs12 { .. } => "Identity(PKCS#12)",
        })
    }
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| tls_error(format!("cannot read {what} {}", path.display()), e))
}

/// The server side of TLS: one per server, shared by every connection.
#[derive(Clone)]
pub struct TlsAcceptor {
    inner: Arc<dyn Acceptor>,
    backend: TlsBackend,
}

impl TlsAcceptor {
    /// An acceptor with the default backend, from a PEM certificate chain
    /// file and a PEM private key file.
    pub fn from_pem(
        cert_chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<TlsAcceptor, Error> {
        TlsAcceptor::builder(Identity::from_pem_files(cert_chain, key)?).build()
    }

    /// An acceptor from a PKCS#12 file (native-tls backend).
    pub fn from_pkcs12(path: impl AsRef<Path>, password: &str) -> Result<TlsAcceptor, Error> {
        TlsAcceptor::builder(Identity::from_pkcs12_file(path, password)?).build()
    }

    /// More options: the backend, client certificates.
    pub fn builder(identity: Identity) -> TlsAcceptorBuilder {
        TlsAcceptorBuilder {
            identity,
            backend: TlsBackend::default(),
            client_ca: None,
        }
    }

    /// The backend in use.
    pub fn backend(&self) -> TlsBackend {
        self.backend
    }

    /// Runs the TLS handshake on an accepted socket, before `deadline`
    /// (count it from the TCP accept and give the same deadline to
    /// [`ServerHandshake::read_until`](crate::ServerHandshake::read_until)).
    pub fn accept(&self, tcp: TcpStream, deadline: Instant) -> Result<TlsStream, Error> {
        let established = self.inner.accept(&tcp, deadline)?;
        Ok(TlsStream::new(tcp, established))
    }

    /// The session-level acceptor, for the server, which drives the socket
    /// itself (see the module docs).
    pub(crate) fn acceptor(&self) -> Arc<dyn Acceptor> {
        Arc::clone(&self.inner)
    }
}

impl fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsAcceptor")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// Options for a [`TlsAcceptor`].
#[derive(Debug, Clone)]
pub struct TlsAcceptorBuilder {
    identity: Identity,
    backend: TlsBackend,
    client_ca: Option<Vec<u8>>,
}

impl TlsAcceptorBuilder {
    /// Uses this backend.
    pub fn backend(mut self, backend: TlsBackend) -> TlsAcceptorBuilder {
        self.backend = backend;
        self
    }

    /// Requires clients to present a certificate signed by one of these
    /// CAs (PEM). rustls backend only: native-tls cannot verify client
    /// certificates on the server side, and [`build`](Self::build) says so.
    pub fn client_ca_pem(mut self, pem: &[u8]) -> TlsAcceptorBuilder {
        self.client_ca = Some(pem.to_vec());
        self
    }

    /// Loads the certificate and key and builds the acceptor. Errors are
    /// [`Error::Tls`] naming what is wrong (unreadable PEM, key not
    /// matching, unsupported combination).
    pub fn build(self) -> Result<TlsAcceptor, Error> {
        let inner: Arc<dyn Acceptor> = match self.backend {
            #[cfg(feature = "tls")]
            TlsBackend::NativeTls => {
                if self.client_ca.is_some() {
                    return Err(Error::Tls(TlsError::new(
                        "client certificate authentication needs the rustls backend \
                         (native-tls cannot request client certificates on a server)",
                    )));
                }
                native::acceptor(&self.identity)?
            }
            #[cfg(feature = "rustls")]
            TlsBackend::Rustls => {
                rustls_backend::acceptor(&self.identity, self.client_ca.as_deref())?
            }
        };
        Ok(TlsAcceptor {
            inner,
            backend: self.backend,
        })
    }
}

/// The client side of TLS: trust anchors, an optional client certificate,
/// and the backend. Cheap to clone; the TLS library's own connector is
/// built at each connect.
///
/// ```
/// use stdws::tls::TlsConnector;
/// let tls = TlsConnector::new().ca_file("my-ca.pem");
/// let builder = stdws::WebSocket::builder("wss://localhost:9443/").tls(tls);
/// ```
#[derive(Debug, Clone)]
pub struct TlsConnector {
    backend: TlsBackend,
    roots_pem: Vec<Vec<u8>>,
    ca_files: Vec<PathBuf>,
    system_roots: bool,
    accept_invalid_certs: bool,
    identity: Option<Identity>,
}

impl Default for TlsConnector {
    fn default() -> TlsConnector {
        TlsConnector::new()
    }
}

impl TlsConnector {
    /// Trusts the system's root certificates, with the default backend.
    pub fn new() -> TlsConnector {
        TlsConnector {
            backend: TlsBackend::default(),
            roots_pem: Vec::new(),
            ca_files: Vec::new(),
            system_roots: true,
            accept_invalid_certs: false,
            identity: None,
        }
    }

    /// Uses this backend.
    pub fn backend(mut self, backend: TlsBackend) -> TlsConnector {
        self.backend = backend;
        self
    }

    /// Also trusts the CA certificates in this PEM text.
    pub fn add_root_pem(mut self, pem: &[u8]) -> TlsConnector {
        self.roots_pem.push(pem.to_vec());
        self
    }

    /// Also trusts the CA certificates in this PEM file (read at connect).
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> TlsConnector {
        self.ca_files.push(path.into());
        self
    }

    /// Whether to trust the system's root certificates (on by default).
    pub fn system_roots(mut self, on: bool) -> TlsConnector {
        self.system_roots = on;
        self
    }

    /// **Turns off certificate and host name verification.** Anyone on the
    /// path can then read and change the traffic. For tests against a
    /// self-signed certificate only.
    pub fn danger_accept_invalid_certs(mut self, on: bool) -> TlsConnector {
        self.accept_invalid_certs = on;
        self
    }

    /// Presents this certificate if the server asks for one.
    pub fn identity(mut self, identity: Identity) -> TlsConnector {
        self.identity = Some(identity);
        self
    }

    /// Runs the TLS handshake on a connected socket before `deadline`.
    /// `host` is sent as SNI (unless it is an IP address) and checked
    /// against the server's certificate.
    pub fn connect(
        &self,
        host: &str,
        tcp: TcpStream,
        deadline: Instant,
    ) -> Result<TlsStream, Error> {
        let mut roots = self.roots_pem.clone();
        for path in &self.ca_files {
            roots.push(read_file(path, "CA file")?);
        }
        let settings = ClientSettings {
            roots: &roots,
            system_roots: self.system_roots,
            accept_invalid_certs: self.accept_invalid_certs,
            identity: self.identity.as_ref(),
        };
        let established: TlsEstablished = match self.backend {
            #[cfg(feature = "tls")]
            TlsBackend::NativeTls => native::connect(&settings, host, &tcp, deadline)?,
            #[cfg(feature = "rustls")]
            TlsBackend::Rustls => rustls_backend::connect(&settings, host, &tcp, deadline)?,
        };
        Ok(TlsStream::new(tcp, established))
    }
}

/// What a backend needs to build its client side.
struct ClientSettings<'a> {
    roots: &'a [Vec<u8>],
    system_roots: bool,
    accept_invalid_certs: bool,
    identity: Option<&'a Identity>,
}

/// A TLS library error as [`Error::Tls`]: what failed, and the library's
/// error as its source.
fn tls_error(
    context: impl Into<Cow<'static, str>>,
    e: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> Error {
    Error::Tls(TlsError::caused_by(context, e))
}
