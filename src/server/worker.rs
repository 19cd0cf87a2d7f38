//! A client's own thread: from the accepted socket to `on_close`.
//!
//! ```text
//!  accept ─► [TLS] ─► read head ─► [auth (401)] ──plain GET/HEAD──► file / console / 404 ─► end
//!   (deadline timer armed)                   │
//!                                            └─upgrade─► validate (400/405/426) ─► route (404)
//!                                ─► origin (403) ─► Handler::handshake (any status)
//!                                ─► register in Clients ─► 101 ─► queued frames
//!                                ─► on_open ─► events … ─► unregister ─► on_error? ─► on_close
//! ```

use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::client::{Client, ClientParts};
use super::files::{self, Site};
use super::handler::Handler;
use super::idle::IdleRelease;
use super::link::{Link, LinkOptions, LinkTransport, LocalEnd};
use super::router::origin_allowed;
use super::timer::Timers;
use super::Inner;
use crate::duplex::{Duplex, DuplexReader, DuplexStream, TlsOutput};
use crate::error::{Error, Timeout};
use crate::frame::{HeaderRules, OpCode, Role};
use crate::handshake::server::Reject;
use crate::message::{truncate_reason, CloseCode, CloseFrame};
use crate::protocol::Event;
use crate::read::FrameReader;
use crate::session::{assemble, no_status, Ending, Session};
use crate::stream::Stream;
use crate::upgrade::{agree, write_before, Agreed, ServerHandshake};
use crate::write::FrameWriter;

/// Time past the handshake deadline after which the socket is shut down
/// (the 408 answer goes out first).
const HANDSHAKE_GRACE: Duration = Duration::from_millis(500);

/// An upgraded client, ready to talk.
struct Opened {
    client: Client,
    link: Arc<Link>,
    session: Session<LinkTransport>,
    handler: Arc<dyn Handler>,
}

/// Runs one accepted connection to its end.
pub(crate) fn run(inner: &Arc<Inner>, duplex: Arc<Duplex>, peer: SocketAddr, id: u64) {
    let deadline = Instant::now() + inner.config.handshake_timeout;
    let handshaking = Arc::new(AtomicBool::new(true));
    {
        // The whole handshake (TLS, head, hook, 101) has one deadline. Reads
        // and writes time out at it (and answer 408); should anything else
        // hold the thread (a TLS backend, a hook), the socket is shut down
        // a moment later, whatever the thread is blocked on.
        let duplex = Arc::downgrade(&duplex);
        let handshaking = Arc::clone(&handshaking);
        inner.timers.schedule(deadline + HANDSHAKE_GRACE, move || {
            if handshaking.load(Ordering::SeqCst) {
                if let Some(d) = duplex.upgrade() {
                    d.shutdown(Shutdown::Both);
                }
            }
        });
    }
    let opened = open(inner, duplex, peer, id, deadline, &handshaking);
    handshaking.store(false, Ordering::SeqCst);
    if let Some(opened) = opened {
        converse(inner, opened);
    }
}

fn open(
    inner: &Arc<Inner>,
    duplex: Arc<Duplex>,
    peer: SocketAddr,
    id: u64,
    deadline: Instant,
    handshaking: &AtomicBool,
) -> Option<Opened> {
    let config = &inner.config;
    let early = match &inner.acceptor {
        Some(acceptor) => match acceptor.accept(duplex.tcp(), deadline) {
            Ok(established) => {
                duplex.install_tls(established.session);
                established.plaintext
            }
            Err(e) => {
                log::debug!("{peer}: TLS handshake failed: {e}");
                return None;
            }
        },
        None => Vec::new(),
    };
    let stream = DuplexStream::new(DuplexReader::new(Arc::clone(&duplex), early));
    let mut pending = match ServerHandshake::read_until(stream, config.clone(), deadline) {
        Ok(pending) => pending,
        Err(e) => {
            log::debug!("{peer}: {e}");
            return None;
        }
    };
    let refuse = |pending: ServerHandshake<DuplexStream>, reject: Reject| {
        let error = pending.reject(reject);
        log::debug!("{peer}: {error}");
    };
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
    pending.request_mut().set_user(user.clone());
    let request = pending.request();
    if !request.is_upgrade() {
        handshaking.store(false, Ordering::SeqCst);
        let site = Site {
            console: inner.console,
            root: inner.root.as_ref(),
            is_route: inner.router.has_route(request.path()),
            write_timeout: config.write_timeout,
        };
        files::respond(&site, pending);
        return None;
    }
    if let Err(e) = request.validate() {
        refuse(pending, Reject::from(e));
        return None;
    }
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
    let agreed = match agree(request, admission.accept, config) {
        Ok(agreed) => agreed,
        Err(e) => {
            log::error!("{peer}: handshake hook: {e}");
            refuse(pending, Reject::new(500, "server error"));
            return None;
        }
    };
    let Agreed {
        response,
        protocol,
        extensions,
    } = agreed;
    let (mut stream, request, leftover) = pending.into_parts();

    let mut rules = HeaderRules::new(Role::Server, config.max_frame_size);
    rules.allowed_rsv = extensions.rsv;
    let mut reader = FrameReader::new(rules);
    reader.buf.preload(&leftover);
    let transforms = !extensions.encoders.is_empty();
    let (incoming, outgoing, policy) = assemble(
        Role::Server,
        config,
        reader,
        FrameWriter::default(),
        extensions.encoders,
        extensions.decoders,
    );
    let options = LinkOptions {
        cap: config.max_write_buffer,
        transforms,
        close_timeout: config.close_timeout,
        timers: Some(Arc::downgrade(&inner.timers)),
        name: format!("stdws-client-{id}"),
    };
    let link = Link::new(Arc::clone(&duplex), outgoing, options, true);
    let client = Client::new(ClientParts {
        id,
        peer,
        request,
        user,
        protocol,
        extensions: extensions.names,
        data: admission.data,
        link: Arc::downgrade(&link),
        clients: inner.clients.clone(),
    });
    // Registered before the 101 goes out: a broadcast that starts once the
    // client has its 101 reaches it; frames sent meanwhile wait in the
    // link's queue and follow the 101.
    inner.clients.insert(client.clone());
    let written = write_before(&mut stream, &response, deadline)
        .and_then(|()| {
            stream.set_read_timeout(config.read_timeout)?;
            stream.set_write_timeout(config.write_timeout)?;
            Ok(())
        })
        .and_then(|()| link.handshake_written());
    handshaking.store(false, Ordering::SeqCst);
    if let Err(e) = written {
        log::debug!("{peer}: sending 101: {e}");
        inner.clients.remove(id);
        link.abandon();
        return None;
    }

    let mut reader = stream.into_reader();
    let output: Weak<dyn TlsOutput> = Arc::downgrade(&link) as Weak<Link>;
    reader.set_tls_output(output);
    let reply = {
        let handler = Arc::clone(&handler);
        let client = client.clone();
        move |frame: Option<&CloseFrame>| handler.passive_close(&client, frame)
    };
    let transport = LinkTransport {
        link: Arc::clone(&link),
        reader,
        close_reply: Some(Box::new(reply)),
    };
    Some(Opened {
        client,
        link,
        session: Session {
            transport,
            incoming,
            policy,
            ending: Ending::Open,
        },
        handler,
    })
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

fn converse(inner: &Inner, opened: Opened) {
    let Opened {
        client,
        link,
        mut session,
        handler,
    } = opened;
    if inner.stopping.load(Ordering::SeqCst) {
        let _ = client.close(CloseCode::GOING_AWAY, "server shutting down");
    }
    if let Some(interval) = inner.config.ping_interval {
        keep_alive(&inner.timers, &link, interval, inner.config.pong_timeout);
    }
    let failed = |e: Error| {
        if matches!(e, Error::Closed) && link.is_closing() {
            // A send raced with the end of the connection, whose cause is
            // reported when the loop ends.
            return;
        }
        handler.on_error(&client, &e);
        let code = e.close_code().unwrap_or(CloseCode::INTERNAL_ERROR);
        let _ = client.close(code, truncate_reason(&e.to_string()));
    };
    if let Err(e) = handler.on_open(&client) {
        failed(e);
    }
    let mut idle = IdleRelease::new(&inner.config);
    idle.arm(&mut session);
    let end = loop {
        if link.has_failed() {
            break End::Local;
        }
        let event = session.next_event();
        match &event {
            Err(e) if e.is_timeout() && idle.timed_out(&mut session) => continue,
            Err(_) => {}
            Ok(_) => idle.woke(&mut session),
        }
        let result = match event {
            // After our close frame, data is dropped (RFC 6455 §1.4: the
            // closing side reads on only to find the peer's close).
            Ok(Event::Message(_)) if link.is_closing() => Ok(()),
            Ok(Event::Message(message)) => handler.on_message(&client, message),
            Ok(Event::Ping(payload)) => handler.on_ping(&client, &payload),
            Ok(Event::Pong(payload)) => handler.on_pong(&client, &payload),
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
    drop(session);
    if let Some(e) = error {
        handler.on_error(&client, &e);
    }
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
