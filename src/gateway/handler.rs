//! The gateway as a [`Handler`]: each client's events become hooks, called
//! from the client's own thread, one at a time and in order.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::events::Event;
use super::hooks::{HookReply, HookRequest};
use super::native::{self, Accepted};
use super::over_http::{self, Relay};
use super::registry::{Conn, ConnInfo, Initiator};
use super::typhoonae::{self, Hook};
use super::{Gateway, HookFailure, Mode, Shared};
use crate::{Admission, Client, CloseCode, CloseFrame, Error, Handler, Message, Reject, Request};

/// A client's tie to its registry entry, attached at the handshake.
///
/// Dropped with the client: one whose 101 never went out (the handshake
/// failed after the connect hook accepted it) is never opened, and its
/// drop owes the application the close hook.
pub(crate) struct Admitted {
    pub(crate) conn: Arc<Conn>,
    /// The connection's relay, in WebSocket-over-HTTP mode.
    relay: Option<Arc<Relay>>,
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
            // The relay tells the upstream (CLOSE or DISCONNECT).
            Mode::WebSocketOverHttp => return,
        };
        self.call(&request);
    }

    /// The connect hook. The connection is in the registry while the hook
    /// runs, so the application may already send to it (the messages
    /// follow the 101); a refusal takes it out again, with no close hook.
    fn admit(self: &Arc<Self>, request: &Request) -> Result<Admission, Reject> {
        // The server's id for the connection (unique across a cluster), so
        // the hub can reach it from any node.
        let id = request
            .connection_id()
            .map_or_else(|| self.registry.new_id(), str::to_owned);
        let conn = self.registry.insert(ConnInfo {
            id,
            path: request.path().to_owned(),
            user: request.user().map(str::to_owned),
        });
        let admitted = self.connect(&conn, request);
        if admitted.is_err() {
            self.registry.remove(&conn.id);
            conn.forget();
        }
        let (accepted, relay) = admitted?;
        conn.accept(accepted.meta);
        let mut admission = Admission::new();
        for topic in accepted.topics {
            admission = admission.subscribe(topic);
        }
        for (name, value) in accepted.headers {
            admission = admission.header(name, value);
        }
        if let Some(protocol) = accepted.subprotocol {
            admission = admission.protocol(protocol);
        }
        Ok(admission.data(Admitted {
            conn,
            relay,
            shared: Arc::downgrade(self),
        }))
    }

    fn connect(
        self: &Arc<Self>,
        conn: &Arc<Conn>,
        request: &Request,
    ) -> Result<(Accepted, Option<Arc<Relay>>), Reject> {
        let hook = match self.mode {
            Mode::Native => native::connect(&self.upstream, &conn.id, request),
            Mode::TyphoonAe => typhoonae::handshake(&self.upstream, &conn.id, request),
            Mode::WebSocketOverHttp => {
                let opened = over_http::open(self, conn, request)?;
                let accepted = Accepted {
                    subprotocol: opened.protocol,
                    headers: opened.headers,
                    ..Accepted::default()
                };
                return Ok((accepted, Some(opened.relay)));
            }
        };
        let Some(reply) = self.call(&hook) else {
            return Err(Reject::new(503, "application unavailable"));
        };
        if !reply.is_success() {
            return Err(rejection(reply));
        }
        let accepted = match self.mode {
            Mode::Native => native::accepted(&reply)?,
            _ => Accepted::default(),
        };
        Ok((accepted, None))
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
            // Its relay carries messages (see on_message).
            Mode::WebSocketOverHttp => return,
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

    /// A hook failed for good: the connection follows the policy.
    pub(crate) fn failed(&self, conn: &Conn) {
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
    let status = if (400..600).contains(&reply.status) {
        reply.status
    } else {
        // A 1xx or 3xx cannot stand in for a 101 refusal.
        502
    };
    reply.refusal(Reject::new(status, "refused by the application"))
}

fn admitted(client: &Client) -> Option<&Admitted> {
    client.data::<Admitted>()
}

impl Handler for Gateway {
    fn handshake(&self, request: &Request) -> Result<Admission, Reject> {
        self.shared.admit(request)
    }

    fn on_open(&self, client: &Client) -> Result<(), Error> {
        self.shared.clients.get_or_init(|| client.clients().clone());
        if let Some(admitted) = admitted(client) {
            admitted.conn.open(client);
            if let Some(relay) = &admitted.relay {
                relay.start(client);
            }
        }
        Ok(())
    }

    fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
        let Some(admitted) = admitted(client) else {
            return Ok(());
        };
        match &admitted.relay {
            Some(relay) => {
                admitted.conn.received();
                relay.push(match message {
                    Message::Text(text) => Event::Text(text.into_bytes()),
                    Message::Binary(data) => Event::Binary(data),
                });
            }
            None => self.shared.message(&admitted.conn, client, message),
        }
        Ok(())
    }

    fn on_ping(&self, client: &Client, payload: &[u8]) -> Result<(), Error> {
        if let Some(relay) = admitted(client).and_then(|a| a.relay.as_ref()) {
            relay.push(Event::Ping(payload.to_vec()));
        }
        Ok(())
    }

    fn on_pong(&self, client: &Client, payload: &[u8]) -> Result<(), Error> {
        if let Some(relay) = admitted(client).and_then(|a| a.relay.as_ref()) {
            relay.push(Event::Pong(payload.to_vec()));
        }
        Ok(())
    }

    fn passive_close(&self, client: &Client, frame: Option<&CloseFrame>) -> Option<CloseFrame> {
        match admitted(client).and_then(|a| a.relay.as_ref()) {
            // The upstream's CLOSE answers the client's.
            Some(relay) => {
                let wait = self.shared.hooks.timeout() + Duration::from_secs(1);
                relay.client_closed(frame, wait)
            }
            None => crate::session::echo_close(frame),
        }
    }

    fn on_error(&self, client: &Client, error: &Error) {
        log::debug!("client {}: {error}", client.id());
        if let Some(admitted) = admitted(client) {
            admitted.conn.errored();
        }
    }

    fn on_close(&self, client: &Client, code: CloseCode, reason: &str) {
        if let Some(admitted) = admitted(client) {
            self.shared.registry.remove(&admitted.conn.id);
            if let Some(relay) = &admitted.relay {
                relay.ended(code != CloseCode::ABNORMAL);
            }
            self.shared.closed(&admitted.conn, code, reason);
        }
    }
}
