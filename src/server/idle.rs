//! Quiet clients give their read buffer back ([`Config::idle_release`]).
//!
//! A client's thread spends its life blocked in a read, and a read needs
//! somewhere to put the bytes: while the client is busy, its read buffer.
//! Holding that buffer through hours of silence would make it most of what
//! an idle connection costs, so the socket's read timeout doubles as an idle
//! alarm: set once to `idle_release` (not per message), it wakes a thread
//! whose client has sent nothing for that long; the thread gives the buffer
//! back and waits on the stack (`read.rs`), with the configured read timeout
//! for the rest of the wait. The first bytes to arrive take the buffer again
//! and restore the alarm: two `setsockopt` calls per quiet spell, none per
//! message. The stack pages the thread touched below its wait go back too
//! ([`super::stack`]): one `madvise` per quiet spell.

use std::time::Duration;

use super::stack::Stack;
use crate::config::Config;
use crate::session::{Session, Transport};

/// One client's idle alarm.
pub(super) struct IdleRelease {
    /// The alarm; `None` when off, or when the read timeout comes first.
    after: Option<Duration>,
    /// The read timeout: the whole wait an idle client is allowed.
    read_timeout: Option<Duration>,
    /// The alarm went off and the buffer was given back.
    quiet: bool,
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
            quiet: false,
            stack,
        }
    }

    /// Sets the alarm, once the client is open.
    pub(super) fn arm<T: Transport>(&self, session: &mut Session<T>) {
        if let Some(after) = self.after {
            let _ = session.transport.set_read_timeout(Some(after));
        }
    }

    /// A read timed out. True if it was the alarm: the buffer is given back
    /// and the read goes on with the rest of the read timeout. False if it
    /// was the read timeout itself (the client is let go).
    pub(super) fn timed_out<T: Transport>(&mut self, session: &mut Session<T>) -> bool {
        let Some(after) = self.after.filter(|_| !self.quiet) else {
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

    /// Something arrived: a quiet client is busy again.
    pub(super) fn woke<T: Transport>(&mut self, session: &mut Session<T>) {
        if self.quiet {
            self.quiet = false;
            self.arm(session);
        }
    }
}
