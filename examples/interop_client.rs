//! The stdws side of `make interop` as a client: runs the same checks as
//! `interop/py_peer.py client` against an echo server that understands
//! `close CODE REASON`, printing one line per check; exits 1 on a failure.
//!
//! ```text
//! cargo run --example interop_client -- ws://127.0.0.1:9001/ [--deflate]
//! ```
//!
//! With `--deflate` it offers permessage-deflate and checks it was agreed.

use std::process::exit;

use stdws::{
    CloseCode, CloseFrame, Config, Connection, Error, Event, MaybeTlsStream, Message,
    PerMessageDeflate, WebSocket,
};

const SIZES: [usize; 6] = [0, 125, 126, 64 << 10, 1 << 20, 16 << 20];

fn check(ok: bool, what: &str) {
    println!("{} {what}", if ok { "ok  " } else { "FAIL" });
    if !ok {
        exit(1);
    }
}

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

fn open(url: &str, config: Config) -> Result<Connection<MaybeTlsStream>, Error> {
    Ok(Connection::new(
        WebSocket::builder(url).config(config).connect()?,
    ))
}

fn main() -> Result<(), Error> {
    let url = std::env::args().nth(1).expect("usage: interop_client URL");
    let mut conn = open(&url, config())?;
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

    let mut conn = open(&url, config().fragment_size(Some(5)))?;
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

    let mut conn = open(&url, config())?;
    conn.send_text("close 4001 server bye")?;
    check(conn.recv()?.is_none(), "server close: connection ends");
    check(
        conn.close_frame() == Some(CloseFrame::new(CloseCode(4001), "server bye")),
        "server close: code and reason",
    );
    println!("interop_client: all checks passed");
    Ok(())
}
