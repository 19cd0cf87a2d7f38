//! Frame by frame: a message sent in three fragments, a ping, then every
//! frame the server sends back printed as it comes, up to its close.
//! `WebSocket` moves frames as they are: nothing is reassembled or
//! answered for you (that is `Connection`'s job), and any frame can be
//! built, even an invalid one.
//!
//! ```text
//! cargo run --example echo_server -- 9001
//! cargo run --example frames -- ws://127.0.0.1:9001/
//! ```

use stdws::{CloseCode, CloseFrame, Error, Frame, OpCode, WebSocket};

fn main() -> Result<(), Error> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001/".to_owned());
    let mut ws = WebSocket::connect(&url)?;

    // One text message in three frames (RFC 6455 §5.4): the first carries
    // the opcode, the others are continuations; FIN marks the last. A ping
    // may go between fragments (control frames are never fragmented).
    ws.send(&Frame::text("Hello, ").with_fin(false))?;
    ws.send(&Frame::ping(&b"are you there?"[..]))?;
    ws.send(&Frame::continuation(&b"fragmented "[..]).with_fin(false))?;
    ws.send(&Frame::continuation(&b"world"[..]))?;
    // Then the close frame: the server answers with its own and hangs up.
    ws.send(&Frame::close(CloseCode::NORMAL, "bye"))?;

    loop {
        let frame = ws.recv()?;
        let shown = match frame.opcode {
            // A close payload is a 2-byte code, then the reason (§5.5.1).
            OpCode::Close => match CloseFrame::parse(&frame.payload)? {
                Some(close) => format!("{} {:?}", close.code, close.reason),
                None => "no code".to_owned(),
            },
            _ => String::from_utf8_lossy(&frame.payload).into_owned(),
        };
        // OpCode's Display honours width: an aligned table.
        println!(
            "{:<12} fin={:<5} {:>4} bytes  {shown}",
            frame.opcode,
            frame.fin,
            frame.payload.len(),
        );
        if frame.opcode == OpCode::Close {
            return Ok(());
        }
    }
}
