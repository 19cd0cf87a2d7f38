//! One timer thread for the whole server: keep-alive pings, pong and close
//! deadlines, handshake deadlines, reaping finished threads.
//!
//! Deadlines wait in an ordered map; the thread sleeps on a condition
//! variable until the earliest one (or until an earlier one is added), then
//! runs its action. No per-client sleeping thread, no polling, no read
//! timeout used as a clock: an action that must stop a blocked reader shuts
//! its socket down. Actions run on this thread and must not block. A
//! deadline that no longer matters is cancelled, and its memory goes with
//! it: every connection arms one for its handshake, and thousands of
//! clients connecting at once would otherwise each hold one for the whole
//! handshake timeout.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

/// Something to do at a deadline.
pub(crate) type Action = Box<dyn FnOnce() + Send>;

/// A scheduled action, to cancel it: its deadline, then its insertion
/// order (equal deadlines run first come, first served).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerKey(Instant, u64);

#[derive(Default)]
struct State {
    pending: BTreeMap<TimerKey, Action>,
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
    pub(crate) fn schedule(&self, at: Instant, action: impl FnOnce() + Send + 'static) -> TimerKey {
        let mut state = self.lock();
        state.seq += 1;
        let key = TimerKey(at, state.seq);
        if state.stopped {
            return key;
        }
        let earliest = state
            .pending
            .first_key_value()
            .map_or(true, |(first, _)| key < *first);
        state.pending.insert(key, Box::new(action));
        if earliest {
            self.wake.notify_one();
        }
        key
    }

    /// Drops a scheduled action unrun. False when it has already run (or
    /// is running), was cancelled, or the timers stopped.
    pub(crate) fn cancel(&self, key: TimerKey) -> bool {
        let action = self.lock().pending.remove(&key);
        // Dropped outside the lock, like every action.
        action.is_some()
    }

    /// Stops the thread; pending actions are dropped without running.
    pub(crate) fn stop(&self) {
        let pending = {
            let mut state = self.lock();
            state.stopped = true;
            std::mem::take(&mut state.pending)
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
            match state.pending.first_key_value().map(|(key, _)| key.0) {
                None => state = self.wake.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(at) if at <= now => {
                    let (_, action) = state.pending.pop_first().expect("looked at");
                    drop(state);
                    action();
                    state = self.lock();
                }
                Some(at) => {
                    state = self
                        .wake
                        .wait_timeout(state, at - now)
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
    fn a_cancelled_action_never_runs_and_is_dropped_at_once() {
        let (timers, handle) = Timers::start().unwrap();
        let (tx, rx) = mpsc::channel::<&str>();
        let now = Instant::now();
        let owned = Arc::new(());
        let held = Arc::clone(&owned);
        let tx1 = tx.clone();
        let cancelled = timers.schedule(now + Duration::from_millis(50), move || {
            let _held = held;
            tx1.send("cancelled").unwrap();
        });
        let tx2 = tx.clone();
        let kept = timers.schedule(now + Duration::from_millis(100), move || {
            tx2.send("kept").unwrap();
        });
        assert!(timers.cancel(cancelled));
        // Its closure, and what it owned, went with it.
        assert_eq!(Arc::strong_count(&owned), 1);
        assert!(!timers.cancel(cancelled), "a second cancel finds nothing");
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok("kept"));
        assert!(
            !timers.cancel(kept),
            "an action that ran cannot be cancelled"
        );
        drop(tx);
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
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
