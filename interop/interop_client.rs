//! The stdws side of `make interop` as a client: runs the same checks as
//! `interop/py_peer.py client` against an echo server that understands
//! `close CODE REASON`, printing one line per check; exits 1 on a failure.
//!
//! ```text
//! cargo run --example interop_client -- ws://127.0.0.1:9001/ [--deflate]
//! cargo run --example interop_client -- wss://localhost:9443/ --ca ca.pem [--tls-backend rustls]
//! ```

use std::process::exit;

use stdws::{
    CloseCode, CloseFrame, Config, Connection, Connector, Error, Event, MaybeTlsStream, Message,
    PerMessageDeflate, WebSocket,
};

const SIZES: [usize; 6] = [0, 125, 126, 64 << 10, 1 << 20, 16 << 20];

fn check(ok: bool, what: &str) {
    println!("{} {what}", if ok { "ok  " } else { "FAIL" });
    if !ok {
        exit(1);
    }
}

/// `--deflate`: permessage-deflate offered (client) or accepted (server).
fn deflate() -> bool {
    std::env::args().any(|a| a == "--deflate")
}

fn config() -> Config {
    let config = Config::default()
        .max_message_size(32 << 20)
        .max_frame_size(32 << 20);
    if deflate() {
        config.deflate(PerMessageDeflate::new())
    } else {
        config
    }
}

/// `--ca FILE` (trusted for `wss://`) and `--tls-backend NAME`.
#[derive(Default)]
struct Tls {
    ca: Option<String>,
    backend: Option<String>,
}

impl Tls {
    #[cfg(any(feature = "tls", feature = "rustls"))]
    fn apply(&self, builder: Connector) -> Result<Connector, Error> {
        let mut tls = stdws::tls::TlsConnector::new();
        if let Some(ca) = &self.ca {
            tls = tls.ca_file(ca);
        }
        if let Some(name) = &self.backend {
            tls = tls.backend(name.parse()?);
        }
        Ok(builder.tls(tls))
    }

    #[cfg(not(any(feature = "tls", feature = "rustls")))]
    fn apply(&self, builder: Connector) -> Result<Connector, Error> {
        if self.ca.is_some() || self.backend.is_some() {
            eprintln!("interop_client: --ca needs the `tls` or `rustls` feature");
            exit(2);
        }
        Ok(builder)
    }
}

fn open(url: &str, tls: &Tls, config: Config) -> Result<Connection<MaybeTlsStream>, Error> {
    let builder = tls.apply(WebSocket::builder(url).config(config))?;
    Ok(Connection::new(builder.connect()?))
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args.first().expect("usage: interop_client URL [--ca FILE]");
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let tls = Tls {
        ca: flag("--ca"),
        backend: flag("--tls-backend"),
    };
    let mut conn = open(url, &tls, config())?;
    let agreed: Vec<&str> = conn.extensions().iter().map(|e| e.name.as_str()).collect();
    check(
        agreed.contains(&"permessage-deflate") == deflate(),
        &format!("extensions negotiated: {agreed:?}"),
    );
    for size in SIZES {
        let text: String = (0..size)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        conn.send(Message::Text(text.clone()))?;
        check(
            conn.recv()? == Some(Message::Text(text)),
            &format!("text echo {size} B"),
        );
        let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        conn.send(Message::Binary(data.clone()))?;
        check(
            conn.recv()? == Some(Message::Binary(data)),
            &format!("binary echo {size} B"),
        );
    }
    drop(conn);

    let mut conn = open(url, &tls, config().fragment_size(Some(5)))?;
    conn.send_text("fragmented κόσμε")?;
    check(
        conn.recv()? == Some(Message::Text("fragmented κόσμε".into())),
        "fragmented text echo",
    );
    conn.ping(b"interop")?;
    let pong = loop {
        match conn.recv_event()? {
            Event::Pong(p) => break p,
            Event::Message(_) | Event::Ping(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    check(
        pong == b"interop" && conn.pending_pings() == 0,
        "ping answered by pong",
    );
    conn.close(CloseCode(4000), "client bye")?;
    check(
        conn.close_frame().map(|f| f.code) == Some(CloseCode(4000)),
        "client close: code echoed",
    );

    let mut conn = open(url, &tls, config())?;
    conn.send_text("close 4001 server bye")?;
    check(conn.recv()?.is_none(), "server close: connection ends");
    check(
        conn.close_frame() == Some(CloseFrame::new(CloseCode(4001), "server bye")),
        "server close: code and reason",
    );
    println!("interop_client: all checks passed");
    Ok(())
}
