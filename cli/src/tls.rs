//! TLS on the command line: the server's certificate (`--tls-*`) and the
//! client's trust (`--ca`, `--insecure`). Without a TLS feature the flags
//! still parse, and using them is an error that says so.

use std::path::PathBuf;

use clap::Args;
use stdws::{Connector, ServerBuilder};

use crate::secrets::first_line;
use crate::Failure;

/// The server's identity: https:// and wss:// on the same port.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "TLS (https:// and wss:// on the same port)")]
pub(crate) struct TlsOptions {
    /// PEM certificate chain (with --tls-key).
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// PEM private key (with --tls-cert).
    #[arg(long, value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// A PKCS#12 archive instead of --tls-cert and --tls-key (native-tls).
    #[arg(long, value_name = "FILE")]
    tls_pkcs12: Option<PathBuf>,
    /// The PKCS#12 archive's password.
    #[arg(
        long,
        value_name = "P",
        allow_hyphen_values = true,
        conflicts_with = "tls_password_file"
    )]
    tls_password: Option<String>,
    /// The PKCS#12 archive's password: the first line of FILE, so it stays
    /// out of the process list.
    #[arg(long, value_name = "FILE")]
    tls_password_file: Option<String>,
    /// native-tls or rustls (default: the first compiled in).
    #[arg(long, value_name = "BACKEND")]
    tls_backend: Option<String>,
    /// Require client certificates from this CA (rustls).
    #[arg(long, value_name = "FILE")]
    tls_client_ca: Option<PathBuf>,
}

impl TlsOptions {
    /// Whether the server speaks TLS.
    pub(crate) fn is_set(&self) -> bool {
        self.tls_cert.is_some() || self.tls_key.is_some() || self.tls_pkcs12.is_some()
    }

    /// The options fit together.
    pub(crate) fn check(&self) -> Result<(), Failure> {
        let stray = self.tls_password.is_some()
            || self.tls_password_file.is_some()
            || self.tls_backend.is_some()
            || self.tls_client_ca.is_some();
        match (&self.tls_cert, &self.tls_key, &self.tls_pkcs12) {
            (Some(_), Some(_), None) | (None, None, Some(_)) => Ok(()),
            (None, None, None) if !stray => Ok(()),
            (None, None, None) => Err(Failure::Usage(
                "TLS options need --tls-cert and --tls-key (or --tls-pkcs12)".into(),
            )),
            (_, _, Some(_)) => Err(Failure::Usage(
                "--tls-pkcs12 replaces --tls-cert and --tls-key".into(),
            )),
            _ => Err(Failure::Usage(
                "--tls-cert and --tls-key go together".into(),
            )),
        }
    }

    /// The PKCS#12 password, from the flag or the file's first line.
    pub(crate) fn password(&self) -> Result<String, Failure> {
        match (&self.tls_password, &self.tls_password_file) {
            (Some(password), _) => Ok(password.clone()),
            (None, Some(path)) => first_line("--tls-password-file", path),
            (None, None) => Ok(String::new()),
        }
    }

    /// The builder with TLS when asked for.
    pub(crate) fn apply(&self, builder: ServerBuilder) -> Result<ServerBuilder, Failure> {
        self.check()?;
        let password = self.password()?;
        #[cfg(any(feature = "tls", feature = "rustls"))]
        {
            use stdws::tls::{Identity, TlsAcceptor};
            let identity = match (&self.tls_cert, &self.tls_key, &self.tls_pkcs12) {
                (Some(cert), Some(key), None) => Identity::from_pem_files(cert, key)?,
                (None, None, Some(p12)) => Identity::from_pkcs12_file(p12, &password)?,
                _ => return Ok(builder),
            };
            let mut tls = TlsAcceptor::builder(identity);
            if let Some(name) = &self.tls_backend {
                tls = tls.backend(name.parse()?);
            }
            if let Some(ca) = &self.tls_client_ca {
                let pem = std::fs::read(ca)
                    .map_err(|e| Failure::Run(format!("cannot read {}: {e}", ca.display())))?;
                tls = tls.client_ca_pem(&pem);
            }
            let acceptor = tls.build()?;
            eprintln!("stdws: TLS with {}", acceptor.backend());
            Ok(builder.tls(acceptor))
        }
        #[cfg(not(any(feature = "tls", feature = "rustls")))]
        {
            let _ = password;
            if self.is_set() {
                return Err(no_tls());
            }
            Ok(builder)
        }
    }
}

/// The client's trust in the server's certificate.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "TLS (wss://)")]
pub(crate) struct ClientTlsOptions {
    /// Trust this CA as well as the system's roots. Repeat for more.
    #[arg(long, value_name = "FILE")]
    ca: Vec<PathBuf>,
    /// native-tls or rustls (default: the first compiled in).
    #[arg(long, value_name = "BACKEND")]
    tls_backend: Option<String>,
    /// Turn certificate checks OFF (tests only): anyone on the path can
    /// read and change the connection.
    #[arg(long)]
    insecure: bool,
}

impl ClientTlsOptions {
    /// The builder with these TLS settings.
    pub(crate) fn apply(&self, builder: Connector) -> Result<Connector, Failure> {
        #[cfg(any(feature = "tls", feature = "rustls"))]
        {
            let mut tls = stdws::tls::TlsConnector::new();
            if let Some(name) = &self.tls_backend {
                tls = tls.backend(name.parse()?);
            }
            for ca in &self.ca {
                tls = tls.ca_file(ca);
            }
            if self.insecure {
                eprintln!(
                    "stdws: WARNING: --insecure: the server's certificate is NOT checked; \
                     anyone on the path can read and change this connection"
                );
                tls = tls.danger_accept_invalid_certs(true);
            }
            Ok(builder.tls(tls))
        }
        #[cfg(not(any(feature = "tls", feature = "rustls")))]
        {
            if !self.ca.is_empty() || self.tls_backend.is_some() || self.insecure {
                return Err(no_tls());
            }
            Ok(builder)
        }
    }
}

#[cfg(not(any(feature = "tls", feature = "rustls")))]
fn no_tls() -> Failure {
    Failure::Run("this stdws was built without TLS (features `tls` or `rustls`)".into())
}
