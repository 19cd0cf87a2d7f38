//! [`NodeId`] and [`ConnectionId`]: names that stay unique across a
//! cluster and over time, so "send to connection X" works from any node
//! and never reaches a stranger who got X's number later.
//!
//! A node id is the node's name (`stdws serve --node-id`) and a random
//! component drawn at every start; a connection id is its node's id and a
//! number counted from 1 within that start. Their text forms use letters,
//! digits, `-`, `_` and `.` only (safe in a URL path segment, a Redis
//! channel name and a log line):
//!
//! ```text
//!   eu-1.9f3a0c2e71b04d88.42
//!   └─┬┘ └──────┬───────┘ └┬┘
//!   name  start (hex)     number
//! ```

use std::fmt::{self, Write as _};
use std::str::FromStr;
use std::sync::Arc;

use rand::RngExt;

/// The longest node name, in bytes.
const MAX_NODE_NAME: usize = 64;

/// A text that is not a node name, node id or connection id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdError(&'static str);

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for IdError {}

/// One start of one node: its name and a component drawn at random when it
/// started, so a node restarted under the same name hands out new ids.
///
/// ```
/// let node = stdws::NodeId::new("eu-1")?;
/// assert_eq!(node.name(), "eu-1");
/// assert_ne!(node, stdws::NodeId::new("eu-1")?, "another start, another id");
/// assert_eq!(node.to_string().parse::<stdws::NodeId>()?, node);
/// # Ok::<(), stdws::IdError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(Arc<Parts>);

#[derive(PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Parts {
    name: String,
    start: u64,
}

impl NodeId {
    /// A new start of the node `name` (1 to 64 letters, digits, `-`, `_`,
    /// `.`).
    pub fn new(name: &str) -> Result<NodeId, IdError> {
        check_name(name)?;
        Ok(NodeId::from_parts(name, rand::rng().random()))
    }

    fn from_parts(name: &str, start: u64) -> NodeId {
        NodeId(Arc::new(Parts {
            name: name.to_owned(),
            start,
        }))
    }

    /// The node's name, the same at every start.
    pub fn name(&self) -> &str {
        &self.0.name
    }
}

impl Default for NodeId {
    /// A start of the node named `node`.
    fn default() -> NodeId {
        NodeId::new("node").expect("a valid name")
    }
}

fn check_name(name: &str) -> Result<(), IdError> {
    if name.is_empty() || name.len() > MAX_NODE_NAME {
        return Err(IdError("a node name is 1 to 64 bytes"));
    }
    if !name.bytes().all(id_byte) {
        return Err(IdError(
            "a node name has letters, digits, '-', '_' and '.' only",
        ));
    }
    Ok(())
}

fn id_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

/// A number in its one spelling: lower-case hex or decimal without
/// leading zeros, so that a text and an id map one to one.
fn number(text: &str, radix: u32) -> Result<u64, IdError> {
    let canonical = !text.is_empty()
        && (text == "0" || !text.starts_with('0'))
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (radix == 16 && matches!(b, b'a'..=b'f')));
    if !canonical {
        return Err(IdError("not an id"));
    }
    u64::from_str_radix(text, radix).map_err(|_| IdError("not an id"))
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:x}", self.0.name, self.0.start)
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({self})")
    }
}

impl FromStr for NodeId {
    type Err = IdError;

    fn from_str(text: &str) -> Result<NodeId, IdError> {
        let (name, start) = text.rsplit_once('.').ok_or(IdError("not a node id"))?;
        check_name(name)?;
        Ok(NodeId::from_parts(name, number(start, 16)?))
    }
}

/// A connection's id, unique across a cluster and never reused: its
/// node's [`NodeId`] and a number counted from 1 within that node's start.
/// [`Client::id`](crate::Client::id) gives it; its text form (`Display`,
/// `FromStr`) is URL-safe. Ids of one node start order as their
/// connections were accepted.
///
/// ```
/// use stdws::ConnectionId;
///
/// let id: ConnectionId = "eu-1.9f3a0c2e71b04d88.42".parse()?;
/// assert_eq!(id.node().name(), "eu-1");
/// assert_eq!(id.number(), 42);
/// assert_eq!(id.to_string(), "eu-1.9f3a0c2e71b04d88.42");
/// assert!("eu-1.9f3a0c2e71b04d88.042".parse::<ConnectionId>().is_err());
/// # Ok::<(), stdws::IdError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId {
    node: NodeId,
    number: u64,
}

impl ConnectionId {
    /// The id of connection `number` of `node`.
    pub fn new(node: NodeId, number: u64) -> ConnectionId {
        ConnectionId { node, number }
    }

    /// The node (and start) the connection belongs to.
    pub fn node(&self) -> &NodeId {
        &self.node
    }

    /// The connection's number within its node's start.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// `to_string()` in one allocation of its final size (`to_string`
    /// grows its buffer piece by piece, and a server's client thread would
    /// keep the outgrown ones in its malloc cache).
    pub(crate) fn text(&self) -> String {
        let hex_digits = (u64::BITS - self.node.0.start.leading_zeros())
            .div_ceil(4)
            .max(1);
        let digits = self.number.checked_ilog10().map_or(1, |d| d + 1);
        let len = self.node.0.name.len() + 1 + hex_digits as usize + 1 + digits as usize;
        let mut text = String::with_capacity(len);
        let _ = write!(text, "{self}");
        debug_assert_eq!(text.len(), len);
        text
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.node, self.number)
    }
}

impl fmt::Debug for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnectionId({self})")
    }
}

impl FromStr for ConnectionId {
    type Err = IdError;

    fn from_str(text: &str) -> Result<ConnectionId, IdError> {
        let (node, number_text) = text
            .rsplit_once('.')
            .ok_or(IdError("not a connection id"))?;
        Ok(ConnectionId {
            node: node.parse()?,
            number: number(number_text, 10)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_their_text_and_it_is_url_safe() {
        let node = NodeId::new("a.b-c_D9").unwrap();
        for number in [0, 1, 42, u64::MAX] {
            let id = ConnectionId::new(node.clone(), number);
            let text = id.to_string();
            assert!(text.bytes().all(id_byte), "{text}");
            assert_eq!(text.parse::<ConnectionId>().unwrap(), id);
        }
        assert_eq!(node.to_string().parse::<NodeId>().unwrap(), node);
    }

    #[test]
    fn an_ids_text_is_made_in_a_buffer_of_exactly_its_size() {
        for start in [0, 1, 0xf, 0x10, 0x9f3a_0c2e_71b0_4d88, u64::MAX] {
            let node = NodeId(Arc::new(Parts {
                name: "eu-1".into(),
                start,
            }));
            for number in [0, 9, 10, 42, 99, 100, u64::MAX] {
                let id = ConnectionId::new(node.clone(), number);
                let text = id.text();
                assert_eq!(text, id.to_string());
                assert_eq!(text.capacity(), text.len(), "{text}");
            }
        }
    }

    #[test]
    fn every_text_but_the_one_spelling_of_an_id_is_refused() {
        for bad in [
            "",
            "n",
            "n.1",
            ".1.1",
            "n..1",
            "n.1.",
            "n.01.1",
            "n.1.01",
            "n.A.1",
            "n.1.+1",
            "n.1.-1",
            "n/x.1.1",
            "n x.1.1",
            "n.10000000000000000.1",
            "n.1.18446744073709551616",
        ] {
            assert!(bad.parse::<ConnectionId>().is_err(), "{bad:?}");
        }
        assert!(NodeId::new(&"x".repeat(65)).is_err());
        assert!(NodeId::new("é").is_err());
        assert!(NodeId::new(&"x".repeat(64)).is_ok());
    }

    #[test]
    fn a_node_restarted_under_its_name_gets_new_ids_and_ids_order_by_number() {
        let first = NodeId::new("n").unwrap();
        let again = NodeId::new("n").unwrap();
        assert_ne!(first, again);
        assert_ne!(
            ConnectionId::new(first.clone(), 1),
            ConnectionId::new(again, 1)
        );
        assert!(ConnectionId::new(first.clone(), 9) < ConnectionId::new(first, 10));
    }
}
