//! The hixie-76 frame codec, sans I/O: [`FrameScanner`] finds frames in
//! bytes that arrive in pieces; [`text_frame`] and [`CLOSE`] are what a
//! server sends.

use crate::error::{CapacityError, Error, ProtocolError};
use crate::frame::Status;
use crate::utf8::Utf8Validator;

/// The type byte of a text frame.
pub const TEXT: u8 = 0x00;

/// The byte that ends a text frame (never part of UTF-8).
pub const END: u8 = 0xFF;

/// The closing frame, both ways (draft §4.2, "the WebSocket closing
/// handshake").
pub const CLOSE: [u8; 2] = [0xFF, 0x00];

/// A text message as it goes on the wire, in three parts for one vectored
/// write without a copy: the type byte, the text, the end byte.
pub fn text_frame(text: &str) -> [&[u8]; 3] {
    [&[TEXT], text.as_bytes(), &[END]]
}

/// A whole frame at the start of the scanned bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A text frame of `len` bytes: its text, valid UTF-8, is
    /// `buf[1..len - 1]`.
    Text {
        /// The frame's length, type and end bytes included.
        len: usize,
    },
    /// The closing frame (two bytes).
    Close,
}

impl Frame {
    /// The bytes the frame takes on the wire.
    pub fn len(&self) -> usize {
        match self {
            Frame::Text { len } => *len,
            Frame::Close => CLOSE.len(),
        }
    }

    /// False: every frame has at least its type byte.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Finds the frame at the start of bytes that arrive in pieces.
///
/// Call [`scan`](FrameScanner::scan) with the bytes from the start of the
/// current frame each time more arrive; it resumes where it stopped, so a
/// message that arrives a byte at a time costs linear time. After
/// `Complete(frame)`, drop `frame.len()` bytes and scan on for the next.
#[derive(Debug, Clone)]
pub struct FrameScanner {
    max_message_size: usize,
    /// Bytes of the current frame looked at so far.
    scanned: usize,
    utf8: Utf8Validator,
}

impl FrameScanner {
    /// A scanner refusing text frames longer than `max_message_size` bytes.
    pub fn new(max_message_size: usize) -> FrameScanner {
        FrameScanner {
            max_message_size,
            scanned: 0,
            utf8: Utf8Validator::new(),
        }
    }

    /// Scans `buf`, which begins with the current frame.
    ///
    /// Errors: a type byte other than `0x00` or the `0xFF 0x00` closing
    /// frame ([`ProtocolError::Hixie76Frame`]), text longer than
    /// `max_message_size` without its end byte
    /// ([`CapacityError::MessageTooBig`]), bytes that are not UTF-8
    /// ([`ProtocolError::InvalidUtf8`], as soon as they arrive).
    pub fn scan(&mut self, buf: &[u8]) -> Result<Status<Frame>, Error> {
        let Some(&kind) = buf.first() else {
            return Ok(Status::Partial);
        };
        match kind {
            TEXT => self.scan_text(buf),
            END => match buf.get(1) {
                None => Ok(Status::Partial),
                Some(0) => Ok(Status::Complete(Frame::Close)),
                // 0xFF with a length: a length-prefixed frame.
                Some(_) => Err(ProtocolError::Hixie76Frame(kind).into()),
            },
            other => Err(ProtocolError::Hixie76Frame(other).into()),
        }
    }

    fn scan_text(&mut self, buf: &[u8]) -> Result<Status<Frame>, Error> {
        // The text, at most max_message_size bytes, and its end byte.
        let limit = buf.len().min(self.max_message_size.saturating_add(2));
        let from = self.scanned.max(1).min(limit);
        let window = &buf[from..limit];
        match window.iter().position(|&b| b == END) {
            Some(i) => {
                let end = from + i;
                self.utf8.feed(&buf[from..end])?;
                self.utf8.finish()?;
                self.scanned = 0;
                Ok(Status::Complete(Frame::Text { len: end + 1 }))
            }
            None => {
                self.utf8.feed(window)?;
                self.scanned = limit;
                if limit - 1 > self.max_message_size {
                    return Err(CapacityError::MessageTooBig {
                        max: self.max_message_size,
                    }
                    .into());
                }
                Ok(Status::Partial)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every frame of `wire`, scanned from a buffer that grows by `step`
    /// bytes at a time, as text (`None` for the closing frame).
    fn frames(wire: &[u8], max: usize, step: usize) -> Result<Vec<Option<String>>, Error> {
        let mut scanner = FrameScanner::new(max);
        let mut out = Vec::new();
        let (mut start, mut have) = (0, 0);
        while start < wire.len() {
            have = (have + step).min(wire.len());
            while let Status::Complete(frame) = scanner.scan(&wire[start..have])? {
                out.push(match frame {
                    Frame::Text { len } => {
                        Some(String::from_utf8(wire[start + 1..start + len - 1].to_vec()).unwrap())
                    }
                    Frame::Close => None,
                });
                start += frame.len();
            }
            if have == wire.len() && start < wire.len() {
                return Ok(out); // an unfinished frame at the end
            }
        }
        Ok(out)
    }

    fn error_of(wire: &[u8], max: usize) -> Error {
        frames(wire, max, wire.len()).unwrap_err()
    }

    const WIRE: &[u8] = b"\x00hello\xff\x00\xff\x00h\xc3\xa9llo \xf0\x9f\x98\x80\xff\xff\x00";

    #[test]
    fn text_and_close_frames_are_found_at_every_split_point() {
        let expected = vec![
            Some("hello".to_owned()),
            Some(String::new()),
            Some("héllo 😀".to_owned()),
            None,
        ];
        for step in 1..=WIRE.len() {
            assert_eq!(frames(WIRE, 64, step).unwrap(), expected, "step {step}");
        }
        // Every single cut: Partial before it, then the same frames.
        for cut in 0..WIRE.len() {
            let mut scanner = FrameScanner::new(64);
            let mut start = 0;
            let mut seen = 0;
            for buf in [&WIRE[..cut], WIRE] {
                while let Status::Complete(frame) = scanner.scan(&buf[start..]).unwrap() {
                    start += frame.len();
                    seen += 1;
                }
            }
            assert_eq!((start, seen), (WIRE.len(), 4), "cut {cut}");
        }
    }

    #[test]
    fn what_a_server_sends() {
        assert_eq!(text_frame("héllo").concat(), b"\x00h\xc3\xa9llo\xff");
        assert_eq!(text_frame("").concat(), b"\x00\xff");
        assert_eq!(CLOSE, [0xFF, 0x00]);
    }

    #[test]
    fn text_without_its_end_byte_is_cut_off_at_the_limit() {
        let mut wire = vec![TEXT];
        wire.extend_from_slice(&[b'a'; 16]);
        // Exactly the limit: still waiting for 0xFF.
        let mut scanner = FrameScanner::new(16);
        assert_eq!(scanner.scan(&wire).unwrap(), Status::Partial);
        wire.push(END);
        assert_eq!(
            scanner.scan(&wire).unwrap(),
            Status::Complete(Frame::Text { len: 18 })
        );
        // One byte over, in pieces or at once: refused without looking further.
        wire.pop();
        wire.extend_from_slice(b"a, and a megabyte more");
        assert!(matches!(
            error_of(&wire, 16),
            Error::Capacity(CapacityError::MessageTooBig { max: 16 })
        ));
        assert!(matches!(
            frames(&wire, 16, 1).unwrap_err(),
            Error::Capacity(CapacityError::MessageTooBig { max: 16 })
        ));
    }

    #[test]
    fn only_text_and_close_frames_are_accepted() {
        for wire in [
            &b"\x01hi\xff"[..], // a sentinel frame of another type
            b"\x7f\xff",
            b"\x80\x02hi", // the length-prefixed form
            b"\xfe\x00",
            b"\xff\x05hello", // 0xFF with a length: not the closing frame
        ] {
            match error_of(wire, 64) {
                Error::Protocol(ProtocolError::Hixie76Frame(t)) => assert_eq!(t, wire[0]),
                other => panic!("{wire:?}: {other:?}"),
            }
        }
        // 0xFF alone is not yet anything.
        assert_eq!(FrameScanner::new(8).scan(b"\xff").unwrap(), Status::Partial);
    }

    #[test]
    fn invalid_utf8_fails_as_soon_as_it_arrives() {
        // 0xC3 0x28 cannot start valid text: no need to wait for 0xFF.
        let mut scanner = FrameScanner::new(64);
        assert_eq!(scanner.scan(b"\x00ok\xc3").unwrap(), Status::Partial);
        assert!(matches!(
            scanner.scan(b"\x00ok\xc3\x28"),
            Err(Error::Protocol(ProtocolError::InvalidUtf8))
        ));
        // A character cut short by the end byte.
        assert!(matches!(
            error_of(b"\x00\xe2\x82\xff", 64),
            Error::Protocol(ProtocolError::InvalidUtf8)
        ));
        // A surrogate, encoded.
        assert!(matches!(
            error_of(b"\x00\xed\xa0\x80\xff", 64),
            Error::Protocol(ProtocolError::InvalidUtf8)
        ));
    }
}
