//! The proxy exchanges a client runs before its handshake: the SOCKS5
//! state machine and the CONNECT reply head (both are the proxy's bytes:
//! hostile input), and proxy URLs and `no_proxy` lists (the environment's
//! text).
//!
//! Input: a mode byte, a split byte, then the proxy's bytes (or the text).
//! Mode bits: 0-1 pick the exchange (SOCKS5 with a name, SOCKS5 with an
//! address, CONNECT reply, URL and `no_proxy` text); bit 2 gives SOCKS5
//! credentials.
//!
//! Checks: no panic; each exchange gives the same answer when the bytes
//! arrive whole or cut at the split byte; a finished SOCKS5 exchange used
//! no more bytes than it had; a parsed proxy URL without credentials prints
//! back to text that parses to the same proxy.

#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use libfuzzer_sys::fuzz_target;
use stdws::frame::Status;
use stdws::handshake::{HeadLimits, HeadScanner};
use stdws::proxy::env::NoProxy;
use stdws::proxy::socks5::{Address, Socks5, Step};
use stdws::proxy::{http_connect, Proxy};
use stdws::ProxyError;

/// Runs a SOCKS5 exchange on `replies`, delivered `split` bytes first.
fn socks(address: Address, creds: bool, replies: &[u8], split: usize) -> Result<usize, ProxyError> {
    let credentials = creds.then_some(("user", "password"));
    let (mut machine, _) = Socks5::new(address, 9001, credentials).expect("valid request");
    let mut available = split.min(replies.len());
    let mut pos = 0;
    loop {
        match machine.advance(&replies[pos..available])? {
            Step::Partial if available == replies.len() => return Err(ProxyError::TunnelClosed),
            Step::Partial => available = replies.len(),
            Step::Send { consumed, bytes } => {
                assert!(consumed <= available - pos && !bytes.is_empty());
                pos += consumed;
            }
            Step::Done { consumed } => {
                assert!(consumed <= available - pos);
                return Ok(pos + consumed);
            }
        }
    }
}

/// The CONNECT reply's verdict, its head arriving `split` bytes first.
fn connect_reply(reply: &[u8], split: usize) -> Option<Result<(), ProxyError>> {
    let mut scanner = HeadScanner::new(HeadLimits {
        max_bytes: 4096,
        max_line: 1024,
        max_headers: 24,
    });
    let first = &reply[..split.min(reply.len())];
    let status = match scanner.scan(first) {
        Ok(Status::Partial) => scanner.scan(reply),
        other => other,
    };
    match status {
        Ok(Status::Complete(n)) => Some(http_connect::parse_reply(&reply[..n], &scanner)),
        Ok(Status::Partial) | Err(_) => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let [mode, split, rest @ ..] = data else {
        return;
    };
    let split = usize::from(*split);
    let creds = mode & 4 != 0;
    match mode & 3 {
        0 | 1 => {
            let address = || match mode & 3 {
                0 => Address::Domain("ws.example".into()),
                _ => Address::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            };
            let whole = socks(address(), creds, rest, rest.len());
            assert_eq!(socks(address(), creds, rest, split), whole);
        }
        2 => {
            let whole = connect_reply(rest, rest.len());
            assert_eq!(connect_reply(rest, split), whole);
            if let Some(Err(ProxyError::Refused { status, .. })) = &whole {
                assert!(!(200..300).contains(status));
            }
        }
        _ => {
            let text = String::from_utf8_lossy(rest);
            if let Ok(proxy) = Proxy::parse(&text) {
                assert!(!proxy.host.is_empty() && proxy.port != 0, "{proxy:?}");
                if proxy.credentials.is_none() {
                    assert_eq!(Proxy::parse(&proxy.to_string()).as_ref(), Ok(&proxy));
                }
            }
            let list = NoProxy::parse(&text);
            let _ = list.matches("ws.example.com", 443);
            let _ = list.matches("10.1.2.3", 80);
            let _ = list.matches("fd00::1", 8080);
        }
    }
});
