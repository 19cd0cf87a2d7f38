//! WebSocket extensions (RFC 6455 §9): negotiation and frame transforms.
//!
//! An extension is configured as an [`ExtensionFactory`] in
//! [`Config::extensions`](crate::Config::extensions). During the opening
//! handshake the factory negotiates: the client side lists its
//! [offers](ExtensionFactory::offers) in `Sec-WebSocket-Extensions`; the
//! server side [accepts](ExtensionFactory::accept_offers) at most one
//! offer per extension, in the client's order, or declines them all; the
//! client then [checks](ExtensionFactory::accept_response) the server's
//! reply. A successful negotiation yields a [`Negotiated`] extension for
//! that one connection: a [`FrameEncoder`] for outgoing data frames and a
//! [`FrameDecoder`] for incoming ones, kept apart so that sending and
//! receiving can run on different threads.
//!
//! The header grammar ([`parse_extensions`]) is strict: tokens and quoted
//! strings as RFC 6455 §9.1 and RFC 7230 §3.2.6 define them, nothing else.
//!
//! Two extensions come with stdws: [`PerMessageDeflate`] (RFC 7692, turned
//! on with [`Config::deflate`](crate::Config::deflate)) and
//! [`DeflateFrame`] (the older per-frame compression, off by default).
//!
//! ## Writing an extension
//!
//! A toy that flips every bit of each data frame's payload and marks the
//! frame with RSV2:
//!
//! ```
//! use stdws::extension::{
//!     ExtensionFactory, FrameDecoder, FrameEncoder, Negotiated, Param, SendOptions,
//! };
//! use stdws::{Config, Connection, Error, FrameHeader, Listener, Message, ProtocolError, Rsv, WebSocket};
//!
//! struct Flip;
//! struct FlipCodec;
//!
//! impl ExtensionFactory for Flip {
//!     fn name(&self) -> &str { "x-flip" }
//!     fn rsv(&self) -> Rsv { Rsv::RSV2 }
//!     fn offers(&self) -> Vec<Vec<Param>> { vec![vec![]] }
//!     fn accept_offers(&self, offers: &[&[Param]]) -> Option<(Vec<Param>, Negotiated)> {
//!         // Decline offers with parameters we do not know.
//!         offers.iter().any(|o| o.is_empty()).then(|| (vec![], negotiated()))
//!     }
//!     fn accept_response(&self, params: &[Param]) -> Result<Negotiated, String> {
//!         if params.is_empty() { Ok(negotiated()) } else { Err("x-flip takes no parameters".into()) }
//!     }
//! }
//!
//! fn negotiated() -> Negotiated {
//!     Negotiated { encoder: Box::new(FlipCodec), decoder: Box::new(FlipCodec) }
//! }
//!
//! impl FrameEncoder for FlipCodec {
//!     fn encode(&mut self, header: &mut FrameHeader, payload: &[u8], out: &mut Vec<u8>,
//!               _: &SendOptions) -> Result<bool, Error> {
//!         out.extend(payload.iter().map(|b| !b));
//!         header.rsv = header.rsv.union(Rsv::RSV2);
//!         Ok(true)
//!     }
//! }
//!
//! impl FrameDecoder for FlipCodec {
//!     fn accepts(&mut self, header: &FrameHeader) -> Result<bool, ProtocolError> {
//!         Ok(header.rsv.contains(Rsv::RSV2))
//!     }
//!     fn decode(&mut self, header: &mut FrameHeader, payload: &[u8], out: &mut Vec<u8>,
//!               limit: usize) -> Result<(), Error> {
//!         if payload.len() > limit {
//!             return Err(stdws::CapacityError::MessageTooBig { max: limit }.into());
//!         }
//!         out.extend(payload.iter().map(|b| !b));
//!         header.rsv = header.rsv.without(Rsv::RSV2);
//!         Ok(())
//!     }
//! }
//!
//! // Both ends use it, compressed too: deflate takes RSV1, x-flip RSV2.
//! let config = Config::default().deflate(Default::default()).extension(Flip);
//! let listener = Listener::bind("127.0.0.1:0")?.with_config(config.clone());
//! let url = format!("ws://{}/", listener.local_addr()?);
//! let server = std::thread::spawn(move || -> Result<(), Error> {
//!     let mut conn = Connection::new(listener.accept()?);
//!     while let Some(m) = conn.recv()? {
//!         conn.send(m)?;
//!     }
//!     Ok(())
//! });
//! let mut conn = Connection::new(WebSocket::builder(&url).config(config).connect()?);
//! assert_eq!(conn.extensions().len(), 2);
//! let text = "flipped and deflated, ".repeat(20);
//! conn.send(Message::Text(text.clone()))?;
//! assert_eq!(conn.recv()?, Some(Message::Text(text)));
//! conn.close(stdws::CloseCode::NORMAL, "")?;
//! server.join().unwrap()?;
//! # Ok::<(), Error>(())
//! ```

use std::fmt;

use crate::error::{Error, ProtocolError};

mod deflate;
mod deflate_frame;
mod permessage_deflate;

use crate::frame::{FrameHeader, Rsv};
pub use deflate_frame::DeflateFrame;
pub use permessage_deflate::PerMessageDeflate;

/// One `name` or `name=value` parameter of an extension offer or reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// The parameter name (a token).
    pub name: String,
    /// The value, unquoted, or `None` for a bare name.
    pub value: Option<String>,
}

impl Param {
    /// A parameter without a value.
    pub fn flag(name: &str) -> Param {
        Param {
            name: name.to_owned(),
            value: None,
        }
    }

    /// A parameter with a value.
    pub fn with_value(name: &str, value: impl Into<String>) -> Param {
        Param {
            name: name.to_owned(),
            value: Some(value.into()),
        }
    }
}

/// One element of a `Sec-WebSocket-Extensions` list: a name and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionOffer {
    /// The extension token, e.g. `permessage-deflate`.
    pub name: String,
    /// The parameters, in order.
    pub params: Vec<Param>,
}

impl fmt::Display for ExtensionOffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for p in &self.params {
            match &p.value {
                Some(v) => write!(f, "; {}={}", p.name, v)?,
                None => write!(f, "; {}", p.name)?,
            }
        }
        Ok(())
    }
}

/// Formats a list of offers as one `Sec-WebSocket-Extensions` value.
pub fn format_extensions(list: &[ExtensionOffer]) -> String {
    list.iter()
        .map(|o| o.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Options a sender gives for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendOptions {
    /// Let extensions compress this message (default true). Set false for
    /// data that is already compressed, or secret data next to
    /// attacker-chosen data (the CRIME/BREACH lesson).
    pub compress: bool,
}

impl Default for SendOptions {
    fn default() -> SendOptions {
        SendOptions { compress: true }
    }
}

impl SendOptions {
    /// Options that keep this message uncompressed.
    pub fn uncompressed() -> SendOptions {
        SendOptions { compress: false }
    }
}

/// An extension as configured: it negotiates and makes per-connection state.
pub trait ExtensionFactory: Send + Sync {
    /// The extension token, e.g. `permessage-deflate`.
    fn name(&self) -> &str;

    /// The RSV bits the extension uses; two extensions that share a bit are
    /// never negotiated together.
    fn rsv(&self) -> Rsv;

    /// Client: the offers to send, most preferred first (each becomes one
    /// element of `Sec-WebSocket-Extensions`).
    fn offers(&self) -> Vec<Vec<Param>>;

    /// Server: the client's offers for this extension, in its order.
    /// Accept one (returning the reply parameters and the connection's
    /// state) or decline all (`None`). An offer with unknown, duplicate or
    /// invalid parameters is declined, not failed (RFC 7692 §5).
    fn accept_offers(&self, offers: &[&[Param]]) -> Option<(Vec<Param>, Negotiated)>;

    /// Client: the server accepted with these parameters. Check them
    /// against what was offered; an error fails the handshake.
    fn accept_response(&self, params: &[Param]) -> Result<Negotiated, String>;
}

/// The state of one negotiated extension on one connection.
pub struct Negotiated {
    /// Transforms outgoing data frames.
    pub encoder: Box<dyn FrameEncoder>,
    /// Transforms incoming frames.
    pub decoder: Box<dyn FrameDecoder>,
}

/// The sending half of a negotiated extension.
pub trait FrameEncoder: Send {
    /// Transforms an outgoing data frame. `header.opcode` is `Text` or
    /// `Binary` on a message's first frame and `Continuation` after;
    /// `header.fin` marks its last. Write the new payload to `out` (empty on
    /// entry), set the extension's RSV bits on `header` and return `true`;
    /// or return `false` to send the frame unchanged. The caller sets the
    /// payload length.
    fn encode(
        &mut self,
        header: &mut FrameHeader,
        payload: &[u8],
        out: &mut Vec<u8>,
        options: &SendOptions,
    ) -> Result<bool, Error>;
}

/// The receiving half of a negotiated extension.
pub trait FrameDecoder: Send {
    /// Sees every incoming data frame header, and control frame headers
    /// with RSV bits set, before the payload is read. Return `true` to
    /// transform this frame's payload with [`decode`](Self::decode), `false`
    /// to let it through, or an error for a frame the extension forbids
    /// (say RSV1 on a continuation frame).
    fn accepts(&mut self, header: &FrameHeader) -> Result<bool, ProtocolError>;

    /// Transforms the whole payload of an accepted frame, appending the
    /// result to `out`. Appending more than `limit` bytes (what is left of
    /// the message size limit) must fail with
    /// [`CapacityError::MessageTooBig`](crate::error::CapacityError::MessageTooBig),
    /// checked while producing output, never after, so that a small frame
    /// cannot make a large allocation. Invalid input is a
    /// [`ProtocolError`]. Clears the extension's RSV bits on `header`.
    fn decode(
        &mut self,
        header: &mut FrameHeader,
        payload: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), Error>;
}

/// True for the characters of an RFC 7230 token.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses a `Sec-WebSocket-Extensions` value (several header fields joined
/// with commas are one list). Strict: tokens, `;` parameters, `=` values as
/// tokens or quoted strings whose content is a token (RFC 6455 §9.1).
/// Returns the offers in order; duplicate parameters are kept for the
/// extension to decline.
pub fn parse_extensions(value: &str) -> Result<Vec<ExtensionOffer>, String> {
    let mut p = Cursor {
        s: value.as_bytes(),
        i: 0,
    };
    let mut list = Vec::new();
    loop {
        p.skip_ows();
        if p.eat(b',') {
            continue; // empty list elements are allowed (RFC 7230 §7)
        }
        if p.done() {
            break;
        }
        let name = p.token().ok_or_else(|| p.error("an extension name"))?;
        let mut params = Vec::new();
        loop {
            p.skip_ows();
            if !p.eat(b';') {
                break;
            }
            p.skip_ows();
            let pname = p.token().ok_or_else(|| p.error("a parameter name"))?;
            p.skip_ows();
            let value = if p.eat(b'=') {
                p.skip_ows();
                let v = if p.peek() == Some(b'"') {
                    p.quoted()?
                } else {
                    p.token()
                };
                Some(v.ok_or_else(|| p.error("a parameter value"))?)
            } else {
                None
            };
            params.push(Param { name: pname, value });
        }
        list.push(ExtensionOffer { name, params });
        p.skip_ows();
        if p.done() {
            break;
        }
        if !p.eat(b',') {
            return Err(p.error("',' or ';'"));
        }
    }
    Ok(list)
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    /// A quoted string whose unescaped content must be a token.
    fn quoted(&mut self) -> Result<Option<String>, String> {
        self.i += 1; // opening quote
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err("unterminated quoted string".to_owned()),
                Some(b'"') => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') => {
                    self.i += 1;
                    let b = self
                        .peek()
                        .ok_or_else(|| "unterminated escape".to_owned())?;
                    out.push(b);
                    self.i += 1;
                }
                Some(b) => {
                    out.push(b);
                    self.i += 1;
                }
            }
        }
        if out.is_empty() || !out.iter().copied().all(is_tchar) {
            return Err("quoted value is not a token".to_owned());
        }
        Ok(Some(String::from_utf8_lossy(&out).into_owned()))
    }

    fn error(&self, wanted: &str) -> String {
        format!("expected {wanted} at byte {}", self.i)
    }
}

/// The extensions in force on one connection, in the order they apply to
/// outgoing data (incoming data is decoded in reverse order).
#[derive(Default)]
pub(crate) struct Extensions {
    pub(crate) names: Vec<ExtensionOffer>,
    pub(crate) encoders: Vec<Box<dyn FrameEncoder>>,
    pub(crate) decoders: Vec<Box<dyn FrameDecoder>>,
    pub(crate) rsv: Rsv,
}

impl Extensions {
    fn push(&mut self, reply: ExtensionOffer, rsv: Rsv, negotiated: Negotiated) {
        self.names.push(reply);
        self.rsv = self.rsv.union(rsv);
        self.encoders.push(negotiated.encoder);
        self.decoders.push(negotiated.decoder);
    }
}

/// Server side: picks what to accept from the client's offers. Extensions
/// are considered in the client's order of first mention; each gets all
/// of its offers at once; an extension whose RSV bits are taken is skipped.
pub(crate) fn negotiate_server(
    factories: &[std::sync::Arc<dyn ExtensionFactory>],
    offers: &[ExtensionOffer],
) -> Extensions {
    let mut accepted = Extensions::default();
    let mut seen: Vec<&str> = Vec::new();
    for offer in offers {
        // Names compare case-insensitively everywhere else: `X-Foo, x-foo`
        // is one extension mentioned twice, and must be accepted once.
        if seen.iter().any(|s| s.eq_ignore_ascii_case(&offer.name)) {
            continue;
        }
        seen.push(&offer.name);
        let Some(factory) = factories
            .iter()
            .find(|f| f.name().eq_ignore_ascii_case(&offer.name))
        else {
            continue;
        };
        if factory.rsv().bits() & accepted.rsv.bits() != 0 {
            continue;
        }
        let same: Vec<&[Param]> = offers
            .iter()
            .filter(|o| o.name.eq_ignore_ascii_case(&offer.name))
            .map(|o| o.params.as_slice())
            .collect();
        if let Some((params, negotiated)) = factory.accept_offers(&same) {
            let reply = ExtensionOffer {
                name: factory.name().to_owned(),
                params,
            };
            accepted.push(reply, factory.rsv(), negotiated);
        }
    }
    accepted
}

/// Client side: checks the server's reply against what we offered. An
/// extension we did not offer, one named twice, or RSV bits claimed twice
/// fail the handshake (RFC 6455 §4.1, item 5 of the client's checks).
pub(crate) fn negotiate_client(
    factories: &[std::sync::Arc<dyn ExtensionFactory>],
    reply: &[ExtensionOffer],
) -> Result<Extensions, String> {
    let mut accepted = Extensions::default();
    for (i, ext) in reply.iter().enumerate() {
        if reply[..i]
            .iter()
            .any(|e| e.name.eq_ignore_ascii_case(&ext.name))
        {
            return Err(format!("extension {} accepted twice", ext.name));
        }
        let factory = factories
            .iter()
            .find(|f| f.name().eq_ignore_ascii_case(&ext.name))
            .ok_or_else(|| {
                format!(
                    "server accepted extension {} that was not offered",
                    ext.name
                )
            })?;
        if factory.rsv().bits() & accepted.rsv.bits() != 0 {
            return Err(format!("extension {} reuses RSV bits", ext.name));
        }
        let negotiated = factory.accept_response(&ext.params)?;
        accepted.push(ext.clone(), factory.rsv(), negotiated);
    }
    Ok(accepted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(name: &str, params: &[(&str, Option<&str>)]) -> ExtensionOffer {
        ExtensionOffer {
            name: name.to_owned(),
            params: params
                .iter()
                .map(|(n, v)| Param {
                    name: (*n).to_owned(),
                    value: v.map(str::to_owned),
                })
                .collect(),
        }
    }

    #[test]
    fn parses_offers_with_params_and_quoted_values() {
        let list = parse_extensions(
            "permessage-deflate; client_max_window_bits; server_max_window_bits=\"10\", permessage-deflate,x-webkit-deflate-frame",
        )
        .unwrap();
        assert_eq!(
            list,
            vec![
                offer(
                    "permessage-deflate",
                    &[
                        ("client_max_window_bits", None),
                        ("server_max_window_bits", Some("10"))
                    ]
                ),
                offer("permessage-deflate", &[]),
                offer("x-webkit-deflate-frame", &[]),
            ]
        );
    }

    #[test]
    fn empty_elements_are_skipped() {
        assert_eq!(
            parse_extensions(" , foo ,, ").unwrap(),
            vec![offer("foo", &[])]
        );
        assert_eq!(parse_extensions("").unwrap(), vec![]);
    }

    #[test]
    fn rejects_what_the_grammar_does_not_allow() {
        for bad in [
            "foo;",
            "foo; =1",
            "foo; a=",
            "foo; a=\"\"",
            "foo; a=\"1 2\"",
            "foo; a=\"x",
            "foo bar",
            "fo(o",
            "foo; a=1 b",
            ";foo",
        ] {
            assert!(parse_extensions(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn format_round_trips() {
        let list = vec![offer(
            "permessage-deflate",
            &[
                ("client_max_window_bits", None),
                ("server_max_window_bits", Some("10")),
            ],
        )];
        let text = format_extensions(&list);
        assert_eq!(
            text,
            "permessage-deflate; client_max_window_bits; server_max_window_bits=10"
        );
        assert_eq!(parse_extensions(&text).unwrap(), list);
    }
}
