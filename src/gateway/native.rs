//! stdws's own hooks: `POST {prefix}/connect` with the handshake as JSON,
//! `/message` with the raw payload, `/close` with the code, reason and
//! initiator as JSON; each carries `Stdws-Connection-Id` and `Stdws-Seq`.

use serde_json::{json, Map, Value};

use super::hooks::{HookReply, HookRequest};
use super::registry::Initiator;
use crate::{CloseCode, Message, Reject, Request};

pub(crate) const TEXT: &str = "text/plain; charset=utf-8";
pub(crate) const BINARY: &str = "application/octet-stream";
const JSON: &str = "application/json";

/// The headers every hook carries.
pub(crate) fn ids(id: &str, seq: u64) -> Vec<(String, String)> {
    vec![
        ("Stdws-Connection-Id".into(), id.to_owned()),
        ("Stdws-Seq".into(), seq.to_string()),
    ]
}

pub(crate) fn connect(prefix: &str, id: &str, request: &Request) -> HookRequest {
    let body = json!({
        "path": request.path(),
        "query": request.query(),
        "headers": headers_json(request),
        "subprotocols": request.protocols(),
        "remote_addr": request.peer_addr().map(|a| a.to_string()),
        "tls": request.is_tls(),
        "user": request.user(),
    });
    HookRequest {
        url: format!("{prefix}/connect"),
        content_type: JSON,
        body: body.to_string().into_bytes(),
        headers: ids(id, 0),
    }
}

/// The request's header fields, names lower-cased; repeated fields are
/// joined with `, ` (RFC 9110 §5.3).
pub(crate) fn headers_json(request: &Request) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, value) in request.headers.iter() {
        let name = name.to_ascii_lowercase();
        match out.get_mut(&name) {
            Some(Value::String(v)) => {
                v.push_str(", ");
                v.push_str(value);
            }
            _ => {
                out.insert(name, Value::String(value.to_owned()));
            }
        }
    }
    out
}

/// What a 2xx answer to the connect hook may ask for.
#[derive(Debug, Default)]
pub(crate) struct Accepted {
    pub(crate) subprotocol: Option<String>,
    /// More fields for the 101.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) topics: Vec<String>,
    pub(crate) meta: Map<String, Value>,
}

/// Reads `{"subprotocol", "topics", "meta"}` from a 2xx answer (an empty
/// body asks for nothing). A body that is not that object is the
/// application's mistake: the client gets 502.
pub(crate) fn accepted(reply: &HookReply) -> Result<Accepted, Reject> {
    if reply.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Accepted::default());
    }
    let bad = |why: &str| {
        log::warn!("connect hook answered {}: {why}", reply.status);
        Reject::new(502, "bad answer from the application")
    };
    let value: Value = serde_json::from_slice(&reply.body).map_err(|e| bad(&e.to_string()))?;
    let Value::Object(mut object) = value else {
        return Err(bad("not a JSON object"));
    };
    let subprotocol = match object.remove("subprotocol") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err(bad("subprotocol is not a string")),
    };
    let topics = match object.remove("topics") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list
            .into_iter()
            .map(|t| match t {
                Value::String(s) => Ok(s),
                _ => Err(bad("a topic is not a string")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("topics is not a list")),
    };
    let meta = match object.remove("meta") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(meta)) => meta,
        Some(_) => return Err(bad("meta is not an object")),
    };
    Ok(Accepted {
        subprotocol,
        headers: Vec::new(),
        topics,
        meta,
    })
}

pub(crate) fn message(prefix: &str, id: &str, seq: u64, message: &Message) -> HookRequest {
    HookRequest {
        url: format!("{prefix}/message"),
        content_type: if message.is_text() { TEXT } else { BINARY },
        body: message.as_bytes().to_vec(),
        headers: ids(id, seq),
    }
}

/// The message a 200 answer sends back: its Content-Type picks text
/// (`text/*`, JSON) or binary. Other 2xx answers send nothing.
pub(crate) fn reply(reply: HookReply) -> Option<Message> {
    if reply.status != 200 {
        return None;
    }
    if is_text(reply.media_type().as_deref()) {
        match String::from_utf8(reply.body) {
            Ok(text) => Some(Message::Text(text)),
            Err(_) => {
                log::warn!("message hook: a text reply that is not UTF-8 is dropped");
                None
            }
        }
    } else {
        Some(Message::Binary(reply.body))
    }
}

/// Media types sent as text frames. No Content-Type at all is binary: the
/// bytes are passed as they are.
pub(crate) fn is_text(media_type: Option<&str>) -> bool {
    media_type.is_some_and(|m| m.starts_with("text/") || m == JSON || m.ends_with("+json"))
}

pub(crate) fn close(
    prefix: &str,
    id: &str,
    seq: u64,
    code: CloseCode,
    reason: &str,
    initiator: Initiator,
) -> HookRequest {
    let body = json!({
        "code": code.0,
        "reason": reason,
        "initiator": initiator.as_str(),
    });
    HookRequest {
        url: format!("{prefix}/close"),
        content_type: JSON,
        body: body.to_string().into_bytes(),
        headers: ids(id, seq),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, content_type: Option<&str>, body: &str) -> HookReply {
        HookReply {
            status,
            headers: content_type
                .map(|c| ("content-type".to_owned(), c.to_owned()))
                .into_iter()
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn the_connect_answer_may_choose_a_subprotocol_topics_and_meta() {
        let a = accepted(&reply(
            200,
            Some(JSON),
            r#"{"subprotocol":"chat","topics":["a","b"],"meta":{"k":1}}"#,
        ))
        .unwrap();
        assert_eq!(a.subprotocol.as_deref(), Some("chat"));
        assert_eq!(a.topics, ["a", "b"]);
        assert_eq!(a.meta["k"], 1);
        assert!(accepted(&reply(204, None, "")).unwrap().topics.is_empty());
        assert_eq!(accepted(&reply(200, None, "[1]")).unwrap_err().status, 502);
        assert_eq!(
            accepted(&reply(200, None, r#"{"topics":"a"}"#))
                .unwrap_err()
                .status,
            502
        );
    }

    #[test]
    fn a_200_reply_is_text_or_binary_by_content_type_and_204_is_nothing() {
        assert_eq!(
            super::reply(reply(200, Some("text/plain; charset=utf-8"), "hi")),
            Some(Message::Text("hi".into()))
        );
        assert_eq!(
            super::reply(reply(200, Some("application/octet-stream"), "hi")),
            Some(Message::Binary(b"hi".to_vec()))
        );
        assert_eq!(super::reply(reply(204, Some("text/plain"), "")), None);
        assert_eq!(super::reply(reply(202, Some("text/plain"), "x")), None);
    }
}
