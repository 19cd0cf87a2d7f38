//! Tests of permessage-deflate: RFC 7692's examples byte for byte, and the negotiation tables.

use super::*;
use crate::close_code::CloseCode;
use crate::error::CapacityError;
use crate::extension::{format_extensions, parse_extensions, ExtensionOffer};

fn header(fin: bool, opcode: OpCode, rsv: Rsv) -> FrameHeader {
    FrameHeader {
        fin,
        rsv,
        opcode,
        mask: None,
        payload_len: 0,
    }
}

/// The encoder and decoder of a connection with these settings.
fn pair(config: PerMessageDeflate, bits: u8, forget: bool) -> Negotiated {
    config.min_size(0).negotiated(bits, forget)
}

/// Sends one message in frames of `piece` bytes: (RSV1, payload) each.
fn send(n: &mut Negotiated, msg: &[u8], piece: usize) -> Vec<(bool, Vec<u8>)> {
    let chunks: Vec<&[u8]> = msg.chunks(piece).collect();
    let mut frames = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let op = if i == 0 {
            OpCode::Text
        } else {
            OpCode::Continuation
        };
        let mut h = header(i + 1 == chunks.len(), op, Rsv::NONE);
        let mut out = Vec::new();
        let changed = n
            .encoder
            .encode(&mut h, chunk, &mut out, &SendOptions::default())
            .unwrap();
        if !changed {
            out = chunk.to_vec();
        }
        frames.push((h.rsv.contains(Rsv::RSV1), out));
    }
    frames
}

/// Receives a message from its frames: (first frame's RSV1, payloads).
fn recv(n: &mut Negotiated, frames: &[&[u8]], rsv1: bool) -> Result<Vec<u8>, Error> {
    let mut msg = Vec::new();
    for (i, payload) in frames.iter().enumerate() {
        let (op, rsv) = if i == 0 {
            (OpCode::Binary, if rsv1 { Rsv::RSV1 } else { Rsv::NONE })
        } else {
            (OpCode::Continuation, Rsv::NONE)
        };
        let mut h = header(i + 1 == frames.len(), op, rsv);
        if n.decoder.accepts(&h)? {
            n.decoder.decode(&mut h, payload, &mut msg, 1 << 20)?;
            assert!(h.rsv.is_empty());
        } else {
            msg.extend_from_slice(payload);
        }
    }
    Ok(msg)
}

const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

#[test]
fn rfc7692_hello_is_encoded_byte_for_byte() {
    // §7.2.3.1: one compressed message, RSV1 set.
    let mut n = pair(PerMessageDeflate::new(), 15, false);
    assert_eq!(send(&mut n, b"Hello", 100), vec![(true, HELLO.to_vec())]);
}

#[test]
fn rfc7692_shared_window_second_message_is_encoded_byte_for_byte() {
    // §7.2.3.2: the second "Hello" refers back to the first. The RFC
    // shows zlib's lazy matcher, which miniz's level 6 matches (its
    // fast level finds the same match in one byte less).
    let mut n = pair(PerMessageDeflate::new().level(6), 15, false);
    send(&mut n, b"Hello", 100);
    assert_eq!(
        send(&mut n, b"Hello", 100),
        vec![(true, vec![0xf2, 0x00, 0x11, 0x00, 0x00])]
    );
}

#[test]
fn without_context_takeover_each_message_is_encoded_alone() {
    let mut n = pair(PerMessageDeflate::new(), 15, true);
    send(&mut n, b"Hello", 100);
    assert_eq!(send(&mut n, b"Hello", 100), vec![(true, HELLO.to_vec())]);
}

#[test]
fn rfc7692_no_compression_block_is_encoded_byte_for_byte_at_level_0() {
    // §7.2.3.3: a stored block.
    let mut n = pair(PerMessageDeflate::new().level(0), 15, false);
    assert_eq!(
        send(&mut n, b"Hello", 100),
        vec![(
            true,
            vec![0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00]
        )]
    );
}

#[test]
fn rfc7692_examples_decode() {
    let mut n = pair(PerMessageDeflate::new(), 15, false);
    // §7.2.3.1, then §7.2.3.2 on the same window.
    assert_eq!(recv(&mut n, &[&HELLO], true).unwrap(), b"Hello");
    assert_eq!(
        recv(&mut n, &[&[0xf2, 0x00, 0x11, 0x00, 0x00]], true).unwrap(),
        b"Hello"
    );
    // §7.2.3.1 in two fragments, RSV1 on the first only.
    assert_eq!(
        recv(&mut n, &[&HELLO[..3], &HELLO[3..]], true).unwrap(),
        b"Hello"
    );
    // §7.2.3.3: no compression.
    let stored = [
        0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
    ];
    assert_eq!(recv(&mut n, &[&stored], true).unwrap(), b"Hello");
    // §7.2.3.4: a final block, then the padding octet.
    let bfinal = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
    assert_eq!(recv(&mut n, &[&bfinal], true).unwrap(), b"Hello");
    // §7.2.3.5: two DEFLATE blocks in one message.
    let two = [
        0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
    ];
    assert_eq!(recv(&mut n, &[&two], true).unwrap(), b"Hello");
    // And the stream goes on after all of them.
    assert_eq!(recv(&mut n, &[&HELLO], true).unwrap(), b"Hello");
}

#[test]
fn fragmented_messages_form_one_stream_with_rsv1_on_the_first_frame() {
    let text = "a fragmented message, fragmented again and again. ".repeat(40);
    let mut tx = pair(PerMessageDeflate::new(), 15, false);
    let mut rx = pair(PerMessageDeflate::new(), 15, false);
    for _ in 0..3 {
        let frames = send(&mut tx, text.as_bytes(), 300);
        assert!(frames.len() > 1);
        assert!(frames[0].0 && frames[1..].iter().all(|(rsv1, _)| !rsv1));
        let payloads: Vec<&[u8]> = frames.iter().map(|(_, p)| p.as_slice()).collect();
        assert_eq!(recv(&mut rx, &payloads, true).unwrap(), text.as_bytes());
    }
}

#[test]
fn small_and_opted_out_messages_are_sent_as_they_are() {
    let mut n = PerMessageDeflate::new().negotiated(15, false);
    assert_eq!(
        send(&mut n, b"short", 100),
        vec![(false, b"short".to_vec())]
    );
    let big = [b'x'; 100];
    let mut h = header(true, OpCode::Binary, Rsv::NONE);
    let mut out = Vec::new();
    let changed = n
        .encoder
        .encode(&mut h, &big, &mut out, &SendOptions::uncompressed())
        .unwrap();
    assert!(!changed && h.rsv.is_empty() && out.is_empty());
    // The first frame decides for the continuations: a message in
    // several frames is compressed whatever its first frame's size...
    let frames = send(&mut n, &[b'y'; 10], 4);
    assert_eq!(
        frames.iter().map(|(rsv1, _)| *rsv1).collect::<Vec<_>>(),
        [true, false, false]
    );
    // ...unless the sender opted out.
    let mut first = header(false, OpCode::Text, Rsv::NONE);
    let mut last = header(true, OpCode::Continuation, Rsv::NONE);
    for h in [&mut first, &mut last] {
        let mut out = Vec::new();
        let opts = SendOptions::uncompressed();
        assert!(!n.encoder.encode(h, &big, &mut out, &opts).unwrap());
        assert!(h.rsv.is_empty());
    }
}

#[test]
fn rsv1_on_a_continuation_frame_is_refused() {
    let mut n = pair(PerMessageDeflate::new(), 15, false);
    assert!(n
        .decoder
        .accepts(&header(false, OpCode::Text, Rsv::RSV1))
        .unwrap());
    let err = n
        .decoder
        .accepts(&header(true, OpCode::Continuation, Rsv::RSV1))
        .unwrap_err();
    assert_eq!(err.close_code(), CloseCode::PROTOCOL_ERROR);
}

#[test]
fn control_frames_are_never_claimed() {
    let mut n = pair(PerMessageDeflate::new(), 15, false);
    for op in [OpCode::Ping, OpCode::Pong, OpCode::Close] {
        assert!(!n.decoder.accepts(&header(true, op, Rsv::RSV1)).unwrap());
    }
}

#[test]
fn a_small_frame_that_inflates_past_the_limit_is_too_big() {
    let mut tx = pair(PerMessageDeflate::new().level(9), 15, false);
    let frames = send(&mut tx, &vec![b'a'; 1 << 20], usize::MAX);
    assert!(frames[0].1.len() < 1100, "{} bytes", frames[0].1.len());
    let mut rx = pair(PerMessageDeflate::new(), 15, false);
    let mut h = header(true, OpCode::Binary, Rsv::RSV1);
    assert!(rx.decoder.accepts(&h).unwrap());
    let mut out = Vec::new();
    let err = rx
        .decoder
        .decode(&mut h, &frames[0].1, &mut out, 64 << 10)
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Capacity(CapacityError::MessageTooBig { .. })
    ));
    assert_eq!(err.close_code(), Some(CloseCode::TOO_BIG));
    assert!(out.capacity() <= 128 << 10, "{}", out.capacity());
}

/// The server's reply to an offer list, or `None` when it declines.
fn server_reply(config: &PerMessageDeflate, offers: &str) -> Option<String> {
    let offers = parse_extensions(offers).unwrap();
    let params: Vec<&[Param]> = offers.iter().map(|o| o.params.as_slice()).collect();
    let (reply, _) = config.accept_offers(&params)?;
    Some(format_extensions(&[ExtensionOffer {
        name: NAME.to_owned(),
        params: reply,
    }]))
}

#[test]
fn server_negotiation_table() {
    let default = PerMessageDeflate::new();
    let strict = PerMessageDeflate::new()
        .server_no_context_takeover(true)
        .client_no_context_takeover(true)
        .server_max_window_bits(10)
        .client_max_window_bits(9);
    let pmd = "permessage-deflate";
    let table: &[(&PerMessageDeflate, &str, Option<&str>)] = &[
        (&default, "permessage-deflate", Some(pmd)),
        (&default, "permessage-deflate; client_max_window_bits", Some(pmd)),
        (&default, "permessage-deflate; client_max_window_bits=8", Some(pmd)),
        (&default, "permessage-deflate; client_no_context_takeover", Some(pmd)),
        (
            &default,
            "permessage-deflate; server_no_context_takeover",
            Some("permessage-deflate; server_no_context_takeover"),
        ),
        (
            &default,
            "permessage-deflate; server_max_window_bits=10",
            Some("permessage-deflate; server_max_window_bits=10"),
        ),
        (
            &default,
            "permessage-deflate; server_max_window_bits=\"8\"",
            Some("permessage-deflate; server_max_window_bits=8"),
        ),
        (&default, "permessage-deflate; foo", None),
        (&default, "permessage-deflate; server_max_window_bits", None),
        (&default, "permessage-deflate; server_max_window_bits=16", None),
        (&default, "permessage-deflate; server_max_window_bits=7", None),
        (&default, "permessage-deflate; server_max_window_bits=010", None),
        (&default, "permessage-deflate; client_max_window_bits=0", None),
        (&default, "permessage-deflate; client_no_context_takeover=1", None),
        (
            &default,
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            None,
        ),
        (
            &default,
            "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
            None,
        ),
        (
            &default,
            "permessage-deflate; foo, permessage-deflate; server_max_window_bits=12, permessage-deflate",
            Some("permessage-deflate; server_max_window_bits=12"),
        ),
        (
            &strict,
            "permessage-deflate",
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10"),
        ),
        (
            &strict,
            "permessage-deflate; client_max_window_bits",
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9"),
        ),
        (
            &strict,
            "permessage-deflate; client_max_window_bits=8; server_max_window_bits=12",
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10"),
        ),
        (
            &strict,
            "permessage-deflate; server_max_window_bits=9",
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9"),
        ),
    ];
    for (config, offers, want) in table {
        assert_eq!(
            server_reply(config, offers).as_deref(),
            *want,
            "{config:?} offered {offers}"
        );
    }
}

fn client_accepts(config: &PerMessageDeflate, reply: &str) -> bool {
    let reply = parse_extensions(&format!("permessage-deflate{reply}")).unwrap();
    config.accept_response(&reply[0].params).is_ok()
}

#[test]
fn client_offers() {
    let offer = |c: &PerMessageDeflate| {
        format_extensions(&[ExtensionOffer {
            name: NAME.to_owned(),
            params: c.offers().remove(0),
        }])
    };
    assert_eq!(
        offer(&PerMessageDeflate::new()),
        "permessage-deflate; client_max_window_bits"
    );
    assert_eq!(
        offer(
            &PerMessageDeflate::new()
                .server_no_context_takeover(true)
                .client_no_context_takeover(true)
                .server_max_window_bits(10)
                .client_max_window_bits(12)
        ),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12"
    );
}

#[test]
fn client_negotiation_table() {
    let default = PerMessageDeflate::new();
    let strict = PerMessageDeflate::new()
        .server_no_context_takeover(true)
        .server_max_window_bits(10)
        .client_max_window_bits(12);
    let table: &[(&PerMessageDeflate, &str, bool)] = &[
        (&default, "", true),
        (&default, "; server_no_context_takeover", true),
        (&default, "; client_no_context_takeover", true),
        (&default, "; server_max_window_bits=8", true),
        (&default, "; client_max_window_bits=9", true),
        (&default, "; client_max_window_bits", false),
        (&default, "; server_max_window_bits", false),
        (&default, "; server_max_window_bits=16", false),
        (&default, "; foo", false),
        (
            &default,
            "; client_no_context_takeover; client_no_context_takeover",
            false,
        ),
        (
            &strict,
            "; server_no_context_takeover; server_max_window_bits=10",
            true,
        ),
        (
            &strict,
            "; server_no_context_takeover; server_max_window_bits=8",
            true,
        ),
        (&strict, "; server_max_window_bits=10", false),
        (&strict, "; server_no_context_takeover", false),
        (
            &strict,
            "; server_no_context_takeover; server_max_window_bits=11",
            false,
        ),
        (
            &strict,
            "; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12",
            true,
        ),
        (
            &strict,
            "; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=13",
            false,
        ),
    ];
    for (config, reply, ok) in table {
        assert_eq!(
            client_accepts(config, reply),
            *ok,
            "{config:?} got {reply:?}"
        );
    }
}
