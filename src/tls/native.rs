//! The native-tls backend as a [`TlsTransform`].
//!
//! native-tls only speaks to a `Read + Write`, so the session is a
//! `native_tls::TlsStream` over an [`Adapter`] with two modes. During the
//! handshake the adapter reads and writes the socket itself, each call
//! bounded by the time left before the deadline. Afterwards it is a pair of
//! memory buffers (a "memory BIO"): [`decrypt`](TlsTransform::decrypt) puts
//! ciphertext in the input and reads plaintext until the library asks for
//! more (`WouldBlock`), [`encrypt`](TlsTransform::encrypt) writes plaintext
//! and takes the sealed records from the output.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Instant;

use super::{tls_error, ClientSettings, Identity, IdentityKind};
use crate::deadline::remaining;
use crate::error::{Error, Timeout};
use crate::transport::duplex::{Acceptor, TlsEstablished, TlsTransform};

/// The byte pipe under the TLS library.
struct Adapter {
    /// The socket, during the handshake only.
    handshake: Option<(TcpStream, Instant)>,
    input: Vec<u8>,
    pos: usize,
    output: Vec<u8>,
}

impl Adapter {
    fn handshaking(tcp: &TcpStream, deadline: Instant) -> io::Result<Adapter> {
        Ok(Adapter {
            handshake: Some((tcp.try_clone()?, deadline)),
            input: Vec::new(),
            pos: 0,
            output: Vec::new(),
        })
    }
}

/// The time left before `deadline`; `WouldBlock` once it has passed, which
/// the library reports as an unfinished handshake.
fn left(deadline: Instant) -> io::Result<std::time::Duration> {
    remaining(deadline).ok_or_else(|| io::ErrorKind::WouldBlock.into())
}

/// A socket timeout is `WouldBlock` on Unix and `TimedOut` on Windows; the
/// library must see `WouldBlock` to stop cleanly.
fn timeout_as_would_block(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::TimedOut {
        io::ErrorKind::WouldBlock.into()
    } else {
        e
    }
}

impl Read for Adapter {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some((tcp, deadline)) = &mut self.handshake {
            tcp.set_read_timeout(Some(left(*deadline)?))?;
            return tcp.read(buf).map_err(timeout_as_would_block);
        }
        let rest = &self.input[self.pos..];
        if rest.is_empty() {
            self.input.clear();
            self.pos = 0;
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for Adapter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some((tcp, deadline)) = &mut self.handshake {
            tcp.set_write_timeout(Some(left(*deadline)?))?;
            return tcp.write(buf).map_err(timeout_as_would_block);
        }
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.handshake {
            Some((tcp, _)) => tcp.flush(),
            None => Ok(()),
        }
    }
}

struct NativeSession {
    tls: native_tls::TlsStream<Adapter>,
}

impl NativeSession {
    /// Reads plaintext until the library needs more ciphertext, so none is
    /// left inside it. `Ok` also after a close_notify (no more plaintext).
    fn drain(&mut self, plaintext: &mut Vec<u8>) -> io::Result<()> {
        match self.tls.read_to_end(plaintext) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(session_error(e)),
        }
    }
}

/// A failure inside the session. Never a timeout kind: the caller would
/// take it for a socket timeout and retry.
fn session_error(e: io::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("TLS: {e}"))
}

impl TlsTransform for NativeSession {
    fn decrypt(&mut self, ciphertext: &[u8], plaintext: &mut Vec<u8>) -> io::Result<()> {
        self.tls.get_mut().input.extend_from_slice(ciphertext);
        self.drain(plaintext)
    }

    fn encrypt(&mut self, plaintext: &[u8], ciphertext: &mut Vec<u8>) -> io::Result<()> {
        // Writing into memory never blocks; `WouldBlock` here would mean the
        // peer started a TLS 1.2 renegotiation, which is not supported.
        self.tls.write_all(plaintext).map_err(session_error)?;
        self.take_output(ciphertext);
        Ok(())
    }

    fn take_output(&mut self, ciphertext: &mut Vec<u8>) {
        let output = &mut self.tls.get_mut().output;
        if ciphertext.is_empty() {
            std::mem::swap(ciphertext, output);
        } else {
            ciphertext.append(output);
        }
    }

    fn close_notify(&mut self, ciphertext: &mut Vec<u8>) {
        // `shutdown` only writes the alert here (it does not wait for the
        // peer's), into the output buffer.
        let _ = self.tls.shutdown();
        self.take_output(ciphertext);
    }
}

/// Drives a handshake to its end, before `deadline`.
fn finish(
    mut result: Result<native_tls::TlsStream<Adapter>, native_tls::HandshakeError<Adapter>>,
    deadline: Instant,
) -> Result<TlsEstablished, Error> {
    let tls = loop {
        match result {
            Ok(tls) => break tls,
            Err(native_tls::HandshakeError::Failure(e)) => {
                return Err(tls_error("TLS handshake failed", e))
            }
            Err(native_tls::HandshakeError::WouldBlock(mid)) => {
                if Instant::now() >= deadline {
                    return Err(Error::Timeout(Timeout::Handshake));
                }
                result = mid.handshake();
            }
        }
    };
    let mut session = NativeSession { tls };
    session.tls.get_mut().handshake = None;
    let mut plaintext = Vec::new();
    session.drain(&mut plaintext)?;
    Ok(TlsEstablished {
        session: Box::new(session),
        plaintext,
    })
}

fn native_identity(identity: &Identity) -> Result<native_tls::Identity, Error> {
    match &identity.kind {
        IdentityKind::Pem { chain, key } => native_tls::Identity::from_pkcs8(chain, key)
            .map_err(|e| tls_error("cannot load the certificate chain and key", e)),
        IdentityKind::Pkcs12 { der, password } => native_tls::Identity::from_pkcs12(der, password)
            .map_err(|e| tls_error("cannot load the PKCS#12 identity", e)),
    }
}

struct NativeAcceptor(native_tls::TlsAcceptor);

impl Acceptor for NativeAcceptor {
    fn accept(&self, tcp: &TcpStream, deadline: Instant) -> Result<TlsEstablished, Error> {
        finish(
            self.0.accept(Adapter::handshaking(tcp, deadline)?),
            deadline,
        )
    }
}

pub(super) fn acceptor(identity: &Identity) -> Result<Arc<dyn Acceptor>, Error> {
    let acceptor = native_tls::TlsAcceptor::new(native_identity(identity)?)
        .map_err(|e| tls_error("cannot set up TLS", e))?;
    Ok(Arc::new(NativeAcceptor(acceptor)))
}

pub(super) fn connect(
    settings: &ClientSettings<'_>,
    host: &str,
    tcp: &TcpStream,
    deadline: Instant,
) -> Result<TlsEstablished, Error> {
    let mut builder = native_tls::TlsConnector::builder();
    for pem in settings.roots {
        for cert in native_tls::Certificate::stack_from_pem(pem)
            .map_err(|e| tls_error("cannot read the CA certificates", e))?
        {
            builder.add_root_certificate(cert);
        }
    }
    builder.disable_built_in_roots(!settings.system_roots);
    builder.danger_accept_invalid_certs(settings.accept_invalid_certs);
    builder.danger_accept_invalid_hostnames(settings.accept_invalid_certs);
    if let Some(identity) = settings.identity {
        builder.identity(native_identity(identity)?);
    }
    let connector = builder
        .build()
        .map_err(|e| tls_error("cannot set up TLS", e))?;
    finish(
        connector.connect(host, Adapter::handshaking(tcp, deadline)?),
        deadline,
    )
}
