//! Pushpin's WebSocket-over-HTTP protocol (`--websocket-over-http`): each
//! connection's events go to the upstream as `application/websocket-events`
//! POSTs to the client's own path under the upstream's prefix, and the
//! answer's events come back to the client, so a backend written for
//! Pushpin works unchanged.
//!
//! ```text
//!  client thread:  on_message/on_ping/on_pong ─► queue ─┐   (waits when full)
//!  relay thread:   ┌────────────────────────────────────┘
//!                  └► POST every queued event at once ─► answer's events ─► client
//! ```
//!
//! As with Pushpin: one request in flight per connection, and what arrives
//! meanwhile goes together in the next one; every request repeats the
//! handshake's headers and `Connection-Id`; `Set-Meta-*` in an answer makes
//! later requests carry `Meta-*` (the client's own `Meta-*` are dropped).
//! The OPEN answer accepts only as `200` with exactly
//! `Content-Type: application/websocket-events`; anything else reaches the
//! client as it is. The client's close goes to the upstream and the client
//! gets the upstream's CLOSE; an upstream that does not answer it has the
//! TCP connection dropped. DISCONNECT follows only an unclean end.
//! `Keep-Alive-Interval` (at least 20 s) asks for an empty request after
//! that much quiet. Not done: partial acceptance (`Content-Bytes-Accepted`)
//! and GRIP control messages (`Sec-WebSocket-Extensions: grip`).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread;
use std::time::{Duration, Instant};

use super::events::{self, Event, MEDIA_TYPE};
use super::hooks::{HookReply, HookRequest};
use super::registry::{Conn, Initiator};
use super::Shared;
use crate::{Client, CloseCode, CloseFrame, Message, Reject, Request};

/// Most bytes of events in one request (Pushpin's buffer).
const MAX_BATCH: usize = 200_000;

/// Most bytes waiting for the relay before the client's thread waits.
const MAX_QUEUE: usize = 1 << 20;

/// The shortest keep-alive interval an upstream may ask for (Pushpin's).
const MIN_KEEP_ALIVE: Duration = Duration::from_secs(20);

/// Handshake fields never repeated to the upstream: the HTTP framing of
/// the upgrade itself, and what the relay sets on its own.
const DROPPED: [&str; 10] = [
    "host",
    "connection",
    "upgrade",
    "accept",
    "connection-id",
    "content-length",
    "content-type",
    "transfer-encoding",
    "keep-alive",
    "te",
];

/// Answer fields that stay out of the 101 (the 101 has its own framing and
/// WebSocket fields).
const NOT_IN_101: [&str; 9] = [
    "content-length",
    "content-type",
    "keep-alive-interval",
    "connection",
    "upgrade",
    "transfer-encoding",
    "sec-websocket-accept",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
];

/// An answer's events and its header fields (names lower-case).
type Answer = (Vec<Event>, Vec<(String, String)>);

/// One connection's relay.
pub(crate) struct Relay {
    url: String,
    headers: Vec<(String, String)>,
    conn: Arc<Conn>,
    shared: Weak<Shared>,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Event>,
    queued: usize,
    meta: Vec<(String, String)>,
    keep_alive: Option<Duration>,
    client: Option<Client>,
    /// The client's close went out: the upstream's answer, once known
    /// (`Some(None)`: it did not answer with CLOSE).
    close_answer: Option<Option<CloseFrame>>,
    /// No more events will come.
    ended: bool,
}

/// What the OPEN answer accepted.
pub(crate) struct Opened {
    pub(crate) relay: Arc<Relay>,
    pub(crate) protocol: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
}

impl Relay {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn request(&self, events: &[Event]) -> HookRequest {
        let mut body = Vec::new();
        for event in events {
            events::encode(event, &mut body);
        }
        let mut headers = self.headers.clone();
        headers.push(("Accept".into(), MEDIA_TYPE.into()));
        headers.push(("Connection-Id".into(), self.conn.id.clone()));
        for (name, value) in &self.state().meta {
            headers.push((format!("Meta-{name}"), value.clone()));
        }
        HookRequest {
            url: self.url.clone(),
            content_type: MEDIA_TYPE,
            body,
            headers,
        }
    }

    /// Sends `events` and reads the answer's events (and its header
    /// fields); `Err(None)` when the upstream failed, `Err(Some)` when it
    /// answered with anything but events.
    fn exchange(&self, shared: &Shared, events: &[Event]) -> Result<Answer, Option<HookReply>> {
        let reply = match shared.hooks.call(&self.request(events)) {
            Ok(reply) => reply,
            Err(e) => {
                log::warn!("{}: {e}", self.url);
                return Err(None);
            }
        };
        // Exactly this media type, as Pushpin compares it (parameters make
        // it another type).
        if reply.status != 200 || reply.header("content-type") != Some(MEDIA_TYPE) {
            return Err(Some(reply));
        }
        let Ok(events) = events::decode(&reply.body) else {
            log::warn!("{}: malformed events", self.url);
            return Err(None);
        };
        let mut state = self.state();
        for (name, value) in &reply.headers {
            let Some(meta) = strip_prefix_ignore_case(name, "set-meta-") else {
                continue;
            };
            state.meta.retain(|(n, _)| !n.eq_ignore_ascii_case(meta));
            if !value.is_empty() {
                state.meta.push((meta.to_owned(), value.clone()));
            }
        }
        if let Some(secs) = reply.header("keep-alive-interval") {
            state.keep_alive = secs
                .parse::<u64>()
                .ok()
                .filter(|&s| s > 0)
                .map(|s| Duration::from_secs(s).max(MIN_KEEP_ALIVE));
        }
        Ok((events, reply.headers))
    }

    /// Queues an event from the client; waits while the queue is full
    /// (the client's thread: TCP backpressure).
    pub(crate) fn push(&self, event: Event) {
        let mut state = self.state();
        while state.queued > MAX_QUEUE && !state.ended {
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.queued += event.len();
        state.queue.push_back(event);
        self.changed.notify_all();
    }

    /// The client's close frame arrived: relays it and waits for the
    /// upstream's CLOSE, which the client gets back. `None`: the upstream
    /// did not answer it, and the connection has been dropped.
    pub(crate) fn client_closed(
        &self,
        frame: Option<&CloseFrame>,
        wait: Duration,
    ) -> Option<CloseFrame> {
        self.push(Event::Close(frame.cloned()));
        let deadline = Instant::now() + wait;
        let mut state = self.state();
        loop {
            let left = deadline.checked_duration_since(Instant::now());
            if state.close_answer.is_some() || left.is_none() {
                let answer = state.close_answer.clone().flatten();
                if answer.is_none() {
                    if let Some(client) = &state.client {
                        client.disconnect();
                    }
                }
                return answer;
            }
            let left = left.unwrap_or_default();
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// The connection is over (`clean`: after a closing handshake): an
    /// unclean end is told with DISCONNECT.
    pub(crate) fn ended(&self, clean: bool) {
        if !clean {
            self.push(Event::Disconnect);
        }
        let mut state = self.state();
        state.ended = true;
        state.client = None;
        self.changed.notify_all();
    }

    /// Starts the relay thread for the opened client.
    pub(crate) fn start(self: &Arc<Self>, client: &Client) {
        self.state().client = Some(client.clone());
        let relay = Arc::clone(self);
        let spawned = thread::Builder::new()
            .name(format!("stdws-relay-{}", self.conn.id))
            .stack_size(128 << 10)
            .spawn(move || relay.run());
        if let Err(e) = spawned {
            log::error!("cannot start a relay thread: {e}");
            self.conn
                .close(CloseCode::INTERNAL_ERROR, "server busy", Initiator::Error);
        }
    }

    /// The relay thread: one request at a time, every queued event in it.
    fn run(self: Arc<Self>) {
        loop {
            let batch = {
                let mut state = self.state();
                while state.queue.is_empty() && !state.ended {
                    let Some(every) = state.keep_alive else {
                        state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
                        continue;
                    };
                    let (next, timeout) = self
                        .changed
                        .wait_timeout(state, every)
                        .unwrap_or_else(|e| e.into_inner());
                    state = next;
                    if timeout.timed_out() && state.queue.is_empty() {
                        break;
                    }
                }
                if state.queue.is_empty() && state.ended {
                    return;
                }
                let mut batch = Vec::new();
                let mut bytes = 0;
                while let Some(event) = state.queue.front() {
                    if !batch.is_empty() && bytes + event.len() > MAX_BATCH {
                        break;
                    }
                    bytes += event.len();
                    batch.extend(state.queue.pop_front());
                }
                state.queued -= bytes;
                self.changed.notify_all();
                batch
            };
            let Some(shared) = self.shared.upgrade() else {
                return;
            };
            let closing = batch.iter().any(|e| matches!(e, Event::Close(_)));
            let last = batch.iter().any(|e| matches!(e, Event::Disconnect));
            let answer = self.exchange(&shared, &batch);
            let mut close_answer = None;
            match answer {
                Ok((events, _)) => {
                    for event in events {
                        match self.deliver(event, closing) {
                            Some(frame) => {
                                close_answer = Some(frame);
                                break;
                            }
                            None => continue,
                        }
                    }
                }
                Err(_) if last => {}
                Err(_) => {
                    // The upstream failed this connection (Pushpin ends it).
                    if !closing {
                        shared.failed(&self.conn);
                    }
                }
            }
            if closing {
                let mut state = self.state();
                state.close_answer = Some(close_answer);
                self.changed.notify_all();
            }
            if last {
                return;
            }
        }
    }

    /// Passes one event of the upstream's to the client; returns the
    /// upstream's CLOSE when it answers the client's.
    fn deliver(&self, event: Event, closing: bool) -> Option<CloseFrame> {
        let client = self.state().client.clone();
        match event {
            Event::Text(bytes) => match String::from_utf8(bytes) {
                Ok(text) => self.send(Message::Text(text)),
                Err(_) => log::warn!("{}: TEXT that is not UTF-8 dropped", self.url),
            },
            Event::Binary(bytes) => self.send(Message::Binary(bytes)),
            Event::Ping(payload) => {
                if let Some(client) = client {
                    let _ = client.ping(&payload);
                }
            }
            Event::Pong(payload) => {
                if let Some(client) = client {
                    let _ = client.pong(&payload);
                }
            }
            Event::Close(frame) if closing => {
                return Some(frame.unwrap_or_else(|| CloseFrame::new(CloseCode::NORMAL, "")));
            }
            Event::Close(frame) => {
                let frame = frame.unwrap_or_else(|| CloseFrame::new(CloseCode::NORMAL, ""));
                self.conn
                    .close(frame.code, &frame.reason, Initiator::Server);
            }
            Event::Disconnect => {
                if let Some(client) = client {
                    client.disconnect();
                }
            }
            Event::Open | Event::Other(_) => {}
        }
        None
    }

    fn send(&self, message: Message) {
        let _ = self.conn.send(&message);
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
        .filter(|rest| !rest.is_empty())
}

/// The OPEN exchange, inside the opening handshake.
pub(crate) fn open(
    shared: &Arc<Shared>,
    conn: &Arc<Conn>,
    request: &Request,
) -> Result<Opened, Reject> {
    let headers = request
        .headers
        .iter()
        .filter(|(name, _)| {
            let lower = name.to_ascii_lowercase();
            !DROPPED.contains(&lower.as_str()) && !lower.starts_with("meta-")
        })
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    let relay = Arc::new(Relay {
        url: format!("{}{}", shared.upstream, request.resource()),
        headers,
        conn: Arc::clone(conn),
        shared: Arc::downgrade(shared),
        state: Mutex::new(State::default()),
        changed: Condvar::new(),
    });
    let (events, reply_headers) = match relay.exchange(shared, &[Event::Open]) {
        Ok(answer) => answer,
        Err(Some(reply)) => return Err(as_is(reply)),
        Err(None) => return Err(Reject::new(502, "the upstream failed")),
    };
    let keep_alive = relay.state().keep_alive.is_some();
    let mut events = events.into_iter();
    match events.next() {
        Some(Event::Open) => {}
        None if keep_alive => {}
        _ => return Err(Reject::new(502, "the upstream did not answer OPEN")),
    }
    for event in events {
        // Events after OPEN follow the 101 (sends wait in the registry).
        relay.deliver(event, false);
    }
    // The 101 carries the upstream's fields (that is how it chooses a
    // subprotocol), less framing and the relay's own.
    let protocol = reply_headers
        .iter()
        .find(|(n, _)| n == "sec-websocket-protocol")
        .map(|(_, v)| v.clone());
    let headers = reply_headers
        .into_iter()
        .filter(|(n, _)| {
            !NOT_IN_101.contains(&n.as_str()) && strip_prefix_ignore_case(n, "set-meta-").is_none()
        })
        .collect();
    Ok(Opened {
        relay,
        protocol,
        headers,
    })
}

/// The upstream's refusal, passed on as it is (status, fields, body).
fn as_is(reply: HookReply) -> Reject {
    let mut reject = Reject::new(reply.status, "refused by the upstream");
    for (name, value) in &reply.headers {
        reject = reject.header(name.clone(), value.clone());
    }
    reply.refusal(reject)
}
