//! The `stdws` command: `serve` and `connect` (feature `cli`).
//!
//! It lives in the library, behind the feature, because `connect` is full
//! duplex (stdin lines go out while the reader is blocked) on the same
//! internal transport as the server's clients; the binary only calls
//! [`main`].

use std::io::{self, BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;

use crate::client::ClientBuilder;
use crate::close_code::CloseCode;
use crate::config::Config;
use crate::error::Error;
use crate::extension::PerMessageDeflate;
use crate::handshake::auth::Authenticator;
use crate::message::Message;
use crate::server::{Client, Handler, Server, ServerBuilder};
use crate::session::no_status;
#[cfg(any(feature = "tls", feature = "rustls"))]
use crate::tls::TlsAcceptor;
use crate::url::Url;
use crate::websocket::WebSocket;

const USAGE: &str = "\
usage:
  stdws serve [--addr HOST:PORT] [--root DIR] [--deflate] [--hixie76] [TLS] [AUTH]
      WebSocket server: /echo echoes, /chat relays to everyone on /chat,
      / is an echo console page, other paths are files from DIR.
      Default address 127.0.0.1:8000. Ctrl-C stops it gracefully.
      --deflate accepts permessage-deflate (RFC 7692) from clients that offer it.
      --hixie76 also serves clients of draft-hixie-thewebsocketprotocol-76
                (2010-era browsers, old devices): no masking; see the docs.
    TLS (https:// and wss:// on the same port):
      --tls-cert FILE --tls-key FILE   PEM certificate chain and private key
      --tls-pkcs12 FILE [--tls-password P | --tls-password-file F]
                                       or a PKCS#12 archive (native-tls)
      --tls-backend native-tls|rustls  (default: the first compiled in)
      --tls-client-ca FILE   require client certificates from this CA (rustls)
    AUTH (every request, WebSocket or file, answered 401 without it):
      --basic-auth USER:PASS    HTTP Basic (RFC 7617); use it with TLS
      --digest-auth USER:PASS   HTTP Digest (RFC 7616, SHA-256 and MD5)
      --basic-auth-file FILE, --digest-auth-file FILE
                                the same, one USER:PASS per line (# comments),
                                so passwords stay out of the process list
      Repeat for more users. Basic and Digest flags together offer both
      schemes (Digest first) to every user listed.
  stdws connect URL [--binary] [--subprotocol P]... [--header 'Name: value']...
                [--user USER:PASS | --user-file FILE] [--ca FILE] [--tls-backend B]
                [--insecure] [--deflate]
      Interactive client: each stdin line is sent as a message (binary with
      --binary), each message received is written to stdout. End of input
      closes the connection (1000). A 401 is answered with --user (or the
      first USER:PASS line of --user-file) or the URL's user:pass@ (Digest
      preferred, else Basic). wss:// trusts the
      system roots and --ca FILE; --insecure turns certificate checks OFF.
      --deflate offers permessage-deflate.
  stdws --help | --version";

/// Runs the command with these arguments (without the program name);
/// returns the process exit status.
pub fn main(args: impl IntoIterator<Item = String>) -> i32 {
    let mut args = args.into_iter();
    let result = match args.next().as_deref() {
        Some("serve") => Serve::parse(args).and_then(|s| s.run()),
        Some("connect") => Connect::parse(args).and_then(|c| c.run()),
        Some("--version" | "-V") => {
            println!("stdws {}", env!("CARGO_PKG_VERSION"));
            Ok(0)
        }
        Some("--help" | "-h" | "help") => {
            println!("{USAGE}");
            Ok(0)
        }
        _ => Err(Failure::Usage("a command is required".into())),
    };
    match result {
        Ok(status) => status,
        Err(Failure::Usage(why)) => {
            eprintln!("stdws: {why}\n{USAGE}");
            2
        }
        Err(Failure::Run(why)) => {
            eprintln!("stdws: {why}");
            1
        }
    }
}

#[derive(Debug)]
enum Failure {
    Usage(String),
    Run(String),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        Failure::Run(e.to_string())
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Run(e.to_string())
    }
}

/// The value after a flag.
fn value(flag: &str, args: &mut impl Iterator<Item = String>) -> Result<String, Failure> {
    args.next()
        .ok_or_else(|| Failure::Usage(format!("{flag} needs a value")))
}

/// `USER:PASS` from a flag's value. The value is a secret: errors never
/// repeat it.
fn user_pass(
    flag: &str,
    args: &mut impl Iterator<Item = String>,
) -> Result<(String, String), Failure> {
    let value = value(flag, args)?;
    match value.split_once(':') {
        Some((user, pass)) if !user.is_empty() => Ok((user.to_owned(), pass.to_owned())),
        _ => Err(Failure::Usage(format!("{flag} needs USER:PASS"))),
    }
}

/// The first line of a file (without its line ending): a password kept
/// out of the process list. Errors name the file, never its content.
fn first_line(flag: &str, path: &str) -> Result<String, Failure> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Failure::Usage(format!("{flag} {path}: {e}")))?;
    Ok(text.lines().next().unwrap_or("").to_owned())
}

/// `USER:PASS` lines from a file: blank lines and lines starting with `#`
/// are skipped; a line ending (LF or CRLF) is not part of the password.
/// The content is a secret: errors name the file and the line number only.
fn user_pass_file(flag: &str, path: &str) -> Result<Vec<(String, String)>, Failure> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Failure::Usage(format!("{flag} {path}: {e}")))?;
    let mut users = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        match line.split_once(':') {
            Some((user, pass)) if !user.is_empty() => {
                users.push((user.to_owned(), pass.to_owned()))
            }
            _ => {
                return Err(Failure::Usage(format!(
                    "{flag} {path}: line {} is not USER:PASS",
                    i + 1
                )))
            }
        }
    }
    if users.is_empty() {
        return Err(Failure::Usage(format!("{flag} {path}: no USER:PASS line")));
    }
    Ok(users)
}

/// `--basic-auth` / `--digest-auth`: which schemes, and the users.
#[derive(Default)]
struct AuthOptions {
    basic: bool,
    digest: bool,
    users: Vec<(String, String)>,
}

impl AuthOptions {
    fn add(&mut self, digest: bool, user: (String, String)) {
        if digest {
            self.digest = true;
        } else {
            self.basic = true;
        }
        self.users.push(user);
    }

    /// The schemes offered, as the log names them.
    fn schemes(&self) -> Option<&'static str> {
        match (self.digest, self.basic) {
            (true, true) => Some("Digest and Basic"),
            (true, false) => Some("Digest"),
            (false, true) => Some("Basic"),
            (false, false) => None,
        }
    }

    fn authenticator(self) -> Option<Authenticator> {
        self.schemes()?;
        let (digest, basic) = (self.digest, self.basic);
        let users = self.users;
        let lookup = move |user: &str| {
            users
                .iter()
                .find(|(u, _)| u == user)
                .map(|(_, p)| p.clone())
        };
        Some(match (digest, basic) {
            (true, true) => Authenticator::digest(REALM, lookup).and_basic(),
            (true, false) => Authenticator::digest(REALM, lookup),
            _ => Authenticator::basic(REALM, lookup),
        })
    }
}

/// The realm of `stdws serve`'s authentication.
const REALM: &str = "stdws";

/// `--tls-*` for `serve`.
#[derive(Default)]
struct TlsOptions {
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    pkcs12: Option<PathBuf>,
    password: Option<String>,
    backend: Option<String>,
    client_ca: Option<PathBuf>,
}

impl TlsOptions {
    fn is_set(&self) -> bool {
        self.cert.is_some() || self.key.is_some() || self.pkcs12.is_some()
    }

    fn check(&self) -> Result<(), Failure> {
        let stray = self.password.is_some() || self.backend.is_some() || self.client_ca.is_some();
        match (&self.cert, &self.key, &self.pkcs12) {
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

    #[cfg(any(feature = "tls", feature = "rustls"))]
    fn acceptor(&self) -> Result<Option<TlsAcceptor>, Failure> {
        use crate::tls::Identity;
        let identity = match (&self.cert, &self.key, &self.pkcs12) {
            (Some(cert), Some(key), None) => Identity::from_pem_files(cert, key)?,
            (None, None, Some(p12)) => {
                Identity::from_pkcs12_file(p12, self.password.as_deref().unwrap_or(""))?
            }
            _ => return Ok(None),
        };
        let mut builder = TlsAcceptor::builder(identity);
        if let Some(name) = &self.backend {
            builder = builder.backend(name.parse()?);
        }
        if let Some(ca) = &self.client_ca {
            let pem = std::fs::read(ca)
                .map_err(|e| Failure::Run(format!("cannot read {}: {e}", ca.display())))?;
            builder = builder.client_ca_pem(&pem);
        }
        Ok(Some(builder.build()?))
    }

    #[cfg(any(feature = "tls", feature = "rustls"))]
    fn apply(&self, builder: ServerBuilder) -> Result<ServerBuilder, Failure> {
        Ok(match self.acceptor()? {
            Some(acceptor) => {
                eprintln!("stdws: TLS with {}", acceptor.backend());
                builder.tls(acceptor)
            }
            None => builder,
        })
    }

    #[cfg(not(any(feature = "tls", feature = "rustls")))]
    fn apply(&self, builder: ServerBuilder) -> Result<ServerBuilder, Failure> {
        if self.is_set() {
            return Err(no_tls());
        }
        Ok(builder)
    }
}

#[cfg(not(any(feature = "tls", feature = "rustls")))]
fn no_tls() -> Failure {
    Failure::Run("this stdws was built without TLS (features `tls` or `rustls`)".into())
}

struct Serve {
    addr: String,
    root: Option<PathBuf>,
    deflate: bool,
    hixie76: bool,
    tls: TlsOptions,
    auth: AuthOptions,
}

/// The configuration both commands start from: compression if asked for.
fn config(deflate: bool) -> Config {
    if deflate {
        Config::default().deflate(PerMessageDeflate::new())
    } else {
        Config::default()
    }
}

impl Serve {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Serve, Failure> {
        let mut serve = Serve {
            addr: "127.0.0.1:8000".into(),
            root: None,
            deflate: false,
            hixie76: false,
            tls: TlsOptions::default(),
            auth: AuthOptions::default(),
        };
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--addr" => serve.addr = value(&arg, &mut args)?,
                "--root" => serve.root = Some(value(&arg, &mut args)?.into()),
                "--deflate" => serve.deflate = true,
                "--hixie76" => serve.hixie76 = true,
                "--tls-cert" => serve.tls.cert = Some(value(&arg, &mut args)?.into()),
                "--tls-key" => serve.tls.key = Some(value(&arg, &mut args)?.into()),
                "--tls-pkcs12" => serve.tls.pkcs12 = Some(value(&arg, &mut args)?.into()),
                "--tls-password" => serve.tls.password = Some(value(&arg, &mut args)?),
                "--tls-password-file" => {
                    serve.tls.password = Some(first_line(&arg, &value(&arg, &mut args)?)?)
                }
                "--tls-backend" => serve.tls.backend = Some(value(&arg, &mut args)?),
                "--tls-client-ca" => serve.tls.client_ca = Some(value(&arg, &mut args)?.into()),
                "--basic-auth" => serve.auth.add(false, user_pass(&arg, &mut args)?),
                "--digest-auth" => serve.auth.add(true, user_pass(&arg, &mut args)?),
                "--basic-auth-file" | "--digest-auth-file" => {
                    let digest = arg == "--digest-auth-file";
                    for user in user_pass_file(&arg, &value(&arg, &mut args)?)? {
                        serve.auth.add(digest, user);
                    }
                }
                other => return Err(Failure::Usage(format!("unknown option {other:?}"))),
            }
        }
        serve.tls.check()?;
        Ok(serve)
    }

    fn run(self) -> Result<i32, Failure> {
        let mut builder = Server::builder()
            .config(config(self.deflate))
            .route("/echo", Echo)
            .route("/chat", Chat)
            .console(true)
            .hixie76(self.hixie76);
        if let Some(root) = &self.root {
            builder = builder.document_root(root);
        }
        let secure = self.tls.is_set();
        builder = self.tls.apply(builder)?;
        if let Some(schemes) = self.auth.schemes() {
            if self.auth.basic && !secure {
                eprintln!(
                    "stdws: warning: Basic auth over plain HTTP sends passwords in the clear"
                );
            }
            let users = self.auth.users.len();
            eprintln!(
                "stdws: {schemes} auth, realm {REALM:?}, {users} user{}",
                if users == 1 { "" } else { "s" }
            );
        }
        if let Some(auth) = self.auth.authenticator() {
            builder = builder.authenticator(auth);
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
        server.wait();
        eprintln!("stdws: stopped");
        Ok(0)
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

/// `/chat`: every message goes to everyone on `/chat`, sender included.
struct Chat;

impl Handler for Chat {
    fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
        client
            .clients()
            .broadcast_if(&message, |c| c.path() == "/chat");
        Ok(())
    }
}

struct Connect {
    url: String,
    binary: bool,
    protocols: Vec<String>,
    headers: Vec<(String, String)>,
    deflate: bool,
    user: Option<(String, String)>,
    ca: Vec<PathBuf>,
    tls_backend: Option<String>,
    insecure: bool,
}

impl Connect {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Connect, Failure> {
        let mut url = None;
        let mut connect = Connect {
            url: String::new(),
            binary: false,
            protocols: Vec::new(),
            headers: Vec::new(),
            deflate: false,
            user: None,
            ca: Vec::new(),
            tls_backend: None,
            insecure: false,
        };
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--binary" => connect.binary = true,
                "--deflate" => connect.deflate = true,
                "--subprotocol" => connect.protocols.push(value(&arg, &mut args)?),
                "--header" => {
                    let header = value(&arg, &mut args)?;
                    let Some((name, v)) = header.split_once(':') else {
                        return Err(Failure::Usage("--header needs 'Name: value'".into()));
                    };
                    connect
                        .headers
                        .push((name.trim().to_owned(), v.trim().to_owned()));
                }
                "--user" => connect.user = Some(user_pass(&arg, &mut args)?),
                "--user-file" => {
                    let users = user_pass_file(&arg, &value(&arg, &mut args)?)?;
                    connect.user = users.into_iter().next();
                }
                "--ca" => connect.ca.push(value(&arg, &mut args)?.into()),
                "--tls-backend" => connect.tls_backend = Some(value(&arg, &mut args)?),
                "--insecure" => connect.insecure = true,
                flag if flag.starts_with("--") => {
                    return Err(Failure::Usage(format!("unknown option {flag:?}")))
                }
                _ if url.is_none() => url = Some(arg),
                _ => return Err(Failure::Usage("one URL only".into())),
            }
        }
        connect.url = url.ok_or_else(|| Failure::Usage("connect needs a URL".into()))?;
        Ok(connect)
    }

    /// The URL as it may be shown: without its password.
    fn shown_url(&self) -> String {
        Url::parse(&self.url).map_or_else(|_| "the URL".to_owned(), |u| u.to_string())
    }

    #[cfg(any(feature = "tls", feature = "rustls"))]
    fn tls(&self, builder: ClientBuilder) -> Result<ClientBuilder, Failure> {
        let mut tls = crate::tls::TlsConnector::new();
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
    fn tls(&self, builder: ClientBuilder) -> Result<ClientBuilder, Failure> {
        if !self.ca.is_empty() || self.tls_backend.is_some() || self.insecure {
            return Err(no_tls());
        }
        Ok(builder)
    }

    fn run(self) -> Result<i32, Failure> {
        let mut builder = WebSocket::builder(&self.url).config(config(self.deflate));
        for p in &self.protocols {
            builder = builder.protocol(p.clone());
        }
        for (name, v) in &self.headers {
            builder = builder.header(name.clone(), v.clone());
        }
        if let Some((user, pass)) = &self.user {
            builder = builder.credentials(user.clone(), pass.clone());
        }
        builder = self.tls(builder)?;
        let ws = builder.connect()?;
        let url = self.shown_url();
        match ws.protocol() {
            Some(p) => eprintln!("stdws: connected to {url} (subprotocol {p})"),
            None => eprintln!("stdws: connected to {url}"),
        }
        // Split, so stdin lines are sent while the reader is blocked (over
        // TLS too).
        let (sender, mut receiver) = ws.split()?;
        let binary = self.binary;
        thread::Builder::new()
            .name("stdws-stdin".into())
            .spawn(move || {
                for line in io::stdin().lock().lines() {
                    let Ok(line) = line else { break };
                    let sent = if binary {
                        sender.send_binary(line.as_bytes())
                    } else {
                        sender.send_text(&line)
                    };
                    if sent.is_err() {
                        return;
                    }
                }
                let _ = sender.close(CloseCode::NORMAL, "");
            })?;
        let mut stdout = io::stdout().lock();
        while let Some(message) = receiver.recv()? {
            stdout.write_all(message.as_bytes())?;
            stdout.write_all(b"\n")?;
            stdout.flush()?;
        }
        let frame = receiver.close_frame().unwrap_or_else(no_status);
        eprintln!("stdws: closed: {frame}");
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> String {
        let dir = std::env::temp_dir().join(format!("stdws-cli-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    }

    fn usage(r: Result<impl Sized, Failure>) -> String {
        match r {
            Err(Failure::Usage(why)) => why,
            Err(Failure::Run(why)) => panic!("a run failure: {why}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn password_files_give_users_and_keep_secrets_out_of_errors() {
        let good = file("good", "# users\r\nalice:wonder land\r\n\n  \nbob:b:c\n");
        assert_eq!(
            user_pass_file("--basic-auth-file", &good).unwrap(),
            [
                ("alice".to_owned(), "wonder land".to_owned()),
                ("bob".to_owned(), "b:c".to_owned())
            ]
        );
        let bad = file("bad", "alice:x\nsecret-without-colon\n");
        let why = usage(user_pass_file("--basic-auth-file", &bad));
        assert!(why.ends_with("line 2 is not USER:PASS"), "{why}");
        assert!(!why.contains("secret"), "{why}");
        let empty = file("empty", "# nobody\n");
        assert!(usage(user_pass_file("--user-file", &empty)).ends_with("no USER:PASS line"));
        let missing = usage(user_pass_file("--user-file", "/nonexistent/stdws"));
        assert!(
            missing.starts_with("--user-file /nonexistent/stdws: "),
            "{missing}"
        );
    }

    #[test]
    fn serve_and_connect_read_password_files() {
        let users = file("users", "alice:a\nbob:b\n");
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let serve = Serve::parse(args(&["--digest-auth-file", &users]).into_iter()).unwrap();
        assert_eq!(serve.auth.schemes(), Some("Digest"));
        assert_eq!(serve.auth.users.len(), 2);
        let both =
            Serve::parse(args(&["--basic-auth", "c:d", "--digest-auth-file", &users]).into_iter())
                .unwrap();
        assert_eq!(both.auth.schemes(), Some("Digest and Basic"));
        assert_eq!(both.auth.users.len(), 3);
        let auth = both.auth.authenticator().unwrap();
        assert_eq!(
            format!("{auth:?}"),
            r#"Authenticator { scheme: "Digest, Basic", realm: "stdws", .. }"#
        );
        let secret = file("p12-password", "s3cret\r\nignored\n");
        let p12 = Serve::parse(
            args(&["--tls-pkcs12", "x.p12", "--tls-password-file", &secret]).into_iter(),
        )
        .unwrap();
        assert_eq!(p12.tls.password.as_deref(), Some("s3cret"));
        let connect =
            Connect::parse(args(&["ws://h/", "--user-file", &users]).into_iter()).unwrap();
        assert_eq!(connect.user, Some(("alice".to_owned(), "a".to_owned())));
    }
}
