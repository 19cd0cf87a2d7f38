//! The connection policy shared by [`Connection`](crate::Connection) and
//! the server's client threads: answering pings, the closing handshake in
//! both directions, failing the connection on a protocol error.
//!
//! The policy runs over a [`Transport`]: a read side used by one thread and
//! a write side ([`Outgoing`]) reached through [`Transport::with_out`]. A
//! `Connection` owns both halves of one stream ([`Owned`]); a server client
//! keeps its write side behind a lock so other threads can send while its
//! own thread is blocked reading.
//!
//! The closing handshake (RFC 6455 §7):
//!
//! ```text
//!  Open ──send close──► CloseSent ──peer's close──► Closed (server: FIN now;
//!   │                                                       client: wait for FIN)
//!   └──peer's close──► reply with its code ──────► Closed
//!   └──protocol error──► close 1002/1007/1009 ───► Closed (FIN, drain briefly)
//! ```

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::time::{Duration, Instant};

use crate::close_code::CloseCode;
use crate::close_frame::CloseFrame;
use crate::config::Config;
use crate::deadline::remaining;
use crate::error::{CapacityError, Error, Timeout};
use crate::extension::{Extensions, SendOptions};
use crate::frame::{FrameHeader, OpCode, Role};
use crate::hixie76::read::Hixie76Reader;
use crate::message::Message;
use crate::protocol::{Event, Limits, Receiver, Sender};
use crate::read::FrameReader;
use crate::write::{write_all_vectored, FrameWriter};

/// An observer of frames as they are sent or received: header and
/// (unmasked) payload. twspy's send and receive hooks.
pub type FrameHook = Box<dyn FnMut(&FrameHeader, &[u8]) + Send>;

/// Outstanding pings kept for matching pongs.
const MAX_PENDING_PINGS: usize = 16;

/// The read side: frames in, events out.
pub(crate) struct Incoming {
    pub(crate) reader: FrameReader,
    pub(crate) receiver: Receiver,
    pub(crate) hooks: Vec<FrameHook>,
    /// Set for a hixie-76 peer: its frames are read by this instead.
    /// Boxed: every other connection carries only the pointer.
    pub(crate) hixie76: Option<Box<Hixie76Reader>>,
}

impl Incoming {
    /// Reads until the next event. Resumable: after a timeout, the next
    /// call carries on inside the same frame.
    pub(crate) fn next_event<R: Read + ?Sized>(&mut self, r: &mut R) -> Result<Event, Error> {
        if let Some(hixie) = &mut self.hixie76 {
            return hixie.next_event(r);
        }
        loop {
            if !self.receiver.in_frame() {
                let header = self.reader.read_header(r)?;
                self.receiver.begin_frame(header)?;
            }
            while let Some((header, received, remaining)) =
                self.receiver.current().filter(|c| c.2 > 0)
            {
                let dest = self.receiver.payload_buf();
                let n = self
                    .reader
                    .read_payload(r, &header, received, remaining, dest)?;
                self.receiver.payload_arrived(n)?;
            }
            if !self.hooks.is_empty() {
                if let Some((header, _, _)) = self.receiver.current() {
                    let payload = self.receiver.frame_payload();
                    for hook in &mut self.hooks {
                        hook(&header, payload);
                    }
                }
            }
            if let Some(event) = self.receiver.end_frame()? {
                return Ok(event);
            }
        }
    }
}

/// Pings we sent and have not seen answered.
#[derive(Debug, Default)]
pub(crate) struct Pings {
    pending: VecDeque<(Vec<u8>, Instant)>,
    /// Round-trip time of the last matched ping.
    pub(crate) rtt: Option<Duration>,
    /// When the last pong (matched or not) arrived.
    pub(crate) last_pong: Option<Instant>,
}

impl Pings {
    fn sent(&mut self, payload: &[u8]) {
        if self.pending.len() == MAX_PENDING_PINGS {
            self.pending.pop_front();
        }
        self.pending.push_back((payload.to_vec(), Instant::now()));
    }

    /// Records a pong; true when it answers a ping we sent. A pong answers
    /// the ping with its payload and every older one (§5.5.3 lets a peer
    /// answer only the latest of several pings).
    pub(crate) fn pong(&mut self, payload: &[u8]) -> bool {
        let now = Instant::now();
        self.last_pong = Some(now);
        let Some(i) = self.pending.iter().position(|(p, _)| p == payload) else {
            return false;
        };
        let (_, sent) = self
            .pending
            .drain(..=i)
            .next_back()
            .expect("index in range");
        self.rtt = Some(now - sent);
        true
    }

    /// Pings sent and not yet answered.
    pub(crate) fn outstanding(&self) -> usize {
        self.pending.len()
    }
}

/// The write side: messages and control frames out, and what has been sent.
pub(crate) struct Outgoing {
    pub(crate) writer: FrameWriter,
    pub(crate) sender: Sender,
    pub(crate) close_sent: bool,
    /// Set when a write failed: the stream may hold half a frame.
    pub(crate) broken: bool,
    pub(crate) max_write_buffer: usize,
    pub(crate) pings: Pings,
    pub(crate) hooks: Vec<FrameHook>,
    pub(crate) framing: Framing,
}

/// How messages go on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// RFC 6455 frames.
    Rfc6455,
    /// Hixie-76: text between `0x00` and `0xFF`, no control frames but the
    /// closing `0xFF 0x00` (see [`crate::hixie76`]).
    Hixie76,
}

/// What a hixie-76 peer cannot be sent.
pub(crate) const HIXIE76_TEXT_ONLY: Error =
    Error::Usage("a hixie-76 client takes text messages only");
const HIXIE76_NO_CONTROL: Error = Error::Usage("a hixie-76 client has no pings or pongs");

impl Outgoing {
    pub(crate) fn new(writer: FrameWriter, sender: Sender, max_write_buffer: usize) -> Outgoing {
        Outgoing {
            writer,
            sender,
            close_sent: false,
            broken: false,
            max_write_buffer,
            pings: Pings::default(),
            hooks: Vec::new(),
            framing: Framing::Rfc6455,
        }
    }

    fn check_open(&self) -> Result<(), Error> {
        if self.close_sent || self.broken {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// Sends a data message (or queues it, with `buffered`).
    pub(crate) fn message<W: Write + ?Sized>(
        &mut self,
        w: &mut W,
        opcode: OpCode,
        payload: &[u8],
        options: &SendOptions,
        buffered: bool,
    ) -> Result<(), Error> {
        self.check_open()?;
        if self.framing == Framing::Hixie76 {
            return self.hixie76_text(w, opcode, payload);
        }
        if buffered && self.writer.buffered() + payload.len() > self.max_write_buffer {
            return Err(CapacityError::WriteBufferFull {
                max: self.max_write_buffer,
            }
            .into());
        }
        let Outgoing {
            writer,
            sender,
            hooks,
            broken,
            ..
        } = self;
        let result = sender.message(opcode, payload, options, |header, data| {
            for hook in hooks.iter_mut() {
                hook(header, data);
            }
            if buffered {
                writer.feed(header, data);
                Ok(())
            } else {
                writer
                    .write_frame(w, header, data)
                    .map_err(|e| Error::from_io(e, Timeout::Write))
            }
        });
        if matches!(result, Err(Error::Io(_) | Error::Timeout(_))) {
            *broken = true;
        }
        result
    }

    /// A text message to a hixie-76 peer, in one vectored write.
    fn hixie76_text<W: Write + ?Sized>(
        &mut self,
        w: &mut W,
        opcode: OpCode,
        payload: &[u8],
    ) -> Result<(), Error> {
        if opcode != OpCode::Text {
            return Err(HIXIE76_TEXT_ONLY);
        }
        let mut parts = [
            IoSlice::new(&[crate::hixie76::TEXT]),
            IoSlice::new(payload),
            IoSlice::new(&[crate::hixie76::END]),
        ];
        self.write_raw(w, &mut parts)
    }

    /// Writes bytes that are already a frame.
    fn write_raw<W: Write + ?Sized>(
        &mut self,
        w: &mut W,
        parts: &mut [IoSlice<'_>],
    ) -> Result<(), Error> {
        let result = write_all_vectored(w, parts).map_err(|e| Error::from_io(e, Timeout::Write));
        if result.is_err() {
            self.broken = true;
        }
        result
    }

    /// Sends a control frame (ping or pong).
    pub(crate) fn control<W: Write + ?Sized>(
        &mut self,
        w: &mut W,
        opcode: OpCode,
        payload: &[u8],
    ) -> Result<(), Error> {
        self.check_open()?;
        if self.framing == Framing::Hixie76 {
            return Err(HIXIE76_NO_CONTROL);
        }
        if payload.len() > crate::frame::MAX_CONTROL_PAYLOAD {
            return Err(Error::Usage("control frame payload longer than 125 bytes"));
        }
        if opcode == OpCode::Ping {
            self.pings.sent(payload);
        }
        self.write_control(w, opcode, payload)
    }

    fn write_control<W: Write + ?Sized>(
        &mut self,
        w: &mut W,
        opcode: OpCode,
        payload: &[u8],
    ) -> Result<(), Error> {
        let header = self.sender.header(opcode, payload.len());
        for hook in &mut self.hooks {
            hook(&header, payload);
        }
        let result = self
            .writer
            .write_frame(w, &header, payload)
            .map_err(|e| Error::from_io(e, Timeout::Write));
        if result.is_err() {
            self.broken = true;
        }
        result
    }

    /// Sends our close frame, once (`None`: an empty close frame).
    pub(crate) fn close<W: Write + ?Sized>(
        &mut self,
        w: &mut W,
        frame: Option<&CloseFrame>,
    ) -> Result<(), Error> {
        if self.close_sent {
            return Ok(());
        }
        if self.broken {
            return Err(Error::Closed);
        }
        if self.framing == Framing::Hixie76 {
            // No code or reason: the closing frame is two fixed bytes.
            self.close_sent = true;
            return self.write_raw(w, &mut [IoSlice::new(&crate::hixie76::CLOSE)]);
        }
        let mut payload = Vec::with_capacity(125);
        if let Some(f) = frame {
            f.encode_into(&mut payload);
        }
        self.close_sent = true;
        self.write_control(w, OpCode::Close, &payload)
    }

    /// Writes what was queued.
    pub(crate) fn flush<W: Write + ?Sized>(&mut self, w: &mut W) -> Result<(), Error> {
        let result = self
            .writer
            .flush(w)
            .map_err(|e| Error::from_io(e, Timeout::Write));
        if result.is_err() {
            self.broken = true;
        }
        result
    }
}

/// Both halves of a connection's stream, as the policy sees them.
pub(crate) trait Transport {
    /// The read half.
    type Reader: Read + ?Sized;

    /// The read half, for the thread that reads.
    fn reader(&mut self) -> &mut Self::Reader;

    /// Runs `f` with the write side (under its lock, if shared).
    fn with_out<T>(
        &mut self,
        f: impl FnOnce(&mut Outgoing, &mut dyn Write) -> Result<T, Error>,
    ) -> Result<T, Error>;

    /// Sets the read half's timeout.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()>;

    /// No more writes: FIN.
    fn shutdown_write(&mut self);

    /// The close frame that answers the peer's (RFC 6455 §5.5.1): by
    /// default its code echoed. A server may choose another (a
    /// passive-close hook).
    fn close_reply(&mut self, peer: Option<&CloseFrame>) -> Option<CloseFrame> {
        echo_close(peer)
    }
}

/// The usual answer to a close frame: the same code, no reason.
pub(crate) fn echo_close(peer: Option<&CloseFrame>) -> Option<CloseFrame> {
    peer.map(|f| CloseFrame::new(f.code, ""))
}

/// Limits and switches the policy needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    pub(crate) role: Role,
    pub(crate) auto_pong: bool,
    pub(crate) close_timeout: Duration,
    pub(crate) read_timeout: Option<Duration>,
}

/// How the connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Still open.
    Open,
    /// The closing handshake finished; the peer's close frame (None: no code).
    Closed(Option<CloseFrame>),
    /// The connection failed.
    Failed,
}

/// The policy over a transport.
pub(crate) struct Session<T: Transport> {
    pub(crate) transport: T,
    pub(crate) incoming: Incoming,
    pub(crate) policy: Policy,
    pub(crate) ending: Ending,
}

impl<T: Transport> Session<T> {
    /// The session of a connection past its opening handshake: its read
    /// side, write side and policy built from its configuration and
    /// negotiated extensions. `transport` gets the write side: a
    /// `Connection` owns it beside its stream, a link shares it between
    /// threads. Every session is built here.
    pub(crate) fn new(
        role: Role,
        config: &Config,
        reader: FrameReader,
        writer: FrameWriter,
        extensions: Extensions,
        transport: impl FnOnce(Outgoing) -> T,
    ) -> Session<T> {
        let limits = Limits {
            max_message_size: config.max_message_size,
            max_fragments: config.max_fragments,
        };
        let incoming = Incoming {
            reader,
            receiver: Receiver::new(limits, extensions.decoders),
            hooks: Vec::new(),
            hixie76: None,
        };
        let sender = Sender::new(role, extensions.encoders, config.fragment_size);
        let out = Outgoing::new(writer, sender, config.max_write_buffer);
        let policy = Policy {
            role,
            auto_pong: config.auto_pong,
            close_timeout: config.close_timeout,
            read_timeout: config.read_timeout,
        };
        Session {
            transport: transport(out),
            incoming,
            policy,
            ending: Ending::Open,
        }
    }

    /// The next message; pings and pongs are handled on the way.
    /// `Ok(None)`: the closing handshake is done.
    pub(crate) fn next_message(&mut self) -> Result<Option<Message>, Error> {
        loop {
            match self.next_event()? {
                Event::Message(message) => return Ok(Some(message)),
                Event::Close(_) => return Ok(None),
                Event::Ping(_) | Event::Pong(_) => {}
            }
        }
    }

    /// The peer's close frame once the closing handshake is done (1005
    /// when it carried no code); `None` before, or if the connection failed.
    pub(crate) fn close_frame(&self) -> Option<CloseFrame> {
        match &self.ending {
            Ending::Closed(frame) => Some(frame.clone().unwrap_or_else(no_status)),
            _ => None,
        }
    }

    /// True once the closing handshake is done or the connection failed.
    pub(crate) fn is_closed(&self) -> bool {
        self.ending != Ending::Open
    }

    /// The next event, with the policy applied: pings answered, the peer's
    /// close answered and the connection closed, errors turned into the
    /// right close frame. Timeouts leave the connection usable.
    pub(crate) fn next_event(&mut self) -> Result<Event, Error> {
        if self.ending != Ending::Open {
            return Err(Error::Closed);
        }
        let event = match self.incoming.next_event(self.transport.reader()) {
            Ok(event) => event,
            Err(e) if e.is_timeout() => return Err(e),
            Err(e) => return Err(self.fail(e)),
        };
        match &event {
            Event::Ping(payload) if self.policy.auto_pong => {
                let result = self.transport.with_out(|out, w| {
                    if out.close_sent {
                        Ok(())
                    } else {
                        out.write_control(w, OpCode::Pong, payload)
                    }
                });
                if let Err(e) = result {
                    return Err(self.fail(e));
                }
            }
            Event::Pong(payload) => {
                let _ = self
                    .transport
                    .with_out(|out, _| Ok(out.pings.pong(payload)));
            }
            Event::Close(frame) => self.peer_closed(frame.clone()),
            _ => {}
        }
        Ok(event)
    }

    /// The peer sent its close frame: answer it (echoing its code, §5.5.1)
    /// unless ours went first, then end the connection.
    fn peer_closed(&mut self, frame: Option<CloseFrame>) {
        let reply = self.transport.close_reply(frame.as_ref());
        let _ = self
            .transport
            .with_out(|out, w| out.close(w, reply.as_ref()));
        self.ending = Ending::Closed(frame);
        self.finish();
    }

    /// Ends the TCP connection after the closing handshake. The server
    /// closes first (§7.1.1); the client waits for that, within the close
    /// timeout, so the server keeps no TIME_WAIT.
    fn finish(&mut self) {
        if self.policy.role == Role::Client {
            self.drain(self.policy.close_timeout);
        }
        self.transport.shutdown_write();
    }

    /// Fails the connection (§7.1.7): our close frame with the error's code
    /// if the stream still works, then FIN, then a short drain so the
    /// close frame is not lost to a reset.
    pub(crate) fn fail(&mut self, error: Error) -> Error {
        if self.ending != Ending::Open {
            return error;
        }
        self.ending = Ending::Failed;
        if let Some(code) = error.close_code() {
            let reason = short_reason(&error);
            let frame = CloseFrame::new(code, reason);
            if self
                .transport
                .with_out(|out, w| out.close(w, Some(&frame)))
                .is_ok()
            {
                self.transport.shutdown_write();
                self.drain(self.policy.close_timeout.min(Duration::from_secs(2)));
                return error;
            }
        }
        // No close frame could go out (the transport failed, or the error
        // has no code): still nothing may follow our FIN, so later sends
        // answer `Closed` instead of writing to a shut stream.
        let _ = self.transport.with_out(|out, _| {
            out.broken = true;
            Ok(())
        });
        self.transport.shutdown_write();
        error
    }

    /// Reads and drops whatever still arrives, until the peer ends the
    /// stream or `limit` passes.
    fn drain(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut sink = [0u8; 4096];
        while let Some(left) = remaining(deadline) {
            if self.transport.set_read_timeout(Some(left)).is_err() {
                break;
            }
            match self.transport.reader().read(&mut sink) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }

    /// Starts the closing handshake and waits for the peer's close frame
    /// (messages that arrive meanwhile are dropped), within the close timeout.
    pub(crate) fn close(&mut self, frame: Option<&CloseFrame>) -> Result<(), Error> {
        if self.ending != Ending::Open {
            return Ok(());
        }
        if let Err(e) = self.transport.with_out(|out, w| out.close(w, frame)) {
            return Err(self.fail(e));
        }
        let deadline = Instant::now() + self.policy.close_timeout;
        loop {
            let Some(left) = remaining(deadline) else {
                self.ending = Ending::Failed;
                self.transport.shutdown_write();
                return Err(Error::Timeout(Timeout::Close));
            };
            self.transport.set_read_timeout(Some(left))?;
            match self.next_event() {
                Ok(Event::Close(_)) => return Ok(()),
                Ok(_) => {}
                Err(e) if e.is_timeout() => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Gives back the memory a quiet connection need not hold (the read
    /// buffer), unless a frame is half read; true if it did.
    pub(crate) fn release_idle_buffers(&mut self) -> bool {
        !self.incoming.receiver.in_frame() && self.incoming.reader.release()
    }

    /// Restores the configured read timeout (after a close or drain changed it).
    pub(crate) fn restore_read_timeout(&mut self) {
        let _ = self.transport.set_read_timeout(self.policy.read_timeout);
    }
}

/// A close reason for an error: its message, cut to fit a close frame.
fn short_reason(error: &Error) -> String {
    let text = match error {
        Error::Protocol(e) => e.to_string(),
        Error::Capacity(e) => e.to_string(),
        other => other.to_string(),
    };
    crate::close_frame::truncate_reason(&text).to_owned()
}

/// The close frame reported when the peer closed without a code (1005).
pub(crate) fn no_status() -> CloseFrame {
    CloseFrame::new(CloseCode::NO_STATUS, "")
}
