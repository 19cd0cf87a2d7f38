//! Sequence numbers per origin node and channel: the sender numbers what
//! it sends on each channel 1, 2, 3, …; a receiver that sees 7 after 4 on
//! that channel knows 5 and 6 were lost (the broker or a link was away, or
//! the sender's queue was full). Numbers count per channel, not per node,
//! because a node hears only the channels it listens to.
//!
//! Both maps are bounded: past [`MAX_CHANNELS`] entries they start over.
//! A sender that starts over restarts at 1, which a receiver takes as a
//! new start (nothing counted lost), never as a gap.

use std::collections::HashMap;

use super::NodeId;

/// The most channels a sender numbers, or (origin, channel) pairs a
/// receiver follows, at once.
pub(crate) const MAX_CHANNELS: usize = 65_536;

/// The next number on each channel this node sends on.
#[derive(Default)]
pub(crate) struct Numbering {
    next: HashMap<String, u64>,
}

impl Numbering {
    /// The number of the next envelope on `channel`.
    pub(crate) fn next(&mut self, channel: &str) -> u64 {
        if let Some(n) = self.next.get_mut(channel) {
            *n += 1;
            return *n;
        }
        if self.next.len() >= MAX_CHANNELS {
            self.next.clear();
        }
        self.next.insert(channel.to_owned(), 1);
        1
    }
}

/// The last number seen from each origin on each channel.
#[derive(Default)]
pub(crate) struct Gaps {
    last: HashMap<(NodeId, String), u64>,
}

impl Gaps {
    /// Notes `seq` from `origin` on `channel`; returns how many envelopes
    /// before it never arrived.
    pub(crate) fn arrived(&mut self, origin: &NodeId, channel: &str, seq: u64) -> u64 {
        let key = (origin.clone(), channel.to_owned());
        match self.last.get_mut(&key) {
            Some(last) => {
                let lost = seq.saturating_sub(*last).saturating_sub(1);
                *last = seq;
                lost
            }
            None => {
                if self.last.len() >= MAX_CHANNELS {
                    self.last.clear();
                }
                self.last.insert(key, seq);
                0
            }
        }
    }

    /// Stops following `channel` (this node stopped listening to it: what
    /// it misses from now on is not lost).
    pub(crate) fn forget(&mut self, channel: &str) {
        self.last.retain(|(_, c), _| c != channel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_count_what_never_arrived_per_origin_and_channel() {
        let (a, b) = (NodeId::new("a").unwrap(), NodeId::new("b").unwrap());
        let mut gaps = Gaps::default();
        assert_eq!(gaps.arrived(&a, "x", 1), 0);
        assert_eq!(gaps.arrived(&a, "x", 2), 0);
        assert_eq!(gaps.arrived(&a, "x", 5), 2);
        assert_eq!(
            gaps.arrived(&a, "y", 9),
            0,
            "first heard: nothing known lost"
        );
        assert_eq!(gaps.arrived(&b, "x", 3), 0);
        assert_eq!(gaps.arrived(&a, "x", 1), 0, "a sender starting over");
        assert_eq!(gaps.arrived(&a, "x", 2), 0);
        gaps.forget("x");
        assert_eq!(gaps.arrived(&a, "x", 10), 0);
    }

    #[test]
    fn numbers_count_per_channel_from_one() {
        let mut numbering = Numbering::default();
        assert_eq!(numbering.next("x"), 1);
        assert_eq!(numbering.next("x"), 2);
        assert_eq!(numbering.next("y"), 1);
        assert_eq!(numbering.next("x"), 3);
    }
}
