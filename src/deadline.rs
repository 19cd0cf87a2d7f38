//! Deadlines: the opening handshake (TCP connect, TLS, HTTP head and
//! answer) runs under one deadline, and each blocking call gets only the
//! time that is left, so a peer that sends a byte every few seconds is still
//! cut off when the deadline passes.

use std::time::{Duration, Instant};

use crate::error::{Error, Timeout};

/// The time left before `deadline`; `None` once it has passed. Zero counts
/// as passed: a zero timeout means "never" to the socket API.
pub(crate) fn remaining(deadline: Instant) -> Option<Duration> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
}

/// The time left before `deadline`, or a handshake timeout.
pub(crate) fn time_left(deadline: Instant) -> Result<Duration, Error> {
    remaining(deadline).ok_or(Error::Timeout(Timeout::Handshake))
}
