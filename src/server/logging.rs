//! What a [`Server`](super::Server) logs by itself, whatever its handlers
//! do: one place for every line, under the target `stdws::server`.
//!
//! | level | line |
//! |---|---|
//! | INFO  | a connection opened (peer, path, client id, subprotocol) and closed (close code, reason, duration); a handshake refused with the HTTP status answered (400, 401, 403, 404, 408, 426, 431, 503, ...); a failed TLS handshake |
//! | WARN  | a client's connection failed (protocol violation, limit, timeout, an error from a handler); a thread that cannot start |
//! | DEBUG | a connection accepted; a handshake that ended without an answer (the peer left) |
//! | TRACE | each message, ping and pong received |
//!
//! Paths are logged without their query (which may carry a token), and
//! credentials never.

use std::net::SocketAddr;
use std::time::Duration;

use super::client::Client;
use crate::close_code::CloseCode;
use crate::error::Error;
use crate::message::Message;

/// The target of every line: filter with `RUST_LOG=stdws::server=debug`.
pub(crate) const TARGET: &str = "stdws::server";

pub(crate) fn accepted(peer: SocketAddr, id: u64) {
    log::debug!(target: TARGET, "{peer}: accepted (client {id})");
}

pub(crate) fn tls_failed(peer: SocketAddr, error: &Error) {
    log::info!(target: TARGET, "{peer}: TLS handshake failed: {error}");
}

/// A handshake that ended before an upgrade: `error` says with which
/// status it was answered, if it was.
pub(crate) fn refused(peer: SocketAddr, path: Option<&str>, error: &Error) {
    let path = path.unwrap_or("-");
    match error {
        Error::Handshake(e) if e.status().is_some() => {
            log::info!(target: TARGET, "{peer} {path}: refused {e}");
        }
        _ => log::debug!(target: TARGET, "{peer} {path}: handshake ended: {error}"),
    }
}

/// Over `max_connections`: answered 503 before the handshake.
pub(crate) fn busy(peer: SocketAddr, max_connections: usize) {
    log::info!(target: TARGET, "{peer}: refused 503: {max_connections} connections already");
}

pub(crate) fn opened(client: &Client) {
    let (peer, path, id) = (client.peer_addr(), client.path(), client.id());
    match client.protocol() {
        Some(protocol) => {
            log::info!(target: TARGET, "{peer} {path}: opened (client {id}, subprotocol {protocol})")
        }
        None => log::info!(target: TARGET, "{peer} {path}: opened (client {id})"),
    }
}

pub(crate) fn closed(client: &Client, code: CloseCode, reason: &str, lasted: Duration) {
    let (peer, path, id) = (client.peer_addr(), client.path(), client.id());
    log::info!(
        target: TARGET,
        "{peer} {path}: closed {code} {reason:?} after {lasted:.3?} (client {id})"
    );
}

pub(crate) fn failed(client: &Client, error: &Error) {
    let (peer, path, id) = (client.peer_addr(), client.path(), client.id());
    log::warn!(target: TARGET, "{peer} {path}: {error} (client {id})");
}

pub(crate) fn message(client: &Client, message: &Message) {
    let kind = if message.is_text() {
        "text message"
    } else {
        "binary message"
    };
    received(client, kind, message.len());
}

/// A ping or pong received.
pub(crate) fn control(client: &Client, kind: &str, payload: &[u8]) {
    received(client, kind, payload.len());
}

fn received(client: &Client, kind: &str, len: usize) {
    log::trace!(
        target: TARGET,
        "{} {}: {kind} of {len} bytes (client {})",
        client.peer_addr(),
        client.path(),
        client.id()
    );
}

pub(crate) fn no_thread(peer: SocketAddr, error: &std::io::Error) {
    log::warn!(target: TARGET, "{peer}: refused 503: cannot start a thread: {error}");
}
