//! The gateway's connections by id: what the control API reaches and what
//! each client's thread keeps between hooks.
//!
//! A connection enters the registry as its connect hook is called, so the
//! application can address it as soon as it knows its id (also from inside
//! the connect hook); a refusal takes it out again. Until the client's thread has the [`Client`]
//! (`on_open`), sends wait in the entry (bounded as the client's own queue
//! is) and a close is remembered; both are carried out, in order, at open.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use serde_json::{json, Map, Value};

use super::time::rfc3339;
use crate::{CapacityError, Client, CloseCode, Error, Message};

/// Who ended a connection, as the close hook reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Initiator {
    Client,
    Server,
    Error,
}

impl Initiator {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Initiator::Client => "client",
            Initiator::Server => "server",
            Initiator::Error => "error",
        }
    }
}

/// Why a send to a connection did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SendError {
    /// The connection is gone (or going).
    Gone,
    /// Its queue is full: it is being closed as a slow reader.
    QueueFull,
}

/// One connection.
pub(crate) struct Conn {
    pub(crate) id: String,
    pub(crate) path: String,
    pub(crate) user: Option<String>,
    pub(crate) connected_at: SystemTime,
    /// Bytes that may wait for a client not yet open.
    queue_cap: usize,
    state: Mutex<State>,
    seq: AtomicU64,
    messages_in: AtomicU64,
    messages_out: AtomicU64,
    /// Milliseconds since the Unix epoch.
    last_active: AtomicU64,
    /// Its close hook is owed (set once accepted, taken once).
    close_owed: AtomicBool,
}

#[derive(Default)]
struct State {
    client: Option<Client>,
    opened: bool,
    /// Sends before open, in order, and their bytes.
    pending: Vec<Message>,
    pending_bytes: usize,
    /// Topics asked for before open (then the server's, on the client).
    pending_topics: BTreeSet<String>,
    meta: Map<String, Value>,
    /// A close the gateway (or the application) asked for: the code and
    /// reason the close hook reports.
    local_close: Option<(CloseCode, String, Initiator)>,
    /// Something failed (on_error ran).
    errored: bool,
}

/// Who a connection is, for its registry entry.
pub(crate) struct ConnInfo {
    pub(crate) id: String,
    pub(crate) path: String,
    pub(crate) user: Option<String>,
}

impl Conn {
    fn new(info: ConnInfo, queue_cap: usize) -> Conn {
        let now = SystemTime::now();
        Conn {
            id: info.id,
            path: info.path,
            user: info.user,
            connected_at: now,
            queue_cap,
            state: Mutex::new(State::default()),
            seq: AtomicU64::new(1),
            messages_in: AtomicU64::new(0),
            messages_out: AtomicU64::new(0),
            last_active: AtomicU64::new(millis(now)),
            close_owed: AtomicBool::new(true),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next hook's `Stdws-Seq` (connect was 0).
    pub(crate) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// A message came from the client.
    pub(crate) fn received(&self) {
        self.messages_in.fetch_add(1, Ordering::Relaxed);
        self.touch();
    }

    fn touch(&self) {
        self.last_active
            .store(millis(SystemTime::now()), Ordering::Relaxed);
    }

    /// The connect hook accepted: its meta.
    pub(crate) fn accept(&self, meta: Map<String, Value>) {
        self.state().meta = meta;
    }

    /// The connect hook refused: no close hook is owed, and what was sent
    /// meanwhile is dropped.
    pub(crate) fn forget(&self) {
        self.close_owed.store(false, Ordering::SeqCst);
        let mut state = self.state();
        state.opened = true;
        state.pending.clear();
    }

    /// The client's thread has its handle: what waited goes out.
    pub(crate) fn open(&self, client: &Client) {
        let mut state = self.state();
        state.opened = true;
        for message in std::mem::take(&mut state.pending) {
            if client.send(message).is_ok() {
                self.messages_out.fetch_add(1, Ordering::Relaxed);
            }
        }
        state.pending_bytes = 0;
        for topic in std::mem::take(&mut state.pending_topics) {
            if let Err(e) = client.subscribe(&topic) {
                log::warn!("connection {}: topic {topic:?}: {e}", self.id);
            }
        }
        if let Some((code, reason, _)) = &state.local_close {
            let _ = client.close(*code, reason);
        }
        state.client = Some(client.clone());
    }

    /// True once `open` ran.
    pub(crate) fn is_open(&self) -> bool {
        self.state().opened
    }

    /// Sends to the client (or queues until it is open).
    pub(crate) fn send(&self, message: &Message) -> Result<(), SendError> {
        let mut state = self.state();
        if state.local_close.is_some() {
            return Err(SendError::Gone);
        }
        match &state.client {
            Some(client) => match client.send(message.clone()) {
                Ok(()) => {}
                Err(Error::Capacity(CapacityError::WriteBufferFull { .. })) => {
                    return Err(SendError::QueueFull)
                }
                Err(_) => return Err(SendError::Gone),
            },
            None if state.opened => return Err(SendError::Gone),
            None => {
                if state.pending_bytes + message.len() > self.queue_cap {
                    return Err(SendError::QueueFull);
                }
                state.pending_bytes += message.len();
                state.pending.push(message.clone());
            }
        }
        self.messages_out.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Counts a message that went out another way (a broadcast).
    pub(crate) fn sent(&self) {
        self.messages_out.fetch_add(1, Ordering::Relaxed);
    }

    /// Closes the client with `code` and `reason`, which its close hook
    /// will carry. A second close keeps the first.
    pub(crate) fn close(&self, code: CloseCode, reason: &str, initiator: Initiator) {
        let mut state = self.state();
        if state.local_close.is_some() {
            return;
        }
        state.local_close = Some((code, reason.to_owned(), initiator));
        if let Some(client) = &state.client {
            let _ = client.close(code, reason);
        }
    }

    pub(crate) fn errored(&self) {
        self.state().errored = true;
    }

    /// The close hook's code, reason and initiator, given what the server
    /// reported; `None` when the hook was already sent. Lets go of the
    /// client (the client's data holds this entry).
    pub(crate) fn ending(
        &self,
        code: CloseCode,
        reason: &str,
    ) -> Option<(CloseCode, String, Initiator)> {
        if !self.close_owed.swap(false, Ordering::SeqCst) {
            return None;
        }
        let mut state = self.state();
        state.client = None;
        state.pending.clear();
        if let Some(local) = state.local_close.clone() {
            return Some(local);
        }
        let initiator = if state.errored || code == CloseCode::ABNORMAL {
            Initiator::Error
        } else {
            Initiator::Client
        };
        Some((code, reason.to_owned(), initiator))
    }

    /// Its topics: the server's, once open.
    pub(crate) fn topics(&self) -> Vec<String> {
        let state = self.state();
        match &state.client {
            Some(client) => client.topics(),
            None => state.pending_topics.iter().cloned().collect(),
        }
    }

    pub(crate) fn has_topic(&self, topic: &str) -> bool {
        self.topics().iter().any(|t| t == topic)
    }

    /// Subscribes (`true`) or unsubscribes (a topic the server refuses,
    /// empty or too long, is an error).
    pub(crate) fn set_topic(&self, topic: &str, on: bool) -> Result<(), Error> {
        let mut state = self.state();
        match (&state.client, on) {
            (Some(client), true) => client.subscribe(topic).map(drop),
            (Some(client), false) => {
                client.unsubscribe(topic);
                Ok(())
            }
            (None, true) => {
                state.pending_topics.insert(topic.to_owned());
                Ok(())
            }
            (None, false) => {
                state.pending_topics.remove(topic);
                Ok(())
            }
        }
    }

    /// The control API's view: `GET /connections/{id}`.
    pub(crate) fn to_json(&self) -> Value {
        let topics = self.topics();
        let state = self.state();
        let queued = state
            .client
            .as_ref()
            .map_or(state.pending_bytes, Client::queued_bytes);
        let last = std::time::UNIX_EPOCH
            + std::time::Duration::from_millis(self.last_active.load(Ordering::Relaxed));
        json!({
            "id": self.id,
            "path": self.path,
            "user": self.user,
            "topics": topics,
            "meta": state.meta,
            "connected_at": rfc3339(self.connected_at),
            "last_active_at": rfc3339(last),
            "messages_in": self.messages_in.load(Ordering::Relaxed),
            "messages_out": self.messages_out.load(Ordering::Relaxed),
            "queued_bytes": queued,
        })
    }
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

/// Every connection of one gateway.
pub(crate) struct Registry {
    map: Mutex<HashMap<String, Arc<Conn>>>,
    /// This gateway's part of every id: ids from two gateways (or two runs
    /// of one) never collide.
    node: String,
    next: AtomicU64,
    queue_cap: usize,
}

impl Registry {
    pub(crate) fn new(queue_cap: usize) -> Registry {
        let node: u64 = rand::random();
        Registry {
            map: Mutex::new(HashMap::new()),
            node: format!("{:012x}", node & 0xffff_ffff_ffff),
            next: AtomicU64::new(1),
            queue_cap,
        }
    }

    fn map(&self) -> MutexGuard<'_, HashMap<String, Arc<Conn>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new connection id: URL-safe, never reused.
    pub(crate) fn new_id(&self) -> String {
        format!(
            "{}-{}",
            self.node,
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }

    pub(crate) fn insert(&self, info: ConnInfo) -> Arc<Conn> {
        let conn = Arc::new(Conn::new(info, self.queue_cap));
        self.map().insert(conn.id.clone(), Arc::clone(&conn));
        conn
    }

    pub(crate) fn remove(&self, id: &str) {
        self.map().remove(id);
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<Conn>> {
        self.map().get(id).cloned()
    }

    /// Every connection now, oldest first.
    pub(crate) fn list(&self) -> Vec<Arc<Conn>> {
        let mut all: Vec<Arc<Conn>> = self.map().values().cloned().collect();
        all.sort_by_key(|c| c.connected_at);
        all
    }

    pub(crate) fn len(&self) -> usize {
        self.map().len()
    }
}
