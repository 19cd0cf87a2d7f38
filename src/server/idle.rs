//! Quiet clients give their read buffer back ([`Config::idle_release`]).
//!
//! A client's thread spends its life blocked in a read, and a read needs
//! somewhere to put the bytes: while the client is busy, its read buffer.
//! Holding that buffer through hours of silence would make it most of what
//! an idle connection costs, so the socket's read timeout doubles as an idle
//! alarm: set to `idle_release` (not per message), it wakes a thread whose
//! client has sent nothing for that long; the thread gives the buffer back
//! and waits on the stack (`read.rs`), with the configured read timeout for
//! the rest of the wait. The first bytes to arrive take the buffer again
//! and restore the alarm. The stack pages the thread touched below its wait
//! go back too ([`super::stack`]): one `madvise` per quiet spell.
//!
//! A read timeout is not free: the kernel arms and cancels a timer each
//! time a read with a timeout blocks, which is every message of a client
//! that sends one at a time (3-4% of the server's CPU per 4 KiB echo).
//! So a busy client waits without the alarm: after [`BUSY_AFTER`] events
//! in a row, each within a sixteenth of `idle_release` of the one before,
//! the alarm is taken off, and it is set again at the first event after a
//! longer pause. A busy client that falls silent keeps its buffer until
//! something wakes its thread (a keep-alive pong at the latest), then gives
//! it back `idle_release` later. Switching costs one `setsockopt`, at most
//! once per [`BUSY_AFTER`] events; none per message either way.

use std::time::{Duration, Instant};

use super::stack::Stack;
use crate::config::Config;
use crate::session::{Session, Transport};

/// Events in a row, each close after the one before, that make a client
/// busy: its thread then waits without the alarm.
const BUSY_AFTER: u32 = 16;

/// One client's idle alarm.
pub(super) struct IdleRelease {
    /// The alarm; `None` when off, or when the read timeout comes first.
    after: Option<Duration>,
    /// The read timeout: the whole wait an idle client is allowed.
    read_timeout: Option<Duration>,
    /// The socket's read timeout is the alarm (not the read timeout).
    armed: bool,
    /// The alarm went off and the buffer was given back.
    quiet: bool,
    /// When the last event came.
    last: Instant,
    /// Events in a row that each came soon after the one before.
    quick: u32,
    /// The thread's stack, whose unused pages go back with the buffer.
    stack: Stack,
}

impl IdleRelease {
    /// The alarm of `config`, against the client's read timeout (the
    /// policy's: a hixie-76 client gets one of its own).
    pub(super) fn new(
        config: &Config,
        read_timeout: Option<Duration>,
        stack: Stack,
    ) -> IdleRelease {
        IdleRelease {
            after: config
                .idle_release
                .filter(|after| !matches!(read_timeout, Some(r) if r <= *after)),
            read_timeout,
            armed: false,
            quiet: false,
            last: Instant::now(),
            quick: 0,
            stack,
        }
    }

    /// Sets the alarm, once the client is open.
    pub(super) fn arm<T: Transport>(&mut self, session: &mut Session<T>) {
        if let Some(after) = self.after {
            self.armed = session.transport.set_read_timeout(Some(after)).is_ok();
        }
    }

    /// A read timed out. True if it was the alarm: the buffer is given back
    /// and the read goes on with the rest of the read timeout. False if it
    /// was the read timeout itself (the client is let go).
    pub(super) fn timed_out<T: Transport>(&mut self, session: &mut Session<T>) -> bool {
        let Some(after) = self.after.filter(|_| self.armed && !self.quiet) else {
            return false;
        };
        self.quiet = true;
        session.release_idle_buffers();
        let rest = self.read_timeout.map(|r| r - after);
        let _ = session.transport.set_read_timeout(rest);
        // Last, from the shallowest frame this path has.
        self.stack.release_unused();
        true
    }

    /// Something arrived: a quiet client is busy again, and a client that
    /// sends often waits without the alarm.
    pub(super) fn woke<T: Transport>(&mut self, session: &mut Session<T>) {
        let Some(after) = self.after else {
            return;
        };
        let now = Instant::now();
        let soon = now.saturating_duration_since(self.last) < after / 16;
        self.last = now;
        self.quick = if soon {
            self.quick.saturating_add(1)
        } else {
            0
        };
        let alarm = self.quick < BUSY_AFTER;
        // A quiet client's socket waits with the rest of the read timeout:
        // it is set again either way.
        if alarm != self.armed || self.quiet {
            let timeout = if alarm {
                Some(after)
            } else {
                self.read_timeout
            };
            if session.transport.set_read_timeout(timeout).is_ok() {
                self.armed = alarm;
            }
            self.quiet = false;
        }
    }
}
