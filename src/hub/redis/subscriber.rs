//! The subscriber: one thread on one Redis link in subscribed mode. It
//! listens to its node's channel, the broadcast channel and the topics
//! with local subscribers; serves what other nodes send to the local
//! clients (through the delivery thread, [`super::delivery`]); ignores
//! what this node sent itself; counts the gaps.
//!
//! Redis sends nothing on an idle subscription, so the thread PINGs when
//! the link has been quiet for a second, and takes a link that has not
//! answered for [`DEAD_AFTER`] as broken (a cut network gives no FIN).

use std::collections::BTreeSet;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::delivery::{self, Backlog, Item};
use super::{lock, Shared};
use crate::hub::backoff::Backoff;
use crate::hub::envelope::{decode, Body};
use crate::hub::sequence::Gaps;

/// How long one read waits before the thread looks at its topics and the
/// stop flag.
const READ_STEP: Duration = Duration::from_millis(250);

/// A quiet link gets a PING this often.
const PING_EVERY: Duration = Duration::from_secs(1);

/// A link silent this long (its PINGs unanswered) is broken.
const DEAD_AFTER: Duration = Duration::from_secs(10);

pub(super) fn start(shared: Arc<Shared>, link: redis::Connection) -> io::Result<JoinHandle<()>> {
    let backlog = Arc::new(Backlog::default());
    let delivery = delivery::start(Arc::clone(&shared), Arc::clone(&backlog))?;
    thread::Builder::new()
        .name("stdws-redis-sub".into())
        .spawn(move || {
            run(&shared, link, &backlog);
            let _ = delivery.join();
        })
}

fn run(shared: &Shared, link: redis::Connection, deliver: &Backlog) {
    let mut gaps = Gaps::default();
    let mut backoff = Backoff::default();
    let mut link = Some(link);
    let counters = &shared.counters;
    while !shared.stopping() {
        let Some(mut l) = link.take() else {
            match shared.open() {
                Ok(l) => {
                    counters.reconnects.fetch_add(1, Ordering::Relaxed);
                    log::info!("redis subscriber: connected again");
                    link = Some(l);
                }
                Err(e) => {
                    log::warn!("redis subscriber: {e}");
                    // Only a refused or unreachable Redis is probed: after
                    // an answer such as WRONGPASS, the backoff holds.
                    let probe = e.is_io_error();
                    shared.wait_to_retry(backoff.next_delay(), probe);
                }
            }
            continue;
        };
        match listen(shared, &mut l, &mut gaps, &mut backoff, deliver) {
            Ok(()) => {}
            Err(e) => log::warn!("redis subscriber: {e}; reconnecting"),
        }
        counters.subscriber_up.store(false, Ordering::Relaxed);
    }
}

/// Subscribes and serves until the link fails or the hub stops.
fn listen(
    shared: &Shared,
    link: &mut redis::Connection,
    gaps: &mut Gaps,
    backoff: &mut Backoff,
    deliver: &Backlog,
) -> redis::RedisResult<()> {
    let Some(local) = shared.local() else {
        return Ok(());
    };
    let own = local.node().clone();
    let mut pubsub = link.as_pubsub();
    pubsub.set_read_timeout(Some(READ_STEP))?;
    pubsub.subscribe(&[shared.node_channel(&own), shared.broadcast_channel()])?;
    let mut listening = BTreeSet::new();
    shared.dirty.store(true, Ordering::SeqCst);
    catch_up(shared, &mut pubsub, &mut listening, gaps)?;
    backoff.reset();
    shared.counters.subscriber_up.store(true, Ordering::Relaxed);
    shared.counters.epoch.fetch_add(1, Ordering::SeqCst);
    let mut heard = Instant::now();
    let mut pinged = Instant::now();
    while !shared.stopping() {
        match pubsub.get_message() {
            Ok(msg) => {
                heard = Instant::now();
                serve(shared, &own, &msg, gaps, deliver);
            }
            Err(e) if e.is_timeout() => {
                if heard.elapsed() >= DEAD_AFTER {
                    return Err(redis::RedisError::from(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "Redis did not answer PING",
                    )));
                }
                if heard.elapsed() >= PING_EVERY && pinged.elapsed() >= PING_EVERY {
                    pinged = Instant::now();
                    match pubsub.ping::<redis::Value>() {
                        Ok(_) => heard = Instant::now(),
                        Err(e) if e.is_timeout() => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Err(e) => return Err(e),
        }
        catch_up(shared, &mut pubsub, &mut listening, gaps)?;
    }
    Ok(())
}

/// Listens to the topics that have local subscribers now, and to no other.
fn catch_up(
    shared: &Shared,
    pubsub: &mut redis::PubSub<'_>,
    listening: &mut BTreeSet<String>,
    gaps: &mut Gaps,
) -> redis::RedisResult<()> {
    if !shared.dirty.swap(false, Ordering::SeqCst) {
        return Ok(());
    }
    let wanted: BTreeSet<String> = lock(&shared.topics)
        .iter()
        .map(|t| shared.topic_channel(t))
        .collect();
    let new: Vec<&String> = wanted.difference(listening).collect();
    let old: Vec<&String> = listening.difference(&wanted).collect();
    if !new.is_empty() {
        pubsub.subscribe(&new)?;
    }
    if !old.is_empty() {
        pubsub.unsubscribe(&old)?;
        for channel in &old {
            gaps.forget(channel);
        }
    }
    *listening = wanted;
    Ok(())
}

/// One message from Redis: to the delivery thread, unless it is our own.
fn serve(
    shared: &Shared,
    own: &crate::hub::NodeId,
    msg: &redis::Msg,
    gaps: &mut Gaps,
    deliver: &Backlog,
) {
    let channel = msg.get_channel_name();
    let envelope = match decode(msg.get_payload_bytes()) {
        Ok(envelope) => envelope,
        Err(e) => {
            log::warn!(
                "redis subscriber: a malformed envelope on {channel}: {}",
                e.0
            );
            return;
        }
    };
    if envelope.origin == *own {
        return;
    }
    let lost = gaps.arrived(&envelope.origin, channel, envelope.seq);
    if lost > 0 {
        shared.counters.lost.fetch_add(lost, Ordering::Relaxed);
    }
    if matches!(envelope.body, Body::Wake) {
        return;
    }
    let topic = match envelope.body {
        Body::Publish { .. } => match shared.topic_of(channel) {
            Some(topic) => Some(topic.to_owned()),
            None => return,
        },
        _ => None,
    };
    // Waits only while the delivery thread is far behind, as this thread
    // did when it served the envelopes itself.
    deliver.push(
        shared,
        Item {
            origin: envelope.origin,
            topic,
            body: envelope.body,
        },
    );
}
