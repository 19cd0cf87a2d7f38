//! The frame codec (RFC 6455 §5.2), sans I/O.
//!
//! [`parse_header`] is a push parser in the manner of `httparse`: it reads
//! a byte slice and answers [`Status::Complete`] with the header length and
//! the [`FrameHeader`], [`Status::Partial`] when more bytes are needed, or
//! an error as soon as the bytes seen so far cannot start a valid frame.
//! Incomplete input is never invalid input, and no input allocates.
//!
//! ```text
//!   0                   1                   2                   3
//!   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//!  +-+-+-+-+-------+-+-------------+-------------------------------+
//!  |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//!  |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//!  |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//!  | |1|2|3|       |K|             |                               |
//!  +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//!  |     Extended payload length continued, if payload len == 127  |
//!  + - - - - - - - - - - - - - - - +-------------------------------+
//!  |                               |Masking-key, if MASK set to 1  |
//!  +-------------------------------+-------------------------------+
//!  | Masking-key (continued)       |          Payload Data         |
//!  +-------------------------------- - - - - - - - - - - - - - - - +
//! ```

use std::fmt;

use crate::close_code::CloseCode;
use crate::close_frame::CloseFrame;
use crate::error::{CapacityError, Error, ProtocolError};
pub use crate::mask::{apply_mask, random_mask_key};

/// The longest frame header: 2 bytes, 8 bytes of length, 4 of mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// The largest payload a control frame may carry (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// The result of a push parser: done, with a value, or in need of more bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status<T> {
    /// The input held a whole item.
    Complete(T),
    /// More bytes are needed; feed the same bytes plus more.
    Partial,
}

/// Which end of the connection we are; it decides who masks (RFC 6455 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// We opened the connection: we mask, the server must not.
    Client,
    /// We accepted the connection: the client masks, we must not.
    Server,
}

/// A frame's opcode (RFC 6455 §5.2, §11.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: the first frame of a text message.
    Text,
    /// 0x2: the first frame of a binary message.
    Binary,
    /// 0x8: starts or answers the closing handshake.
    Close,
    /// 0x9: asks for a pong.
    Ping,
    /// 0xA: answers a ping (or is a unidirectional heartbeat).
    Pong,
    /// 0x3–0x7 and 0xB–0xF: reserved. The parser refuses them; the variant
    /// exists so that a test can send one on purpose.
    Reserved(u8),
}

impl OpCode {
    /// The opcode of the low four bits of `byte`.
    pub fn from_u8(byte: u8) -> OpCode {
        match byte & 0x0F {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            other => OpCode::Reserved(other),
        }
    }

    /// The four-bit wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
            OpCode::Reserved(b) => b & 0x0F,
        }
    }

    /// Close, ping, pong and the reserved control opcodes 0xB–0xF.
    pub fn is_control(self) -> bool {
        self.as_u8() & 0x08 != 0
    }
}

/// Honours width, fill and alignment (`{:<12}`), for tables and logs.
impl fmt::Display for OpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpCode::Continuation => f.pad("continuation"),
            OpCode::Text => f.pad("text"),
            OpCode::Binary => f.pad("binary"),
            OpCode::Close => f.pad("close"),
            OpCode::Ping => f.pad("ping"),
            OpCode::Pong => f.pad("pong"),
            OpCode::Reserved(b) => f.pad(&format!("reserved({b:#x})")),
        }
    }
}

/// The three RSV bits, kept where they sit in the first header byte
/// (RSV1 = 0x40, RSV2 = 0x20, RSV3 = 0x10), so a set of bits is one `u8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rsv(u8);

impl Rsv {
    /// No bit set.
    pub const NONE: Rsv = Rsv(0);
    /// RSV1, owned by permessage-deflate and deflate-frame.
    pub const RSV1: Rsv = Rsv(0x40);
    /// RSV2.
    pub const RSV2: Rsv = Rsv(0x20);
    /// RSV3.
    pub const RSV3: Rsv = Rsv(0x10);

    /// The bits of `byte` (only 0x70 is kept).
    pub fn from_bits(byte: u8) -> Rsv {
        Rsv(byte & 0x70)
    }

    /// The bits as in the first header byte.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// True when no bit is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True when every bit of `other` is set here.
    pub fn contains(self, other: Rsv) -> bool {
        self.0 & other.0 == other.0
    }

    /// The bits set in either.
    pub fn union(self, other: Rsv) -> Rsv {
        Rsv(self.0 | other.0)
    }

    /// The bits set here but not in `other`.
    pub fn without(self, other: Rsv) -> Rsv {
        Rsv(self.0 & !other.0)
    }
}

/// A parsed or to-be-written frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: this frame ends its message.
    pub fin: bool,
    /// RSV1–RSV3.
    pub rsv: Rsv,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, present in every client frame (RFC 6455 §5.3).
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub payload_len: u64,
}

impl FrameHeader {
    /// Writes the header into `out` and returns its length (2 to 14 bytes).
    /// The length is encoded in the fewest bytes (§5.2).
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        out[0] = (u8::from(self.fin) << 7) | self.rsv.bits() | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut n = match self.payload_len {
            len @ 0..=125 => {
                out[1] = mask_bit | len as u8;
                2
            }
            len @ 126..=0xFFFF => {
                out[1] = mask_bit | 126;
                out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                4
            }
            len => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&len.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            out[n..n + 4].copy_from_slice(&key);
            n += 4;
        }
        n
    }

    /// The header length this header encodes to.
    pub fn encoded_len(&self) -> usize {
        let len = match self.payload_len {
            0..=125 => 2,
            126..=0xFFFF => 4,
            _ => 10,
        };
        len + if self.mask.is_some() { 4 } else { 0 }
    }
}

/// What the receiver accepts; [`parse_header`] refuses everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderRules {
    /// Our role: a server requires masked frames, a client unmasked ones.
    pub role: Role,
    /// The RSV bits owned by negotiated extensions.
    pub allowed_rsv: Rsv,
    /// The largest payload length accepted (checked before any allocation).
    pub max_frame_size: u64,
}

impl HeaderRules {
    /// Rules for a receiver in `role` without extensions.
    pub fn new(role: Role, max_frame_size: usize) -> HeaderRules {
        HeaderRules {
            role,
            allowed_rsv: Rsv::NONE,
            max_frame_size: max_frame_size as u64,
        }
    }
}

/// Parses a frame header from the start of `buf`.
///
/// Answers `Complete((header_len, header))`, `Partial`, or the first rule
/// broken. Each check runs as soon as the bytes it needs are present, so a
/// bad first byte fails at once. The checks: reserved opcodes, RSV bits no
/// extension owns, fragmented control frames (§5.5), the mask bit against
/// our role (§5.1), control payloads over 125 bytes, a 64-bit length with
/// its top bit set, lengths not in minimal form (§5.2) and
/// `max_frame_size`.
pub fn parse_header(
    buf: &[u8],
    rules: &HeaderRules,
) -> Result<Status<(usize, FrameHeader)>, Error> {
    let Some(&b0) = buf.first() else {
        return Ok(Status::Partial);
    };
    let fin = b0 & 0x80 != 0;
    let rsv = Rsv::from_bits(b0);
    let opcode = OpCode::from_u8(b0);
    if let OpCode::Reserved(op) = opcode {
        return Err(ProtocolError::ReservedOpCode(op).into());
    }
    let stray = rsv.without(rules.allowed_rsv);
    if !stray.is_empty() {
        return Err(ProtocolError::ReservedBits(stray.bits()).into());
    }
    if opcode.is_control() && !fin {
        return Err(ProtocolError::FragmentedControlFrame.into());
    }

    let Some(&b1) = buf.get(1) else {
        return Ok(Status::Partial);
    };
    let masked = b1 & 0x80 != 0;
    match (rules.role, masked) {
        (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame.into()),
        (Role::Client, true) => return Err(ProtocolError::MaskedFrame.into()),
        _ => {}
    }
    let len7 = b1 & 0x7F;
    if opcode.is_control() && len7 > MAX_CONTROL_PAYLOAD as u8 {
        return Err(ProtocolError::ControlFrameTooLong.into());
    }

    let (payload_len, mut pos) = match len7 {
        126 => {
            let Some(bytes) = buf.get(2..4) else {
                return Ok(Status::Partial);
            };
            let len = u16::from_be_bytes([bytes[0], bytes[1]]) as u64;
            if len < 126 {
                return Err(ProtocolError::NonMinimalLength.into());
            }
            (len, 4)
        }
        127 => {
            // The top bit is visible in the first length byte: fail before
            // the other seven arrive.
            if buf.get(2).is_some_and(|&b| b & 0x80 != 0) {
                return Err(ProtocolError::LengthTopBitSet.into());
            }
            let Some(bytes) = buf.get(2..10) else {
                return Ok(Status::Partial);
            };
            let mut be = [0u8; 8];
            be.copy_from_slice(bytes);
            let len = u64::from_be_bytes(be);
            if len <= 0xFFFF {
                return Err(ProtocolError::NonMinimalLength.into());
            }
            (len, 10)
        }
        short => (u64::from(short), 2),
    };
    if payload_len > rules.max_frame_size {
        return Err(CapacityError::FrameTooBig {
            size: payload_len,
            max: rules.max_frame_size as usize,
        }
        .into());
    }

    let mask = if masked {
        let Some(bytes) = buf.get(pos..pos + 4) else {
            return Ok(Status::Partial);
        };
        pos += 4;
        Some([bytes[0], bytes[1], bytes[2], bytes[3]])
    } else {
        None
    };
    Ok(Status::Complete((
        pos,
        FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len,
        },
    )))
}

/// A whole frame: header fields and payload.
///
/// Build any frame, valid or not, and send it with
/// [`WebSocket::send`](crate::WebSocket::send); tests and fuzzers need the
/// invalid ones. The payload is kept unmasked; `mask` is applied on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// FIN: this frame ends its message.
    pub fin: bool,
    /// RSV1–RSV3.
    pub rsv: Rsv,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key to apply on the wire. [`WebSocket`](crate::WebSocket)
    /// in the client role fills in a fresh random key when this is `None`;
    /// as a server it sends the frame as given.
    pub mask: Option<[u8; 4]>,
    /// The payload, unmasked.
    pub payload: Vec<u8>,
}

impl Frame {
    /// A final frame with no RSV bits and no mask.
    pub fn new(opcode: OpCode, payload: impl Into<Vec<u8>>) -> Frame {
        Frame {
            fin: true,
            rsv: Rsv::NONE,
            opcode,
            mask: None,
            payload: payload.into(),
        }
    }

    /// A final text frame.
    pub fn text(text: impl Into<String>) -> Frame {
        Frame::new(OpCode::Text, text.into().into_bytes())
    }

    /// A final binary frame.
    pub fn binary(data: impl Into<Vec<u8>>) -> Frame {
        Frame::new(OpCode::Binary, data)
    }

    /// A continuation frame.
    pub fn continuation(data: impl Into<Vec<u8>>) -> Frame {
        Frame::new(OpCode::Continuation, data)
    }

    /// A ping.
    pub fn ping(data: impl Into<Vec<u8>>) -> Frame {
        Frame::new(OpCode::Ping, data)
    }

    /// A pong.
    pub fn pong(data: impl Into<Vec<u8>>) -> Frame {
        Frame::new(OpCode::Pong, data)
    }

    /// A close frame with a code and reason (the reason is cut to fit).
    pub fn close(code: CloseCode, reason: &str) -> Frame {
        let mut payload = Vec::with_capacity(2 + reason.len().min(123));
        CloseFrame::new(code, reason).encode_into(&mut payload);
        Frame::new(OpCode::Close, payload)
    }

    /// This frame with FIN set as given.
    pub fn with_fin(mut self, fin: bool) -> Frame {
        self.fin = fin;
        self
    }

    /// This frame with these RSV bits.
    pub fn with_rsv(mut self, rsv: Rsv) -> Frame {
        self.rsv = rsv;
        self
    }

    /// This frame with this masking key.
    pub fn with_mask(mut self, key: [u8; 4]) -> Frame {
        self.mask = Some(key);
        self
    }

    /// The header of this frame.
    pub fn header(&self) -> FrameHeader {
        FrameHeader {
            fin: self.fin,
            rsv: self.rsv,
            opcode: self.opcode,
            mask: self.mask,
            payload_len: self.payload.len() as u64,
        }
    }

    /// Appends the frame's wire bytes (header, then payload masked with
    /// `mask` if set) to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let mut head = [0u8; MAX_HEADER_LEN];
        let n = self.header().encode(&mut head);
        out.extend_from_slice(&head[..n]);
        let start = out.len();
        out.extend_from_slice(&self.payload);
        if let Some(key) = self.mask {
            apply_mask(&mut out[start..], key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcode_display_honours_width_and_alignment() {
        assert_eq!(format!("[{:^8}]", OpCode::Text), "[  text  ]");
        assert_eq!(format!("[{:-<8}]", OpCode::Ping), "[ping----]");
        assert_eq!(
            format!("[{:>15}]", OpCode::Reserved(3)),
            "[  reserved(0x3)]"
        );
    }

    fn server_rules() -> HeaderRules {
        HeaderRules::new(Role::Server, 1 << 24)
    }

    fn client_rules() -> HeaderRules {
        HeaderRules::new(Role::Client, 1 << 24)
    }

    fn protocol_error(buf: &[u8], rules: &HeaderRules) -> ProtocolError {
        match parse_header(buf, rules) {
            Err(Error::Protocol(e)) => e,
            other => panic!("expected a protocol error, got {other:?}"),
        }
    }

    /// Feeds every prefix of `wire`: Partial until the header is whole, then
    /// the same answer as the whole input.
    fn parse_all_prefixes(wire: &[u8], rules: &HeaderRules) -> (usize, FrameHeader) {
        let whole = match parse_header(wire, rules).unwrap() {
            Status::Complete(done) => done,
            Status::Partial => panic!("whole input is partial"),
        };
        for cut in 0..whole.0 {
            assert_eq!(
                parse_header(&wire[..cut], rules).unwrap(),
                Status::Partial,
                "prefix {cut}"
            );
        }
        for cut in whole.0..=wire.len() {
            assert_eq!(
                parse_header(&wire[..cut], rules).unwrap(),
                Status::Complete(whole)
            );
        }
        whole
    }

    // RFC 6455 §5.7 examples.
    #[test]
    fn rfc_5_7_single_frame_unmasked_text() {
        let wire = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        let (n, h) = parse_all_prefixes(&wire, &client_rules());
        assert_eq!(n, 2);
        assert_eq!(
            h,
            FrameHeader {
                fin: true,
                rsv: Rsv::NONE,
                opcode: OpCode::Text,
                mask: None,
                payload_len: 5
            }
        );
        assert_eq!(&wire[n..], b"Hello");
        assert_eq!(Frame::text("Hello").encode_to_vec(), wire);
    }

    #[test]
    fn rfc_5_7_single_frame_masked_text() {
        let wire = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let (n, h) = parse_all_prefixes(&wire, &server_rules());
        assert_eq!(n, 6);
        assert_eq!(h.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        let mut payload = wire[n..].to_vec();
        apply_mask(&mut payload, h.mask.unwrap());
        assert_eq!(payload, b"Hello");
        assert_eq!(
            Frame::text("Hello")
                .with_mask([0x37, 0xfa, 0x21, 0x3d])
                .encode_to_vec(),
            wire
        );
    }

    #[test]
    fn rfc_5_7_fragmented_unmasked_text() {
        let first = [0x01, 0x03, 0x48, 0x65, 0x6c];
        let second = [0x80, 0x02, 0x6c, 0x6f];
        let (_, h1) = parse_all_prefixes(&first, &client_rules());
        let (_, h2) = parse_all_prefixes(&second, &client_rules());
        assert!(!h1.fin && h1.opcode == OpCode::Text);
        assert!(h2.fin && h2.opcode == OpCode::Continuation);
        assert_eq!(Frame::text("Hel").with_fin(false).encode_to_vec(), first);
        assert_eq!(Frame::continuation(&b"lo"[..]).encode_to_vec(), second);
    }

    #[test]
    fn rfc_5_7_ping_and_masked_pong() {
        let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        assert_eq!(Frame::ping(&b"Hello"[..]).encode_to_vec(), ping);
        let pong = [
            0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        assert_eq!(
            Frame::pong(&b"Hello"[..])
                .with_mask([0x37, 0xfa, 0x21, 0x3d])
                .encode_to_vec(),
            pong
        );
        let (_, h) = parse_all_prefixes(&pong, &server_rules());
        assert_eq!(h.opcode, OpCode::Pong);
    }

    #[test]
    fn rfc_5_7_256_bytes_and_64_kib_binary() {
        let frame = Frame::binary(vec![0u8; 256]);
        let wire = frame.encode_to_vec();
        assert_eq!(&wire[..4], &[0x82, 0x7E, 0x01, 0x00]);
        assert_eq!(
            parse_all_prefixes(&wire, &client_rules()).1.payload_len,
            256
        );

        let frame = Frame::binary(vec![0u8; 65536]);
        let wire = frame.encode_to_vec();
        assert_eq!(&wire[..10], &[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!(
            parse_all_prefixes(&wire, &client_rules()).1.payload_len,
            65536
        );
    }

    #[test]
    fn length_boundaries_use_the_minimal_encoding() {
        for (len, header_len) in [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)] {
            let h = FrameHeader {
                fin: true,
                rsv: Rsv::NONE,
                opcode: OpCode::Binary,
                mask: None,
                payload_len: len,
            };
            let mut buf = [0u8; MAX_HEADER_LEN];
            assert_eq!(h.encode(&mut buf), header_len);
            assert_eq!(h.encoded_len(), header_len);
            assert_eq!(
                parse_header(&buf[..header_len], &client_rules()).unwrap(),
                Status::Complete((header_len, h))
            );
        }
    }

    #[test]
    fn rejects_non_minimal_lengths() {
        assert_eq!(
            protocol_error(&[0x82, 0x7E, 0x00, 0x7D], &client_rules()),
            ProtocolError::NonMinimalLength
        );
        assert_eq!(
            protocol_error(&[0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF], &client_rules()),
            ProtocolError::NonMinimalLength
        );
    }

    #[test]
    fn rejects_64_bit_length_with_top_bit_as_soon_as_it_is_seen() {
        assert_eq!(
            protocol_error(&[0x82, 0x7F, 0x80], &client_rules()),
            ProtocolError::LengthTopBitSet
        );
    }

    #[test]
    fn rejects_frames_over_max_frame_size_before_the_payload() {
        let rules = HeaderRules::new(Role::Client, 1000);
        let err = parse_header(&[0x82, 0x7E, 0x03, 0xE9], &rules).unwrap_err();
        assert!(matches!(
            err,
            Error::Capacity(CapacityError::FrameTooBig {
                size: 1001,
                max: 1000
            })
        ));
        let max = [0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert!(matches!(
            parse_header(&max, &rules),
            Err(Error::Capacity(_))
        ));
        assert!(matches!(
            parse_header(&[0x82, 0x7E, 0x03, 0xE8], &rules),
            Ok(Status::Complete(_))
        ));
    }

    #[test]
    fn rejects_reserved_opcodes_from_the_first_byte() {
        for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
            assert_eq!(
                protocol_error(&[0x80 | op], &server_rules()),
                ProtocolError::ReservedOpCode(op)
            );
        }
    }

    #[test]
    fn rejects_rsv_bits_no_extension_owns() {
        assert_eq!(
            protocol_error(&[0xC1], &server_rules()),
            ProtocolError::ReservedBits(0x40)
        );
        assert_eq!(
            protocol_error(&[0xB1], &server_rules()),
            ProtocolError::ReservedBits(0x30)
        );
        let mut rules = server_rules();
        rules.allowed_rsv = Rsv::RSV1;
        assert_eq!(parse_header(&[0xC1], &rules).unwrap(), Status::Partial);
        assert_eq!(
            protocol_error(&[0xE1], &rules),
            ProtocolError::ReservedBits(0x20)
        );
    }

    #[test]
    fn rejects_fragmented_and_oversized_control_frames() {
        assert_eq!(
            protocol_error(&[0x09], &server_rules()),
            ProtocolError::FragmentedControlFrame
        );
        assert_eq!(
            protocol_error(&[0x89, 0xFE], &server_rules()),
            ProtocolError::ControlFrameTooLong
        );
        assert_eq!(
            protocol_error(&[0x88, 0x7E], &client_rules()),
            ProtocolError::ControlFrameTooLong
        );
        assert!(matches!(
            parse_header(&[0x89, 0xFD], &server_rules()),
            Ok(Status::Partial)
        ));
    }

    #[test]
    fn mask_bit_must_match_the_role() {
        assert_eq!(
            protocol_error(&[0x81, 0x05], &server_rules()),
            ProtocolError::UnmaskedFrame
        );
        assert_eq!(
            protocol_error(&[0x81, 0x85], &client_rules()),
            ProtocolError::MaskedFrame
        );
    }

    #[test]
    fn opcode_round_trip() {
        for b in 0u8..16 {
            assert_eq!(OpCode::from_u8(b).as_u8(), b);
        }
        assert!(OpCode::Close.is_control() && OpCode::Reserved(0xB).is_control());
        assert!(!OpCode::Binary.is_control() && !OpCode::Reserved(3).is_control());
    }

    impl Frame {
        fn encode_to_vec(&self) -> Vec<u8> {
            let mut out = Vec::new();
            self.encode_into(&mut out);
            out
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn any_header(role_masks: bool) -> impl Strategy<Value = FrameHeader> {
            (
                any::<bool>(),
                0u8..8,
                prop::sample::select(vec![0u8, 1, 2, 8, 9, 10]),
                any::<[u8; 4]>(),
                any::<u64>(),
            )
                .prop_map(move |(fin, rsv, op, key, len)| {
                    let opcode = OpCode::from_u8(op);
                    let (fin, payload_len) = if opcode.is_control() {
                        (true, len % 126)
                    } else {
                        (fin, len % (1 << 40))
                    };
                    FrameHeader {
                        fin,
                        rsv: Rsv::from_bits(rsv << 4),
                        opcode,
                        mask: role_masks.then_some(key),
                        payload_len,
                    }
                })
        }

        proptest! {
            #[test]
            fn header_encode_parse_round_trip(h in any_header(true), extra in prop::collection::vec(any::<u8>(), 0..4)) {
                let rules = HeaderRules { role: Role::Server, allowed_rsv: Rsv::from_bits(0x70), max_frame_size: u64::MAX };
                let mut buf = [0u8; MAX_HEADER_LEN];
                let n = h.encode(&mut buf);
                let mut wire = buf[..n].to_vec();
                wire.extend_from_slice(&extra);
                for cut in 0..n {
                    prop_assert_eq!(parse_header(&wire[..cut], &rules).unwrap(), Status::Partial);
                }
                prop_assert_eq!(parse_header(&wire, &rules).unwrap(), Status::Complete((n, h)));
            }

            #[test]
            fn unmasked_header_round_trip(h in any_header(false)) {
                let rules = HeaderRules { role: Role::Client, allowed_rsv: Rsv::from_bits(0x70), max_frame_size: u64::MAX };
                let mut buf = [0u8; MAX_HEADER_LEN];
                let n = h.encode(&mut buf);
                prop_assert_eq!(parse_header(&buf[..n], &rules).unwrap(), Status::Complete((n, h)));
            }

            #[test]
            fn parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..20)) {
                let _ = parse_header(&bytes, &server_rules());
                let _ = parse_header(&bytes, &client_rules());
            }
        }
    }
}
