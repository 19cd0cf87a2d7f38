//! Hixie-76 frames over a blocking reader: the events a server's client
//! thread sees, from one buffer that never holds more than one frame and
//! a read.
//!
//! A text frame has no length to allocate from: the buffer grows with the
//! bytes that arrive, and the scanner refuses the frame once it holds
//! `max_message_size` bytes of text without the end byte. A read that times
//! out leaves everything in place; the next call carries on.

use std::io::{self, Read};

use super::frame::{Frame, FrameScanner};
use crate::error::{Error, Timeout};
use crate::frame::Status;
use crate::message::Message;
use crate::protocol::Event;
use crate::read::eof;

/// Bytes asked for per read.
const READ_CHUNK: usize = 8 << 10;

/// Reads hixie-76 frames and turns them into events.
#[derive(Debug)]
pub(crate) struct Hixie76Reader {
    scanner: FrameScanner,
    buf: Vec<u8>,
    /// Where the current frame starts in `buf`.
    start: usize,
}

impl Hixie76Reader {
    /// A reader for text up to `max_message_size` bytes; `early` are bytes
    /// that arrived behind the handshake.
    pub(crate) fn new(max_message_size: usize, early: &[u8]) -> Hixie76Reader {
        Hixie76Reader {
            scanner: FrameScanner::new(max_message_size),
            buf: early.to_vec(),
            start: 0,
        }
    }

    /// The next text message, or the peer's closing frame as
    /// `Event::Close(None)` (hixie-76 carries no close code).
    pub(crate) fn next_event<R: Read + ?Sized>(&mut self, r: &mut R) -> Result<Event, Error> {
        loop {
            match self.scanner.scan(&self.buf[self.start..])? {
                Status::Complete(Frame::Text { len }) => {
                    let text = &self.buf[self.start + 1..self.start + len - 1];
                    // The scanner validated every byte of it, in order.
                    let text = crate::utf8::into_string(text.to_vec(), text.len())?;
                    self.start += len;
                    return Ok(Event::Message(Message::Text(text)));
                }
                Status::Complete(Frame::Close) => {
                    self.start += Frame::Close.len();
                    return Ok(Event::Close(None));
                }
                Status::Partial => self.fill(r)?,
            }
        }
    }

    /// Reads once behind the current frame, dropping the frames before it.
    fn fill<R: Read + ?Sized>(&mut self, r: &mut R) -> Result<(), Error> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let filled = self.buf.len();
        self.buf.resize(filled + READ_CHUNK, 0);
        let read = loop {
            match r.read(&mut self.buf[filled..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => break other,
            }
        };
        let n = *read.as_ref().unwrap_or(&0);
        self.buf.truncate(filled + n);
        match read {
            Ok(0) => Err(eof()),
            Ok(_) => Ok(()),
            Err(e) => Err(Error::from_io(e, Timeout::Read)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{CapacityError, ProtocolError};

    /// A stream that gives `step` bytes per read, then a timeout once,
    /// then the rest, then the end.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        step: usize,
        timed_out: bool,
        max_asked: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.max_asked = self.max_asked.max(buf.len());
            if !self.timed_out && self.at > 0 {
                self.timed_out = true;
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = self.step.min(buf.len()).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn trickle(data: &[u8], step: usize) -> Trickle {
        Trickle {
            data: data.to_vec(),
            at: 0,
            step,
            timed_out: false,
            max_asked: 0,
        }
    }

    fn events(reader: &mut Hixie76Reader, r: &mut Trickle) -> Vec<Event> {
        let mut out = Vec::new();
        loop {
            match reader.next_event(r) {
                Ok(e) => out.push(e),
                Err(e) if e.is_timeout() => {}
                Err(Error::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => return out,
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn messages_and_close_arrive_in_any_pieces_across_a_timeout() {
        let wire = b"\x00one\xff\x00\xe2\x82\xac two\xff\xff\x00";
        for step in 1..=wire.len() {
            // The first bytes came with the handshake.
            let mut reader = Hixie76Reader::new(64, &wire[..1]);
            let got = events(&mut reader, &mut trickle(&wire[1..], step));
            assert_eq!(
                got,
                vec![
                    Event::Message(Message::Text("one".into())),
                    Event::Message(Message::Text("€ two".into())),
                    Event::Close(None),
                ],
                "step {step}"
            );
        }
    }

    #[test]
    fn a_frame_without_its_end_is_refused_at_the_limit_with_bounded_memory() {
        let max = 100_000;
        let mut endless = vec![0u8];
        endless.resize(10 * max, b'a');
        let mut reader = Hixie76Reader::new(max, &[]);
        let mut r = trickle(&endless, READ_CHUNK);
        let error = loop {
            match reader.next_event(&mut r) {
                Err(e) if e.is_timeout() => {}
                Err(e) => break e,
                Ok(e) => panic!("{e:?}"),
            }
        };
        assert!(matches!(
            error,
            Error::Capacity(CapacityError::MessageTooBig { max: 100_000 })
        ));
        // Read no further than the limit and one chunk.
        assert!(r.at <= max + 2 + READ_CHUNK, "read {} bytes", r.at);
        assert!(reader.buf.capacity() <= 2 * (max + 2 + READ_CHUNK));
    }

    #[test]
    fn a_bad_type_byte_is_an_error_with_its_byte() {
        let mut reader = Hixie76Reader::new(64, b"\x00ok\xff\x80\x05hello");
        let mut r = trickle(b"", 1);
        assert_eq!(
            reader.next_event(&mut r).unwrap(),
            Event::Message(Message::Text("ok".into()))
        );
        assert!(matches!(
            reader.next_event(&mut r),
            Err(Error::Protocol(ProtocolError::Hixie76Frame(0x80)))
        ));
    }
}
