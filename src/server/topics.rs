//! Topics: publish/subscribe among a server's clients (the model
//! uWebSockets made common). A client subscribes to named topics; a
//! publish reaches every subscriber of its topic, encoded once, exactly as
//! a broadcast does: a slow subscriber never stalls the publisher and is
//! closed with 1008 past its write buffer.
//!
//! One lock keeps both directions (topic → subscribers, client → topics),
//! so a client that closes leaves every topic at once, and a subscribe
//! racing with the close either fails or is undone by it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use crate::error::Error;
use crate::hub::ConnectionId;

/// The longest topic name, in bytes.
pub(crate) const MAX_TOPIC_LEN: usize = 256;

/// The most topics one client may be subscribed to at once: a client
/// (or whoever subscribes it) cannot make the server's memory grow
/// without bound.
pub(crate) const MAX_TOPICS_PER_CLIENT: usize = 1024;

/// Who a topic changed for: the first subscriber arrived or the last left.
/// A hub that carries topics between processes listens only to the topics
/// that have local subscribers.
pub(crate) type Interest = Box<dyn Fn(&str, bool) + Send + Sync>;

/// The subscriptions of one server's clients.
///
/// Generic in what a subscriber is (a `Client` handle for the server), so
/// that this file needs nothing from the rest of the server.
pub(crate) struct Topics<C> {
    state: Mutex<State<C>>,
    interest: Option<Interest>,
}

struct State<C> {
    subscribers: HashMap<String, BTreeMap<ConnectionId, C>>,
    /// Each client's topics, sorted: a vector, as a client is on few (a
    /// tree's first node alone is 280 bytes, held for as long as the
    /// client is connected).
    of_client: HashMap<ConnectionId, Vec<String>>,
}

/// A topic name is 1 to [`MAX_TOPIC_LEN`] bytes.
pub(crate) fn check_topic(topic: &str) -> Result<(), Error> {
    if topic.is_empty() || topic.len() > MAX_TOPIC_LEN {
        return Err(Error::Usage("a topic name is 1 to 256 bytes"));
    }
    Ok(())
}

/// The topics of an [`Admission`](crate::Admission), checked before its
/// 101 is written.
pub(crate) fn check_topics(topics: &[String]) -> Result<(), Error> {
    if topics.len() > MAX_TOPICS_PER_CLIENT {
        return Err(Error::Usage("a client is on at most 1024 topics"));
    }
    topics.iter().try_for_each(|t| check_topic(t))
}

impl<C: Clone> Topics<C> {
    pub(crate) fn new(interest: Option<Interest>) -> Topics<C> {
        Topics {
            state: Mutex::new(State {
                subscribers: HashMap::new(),
                of_client: HashMap::new(),
            }),
            interest,
        }
    }

    fn state(&self) -> MutexGuard<'_, State<C>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn notify(&self, topic: &str, on: bool) {
        if let Some(interest) = &self.interest {
            interest(topic, on);
        }
    }

    /// Subscribes `client` (known as `key`) to `topic`, if `is_open` holds
    /// under the lock. True when it was not subscribed yet.
    pub(crate) fn subscribe(
        &self,
        key: &ConnectionId,
        client: &C,
        topic: &str,
        is_open: impl FnOnce() -> bool,
    ) -> Result<bool, Error> {
        check_topic(topic)?;
        let mut state = self.state();
        if !is_open() {
            return Err(Error::Closed);
        }
        let mine = state.of_client.entry(key.clone()).or_default();
        let Err(at) = mine.binary_search_by(|t| t.as_str().cmp(topic)) else {
            return Ok(false);
        };
        if mine.len() >= MAX_TOPICS_PER_CLIENT {
            return Err(Error::Usage("a client is on at most 1024 topics"));
        }
        mine.insert(at, topic.to_owned());
        let subscribers = state.subscribers.entry(topic.to_owned()).or_default();
        subscribers.insert(key.clone(), client.clone());
        if subscribers.len() == 1 {
            // Under the lock: a hub sees first-in and last-out in order.
            self.notify(topic, true);
        }
        Ok(true)
    }

    /// Unsubscribes `key` from `topic`; true when it was subscribed.
    pub(crate) fn unsubscribe(&self, key: &ConnectionId, topic: &str) -> bool {
        let mut state = self.state();
        let Some(mine) = state.of_client.get_mut(key) else {
            return false;
        };
        let Ok(at) = mine.binary_search_by(|t| t.as_str().cmp(topic)) else {
            return false;
        };
        mine.remove(at);
        if mine.is_empty() {
            state.of_client.remove(key);
        }
        self.leave(&mut state, key, topic);
        true
    }

    fn leave(&self, state: &mut State<C>, key: &ConnectionId, topic: &str) {
        if let Some(subscribers) = state.subscribers.get_mut(topic) {
            subscribers.remove(key);
            if subscribers.is_empty() {
                state.subscribers.remove(topic);
                self.notify(topic, false);
            }
        }
    }

    /// Takes `key` out of every topic (its connection ended).
    pub(crate) fn remove(&self, key: &ConnectionId) {
        let mut state = self.state();
        let Some(mine) = state.of_client.remove(key) else {
            return;
        };
        for topic in &mine {
            self.leave(&mut state, key, topic);
        }
    }

    /// The topics `key` is subscribed to, sorted.
    pub(crate) fn of(&self, key: &ConnectionId) -> Vec<String> {
        self.state().of_client.get(key).cloned().unwrap_or_default()
    }

    /// The subscribers of `topic` now, but `except`, each as `view` sees
    /// it (what a publish needs of a subscriber, not all of it).
    pub(crate) fn subscribers<T>(
        &self,
        topic: &str,
        except: Option<&ConnectionId>,
        view: impl Fn(&C) -> T,
    ) -> Vec<T> {
        let state = self.state();
        let Some(subscribers) = state.subscribers.get(topic) else {
            return Vec::new();
        };
        // Sized once: collected through the filter, the list would grow
        // by doubling, and each buffer it outgrew (up to 1 KiB) would stay
        // in the publishing thread's malloc cache; with many threads those
        // caches held megabytes (`make soak`).
        let mut list = Vec::with_capacity(subscribers.len());
        list.extend(
            subscribers
                .iter()
                .filter(|(k, _)| Some(*k) != except)
                .map(|(_, c)| view(c)),
        );
        list
    }

    /// Every topic with at least one subscriber.
    pub(crate) fn names(&self) -> Vec<String> {
        self.state().subscribers.keys().cloned().collect()
    }
}
