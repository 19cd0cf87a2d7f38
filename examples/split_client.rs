//! A full-duplex client: one thread sends each line of standard input,
//! the main thread prints whatever the server sends, as it arrives (a
//! chat client's shape). At the end of input it closes with 1000 and
//! prints how the connection ended.
//!
//! ```text
//! cargo run --example chat -- 8000                                # a server to talk to
//! cargo run --example split_client -- ws://127.0.0.1:8000/chat
//! ```

use std::io::BufRead;
use std::thread;

use stdws::{CloseCode, Error, Message, WebSocket};

fn main() -> Result<(), Error> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:8000/chat".to_owned());
    // `split` gives a SendHalf (Clone + Send: any number of threads may
    // send) and a RecvHalf (one reader). Works over wss:// the same way.
    let (sender, mut receiver) = WebSocket::connect(&url)?.split()?;
    eprintln!("connected to {url}");

    let typist = thread::spawn(move || -> Result<(), Error> {
        for line in std::io::stdin().lock().lines() {
            sender.send_text(&line?)?;
        }
        // Starts the closing handshake; the receiver sees its end.
        sender.close(CloseCode::NORMAL, "done")
    });

    // Pings are answered and fragments reassembled while we wait here.
    while let Some(message) = receiver.recv()? {
        match message {
            Message::Text(text) => println!("{text}"),
            Message::Binary(data) => println!("<{} bytes>", data.len()),
        }
    }
    match receiver.close_frame() {
        Some(frame) => println!("closed {} {:?}", frame.code, frame.reason),
        None => println!("closed"),
    }
    // The typist may still be blocked on stdin when the server closed
    // first: do not wait for it then.
    if typist.is_finished() {
        typist.join().expect("the typist thread")?;
    }
    Ok(())
}
