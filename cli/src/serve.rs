//! `stdws serve`: the echo, chat and console server.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;

use clap::Args;
use stdws::{Admission, Client, Error, Handler, Message, Reject, Request, Server};

use crate::auth::{AuthOptions, REALM};
use crate::cluster::ClusterOptions;
use crate::limits::LimitOptions;
use crate::tls::TlsOptions;
use crate::Failure;

/// A WebSocket server: echo, chat, a console page and files.
///
/// /echo echoes, /chat relays to everyone on /chat (on every node of the
/// cluster with --redis), / is an echo console
/// page, other paths are files from --root. Ctrl-C stops it gracefully (1001
/// to every client). One log line per connection opened, closed or refused
/// and per error (-q: errors only, -v/-vv: more).
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub(crate) struct Serve {
    /// The address to listen on.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8000")]
    addr: String,
    /// Serve files from DIR to plain HTTP GETs (no listings, nothing outside DIR).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Also serve clients of draft-hixie-thewebsocketprotocol-76 (2010-era
    /// browsers, old devices), text only. That protocol has no masking: read
    /// the security chapter of the docs before turning it on.
    #[arg(long)]
    hixie76: bool,
    #[command(flatten)]
    limits: LimitOptions,
    #[command(flatten)]
    tls: TlsOptions,
    #[command(flatten)]
    auth: AuthOptions,
    #[command(flatten)]
    pub(crate) cluster: ClusterOptions,
}

impl Serve {
    pub(crate) fn run(self) -> Result<(), Failure> {
        let mut builder = Server::builder()
            .config(self.limits.config())
            .route("/echo", Echo)
            .route("/chat", Chat)
            .console(true)
            .hixie76(self.hixie76);
        if let Some(root) = &self.root {
            builder = builder.document_root(root);
        }
        let secure = self.tls.is_set();
        builder = self.tls.apply(builder)?;
        builder = self.cluster.apply(builder)?;
        if let Some(users) = self.auth.users()? {
            if users.basic() && !secure {
                eprintln!(
                    "stdws: warning: Basic auth over plain HTTP sends passwords in the clear"
                );
            }
            let count = users.len();
            eprintln!(
                "stdws: {} auth, realm {REALM:?}, {count} user{}",
                users.schemes(),
                if count == 1 { "" } else { "s" }
            );
            builder = builder.authenticator(users.authenticator());
        }
        let server = Arc::new(builder.bind(self.addr.as_str())?);
        let addr: SocketAddr = server.local_addr();
        let (http, ws) = if secure {
            ("https", "wss")
        } else {
            ("http", "ws")
        };
        eprintln!(
            "stdws: console {http}://{addr}/  echo {ws}://{addr}/echo  chat {ws}://{addr}/chat"
        );
        stop_on_signals(Arc::clone(&server))?;
        if self.cluster.is_set() {
            crate::cluster::report(Arc::downgrade(&server))?;
        }
        server.wait();
        eprintln!("stdws: stopped");
        Ok(())
    }
}

/// Ctrl-C (or SIGTERM) shuts the server down gracefully; a second one
/// exits at once.
fn stop_on_signals(server: Arc<Server>) -> io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    thread::Builder::new()
        .name("stdws-signals".into())
        .spawn(move || {
            let mut seen = 0;
            for _ in signals.forever() {
                seen += 1;
                if seen > 1 {
                    std::process::exit(130);
                }
                eprintln!("stdws: shutting down (1001 to every client)");
                let server = Arc::clone(&server);
                thread::spawn(move || server.shutdown());
            }
        })?;
    Ok(())
}

/// `/echo`: every message comes back.
struct Echo;

impl Handler for Echo {
    fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
        client.send(message)
    }
}

/// `/chat`: the topic `chat`; every message goes to everyone on it, sender
/// included (on every node of the cluster).
struct Chat;

/// The topic `/chat` clients are on.
const CHAT: &str = "chat";

impl Handler for Chat {
    fn handshake(&self, _: &Request) -> Result<Admission, Reject> {
        Ok(Admission::new().subscribe(CHAT))
    }

    fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
        client.clients().publish(CHAT, &message);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::secrets::tests::{file, usage};
    use crate::{Cli, Command};

    fn serve(args: &[&str]) -> super::Serve {
        let cli = Cli::try_parse_from(["stdws", "serve"].iter().chain(args)).unwrap();
        match cli.command {
            Command::Serve(serve) => serve,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_flag_of_serve_keeps_its_spelling() {
        let users = file("serve-users", "alice:a\n");
        let serve = serve(&[
            "--addr",
            "127.0.0.1:0",
            "--root",
            ".",
            "--deflate",
            "--hixie76",
            "--max-connections",
            "7",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--tls-backend",
            "rustls",
            "--tls-client-ca",
            "ca.pem",
            "--basic-auth",
            "a:b",
            "--digest-auth",
            "c:d",
            "--basic-auth-file",
            &users,
            "--digest-auth-file",
            &users,
        ]);
        assert_eq!(serve.addr, "127.0.0.1:0");
        assert!(serve.hixie76);
        assert!(serve.tls.is_set());
        assert_eq!(serve.limits.config().max_connections, 7);
        assert_eq!(
            serve.limits.config().extensions[0].name(),
            "permessage-deflate"
        );
        let users = serve.auth.users().unwrap().unwrap();
        assert_eq!((users.schemes(), users.len()), ("Digest and Basic", 4));
        // A flag given twice: the last one counts, as before.
        assert_eq!(serve_addr(&["--addr", "a:1", "--addr", "b:2"]), "b:2");
        assert_eq!(serve_addr(&[]), "127.0.0.1:8000");
    }

    fn serve_addr(args: &[&str]) -> String {
        serve(args).addr
    }

    #[test]
    fn hixie76_is_off_by_default() {
        assert!(!serve(&[]).hixie76);
    }

    #[test]
    fn serve_reads_password_files() {
        let users = file("users", "alice:a\nbob:b\n");
        let digest = serve(&["--digest-auth-file", &users])
            .auth
            .users()
            .unwrap()
            .unwrap();
        assert_eq!((digest.schemes(), digest.len()), ("Digest", 2));
        let both = serve(&["--basic-auth", "c:d", "--digest-auth-file", &users])
            .auth
            .users()
            .unwrap()
            .unwrap();
        assert_eq!((both.schemes(), both.len()), ("Digest and Basic", 3));
        assert_eq!(
            format!("{:?}", both.authenticator()),
            r#"Authenticator { scheme: "Digest, Basic", realm: "stdws", .. }"#
        );
        let secret = file("p12-password", "s3cret\r\nignored\n");
        let p12 = serve(&["--tls-pkcs12", "x.p12", "--tls-password-file", &secret]);
        assert_eq!(p12.tls.password().unwrap(), "s3cret");
        let why = usage(
            serve(&["--basic-auth", "secret-without-colon"])
                .auth
                .users(),
        );
        assert_eq!(why, "--basic-auth needs USER:PASS");
    }

    #[test]
    fn tls_flags_that_do_not_fit_together_are_usage_errors() {
        for (args, why) in [
            (
                &["--tls-cert", "c"][..],
                "--tls-cert and --tls-key go together",
            ),
            (
                &["--tls-pkcs12", "p", "--tls-key", "k"],
                "--tls-pkcs12 replaces --tls-cert and --tls-key",
            ),
            (
                &["--tls-backend", "rustls"],
                "TLS options need --tls-cert and --tls-key (or --tls-pkcs12)",
            ),
        ] {
            assert_eq!(usage(serve(args).tls.check()), why);
        }
    }
}
