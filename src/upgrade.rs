//! The opening handshake over a blocking stream, under one deadline.
//!
//! [`read_head`] reads an HTTP head with the deadline of the whole
//! handshake (each read gets only the time that is left, so a client that
//! sends a byte every few seconds is still cut off at the deadline). The
//! server side is [`ServerHandshake`]: read the request, let the caller look
//! at it, then [`accept`](ServerHandshake::accept) or
//! [`reject`](ServerHandshake::reject) it.

use std::time::{Duration, Instant};

use crate::config::Config;
use crate::deadline::time_left;
use crate::error::{Error, HandshakeError, Timeout};
use crate::extension::{format_extensions, negotiate_server, Extensions};
use crate::frame::{Role, Status};
use crate::handshake::hixie76::{self, Keys};
use crate::handshake::server::{response_101, Accept, Reject, Request};
use crate::handshake::{HeadError, HeadLimits, HeadScanner};
use crate::stream::Stream;
use crate::websocket::WebSocket;

/// Bytes read per call while reading a head.
const HEAD_CHUNK: usize = 2048;

/// A head read from a stream: `buf[..head_len]` is the head, the rest came
/// after it.
pub(crate) struct Head {
    pub(crate) buf: Vec<u8>,
    pub(crate) len: usize,
    pub(crate) scanner: HeadScanner,
}

impl Head {
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    pub(crate) fn leftover(&self) -> &[u8] {
        &self.buf[self.len..]
    }
}

/// Reads an HTTP head before `deadline`, enforcing `limits`; a broken cap
/// becomes `over_cap(which)` (a 431 for a server, an invalid response for
/// a client, an invalid reply for a proxy). The stream's read timeout is
/// left set to the time that was left at the last read.
pub(crate) fn read_head<S: Stream + ?Sized, E: Into<Error>>(
    stream: &mut S,
    limits: HeadLimits,
    deadline: Instant,
    over_cap: fn(HeadError) -> E,
) -> Result<Head, Error> {
    let mut scanner = HeadScanner::new(limits);
    let mut buf = Vec::new();
    loop {
        stream.set_read_timeout(Some(time_left(deadline)?))?;
        let filled = buf.len();
        buf.resize(filled + HEAD_CHUNK, 0);
        let n = match stream.read(&mut buf[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => 0,
            Err(e) => return Err(Error::from_io(e, Timeout::Handshake)),
        };
        buf.truncate(filled + n);
        if n == 0 && buf.len() == filled {
            if Instant::now() >= deadline {
                return Err(Error::Timeout(Timeout::Handshake));
            }
            return Err(HandshakeError::ConnectionClosed.into());
        }
        match scanner.scan(&buf) {
            Ok(Status::Complete(len)) => return Ok(Head { buf, len, scanner }),
            Ok(Status::Partial) => {}
            Err(e) => return Err(over_cap(e).into()),
        }
    }
}

/// What the server agreed to for a valid upgrade request: the 101
/// response and the negotiated subprotocol and extensions.
pub(crate) struct ServerAgreement {
    pub(crate) response: Vec<u8>,
    pub(crate) protocol: Option<String>,
    pub(crate) extensions: Extensions,
}

/// Negotiates extensions for a request that passed [`Request::validate`]
/// and builds the 101 response (RFC 6455 §4.2.2). A subprotocol in
/// `accept` must be one the client asked for.
pub(crate) fn agree(
    request: &Request,
    accept: Accept,
    config: &Config,
) -> Result<ServerAgreement, Error> {
    check_protocol(request, &accept)?;
    let extensions = negotiate_server(&config.extensions, &request.extensions());
    let ext_header = (!extensions.names.is_empty()).then(|| format_extensions(&extensions.names));
    let response = response_101(request, &accept, ext_header.as_deref());
    Ok(ServerAgreement {
        response,
        protocol: accept.protocol,
        extensions,
    })
}

/// Builds the 101 for a hixie-76 request that passed
/// [`hixie76::validate`] (draft §5.2): no extensions in that protocol; the
/// location is `wss://` when `secure`. A subprotocol in `accept` must be
/// one the client asked for.
pub(crate) fn agree_hixie76(
    request: &Request,
    accept: Accept,
    keys: Keys,
    key3: &[u8; hixie76::KEY3_LEN],
    secure: bool,
) -> Result<ServerAgreement, Error> {
    check_protocol(request, &accept)?;
    let response = hixie76::response_101(request, &accept, secure, &keys.answer(key3));
    Ok(ServerAgreement {
        response,
        protocol: accept.protocol,
        extensions: Extensions::default(),
    })
}

fn check_protocol(request: &Request, accept: &Accept) -> Result<(), Error> {
    match &accept.protocol {
        Some(p) if !request.protocols().contains(&p.as_str()) => Err(Error::Usage(
            "accepted subprotocol was not requested by the client",
        )),
        _ => Ok(()),
    }
}

/// A server handshake in progress: the request has been read, the answer
/// not yet written.
///
/// ```no_run
/// use stdws::{ServerHandshake, Accept, Reject, Config};
/// let (stream, _) = std::net::TcpListener::bind("127.0.0.1:0")?.accept()?;
/// let pending = ServerHandshake::read(stream, Config::default())?;
/// let ws = if pending.request().path() == "/chat" {
///     pending.accept(Accept::new())?
/// } else {
///     return Err(pending.reject(Reject::new(404, "no such resource")));
/// };
/// # Ok::<(), stdws::Error>(())
/// ```
pub struct ServerHandshake<S> {
    stream: S,
    config: Config,
    request: Request,
    leftover: Vec<u8>,
    deadline: Instant,
}

impl<S: Stream> ServerHandshake<S> {
    /// Reads and parses the request head, with
    /// [`Config::handshake_timeout`] for the whole handshake from now. On
    /// failure the matching error page (400, 408 or 431) is sent before the
    /// error is returned. The request is not checked yet: a plain HTTP GET
    /// is returned as well, for the caller to serve or refuse.
    pub fn read(stream: S, config: Config) -> Result<ServerHandshake<S>, Error> {
        let deadline = Instant::now() + config.handshake_timeout;
        ServerHandshake::read_until(stream, config, deadline)
    }

    /// As [`read`](Self::read), with an explicit deadline (a server that
    /// counts the handshake from the TCP accept).
    pub fn read_until(
        mut stream: S,
        config: Config,
        deadline: Instant,
    ) -> Result<ServerHandshake<S>, Error> {
        let parsed = read_head(
            &mut stream,
            HeadLimits::from_config(&config),
            deadline,
            HeadError::to_rejection,
        )
        .and_then(|head| {
            Ok((
                Request::parse(head.bytes(), &head.scanner)?,
                head.leftover().to_vec(),
            ))
        });
        match parsed {
            Ok((request, leftover)) => Ok(ServerHandshake {
                stream,
                config,
                request,
                leftover,
                deadline,
            }),
            Err(err) => {
                let reject = match &err {
                    Error::Timeout(_) => Some(Reject::new(408, "handshake not finished in time")),
                    Error::Handshake(HandshakeError::Rejected { status, reason }) => {
                        Some(Reject::new(*status, reason.clone()))
                    }
                    _ => None,
                };
                if let Some(reject) = reject {
                    let _ = send_page(&mut stream, &reject.to_bytes());
                    if let Error::Timeout(_) = err {
                        return Err(HandshakeError::rejected(408, reject.reason).into());
                    }
                }
                Err(err)
            }
        }
    }

    /// The request.
    pub fn request(&self) -> &Request {
        &self.request
    }

    pub(crate) fn request_mut(&mut self) -> &mut Request {
        &mut self.request
    }

    /// The configuration the connection will get.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// When the handshake must be finished.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Checks the request (RFC 6455 §4.2.1), negotiates extensions and
    /// answers 101. A request that fails the checks gets its error page
    /// (400, 405 or 426) and the error is returned. A subprotocol in
    /// `accept` must be one the client asked for.
    pub fn accept(mut self, accept: Accept) -> Result<WebSocket<S>, Error> {
        if let Err(e) = self.request.validate() {
            return Err(self.reject(Reject::from(e)));
        }
        let agreed = agree(&self.request, accept, &self.config)?;
        self.write_before_deadline(&agreed.response)?;
        let mut ws = WebSocket::from_raw(self.stream, Role::Server, self.config, &self.leftover);
        ws.set_agreed(agreed.protocol, agreed.extensions);
        ws.request = Some(Box::new(self.request));
        ws.apply_timeouts()?;
        Ok(ws)
    }

    /// Sends the error page for `reject` and returns the matching
    /// [`HandshakeError::Rejected`] (as an [`Error`], to return or log).
    pub fn reject(mut self, reject: Reject) -> Error {
        // At the deadline (a 408, or a hook that took all the time) the
        // page still gets its short chance, as in `read_until`.
        let written = if Instant::now() >= self.deadline {
            send_page(&mut self.stream, &reject.to_bytes())
        } else {
            self.write_before_deadline(&reject.to_bytes())
        };
        if let Err(e) = written {
            log::debug!("could not send the {} page: {e}", reject.status);
        }
        HandshakeError::Rejected {
            status: reject.status,
            reason: reject.reason,
        }
        .into()
    }

    /// Writes any response (a file, a redirect) and returns the stream, for
    /// servers that also speak plain HTTP on the same port.
    pub fn respond(mut self, bytes: &[u8]) -> Result<S, Error> {
        self.write_before_deadline(bytes)?;
        Ok(self.stream)
    }

    /// The bytes read after the head so far.
    pub(crate) fn after_head(&self) -> &[u8] {
        &self.leftover
    }

    /// Reads until at least `n` bytes followed the head (a hixie-76
    /// request's key3), before the handshake's deadline: 408 at the
    /// deadline, 400 when the client ends the stream first.
    pub(crate) fn read_body(&mut self, n: usize) -> Result<(), HandshakeError> {
        let mut chunk = [0u8; 64];
        while self.leftover.len() < n {
            let read = time_left(self.deadline)
                .and_then(|left| Ok(self.stream.set_read_timeout(Some(left))?))
                .and_then(|()| {
                    self.stream
                        .read(&mut chunk)
                        .map_err(|e| Error::from_io(e, Timeout::Handshake))
                });
            match read {
                Ok(0) => {
                    return Err(HandshakeError::rejected(
                        400,
                        format!("the request ended before its {n}-byte body"),
                    ))
                }
                Ok(got) => self.leftover.extend_from_slice(&chunk[..got]),
                Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.is_timeout() => {
                    return Err(HandshakeError::rejected(
                        408,
                        "handshake not finished in time",
                    ))
                }
                Err(_) => return Err(HandshakeError::ConnectionClosed),
            }
        }
        Ok(())
    }

    /// The stream, the request and the bytes read after it.
    pub fn into_parts(self) -> (S, Request, Vec<u8>) {
        (self.stream, self.request, self.leftover)
    }

    fn write_before_deadline(&mut self, bytes: &[u8]) -> Result<(), Error> {
        write_before(&mut self.stream, bytes, self.deadline)
    }
}

/// Writes an error page once the handshake's time is up: best effort,
/// within a second (the peer may be gone or not reading).
fn send_page<S: Stream + ?Sized>(stream: &mut S, bytes: &[u8]) -> Result<(), Error> {
    stream.set_write_timeout(Some(Duration::from_secs(1)))?;
    stream
        .write_all(bytes)
        .and_then(|()| stream.flush())
        .map_err(|e| Error::from_io(e, Timeout::Handshake))
}

/// Writes a handshake response, all of it before `deadline`.
pub(crate) fn write_before<S: Stream + ?Sized>(
    stream: &mut S,
    bytes: &[u8],
    deadline: Instant,
) -> Result<(), Error> {
    stream.set_write_timeout(Some(time_left(deadline)?))?;
    stream
        .write_all(bytes)
        .map_err(|e| Error::from_io(e, Timeout::Handshake))?;
    stream
        .flush()
        .map_err(|e| Error::from_io(e, Timeout::Handshake))
}
