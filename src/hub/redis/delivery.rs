//! The delivery thread: serves to the local clients what the subscriber
//! thread read from Redis, in the order it was read.
//!
//! Reading and serving on two threads is what lets fan-out batch without
//! waiting: while one batch goes out, the reader keeps reading; what piled
//! up meanwhile is taken at once, and consecutive publishes to one topic
//! reach each subscriber in one write (one send system call for N
//! messages instead of N). A lone message is served as soon as it arrives;
//! under load (the last batch held more than one envelope) the thread
//! lingers up to [`RedisHubBuilder::linger`](super::RedisHubBuilder::linger)
//! for more before it writes, trading at most that much latency for
//! fewer, fuller writes.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::{lock, Shared};
use crate::hub::envelope::Body;
use crate::hub::{Command, ConnectionId, LocalNode, NodeId};
use crate::message::Message;

/// Envelopes read but not served yet: past this many, or past
/// [`BACKLOG_BYTES`], the reader waits (as it did when it served them
/// itself) and Redis buffers for it.
const BACKLOG: usize = 4096;

/// The payload bytes of the envelopes read but not served yet.
const BACKLOG_BYTES: usize = 16 << 20;

/// The most envelopes served as one batch.
const BATCH: usize = 256;

/// How long either thread waits before it looks at the stop flag.
const STEP: Duration = Duration::from_millis(250);

/// An envelope from another node, as the delivery thread serves it.
pub(super) struct Item {
    pub(super) origin: NodeId,
    /// The topic of a publish.
    pub(super) topic: Option<String>,
    pub(super) body: Body,
}

impl Item {
    fn size(&self) -> usize {
        let payload = match &self.body {
            Body::Publish { message, .. }
            | Body::Broadcast(message)
            | Body::Command(Command::Send { message, .. }) => message.as_bytes().len(),
            _ => 0,
        };
        payload + std::mem::size_of::<Item>()
    }
}

/// The envelopes between the two threads, in the order they were read.
#[derive(Default)]
pub(super) struct Backlog {
    state: Mutex<(VecDeque<Item>, usize)>,
    changed: Condvar,
}

impl Backlog {
    /// Queues `item`; waits while the backlog is full (one item always
    /// fits, however large). False when the hub stops meanwhile.
    pub(super) fn push(&self, shared: &Shared, item: Item) -> bool {
        let size = item.size();
        let mut g = lock(&self.state);
        while !g.0.is_empty() && (g.0.len() >= BACKLOG || g.1 + size > BACKLOG_BYTES) {
            if shared.stopping() {
                return false;
            }
            g = self
                .changed
                .wait_timeout(g, STEP)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        g.0.push_back(item);
        g.1 += size;
        self.changed.notify_all();
        true
    }

    /// Moves what is queued (at most [`BATCH`]) to `batch`, waiting up to
    /// [`STEP`] for a first item; with `linger`, waits that much longer
    /// after the first item for more (less if [`BATCH`] fill sooner).
    fn take(&self, batch: &mut Vec<Item>, linger: Duration) {
        let mut g = lock(&self.state);
        if g.0.is_empty() {
            g = self
                .changed
                .wait_timeout(g, STEP)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        if !g.0.is_empty() && !linger.is_zero() {
            g = self
                .changed
                .wait_timeout_while(g, linger, |(queue, _)| queue.len() < BATCH)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let n = g.0.len().min(BATCH);
        let (queue, bytes) = &mut *g;
        for item in queue.drain(..n) {
            *bytes -= item.size();
            batch.push(item);
        }
        if n > 0 {
            self.changed.notify_all();
        }
    }
}

pub(super) fn start(shared: Arc<Shared>, backlog: Arc<Backlog>) -> std::io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name("stdws-redis-deliver".into())
        .spawn(move || run(&shared, &backlog))
}

fn run(shared: &Shared, backlog: &Backlog) {
    let mut batch = Vec::with_capacity(BATCH);
    // Lingering only under load: a lone message is never held.
    let mut loaded = false;
    while !shared.stopping() {
        let linger = if loaded {
            shared.linger
        } else {
            Duration::ZERO
        };
        backlog.take(&mut batch, linger);
        loaded = batch.len() > 1;
        if batch.is_empty() {
            continue;
        }
        match shared.local() {
            Some(local) => serve(shared, &*local, &mut batch),
            None => batch.clear(),
        }
    }
}

/// Serves `batch` in order: each run of publishes to one topic at once.
fn serve(shared: &Shared, local: &dyn LocalNode, batch: &mut Vec<Item>) {
    let mut items = batch.drain(..).peekable();
    while let Some(item) = items.next() {
        let counters = &shared.counters;
        match item.body {
            Body::Publish { except, message } => {
                let topic = item.topic.unwrap_or_default();
                let mut run: Vec<(Message, Option<ConnectionId>)> = vec![(message, except)];
                while let Some(next) = items.next_if(|n| {
                    n.topic.as_deref() == Some(topic.as_str())
                        && matches!(n.body, Body::Publish { .. })
                }) {
                    if let Body::Publish { except, message } = next.body {
                        run.push((message, except));
                    }
                }
                counters
                    .delivered
                    .fetch_add(run.len() as u64, Ordering::Relaxed);
                local.publish_batch(&topic, &run);
            }
            Body::Broadcast(message) => {
                counters.delivered.fetch_add(1, Ordering::Relaxed);
                local.broadcast(&message);
            }
            Body::Command(command) => {
                counters.delivered.fetch_add(1, Ordering::Relaxed);
                if let Err(e) = local.execute(command) {
                    log::debug!("redis subscriber: a command from {}: {e}", item.origin);
                }
            }
            Body::Wake => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn wake() -> Item {
        Item {
            origin: NodeId::new("n1").unwrap(),
            topic: None,
            body: Body::Wake,
        }
    }

    /// Queues `item` as the subscriber thread does (without its wait).
    fn push(backlog: &Backlog, item: Item) {
        let mut g = lock(&backlog.state);
        g.1 += item.size();
        g.0.push_back(item);
        backlog.changed.notify_all();
    }

    /// Pushes `n` items from another thread, one every `every`.
    fn push_later(backlog: &Arc<Backlog>, n: usize, every: Duration) -> JoinHandle<()> {
        let backlog = Arc::clone(backlog);
        thread::spawn(move || {
            for _ in 0..n {
                thread::sleep(every);
                push(&backlog, wake());
            }
        })
    }

    #[test]
    fn without_linger_a_batch_is_what_is_queued_now() {
        let backlog = Arc::new(Backlog::default());
        push(&backlog, wake());
        let late = push_later(&backlog, 1, Duration::from_millis(50));
        let mut batch = Vec::new();
        backlog.take(&mut batch, Duration::ZERO);
        assert_eq!(batch.len(), 1, "the lone item is served at once");
        late.join().unwrap();
        batch.clear();
        backlog.take(&mut batch, Duration::ZERO);
        assert_eq!(batch.len(), 1);
        assert_eq!(lock(&backlog.state).1, 0, "the byte count follows");
    }

    #[test]
    fn a_linger_gathers_what_arrives_meanwhile_and_stops_at_a_full_batch() {
        let backlog = Arc::new(Backlog::default());
        push(&backlog, wake());
        let more = push_later(&backlog, 3, Duration::from_millis(5));
        let mut batch = Vec::new();
        let started = Instant::now();
        backlog.take(&mut batch, Duration::from_secs(1));
        more.join().unwrap();
        // Only BATCH items end a linger early: it ran out, with all four.
        assert_eq!(batch.len(), 4);
        assert!(started.elapsed() >= Duration::from_secs(1));

        for _ in 0..BATCH + 10 {
            push(&backlog, wake());
        }
        let started = Instant::now();
        batch.clear();
        backlog.take(&mut batch, Duration::from_secs(10));
        assert_eq!(batch.len(), BATCH, "a full batch goes at once");
        assert!(started.elapsed() < Duration::from_secs(5));
        batch.clear();
        backlog.take(&mut batch, Duration::ZERO);
        assert_eq!(batch.len(), 10);
    }
}
