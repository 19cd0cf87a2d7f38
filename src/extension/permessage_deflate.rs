//! permessage-deflate (RFC 7692): each data message compressed with
//! DEFLATE, marked by RSV1 on its first frame.
//!
//! See [`PerMessageDeflate`].

use super::deflate::{
    check_window_bits, parse_window_bits, strip_tail, Deflater, Inflater, MAX_WINDOW_BITS,
};
use super::{ExtensionFactory, FrameDecoder, FrameEncoder, Negotiated, Param, SendOptions};
use crate::error::{Error, ProtocolError};
use crate::frame::{FrameHeader, OpCode, Rsv};

/// The extension token.
const NAME: &str = "permessage-deflate";

const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";

/// permessage-deflate, configured for either role.
///
/// Turn it on with [`Config::deflate`](crate::Config::deflate):
///
/// ```
/// use stdws::{Config, PerMessageDeflate};
/// // Defaults: context takeover both ways, 32 KiB windows, level 1,
/// // messages under 64 bytes sent as they are.
/// let server = Config::default().deflate(PerMessageDeflate::new());
/// // A client that keeps its memory low: no context takeover either way,
/// // and a 1 KiB window asked of the server.
/// let client = Config::default().deflate(
///     PerMessageDeflate::new()
///         .server_no_context_takeover(true)
///         .client_no_context_takeover(true)
///         .server_max_window_bits(10),
/// );
/// ```
///
/// All four parameters are supported in both roles, and each is honoured
/// as negotiated:
///
/// | parameter | as a client | as a server |
/// |---|---|---|
/// | `server_no_context_takeover` | offered when set; the reply must confirm it | replied when set or offered; our compressor forgets each message |
/// | `client_no_context_takeover` | offered when set; we then forget each message, whatever the reply | replied when set (the client must forget each message) |
/// | `server_max_window_bits` | `=N` offered when set below 15; the reply must stay at or below N | replied as the smaller of ours and the offer's; our compressor keeps to it |
/// | `client_max_window_bits` | always offered (bare, or `=N` below 15): any window the server asks for is kept | replied as ours when below 15 and the client offered the parameter |
///
/// Our compressor keeps to every window from 8 to 15 bits, truly: miniz_oxide
/// always matches within 32 KiB whatever window it is given, so stdws ends
/// a DEFLATE block with a full flush (which empties the dictionary) every
/// 2^bits input bytes, and no match can reach further back. No offer is
/// declined for its window; small windows cost compression ratio. Our decompressor keeps a 32 KiB history, which
/// decodes data made with any window; a server that wants clients to use a
/// smaller window can only ask when the client offered
/// `client_max_window_bits`, and accepts the client's 32 KiB window
/// otherwise.
///
/// Offers with unknown, repeated or malformed parameters are declined
/// (RFC 7692 §5.1); a server reply with such parameters, or with anything
/// the client did not offer or cannot honour, fails the handshake (§5.2).
///
/// Memory, per connection: the compressor (about 300 KB of miniz_oxide
/// tables and buffers) is allocated when the first message is compressed,
/// the decompressor (about 43 KB, 32 KiB of it history) when the first
/// compressed message arrives; both are reused for the life of the
/// connection, with or without context takeover. Measured with
/// `bench/deflate_bench.rs`: about 290 to 350 KiB of resident memory per
/// connection that has compressed in both directions. The first
/// compression also needs some stack while miniz_oxide builds its
/// compressor: under 128 KiB in release builds, up to 384 KiB in debug
/// builds.
///
/// Incoming messages are inflated in chunks of at most 32 KiB, and the
/// inflated size counts against
/// [`Config::max_message_size`](crate::Config::max_message_size) as it
/// grows: a small frame that would inflate past the limit fails with
/// close code 1009 once the limit is reached, never after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerMessageDeflate {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: u8,
    client_max_window_bits: u8,
    level: u8,
    min_size: usize,
}

impl Default for PerMessageDeflate {
    fn default() -> PerMessageDeflate {
        PerMessageDeflate {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
            level: 1,
            min_size: 64,
        }
    }
}

impl PerMessageDeflate {
    /// Context takeover both ways, 15-bit windows, level 1, a 64-byte
    /// threshold.
    pub fn new() -> PerMessageDeflate {
        PerMessageDeflate::default()
    }

    /// The server compresses each message on its own (§7.1.1.1). A client
    /// asks for it; a server does it and says so. It saves the client's
    /// decompressor nothing in memory here, but lets each message be
    /// decoded alone.
    pub fn server_no_context_takeover(mut self, on: bool) -> PerMessageDeflate {
        self.server_no_context_takeover = on;
        self
    }

    /// The client compresses each message on its own (§7.1.1.2). A client
    /// promises it; a server requires it.
    pub fn client_no_context_takeover(mut self, on: bool) -> PerMessageDeflate {
        self.client_no_context_takeover = on;
        self
    }

    /// The largest LZ77 window of the server's compressor, 8 to 15 bits
    /// (§7.1.2.1). A client asks for it; a server keeps to it.
    ///
    /// # Panics
    ///
    /// If `bits` is not between 8 and 15.
    pub fn server_max_window_bits(mut self, bits: u8) -> PerMessageDeflate {
        self.server_max_window_bits = check_window_bits(bits);
        self
    }

    /// The largest LZ77 window of the client's compressor, 8 to 15 bits
    /// (§7.1.2.2). A client keeps to it and says so; a server asks for it
    /// when the client offered the parameter.
    ///
    /// # Panics
    ///
    /// If `bits` is not between 8 and 15.
    pub fn client_max_window_bits(mut self, bits: u8) -> PerMessageDeflate {
        self.client_max_window_bits = check_window_bits(bits);
        self
    }

    /// The compression level, 0 (stored blocks) to 10 (slowest). The
    /// default, 1, is miniz_oxide's fast path: on JSON it sends about 20%
    /// of the bytes at five times the speed of level 6 (about 11%); see
    /// `bench/deflate_bench.rs`.
    pub fn level(mut self, level: u8) -> PerMessageDeflate {
        self.level = level.min(10);
        self
    }

    /// Messages shorter than this many bytes are sent uncompressed
    /// (default 64: DEFLATE framing costs more than it saves on them). The
    /// decision is taken on a message's first frame, so a message sent in
    /// several frames ([`Config::fragment_size`](crate::Config::fragment_size))
    /// is always compressed.
    pub fn min_size(mut self, bytes: usize) -> PerMessageDeflate {
        self.min_size = bytes;
        self
    }

    /// The per-connection state once the window and takeover rules for
    /// our direction are known.
    fn negotiated(&self, window_bits: u8, no_context_takeover: bool) -> Negotiated {
        Negotiated {
            encoder: Box::new(MessageEncoder {
                deflater: Deflater::new(self.level, window_bits),
                forget: no_context_takeover,
                min_size: self.min_size,
                compressing: false,
            }),
            decoder: Box::new(MessageDecoder::default()),
        }
    }
}

/// The parameters of one offer or reply, each checked once.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: the parameter without a value.
    client_max_window_bits: Option<Option<u8>>,
}

impl Params {
    /// Strict parsing (RFC 7692 §7): known names only, each at most once,
    /// values exactly where the RFC puts them.
    fn parse(params: &[Param]) -> Result<Params, String> {
        let mut p = Params::default();
        for param in params {
            let value = param.value.as_deref();
            let ok = match param.name.as_str() {
                SERVER_NO_CONTEXT_TAKEOVER if value.is_none() => {
                    !std::mem::replace(&mut p.server_no_context_takeover, true)
                }
                CLIENT_NO_CONTEXT_TAKEOVER if value.is_none() => {
                    !std::mem::replace(&mut p.client_no_context_takeover, true)
                }
                SERVER_MAX_WINDOW_BITS => match value.and_then(parse_window_bits) {
                    Some(bits) => p.server_max_window_bits.replace(bits).is_none(),
                    None => false,
                },
                CLIENT_MAX_WINDOW_BITS => match value.map(parse_window_bits) {
                    Some(None) => false,
                    bits => p.client_max_window_bits.replace(bits.flatten()).is_none(),
                },
                _ => false,
            };
            if !ok {
                return Err(format!(
                    "{NAME}: unknown, repeated or malformed parameter {}",
                    param_text(param)
                ));
            }
        }
        Ok(p)
    }
}

fn param_text(param: &Param) -> String {
    match &param.value {
        Some(v) => format!("{}={v}", param.name),
        None => param.name.clone(),
    }
}

impl ExtensionFactory for PerMessageDeflate {
    fn name(&self) -> &str {
        NAME
    }

    fn rsv(&self) -> Rsv {
        Rsv::RSV1
    }

    fn offers(&self) -> Vec<Vec<Param>> {
        let mut offer = Vec::new();
        if self.server_no_context_takeover {
            offer.push(Param::flag(SERVER_NO_CONTEXT_TAKEOVER));
        }
        if self.client_no_context_takeover {
            offer.push(Param::flag(CLIENT_NO_CONTEXT_TAKEOVER));
        }
        if self.server_max_window_bits < MAX_WINDOW_BITS {
            offer.push(Param::with_value(
                SERVER_MAX_WINDOW_BITS,
                self.server_max_window_bits.to_string(),
            ));
        }
        // We keep to any window the server names (§7.1.2.2), so we always
        // let it name one.
        offer.push(if self.client_max_window_bits < MAX_WINDOW_BITS {
            Param::with_value(
                CLIENT_MAX_WINDOW_BITS,
                self.client_max_window_bits.to_string(),
            )
        } else {
            Param::flag(CLIENT_MAX_WINDOW_BITS)
        });
        vec![offer]
    }

    fn accept_offers(&self, offers: &[&[Param]]) -> Option<(Vec<Param>, Negotiated)> {
        // The first offer we can take, in the client's order (§5.1).
        let offer = offers.iter().find_map(|o| Params::parse(o).ok())?;
        let mut reply = Vec::new();
        let forget = offer.server_no_context_takeover || self.server_no_context_takeover;
        if forget {
            reply.push(Param::flag(SERVER_NO_CONTEXT_TAKEOVER));
        }
        if self.client_no_context_takeover {
            reply.push(Param::flag(CLIENT_NO_CONTEXT_TAKEOVER));
        }
        let window = self
            .server_max_window_bits
            .min(offer.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS));
        // Required when offered (§7.1.2.1), else sent only to say we use less.
        if offer.server_max_window_bits.is_some() || window < MAX_WINDOW_BITS {
            reply.push(Param::with_value(
                SERVER_MAX_WINDOW_BITS,
                window.to_string(),
            ));
        }
        if let Some(client_bits) = offer.client_max_window_bits {
            let client_bits = client_bits.unwrap_or(MAX_WINDOW_BITS);
            if self.client_max_window_bits < client_bits {
                reply.push(Param::with_value(
                    CLIENT_MAX_WINDOW_BITS,
                    self.client_max_window_bits.to_string(),
                ));
            }
        }
        Some((reply, self.negotiated(window, forget)))
    }

    fn accept_response(&self, params: &[Param]) -> Result<Negotiated, String> {
        let reply = Params::parse(params)?;
        if self.server_no_context_takeover && !reply.server_no_context_takeover {
            return Err(format!(
                "{NAME}: the server did not confirm {SERVER_NO_CONTEXT_TAKEOVER} (RFC 7692 §7.1.1.1)"
            ));
        }
        let asked = self.server_max_window_bits;
        match reply.server_max_window_bits {
            Some(bits) if bits > asked => {
                return Err(format!(
                    "{NAME}: {SERVER_MAX_WINDOW_BITS}={bits} is above the {asked} offered"
                ))
            }
            None if asked < MAX_WINDOW_BITS => {
                return Err(format!(
                "{NAME}: the server did not confirm {SERVER_MAX_WINDOW_BITS} (RFC 7692 §7.1.2.1)"
            ))
            }
            _ => {}
        }
        let window = match reply.client_max_window_bits {
            None => self.client_max_window_bits,
            Some(Some(bits)) if bits <= self.client_max_window_bits => bits,
            Some(Some(bits)) => {
                return Err(format!(
                    "{NAME}: {CLIENT_MAX_WINDOW_BITS}={bits} is above the {} offered",
                    self.client_max_window_bits
                ))
            }
            Some(None) => {
                return Err(format!(
                    "{NAME}: {CLIENT_MAX_WINDOW_BITS} in a reply needs a value (RFC 7692 §7.1.2.2)"
                ))
            }
        };
        let forget = reply.client_no_context_takeover || self.client_no_context_takeover;
        Ok(self.negotiated(window, forget))
    }
}

/// Compresses outgoing messages.
struct MessageEncoder {
    deflater: Deflater,
    /// No context takeover for our direction.
    forget: bool,
    min_size: usize,
    /// The message being sent is compressed.
    compressing: bool,
}

impl FrameEncoder for MessageEncoder {
    fn encode(
        &mut self,
        header: &mut FrameHeader,
        payload: &[u8],
        out: &mut Vec<u8>,
        options: &SendOptions,
    ) -> Result<bool, Error> {
        if header.opcode != OpCode::Continuation {
            // The first frame decides for the whole message; a message in
            // several frames is at least as long as its first.
            self.compressing = options.compress && (!header.fin || payload.len() >= self.min_size);
            if self.compressing {
                // RSV1 marks the first frame only (RFC 7692 §6.1).
                header.rsv = header.rsv.union(Rsv::RSV1);
            }
        }
        if !self.compressing {
            return Ok(false);
        }
        // The frames of a message form one stream, each ending on a sync
        // flush so that it can be decoded as it arrives; only the last
        // loses the tail (§7.2.1).
        self.deflater
            .compress(payload, out, header.fin && self.forget)?;
        if header.fin {
            strip_tail(out);
        }
        Ok(true)
    }
}

/// Decompresses incoming messages.
#[derive(Default)]
struct MessageDecoder {
    inflater: Inflater,
    /// The message being received is compressed.
    compressed: bool,
}

impl FrameDecoder for MessageDecoder {
    fn accepts(&mut self, header: &FrameHeader) -> Result<bool, ProtocolError> {
        let rsv1 = header.rsv.contains(Rsv::RSV1);
        match header.opcode {
            // RSV1 on a control frame is left for the receiver to refuse.
            op if op.is_control() => Ok(false),
            OpCode::Continuation if rsv1 => Err(ProtocolError::Extension(
                "RSV1 set on a continuation frame (RFC 7692 §6.1)".to_owned(),
            )),
            OpCode::Continuation => Ok(self.compressed),
            _ => {
                self.compressed = rsv1;
                Ok(rsv1)
            }
        }
    }

    fn decode(
        &mut self,
        header: &mut FrameHeader,
        payload: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), Error> {
        header.rsv = header.rsv.without(Rsv::RSV1);
        self.inflater.decompress(payload, header.fin, out, limit)?;
        if header.fin {
            self.compressed = false;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "permessage_deflate_tests.rs"]
mod tests;
