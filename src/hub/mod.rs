//! Beyond one process: a [`Hub`] carries publishes, broadcasts and
//! [`Command`]s addressed to one connection between the servers (nodes)
//! of a cluster, so that several processes act as one.
//!
//! ```text
//!  Server ── topics ── Hub ──(default: InProcess, nothing leaves the process)
//!                        └── RedisHub ──▶ redis-server ◀── other nodes
//! ```
//!
//! A server serves its own clients first, directly; then it hands the
//! publish to its hub, which delivers it to the other nodes, which serve
//! their clients. A node ignores its own publishes coming back, so every
//! client gets each message once. Connection ids ([`ConnectionId`]) carry
//! their node's id, so a command for a connection of another node goes to
//! that node alone.
//!
//! **Delivery is at-most-once**, as with every pub/sub engine of this kind
//! (Socket.IO's Redis adapter, ActionCable, Phoenix.PubSub): a message that
//! meets a full queue or a broken link to the broker is not retried. The
//! hub counts what it published, delivered, dropped and lost
//! ([`HubStats`]), so an operator sees it happen.
//!
//! The default hub, [`InProcess`], costs one empty call per publish.

#[cfg(feature = "redis")]
mod backoff;
#[cfg(feature = "redis")]
mod envelope;
mod id;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
mod sequence;

use std::fmt;
use std::io;
use std::sync::Arc;

pub use id::{ConnectionId, IdError, NodeId};
#[cfg(feature = "redis")]
pub use redis::{RedisHub, RedisHubBuilder};

use crate::close_code::CloseCode;
use crate::error::Error;
use crate::message::Message;

/// Carries what a server's clients publish, broadcast and address to other
/// connections to the other nodes of a cluster, and brings theirs back.
///
/// Every method is called from client threads and must never block on
/// the network: queue, and drop (counting it) when the queue is full.
pub trait Hub: Send + Sync + 'static {
    /// The server starts: from now on, what arrives from other nodes goes
    /// to `node`. An error stops the server from starting.
    fn attach(&self, node: Arc<dyn LocalNode>) -> io::Result<()>;

    /// The server stops: let go of `node` and stop the hub's threads.
    fn detach(&self);

    /// A publish on this node (its subscribers here are served already):
    /// carry it to the subscribers of `topic` on the other nodes, but the
    /// connection `except`.
    fn publish(&self, topic: &str, message: &Message, except: Option<&ConnectionId>);

    /// A broadcast on this node: carry it to every client of the other
    /// nodes.
    fn broadcast(&self, message: &Message);

    /// A command for a connection of another node (its id names the node).
    /// `Ok` means handed on, not done: nothing comes back.
    fn forward(&self, command: &Command) -> Result<(), CommandError>;

    /// `topic` got its first local subscriber (`true`) or lost its last
    /// one (`false`): a hub listens only to the topics with local
    /// subscribers. Called in order for each topic.
    fn interest(&self, topic: &str, subscribed: bool);

    /// What the hub has carried so far.
    fn stats(&self) -> HubStats;
}

/// The server as a hub sees it: where messages from other nodes go.
pub trait LocalNode: Send + Sync {
    /// This server's node id (part of its connection ids).
    fn node(&self) -> &NodeId;

    /// Serves a publish from another node to this node's subscribers of
    /// `topic` (but `except`); returns how many took it.
    fn publish(&self, topic: &str, message: &Message, except: Option<&ConnectionId>) -> usize;

    /// Serves consecutive publishes to `topic`, in order, each but to its
    /// `except`; returns how many (subscriber, message) pairs were taken.
    /// A server writes each subscriber's share at once (one write for the
    /// batch); the default serves them one by one.
    fn publish_batch(&self, topic: &str, batch: &[(Message, Option<ConnectionId>)]) -> usize {
        batch
            .iter()
            .map(|(message, except)| self.publish(topic, message, except.as_ref()))
            .sum()
    }

    /// Serves a broadcast from another node to every client here.
    fn broadcast(&self, message: &Message) -> usize;

    /// Runs a command from another node on a connection of this one.
    fn execute(&self, command: Command) -> Result<(), CommandError>;

    /// The topics with subscribers here (to listen to again after the hub
    /// reconnects).
    fn topics(&self) -> Vec<String>;
}

/// An operation on one connection, wherever in the cluster it is:
/// [`Clients::execute`](crate::Clients::execute) runs it here or hands it
/// to the hub for the connection's node.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// Send a message to the connection.
    Send {
        /// The connection.
        to: ConnectionId,
        /// The message.
        message: Message,
    },
    /// Start its closing handshake with this code and reason.
    Close {
        /// The connection.
        to: ConnectionId,
        /// A code that may be sent (1000, 1001, 1008, 3000–4999, …).
        code: CloseCode,
        /// At most 123 bytes of UTF-8.
        reason: String,
    },
    /// Subscribe it to a topic.
    Subscribe {
        /// The connection.
        to: ConnectionId,
        /// The topic (1 to 256 bytes).
        topic: String,
    },
    /// Unsubscribe it from a topic.
    Unsubscribe {
        /// The connection.
        to: ConnectionId,
        /// The topic.
        topic: String,
    },
}

impl Command {
    /// The connection the command is for.
    pub fn to(&self) -> &ConnectionId {
        match self {
            Command::Send { to, .. }
            | Command::Close { to, .. }
            | Command::Subscribe { to, .. }
            | Command::Unsubscribe { to, .. } => to,
        }
    }
}

/// Where [`Clients::execute`](crate::Clients::execute) ran a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// On a connection of this server: done.
    Local,
    /// Handed to the hub for another node (at-most-once: no answer comes
    /// back).
    Forwarded,
}

/// Why a command did not run or was not handed on.
#[derive(Debug)]
#[non_exhaustive]
pub enum CommandError {
    /// No open connection of this node has that id (or the id is of
    /// another node and the hub reaches no other node).
    UnknownConnection,
    /// The connection refused it: it is closing, or the command was
    /// invalid (a close code that must not be sent, a topic name too long).
    Client(Error),
    /// The hub's queue was full: the command was dropped (and counted).
    Dropped,
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::UnknownConnection => f.write_str("no such connection"),
            CommandError::Client(e) => write!(f, "{e}"),
            CommandError::Dropped => f.write_str("the hub's queue is full: dropped"),
        }
    }
}

impl std::error::Error for CommandError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CommandError::Client(e) => Some(e),
            _ => None,
        }
    }
}

/// What a hub has carried since it started. Envelopes are counted once
/// each (one publish to a topic is one, however many clients take it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HubStats {
    /// Envelopes this node handed to the broker.
    pub published: u64,
    /// Envelopes from other nodes served to this node's clients.
    pub delivered: u64,
    /// Envelopes of this node that never reached the broker (queue full,
    /// broker away).
    pub dropped: u64,
    /// Envelopes of other nodes that never reached this node (gaps in
    /// their sequence numbers: the broker or a link was away).
    pub lost: u64,
    /// Connections to the broker made again after the first.
    pub reconnects: u64,
    /// True while the hub's links to the broker are up.
    pub connected: bool,
    /// Envelopes waiting in this node's queue to the broker now.
    pub queued: u64,
}

impl fmt::Display for HubStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "published={} delivered={} dropped={} lost={} reconnects={} queued={} connected={}",
            self.published,
            self.delivered,
            self.dropped,
            self.lost,
            self.reconnects,
            self.queued,
            self.connected
        )
    }
}

/// The default hub: one process, nothing to carry. Every method does
/// nothing; a command for another node's connection is
/// [`CommandError::UnknownConnection`].
#[derive(Debug, Default, Clone, Copy)]
pub struct InProcess;

impl Hub for InProcess {
    fn attach(&self, _: Arc<dyn LocalNode>) -> io::Result<()> {
        Ok(())
    }
    fn detach(&self) {}
    fn publish(&self, _: &str, _: &Message, _: Option<&ConnectionId>) {}
    fn broadcast(&self, _: &Message) {}
    fn forward(&self, _: &Command) -> Result<(), CommandError> {
        Err(CommandError::UnknownConnection)
    }
    fn interest(&self, _: &str, _: bool) {}
    fn stats(&self) -> HubStats {
        HubStats {
            connected: true,
            ..HubStats::default()
        }
    }
}
