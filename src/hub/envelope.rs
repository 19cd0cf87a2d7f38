//! The envelope a hub puts around what it carries between nodes: who sent
//! it (the origin node, to ignore our own publishes coming back), its
//! sequence number on its channel (to count what got lost), and the
//! message or command, with payloads as they are (binary stays binary, no
//! base64).
//!
//! ```text
//!  version(1) kind(1) origin-len(1) origin seq(8, big-endian) body
//!   publish    except-len(1) except opcode(1) payload
//!   broadcast  opcode(1) payload
//!   send       to-len(1) to opcode(1) payload
//!   close      to-len(1) to code(2) reason
//!   subscribe / unsubscribe   to-len(1) to topic
//!   wake       (nothing: wakes the node's own subscriber thread)
//! ```
//!
//! Decoding never trusts the broker: every length is checked, text is
//! checked to be UTF-8, and a malformed envelope is an error, not a panic.

use super::{Command, ConnectionId, NodeId};
use crate::close_code::CloseCode;
use crate::message::Message;

const VERSION: u8 = 1;

/// What an envelope holds, past its origin and sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    /// A publish to the topic the channel names.
    Publish {
        except: Option<ConnectionId>,
        message: Message,
    },
    /// A broadcast to every client.
    Broadcast(Message),
    /// A command for a connection of the receiving node.
    Command(Command),
    /// Nothing: the subscriber thread wakes and looks at its topics.
    Wake,
}

/// A decoded envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Envelope {
    pub(crate) origin: NodeId,
    pub(crate) seq: u64,
    pub(crate) body: Body,
}

/// A malformed envelope.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Malformed(pub(crate) &'static str);

fn kind(body: &Body) -> u8 {
    match body {
        Body::Publish { .. } => 1,
        Body::Broadcast(_) => 2,
        Body::Command(Command::Send { .. }) => 3,
        Body::Command(Command::Close { .. }) => 4,
        Body::Command(Command::Subscribe { .. }) => 5,
        Body::Command(Command::Unsubscribe { .. }) => 6,
        Body::Wake => 7,
    }
}

fn put_short(out: &mut Vec<u8>, text: &str) {
    // Ids are at most 102 bytes (64-byte name, 16 hex digits, 20 digits).
    debug_assert!(text.len() <= usize::from(u8::MAX));
    out.push(text.len() as u8);
    out.extend_from_slice(text.as_bytes());
}

fn put_message(out: &mut Vec<u8>, message: &Message) {
    out.push(u8::from(message.is_text()));
    out.extend_from_slice(message.as_bytes());
}

/// Encodes an envelope; `origin` is the sender's [`NodeId`] as text.
pub(crate) fn encode(origin: &str, seq: u64, body: &Body) -> Vec<u8> {
    let payload_len = match body {
        Body::Publish { message, .. } | Body::Broadcast(message) => message.len(),
        Body::Command(Command::Send { message, .. }) => message.len(),
        _ => 0,
    };
    let mut out = Vec::with_capacity(payload_len + 240);
    out.extend_from_slice(&[VERSION, kind(body)]);
    put_short(&mut out, origin);
    out.extend_from_slice(&seq.to_be_bytes());
    match body {
        Body::Publish { except, message } => {
            put_short(
                &mut out,
                &except.as_ref().map(|e| e.to_string()).unwrap_or_default(),
            );
            put_message(&mut out, message);
        }
        Body::Broadcast(message) => put_message(&mut out, message),
        Body::Command(command) => {
            put_short(&mut out, &command.to().to_string());
            match command {
                Command::Send { message, .. } => put_message(&mut out, message),
                Command::Close { code, reason, .. } => {
                    out.extend_from_slice(&code.0.to_be_bytes());
                    out.extend_from_slice(reason.as_bytes());
                }
                Command::Subscribe { topic, .. } | Command::Unsubscribe { topic, .. } => {
                    out.extend_from_slice(topic.as_bytes())
                }
            }
        }
        Body::Wake => {}
    }
    out
}

/// Reads an envelope front to back.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if self.0.len() < n {
            return Err(Malformed("truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, Malformed> {
        Ok(self.take(1)?[0])
    }

    fn short_text(&mut self) -> Result<&'a str, Malformed> {
        let n = usize::from(self.byte()?);
        std::str::from_utf8(self.take(n)?).map_err(|_| Malformed("an id is not text"))
    }

    fn id(&mut self) -> Result<ConnectionId, Malformed> {
        self.short_text()?
            .parse()
            .map_err(|_| Malformed("not a connection id"))
    }

    fn rest_text(&mut self) -> Result<String, Malformed> {
        String::from_utf8(self.take(self.0.len())?.to_vec()).map_err(|_| Malformed("not UTF-8"))
    }

    fn message(&mut self) -> Result<Message, Malformed> {
        match self.byte()? {
            0 => Ok(Message::Binary(self.take(self.0.len())?.to_vec())),
            1 => Ok(Message::Text(self.rest_text()?)),
            _ => Err(Malformed("unknown message type")),
        }
    }
}

/// Decodes an envelope.
pub(crate) fn decode(bytes: &[u8]) -> Result<Envelope, Malformed> {
    let mut r = Reader(bytes);
    if r.byte()? != VERSION {
        return Err(Malformed("unknown envelope version"));
    }
    let kind = r.byte()?;
    let origin = r
        .short_text()?
        .parse()
        .map_err(|_| Malformed("not a node id"))?;
    let seq = u64::from_be_bytes(r.take(8)?.try_into().expect("8 bytes"));
    let body = match kind {
        1 => {
            let except = match r.short_text()? {
                "" => None,
                text => Some(text.parse().map_err(|_| Malformed("not a connection id"))?),
            };
            Body::Publish {
                except,
                message: r.message()?,
            }
        }
        2 => Body::Broadcast(r.message()?),
        3 => Body::Command(Command::Send {
            to: r.id()?,
            message: r.message()?,
        }),
        4 => {
            let to = r.id()?;
            let code = u16::from_be_bytes(r.take(2)?.try_into().expect("2 bytes"));
            Body::Command(Command::Close {
                to,
                code: CloseCode(code),
                reason: r.rest_text()?,
            })
        }
        5 => Body::Command(Command::Subscribe {
            to: r.id()?,
            topic: r.rest_text()?,
        }),
        6 => Body::Command(Command::Unsubscribe {
            to: r.id()?,
            topic: r.rest_text()?,
        }),
        7 => Body::Wake,
        _ => return Err(Malformed("unknown envelope kind")),
    };
    Ok(Envelope { origin, seq, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bodies() -> Vec<Body> {
        let to = ConnectionId::new(NodeId::new("b").unwrap(), 3);
        vec![
            Body::Publish {
                except: None,
                message: Message::Text("hé".into()),
            },
            Body::Publish {
                except: Some(to.clone()),
                message: Message::Binary(vec![0, 255, 10]),
            },
            Body::Broadcast(Message::Binary(Vec::new())),
            Body::Command(Command::Send {
                to: to.clone(),
                message: Message::Text("x".into()),
            }),
            Body::Command(Command::Close {
                to: to.clone(),
                code: CloseCode(4000),
                reason: "bye".into(),
            }),
            Body::Command(Command::Subscribe {
                to: to.clone(),
                topic: "news".into(),
            }),
            Body::Command(Command::Unsubscribe {
                to,
                topic: "news".into(),
            }),
            Body::Wake,
        ]
    }

    #[test]
    fn every_body_round_trips_with_binary_payloads_as_they_are() {
        let origin = NodeId::new("a").unwrap();
        for body in bodies() {
            let bytes = encode(&origin.to_string(), 42, &body);
            let envelope = decode(&bytes).unwrap();
            assert_eq!(envelope.origin, origin);
            assert_eq!(envelope.seq, 42);
            assert_eq!(envelope.body, body);
        }
        let bytes = encode(
            &origin.to_string(),
            1,
            &Body::Broadcast(Message::Binary(vec![0xde, 0xad])),
        );
        assert!(
            bytes.ends_with(&[0, 0xde, 0xad]),
            "the payload is not re-encoded"
        );
    }

    #[test]
    fn every_truncation_and_bad_byte_is_an_error_not_a_panic() {
        let origin = NodeId::new("a").unwrap().to_string();
        for body in bodies() {
            let bytes = encode(&origin, 7, &body);
            let fixed = 2 + 1 + origin.len() + 8;
            for cut in 0..fixed {
                assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
            }
            for i in 0..bytes.len() {
                for flip in [0x80u8, 0xff] {
                    let mut bad = bytes.clone();
                    bad[i] ^= flip;
                    let _ = decode(&bad);
                }
            }
        }
        let mut text = encode(&origin, 1, &Body::Broadcast(Message::Text("ok".into())));
        *text.last_mut().unwrap() = 0xff;
        assert_eq!(decode(&text), Err(Malformed("not UTF-8")));
    }
}
