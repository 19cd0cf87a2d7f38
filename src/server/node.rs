//! The server as one node of a cluster: [`Command`]s for a connection run
//! here when it is ours and go to the hub otherwise; what the hub brings
//! from other nodes is served to this server's clients only (never handed
//! back to the hub, which would echo it around the cluster).

use std::sync::{Arc, Weak};

use super::client::{Clients, Registry};
use crate::close_frame::CloseFrame;
use crate::hub::{Command, CommandError, ConnectionId, LocalNode, NodeId, Route};
use crate::message::Message;

use super::topics::check_topic;

impl Clients {
    /// Runs `command` on its connection: here when the connection is one
    /// of this server's ([`Route::Local`], done), else through the
    /// server's [`Hub`](crate::hub::Hub) on the connection's node
    /// ([`Route::Forwarded`]: at-most-once, nothing comes back). An
    /// invalid command (a close code that must not be sent, a topic name
    /// out of bounds) fails here, wherever its connection is.
    pub fn execute(&self, command: Command) -> Result<Route, CommandError> {
        check(&command)?;
        if command.to().node() == &self.registry.node {
            self.execute_here(command).map(|()| Route::Local)
        } else {
            self.registry
                .hub
                .forward(&command)
                .map(|()| Route::Forwarded)
        }
    }

    fn execute_here(&self, command: Command) -> Result<(), CommandError> {
        let client = self
            .get(command.to())
            .ok_or(CommandError::UnknownConnection)?;
        let done = match command {
            Command::Send { message, .. } => client.send(message),
            Command::Close { code, reason, .. } => client.close(code, &reason),
            Command::Subscribe { topic, .. } => client.subscribe(&topic).map(drop),
            Command::Unsubscribe { topic, .. } => {
                client.unsubscribe(&topic);
                Ok(())
            }
        };
        done.map_err(CommandError::Client)
    }
}

/// Refuses what no node would run, before it travels.
fn check(command: &Command) -> Result<(), CommandError> {
    match command {
        Command::Close { code, reason, .. } => CloseFrame::to_send(*code, reason).map(drop),
        Command::Subscribe { topic, .. } | Command::Unsubscribe { topic, .. } => check_topic(topic),
        Command::Send { .. } => Ok(()),
    }
    .map_err(CommandError::Client)
}

/// The hub's view of a server; it does not keep the server alive.
struct Node {
    id: NodeId,
    registry: Weak<Registry>,
}

pub(super) fn attach(clients: &Clients) -> Arc<dyn LocalNode> {
    Arc::new(Node {
        id: clients.registry.node.clone(),
        registry: Arc::downgrade(&clients.registry),
    })
}

impl Node {
    fn clients(&self) -> Option<Clients> {
        self.registry.upgrade().map(Clients::from_registry)
    }
}

impl LocalNode for Node {
    fn node(&self) -> &NodeId {
        &self.id
    }

    fn publish(&self, topic: &str, message: &Message, except: Option<&ConnectionId>) -> usize {
        self.clients()
            .map_or(0, |c| c.publish_here(topic, message, except))
    }

    fn publish_batch(&self, topic: &str, batch: &[(Message, Option<ConnectionId>)]) -> usize {
        self.clients()
            .map_or(0, |c| c.publish_batch_here(topic, batch))
    }

    fn broadcast(&self, message: &Message) -> usize {
        self.clients()
            .map_or(0, |c| c.broadcast_if(message, |_| true))
    }

    fn execute(&self, command: Command) -> Result<(), CommandError> {
        let clients = self.clients().ok_or(CommandError::UnknownConnection)?;
        if command.to().node() != &self.id {
            return Err(CommandError::UnknownConnection);
        }
        check(&command)?;
        clients.execute_here(command)
    }

    fn topics(&self) -> Vec<String> {
        self.clients().map(|c| c.topics()).unwrap_or_default()
    }
}
