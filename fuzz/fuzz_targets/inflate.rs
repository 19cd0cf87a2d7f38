//! permessage-deflate receiving side (RFC 7692 §7.2.2) under a size limit,
//! and the sending side against it.
//!
//! Input: byte 0 picks the negotiated parameters (context takeover, window
//! bits), bytes 1–2 the message size limit (up to 64 KiB), then messages,
//! each a 2-byte length and that many bytes. Odd messages are fed to one
//! connection's decoder as compressed payloads (hostile: any bytes); even
//! ones are compressed by a client's encoder and must come back unchanged
//! from a second connection's decoder.
//!
//! Checks: no panic; a decoded message never exceeds the limit, and going
//! past it is `MessageTooBig` (close 1009), never an allocation of the
//! size a stream claims; bad DEFLATE data is a protocol error (1002);
//! whatever the client compresses, the server inflates to the same bytes,
//! message after message, with or without context takeover.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stdws::extension::{ExtensionFactory, FrameDecoder, FrameEncoder, Param};
use stdws::frame::{FrameHeader, OpCode, Rsv};
use stdws::{CapacityError, Error, PerMessageDeflate, SendOptions};

/// A client with these settings negotiates with a server: the client's
/// compressor and the server's decompressor.
fn negotiate(flags: u8) -> (Box<dyn FrameEncoder>, Box<dyn FrameDecoder>) {
    let window = 8 + (flags >> 4) % 8;
    let client = PerMessageDeflate::new()
        .client_no_context_takeover(flags & 1 != 0)
        .server_no_context_takeover(flags & 2 != 0)
        .client_max_window_bits(window);
    let server = PerMessageDeflate::new();
    let offers = client.offers();
    let offers: Vec<&[Param]> = offers.iter().map(Vec::as_slice).collect();
    let (reply, at_server) = server
        .accept_offers(&offers)
        .expect("a server accepts a client's own offer");
    let at_client = client
        .accept_response(&reply)
        .expect("a client accepts the server's reply to its offer");
    (at_client.encoder, at_server.decoder)
}

fn header(len: usize, compressed: bool) -> FrameHeader {
    FrameHeader {
        fin: true,
        rsv: if compressed { Rsv::RSV1 } else { Rsv::NONE },
        opcode: OpCode::Binary,
        mask: None,
        payload_len: len as u64,
    }
}

fuzz_target!(|data: &[u8]| {
    let [flags, hi, lo, rest @ ..] = data else {
        return;
    };
    let limit = usize::from(u16::from_be_bytes([*hi, *lo]));
    // Two connections: one whose peer sends hostile bytes, one whose peer
    // is our own compressor. With context takeover a hostile message that
    // inflates leaves history only that hostile peer's later messages see.
    let (_, mut decoder) = negotiate(*flags);
    let (mut encoder, mut trusted) = negotiate(*flags);
    let mut rest = rest;
    let mut index = 0;
    while let [a, b, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*a, *b])).min(tail.len());
        let (message, next) = tail.split_at(len);
        rest = next;
        index += 1;
        let mut out = Vec::new();
        if index % 2 == 1 {
            // Hostile compressed bytes.
            let mut h = header(message.len(), true);
            match decoder.accepts(&h) {
                Ok(true) => {}
                other => panic!("RSV1 on a first frame must be claimed: {other:?}"),
            }
            match decoder.decode(&mut h, message, &mut out, limit) {
                Ok(()) => assert!(
                    out.len() <= limit,
                    "{} bytes past a limit of {limit}",
                    out.len()
                ),
                Err(Error::Capacity(CapacityError::MessageTooBig { .. })) => {
                    // Bounded: at most the limit plus one inflate step.
                    assert!(
                        out.capacity() <= limit + (64 << 10),
                        "capacity {}",
                        out.capacity()
                    );
                    return; // the connection would be closed with 1009
                }
                Err(e @ Error::Protocol(_)) => {
                    assert_eq!(e.close_code().map(|c| c.0), Some(1002));
                    return;
                }
                Err(e) => panic!("unexpected error kind {e:?}"),
            }
        } else {
            // A real client's compressed message must inflate to itself.
            let mut h = header(message.len(), false);
            let mut wire = Vec::new();
            let compressed = encoder
                .encode(&mut h, message, &mut wire, &SendOptions::default())
                .expect("compression does not fail");
            let payload = if compressed { &wire[..] } else { message };
            h.payload_len = payload.len() as u64;
            let claimed = trusted.accepts(&h).expect("a valid frame is accepted");
            assert_eq!(claimed, h.rsv.contains(Rsv::RSV1));
            if claimed {
                trusted
                    .decode(&mut h, payload, &mut out, usize::MAX)
                    .expect("our own compressed data inflates");
            } else {
                out.extend_from_slice(payload);
            }
            assert_eq!(out, message, "round trip of message {index}");
        }
    }
});
