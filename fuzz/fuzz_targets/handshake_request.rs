//! The server side of the opening handshake (RFC 6455 §4.2): the head
//! scanner, `Request::parse`, `Request::validate`, and the same bytes
//! through `ServerHandshake` on an in-memory stream.
//!
//! Input: the bytes a client sends.
//!
//! Checks: no panic; the scanner answers the same whether the bytes come
//! whole, one at a time, or in three pieces; every refusal is 400, 405,
//! 426 or 431 (a TLS record where the head belongs is 400) and its error page parses as a response with that status;
//! a request that passes `validate` gets a 101 that the client side of
//! stdws accepts; `ServerHandshake` over a stream gives the answer the
//! sans-I/O parts give.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stdws::frame::Status;
use stdws::handshake::client::Response;
use stdws::handshake::server::{error_response, response_101};
use stdws::handshake::{HeadError, HeadLimits, HeadScanner};
use stdws::{Accept, Config, Error, HandshakeError, Reject, Request, ServerHandshake};
use stdws_fuzz::duplex::Duplex;

/// Small caps, so that inputs of a few KiB reach each of them.
fn limits() -> HeadLimits {
    HeadLimits {
        max_bytes: 4096,
        max_line: 1024,
        max_headers: 24,
    }
}

fn config() -> Config {
    let l = limits();
    Config::default()
        .max_header_bytes(l.max_bytes)
        .max_header_line(l.max_line)
        .max_headers(l.max_headers)
}

/// Scans `input` handed over in pieces ending at `cuts`, then whole.
fn scan_in_pieces(
    input: &[u8],
    cuts: impl IntoIterator<Item = usize>,
) -> (HeadScanner, Result<Status<usize>, HeadError>) {
    let mut scanner = HeadScanner::new(limits());
    for cut in cuts {
        match scanner.scan(&input[..cut]) {
            Ok(Status::Partial) => {}
            answer => return (scanner, answer),
        }
    }
    let answer = scanner.scan(input);
    (scanner, answer)
}

/// Parses a response head written by stdws.
fn parse_response(bytes: &[u8]) -> Response {
    let mut scanner = HeadScanner::new(HeadLimits {
        max_bytes: 1 << 16,
        max_line: 1 << 16,
        max_headers: 64,
    });
    let Ok(Status::Complete(n)) = scanner.scan(bytes) else {
        panic!("stdws wrote an incomplete head: {bytes:?}");
    };
    Response::parse(&bytes[..n], &scanner).expect("stdws wrote a malformed head")
}

fn check_refusal(e: &HandshakeError, allowed: &[u16]) {
    let HandshakeError::Rejected { status, reason } = e else {
        panic!("refusal without a status: {e:?}");
    };
    assert!(allowed.contains(status), "status {status}: {reason}");
    let page = parse_response(&error_response(*status, reason, &[]));
    assert_eq!(page.status, *status);
    if *status == 426 {
        assert_eq!(page.headers.get("Sec-WebSocket-Version"), Some("13"));
    }
}

/// What the sans-I/O parts answer: a request that passed or failed
/// `validate`, a refusal before that, or an incomplete head.
#[derive(Debug)]
enum Outcome {
    Incomplete,
    Refused(u16),
    Parsed(Request, Result<(), u16>),
}

fn sans_io(input: &[u8]) -> Outcome {
    let (scanner, whole) = scan_in_pieces(input, []);
    let (_, bytewise) = scan_in_pieces(input, 1..input.len());
    let (_, thirds) = scan_in_pieces(input, [input.len() / 3, input.len() * 2 / 3]);
    assert_eq!(whole, bytewise, "one byte at a time");
    assert_eq!(whole, thirds, "in three pieces");

    let n = match whole {
        Ok(Status::Partial) => return Outcome::Incomplete,
        Ok(Status::Complete(n)) => n,
        // A TLS record (a wss:// client on a plain port) is a 400; a head
        // over a cap is a 431.
        Err(HeadError::TlsRecord) => {
            assert!(
                matches!(input, [0x14..=0x17, 0x03, ..]),
                "not TLS: {input:?}"
            );
            check_refusal(&HeadError::TlsRecord.to_rejection(), &[400]);
            return Outcome::Refused(400);
        }
        Err(e) => {
            let refusal = e.to_rejection();
            check_refusal(&refusal, &[431]);
            return Outcome::Refused(431);
        }
    };
    assert!(n <= limits().max_bytes && input[..n].ends_with(b"\n"));
    let request = match Request::parse(&input[..n], &scanner) {
        Ok(request) => request,
        Err(e) => {
            check_refusal(&e, &[400]);
            return Outcome::Refused(400);
        }
    };
    // The accessors must cope with whatever parsed.
    let _ = (
        request.path(),
        request.query(),
        request.resource(),
        request.host(),
    );
    let _ = (request.origin(), request.key(), request.is_upgrade());
    let _ = (request.protocols(), request.extensions());

    let verdict = match request.validate() {
        Ok(()) => {
            assert!(request.path().starts_with('/'));
            let protocols: Vec<String> =
                request.protocols().iter().map(|p| p.to_string()).collect();
            let mut accept = Accept::new();
            if let Some(first) = protocols.first() {
                accept = accept.protocol(first.clone());
            }
            let reply = parse_response(&response_101(&request, &accept, None));
            let agreed = reply
                .validate(request.key().expect("validated"), &protocols)
                .expect("our own client refuses our 101");
            assert_eq!(agreed.protocol, protocols.first().cloned());
            Ok(())
        }
        Err(e) => {
            check_refusal(&e, &[400, 405, 426]);
            let page = Reject::from(e.clone()).to_bytes();
            assert_eq!(Some(parse_response(&page).status), e.status());
            Err(e.status().expect("checked"))
        }
    };
    Outcome::Parsed(request, verdict)
}

fuzz_target!(|input: &[u8]| {
    let outcome = sans_io(input);

    // The same bytes through the blocking driver.
    let pending = ServerHandshake::read(Duplex::new(input.to_vec()), config());
    match (&outcome, pending) {
        (Outcome::Incomplete, Err(Error::Handshake(HandshakeError::ConnectionClosed))) => {}
        (Outcome::Refused(status), Err(Error::Handshake(e))) => {
            assert_eq!(e.status(), Some(*status));
        }
        (Outcome::Parsed(request, verdict), Ok(pending)) => {
            assert_eq!(pending.request(), request);
            let written = match pending.accept(Accept::new()) {
                Ok(ws) => {
                    assert!(verdict.is_ok());
                    ws.get_ref().output.clone()
                }
                Err(Error::Handshake(e)) => {
                    assert_eq!(Err(e.status().unwrap_or(0)), *verdict);
                    return;
                }
                Err(e) => panic!("accept failed with {e:?}"),
            };
            let reply = parse_response(&written);
            assert_eq!(reply.status, 101);
            reply
                .validate(request.key().expect("validated"), &[])
                .expect("our own client refuses our 101");
        }
        (outcome, pending) => panic!(
            "sans-I/O says {outcome:?}, ServerHandshake says {:?}",
            pending.map(|p| p.request().clone())
        ),
    }
});
