//! The control API: the application's way back to its connections, on a
//! listener of its own (plain HTTP, JSON answers).
//!
//! | request | answer |
//! |---|---|
//! | `POST /connections/{id}/send` | 202 `{"sent": 1}`; 404 unknown id; 503 its queue is full (it is then closed) |
//! | `POST /send?id=A&id=B` | 202 `{"sent": [...], "unknown": [...]}` (and `"full": [...]` if any) |
//! | `POST /broadcast` | 202 `{"sent": N}` |
//! | `POST /topics/{topic}/publish` | 202 `{"sent": N}` |
//! | `PUT` / `DELETE /topics/{topic}/connections/{id}` | 200 `{"id", "topic", "subscribed"}`; 404 |
//! | `GET /connections/{id}` | 200 the connection; 404 |
//! | `GET /connections[?topic=T][&user=U]` | 200 a JSON array of the same |
//! | `DELETE /connections/{id}[?code=4000&reason=…]` | 202 `{"closing": id}`; 400 a code that may not be sent |
//! | `GET /healthz` | 200 `{"status": "ok", "connections": N}` |
//! | `POST /message` (TyphoonAE mode; the id in `X-TyphoonAE-WebSocket`) | 202 / 404 |
//!
//! Bodies to send are raw; their `Content-Type` picks text (`text/*`,
//! JSON) or binary (TyphoonAE mode: no Content-Type is text). With a token,
//! every request needs `Authorization: Bearer <token>` (else 401). Bodies
//! over the limit are 413.
//!
//! Connection ids are the server's ([`ConnectionId`]): with a
//! [`Hub`](crate::hub::Hub) (`stdws gateway --redis`), sends, closes and
//! subscriptions for a connection of another node go to that node,
//! broadcasts and publishes reach every node's clients (answering how many
//! took it here), and `GET /connections` lists this node's.

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::http::{percent_decode, query_pairs, HttpRequest, HttpResponse, HttpServer, Limits};
use super::native::is_text;
use super::registry::{Conn, Initiator, SendError};
use super::typhoonae;
use super::{GatewayError, Mode, Shared};
use crate::handshake::HeadLimits;
use crate::{CloseCode, CloseFrame, Command, CommandError, ConnectionId, Message};

/// Default cap on a control request's body.
pub const DEFAULT_MAX_CONTROL_BODY: usize = 16 << 20;

/// Default cap on control connections open at once.
pub const DEFAULT_MAX_CONTROL_CONNECTIONS: usize = 256;

/// Options for the control listener; made by
/// [`Gateway::control`](super::Gateway::control).
#[must_use = "a builder does nothing until bind()"]
pub struct ControlBuilder {
    shared: Arc<Shared>,
    token: Option<String>,
    max_body: usize,
    max_connections: usize,
    idle_timeout: Duration,
}

impl ControlBuilder {
    pub(crate) fn new(shared: Arc<Shared>) -> ControlBuilder {
        ControlBuilder {
            shared,
            token: None,
            max_body: DEFAULT_MAX_CONTROL_BODY,
            max_connections: DEFAULT_MAX_CONTROL_CONNECTIONS,
            idle_timeout: Duration::from_secs(30),
        }
    }

    /// Every request must carry `Authorization: Bearer <token>`
    /// (surrounding whitespace of `token` is ignored). Required to listen
    /// on an address that is not loopback.
    pub fn token(mut self, token: impl Into<String>) -> ControlBuilder {
        self.token = Some(token.into().trim().to_owned());
        self
    }

    /// Most bytes of a request body (default 16 MiB; over: 413).
    pub fn max_body(mut self, bytes: usize) -> ControlBuilder {
        self.max_body = bytes;
        self
    }

    /// Most control connections at once (default 256; over: 503).
    pub fn max_connections(mut self, n: usize) -> ControlBuilder {
        self.max_connections = n;
        self
    }

    /// How long a kept-alive control connection may idle (default 30 s).
    pub fn idle_timeout(mut self, timeout: Duration) -> ControlBuilder {
        self.idle_timeout = timeout;
        self
    }

    /// Binds and starts serving. An address that is not loopback needs a
    /// [`token`](Self::token) ([`GatewayError::Unprotected`]).
    pub fn bind<A: ToSocketAddrs>(self, addr: A) -> Result<ControlServer, GatewayError> {
        let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
        if self.token.as_deref().map_or(true, str::is_empty) {
            // Refused before binding: an open control port would let anyone
            // on the network send to (and close) every client.
            if let Some(open) = addrs.iter().find(|a| !a.ip().is_loopback()) {
                return Err(GatewayError::Unprotected(*open));
            }
        }
        let listener = TcpListener::bind(&addrs[..])?;
        let limits = Limits {
            head: HeadLimits {
                max_bytes: 16 << 10,
                max_line: 8 << 10,
                max_headers: 100,
            },
            max_body: self.max_body,
            max_connections: self.max_connections,
            idle: self.idle_timeout,
        };
        let api = Api {
            shared: self.shared,
            token: self.token.filter(|t| !t.is_empty()),
        };
        let server = HttpServer::start(listener, limits, Box::new(move |r| api.handle(r)))?;
        Ok(ControlServer { server })
    }
}

/// The running control API; dropping it stops it.
pub struct ControlServer {
    server: HttpServer,
}

impl ControlServer {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Stops listening and ends every control connection.
    pub fn shutdown(&mut self) {
        self.server.shutdown();
    }
}

impl std::fmt::Debug for ControlServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlServer")
            .field("local_addr", &self.local_addr())
            .finish()
    }
}

struct Api {
    shared: Arc<Shared>,
    token: Option<String>,
}

impl Api {
    fn handle(&self, request: &HttpRequest) -> HttpResponse {
        if let Some(token) = &self.token {
            let given = request
                .headers
                .get("Authorization")
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim);
            if !given.is_some_and(|g| same(g.as_bytes(), token.as_bytes())) {
                let mut answer = HttpResponse::error(401, "a bearer token is required");
                answer
                    .headers
                    .push(("WWW-Authenticate", "Bearer realm=\"stdws\"".into()));
                return answer;
            }
        }
        let segments: Vec<String> = request
            .path
            .trim_start_matches('/')
            .split('/')
            .map(|s| percent_decode(s, false))
            .collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let method = request.method.as_str();
        match (method, segments.as_slice()) {
            ("GET", ["healthz"]) => HttpResponse::json(
                200,
                &json!({"status": "ok", "connections": self.shared.registry.len()}),
            ),
            ("POST", ["connections", id, "send"]) => self.send_one(id, request),
            ("POST", ["send"]) => self.send_many(request),
            ("POST", ["broadcast"]) => self.send_all(request, None),
            ("POST", ["topics", topic, "publish"]) => self.send_all(request, Some(topic)),
            ("PUT" | "DELETE", ["topics", topic, "connections", id]) => {
                self.subscribe(topic, id, method == "PUT")
            }
            ("GET", ["connections", id]) => match self.shared.registry.get(id) {
                Some(conn) => HttpResponse::json(200, &conn.to_json()),
                None => unknown(),
            },
            ("GET", ["connections"]) => self.list(request),
            ("DELETE", ["connections", id]) => self.close(id, request),
            ("POST", ["message"]) if self.shared.mode == Mode::TyphoonAe => {
                let id = request.headers.get(typhoonae::HEADER).unwrap_or("");
                self.send_one(id, request)
            }
            (_, ["healthz" | "send" | "broadcast" | "message"])
            | (_, ["connections", ..] | ["topics", ..]) => {
                HttpResponse::error(405, "method not allowed")
            }
            _ => HttpResponse::error(404, "no such endpoint"),
        }
    }

    /// The message a request's body is.
    fn message(&self, request: &HttpRequest) -> Result<Message, HttpResponse> {
        let media = request.headers.get("Content-Type").map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
        let text = match media {
            None => self.shared.mode == Mode::TyphoonAe,
            Some(m) => is_text(Some(&m)),
        };
        if text {
            String::from_utf8(request.body.clone())
                .map(Message::Text)
                .map_err(|_| HttpResponse::error(400, "a text body must be UTF-8"))
        } else {
            Ok(Message::Binary(request.body.clone()))
        }
    }

    /// Runs `local` on a connection of this gateway, or hands `remote`'s
    /// command to the server's hub for a connection of another node.
    fn on_connection(
        &self,
        id: &str,
        local: impl FnOnce(&Conn) -> Result<(), SendError>,
        remote: impl FnOnce(ConnectionId) -> Command,
    ) -> Result<(), SendError> {
        if let Some(conn) = self.shared.registry.get(id) {
            return local(&conn);
        }
        let (Some(clients), Ok(to)) = (self.shared.clients.get(), id.parse::<ConnectionId>())
        else {
            return Err(SendError::Gone);
        };
        if clients.get(&to).is_some() {
            // A client of this server the gateway does not serve.
            return Err(SendError::Gone);
        }
        match clients.execute(remote(to)) {
            Ok(_) => Ok(()),
            Err(CommandError::Dropped) => Err(SendError::QueueFull),
            Err(_) => Err(SendError::Gone),
        }
    }

    fn send_to(&self, id: &str, message: &Message) -> Result<(), SendError> {
        self.on_connection(
            id,
            |conn| conn.send(message),
            |to| Command::Send {
                to,
                message: message.clone(),
            },
        )
    }

    fn send_one(&self, id: &str, request: &HttpRequest) -> HttpResponse {
        let message = match self.message(request) {
            Ok(message) => message,
            Err(answer) => return answer,
        };
        match self.send_to(id, &message) {
            Ok(()) => HttpResponse::json(202, &json!({"sent": 1})),
            Err(SendError::Gone) => unknown(),
            Err(SendError::QueueFull) => full(),
        }
    }

    fn send_many(&self, request: &HttpRequest) -> HttpResponse {
        let message = match self.message(request) {
            Ok(message) => message,
            Err(answer) => return answer,
        };
        let (mut sent, mut unknown, mut full) = (Vec::new(), Vec::new(), Vec::new());
        for (name, id) in query_pairs(request.query.as_deref()) {
            if name != "id" {
                continue;
            }
            match self.send_to(&id, &message) {
                Ok(()) => sent.push(id),
                Err(SendError::Gone) => unknown.push(id),
                Err(SendError::QueueFull) => full.push(id),
            }
        }
        let mut answer = json!({"sent": sent, "unknown": unknown});
        if !full.is_empty() {
            answer["full"] = json!(full);
        }
        HttpResponse::json(202, &answer)
    }

    /// A broadcast (no topic) or a publish, through the server's clients:
    /// encoded once, never waiting on a slow client (one that cannot take
    /// it is closed, 1008, by its own queue), and through the server's hub
    /// to the other nodes. Answers how many clients here took it.
    fn send_all(&self, request: &HttpRequest, topic: Option<&str>) -> HttpResponse {
        let message = match self.message(request) {
            Ok(message) => message,
            Err(answer) => return answer,
        };
        let Some(clients) = self.shared.clients.get() else {
            // No client has ever opened, and no server was attached.
            return HttpResponse::json(202, &json!({ "sent": 0 }));
        };
        let sent = match topic {
            Some(topic) => clients.publish(topic, &message),
            None => clients.broadcast(&message),
        };
        for conn in self.shared.registry.list() {
            if conn.is_open() && topic.map_or(true, |t| conn.has_topic(t)) {
                conn.sent();
            }
        }
        HttpResponse::json(202, &json!({ "sent": sent }))
    }

    fn subscribe(&self, topic: &str, id: &str, on: bool) -> HttpResponse {
        let mut refused = None;
        let done = self.on_connection(
            id,
            |conn| {
                conn.set_topic(topic, on).map_err(|e| {
                    refused = Some(e.to_string());
                    SendError::Gone
                })
            },
            |to| match on {
                true => Command::Subscribe {
                    to,
                    topic: topic.to_owned(),
                },
                false => Command::Unsubscribe {
                    to,
                    topic: topic.to_owned(),
                },
            },
        );
        match (done, refused) {
            (_, Some(why)) => HttpResponse::error(400, &why),
            (Ok(()), None) => {
                HttpResponse::json(200, &json!({"id": id, "topic": topic, "subscribed": on}))
            }
            (Err(SendError::QueueFull), None) => full(),
            (Err(SendError::Gone), None) => unknown(),
        }
    }

    fn list(&self, request: &HttpRequest) -> HttpResponse {
        let pairs = query_pairs(request.query.as_deref());
        let wanted = |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let (topic, user) = (wanted("topic"), wanted("user"));
        let list: Vec<Value> = self
            .shared
            .registry
            .list()
            .iter()
            .filter(|c| topic.map_or(true, |t| c.has_topic(t)))
            .filter(|c| user.map_or(true, |u| c.user.as_deref() == Some(u)))
            .map(|c| c.to_json())
            .collect();
        HttpResponse::json(200, &Value::Array(list))
    }

    fn close(&self, id: &str, request: &HttpRequest) -> HttpResponse {
        let pairs = query_pairs(request.query.as_deref());
        let code = match pairs.iter().find(|(n, _)| n == "code") {
            None => CloseCode::NORMAL,
            Some((_, v)) => match v.parse::<u16>() {
                Ok(c) => CloseCode(c),
                Err(_) => return HttpResponse::error(400, "code must be a number"),
            },
        };
        let reason = pairs
            .iter()
            .find(|(n, _)| n == "reason")
            .map_or("", |(_, v)| v.as_str());
        // The same rules as any close an application sends (RFC 6455
        // §7.4: no 1005/1006/1015, reason at most 123 bytes).
        if let Err(e) = CloseFrame::to_send(code, reason) {
            return HttpResponse::error(400, &e.to_string());
        }
        let closed = self.on_connection(
            id,
            |conn| {
                conn.close(code, reason, Initiator::Server);
                Ok(())
            },
            |to| Command::Close {
                to,
                code,
                reason: reason.to_owned(),
            },
        );
        match closed {
            Ok(()) => HttpResponse::json(202, &json!({ "closing": id })),
            Err(SendError::QueueFull) => full(),
            Err(SendError::Gone) => unknown(),
        }
    }
}

fn unknown() -> HttpResponse {
    HttpResponse::error(404, "unknown connection")
}

fn full() -> HttpResponse {
    HttpResponse::error(503, "the connection's queue is full; it is being closed")
}

/// Compares without stopping at the first difference, so the time taken
/// does not tell how much of a guessed token was right.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
