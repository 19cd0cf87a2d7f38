//! The frame header push parser (RFC 6455 §5.2) in both roles, under
//! rules picked by the first input byte.
//!
//! Input: one rules byte (bit 0: role; bits 1–3: the RSV bits extensions
//! own; bits 4–7: `max_frame_size` from a table of length edges), then the
//! bytes on the wire.
//!
//! Checks: no panic; every prefix answers `Partial` or exactly what the
//! whole input answers, and once a prefix answers, every longer one answers
//! the same; a complete header re-encodes to the very bytes it came from
//! (the parser accepts only minimal lengths) and obeys every rule it was
//! given; errors are protocol errors (1002) or a too-big frame (1009).

#![no_main]

use libfuzzer_sys::fuzz_target;
use stdws::frame::{parse_header, FrameHeader, HeaderRules, Status, MAX_HEADER_LEN};
use stdws::{CapacityError, CloseCode, Error, Role, Rsv};

/// `max_frame_size` choices: the edges of the 7-, 16- and 64-bit lengths.
const MAX_SIZES: [u64; 16] = [
    0,
    1,
    125,
    126,
    127,
    1000,
    65_535,
    65_536,
    65_537,
    1 << 20,
    16 << 20,
    u32::MAX as u64,
    (1 << 63) - 1,
    1 << 63,
    u64::MAX,
    4096,
];

type Answer = Result<Status<(usize, FrameHeader)>, Error>;

fn same(a: &Answer, b: &Answer) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

fuzz_target!(|data: &[u8]| {
    let Some((&select, wire)) = data.split_first() else {
        return;
    };
    let rules = HeaderRules {
        role: if select & 1 == 0 {
            Role::Server
        } else {
            Role::Client
        },
        allowed_rsv: Rsv::from_bits((select & 0x0E) << 3),
        max_frame_size: MAX_SIZES[usize::from(select >> 4)],
    };
    let whole = parse_header(wire, &rules);

    // Incomplete input is never invalid input, and an answer never changes
    // once given. A header is at most 14 bytes: longer prefixes add nothing.
    let mut answered = false;
    for cut in 0..=wire.len().min(MAX_HEADER_LEN + 1) {
        let part = parse_header(&wire[..cut], &rules);
        match part {
            Ok(Status::Partial) => assert!(!answered, "Partial after an answer at {cut}"),
            _ => {
                assert!(same(&part, &whole), "prefix {cut}: {part:?} vs {whole:?}");
                answered = true;
            }
        }
    }

    match whole {
        Ok(Status::Partial) => assert!(wire.len() < MAX_HEADER_LEN),
        Ok(Status::Complete((n, header))) => {
            assert!((2..=MAX_HEADER_LEN).contains(&n) && n <= wire.len());
            let mut again = [0u8; MAX_HEADER_LEN];
            assert_eq!(header.encode(&mut again), n);
            assert_eq!(&again[..n], &wire[..n], "re-encoding differs");
            assert_eq!(header.encoded_len(), n);
            assert_eq!(header.mask.is_some(), rules.role == Role::Server);
            assert!(rules.allowed_rsv.contains(header.rsv));
            assert!(header.payload_len <= rules.max_frame_size);
            assert!(header.payload_len < 1 << 63);
            assert!(!matches!(header.opcode, stdws::OpCode::Reserved(_)));
            if header.opcode.is_control() {
                assert!(header.fin && header.payload_len <= 125);
            }
        }
        Err(Error::Protocol(e)) => assert_eq!(e.close_code(), CloseCode::PROTOCOL_ERROR),
        Err(Error::Capacity(CapacityError::FrameTooBig { size, max })) => {
            assert!(size > rules.max_frame_size);
            assert_eq!(max as u64, rules.max_frame_size);
        }
        Err(other) => panic!("unexpected error kind: {other:?}"),
    }
});
