//! `Sec-WebSocket-Extensions` (RFC 6455 §9.1): the strict parser, the
//! formatter, and negotiation on both sides with four toy extensions
//! (`x-a` and `x-b` share RSV1, `x-c` owns RSV2, `x-d` owns no bit).
//!
//! Input: one header value.
//!
//! Checks: no panic; what parses formats back to text that parses to the
//! same list; a server offered the value answers exactly what a reference
//! model of the documented rule picks (each extension once, in the order
//! of first mention, case-insensitively; the first acceptable offer; none
//! whose RSV bits are taken), and a malformed value gets 400; a client
//! given the value in a 101 accepts it exactly when every extension is
//! known, named once, valid, and on its own RSV bits.

#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use stdws::extension::{format_extensions, parse_extensions, ExtensionFactory, ExtensionOffer};
use stdws::frame::Status;
use stdws::handshake::client::Response;
use stdws::handshake::{HeadLimits, HeadScanner};
use stdws::{Accept, Config, Connector, Error, HandshakeError, ServerHandshake};
use stdws_fuzz::duplex::Duplex;
use stdws_fuzz::toy::{factories, params_ok, Identity};
use stdws_fuzz::wire::{with_real_accept, RFC_REQUEST, RFC_RESPONSE};

fn config() -> Config {
    let mut config = Config::default();
    for f in factories() {
        config
            .extensions
            .push(Arc::new(f) as Arc<dyn ExtensionFactory>);
    }
    config
}

fn find(name: &str) -> Option<Identity> {
    factories()
        .into_iter()
        .find(|f| f.name.eq_ignore_ascii_case(name))
}

/// The server's choice, as `negotiate_server` documents it.
fn expected_server_reply(offers: &[ExtensionOffer]) -> Vec<ExtensionOffer> {
    let mut reply = Vec::new();
    let mut used = 0u8;
    let mut seen: Vec<String> = Vec::new();
    for offer in offers {
        let name = offer.name.to_ascii_lowercase();
        if seen.contains(&name) {
            continue;
        }
        seen.push(name);
        let Some(f) = find(&offer.name) else { continue };
        if f.rsv.bits() & used != 0 {
            continue;
        }
        let chosen = offers
            .iter()
            .filter(|o| o.name.eq_ignore_ascii_case(f.name))
            .find(|o| params_ok(&o.params));
        if let Some(o) = chosen {
            reply.push(ExtensionOffer {
                name: f.name.to_owned(),
                params: o.params.clone(),
            });
            used |= f.rsv.bits();
        }
    }
    reply
}

/// Whether a client that offered the toys accepts this reply.
fn client_accepts(reply: &[ExtensionOffer]) -> bool {
    let mut used = 0u8;
    for (i, ext) in reply.iter().enumerate() {
        if reply[..i]
            .iter()
            .any(|e| e.name.eq_ignore_ascii_case(&ext.name))
        {
            return false;
        }
        let Some(f) = find(&ext.name) else {
            return false;
        };
        if f.rsv.bits() & used != 0 || !params_ok(&ext.params) {
            return false;
        }
        used |= f.rsv.bits();
    }
    true
}

fn head_of(bytes: &[u8]) -> Response {
    let mut scanner = HeadScanner::new(HeadLimits {
        max_bytes: 1 << 16,
        max_line: 1 << 16,
        max_headers: 64,
    });
    let Ok(Status::Complete(n)) = scanner.scan(bytes) else {
        panic!("incomplete head {bytes:?}");
    };
    Response::parse(&bytes[..n], &scanner).expect("stdws wrote a malformed head")
}

fuzz_target!(|data: &[u8]| {
    let value = String::from_utf8_lossy(data);
    let parsed = parse_extensions(&value);
    if let Ok(list) = &parsed {
        let text = format_extensions(list);
        assert_eq!(parse_extensions(&text).as_ref(), Ok(list), "{text:?}");
    }

    // Through the handshakes only what a header line can carry unchanged:
    // visible ASCII, spaces and tabs, not starting or ending with blanks.
    let plain = value
        .bytes()
        .all(|b| b == b'\t' || (0x20..0x7F).contains(&b))
        && value.trim() == value;
    if !plain {
        return;
    }
    let field = format!("Sec-WebSocket-Extensions: {value}\r\n");

    // Server: offered by a client.
    let request = RFC_REQUEST.replacen("Origin", &format!("{field}Origin"), 1);
    let pending = ServerHandshake::read(Duplex::new(request.into_bytes()), config())
        .expect("the RFC request with one more field reads");
    match (pending.accept(Accept::new()), &parsed) {
        (Ok(ws), Ok(offers)) => {
            let expected = expected_server_reply(offers);
            assert_eq!(ws.extensions(), expected.as_slice());
            let head = head_of(&ws.get_ref().output);
            let written = head.headers.get("Sec-WebSocket-Extensions");
            assert_eq!(
                head.headers.count("Sec-WebSocket-Extensions"),
                usize::from(!expected.is_empty())
            );
            if let Some(written) = written {
                assert_eq!(parse_extensions(written).as_ref(), Ok(&expected));
                assert!(
                    client_accepts(&expected),
                    "the server chose what a client refuses"
                );
            }
        }
        (Err(Error::Handshake(HandshakeError::Rejected { status: 400, .. })), Err(_)) => {}
        (result, parsed) => panic!(
            "parse says {parsed:?}, accept says {:?}",
            result.map(|_| ())
        ),
    }

    // Client: answered by a server.
    let response = RFC_RESPONSE
        .replace("Sec-WebSocket-Protocol: chat\r\n", &field)
        .into_bytes();
    let stream = Duplex::answering(
        Vec::new(),
        Box::new(move |req| with_real_accept(&response, req)),
    );
    let result = Connector::new("ws://server.example.com/chat")
        .config(config())
        .connect_on(stream);
    match (result, &parsed) {
        (Ok(ws), Ok(reply)) => {
            assert!(client_accepts(reply), "the client took {reply:?}");
            assert_eq!(ws.extensions(), reply.as_slice());
        }
        (Err(Error::Handshake(HandshakeError::InvalidResponse(_))), Ok(reply)) => {
            assert!(!client_accepts(reply), "the client refused {reply:?}");
        }
        (Err(Error::Handshake(HandshakeError::InvalidResponse(_))), Err(_)) => {}
        (result, parsed) => panic!(
            "parse says {parsed:?}, the client says {:?}",
            result.map(|_| ())
        ),
    }
});
