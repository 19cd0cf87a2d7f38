//! The hixie-76 server mode, sans I/O: the request (head, keys, key3) and
//! the frames a client sends after it.
//!
//! Input: the bytes a hixie-76 client sends: a request head, eight bytes
//! of key3, then frames.
//!
//! Checks: no panic; a key's number is its digits divided by its spaces,
//! exactly, and fits in 32 bits; a request that passes `validate` gets a
//! 101 that parses, with the 16-byte answer after its head; a refusal is
//! 400 or 405; the frame scanner answers the same whether the frames come
//! whole, one byte at a time, or in three pieces; every text frame is UTF-8
//! without 0xFF and within the limit, and nothing is left unread but the
//! start of one frame.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stdws::frame::Status;
use stdws::handshake::client::Response;
use stdws::handshake::hixie76::{self, key_number, KeyError};
use stdws::handshake::{HeadLimits, HeadScanner};
use stdws::hixie76::{Frame, FrameScanner};
use stdws::{Accept, Error, Request};

const MAX_MESSAGE: usize = 256;

fn limits() -> HeadLimits {
    HeadLimits {
        max_bytes: 4096,
        max_line: 1024,
        max_headers: 24,
    }
}

/// The key's number as the draft computes it, with wide arithmetic.
fn reference(key: &str) -> Result<u32, KeyError> {
    let digits: String = key.chars().filter(char::is_ascii_digit).collect();
    let spaces = key.bytes().filter(|&b| b == b' ').count() as u128;
    if digits.is_empty() {
        return Err(KeyError::NoDigits);
    }
    let significant = digits.trim_start_matches('0');
    if significant.len() > 10 {
        return Err(KeyError::TooLarge);
    }
    let number: u128 = significant.parse().unwrap_or(0);
    if number > u128::from(u32::MAX) {
        return Err(KeyError::TooLarge);
    }
    if spaces == 0 {
        return Err(KeyError::NoSpaces);
    }
    if number % spaces != 0 {
        return Err(KeyError::NotAMultiple);
    }
    Ok((number / spaces) as u32)
}

/// What a scanner makes of `stream` handed over in pieces ending at `cuts`:
/// the frames (text, or None for close) and how it ended.
fn frames(stream: &[u8], cuts: &[usize]) -> (Vec<Option<String>>, Result<usize, String>) {
    let mut scanner = FrameScanner::new(MAX_MESSAGE);
    let mut out = Vec::new();
    let mut start = 0;
    for &end in cuts.iter().chain([stream.len()].iter()) {
        let end = end.max(start);
        loop {
            match scanner.scan(&stream[start..end]) {
                Ok(Status::Partial) => break,
                Ok(Status::Complete(frame)) => {
                    match frame {
                        Frame::Text { len } => {
                            let text = &stream[start + 1..start + len - 1];
                            assert!(text.len() <= MAX_MESSAGE);
                            assert!(!text.contains(&0xFF));
                            out.push(Some(std::str::from_utf8(text).unwrap().to_owned()));
                        }
                        Frame::Close => out.push(None),
                    }
                    start += frame.len();
                }
                Err(e) => return (out, Err(describe(&e))),
            }
        }
    }
    (out, Ok(start))
}

fn describe(e: &Error) -> String {
    match e {
        Error::Protocol(_) | Error::Capacity(_) => format!("{e:?}"),
        other => panic!("unexpected error kind {other:?}"),
    }
}

fuzz_target!(|input: &[u8]| {
    let mut scanner = HeadScanner::new(limits());
    let Ok(Status::Complete(n)) = scanner.scan(input) else {
        return;
    };
    let Ok(request) = Request::parse(&input[..n], &scanner) else {
        return;
    };
    for name in ["Sec-WebSocket-Key1", "Sec-WebSocket-Key2"] {
        for key in request.headers.get_all(name) {
            assert_eq!(key_number(key), reference(key), "{key:?}");
        }
    }
    let _ = request.is_hixie76();
    match hixie76::validate(&request) {
        Ok(keys) => {
            let Status::Complete((key3, used)) = hixie76::key3(&input[n..]) else {
                return;
            };
            assert_eq!(used, hixie76::KEY3_LEN);
            let answer = keys.answer(&key3);
            let reply = hixie76::response_101(&request, &Accept::new(), false, &answer);
            let mut rs = HeadScanner::new(HeadLimits {
                max_bytes: 1 << 16,
                max_line: 1 << 16,
                max_headers: 64,
            });
            let Ok(Status::Complete(m)) = rs.scan(&reply) else {
                panic!("our 101 has no end: {reply:?}");
            };
            let response = Response::parse(&reply[..m], &rs).expect("our 101 parses");
            assert_eq!(response.status, 101);
            assert_eq!(&reply[m..], &answer);

            let stream = &input[n + used..];
            let whole = frames(stream, &[]);
            let bytewise = frames(stream, &(1..stream.len()).collect::<Vec<_>>());
            let thirds = frames(stream, &[stream.len() / 3, stream.len() * 2 / 3]);
            assert_eq!(whole, bytewise, "one byte at a time");
            assert_eq!(whole, thirds, "in three pieces");
            if let (_, Ok(consumed)) = &whole {
                // What is left is the start of one frame, at most a text
                // frame at the limit without its end byte.
                assert!(stream.len() - consumed <= MAX_MESSAGE + 1);
            }
        }
        Err(e) => {
            let status = e.status().expect("a refusal has a status");
            assert!(status == 400 || status == 405, "{status}");
        }
    }
});
