//! The gateway as a [`Handler`]: each client's events become hooks, called
//! from the client's own thread, one at a time and in order.

use std::sync::{Arc, Weak};

use super::hooks::{HookReply, HookRequest};
use super::native::{self, Accepted};
use super::registry::{Conn, ConnInfo, Initiator};
use super::typhoonae::{self, Hook};
use super::{Gateway, HookFailure, Mode, Shared, MAX_REJECT_BODY};
use crate::{Admission, Client, CloseCode, Error, Handler, Message, Reject, Request};

/// A client's tie to its registry entry, attached at the handshake.
///
/// Dropped with the client: one whose 101 never went out (the handshake
/// failed after the connect hook accepted it) is never opened, and its
/// drop owes the application the close hook.
pub(crate) struct Admitted {
    pub(crate) conn: Arc<Conn>,
    shared: Weak<Shared>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if self.conn.is_open() {
            return;
        }
        if let Some(shared) = self.shared.upgrade() {
            shared.registry.remove(&self.conn.id);
            shared.closed(&self.conn, CloseCode::ABNORMAL, "");
        }
    }
}

impl Shared {
    /// Calls a hook; a failure is logged and returned.
    fn call(&self, request: &HookRequest) -> Option<HookReply> {
        match self.hooks.call(request) {
            Ok(reply) => Some(reply),
            Err(e) => {
                log::warn!("{}: {e}", request.url);
                None
            }
        }
    }

    /// Sends the close hook, if still owed.
    pub(crate) fn closed(&self, conn: &Conn, code: CloseCode, reason: &str) {
        let Some((code, reason, initiator)) = conn.ending(code, reason) else {
            return;
        };
        let seq = conn.next_seq();
        let request = match self.mode {
            Mode::Native => native::close(&self.upstream, &conn.id, seq, code, &reason, initiator),
            Mode::TyphoonAe => {
                typhoonae::hook(&self.upstream, Hook::Closed, &conn.path, &conn.id, seq, b"")
            }
        };
        self.call(&request);
    }

    /// The connect hook. The connection is in the registry while the hook
    /// runs, so the application may already send to it (the messages
    /// follow the 101); a refusal takes it out again, with no close hook.
    fn admit(self: &Arc<Self>, request: &Request) -> Result<Admission, Reject> {
        let conn = self.registry.insert(ConnInfo {
            id: self.registry.new_id(),
            path: request.path().to_owned(),
            user: request.user().map(str::to_owned),
        });
        let admitted = self.connect(&conn, request);
        if admitted.is_err() {
            self.registry.remove(&conn.id);
            conn.forget();
        }
        let accepted = admitted?;
        conn.accept(accepted.topics, accepted.meta);
        let mut admission = Admission::new().data(Admitted {
            conn,
            shared: Arc::downgrade(self),
        });
        if let Some(protocol) = accepted.subprotocol {
            admission = admission.protocol(protocol);
        }
        Ok(admission)
    }

    fn connect(&self, conn: &Conn, request: &Request) -> Result<Accepted, Reject> {
        let hook = match self.mode {
            Mode::Native => native::connect(&self.upstream, &conn.id, request),
            Mode::TyphoonAe => typhoonae::handshake(&self.upstream, &conn.id, request),
        };
        let Some(reply) = self.call(&hook) else {
            return Err(Reject::new(503, "application unavailable"));
        };
        if !reply.is_success() {
            return Err(rejection(reply));
        }
        match self.mode {
            Mode::Native => native::accepted(&reply),
            Mode::TyphoonAe => Ok(Accepted::default()),
        }
    }

    fn message(&self, conn: &Conn, client: &Client, message: Message) {
        conn.received();
        let seq = conn.next_seq();
        let request = match self.mode {
            Mode::Native => native::message(&self.upstream, &conn.id, seq, &message),
            Mode::TyphoonAe => typhoonae::hook(
                &self.upstream,
                Hook::Message,
                &conn.path,
                &conn.id,
                seq,
                message.as_bytes(),
            ),
        };
        match self.call(&request) {
            Some(reply) if reply.is_success() => {
                if self.mode == Mode::TyphoonAe {
                    return;
                }
                if let Some(answer) = native::reply(reply) {
                    // From the client's own thread: waits like a socket
                    // write when the client reads slowly.
                    if client.send(answer).is_ok() {
                        conn.sent();
                    }
                }
            }
            Some(reply) => {
                log::warn!("{}: status {}", request.url, reply.status);
                self.failed(conn);
            }
            None => self.failed(conn),
        }
    }

    fn failed(&self, conn: &Conn) {
        if self.on_failure == HookFailure::Close {
            conn.close(
                CloseCode::INTERNAL_ERROR,
                "application unavailable",
                Initiator::Error,
            );
        }
    }
}

/// The application's refusal as the client sees it: its status and (the
/// first 64 KiB of) its body.
fn rejection(reply: HookReply) -> Reject {
    let content_type = reply
        .header("content-type")
        .unwrap_or("application/octet-stream")
        .to_owned();
    let mut body = reply.body;
    body.truncate(MAX_REJECT_BODY);
    let status = if (400..600).contains(&reply.status) {
        reply.status
    } else {
        // A 1xx or 3xx cannot stand in for a 101 refusal.
        502
    };
    Reject::new(status, "refused by the application").body(content_type, body)
}

fn conn(client: &Client) -> Option<&Arc<Conn>> {
    client.data::<Admitted>().map(|a| &a.conn)
}

impl Handler for Gateway {
    fn handshake(&self, request: &Request) -> Result<Admission, Reject> {
        self.shared.admit(request)
    }

    fn on_open(&self, client: &Client) -> Result<(), Error> {
        if let Some(conn) = conn(client) {
            conn.open(client);
        }
        Ok(())
    }

    fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
        if let Some(conn) = conn(client) {
            self.shared.message(conn, client, message);
        }
        Ok(())
    }

    fn on_error(&self, client: &Client, error: &Error) {
        log::debug!("client {}: {error}", client.id());
        if let Some(conn) = conn(client) {
            conn.errored();
        }
    }

    fn on_close(&self, client: &Client, code: CloseCode, reason: &str) {
        if let Some(conn) = conn(client) {
            self.shared.registry.remove(&conn.id);
            self.shared.closed(conn, code, reason);
        }
    }
}
