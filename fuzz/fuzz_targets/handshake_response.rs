//! The client side of the opening handshake (RFC 6455 §4.1): the head
//! scanner, `Response::parse`, `Response::validate`, and the same bytes
//! answering a real client (`Connector::connect_on`) on an in-memory
//! stream.
//!
//! Input: the bytes a server answers to the RFC 6455 §1.2 request (which
//! offers the subprotocols `chat` and `superchat`). Over the stream, the
//! RFC's accept value is swapped for the one that answers the client's
//! random key, so the same input means the same thing both ways.
//!
//! Checks: no panic; the scanner answers the same whole or one byte at a
//! time; an accepted response is a 101 with the right accept value, at most
//! one subprotocol and only an offered one, and a well-formed extension
//! list; a TLS record is `ResponseError::Tls`; a refused one is an unexpected status (its code kept) or an
//! invalid response; the blocking client agrees with the sans-I/O parts.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stdws::frame::Status;
use stdws::handshake::client::Response;
use stdws::handshake::{accept_key, HeadError, HeadLimits, HeadScanner};
use stdws::{Config, Connector, Error, HandshakeError, ResponseError};
use stdws_fuzz::duplex::Duplex;
use stdws_fuzz::wire::{rfc_protocols, with_real_accept, RFC_KEY};

fn limits() -> HeadLimits {
    HeadLimits {
        max_bytes: 4096,
        max_line: 1024,
        max_headers: 24,
    }
}

/// What the sans-I/O client side says about `input`.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Incomplete head: the client waits for more.
    Incomplete,
    /// Over a cap (the client gives up as a server would: 431).
    TooLarge,
    /// A TLS record where the head belongs (a TLS server answering ws://).
    Tls,
    /// Malformed head or a 101 that breaks §4.1.
    Invalid,
    /// A status other than 101.
    Status(u16),
    /// Accepted, with this subprotocol and this many extensions.
    Accepted(Option<String>, usize),
}

fn sans_io(input: &[u8]) -> Verdict {
    let mut scanner = HeadScanner::new(limits());
    let whole = scanner.scan(input);
    let mut bytewise = HeadScanner::new(limits());
    let mut answer = Ok(Status::Partial);
    for cut in 1..=input.len() {
        answer = bytewise.scan(&input[..cut]);
        if answer != Ok(Status::Partial) {
            break;
        }
    }
    assert_eq!(whole, answer, "one byte at a time");
    let n = match whole {
        Ok(Status::Complete(n)) => n,
        Ok(Status::Partial) => return Verdict::Incomplete,
        Err(HeadError::TlsRecord) => {
            assert!(
                matches!(input, [0x14..=0x17, 0x03, ..]),
                "not TLS: {input:?}"
            );
            return Verdict::Tls;
        }
        Err(_) => return Verdict::TooLarge,
    };
    let response = match Response::parse(&input[..n], &scanner) {
        Ok(r) => r,
        Err(HandshakeError::InvalidResponse(_)) => return Verdict::Invalid,
        Err(e) => panic!("parse failed with {e:?}"),
    };
    match response.validate(RFC_KEY, &rfc_protocols()) {
        Ok(agreed) => {
            assert_eq!(response.status, 101);
            assert_eq!(
                response.headers.get("Sec-WebSocket-Accept"),
                Some(accept_key(RFC_KEY).as_str())
            );
            if let Some(p) = &agreed.protocol {
                assert!(rfc_protocols().contains(p));
            }
            Verdict::Accepted(agreed.protocol, agreed.extensions.len())
        }
        Err(HandshakeError::UnexpectedStatus { status, .. }) => {
            assert_ne!(status, 101);
            assert_eq!(status, response.status);
            Verdict::Status(status)
        }
        Err(HandshakeError::InvalidResponse(_)) => Verdict::Invalid,
        Err(e) => panic!("validate failed with {e:?}"),
    }
}

fuzz_target!(|input: &[u8]| {
    let verdict = sans_io(input);

    let template = input.to_vec();
    let stream = Duplex::answering(
        Vec::new(),
        Box::new(move |request| with_real_accept(&template, request)),
    );
    let config = Config::default()
        .max_header_bytes(limits().max_bytes)
        .max_header_line(limits().max_line)
        .max_headers(limits().max_headers);
    let mut client = Connector::new("ws://server.example.com/chat").config(config);
    for p in rfc_protocols() {
        client = client.protocol(p);
    }
    let result = client.connect_on(stream);
    match (&verdict, result) {
        // No extension is configured: a reply that accepts one is refused.
        (Verdict::Accepted(protocol, 0), Ok(ws)) => assert_eq!(ws.protocol(), protocol.as_deref()),
        (Verdict::Accepted(_, _), Err(Error::Handshake(HandshakeError::InvalidResponse(_)))) => {}
        (Verdict::Incomplete, Err(Error::Handshake(HandshakeError::ConnectionClosed))) => {}
        // A head over the client's caps is the server's fault.
        (Verdict::TooLarge, Err(Error::Handshake(HandshakeError::InvalidResponse(why)))) => {
            assert!(
                matches!(&why, ResponseError::Malformed(m) if m.starts_with("response head:")),
                "{why}"
            )
        }
        (Verdict::Invalid, Err(Error::Handshake(HandshakeError::InvalidResponse(_)))) => {}
        (
            Verdict::Tls,
            Err(Error::Handshake(HandshakeError::InvalidResponse(ResponseError::Tls))),
        ) => {}
        (
            Verdict::Status(s),
            Err(Error::Handshake(HandshakeError::UnexpectedStatus { status, .. })),
        ) => {
            assert_eq!(*s, status)
        }
        (verdict, result) => panic!(
            "sans-I/O says {verdict:?}, the client says {:?}",
            result.map(|_| ())
        ),
    }
});
