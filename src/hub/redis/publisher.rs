//! The publisher: a bounded queue that client threads fill without ever
//! waiting, and one thread that empties it into Redis, many PUBLISH
//! commands per write (pipelined).
//!
//! Each entry is a finished RESP command (`PUBLISH channel envelope`),
//! encoded by the client thread that queued it: the payload is copied
//! once, and the publisher thread only writes bytes.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::{lock, Shared};
use crate::hub::backoff::Backoff;
use crate::hub::envelope::{encode, Body};
use crate::hub::sequence::Numbering;

/// At most this many commands go out in one write.
const BATCH: usize = 512;

/// How long Redis may take to answer a batch (through a `CLIENT PAUSE`
/// of a few seconds, say) before the link is taken as broken.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// The envelopes waiting for the publisher thread.
pub(super) struct Queue {
    state: Mutex<State>,
    ready: Condvar,
    max_messages: usize,
    max_bytes: usize,
}

struct State {
    commands: VecDeque<Vec<u8>>,
    bytes: usize,
    numbering: Numbering,
}

impl Queue {
    pub(super) fn new(max_messages: usize, max_bytes: usize) -> Queue {
        Queue {
            state: Mutex::new(State {
                commands: VecDeque::new(),
                bytes: 0,
                numbering: Numbering::default(),
            }),
            ready: Condvar::new(),
            max_messages,
            max_bytes,
        }
    }

    /// Numbers and queues `body` for `channel`; false when the queue is
    /// full (the number is used all the same, so receivers count the gap).
    pub(super) fn push(&self, channel: String, origin: &str, body: &Body) -> bool {
        let (mut command, envelope_at) = resp_publish(&channel, &encode(origin, 0, body));
        let seq_at = envelope_at + seq_offset(origin);
        let mut state = lock(&self.state);
        let seq = state.numbering.next(&channel);
        command[seq_at..seq_at + 8].copy_from_slice(&seq.to_be_bytes());
        self.enqueue(state, command)
    }

    /// Queues `body` without a sequence number (a wake-up for ourselves).
    pub(super) fn push_unnumbered(&self, channel: String, origin: &str, body: &Body) -> bool {
        let (command, _) = resp_publish(&channel, &encode(origin, 0, body));
        self.enqueue(lock(&self.state), command)
    }

    fn enqueue(&self, mut state: std::sync::MutexGuard<'_, State>, command: Vec<u8>) -> bool {
        let full = state.commands.len() >= self.max_messages
            || state.bytes + command.len() > self.max_bytes;
        if full {
            return false;
        }
        state.bytes += command.len();
        state.commands.push_back(command);
        drop(state);
        self.ready.notify_one();
        true
    }

    /// The number of envelopes waiting.
    pub(super) fn len(&self) -> usize {
        lock(&self.state).commands.len()
    }

    pub(super) fn wake_all(&self) {
        self.ready.notify_all();
    }

    /// Waits for envelopes (at most `wait`), then takes up to a batch.
    fn take(&self, wait: Duration) -> Vec<Vec<u8>> {
        let mut state = lock(&self.state);
        if state.commands.is_empty() {
            state = self
                .ready
                .wait_timeout(state, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let n = state.commands.len().min(BATCH);
        let batch: Vec<Vec<u8>> = state.commands.drain(..n).collect();
        state.bytes -= batch.iter().map(Vec::len).sum::<usize>();
        batch
    }
}

/// Where the sequence number sits in an envelope sent by `origin`.
fn seq_offset(origin: &str) -> usize {
    2 + 1 + origin.len()
}

/// `PUBLISH channel envelope` as RESP (RESP2 and RESP3 alike), and where
/// the envelope starts in it.
fn resp_publish(channel: &str, envelope: &[u8]) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(envelope.len() + channel.len() + 48);
    out.extend_from_slice(b"*3\r\n$7\r\nPUBLISH\r\n");
    let mut start = 0;
    for arg in [channel.as_bytes(), envelope] {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        start = out.len();
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    (out, start)
}

pub(super) fn start(shared: Arc<Shared>, link: redis::Connection) -> io::Result<JoinHandle<()>> {
    shared.counters.publisher_up.store(true, Ordering::Relaxed);
    thread::Builder::new()
        .name("stdws-redis-pub".into())
        .spawn(move || run(&shared, Some(link)))
}

fn run(shared: &Shared, mut link: Option<redis::Connection>) {
    let mut backoff = Backoff::default();
    let mut retry_at = Instant::now();
    let mut epoch = shared.counters.epoch.load(Ordering::SeqCst);
    let counters = &shared.counters;
    while !shared.stopping() {
        let batch = shared.queue.take(Duration::from_millis(500));
        if batch.is_empty() {
            continue;
        }
        if link.is_none() {
            // The subscriber got back in: Redis is back, do not wait.
            let now_epoch = counters.epoch.load(Ordering::SeqCst);
            if Instant::now() >= retry_at || now_epoch != epoch {
                epoch = now_epoch;
                match shared.open() {
                    Ok(l) => {
                        counters.reconnects.fetch_add(1, Ordering::Relaxed);
                        counters.publisher_up.store(true, Ordering::Relaxed);
                        log::info!("redis publisher: connected again");
                        link = Some(l);
                    }
                    Err(e) => {
                        log::debug!("redis publisher: {e}");
                        retry_at = Instant::now() + backoff.next_delay();
                    }
                }
            }
        }
        let Some(l) = link.as_mut() else {
            counters
                .dropped
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            continue;
        };
        match write_batch(l, &batch) {
            Ok(()) => {
                backoff.reset();
                counters
                    .published
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
            Err(e) => {
                // At-most-once: a batch whose fate is unknown is not sent
                // again; the receivers count what did not arrive.
                log::warn!("redis publisher: {e}; reconnecting");
                counters
                    .dropped
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                counters.publisher_up.store(false, Ordering::Relaxed);
                link = None;
                retry_at = Instant::now();
            }
        }
    }
}

/// Writes a batch in one go and reads its answers.
fn write_batch(link: &mut redis::Connection, batch: &[Vec<u8>]) -> redis::RedisResult<()> {
    link.set_write_timeout(Some(ANSWER_TIMEOUT))?;
    link.set_read_timeout(Some(ANSWER_TIMEOUT))?;
    link.send_packed_command(&batch.concat())?;
    for _ in batch {
        if let redis::Value::ServerError(e) = link.recv_response()? {
            return Err(e.into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::envelope::decode;
    use crate::message::Message;

    #[test]
    fn queued_commands_are_resp_publishes_numbered_per_channel_and_the_queue_is_bounded() {
        let queue = Queue::new(3, 1 << 20);
        let body = Body::Broadcast(Message::Binary(vec![1, 2]));
        assert!(queue.push("c:x".into(), "n.1", &body));
        assert!(queue.push("c:y".into(), "n.1", &body));
        assert!(queue.push("c:x".into(), "n.1", &body));
        assert!(!queue.push("c:x".into(), "n.1", &body), "full");
        assert_eq!(queue.len(), 3);
        let batch = queue.take(Duration::ZERO);
        assert_eq!(queue.len(), 0);
        let seqs: Vec<u64> = batch
            .iter()
            .map(|command| {
                let text = String::from_utf8_lossy(command);
                assert!(
                    text.starts_with("*3\r\n$7\r\nPUBLISH\r\n$3\r\nc:"),
                    "{text}"
                );
                let (_, at) = resp_publish("c:x", &encode("n.1", 0, &body));
                let envelope = decode(&command[at..command.len() - 2]).unwrap();
                assert_eq!(envelope.body, body);
                envelope.seq
            })
            .collect();
        assert_eq!(seqs, [1, 1, 2]);
        assert!(queue.push("c:x".into(), "n.1", &body));
        let next = queue.take(Duration::ZERO);
        let (_, at) = resp_publish("c:x", &encode("n.1", 0, &body));
        assert_eq!(
            decode(&next[0][at..next[0].len() - 2]).unwrap().seq,
            4,
            "3 was dropped"
        );
    }

    #[test]
    fn the_queue_is_bounded_in_bytes_too() {
        let queue = Queue::new(100, 1000);
        let big = Body::Broadcast(Message::Binary(vec![0; 600]));
        assert!(queue.push("c".into(), "n.1", &big));
        assert!(!queue.push("c".into(), "n.1", &big));
    }
}
