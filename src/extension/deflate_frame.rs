//! deflate-frame (draft-tyoshino-hybi-websocket-perframe-deflate), the
//! per-frame compression that twspy, mod_pywebsocket and old WebKit speak.
//!
//! See [`DeflateFrame`].

use super::deflate::{
    check_window_bits, parse_window_bits, strip_tail, Deflater, Inflater, MAX_WINDOW_BITS,
};
use super::{ExtensionFactory, FrameDecoder, FrameEncoder, Negotiated, Param, SendOptions};
use crate::error::{Error, ProtocolError};
use crate::frame::{FrameHeader, Rsv};

const MAX_WINDOW_BITS_PARAM: &str = "max_window_bits";
const NO_CONTEXT_TAKEOVER: &str = "no_context_takeover";

/// deflate-frame: every data frame compressed on its own, marked by RSV1
/// on that frame (continuations included), ending with a sync flush whose
/// `00 00 ff ff` is stripped as in permessage-deflate.
///
/// Off by default; [`PerMessageDeflate`](crate::PerMessageDeflate) is the
/// standard. Both use RSV1, so at most one of them is negotiated on a
/// connection. Two parameters, each a request to the *peer's* compressor:
/// `max_window_bits=N` (8 to 15) and `no_context_takeover`. A client puts
/// them in its offer for the server; a server puts them in its reply for
/// the client. Whatever the peer asks, we keep to it (the window as in
/// permessage-deflate: a full flush every 2^N bytes). Unknown, repeated or
/// malformed parameters decline an offer or fail a reply.
///
/// ```
/// use stdws::{Config, DeflateFrame};
/// let config = Config::default()
///     .extension(DeflateFrame::new())
///     .extension(DeflateFrame::webkit().no_context_takeover(true));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeflateFrame {
    name: &'static str,
    no_context_takeover: bool,
    max_window_bits: u8,
    level: u8,
    min_size: usize,
}

impl Default for DeflateFrame {
    fn default() -> DeflateFrame {
        DeflateFrame {
            name: "deflate-frame",
            no_context_takeover: false,
            max_window_bits: MAX_WINDOW_BITS,
            level: 1,
            min_size: 64,
        }
    }
}

impl DeflateFrame {
    /// `deflate-frame`, no requests of the peer, level 1, 64-byte threshold.
    pub fn new() -> DeflateFrame {
        DeflateFrame::default()
    }

    /// The same extension under the name WebKit used,
    /// `x-webkit-deflate-frame`.
    pub fn webkit() -> DeflateFrame {
        DeflateFrame {
            name: "x-webkit-deflate-frame",
            ..DeflateFrame::default()
        }
    }

    /// Asks the peer to compress each frame on its own.
    pub fn no_context_takeover(mut self, on: bool) -> DeflateFrame {
        self.no_context_takeover = on;
        self
    }

    /// Asks the peer to keep its LZ77 window within 2^`bits` bytes.
    ///
    /// # Panics
    ///
    /// If `bits` is not between 8 and 15.
    pub fn max_window_bits(mut self, bits: u8) -> DeflateFrame {
        self.max_window_bits = check_window_bits(bits);
        self
    }

    /// The compression level, 0 to 10 (default 1, miniz_oxide's fast path).
    pub fn level(mut self, level: u8) -> DeflateFrame {
        self.level = level.min(10);
        self
    }

    /// Frames shorter than this many bytes are sent uncompressed (default 64).
    pub fn min_size(mut self, bytes: usize) -> DeflateFrame {
        self.min_size = bytes;
        self
    }

    /// What we ask of the peer, as parameters.
    fn requests(&self) -> Vec<Param> {
        let mut params = Vec::new();
        if self.max_window_bits < MAX_WINDOW_BITS {
            params.push(Param::with_value(
                MAX_WINDOW_BITS_PARAM,
                self.max_window_bits.to_string(),
            ));
        }
        if self.no_context_takeover {
            params.push(Param::flag(NO_CONTEXT_TAKEOVER));
        }
        params
    }

    /// Reads what the peer asks of us and builds the connection's state.
    fn negotiated(&self, params: &[Param]) -> Result<Negotiated, String> {
        let mut window = None;
        let mut forget = false;
        for param in params {
            let ok = match (param.name.as_str(), param.value.as_deref()) {
                (MAX_WINDOW_BITS_PARAM, Some(v)) => match parse_window_bits(v) {
                    Some(bits) => window.replace(bits).is_none(),
                    None => false,
                },
                (NO_CONTEXT_TAKEOVER, None) => !std::mem::replace(&mut forget, true),
                _ => false,
            };
            if !ok {
                return Err(format!(
                    "{}: unknown, repeated or malformed parameter {}",
                    self.name, param.name
                ));
            }
        }
        Ok(Negotiated {
            encoder: Box::new(FrameDeflater {
                deflater: Deflater::new(self.level, window.unwrap_or(MAX_WINDOW_BITS)),
                forget,
                min_size: self.min_size,
            }),
            decoder: Box::new(FrameInflater::default()),
        })
    }
}

impl ExtensionFactory for DeflateFrame {
    fn name(&self) -> &str {
        self.name
    }

    fn rsv(&self) -> Rsv {
        Rsv::RSV1
    }

    fn offers(&self) -> Vec<Vec<Param>> {
        vec![self.requests()]
    }

    fn accept_offers(&self, offers: &[&[Param]]) -> Option<(Vec<Param>, Negotiated)> {
        let negotiated = offers.iter().find_map(|o| self.negotiated(o).ok())?;
        Some((self.requests(), negotiated))
    }

    fn accept_response(&self, params: &[Param]) -> Result<Negotiated, String> {
        self.negotiated(params)
    }
}

/// Compresses outgoing data frames one by one.
struct FrameDeflater {
    deflater: Deflater,
    forget: bool,
    min_size: usize,
}

impl FrameEncoder for FrameDeflater {
    fn encode(
        &mut self,
        header: &mut FrameHeader,
        payload: &[u8],
        out: &mut Vec<u8>,
        options: &SendOptions,
    ) -> Result<bool, Error> {
        if !options.compress || payload.len() < self.min_size {
            return Ok(false);
        }
        self.deflater.compress(payload, out, self.forget)?;
        strip_tail(out);
        header.rsv = header.rsv.union(Rsv::RSV1);
        Ok(true)
    }
}

/// Decompresses incoming frames that carry RSV1.
#[derive(Default)]
struct FrameInflater {
    inflater: Inflater,
}

impl FrameDecoder for FrameInflater {
    fn accepts(&mut self, header: &FrameHeader) -> Result<bool, ProtocolError> {
        // Control frames are never compressed: RSV1 on one is left for
        // the receiver to refuse.
        Ok(!header.opcode.is_control() && header.rsv.contains(Rsv::RSV1))
    }

    fn decode(
        &mut self,
        header: &mut FrameHeader,
        payload: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), Error> {
        header.rsv = header.rsv.without(Rsv::RSV1);
        self.inflater.decompress(payload, true, out, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extension::parse_extensions;
    use crate::frame::OpCode;

    fn params(text: &str) -> Vec<Param> {
        parse_extensions(&format!("deflate-frame{text}")).unwrap()[0]
            .params
            .clone()
    }

    fn header(fin: bool, opcode: OpCode) -> FrameHeader {
        FrameHeader {
            fin,
            rsv: Rsv::NONE,
            opcode,
            mask: None,
            payload_len: 0,
        }
    }

    fn encode(n: &mut Negotiated, h: &mut FrameHeader, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        if n.encoder
            .encode(h, payload, &mut out, &SendOptions::default())
            .unwrap()
        {
            out
        } else {
            payload.to_vec()
        }
    }

    #[test]
    fn server_replies_with_its_requests_and_declines_bad_offers() {
        let server = DeflateFrame::new()
            .max_window_bits(10)
            .no_context_takeover(true);
        let offers = [params("; foo"), params("; max_window_bits=9")];
        let offers: Vec<&[Param]> = offers.iter().map(Vec::as_slice).collect();
        let (reply, _) = server.accept_offers(&offers).unwrap();
        assert_eq!(
            reply,
            vec![
                Param::with_value("max_window_bits", "10"),
                Param::flag("no_context_takeover")
            ]
        );
        for bad in [
            "; max_window_bits",
            "; max_window_bits=16",
            "; no_context_takeover=1",
            "; no_context_takeover; no_context_takeover",
        ] {
            let p = params(bad);
            assert!(server.accept_offers(&[&p]).is_none(), "{bad}");
            assert!(server.accept_response(&p).is_err(), "{bad}");
        }
        assert!(DeflateFrame::webkit().accept_response(&params("")).is_ok());
        assert_eq!(DeflateFrame::webkit().name(), "x-webkit-deflate-frame");
    }

    #[test]
    fn every_large_data_frame_is_compressed_on_its_own_with_rsv1() {
        let text = "deflate-frame compresses frame by frame. ".repeat(10);
        let df = DeflateFrame::new();
        let mut tx = df.negotiated(&params("; no_context_takeover")).unwrap();
        let mut rx = df.negotiated(&[]).unwrap();
        let mut first = header(false, OpCode::Text);
        let mut second = header(false, OpCode::Continuation);
        let mut small = header(true, OpCode::Continuation);
        let a = encode(&mut tx, &mut first, text.as_bytes());
        let b = encode(&mut tx, &mut second, text.as_bytes());
        let c = encode(&mut tx, &mut small, b"tiny");
        assert!(first.rsv.contains(Rsv::RSV1) && second.rsv.contains(Rsv::RSV1));
        assert!(small.rsv.is_empty() && c == b"tiny");
        // The peer asked for no context takeover: the second frame cannot
        // lean on the first (with takeover it shrinks to a few bytes).
        assert!(b.len() * 2 > a.len(), "{} then {}", a.len(), b.len());
        assert!(a.len() < text.len() / 4);
        for (h, payload) in [(&mut first, &a), (&mut second, &b)] {
            assert!(rx.decoder.accepts(h).unwrap());
            let mut out = Vec::new();
            rx.decoder.decode(h, payload, &mut out, 1 << 20).unwrap();
            assert_eq!(out, text.as_bytes());
            assert!(h.rsv.is_empty());
        }
        assert!(!rx.decoder.accepts(&small).unwrap());
        let mut ping = header(true, OpCode::Ping);
        ping.rsv = Rsv::RSV1;
        assert!(!rx.decoder.accepts(&ping).unwrap());
    }
}
