//! The framing of draft-hixie-thewebsocketprotocol-76 (hixie-76): a
//! codec without I/O, and the reader a server's client thread uses.
//!
//! Before RFC 6455 a WebSocket carried text only, each message between two
//! sentinel bytes, and ended with a two-byte closing frame (draft §4.2,
//! §5.3):
//!
//! ```text
//!  0x00  UTF-8 text (never 0xFF)  0xFF      a text message
//!  0xFF  0x00                               the closing handshake
//! ```
//!
//! The draft also defines frames whose type byte has its high bit set and
//! a length prefix (binary data, never used by a browser), and lets a
//! server skip sentinel frames of types other than 0x00. stdws refuses both:
//! the only frames a hixie-76 peer has any business sending are text and
//! close, and a length-prefixed frame is the cheapest way to make a naive
//! server allocate or skip whatever it is told. A message has no length, so
//! a text frame is cut off at [`Config::max_message_size`](crate::Config)
//! bytes without its `0xFF`; UTF-8 is validated as the bytes arrive, and
//! fails at the first byte that cannot begin valid text. There are no
//! pings: a server's idle timeout stands in for them.
//!
//! [`FrameScanner`] finds frames in bytes that arrive in pieces, looking
//! at each byte once; [`text_frame`] and [`CLOSE`] are what a server sends.
//! The opening handshake is [`handshake::hixie76`](crate::handshake::hixie76).
//! A [`Server`](crate::Server) speaks hixie-76 only when built with
//! [`ServerBuilder::hixie76`](crate::ServerBuilder::hixie76); the
//! [`security`](crate::security) chapter says why it is off by default.

mod frame;
pub(crate) mod read;

pub use frame::{text_frame, Frame, FrameScanner, CLOSE, END, TEXT};
