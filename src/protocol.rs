//! The per-connection protocol state, sans I/O.
//!
//! [`Receiver`] turns frames into events. It is told each frame header
//! ([`Receiver::begin_frame`]), lends the buffer the payload goes to
//! ([`Receiver::payload_buf`]), checks each piece as it lands
//! ([`Receiver::payload_arrived`]) and, at the end of the frame, yields an
//! [`Event`] or asks for more ([`Receiver::end_frame`]):
//!
//! ```text
//!             header                 payload pieces              end
//!  Idle ───► begin_frame ──► InFrame ──► payload_arrived ─┬──► end_frame ──► Idle
//!   ▲         (sequence,       (dest =   (unmasked; UTF-8  │     (decode, finish
//!   │          limits,          message,   checked at once) │      message, parse
//!   │          extension)       control,                    │      close) ─► Event
//!   │                           scratch)  ◄─────────────────┘
//!   └───────────────────────── more frames of the message ◄──────┘
//! ```
//!
//! [`Sender`] turns a message into frames: fragmentation, extensions,
//! masking keys. It hands each frame to a callback and never touches I/O.

use crate::close_frame::CloseFrame;
use crate::error::{CapacityError, Error, ProtocolError};
use crate::extension::{FrameDecoder, FrameEncoder, SendOptions};
use crate::frame::{FrameHeader, OpCode, Role, Rsv};
use crate::mask::random_mask_key;
use crate::message::Message;
use crate::utf8::Utf8Validator;

/// What a connection receives.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A whole text or binary message.
    Message(Message),
    /// A ping with its payload (already answered when auto-pong is on).
    Ping(Vec<u8>),
    /// A pong with its payload.
    Pong(Vec<u8>),
    /// The peer's close frame: `None` when it carried no status code.
    Close(Option<CloseFrame>),
}

/// Where the current frame's payload goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dest {
    /// Appended to the message being assembled, checked as it arrives.
    Message,
    /// A control frame's payload.
    Control,
    /// Collected whole for the extensions to decode.
    Scratch,
}

#[derive(Debug, Clone, Copy)]
struct InFrame {
    header: FrameHeader,
    received: u64,
    dest: Dest,
    /// Where this frame starts in its destination buffer.
    start: usize,
    /// Bit i set: decoder i decodes this frame.
    claimed: u64,
}

/// Limits the receiver enforces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_message_size: usize,
    pub(crate) max_fragments: usize,
}

/// Frames in, events out.
pub(crate) struct Receiver {
    limits: Limits,
    decoders: Vec<Box<dyn FrameDecoder>>,
    frame: Option<InFrame>,
    /// The opcode of the message being assembled (Text or Binary).
    message: Option<OpCode>,
    fragments: usize,
    buf: Vec<u8>,
    control: Vec<u8>,
    scratch: Vec<u8>,
    utf8: Utf8Validator,
    /// Leading bytes of `buf` the validator has seen, in order: all of
    /// them once a text message is complete.
    validated: usize,
    /// An extension decoder wrote into `buf` after earlier frames had
    /// been validated. It is handed the whole buffer, so those bytes are
    /// not known to be unchanged: the message is validated again at the end.
    decoded: bool,
}

impl Receiver {
    pub(crate) fn new(limits: Limits, decoders: Vec<Box<dyn FrameDecoder>>) -> Receiver {
        Receiver {
            limits,
            decoders,
            frame: None,
            message: None,
            fragments: 0,
            buf: Vec::new(),
            control: Vec::new(),
            scratch: Vec::new(),
            utf8: Utf8Validator::new(),
            validated: 0,
            decoded: false,
        }
    }

    /// True between `begin_frame` and the `end_frame` of that frame.
    pub(crate) fn in_frame(&self) -> bool {
        self.frame.is_some()
    }

    /// The header of the current frame and the payload bytes still due.
    pub(crate) fn current(&self) -> Option<(FrameHeader, u64, u64)> {
        self.frame
            .map(|f| (f.header, f.received, f.header.payload_len - f.received))
    }

    /// Starts a frame: checks where it may appear (§5.4), the fragment and
    /// size limits, and which extension decodes it.
    pub(crate) fn begin_frame(&mut self, header: FrameHeader) -> Result<(), Error> {
        debug_assert!(self.frame.is_none());
        let claimed = self.extension_claims(&header)?;
        let dest = if header.opcode.is_control() {
            self.control.clear();
            Dest::Control
        } else {
            match (header.opcode, self.message) {
                (OpCode::Continuation, None) => {
                    return Err(ProtocolError::UnexpectedContinuation.into())
                }
                (OpCode::Text | OpCode::Binary, Some(_)) => {
                    return Err(ProtocolError::ExpectedContinuation.into())
                }
                (OpCode::Continuation, Some(_)) => {}
                (op, _) => {
                    self.message = Some(op);
                    self.fragments = 0;
                    self.buf = Vec::new();
                    self.utf8.reset();
                    self.validated = 0;
                    self.decoded = false;
                }
            }
            self.fragments += 1;
            if self.fragments > self.limits.max_fragments {
                return Err(CapacityError::TooManyFragments {
                    max: self.limits.max_fragments,
                }
                .into());
            }
            if claimed != 0 {
                self.scratch.clear();
                Dest::Scratch
            } else {
                // Declared sizes are checked before a byte is read.
                if self.buf.len() as u64 + header.payload_len > self.limits.max_message_size as u64
                {
                    return Err(CapacityError::MessageTooBig {
                        max: self.limits.max_message_size,
                    }
                    .into());
                }
                Dest::Message
            }
        };
        let start = match dest {
            Dest::Message => self.buf.len(),
            _ => 0,
        };
        self.frame = Some(InFrame {
            header,
            received: 0,
            dest,
            start,
            claimed,
        });
        Ok(())
    }

    /// Asks the extensions about a frame: bit i of the answer is set when
    /// decoder i will decode it. RSV bits nobody claims are an error.
    fn extension_claims(&mut self, header: &FrameHeader) -> Result<u64, Error> {
        let mut claimed = 0u64;
        if !header.opcode.is_control() || !header.rsv.is_empty() {
            for (i, d) in self.decoders.iter_mut().enumerate().take(64) {
                if d.accepts(header)? {
                    claimed |= 1 << i;
                }
            }
        }
        if claimed == 0 && !header.rsv.is_empty() {
            return Err(ProtocolError::ReservedBits(header.rsv.bits()).into());
        }
        if claimed != 0 && header.opcode.is_control() {
            // A control frame's payload is never transformed into a message.
            return Err(ProtocolError::ReservedBits(header.rsv.bits()).into());
        }
        Ok(claimed)
    }

    /// The buffer the current frame's payload is appended to.
    pub(crate) fn payload_buf(&mut self) -> &mut Vec<u8> {
        match self.frame.map(|f| f.dest) {
            Some(Dest::Control) => &mut self.control,
            Some(Dest::Scratch) => &mut self.scratch,
            _ => &mut self.buf,
        }
    }

    /// `n` unmasked bytes were appended to the payload buffer: check them.
    /// Text is validated here, so bad UTF-8 fails at the piece that
    /// carries it, not at the end of the message.
    pub(crate) fn payload_arrived(&mut self, n: usize) -> Result<(), Error> {
        let frame = self.frame.as_mut().expect("payload outside a frame");
        frame.received += n as u64;
        if frame.dest == Dest::Message && self.message == Some(OpCode::Text) {
            self.validate_new_text()?;
        }
        Ok(())
    }

    /// Feeds the validator the message bytes it has not seen yet. Text is
    /// validated here, as it lands, so bad UTF-8 fails at the piece that
    /// carries it (RFC 6455 §8.1), and never a second time.
    fn validate_new_text(&mut self) -> Result<(), Error> {
        let from = self.validated.min(self.buf.len());
        self.utf8.feed(&self.buf[from..])?;
        self.validated = self.buf.len();
        Ok(())
    }

    /// The current frame's payload so far (for hooks).
    pub(crate) fn frame_payload(&self) -> &[u8] {
        match self.frame {
            Some(InFrame {
                dest: Dest::Control,
                ..
            }) => &self.control,
            Some(InFrame {
                dest: Dest::Scratch,
                ..
            }) => &self.scratch,
            Some(InFrame { start, .. }) => &self.buf[start..],
            None => &[],
        }
    }

    /// The whole payload is in: finish the frame. Returns the event it
    /// completes, or `None` when the message needs more frames.
    pub(crate) fn end_frame(&mut self) -> Result<Option<Event>, Error> {
        let mut frame = self.frame.take().expect("end_frame outside a frame");
        debug_assert_eq!(frame.received, frame.header.payload_len);
        match frame.dest {
            Dest::Control => {
                let payload = std::mem::take(&mut self.control);
                return match frame.header.opcode {
                    OpCode::Ping => Ok(Some(Event::Ping(payload))),
                    OpCode::Pong => Ok(Some(Event::Pong(payload))),
                    _ => Ok(Some(Event::Close(CloseFrame::parse(&payload)?))),
                };
            }
            Dest::Scratch => {
                let limit = self.limits.max_message_size - self.buf.len();
                let start = self.buf.len();
                // Only bytes already in the message can change behind the
                // validator's back; on a message's first frame there are
                // none, and what the decoder writes is validated below, once.
                self.decoded |= start > 0;
                let max = self.limits.max_message_size;
                self.decode_scratch(&mut frame.header, frame.claimed, limit)
                    .map_err(|e| match e {
                        // The decoder knows only what was left of the limit.
                        Error::Capacity(CapacityError::MessageTooBig { .. }) => {
                            CapacityError::MessageTooBig { max }.into()
                        }
                        e => e,
                    })?;
                if self.message == Some(OpCode::Text) {
                    debug_assert_eq!(self.validated, start);
                    self.validate_new_text()?;
                }
            }
            Dest::Message => {}
        }
        if !frame.header.fin {
            return Ok(None);
        }
        let opcode = self.message.take().expect("data frame outside a message");
        let payload = std::mem::take(&mut self.buf);
        let message = if opcode == OpCode::Text {
            self.utf8.finish()?;
            let unchanged = if self.decoded { 0 } else { self.validated };
            Message::Text(crate::utf8::into_string(payload, unchanged)?)
        } else {
            Message::Binary(payload)
        };
        Ok(Some(Event::Message(message)))
    }

    /// Runs the claiming decoders over the scratch payload, last negotiated
    /// first (they were applied in the opposite order on the way out), and
    /// appends the result to the message.
    fn decode_scratch(
        &mut self,
        header: &mut FrameHeader,
        claimed: u64,
        limit: usize,
    ) -> Result<(), Error> {
        if claimed.count_ones() == 1 {
            // The usual case: one extension inflates straight into the message.
            let i = claimed.trailing_zeros() as usize;
            let result = self.decoders[i].decode(header, &self.scratch, &mut self.buf, limit);
            self.scratch.clear();
            result?;
            // A decoder that overran its limit (a bug in it) still cannot
            // grow a message past the maximum; this also keeps the next
            // frame's `max_message_size - buf.len()` from underflowing.
            if self.buf.len() > self.limits.max_message_size {
                return Err(CapacityError::MessageTooBig {
                    max: self.limits.max_message_size,
                }
                .into());
            }
            return Ok(());
        }
        let mut input = std::mem::take(&mut self.scratch);
        let mut output = Vec::new();
        for i in (0..self.decoders.len())
            .rev()
            .filter(|&i| claimed & (1 << i) != 0)
        {
            output.clear();
            self.decoders[i].decode(header, &input, &mut output, limit)?;
            std::mem::swap(&mut input, &mut output);
        }
        if input.len() > limit {
            return Err(CapacityError::MessageTooBig {
                max: self.limits.max_message_size,
            }
            .into());
        }
        self.buf.extend_from_slice(&input);
        // Keep the larger allocation as the next scratch buffer.
        self.scratch = if input.capacity() >= output.capacity() {
            input
        } else {
            output
        };
        self.scratch.clear();
        Ok(())
    }
}

/// Messages in, frames out.
pub(crate) struct Sender {
    role: Role,
    encoders: Vec<Box<dyn FrameEncoder>>,
    fragment_size: Option<usize>,
    encoded: Vec<u8>,
    spare: Vec<u8>,
}

impl Sender {
    pub(crate) fn new(
        role: Role,
        encoders: Vec<Box<dyn FrameEncoder>>,
        fragment_size: Option<usize>,
    ) -> Sender {
        Sender {
            role,
            encoders,
            fragment_size: fragment_size.filter(|&n| n > 0),
            encoded: Vec::new(),
            spare: Vec::new(),
        }
    }

    /// The header of a final, unextended frame in our role.
    pub(crate) fn header(&self, opcode: OpCode, len: usize) -> FrameHeader {
        FrameHeader {
            fin: true,
            rsv: Rsv::NONE,
            opcode,
            mask: (self.role == Role::Client).then(random_mask_key),
            payload_len: len as u64,
        }
    }

    /// Splits a message into frames (`fragment_size`), runs the extensions
    /// over each, and hands each frame to `emit`.
    pub(crate) fn message<F>(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
        options: &SendOptions,
        mut emit: F,
    ) -> Result<(), Error>
    where
        F: FnMut(&FrameHeader, &[u8]) -> Result<(), Error>,
    {
        let piece = self.fragment_size.unwrap_or(usize::MAX).max(1);
        let mut chunks = payload.chunks(piece).peekable();
        let mut first = true;
        loop {
            let chunk = chunks.next().unwrap_or(&[]);
            let last = chunks.peek().is_none();
            let mut header = self.header(
                if first { opcode } else { OpCode::Continuation },
                chunk.len(),
            );
            header.fin = last;
            if self.encoders.is_empty() {
                emit(&header, chunk)?;
            } else {
                let data = self.encode(&mut header, chunk, options)?;
                header.payload_len = data.len() as u64;
                emit(&header, data)?;
            }
            first = false;
            if last {
                return Ok(());
            }
        }
    }

    /// Runs the encoders in negotiated order; returns the final payload.
    fn encode<'a>(
        &'a mut self,
        header: &mut FrameHeader,
        payload: &'a [u8],
        options: &SendOptions,
    ) -> Result<&'a [u8], Error> {
        let mut current_is_input = true;
        self.encoded.clear();
        for encoder in &mut self.encoders {
            let input: &[u8] = if current_is_input {
                payload
            } else {
                &self.encoded
            };
            self.spare.clear();
            if encoder.encode(header, input, &mut self.spare, options)? {
                std::mem::swap(&mut self.encoded, &mut self.spare);
                current_is_input = false;
            }
        }
        Ok(if current_is_input {
            payload
        } else {
            &self.encoded
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::close_code::CloseCode;

    fn limits() -> Limits {
        Limits {
            max_message_size: 1 << 20,
            max_fragments: 100,
        }
    }

    fn header(fin: bool, opcode: OpCode, len: usize) -> FrameHeader {
        FrameHeader {
            fin,
            rsv: Rsv::NONE,
            opcode,
            mask: None,
            payload_len: len as u64,
        }
    }

    /// Feeds one frame's payload in pieces of `piece` bytes.
    fn frame(
        r: &mut Receiver,
        fin: bool,
        opcode: OpCode,
        payload: &[u8],
        piece: usize,
    ) -> Result<Option<Event>, Error> {
        r.begin_frame(header(fin, opcode, payload.len()))?;
        for chunk in payload.chunks(piece.max(1)) {
            r.payload_buf().extend_from_slice(chunk);
            r.payload_arrived(chunk.len())?;
        }
        r.end_frame()
    }

    #[test]
    fn reassembles_fragments_with_control_frames_between() {
        let mut r = Receiver::new(limits(), Vec::new());
        assert_eq!(frame(&mut r, false, OpCode::Text, b"Hel", 1).unwrap(), None);
        assert_eq!(
            frame(&mut r, true, OpCode::Ping, b"p", 1).unwrap(),
            Some(Event::Ping(b"p".to_vec()))
        );
        assert_eq!(
            frame(&mut r, false, OpCode::Continuation, b"", 1).unwrap(),
            None
        );
        assert_eq!(
            frame(&mut r, true, OpCode::Continuation, b"lo", 1).unwrap(),
            Some(Event::Message(Message::Text("Hello".into())))
        );
    }

    #[test]
    fn sequence_errors() {
        let mut r = Receiver::new(limits(), Vec::new());
        assert!(matches!(
            frame(&mut r, true, OpCode::Continuation, b"x", 1),
            Err(Error::Protocol(ProtocolError::UnexpectedContinuation))
        ));
        let mut r = Receiver::new(limits(), Vec::new());
        frame(&mut r, false, OpCode::Binary, b"x", 1).unwrap();
        assert!(matches!(
            frame(&mut r, true, OpCode::Text, b"x", 1),
            Err(Error::Protocol(ProtocolError::ExpectedContinuation))
        ));
    }

    #[test]
    fn invalid_utf8_fails_in_the_piece_that_carries_it() {
        let mut r = Receiver::new(limits(), Vec::new());
        frame(&mut r, false, OpCode::Text, "κόσμε".as_bytes(), 100).unwrap();
        r.begin_frame(header(false, OpCode::Continuation, 8))
            .unwrap();
        r.payload_buf().extend_from_slice(b"\xf4");
        r.payload_arrived(1).unwrap();
        r.payload_buf().extend_from_slice(b"\x90");
        assert!(matches!(
            r.payload_arrived(1),
            Err(Error::Protocol(ProtocolError::InvalidUtf8))
        ));
    }

    #[test]
    fn truncated_character_at_message_end_is_invalid() {
        let mut r = Receiver::new(limits(), Vec::new());
        assert!(matches!(
            frame(&mut r, true, OpCode::Text, b"ab\xe2\x82", 100),
            Err(Error::Protocol(ProtocolError::InvalidUtf8))
        ));
    }

    #[test]
    fn message_size_is_checked_on_the_declared_length() {
        let mut r = Receiver::new(
            Limits {
                max_message_size: 10,
                max_fragments: 100,
            },
            Vec::new(),
        );
        frame(&mut r, false, OpCode::Binary, &[0; 6], 6).unwrap();
        let err = r
            .begin_frame(header(true, OpCode::Continuation, 5))
            .unwrap_err();
        assert!(matches!(
            err,
            Error::Capacity(CapacityError::MessageTooBig { max: 10 })
        ));
        assert_eq!(err.close_code(), Some(CloseCode::TOO_BIG));
    }

    #[test]
    fn fragment_cap() {
        let mut r = Receiver::new(
            Limits {
                max_message_size: 100,
                max_fragments: 3,
            },
            Vec::new(),
        );
        frame(&mut r, false, OpCode::Binary, b"", 1).unwrap();
        frame(&mut r, false, OpCode::Continuation, b"", 1).unwrap();
        frame(&mut r, false, OpCode::Continuation, b"", 1).unwrap();
        let err = frame(&mut r, false, OpCode::Continuation, b"", 1).unwrap_err();
        assert!(matches!(
            err,
            Error::Capacity(CapacityError::TooManyFragments { max: 3 })
        ));
    }

    #[test]
    fn close_payloads_are_checked() {
        let mut r = Receiver::new(limits(), Vec::new());
        assert_eq!(
            frame(&mut r, true, OpCode::Close, b"\x03\xe8ok", 1).unwrap(),
            Some(Event::Close(Some(CloseFrame::new(CloseCode::NORMAL, "ok"))))
        );
        assert!(matches!(
            frame(&mut r, true, OpCode::Close, b"\x03", 1),
            Err(Error::Protocol(ProtocolError::InvalidClosePayload))
        ));
        assert!(matches!(
            frame(&mut r, true, OpCode::Close, b"\x03\xe8\xff", 1),
            Err(Error::Protocol(ProtocolError::InvalidUtf8))
        ));
    }

    #[test]
    fn rsv_bits_without_an_extension_are_refused() {
        let mut r = Receiver::new(limits(), Vec::new());
        let mut h = header(true, OpCode::Text, 0);
        h.rsv = Rsv::RSV1;
        assert!(matches!(
            r.begin_frame(h),
            Err(Error::Protocol(ProtocolError::ReservedBits(0x40)))
        ));
    }

    #[test]
    fn sender_fragments_and_masks_as_a_client() {
        let mut s = Sender::new(Role::Client, Vec::new(), Some(4));
        let mut frames = Vec::new();
        s.message(
            OpCode::Text,
            b"0123456789",
            &SendOptions::default(),
            |h, p| {
                frames.push((*h, p.to_vec()));
                Ok(())
            },
        )
        .unwrap();
        let shape: Vec<(bool, OpCode, usize)> = frames
            .iter()
            .map(|(h, p)| (h.fin, h.opcode, p.len()))
            .collect();
        assert_eq!(
            shape,
            vec![
                (false, OpCode::Text, 4),
                (false, OpCode::Continuation, 4),
                (true, OpCode::Continuation, 2)
            ]
        );
        assert!(frames.iter().all(|(h, _)| h.mask.is_some()));
    }

    #[test]
    fn sender_sends_empty_messages_as_one_frame() {
        let mut s = Sender::new(Role::Server, Vec::new(), Some(4));
        let mut frames = Vec::new();
        s.message(OpCode::Binary, b"", &SendOptions::default(), |h, _| {
            frames.push(*h);
            Ok(())
        })
        .unwrap();
        assert_eq!(frames, vec![header(true, OpCode::Binary, 0)]);
    }

    /// A decoder that breaks the text validated before it: it overwrites
    /// the message's first byte with 0xFF, then appends its payload.
    struct Vandal;

    impl FrameDecoder for Vandal {
        fn accepts(&mut self, header: &FrameHeader) -> Result<bool, ProtocolError> {
            Ok(header.rsv.bits() != 0)
        }

        fn decode(
            &mut self,
            header: &mut FrameHeader,
            payload: &[u8],
            out: &mut Vec<u8>,
            _limit: usize,
        ) -> Result<(), Error> {
            if let Some(first) = out.first_mut() {
                *first = 0xFF;
            }
            out.extend_from_slice(payload);
            header.rsv = Rsv::NONE;
            Ok(())
        }
    }

    #[test]
    fn text_an_extension_rewrote_is_validated_again_at_the_end() {
        let mut r = Receiver::new(limits(), vec![Box::new(Vandal)]);
        assert_eq!(
            frame(&mut r, false, OpCode::Text, b"valid ", 3).unwrap(),
            None
        );
        let mut last = header(true, OpCode::Continuation, 4);
        last.rsv = Rsv::RSV1;
        r.begin_frame(last).unwrap();
        r.payload_buf().extend_from_slice(b"text");
        r.payload_arrived(4).unwrap();
        let result = r.end_frame();
        assert!(
            matches!(result, Err(Error::Protocol(ProtocolError::InvalidUtf8))),
            "{result:?}"
        );
    }

    #[test]
    fn text_in_many_pieces_becomes_the_same_string() {
        let text = "κόσμε – ascii – 😀 – \u{10FFFF}".repeat(50);
        for piece in [1, 2, 3, 7, 64, 10_000] {
            let mut r = Receiver::new(limits(), Vec::new());
            let bytes = text.as_bytes();
            let (a, b) = bytes.split_at(bytes.len() / 3);
            assert_eq!(frame(&mut r, false, OpCode::Text, a, piece).unwrap(), None);
            assert_eq!(
                frame(&mut r, true, OpCode::Continuation, b, piece).unwrap(),
                Some(Event::Message(Message::Text(text.clone())))
            );
        }
    }
}
