//! TyphoonAE's hooks, for applications written for its Web Socket API:
//! form posts (`from` = the socket id, `body`) to
//! `{upstream}/_ah/websocket/{handshake,message,closed}/<path>` with the
//! socket id in `X-TyphoonAE-WebSocket`. Its applications answer every hook
//! with an empty 200 and send through the control API's `POST /message`
//! and `POST /broadcast`, so answers are never sent to the client.

use super::hooks::HookRequest;
use super::native::ids;
use crate::Request;

/// TyphoonAE's header naming the socket, on hooks and on `POST /message`.
pub(crate) const HEADER: &str = "X-TyphoonAE-WebSocket";

const FORM: &str = "application/x-www-form-urlencoded";

/// Which of TyphoonAE's three hooks.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Hook {
    Handshake,
    Message,
    Closed,
}

/// One hook for the socket `id` that opened `path`.
pub(crate) fn hook(
    upstream: &str,
    hook: Hook,
    path: &str,
    id: &str,
    seq: u64,
    body: &[u8],
) -> HookRequest {
    let name = match hook {
        Hook::Handshake => "handshake",
        Hook::Message => "message",
        Hook::Closed => "closed",
    };
    let mut headers = ids(id, seq);
    headers.push((HEADER.into(), id.to_owned()));
    HookRequest {
        url: format!(
            "{upstream}/_ah/websocket/{name}/{}",
            path.trim_start_matches('/')
        ),
        content_type: FORM,
        body: form(&[(b"from", id.as_bytes()), (b"body", body)]),
        headers,
    }
}

/// The connect hook.
pub(crate) fn handshake(upstream: &str, id: &str, request: &Request) -> HookRequest {
    hook(upstream, Hook::Handshake, request.path(), id, 0, b"")
}

/// `application/x-www-form-urlencoded` (the WHATWG URL standard's
/// serializer: unreserved bytes as they are, space as `+`, the rest `%XX`).
fn form(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        encode(&mut out, name);
        out.push(b'=');
        encode(&mut out, value);
    }
    out
}

fn encode(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => out.push(b),
            b' ' => out.push(b'+'),
            _ => out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_are_form_posts_under_ah_websocket() {
        let h = hook(
            "http://app/x",
            Hook::Message,
            "/chat/room",
            "n-1",
            3,
            "a b&é".as_bytes(),
        );
        assert_eq!(h.url, "http://app/x/_ah/websocket/message/chat/room");
        assert_eq!(h.body, b"from=n-1&body=a+b%26%C3%A9");
        assert!(h.headers.contains(&(HEADER.into(), "n-1".into())));
        assert!(h.headers.contains(&("Stdws-Seq".into(), "3".into())));
    }
}
