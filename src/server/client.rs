//! [`Client`]: a handle on one connected client, and [`Clients`]: all of
//! them, for broadcasting.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use super::topics::{check_topic, Topics};
use crate::error::Error;
use crate::extension::ExtensionOffer;
use crate::handshake::server::Request;
use crate::hub::{ConnectionId, Hub, NodeId};
use crate::message::Message;
use crate::prepared::{Batch, Prepared};
use crate::transport::link::Link;
use crate::transport::sender::link_sender_methods;

/// A connected client: a cheap handle (`Clone + Send + Sync`) that sends,
/// pings and closes from any thread, also while the client's own thread is
/// blocked reading, with no delay.
///
/// Sends from the client's own thread (in [`Handler`](crate::Handler)
/// methods) behave like a blocking socket write: they wait when the client
/// reads slower than we write. Sends from any other thread never block: what
/// the socket does not take at once is queued (at most
/// [`Config::max_write_buffer`](crate::Config::max_write_buffer) bytes; past
/// that the client is closed with 1008) and written by a helper thread.
///
/// A handle outlives its connection harmlessly: once the connection is
/// over, sends return [`Error::Closed`](crate::Error::Closed); the socket itself is released when
/// the connection ends, whoever still holds handles.
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientState>,
}

struct ClientState {
    id: ConnectionId,
    /// Carries the peer's address and the user authentication admitted
    /// ([`Request::peer_addr`], [`Request::user`]): the server sets both
    /// before the handshake hook.
    request: Request,
    protocol: Option<String>,
    extensions: Vec<ExtensionOffer>,
    data: Option<Box<dyn Any + Send + Sync>>,
    link: Weak<Link>,
    clients: Clients,
}

/// What a client is made of, past its handshake.
pub(crate) struct ClientParts {
    pub(crate) id: ConnectionId,
    /// With its peer address and user set.
    pub(crate) request: Request,
    pub(crate) protocol: Option<String>,
    pub(crate) extensions: Vec<ExtensionOffer>,
    pub(crate) data: Option<Box<dyn Any + Send + Sync>>,
    pub(crate) link: Weak<Link>,
    pub(crate) clients: Clients,
}

impl Client {
    pub(crate) fn new(parts: ClientParts) -> Client {
        Client {
            inner: Arc::new(ClientState {
                id: parts.id,
                request: parts.request,
                protocol: parts.protocol,
                extensions: parts.extensions,
                data: parts.data,
                link: parts.link,
                clients: parts.clients,
            }),
        }
    }

    /// The connection's id: unique across a cluster and never reused
    /// (see [`ConnectionId`]).
    pub fn id(&self) -> &ConnectionId {
        &self.inner.id
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        // The server set it before the handshake: the fallback is never
        // taken.
        let unset = SocketAddr::from(([0, 0, 0, 0], 0));
        self.inner.request.peer_addr().unwrap_or(unset)
    }

    /// The path the client asked for (`/chat` of `/chat?room=1`).
    pub fn path(&self) -> &str {
        self.inner.request.path()
    }

    /// The query, without `?`, if any.
    pub fn query(&self) -> Option<&str> {
        self.inner.request.query()
    }

    /// Path and query: RFC 6455's resource name.
    pub fn resource(&self) -> &str {
        self.inner.request.resource()
    }

    /// The whole handshake request (headers, origin, offers).
    pub fn request(&self) -> &Request {
        &self.inner.request
    }

    /// The user name the client proved with HTTP authentication
    /// ([`ServerBuilder::authenticator`](crate::ServerBuilder::authenticator));
    /// `None` when the server does not ask for it.
    pub fn user(&self) -> Option<&str> {
        self.inner.request.user()
    }

    /// The subprotocol agreed in the handshake.
    pub fn protocol(&self) -> Option<&str> {
        self.inner.protocol.as_deref()
    }

    /// The extensions agreed in the handshake.
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.inner.extensions
    }

    /// The data the handshake hook attached
    /// ([`Admission::data`](crate::Admission::data)), if it is a `T`.
    pub fn data<T: Any>(&self) -> Option<&T> {
        self.inner.data.as_ref()?.downcast_ref()
    }

    /// Every client of the same server (to broadcast from a handler).
    pub fn clients(&self) -> &Clients {
        &self.inner.clients
    }

    fn link(&self) -> Option<Arc<Link>> {
        self.inner.link.upgrade()
    }

    link_sender_methods!();

    /// Bytes queued for this client that it has not read yet (see
    /// [`Config::max_write_buffer`](crate::Config::max_write_buffer)).
    pub fn queued_bytes(&self) -> usize {
        self.link().map_or(0, |link| link.queued_bytes())
    }

    /// Drops the TCP connection at once, with no close frame (a proxy
    /// passing on its upstream's abrupt end). The client's thread sees the
    /// connection end (1006).
    pub fn disconnect(&self) {
        if let Some(link) = self.link() {
            link.cut();
        }
    }

    /// Subscribes this client to `topic` (1 to 256 bytes; a client is on
    /// at most 1024 topics): every publish to it reaches the client from
    /// now on, until [`unsubscribe`](Self::unsubscribe) or the end of the
    /// connection. Returns false when it was subscribed already;
    /// [`Error::Closed`] once the connection is over.
    pub fn subscribe(&self, topic: &str) -> Result<bool, Error> {
        let clients = &self.inner.clients;
        clients
            .registry
            .topics
            .subscribe(&self.inner.id, self, topic, || clients.contains(self))
    }

    /// Unsubscribes this client from `topic`; false when it was not
    /// subscribed.
    pub fn unsubscribe(&self, topic: &str) -> bool {
        self.inner
            .clients
            .registry
            .topics
            .unsubscribe(&self.inner.id, topic)
    }

    /// The topics this client is subscribed to, sorted.
    pub fn topics(&self) -> Vec<String> {
        self.inner.clients.registry.topics.of(&self.inner.id)
    }

    /// Publishes `message` to every subscriber of `topic` but this client
    /// (as uWebSockets' `ws.publish` does); returns how many took it. To
    /// include the sender, publish through [`Clients::publish`].
    pub fn publish(&self, topic: &str, message: &Message) -> usize {
        self.inner
            .clients
            .publish_except(topic, message, &self.inner.id)
    }

    /// The link a publish or a broadcast reaches this client through.
    /// Publishes hold this, not a `Client`: a client that leaves while a
    /// publish is under way is then freed by its own thread, not by the
    /// publishing one, whose malloc cache would keep the memory (under
    /// churn, with hundreds of threads, those caches held megabytes in
    /// `make soak`).
    fn weak_link(&self) -> Weak<Link> {
        self.inner.link.clone()
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.inner.id)
            .field("peer", &self.peer_addr())
            .field("resource", &self.resource())
            .field("user", &self.inner.request.user())
            .field("protocol", &self.inner.protocol)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Client {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for Client {}

/// The open clients of a server: a cheap handle (`Clone + Send + Sync`)
/// that broadcasts from any thread.
///
/// A client is in the set from just before its 101 response is written to
/// just before [`on_close`](crate::Handler::on_close): a broadcast sent
/// after a client's handshake finished always reaches it (frames queued
/// before its 101 is written follow the 101).
#[derive(Clone)]
pub struct Clients {
    pub(super) registry: Arc<Registry>,
}

pub(super) struct Registry {
    map: Mutex<BTreeMap<ConnectionId, Client>>,
    topics: Topics<Client>,
    fragment_size: Option<usize>,
    pub(super) node: NodeId,
    pub(super) hub: Arc<dyn Hub>,
}

impl Clients {
    pub(crate) fn new(fragment_size: Option<usize>, node: NodeId, hub: Arc<dyn Hub>) -> Clients {
        let interested = Arc::clone(&hub);
        Clients {
            registry: Arc::new(Registry {
                map: Mutex::new(BTreeMap::new()),
                topics: Topics::new(Some(Box::new(move |topic, on| {
                    interested.interest(topic, on)
                }))),
                fragment_size,
                node,
                hub,
            }),
        }
    }

    pub(super) fn from_registry(registry: Arc<Registry>) -> Clients {
        Clients { registry }
    }

    fn map(&self) -> MutexGuard<'_, BTreeMap<ConnectionId, Client>> {
        self.registry.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn insert(&self, client: Client) {
        self.map().insert(client.id().clone(), client);
    }

    /// The client leaves the set and every topic.
    pub(crate) fn remove(&self, id: &ConnectionId) {
        self.map().remove(id);
        self.registry.topics.remove(id);
    }

    fn contains(&self, client: &Client) -> bool {
        self.map().get(client.id()) == Some(client)
    }

    /// The number of open clients.
    pub fn len(&self) -> usize {
        self.map().len()
    }

    /// True when no client is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The open clients now, in connection order.
    pub fn list(&self) -> Vec<Client> {
        self.map().values().cloned().collect()
    }

    /// The open client with this id (of this server: a client of another
    /// node is not here).
    pub fn get(&self, id: &ConnectionId) -> Option<Client> {
        self.map().get(id).cloned()
    }

    /// Sends `message` to every open client, here and (through the
    /// server's [`Hub`]) on every other node of the cluster; returns how
    /// many clients of this server took it. Never blocks on a slow client
    /// (see [`Client`]).
    pub fn broadcast(&self, message: &Message) -> usize {
        let taken = self.broadcast_if(message, |_| true);
        self.registry.hub.broadcast(message);
        taken
    }

    /// Sends `message` to the open clients of this server `filter` selects
    /// (other nodes are not asked); returns how
    /// many took it. The frame is encoded once per protocol and the same
    /// bytes are written to each client (clients whose extensions
    /// transform data, such as compression, get their own encoding;
    /// hixie-76 clients get the old framing, and do not take binary).
    pub fn broadcast_if(&self, message: &Message, filter: impl Fn(&Client) -> bool) -> usize {
        // The filter is the caller's code: it runs on a copy of the list,
        // not under the lock (it may well ask `self` something).
        let all = self.list();
        let mut targets = Vec::with_capacity(all.len());
        targets.extend(all.iter().filter(|c| filter(c)).map(Client::weak_link));
        drop(all);
        self.deliver(&targets, message)
    }

    /// Publishes `message` to every subscriber of `topic` (see
    /// [`Client::subscribe`]): this server's first, then, through its
    /// [`Hub`], those of every other node. Returns how many subscribers of
    /// this server took it. Encoded once per protocol and never blocked by
    /// a slow subscriber, as a [`broadcast`](Self::broadcast).
    pub fn publish(&self, topic: &str, message: &Message) -> usize {
        self.publish_from(topic, message, None)
    }

    /// [`publish`](Self::publish) to every subscriber but the connection
    /// `except`.
    pub fn publish_except(&self, topic: &str, message: &Message, except: &ConnectionId) -> usize {
        self.publish_from(topic, message, Some(except))
    }

    fn publish_from(&self, topic: &str, message: &Message, except: Option<&ConnectionId>) -> usize {
        if check_topic(topic).is_err() {
            return 0;
        }
        let taken = self.publish_here(topic, message, except);
        self.registry.hub.publish(topic, message, except);
        taken
    }

    /// A publish served to this server's subscribers only.
    pub(super) fn publish_here(
        &self,
        topic: &str,
        message: &Message,
        except: Option<&ConnectionId>,
    ) -> usize {
        let targets = self
            .registry
            .topics
            .subscribers(topic, except, Client::weak_link);
        self.deliver(&targets, message)
    }

    /// Consecutive publishes to `topic` served to this server's
    /// subscribers only: each subscriber gets its share (every message but
    /// those that exclude it) in one write, each message encoded once per
    /// protocol. Returns how many (subscriber, message) pairs were taken.
    pub(super) fn publish_batch_here(
        &self,
        topic: &str,
        batch: &[(Message, Option<ConnectionId>)],
    ) -> usize {
        let targets = self
            .registry
            .topics
            .subscribers(topic, None, |c| (c.id().clone(), c.weak_link()));
        if targets.is_empty() || batch.is_empty() {
            return 0;
        }
        let prepared = Batch::new(
            batch.iter().map(|(message, _)| message),
            self.registry.fragment_size,
        );
        targets
            .iter()
            .map(|(id, link)| {
                let Some(link) = link.upgrade() else {
                    return 0;
                };
                let skip = |i: usize| batch[i].1.as_ref() == Some(id);
                if batch.iter().any(|(_, except)| except.as_ref() == Some(id)) {
                    link.send_batch(&prepared, Some(&skip))
                } else {
                    link.send_batch(&prepared, None)
                }
            })
            .sum()
    }

    /// Every topic that has a subscriber now.
    pub fn topics(&self) -> Vec<String> {
        self.registry.topics.names()
    }

    /// Sends `message`, encoded once per protocol, to each of `targets`.
    fn deliver(&self, targets: &[Weak<Link>], message: &Message) -> usize {
        if targets.is_empty() {
            return 0;
        }
        let prepared = Prepared::new(message, self.registry.fragment_size);
        targets
            .iter()
            .filter_map(Weak::upgrade)
            .filter(|link| link.send_prepared(&prepared).is_ok())
            .count()
    }
}

impl fmt::Debug for Clients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clients").field("len", &self.len()).finish()
    }
}
