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

use crate::config::Config;
use crate::duplex::{Duplex, DuplexReader};
use crate::error::Error;
use crate::extension::PerMessageDeflate;
use crate::frame::{OpCode, Role};
use crate::message::{CloseCode, CloseFrame, Message};
use crate::protocol::Event;
use crate::server::link::{Link, LinkOptions, LinkTransport};
use crate::server::timer::Timers;
use crate::server::{Client, Handler, Server};
use crate::session::{assemble, no_status, Ending, Session};
use crate::stream::MaybeTlsStream;
use crate::websocket::WebSocket;

const USAGE: &str = "\
usage:
  stdws serve [--addr HOST:PORT] [--root DIR] [--deflate]
      WebSocket server: /echo echoes, /chat relays to everyone on /chat,
      / is an echo console page, other paths are files from DIR.
      Default address 127.0.0.1:8000. Ctrl-C stops it gracefully.
      --deflate accepts permessage-deflate (RFC 7692) from clients that offer it.
  stdws connect URL [--binary] [--subprotocol P]... [--header 'Name: value']... [--deflate]
      Interactive client: each stdin line is sent as a message (binary with
      --binary), each message received is written to stdout. End of input
      closes the connection (1000). --deflate offers permessage-deflate.
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

struct Serve {
    addr: String,
    root: Option<PathBuf>,
    deflate: bool,
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
        };
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--addr" => serve.addr = value(&arg, &mut args)?,
                "--root" => serve.root = Some(value(&arg, &mut args)?.into()),
                "--deflate" => serve.deflate = true,
                other => return Err(Failure::Usage(format!("unknown option {other:?}"))),
            }
        }
        Ok(serve)
    }

    fn run(self) -> Result<i32, Failure> {
        let mut builder = Server::builder()
            .config(config(self.deflate))
            .route("/echo", Echo)
            .route("/chat", Chat)
            .console(true);
        if let Some(root) = &self.root {
            builder = builder.document_root(root);
        }
        let server = Arc::new(builder.bind(self.addr.as_str())?);
        let addr: SocketAddr = server.local_addr();
        eprintln!("stdws: console http://{addr}/  echo ws://{addr}/echo  chat ws://{addr}/chat");
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
        };
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--binary" => connect.binary = true,
                "--deflate" => connect.deflate = true,
                "--subprotocol" => connect.protocols.push(value(&arg, &mut args)?),
                "--header" => {
                    let header = value(&arg, &mut args)?;
                    let Some((name, v)) = header.split_once(':') else {
                        return Err(Failure::Usage(format!("--header {header:?}: Name: value")));
                    };
                    connect
                        .headers
                        .push((name.trim().to_owned(), v.trim().to_owned()));
                }
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

    fn run(self) -> Result<i32, Failure> {
        let mut builder = WebSocket::builder(&self.url).config(config(self.deflate));
        for p in &self.protocols {
            builder = builder.protocol(p.clone());
        }
        for (name, v) in &self.headers {
            builder = builder.header(name.clone(), v.clone());
        }
        let ws = builder.connect()?;
        match ws.protocol() {
            Some(p) => eprintln!("stdws: connected to {} (subprotocol {p})", self.url),
            None => eprintln!("stdws: connected to {}", self.url),
        }
        let (link, mut session, timers) = full_duplex(ws)?;
        let status = self.talk(&link, &mut session);
        timers.stop();
        status
    }

    fn talk(&self, link: &Arc<Link>, session: &mut Session<LinkTransport>) -> Result<i32, Failure> {
        let opcode = if self.binary {
            OpCode::Binary
        } else {
            OpCode::Text
        };
        let writer = Arc::clone(link);
        thread::Builder::new()
            .name("stdws-stdin".into())
            .spawn(move || {
                for line in io::stdin().lock().lines() {
                    let Ok(line) = line else { break };
                    if writer.send(opcode, line.as_bytes()).is_err() {
                        return;
                    }
                }
                let _ = writer.close(CloseFrame::new(CloseCode::NORMAL, ""));
            })?;
        let mut stdout = io::stdout().lock();
        loop {
            match session.next_event() {
                Ok(Event::Message(message)) => {
                    stdout.write_all(message.as_bytes())?;
                    stdout.write_all(b"\n")?;
                    stdout.flush()?;
                }
                Ok(Event::Close(frame)) => {
                    let frame = frame.unwrap_or_else(no_status);
                    eprintln!("stdws: closed: {frame}");
                    return Ok(0);
                }
                Ok(_) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Moves a handshaken client connection onto the shared transport: the
/// calling thread reads, any thread writes.
/// A client connection on the shared transport, and its close deadlines.
type Duplexed = (Arc<Link>, Session<LinkTransport>, Arc<Timers>);

fn full_duplex(ws: WebSocket<MaybeTlsStream>) -> Result<Duplexed, Failure> {
    let WebSocket {
        stream,
        reader,
        writer,
        config,
        extensions,
        ..
    } = ws;
    let tcp = match stream {
        MaybeTlsStream::Plain(tcp) => tcp,
        #[allow(unreachable_patterns)]
        _ => {
            return Err(Failure::Run(
                "connect: wss:// is not wired into the command yet".into(),
            ))
        }
    };
    let duplex = Arc::new(Duplex::new(tcp));
    // Close deadlines; the thread ends with `Timers::stop`.
    let (timers, _) = Timers::start()?;
    let transforms = !extensions.encoders.is_empty();
    let (incoming, outgoing, policy) = assemble(
        Role::Client,
        &config,
        reader,
        writer,
        extensions.encoders,
        extensions.decoders,
    );
    let options = LinkOptions {
        cap: config.max_write_buffer,
        transforms,
        close_timeout: config.close_timeout,
        timers: Some(Arc::downgrade(&timers)),
        name: "stdws-connect".into(),
    };
    let link = Link::new(Arc::clone(&duplex), outgoing, options, false);
    let transport = LinkTransport {
        link: Arc::clone(&link),
        reader: DuplexReader::new(duplex, Vec::new()),
        close_reply: None,
    };
    let session = Session {
        transport,
        incoming,
        policy,
        ending: Ending::Open,
    };
    Ok((link, session, timers))
}
