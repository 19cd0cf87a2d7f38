//! A toy extension that owns one RSV bit and sends payloads unchanged.
//!
//! It exists so the fuzzers reach the extension paths of the core without
//! a real compressor: negotiation (offers, replies, parameters, RSV bit
//! conflicts) and the receiver's scratch path, where a claimed frame's
//! payload is collected whole and decoded at the end of the frame, under
//! the message size limit.

use stdws::extension::{ExtensionFactory, FrameDecoder, FrameEncoder, Negotiated, Param};
use stdws::{CapacityError, Error, FrameHeader, ProtocolError, Rsv, SendOptions};

/// An extension named `name` that claims the frames carrying `rsv`.
#[derive(Debug, Clone, Copy)]
pub struct Identity {
    /// The extension token.
    pub name: &'static str,
    /// The RSV bit it owns.
    pub rsv: Rsv,
}

/// Four toy extensions: `x-a` and `x-b` both want RSV1 (so at most one of
/// them can be in force), `x-c` owns RSV2, and `x-d` owns no bit (as an
/// extension that only adds headers or data would).
pub fn factories() -> Vec<Identity> {
    vec![
        Identity {
            name: "x-a",
            rsv: Rsv::RSV1,
        },
        Identity {
            name: "x-b",
            rsv: Rsv::RSV1,
        },
        Identity {
            name: "x-c",
            rsv: Rsv::RSV2,
        },
        Identity {
            name: "x-d",
            rsv: Rsv::NONE,
        },
    ]
}

/// The parameters the toy understands: a bare `a`, and `b` with a value of
/// digits, each at most once.
pub fn params_ok(params: &[Param]) -> bool {
    params.iter().enumerate().all(|(i, p)| {
        let known = match p.name.as_str() {
            "a" => p.value.is_none(),
            "b" => p
                .value
                .as_deref()
                .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())),
            _ => false,
        };
        known && params[..i].iter().all(|q| q.name != p.name)
    })
}

impl Identity {
    fn negotiated(&self) -> Negotiated {
        Negotiated {
            encoder: Box::new(Encoder { rsv: self.rsv }),
            decoder: Box::new(Decoder { rsv: self.rsv }),
        }
    }
}

impl ExtensionFactory for Identity {
    fn name(&self) -> &str {
        self.name
    }

    fn rsv(&self) -> Rsv {
        self.rsv
    }

    fn offers(&self) -> Vec<Vec<Param>> {
        vec![vec![Param::flag("a")], Vec::new()]
    }

    fn accept_offers(&self, offers: &[&[Param]]) -> Option<(Vec<Param>, Negotiated)> {
        offers
            .iter()
            .find(|params| params_ok(params))
            .map(|params| (params.to_vec(), self.negotiated()))
    }

    fn accept_response(&self, params: &[Param]) -> Result<Negotiated, String> {
        if params_ok(params) {
            Ok(self.negotiated())
        } else {
            Err(format!("{}: bad parameters", self.name))
        }
    }
}

struct Encoder {
    rsv: Rsv,
}

impl FrameEncoder for Encoder {
    fn encode(
        &mut self,
        header: &mut FrameHeader,
        payload: &[u8],
        out: &mut Vec<u8>,
        options: &SendOptions,
    ) -> Result<bool, Error> {
        if !options.compress {
            return Ok(false);
        }
        out.extend_from_slice(payload);
        header.rsv = header.rsv.union(self.rsv);
        Ok(true)
    }
}

struct Decoder {
    rsv: Rsv,
}

impl FrameDecoder for Decoder {
    fn accepts(&mut self, header: &FrameHeader) -> Result<bool, ProtocolError> {
        Ok(header.rsv.contains(self.rsv))
    }

    fn decode(
        &mut self,
        header: &mut FrameHeader,
        payload: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), Error> {
        if payload.len() > limit {
            return Err(CapacityError::MessageTooBig { max: limit }.into());
        }
        out.extend_from_slice(payload);
        header.rsv = header.rsv.without(self.rsv);
        Ok(())
    }
}
