//! A client's own thread: from the accepted socket to `on_close`.
//!
//! ```text
//!  accept ─► [TLS] ─► read head ─► [auth (401)] ──plain GET/HEAD──► file / console / 404 ─► end
//!   (deadline timer armed)                   │
//!                                            └─upgrade─► validate (400/405/426;
//!                                  hixie-76 if enabled: its checks, key3) ─► route (404)
//!                                ─► origin (403) ─► Handler::handshake (any status)
//!                                ─► register in Clients ─► 101 ─► queued frames
//!                                ─► on_open ─► events … ─► unregister ─► on_error? ─► on_close
//! ```

use std::cell::Cell;
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::client::{Client, ClientParts};
use super::files::{self, Site};
use super::handler::Handler;
use super::idle::IdleRelease;
use super::logging;
use super::router::origin_allowed;
use super::stack::Stack;
use super::topics::check_topics;
use super::ServerState;
use crate::close_code::CloseCode;
use crate::close_frame::{truncate_reason, CloseFrame};
use crate::config::Config;
use crate::error::{Error, HandshakeError, Timeout};
use crate::frame::{OpCode, Role, Status};
use crate::handshake::hixie76;
use crate::handshake::server::Reject;
use crate::handshake::server::Request;
use crate::hixie76::read::Hixie76Reader;
use crate::hub::ConnectionId;
use crate::protocol::Event;
use crate::session::{no_status, Framing, Session};
use crate::stream::Stream;
use crate::transport::duplex::{Duplex, DuplexReader, DuplexStream};
use crate::transport::link::{FlusherName, Link, LocalEnd};
use crate::transport::link_session::{self, LinkSetup, LinkTransport};
use crate::transport::timer::{TimerKey, Timers};
use crate::upgrade::{agree, agree_hixie76, write_before, ServerAgreement, ServerHandshake};
use crate::websocket::WebSocket;

/// Time past the handshake deadline after which the socket is shut down
/// (the 408 answer goes out first).
const HANDSHAKE_GRACE: Duration = Duration::from_millis(500);

/// An upgraded client, ready to talk.
struct Opened {
    client: Client,
    /// Its link is `session.transport.link`.
    session: Session<LinkTransport>,
    handler: Arc<dyn Handler>,
}

/// Runs one accepted connection to its end.
pub(crate) fn run(
    inner: &Arc<ServerState>,
    duplex: Arc<Duplex>,
    peer: SocketAddr,
    id: ConnectionId,
    stack: Stack,
) {
    let deadline = Instant::now() + inner.config.handshake_timeout;
    let guard = HandshakeGuard::arm(&inner.timers, &duplex, deadline + HANDSHAKE_GRACE);
    let opened = handshake(inner, duplex, peer, &id, deadline, &guard)
        .and_then(|agreed| open(inner, agreed, peer, id, deadline, &guard));
    guard.disarm();
    if let Some(opened) = opened {
        converse(inner, opened, stack);
    }
}

/// The whole handshake (TLS, head, hook, 101) has one deadline. Reads and
/// writes time out at it (and answer 408); should anything else hold the
/// thread (a TLS backend, a hook), the timer thread shuts the socket down
/// a moment later, whatever the thread is blocked on, unless the guard
/// was disarmed first. Disarming cancels the timer, so its entry goes at
/// once, not when it would have fired.
struct HandshakeGuard<'a> {
    timers: &'a Timers,
    key: Cell<Option<TimerKey>>,
}

impl HandshakeGuard<'_> {
    fn arm<'a>(timers: &'a Arc<Timers>, duplex: &Arc<Duplex>, at: Instant) -> HandshakeGuard<'a> {
        let duplex = Arc::downgrade(duplex);
        let key = timers.schedule(at, move || {
            if let Some(d) = duplex.upgrade() {
                d.shutdown(Shutdown::Both);
            }
        });
        HandshakeGuard {
            timers,
            key: Cell::new(Some(key)),
        }
    }

    /// The handshake is over (or the connection no longer needs the
    /// deadline): the socket is left alone.
    fn disarm(&self) {
        if let Some(key) = self.key.take() {
            self.timers.cancel(key);
        }
    }
}

/// A client on its way from the handshake to the conversation, in one
/// allocation: `handshake` fills it with what was agreed, `open` puts the
/// opened connection in its place.
enum Stage {
    Agreed(Agreed),
    Opened(Opened),
    /// Between the two, while `open` works.
    Moving,
}

/// A handshake that is agreed on, its 101 not yet sent.
struct Agreed {
    /// The handshake's parts: its stream, request and the bytes read past
    /// the head (the handshake's copy of the configuration is not kept).
    stream: DuplexStream,
    request: Request,
    leftover: Vec<u8>,
    hixie76: bool,
    handler: Arc<dyn Handler>,
    data: Option<Box<dyn std::any::Any + Send + Sync>>,
    topics: Vec<String>,
    agreement: ServerAgreement,
}

// `handshake` and `open` run one after the other from `run`, each in a
// frame of its own (not inlined): the stack a client's thread touches is
// the deeper of the two, not their sum. What they hand on is boxed, so
// `run`'s own frame stays small: the deepest point of a handshake is under
// `open` (`Session::new`), about 10.3 KiB down in a release build. Those
// pages stay resident until the client is quiet for `idle_release`; then
// the pages below its wait go back (`stack.rs`), and the wait itself, about
// 7.4 KiB down, must stay within two pages of 4 KiB (hence `converse`
// works on the session in its box). One box, the `Stage`, carries both
// steps' results: two boxes would cost 0.6 KiB more for as long as the
// client is connected (the first, freed, stays in the thread's malloc
// cache).

/// TLS, the request, authentication, routing and the hook: what to answer.
/// `None` when the connection was answered otherwise (and is done).
#[inline(never)]
fn handshake(
    inner: &Arc<ServerState>,
    duplex: Arc<Duplex>,
    peer: SocketAddr,
    id: &ConnectionId,
    deadline: Instant,
    guard: &HandshakeGuard,
) -> Option<Box<Stage>> {
    let config = &inner.config;
    let plain_http_on_tls = inner.acceptor.is_some() && sends_plain_http(&duplex, deadline);
    let early = match &inner.acceptor {
        Some(_) if plain_http_on_tls => Vec::new(),
        Some(acceptor) => match acceptor.accept(duplex.tcp(), deadline) {
            Ok(established) => {
                duplex.install_tls(established.session);
                established.plaintext
            }
            Err(e) => {
                logging::tls_failed(peer, &e);
                return None;
            }
        },
        None => Vec::new(),
    };
    let stream = DuplexStream::new(DuplexReader::new(Arc::clone(&duplex), early));
    let mut pending = match ServerHandshake::read_until(stream, config.clone(), deadline) {
        Ok(pending) => pending,
        Err(e) => {
            logging::refused(peer, None, &e);
            return None;
        }
    };
    let refuse = |pending: ServerHandshake<DuplexStream>, reject: Reject| {
        let path = pending.request().path().to_owned();
        let error = pending.reject(reject);
        logging::refused(peer, Some(&path), &error);
    };
    if plain_http_on_tls {
        // A TLS library fails such a request without an answer (OpenSSL
        // sends no alert, so the client sees a reset); like nginx, answer
        // in HTTP, so curl, a browser or a ws:// client sees why.
        refuse(
            pending,
            Reject::new(400, "plain HTTP on a TLS port: use wss:// or https://"),
        );
        return None;
    }
    // Authentication comes first, for plain HTTP as for upgrades (RFC 6455
    // §4.1 lets a server answer 401 before the upgrade). The reason logged
    // names what failed, never the credentials.
    let user = match &inner.authenticator {
        Some(auth) => match auth.check(pending.request()) {
            Ok(user) => Some(user),
            Err(reject) => {
                refuse(pending, reject);
                return None;
            }
        },
        None => None,
    };
    pending.request_mut().set_user(user);
    pending
        .request_mut()
        .set_peer(peer, inner.acceptor.is_some());
    pending.request_mut().set_connection_id(id.text());
    let request = pending.request();
    if !request.is_upgrade() {
        guard.disarm();
        let site = Site {
            console: inner.console,
            root: inner.root.as_ref(),
            is_route: inner.router.has_route(request.path()),
            write_timeout: config.write_timeout,
        };
        files::respond(&site, pending);
        return None;
    }
    // Hixie-76 (opt-in) has its own checks and an 8-byte body, read under
    // the same deadline; without the option it fails `validate` with 426.
    let hixie76 = inner.hixie76 && request.is_hixie76();
    let checked = if hixie76 {
        hixie76::validate(request).and_then(|keys| {
            pending.read_body(hixie76::KEY3_LEN)?;
            match hixie76::key3(pending.after_head()) {
                Status::Complete((key3, _)) => Ok(Some((keys, key3))),
                Status::Partial => Err(HandshakeError::ConnectionClosed),
            }
        })
    } else {
        request.validate().map(|()| None)
    };
    let hixie76_keys = match checked {
        Ok(keys) => keys,
        Err(e) => {
            refuse(pending, Reject::from(e));
            return None;
        }
    };
    let request = pending.request();
    let Some(handler) = inner.router.find(request.path()).cloned() else {
        refuse(pending, Reject::new(404, "no such resource"));
        return None;
    };
    if !origin_allowed(inner.origins.as_deref(), request) {
        refuse(pending, Reject::new(403, "origin not allowed"));
        return None;
    }
    let admission = match handler.handshake(request) {
        Ok(admission) => admission,
        Err(reject) => {
            refuse(pending, reject);
            return None;
        }
    };
    if let Err(e) = check_topics(&admission.topics) {
        log::error!("{peer}: handshake hook: {e}");
        refuse(pending, Reject::new(500, "server error"));
        return None;
    }
    let agreed = match hixie76_keys {
        Some((keys, key3)) => {
            let secure = inner.acceptor.is_some();
            agree_hixie76(request, admission.accept, keys, &key3, secure)
        }
        None => agree(request, admission.accept, config),
    };
    let agreement = match agreed {
        Ok(agreement) => agreement,
        Err(e) => {
            log::error!("{peer}: handshake hook: {e}");
            refuse(pending, Reject::new(500, "server error"));
            return None;
        }
    };
    let (stream, request, leftover) = pending.into_parts();
    Some(Box::new(Stage::Agreed(Agreed {
        stream,
        request,
        leftover,
        hixie76,
        handler,
        data: admission.data,
        topics: admission.topics,
        agreement,
    })))
}

/// The link and session of an agreed handshake, the client registered and
/// its 101 sent.
#[inline(never)]
fn open(
    inner: &Arc<ServerState>,
    mut stage: Box<Stage>,
    peer: SocketAddr,
    id: ConnectionId,
    deadline: Instant,
    guard: &HandshakeGuard,
) -> Option<Box<Stage>> {
    let config = &inner.config;
    let Stage::Agreed(Agreed {
        stream,
        request,
        leftover,
        hixie76,
        handler,
        data,
        topics,
        agreement,
    }) = std::mem::replace(&mut *stage, Stage::Moving)
    else {
        return None;
    };
    let ServerAgreement {
        response,
        protocol,
        extensions,
    } = agreement;
    // A hixie-76 client's first frames follow key3, and go to its own reader.
    let (early, hixie76_early) = match hixie76 {
        true => (&[][..], Some(&leftover[hixie76::KEY3_LEN..])),
        false => (&leftover[..], None),
    };
    let mut ws = WebSocket::from_raw(stream, Role::Server, config.clone(), early);
    ws.set_agreed(protocol, extensions);
    let protocol = ws.protocol().map(str::to_owned);
    let extensions = ws.extensions().to_vec();
    let setup = LinkSetup {
        timers: Arc::downgrade(&inner.timers),
        name: FlusherName {
            prefix: "stdws-client",
            number: Some(id.number()),
        },
        handshaking: true,
    };
    let (link, mut session) = link_session::open(ws, setup);
    if let Some(early) = hixie76_early {
        speak_hixie76(&link, &mut session, early, config);
    }
    let client = Client::new(ClientParts {
        id,
        request,
        protocol,
        extensions,
        data,
        link: Arc::downgrade(&link),
        clients: inner.clients.clone(),
    });
    // Registered before the 101 goes out: a broadcast that starts once the
    // client has its 101 reaches it; frames sent meanwhile wait in the
    // link's queue and follow the 101.
    inner.clients.insert(client.clone());
    for topic in &topics {
        // Checked above: only a close racing with us can fail this.
        let _ = client.subscribe(topic);
    }
    let stream = &mut session.transport.stream;
    let written = write_before(stream, &response, deadline)
        .and_then(|()| {
            stream.set_read_timeout(session.policy.read_timeout)?;
            stream.set_write_timeout(config.write_timeout)?;
            Ok(())
        })
        .and_then(|()| link.handshake_written());
    guard.disarm();
    if let Err(e) = written {
        log::debug!("{peer}: sending 101: {e}");
        inner.clients.remove(client.id());
        link.abandon();
        return None;
    }
    let reply = {
        let handler = Arc::clone(&handler);
        let client = client.clone();
        move |frame: Option<&CloseFrame>| handler.passive_close(&client, frame)
    };
    session.transport.close_reply = Some(Box::new(reply));
    *stage = Stage::Opened(Opened {
        client,
        session,
        handler,
    });
    Some(stage)
}

/// Makes a session just opened speak hixie-76: its reader takes the
/// frames, its link sends text the old way and refuses what the protocol
/// cannot carry. Nobody has sent yet: the client is not registered.
///
/// Without pings a dead peer would hold its thread for ever: unless
/// `read_timeout` says otherwise, a hixie-76 client that sends nothing for
/// `ping_interval` + `pong_timeout` (the time a silent RFC 6455 client is
/// given) is let go as idle.
fn speak_hixie76(link: &Link, session: &mut Session<LinkTransport>, early: &[u8], config: &Config) {
    session.incoming.hixie76 = Some(Box::new(Hixie76Reader::new(config.max_message_size, early)));
    session.policy.read_timeout = config.read_timeout.or(config
        .ping_interval
        .map(|every| every + config.pong_timeout));
    let _ = link.with_out(|out, _| {
        out.framing = Framing::Hixie76;
        Ok(())
    });
}

/// How the conversation ended.
enum End {
    /// The peer's close frame arrived (after ours, or first).
    Peer(Option<CloseFrame>),
    /// We failed the connection (the link knows why).
    Local,
    /// Reading failed (the policy already sent the matching close frame).
    Error(Error),
}

#[inline(never)]
fn converse(inner: &ServerState, mut stage: Box<Stage>, stack: Stack) {
    // The session is worked on in its box: moved out, it would put half a
    // KiB more on this frame, which an idle client's read runs under (see
    // `stack.rs`: that read must stay within two pages).
    let Stage::Opened(opened) = &mut *stage else {
        return;
    };
    let client = opened.client.clone();
    let handler = Arc::clone(&opened.handler);
    let session = &mut opened.session;
    let link = Arc::clone(&session.transport.link);
    if inner.stopping.load(Ordering::SeqCst) {
        let _ = client.close(CloseCode::GOING_AWAY, "server shutting down");
    }
    // Hixie-76 has no pings: the idle timeout stands in (`speak_hixie76`).
    let pings = inner
        .config
        .ping_interval
        .filter(|_| !client.request().is_hixie76());
    if let Some(interval) = pings {
        keep_alive(&inner.timers, &link, interval, inner.config.pong_timeout);
    }
    let failed = |e: Error| {
        if matches!(e, Error::Closed) && link.is_closing() {
            // A send raced with the end of the connection, whose cause is
            // reported when the loop ends.
            return;
        }
        logging::failed(&client, &e);
        handler.on_error(&client, &e);
        let code = e.close_code().unwrap_or(CloseCode::INTERNAL_ERROR);
        let _ = client.close(code, truncate_reason(&e.to_string()));
    };
    let opened = Instant::now();
    logging::opened(&client);
    if let Err(e) = handler.on_open(&client) {
        failed(e);
    }
    let mut idle = IdleRelease::new(&inner.config, session.policy.read_timeout, stack);
    idle.arm(session);
    let end = loop {
        if link.has_failed() {
            break End::Local;
        }
        let event = session.next_event();
        match &event {
            Err(e) if e.is_timeout() && idle.timed_out(session) => continue,
            Err(_) => {}
            Ok(_) => idle.woke(session),
        }
        let result = match event {
            // After our close frame, data is dropped (RFC 6455 §1.4: the
            // closing side reads on only to find the peer's close).
            Ok(Event::Message(_)) if link.is_closing() => Ok(()),
            Ok(Event::Message(message)) => {
                logging::message(&client, &message);
                handler.on_message(&client, message)
            }
            Ok(Event::Ping(payload)) => {
                logging::control(&client, "ping", &payload);
                handler.on_ping(&client, &payload)
            }
            Ok(Event::Pong(payload)) => {
                logging::control(&client, "pong", &payload);
                handler.on_pong(&client, &payload)
            }
            Ok(Event::Close(frame)) => break End::Peer(frame),
            Err(e) if e.is_timeout() => {
                // Config::read_timeout: an idle client is let go.
                link.fail(LocalEnd {
                    frame: CloseFrame::new(CloseCode::GOING_AWAY, "idle timeout"),
                    error: Some(e),
                });
                break End::Local;
            }
            Err(e) => break End::Error(e),
        };
        if let Err(e) = result {
            failed(e);
        }
    };
    link.shutdown_write();
    inner.clients.remove(client.id());
    link.finish();
    let (frame, error) = match end {
        End::Peer(frame) => (frame.unwrap_or_else(no_status), None),
        End::Local | End::Error(_) if link.has_failed() => {
            let local = link.take_end().expect("failed link has an end");
            (local.frame, local.error)
        }
        End::Local => (CloseFrame::new(CloseCode::ABNORMAL, ""), None),
        End::Error(e) => {
            let frame = match e.close_code() {
                Some(code) => CloseFrame::new(code, truncate_reason(&e.to_string())),
                None => CloseFrame::new(CloseCode::ABNORMAL, ""),
            };
            (frame, Some(e))
        }
    };
    // The session goes (its socket with it) before `on_close`.
    *stage = Stage::Moving;
    if let Some(e) = error {
        logging::failed(&client, &e);
        handler.on_error(&client, &e);
    }
    logging::closed(&client, frame.code, &frame.reason, opened.elapsed());
    handler.on_close(&client, frame.code, &frame.reason);
}

/// Keep-alive (RFC 6455 §5.5.2): a ping every `interval`; a ping not
/// answered within `pong_timeout` fails the client with 1011.
fn keep_alive(timers: &Arc<Timers>, link: &Arc<Link>, interval: Duration, pong_timeout: Duration) {
    let beat = Beat {
        timers: Arc::downgrade(timers),
        link: Arc::downgrade(link),
        interval,
        pong_timeout,
    };
    timers.schedule(Instant::now() + interval, move || beat.ping());
}

struct Beat {
    timers: Weak<Timers>,
    link: Weak<Link>,
    interval: Duration,
    pong_timeout: Duration,
}

impl Beat {
    fn ping(self) {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let (Some(timers), Some(link)) = (self.timers.upgrade(), self.link.upgrade()) else {
            return;
        };
        if link.is_closing() {
            return;
        }
        let sent = Instant::now();
        let payload = COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes();
        if link.control(OpCode::Ping, &payload).is_err() {
            return;
        }
        timers.schedule(sent + self.pong_timeout, move || self.check(sent));
    }

    fn check(self, sent: Instant) {
        let (Some(timers), Some(link)) = (self.timers.upgrade(), self.link.upgrade()) else {
            return;
        };
        if link.pong_since(sent) {
            let next = (sent + self.interval).max(Instant::now());
            timers.schedule(next, move || self.ping());
        } else {
            link.fail(LocalEnd {
                frame: CloseFrame::new(CloseCode::INTERNAL_ERROR, "no pong"),
                error: Some(Error::Timeout(Timeout::Pong)),
            });
        }
    }
}

/// True when the first byte from a client of a TLS port is an HTTP
/// method's first letter: no TLS record starts with one (RFC 8446 §5.1).
fn sends_plain_http(duplex: &Duplex, deadline: Instant) -> bool {
    let tcp = duplex.tcp();
    let mut first = [0u8; 1];
    let waited = crate::deadline::time_left(deadline)
        .and_then(|left| Ok(tcp.set_read_timeout(Some(left))?))
        .and_then(|()| Ok(tcp.peek(&mut first)?));
    matches!(waited, Ok(1) if first[0].is_ascii_uppercase())
}
