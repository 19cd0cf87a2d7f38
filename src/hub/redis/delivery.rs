//! The delivery thread: serves to the local clients what the subscriber
//! thread read from Redis, in the order it was read.
//!
//! Reading and serving on two threads is what lets fan-out batch without
//! waiting: while one batch goes out, the reader keeps reading; what piled
//! up meanwhile is taken at once, and consecutive publishes to one topic
//! reach each subscriber in one write (one send system call for N
//! messages instead of N). A lone message is served as soon as it arrives.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::Shared;
use crate::hub::envelope::Body;
use crate::hub::{ConnectionId, LocalNode, NodeId};
use crate::message::Message;

/// Envelopes read but not served yet: past this the reader waits (as it
/// did when it served them itself), and Redis buffers for it.
const BACKLOG: usize = 4096;

/// The most envelopes served as one batch.
const BATCH: usize = 256;

/// How long the thread waits for work before it looks at the stop flag.
const IDLE_STEP: Duration = Duration::from_millis(250);

/// An envelope from another node, as the delivery thread serves it.
pub(super) struct Item {
    pub(super) origin: NodeId,
    /// The topic of a publish.
    pub(super) topic: Option<String>,
    pub(super) body: Body,
}

pub(super) fn start(shared: Arc<Shared>) -> std::io::Result<(SyncSender<Item>, JoinHandle<()>)> {
    let (tx, rx) = std::sync::mpsc::sync_channel(BACKLOG);
    let thread = thread::Builder::new()
        .name("stdws-redis-deliver".into())
        .spawn(move || run(&shared, &rx))?;
    Ok((tx, thread))
}

fn run(shared: &Shared, rx: &Receiver<Item>) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        match rx.recv_timeout(IDLE_STEP) {
            Ok(item) => batch.push(item),
            Err(RecvTimeoutError::Timeout) if !shared.stopping() => continue,
            Err(_) => return,
        }
        // Only what is already here: a batch never waits to fill.
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
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
