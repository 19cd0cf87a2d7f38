//! The rustls backend as a [`TlsTransform`].
//!
//! rustls is sans-I/O already: `read_tls` + `process_new_packets` +
//! `reader()` decrypt, `writer()` + `write_tls` encrypt, all in memory.
//! Only the handshake touches the socket, under the deadline.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Instant;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, ServerConfig,
    ServerConnection, SignatureScheme,
};

use super::{tls_error, ClientSettings, Identity, IdentityKind};
use crate::deadline::time_left;
use crate::error::{Error, Timeout, TlsError};
use crate::transport::duplex::{Acceptor, TlsEstablished, TlsTransform};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_error("cannot read PEM certificates", e))?;
    if certs.is_empty() {
        return Err(Error::Tls(TlsError::new("no certificate in the PEM text")));
    }
    Ok(certs)
}

fn chain_and_key(
    identity: &Identity,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), Error> {
    match &identity.kind {
        IdentityKind::Pem { chain, key } => Ok((
            certs(chain)?,
            PrivateKeyDer::from_pem_slice(key)
                .map_err(|e| tls_error("cannot read the PEM private key", e))?,
        )),
        IdentityKind::Pkcs12 { .. } => Err(Error::Tls(TlsError::new(
            "PKCS#12 identities need the native-tls backend; \
             convert with `openssl pkcs12 -nodes` to PEM for rustls",
        ))),
    }
}

fn roots(pems: &[Vec<u8>], system: bool) -> Result<RootCertStore, Error> {
    let mut store = RootCertStore::empty();
    if system {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            log::debug!("system root certificates: {e}");
        }
        store.add_parsable_certificates(found.certs);
    }
    for pem in pems {
        for cert in certs(pem)? {
            store
                .add(cert)
                .map_err(|e| tls_error("unusable CA certificate", e))?;
        }
    }
    Ok(store)
}

struct RustlsSession {
    conn: rustls::Connection,
}

/// A failure inside the session (never a timeout kind, see the native backend).
fn session_error(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("TLS: {e}"))
}

impl RustlsSession {
    /// Takes all the plaintext rustls holds. `Ok` also after a close_notify.
    fn drain(&mut self, plaintext: &mut Vec<u8>) -> io::Result<()> {
        match self.conn.reader().read_to_end(plaintext) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(session_error(e)),
        }
    }
}

impl TlsTransform for RustlsSession {
    fn decrypt(&mut self, mut ciphertext: &[u8], plaintext: &mut Vec<u8>) -> io::Result<()> {
        while !ciphertext.is_empty() {
            // rustls takes ciphertext in bounded pieces and refuses more
            // while its plaintext buffer is full: drain after each piece.
            if self.conn.read_tls(&mut ciphertext)? == 0 {
                break; // after a close_notify nothing more is read
            }
            if let Err(e) = self.conn.process_new_packets() {
                return Err(session_error(e));
            }
            self.drain(plaintext)?;
        }
        Ok(())
    }

    fn encrypt(&mut self, mut plaintext: &[u8], ciphertext: &mut Vec<u8>) -> io::Result<()> {
        while !plaintext.is_empty() {
            let n = self.conn.writer().write(plaintext)?;
            plaintext = &plaintext[n..];
            if n == 0 && !self.conn.wants_write() {
                return Err(session_error("connection no longer writable"));
            }
            self.take_output(ciphertext);
        }
        Ok(())
    }

    fn take_output(&mut self, ciphertext: &mut Vec<u8>) {
        while self.conn.wants_write() {
            // Writing into a Vec cannot fail.
            if self.conn.write_tls(ciphertext).is_err() {
                break;
            }
        }
    }

    fn close_notify(&mut self, ciphertext: &mut Vec<u8>) {
        self.conn.send_close_notify();
        self.take_output(ciphertext);
    }
}

/// Runs the handshake on the socket before `deadline`, then hands over the
/// session with the plaintext that came along.
fn handshake(
    conn: impl Into<rustls::Connection>,
    tcp: &TcpStream,
    deadline: Instant,
) -> Result<TlsEstablished, Error> {
    let mut conn = conn.into();
    let mut socket = tcp;
    let io_error = |e: io::Error| match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::Timeout(Timeout::Handshake),
        io::ErrorKind::UnexpectedEof => Error::Tls(TlsError::caused_by(
            "the peer closed the connection during the TLS handshake",
            e,
        )),
        _ => tls_error("TLS handshake failed", rustls_cause(e)),
    };
    while conn.is_handshaking() || conn.wants_write() {
        let left = time_left(deadline)?;
        tcp.set_read_timeout(Some(left))?;
        tcp.set_write_timeout(Some(left))?;
        conn.complete_io(&mut socket).map_err(io_error)?;
    }
    let mut session = RustlsSession { conn };
    let mut plaintext = Vec::new();
    session.drain(&mut plaintext)?;
    Ok(TlsEstablished {
        session: Box::new(session),
        plaintext,
    })
}

/// rustls reports its own errors inside an `io::Error` (from
/// `complete_io`): the `rustls::Error` itself when there is one, so
/// `source()` reaches it.
fn rustls_cause(e: io::Error) -> Box<dyn std::error::Error + Send + Sync> {
    if e.get_ref().is_none() {
        // An OS error: keep it whole (its errno).
        return Box::new(e);
    }
    let kind = e.kind();
    match e.into_inner() {
        Some(inner) if inner.is::<rustls::Error>() => inner,
        Some(inner) => Box::new(io::Error::new(kind, inner)),
        None => Box::new(io::Error::from(kind)),
    }
}

struct RustlsAcceptor(Arc<ServerConfig>);

impl Acceptor for RustlsAcceptor {
    fn accept(&self, tcp: &TcpStream, deadline: Instant) -> Result<TlsEstablished, Error> {
        let conn = ServerConnection::new(Arc::clone(&self.0))
            .map_err(|e| tls_error("cannot start a TLS session", e))?;
        handshake(conn, tcp, deadline)
    }
}

pub(super) fn acceptor(
    identity: &Identity,
    client_ca: Option<&[u8]>,
) -> Result<Arc<dyn Acceptor>, Error> {
    let (chain, key) = chain_and_key(identity)?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error("cannot set up TLS", e))?;
    let builder = match client_ca {
        Some(pem) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots(&[pem.to_vec()], false)?),
                provider(),
            )
            .build()
            .map_err(|e| tls_error("cannot set up client certificate checks", e))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(chain, key)
        .map_err(|e| tls_error("cannot use the certificate and key", e))?;
    Ok(Arc::new(RustlsAcceptor(Arc::new(config))))
}

pub(super) fn connect(
    settings: &ClientSettings<'_>,
    host: &str,
    tcp: &TcpStream,
    deadline: Instant,
) -> Result<TlsEstablished, Error> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error("cannot set up TLS", e))?;
    let builder = if settings.accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider())))
    } else {
        builder.with_root_certificates(roots(settings.roots, settings.system_roots)?)
    };
    let config = match settings.identity {
        Some(identity) => {
            let (chain, key) = chain_and_key(identity)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| tls_error("cannot use the client certificate", e))?
        }
        None => builder.with_no_client_auth(),
    };
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| tls_error(format!("invalid server name {host:?}"), e))?;
    let conn = ClientConnection::new(Arc::new(config), name)
        .map_err(|e| tls_error("cannot start a TLS session", e))?;
    handshake(conn, tcp, deadline)
}

/// `danger_accept_invalid_certs`: any certificate, any name. Handshake
/// signatures are still checked, so the peer holds the key of the
/// certificate it sent.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
