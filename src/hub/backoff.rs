//! Reconnect delays: 100 ms doubling to 5 s, each drawn between half and
//! all of its step (jitter), so nodes that lost the broker together do
//! not all knock at the same instant when it comes back.

use std::time::Duration;

use rand::RngExt;

const FIRST: Duration = Duration::from_millis(100);
const MAX: Duration = Duration::from_secs(5);

/// The delays before each reconnect attempt, since the last success.
#[derive(Debug)]
pub(crate) struct Backoff {
    step: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff { step: FIRST }
    }
}

impl Backoff {
    /// The delay before the next attempt.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let step = self.step;
        self.step = (step * 2).min(MAX);
        step.mul_f64(rand::rng().random_range(0.5..=1.0))
    }

    /// A connection succeeded: the next failure starts over at 100 ms.
    pub(crate) fn reset(&mut self) {
        self.step = FIRST;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_100_ms_to_5_s_with_jitter_and_start_over_after_a_success() {
        let mut backoff = Backoff::default();
        let delays: Vec<Duration> = (0..10).map(|_| backoff.next_delay()).collect();
        for (i, d) in delays.iter().enumerate() {
            let step = (FIRST * 2u32.pow(i as u32)).min(MAX);
            assert!(
                *d >= step / 2 && *d <= step,
                "{i}: {d:?} for a step of {step:?}"
            );
        }
        backoff.reset();
        assert!(backoff.next_delay() <= FIRST);
    }
}
