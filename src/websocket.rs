//! [`WebSocket`]: frames on a stream, after the opening handshake.
//!
//! This is the frame layer of twspy: [`send`](WebSocket::send) writes any
//! [`Frame`] (including invalid ones, on purpose), [`recv`](WebSocket::recv)
//! returns the next frame after checking its header against RFC 6455
//! (masking, opcodes, RSV bits, control frame rules, size limit). Nothing
//! here answers pings, reassembles messages or closes; that is
//! [`Connection`](crate::Connection)'s job.

use std::fmt;

use crate::config::Config;
use crate::error::{Error, Timeout};
use crate::extension::{ExtensionOffer, Extensions};
use crate::frame::{Frame, HeaderRules, Role};
use crate::handshake::client::Response;
use crate::handshake::server::Request;
use crate::mask::random_mask_key;
use crate::read::FrameReader;
use crate::stream::Stream;
use crate::write::FrameWriter;

/// A WebSocket on a stream `S`, past the opening handshake: frames in, frames out.
pub struct WebSocket<S> {
    pub(crate) stream: S,
    pub(crate) reader: FrameReader,
    pub(crate) writer: FrameWriter,
    pub(crate) role: Role,
    pub(crate) config: Config,
    pub(crate) protocol: Option<String>,
    pub(crate) extensions: Extensions,
    pub(crate) request: Option<Box<Request>>,
    pub(crate) response: Option<Box<Response>>,
}

impl<S: Stream> WebSocket<S> {
    /// Wraps a stream on which the opening handshake already happened (or
    /// is not needed, as in tests). `leftover` holds bytes already read
    /// past the handshake; they are read first.
    pub fn from_raw(stream: S, role: Role, config: Config, leftover: &[u8]) -> WebSocket<S> {
        let mut reader = FrameReader::new(HeaderRules::new(role, config.max_frame_size));
        reader.buf.preload(leftover);
        WebSocket {
            stream,
            reader,
            writer: FrameWriter::default(),
            role,
            config,
            protocol: None,
            extensions: Extensions::default(),
            request: None,
            response: None,
        }
    }

    /// The same WebSocket on another stream made from this one (the
    /// frame reader keeps what it has buffered).
    pub(crate) fn map_stream<T>(self, f: impl FnOnce(S) -> T) -> WebSocket<T> {
        WebSocket {
            stream: f(self.stream),
            reader: self.reader,
            writer: self.writer,
            role: self.role,
            config: self.config,
            protocol: self.protocol,
            extensions: self.extensions,
            request: self.request,
            response: self.response,
        }
    }

    /// Sets what a handshake agreed: subprotocol and extensions.
    pub(crate) fn set_agreed(&mut self, protocol: Option<String>, extensions: Extensions) {
        self.reader.rules.allowed_rsv = extensions.rsv;
        self.protocol = protocol;
        self.extensions = extensions;
    }

    /// Applies the configured read and write timeouts to the stream (after
    /// the handshake, which runs under its own deadline).
    pub(crate) fn apply_timeouts(&self) -> Result<(), Error> {
        self.stream.set_read_timeout(self.config.read_timeout)?;
        self.stream.set_write_timeout(self.config.write_timeout)?;
        Ok(())
    }

    /// Sends one frame as it is. In the client role a frame without a mask
    /// gets a fresh random key (RFC 6455 §5.3); set `mask` yourself to send
    /// a particular one. Nothing is checked: invalid frames go out as built.
    pub fn send(&mut self, frame: &Frame) -> Result<(), Error> {
        let mut header = frame.header();
        if self.role == Role::Client && header.mask.is_none() {
            header.mask = Some(random_mask_key());
        }
        self.writer
            .write_frame(&mut self.stream, &header, &frame.payload)
            .map_err(|e| Error::from_io(e, Timeout::Write))
    }

    /// Queues a frame without writing it; [`flush`](Self::flush) writes all
    /// queued frames in one go.
    pub fn feed(&mut self, frame: &Frame) -> Result<(), Error> {
        let mut header = frame.header();
        if self.role == Role::Client && header.mask.is_none() {
            header.mask = Some(random_mask_key());
        }
        self.writer.feed(&header, &frame.payload);
        Ok(())
    }

    /// Writes the queued frames.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.writer
            .flush(&mut self.stream)
            .map_err(|e| Error::from_io(e, Timeout::Write))
    }

    /// Receives the next frame, unmasked. The header is checked (mask bit
    /// for our role, reserved opcodes and bits, control frame rules,
    /// `max_frame_size`); the sequence of frames is not.
    pub fn recv(&mut self) -> Result<Frame, Error> {
        let header = self.reader.read_header(&mut self.stream)?;
        let mut payload = Vec::new();
        let mut received = 0;
        while received < header.payload_len {
            received += self.reader.read_payload(
                &mut self.stream,
                &header,
                received,
                header.payload_len - received,
                &mut payload,
            )? as u64;
        }
        Ok(Frame {
            fin: header.fin,
            rsv: header.rsv,
            opcode: header.opcode,
            mask: header.mask,
            payload,
        })
    }
}

impl<S> WebSocket<S> {
    /// Our role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The subprotocol agreed in the handshake.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The extensions agreed in the handshake, with their parameters.
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.extensions.names
    }

    /// The client's handshake request (server side).
    pub fn request(&self) -> Option<&Request> {
        self.request.as_deref()
    }

    /// The server's handshake response (client side).
    pub fn response(&self) -> Option<&Response> {
        self.response.as_deref()
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The underlying stream, mutably. Reading or writing it directly
    /// desynchronizes the frame stream.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// The stream, dropping any bytes read but not yet used.
    pub fn into_inner(self) -> S {
        self.stream
    }

    /// The stream and the bytes read from it but not yet used.
    pub fn into_parts(mut self) -> (S, Vec<u8>) {
        let rest = self.reader.buf.take_unconsumed();
        (self.stream, rest)
    }
}

impl<S> fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket")
            .field("role", &self.role)
            .field("protocol", &self.protocol)
            .field("extensions", &self.extensions.names)
            .finish_non_exhaustive()
    }
}
