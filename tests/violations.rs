//! A peer that breaks RFC 6455 gets the right close code on the wire,
//! and the server reports a typed error.

mod support;

use std::io::Write;

use stdws::{CapacityError, Config, Error, ProtocolError};
use support::*;

/// Opens a raw connection to an echo server, writes `bytes` after the
/// handshake, and returns (what came back, the server's error).
fn send_raw(config: Config, bytes: &[u8]) -> (Vec<u8>, Option<Error>) {
    let (addr, server) = echo_server(config);
    let (mut s, head) = raw_handshake(addr, &upgrade_request(addr, "/"));
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    s.write_all(bytes).unwrap();
    let back = read_to_end(&mut s);
    drop(s);
    let (_, err) = server.join().unwrap();
    (back, err)
}

fn assert_closed_with(bytes: &[u8], code: u16, check: impl Fn(&Error) -> bool) {
    let (back, err) = send_raw(Config::default(), bytes);
    assert_eq!(close_code_of(&back), Some(code), "wire: {back:02x?}");
    let err = err.expect("the server saw an error");
    assert!(check(&err), "unexpected error {err:?}");
}

#[test]
fn unmasked_client_frame_gets_1002() {
    assert_closed_with(&[0x81, 0x02, b'h', b'i'], 1002, |e| {
        matches!(e, Error::Protocol(ProtocolError::UnmaskedFrame))
    });
}

#[test]
fn reserved_opcode_gets_1002() {
    assert_closed_with(&masked(0x83, b""), 1002, |e| {
        matches!(e, Error::Protocol(ProtocolError::ReservedOpCode(3)))
    });
    assert_closed_with(&masked(0x8B, b""), 1002, |e| {
        matches!(e, Error::Protocol(ProtocolError::ReservedOpCode(0xB)))
    });
}

#[test]
fn rsv_bits_without_an_extension_get_1002() {
    assert_closed_with(&masked(0xC1, b"x"), 1002, |e| {
        matches!(e, Error::Protocol(ProtocolError::ReservedBits(0x40)))
    });
}

#[test]
fn fragmented_ping_gets_1002() {
    assert_closed_with(&masked(0x09, b""), 1002, |e| {
        matches!(e, Error::Protocol(ProtocolError::FragmentedControlFrame))
    });
}

#[test]
fn oversized_ping_gets_1002() {
    assert_closed_with(&masked(0x89, &[0; 126]), 1002, |e| {
        matches!(e, Error::Protocol(ProtocolError::ControlFrameTooLong))
    });
}

#[test]
fn continuation_without_a_message_gets_1002() {
    assert_closed_with(&masked(0x80, b"x"), 1002, |e| {
        matches!(e, Error::Protocol(ProtocolError::UnexpectedContinuation))
    });
}

#[test]
fn new_message_inside_a_fragmented_one_gets_1002() {
    let mut bytes = masked(0x01, b"a");
    bytes.extend(masked(0x81, b"b"));
    assert_closed_with(&bytes, 1002, |e| {
        matches!(e, Error::Protocol(ProtocolError::ExpectedContinuation))
    });
}

#[test]
fn invalid_close_payloads_get_1002_or_1007() {
    assert_closed_with(&masked(0x88, b"\x03"), 1002, |e| {
        matches!(e, Error::Protocol(ProtocolError::InvalidClosePayload))
    });
    assert_closed_with(&masked(0x88, b"\x03\xed"), 1002, |e| {
        matches!(e, Error::Protocol(ProtocolError::InvalidCloseCode(1005)))
    });
    assert_closed_with(&masked(0x88, b"\x03\xe8\xc0\xaf"), 1007, |e| {
        matches!(e, Error::Protocol(ProtocolError::InvalidUtf8))
    });
}

#[test]
fn invalid_utf8_gets_1007() {
    for bad in [
        &b"\xff"[..],
        b"\xed\xa0\x80",
        b"\xc0\xaf",
        b"\xf4\x90\x80\x80",
        b"ok\xe2\x82",
    ] {
        assert_closed_with(&masked(0x81, bad), 1007, |e| {
            matches!(e, Error::Protocol(ProtocolError::InvalidUtf8))
        });
    }
}

#[test]
fn invalid_utf8_fails_at_the_frame_that_carries_it() {
    // The message is unfinished: the first fragment is fine, the second
    // makes the text invalid. The close must come without the third.
    let (addr, server) = echo_server(Config::default());
    let (mut s, _) = raw_handshake(addr, &upgrade_request(addr, "/"));
    s.write_all(&masked(0x01, "κόσμε".as_bytes())).unwrap();
    s.write_all(&masked(0x00, b"\xf4\x90\x80\x80")).unwrap();
    let back = read_to_end(&mut s);
    drop(s);
    assert_eq!(close_code_of(&back), Some(1007));
    server.join().unwrap();
}

#[test]
fn invalid_utf8_fails_before_the_frame_is_complete() {
    // Autobahn 6.4.3: one frame whose payload arrives in pieces; the piece
    // with the bad byte must fail at once.
    let (addr, server) = echo_server(Config::default());
    let (mut s, _) = raw_handshake(addr, &upgrade_request(addr, "/"));
    let frame = masked(
        0x81,
        &[b"good".as_slice(), b"\xf4\x90", &[b'x'; 100]].concat(),
    );
    s.write_all(&frame[..6 + 4 + 2]).unwrap(); // header + "good" + the two bad bytes
    let back = read_to_end(&mut s);
    drop(s);
    assert_eq!(close_code_of(&back), Some(1007));
    server.join().unwrap();
}

#[test]
fn frame_over_max_frame_size_gets_1009_before_its_payload() {
    let config = Config::default().max_frame_size(1000);
    // A header declaring 2^63-1 bytes and nothing after it.
    let mut header = vec![0x82, 0xFF];
    header.extend_from_slice(&(u64::MAX >> 1).to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]);
    let (back, err) = send_raw(config.clone(), &header);
    assert_eq!(close_code_of(&back), Some(1009));
    assert!(matches!(
        err,
        Some(Error::Capacity(CapacityError::FrameTooBig {
            max: 1000,
            ..
        }))
    ));
    // Just over the limit.
    let (back, _) = send_raw(config, &masked(0x82, &[0; 1001])[..8]);
    assert_eq!(close_code_of(&back), Some(1009));
}

#[test]
fn message_over_max_message_size_gets_1009() {
    let config = Config::default().max_message_size(100);
    let mut bytes = masked(0x02, &[0; 60]);
    bytes.extend(masked(0x80, &[0; 60]));
    let (back, err) = send_raw(config, &bytes);
    assert_eq!(close_code_of(&back), Some(1009));
    assert!(matches!(
        err,
        Some(Error::Capacity(CapacityError::MessageTooBig { max: 100 }))
    ));
}

#[test]
fn too_many_fragments_get_1009() {
    let config = Config::default().max_fragments(10);
    let mut bytes = masked(0x02, b"");
    for _ in 0..20 {
        bytes.extend(masked(0x00, b""));
    }
    let (back, err) = send_raw(config, &bytes);
    assert_eq!(close_code_of(&back), Some(1009));
    assert!(matches!(
        err,
        Some(Error::Capacity(CapacityError::TooManyFragments { max: 10 }))
    ));
}

#[test]
fn non_minimal_length_gets_1002() {
    let bytes = [0x82, 0xFE, 0x00, 0x05, 1, 2, 3, 4, 0, 0, 0, 0, 0];
    assert_closed_with(&bytes, 1002, |e| {
        matches!(e, Error::Protocol(ProtocolError::NonMinimalLength))
    });
}

#[test]
fn client_refuses_masked_server_frames_with_1002() {
    let (addr, server) = fake_server(
        |key| [ok_101(key, ""), masked(0x81, b"masked")].concat(),
        |mut s| read_to_end(&mut s),
    );
    let mut conn = stdws::Connection::connect(&format!("ws://{addr}/")).unwrap();
    assert!(matches!(
        conn.recv(),
        Err(Error::Protocol(ProtocolError::MaskedFrame))
    ));
    let back = server.join().unwrap();
    // The client's close frame is masked: unmask its code.
    assert_eq!(back[0], 0x88);
    let key = &back[2..6];
    assert_eq!([back[6] ^ key[0], back[7] ^ key[1]], 1002u16.to_be_bytes());
}
