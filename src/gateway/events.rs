//! The events of Pushpin's WebSocket-over-HTTP protocol
//! (`application/websocket-events`), sans I/O.
//!
//! Each event is a line `TYPE` or `TYPE <hex length>`, then, with a length,
//! that many bytes of content and CRLF:
//!
//! ```text
//! OPEN\r\n
//! TEXT 5\r\nhello\r\n
//! CLOSE 2\r\n\x03\xe8\r\n
//! ```
//!
//! CLOSE's content is the close code (two bytes, big-endian) and the
//! reason; PING and PONG carry content only when the payload is not empty.

use crate::{CloseCode, CloseFrame};

/// The media type of a body of events.
pub(crate) const MEDIA_TYPE: &str = "application/websocket-events";

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    Open,
    Text(Vec<u8>),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// A close, with its code and reason if it had one.
    Close(Option<CloseFrame>),
    Disconnect,
    /// A type this side does not know: skipped.
    Other(String),
}

impl Event {
    /// Bytes of content the event carries (what a batch counts).
    pub(crate) fn len(&self) -> usize {
        match self {
            Event::Text(b) | Event::Binary(b) | Event::Ping(b) | Event::Pong(b) => b.len(),
            Event::Close(Some(f)) => 2 + f.reason.len(),
            _ => 0,
        }
    }
}

/// Why a body of events could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// Appends `event` to `out`.
pub(crate) fn encode(event: &Event, out: &mut Vec<u8>) {
    let (name, content): (&str, Option<Vec<u8>>) = match event {
        Event::Open => ("OPEN", None),
        Event::Disconnect => ("DISCONNECT", None),
        Event::Text(b) => ("TEXT", Some(b.clone())),
        Event::Binary(b) => ("BINARY", Some(b.clone())),
        Event::Ping(b) => ("PING", (!b.is_empty()).then(|| b.clone())),
        Event::Pong(b) => ("PONG", (!b.is_empty()).then(|| b.clone())),
        Event::Close(None) => ("CLOSE", None),
        Event::Close(Some(frame)) => {
            let mut content = frame.code.0.to_be_bytes().to_vec();
            content.extend_from_slice(frame.reason.as_bytes());
            ("CLOSE", Some(content))
        }
        Event::Other(name) => (name.as_str(), None),
    };
    out.extend_from_slice(name.as_bytes());
    if let Some(content) = content {
        out.extend_from_slice(format!(" {:x}\r\n", content.len()).as_bytes());
        out.extend_from_slice(&content);
    }
    out.extend_from_slice(b"\r\n");
}

/// Reads a whole body of events.
pub(crate) fn decode(mut input: &[u8]) -> Result<Vec<Event>, Malformed> {
    let mut events = Vec::new();
    while !input.is_empty() {
        let end = input
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or(Malformed)?;
        let line = std::str::from_utf8(&input[..end]).map_err(|_| Malformed)?;
        input = &input[end + 2..];
        let (name, content) = match line.split_once(' ') {
            Some((name, hex)) => {
                let len = usize::from_str_radix(hex, 16).map_err(|_| Malformed)?;
                let content = input.get(..len).ok_or(Malformed)?.to_vec();
                input = input.get(len..).ok_or(Malformed)?;
                input = input.strip_prefix(b"\r\n").ok_or(Malformed)?;
                (name, Some(content))
            }
            None => (line, None),
        };
        events.push(event(name, content)?);
    }
    Ok(events)
}

fn event(name: &str, content: Option<Vec<u8>>) -> Result<Event, Malformed> {
    let content_or_empty = || content.clone().unwrap_or_default();
    Ok(match name {
        "OPEN" => Event::Open,
        "DISCONNECT" => Event::Disconnect,
        "TEXT" => Event::Text(content_or_empty()),
        "BINARY" => Event::Binary(content_or_empty()),
        "PING" => Event::Ping(content_or_empty()),
        "PONG" => Event::Pong(content_or_empty()),
        "CLOSE" => match content.as_deref() {
            Some([hi, lo, reason @ ..]) => Event::Close(Some(CloseFrame::new(
                CloseCode(u16::from_be_bytes([*hi, *lo])),
                std::str::from_utf8(reason).map_err(|_| Malformed)?,
            ))),
            _ => Event::Close(None),
        },
        other => Event::Other(other.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_in_pushpins_format() {
        let events = vec![
            Event::Open,
            Event::Text(b"hello".to_vec()),
            Event::Binary(vec![0, 255]),
            Event::Ping(Vec::new()),
            Event::Pong(b"p".to_vec()),
            Event::Close(Some(CloseFrame::new(CloseCode(4000), "bye"))),
            Event::Disconnect,
        ];
        let mut wire = Vec::new();
        for e in &events {
            encode(e, &mut wire);
        }
        assert_eq!(
            wire,
            b"OPEN\r\nTEXT 5\r\nhello\r\nBINARY 2\r\n\x00\xff\r\nPING\r\nPONG 1\r\np\r\n\
              CLOSE 5\r\n\x0f\xa0bye\r\nDISCONNECT\r\n"
        );
        assert_eq!(decode(&wire).unwrap(), events);
    }

    #[test]
    fn a_truncated_or_garbled_body_is_malformed() {
        assert_eq!(decode(b"TEXT 5\r\nhel"), Err(Malformed));
        assert_eq!(decode(b"TEXT zz\r\nhello\r\n"), Err(Malformed));
        assert_eq!(decode(b"OPEN"), Err(Malformed));
        assert_eq!(decode(b"TEXT 2\r\nhiXX"), Err(Malformed));
        assert_eq!(decode(b"CLOSE\r\n").unwrap(), [Event::Close(None)]);
        assert_eq!(decode(b"").unwrap(), []);
    }
}
