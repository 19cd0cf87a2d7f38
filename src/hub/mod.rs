//! Beyond one process: connection ids unique across a cluster.

mod id;

pub use id::{ConnectionId, IdError, NodeId};
