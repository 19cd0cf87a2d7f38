//! One timer thread for the whole server: keep-alive pings, pong and close
//! deadlines, handshake deadlines, reaping finished threads.
//!
//! Deadlines wait in a heap; the thread sleeps on a condition variable until
//! the earliest one (or until an earlier one is added), then runs its
//! action. No per-client sleeping thread, no polling, no read timeout used
//! as a clock: an action that must stop a blocked reader shuts its socket
//! down. Actions run on this thread and must not block.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

/// Something to do at a deadline.
pub(crate) type Action = Box<dyn FnOnce() + Send>;

struct Entry {
    at: Instant,
    /// Insertion order: equal deadlines run first come, first served.
    seq: u64,
    action: Action,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

#[derive(Default)]
struct State {
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
    stopped: bool,
}

/// The deadlines of one server.
#[derive(Default)]
pub(crate) struct Timers {
    state: Mutex<State>,
    wake: Condvar,
}

impl Timers {
    /// Starts the timer thread.
    pub(crate) fn start() -> std::io::Result<(Arc<Timers>, JoinHandle<()>)> {
        let timers = Arc::new(Timers::default());
        let runner = Arc::clone(&timers);
        let handle = std::thread::Builder::new()
            .name("stdws-timer".into())
            .stack_size(128 << 10)
            .spawn(move || runner.run())?;
        Ok((timers, handle))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `action` on the timer thread at `at` (at once if it has
    /// passed). Dropped unrun if the timers stop first.
    pub(crate) fn schedule(&self, at: Instant, action: impl FnOnce() + Send + 'static) {
        let mut state = self.lock();
        if state.stopped {
            return;
        }
        state.seq += 1;
        let seq = state.seq;
        let earliest = state.heap.peek().map_or(true, |Reverse(e)| at < e.at);
        state.heap.push(Reverse(Entry {
            at,
            seq,
            action: Box::new(action),
        }));
        if earliest {
            self.wake.notify_one();
        }
    }

    /// Stops the thread; pending actions are dropped without running.
    pub(crate) fn stop(&self) {
        let pending = {
            let mut state = self.lock();
            state.stopped = true;
            std::mem::take(&mut state.heap)
        };
        self.wake.notify_one();
        // Dropped outside the lock: an action may own sockets or handles.
        drop(pending);
    }

    fn run(&self) {
        let mut state = self.lock();
        loop {
            if state.stopped {
                return;
            }
            let now = Instant::now();
            match state.heap.peek() {
                None => state = self.wake.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(Reverse(first)) if first.at <= now => {
                    let Reverse(entry) = state.heap.pop().expect("peeked");
                    drop(state);
                    (entry.action)();
                    state = self.lock();
                }
                Some(Reverse(first)) => {
                    let wait = first.at - now;
                    state = self
                        .wake
                        .wait_timeout(state, wait)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn actions_run_in_deadline_order_not_insertion_order() {
        let (timers, handle) = Timers::start().unwrap();
        let (tx, rx) = mpsc::channel();
        let now = Instant::now();
        for (i, ms) in [(0, 120u64), (1, 40), (2, 80), (3, 40)] {
            let tx = tx.clone();
            timers.schedule(now + Duration::from_millis(ms), move || {
                tx.send((i, Instant::now())).unwrap();
            });
        }
        let order: Vec<(i32, Instant)> = (0..4)
            .map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap())
            .collect();
        assert_eq!(
            order.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            [1, 3, 2, 0]
        );
        assert!(order[3].1 >= now + Duration::from_millis(120));
        timers.stop();
        handle.join().unwrap();
    }

    #[test]
    fn stop_drops_pending_actions_and_ends_the_thread() {
        let (timers, handle) = Timers::start().unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        timers.schedule(Instant::now() + Duration::from_secs(3600), move || {
            tx.send(()).unwrap();
        });
        timers.stop();
        handle.join().unwrap();
        // The action (and its sender) was dropped without running.
        assert!(rx.recv().is_err());
    }
}
