//! Raw DEFLATE (RFC 1951) as both compression extensions use it: a
//! compressor that honours a negotiated window size, and an inflater that
//! stops at a size limit.
//!
//! Each compressed unit (a message for permessage-deflate, a frame for
//! deflate-frame) ends with a sync flush, an empty stored block whose last
//! four bytes, `00 00 ff ff`, are not sent; the receiver appends them again
//! (RFC 7692 §7.2.1, §7.2.2).
//!
//! **Window sizes.** miniz_oxide always searches matches in a 32 KiB
//! dictionary: its `window_bits` argument only lowers the compression
//! level (level 1 still emits distances up to 32 KiB, and below 12 bits
//! it switches to run-length matches). To keep every distance below
//! 2^bits for real, [`Deflater`] ends a block with a *full* flush each time
//! 2^bits input bytes have gone in since the last one: a full flush empties
//! miniz's dictionary, so no match can reach past it. Every value from 8 to
//! 15 is honoured this way, at some cost in ratio for small windows.
//! Decompression always keeps 32 KiB of history, which serves every window
//! a peer may use.

use miniz_oxide::deflate::core::{
    compress_to_output, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush, TDEFLStatus,
};
use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;

use crate::error::{CapacityError, Error, ProtocolError};

/// The end of the empty stored block that closes each compressed unit.
pub(crate) const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The largest LZ77 window DEFLATE allows, in bits (32 KiB).
pub(crate) const MAX_WINDOW_BITS: u8 = 15;

/// The smallest window the extensions let a peer ask for (RFC 7692 §7.1.2).
pub(crate) const MIN_WINDOW_BITS: u8 = 8;

/// The history an inflater keeps: the largest DEFLATE window.
const HISTORY: usize = 1 << MAX_WINDOW_BITS;

/// Parses a window-bits value: a decimal integer from 8 to 15 without
/// leading zeros (RFC 7692 §7.1.2.1).
pub(crate) fn parse_window_bits(value: &str) -> Option<u8> {
    match value.as_bytes() {
        [d @ b'8'..=b'9'] => Some(d - b'0'),
        [b'1', d @ b'0'..=b'5'] => Some(10 + d - b'0'),
        _ => None,
    }
}

/// Checks a configured window size (builder argument).
pub(crate) fn check_window_bits(bits: u8) -> u8 {
    assert!(
        (MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&bits),
        "window bits must be 8 to 15, not {bits}"
    );
    bits
}

/// A raw DEFLATE compressor with a window limit.
pub(crate) struct Deflater {
    /// Allocated on first use (about 300 KB), then reused for good.
    engine: Option<Box<CompressorOxide>>,
    level: u8,
    window_bits: u8,
    /// Input bytes since miniz's dictionary was last emptied.
    since_reset: usize,
}

impl Deflater {
    /// A compressor at `level` (0 to 10) whose matches stay within
    /// 2^`window_bits` bytes.
    pub(crate) fn new(level: u8, window_bits: u8) -> Deflater {
        Deflater {
            engine: None,
            level: level.min(10),
            window_bits,
            since_reset: 0,
        }
    }

    /// Compresses `input` and flushes, appending to `out`, which then ends
    /// with [`TAIL`]. With `forget`, later input will not refer to anything
    /// before this point (no context takeover).
    pub(crate) fn compress(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        forget: bool,
    ) -> Result<(), Error> {
        let level = self.level;
        let engine = self.engine.get_or_insert_with(|| {
            // Negative window bits: raw DEFLATE, no zlib header.
            let flags = create_comp_flags_from_zip_params(level.into(), -15, 0);
            Box::new(CompressorOxide::new(flags))
        });
        let limited = self.window_bits < MAX_WINDOW_BITS;
        let window = 1usize << self.window_bits;
        let mut rest = input;
        loop {
            let room = if limited {
                window - self.since_reset
            } else {
                usize::MAX
            };
            let (piece, after) = rest.split_at(rest.len().min(room));
            let window_full = limited && self.since_reset + piece.len() == window;
            let flush = if window_full || (after.is_empty() && forget) {
                TDEFLFlush::Full
            } else if after.is_empty() {
                TDEFLFlush::Sync
            } else {
                TDEFLFlush::None
            };
            run(engine, piece, out, flush)?;
            self.since_reset = if flush == TDEFLFlush::Full {
                0
            } else {
                self.since_reset + piece.len()
            };
            if after.is_empty() {
                return Ok(());
            }
            rest = after;
        }
    }
}

/// Feeds `input` to miniz with `flush`, appending its output to `out`.
///
/// Output goes through miniz's callback, never into a fixed buffer: when
/// `compress` fills a caller's buffer during a flush, it keeps the rest of
/// its lookahead for later and the next call only drains the pending
/// output, so the flush silently ends short (seen with Autobahn 12.2.9).
fn run(
    engine: &mut CompressorOxide,
    input: &[u8],
    out: &mut Vec<u8>,
    flush: TDEFLFlush,
) -> Result<(), Error> {
    let (status, consumed) = compress_to_output(engine, input, flush, |chunk| {
        out.extend_from_slice(chunk);
        true
    });
    if !matches!(status, TDEFLStatus::Okay | TDEFLStatus::Done) || consumed != input.len() {
        return Err(Error::Extension(
            format!(
                "compressor failed: {status:?} after {consumed} of {} bytes",
                input.len()
            )
            .into(),
        ));
    }
    Ok(())
}

/// Removes the [`TAIL`] a flush left at the end of `out`.
pub(crate) fn strip_tail(out: &mut Vec<u8>) {
    debug_assert!(out.ends_with(&TAIL));
    out.truncate(out.len().saturating_sub(TAIL.len()));
}

/// The decompressor and its history, allocated together on first use.
struct InflateEngine {
    decomp: DecompressorOxide,
    /// The last 32 KiB of output, used as a ring.
    history: Box<[u8]>,
    /// Where the next output byte goes in `history`.
    pos: usize,
    /// No input since the stream (re)started.
    fresh: bool,
}

/// A raw DEFLATE decompressor with bounded output.
#[derive(Default)]
pub(crate) struct Inflater {
    engine: Option<Box<InflateEngine>>,
}

impl Inflater {
    /// Decompresses one compressed unit or a piece of one, appending to
    /// `out`. `end`: the unit ends here, so the stripped [`TAIL`] is fed
    /// after `input`. Appending more than `limit` bytes fails with
    /// [`CapacityError::MessageTooBig`] before the excess is copied out:
    /// memory stays within `limit` plus the 32 KiB history, whatever the
    /// input claims (the decompression-bomb lesson).
    pub(crate) fn decompress(
        &mut self,
        input: &[u8],
        end: bool,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), Error> {
        let mut budget = limit;
        let e = self.engine.get_or_insert_with(|| {
            Box::new(InflateEngine {
                decomp: DecompressorOxide::new(),
                history: vec![0; HISTORY].into_boxed_slice(),
                pos: 0,
                fresh: true,
            })
        });
        e.feed(input, out, &mut budget, limit)?;
        // A unit may close with a final block (BFINAL, RFC 7692 §7.2.3.4):
        // then the stream starts afresh and the tail belongs to nothing.
        // Otherwise the tail completes the flush block.
        if end && !e.fresh {
            e.feed(&TAIL, out, &mut budget, limit)?;
        }
        Ok(())
    }
}

impl InflateEngine {
    /// Inflates all of `input` into `out`, within `budget`.
    fn feed(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        budget: &mut usize,
        limit: usize,
    ) -> Result<(), Error> {
        loop {
            // At most HISTORY - pos bytes come out per call: the chunk
            // that bounds memory.
            let (status, consumed, written) = decompress(
                &mut self.decomp,
                input,
                &mut self.history,
                self.pos,
                inflate_flags::TINFL_FLAG_HAS_MORE_INPUT,
            );
            if written > *budget {
                return Err(CapacityError::MessageTooBig { max: limit }.into());
            }
            *budget -= written;
            out.extend_from_slice(&self.history[self.pos..self.pos + written]);
            self.pos = (self.pos + written) % HISTORY;
            self.fresh &= consumed == 0;
            input = &input[consumed..];
            match status {
                TINFLStatus::NeedsMoreInput => return Ok(()),
                TINFLStatus::HasMoreOutput => {}
                TINFLStatus::Done => {
                    // A final block ended the stream. What follows starts a
                    // new one; the history stays, as the peer's does.
                    self.decomp.init();
                    self.fresh = true;
                    if input.is_empty() {
                        return Ok(());
                    }
                }
                _ => {
                    return Err(ProtocolError::Extension(
                        "invalid DEFLATE data in a compressed frame".to_owned(),
                    )
                    .into())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::close_code::CloseCode;

    fn deflate(d: &mut Deflater, input: &[u8], forget: bool) -> Vec<u8> {
        let mut out = Vec::new();
        d.compress(input, &mut out, forget).unwrap();
        strip_tail(&mut out);
        out
    }

    fn inflate(i: &mut Inflater, input: &[u8], limit: usize) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        i.decompress(input, true, &mut out, limit)?;
        Ok(out)
    }

    /// Text with repeats at every distance up to 32 KiB (a JSON-like log).
    fn corpus(len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0u64;
        while out.len() < len {
            let far = (i * 7919) % (i + 1);
            out.extend_from_slice(
                format!("{{\"id\":{i},\"ref\":{far},\"name\":\"user-{}\"}},", i % 97).as_bytes(),
            );
            i += 1;
        }
        out.truncate(len);
        out
    }

    /// Inflates with only 2^bits bytes of history, as a peer that
    /// negotiated that window may: `None` when the data refers further
    /// back (or the output differs, below).
    fn inflate_with_window(data: &[u8], bits: u8) -> Option<Vec<u8>> {
        let mut input = data.to_vec();
        input.extend_from_slice(&TAIL);
        let mut decomp = DecompressorOxide::new();
        let mut ring = vec![0u8; 1 << bits];
        let mut pos = 0;
        let mut out = Vec::new();
        let mut rest = &input[..];
        loop {
            let (status, consumed, written) = decompress(
                &mut decomp,
                rest,
                &mut ring,
                pos,
                inflate_flags::TINFL_FLAG_HAS_MORE_INPUT,
            );
            out.extend_from_slice(&ring[pos..pos + written]);
            pos = (pos + written) % ring.len();
            rest = &rest[consumed..];
            match status {
                TINFLStatus::HasMoreOutput => {}
                TINFLStatus::NeedsMoreInput => return Some(out),
                _ => return None,
            }
        }
    }

    /// Inflates with no history at all before `data`: `None` when it
    /// refers to anything earlier.
    fn inflate_alone(data: &[u8]) -> Option<Vec<u8>> {
        let mut input = data.to_vec();
        input.extend_from_slice(&TAIL);
        let mut out = vec![0u8; 1 << 22];
        let (status, _, written) = decompress(
            &mut DecompressorOxide::new(),
            &input,
            &mut out,
            0,
            inflate_flags::TINFL_FLAG_HAS_MORE_INPUT
                | inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
        );
        out.truncate(written);
        (status == TINFLStatus::NeedsMoreInput).then_some(out)
    }

    #[test]
    fn both_engines_fit_a_small_thread_stack() {
        // miniz builds its compressor (64 KiB of it inline) on the stack
        // before it is boxed: measured to need under 128 KiB of stack in
        // release builds and between 256 and 384 KiB in debug builds.
        std::thread::Builder::new()
            .stack_size(384 << 10)
            .spawn(|| {
                let mut d = Deflater::new(1, 15);
                let packed = deflate(&mut d, &corpus(10_000), false);
                inflate(&mut Inflater::default(), &packed, 1 << 20).unwrap()
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn window_bits_values_are_strict() {
        assert_eq!(parse_window_bits("8"), Some(8));
        assert_eq!(parse_window_bits("15"), Some(15));
        for bad in ["7", "16", "08", "", "+9", "10 ", "1O"] {
            assert_eq!(parse_window_bits(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn every_window_size_is_honoured_by_match_distances() {
        let data = corpus(200_000);
        for bits in MIN_WINDOW_BITS..=MAX_WINDOW_BITS {
            let mut d = Deflater::new(6, bits);
            let packed = deflate(&mut d, &data, false);
            assert!(
                packed.len() < data.len() / 2,
                "bits {bits} did not compress"
            );
            assert_eq!(
                inflate_with_window(&packed, bits).as_ref(),
                Some(&data),
                "bits {bits}"
            );
        }
    }

    #[test]
    fn the_window_check_catches_a_compressor_that_ignores_it() {
        // miniz's own window_bits parameter does not bound distances: the
        // reason Deflater flushes. The checker above must see that.
        let data = corpus(200_000);
        let mut d = Deflater::new(6, MAX_WINDOW_BITS);
        let packed = deflate(&mut d, &data, false);
        assert_ne!(inflate_with_window(&packed, 9).as_ref(), Some(&data));
    }

    #[test]
    fn miniz_window_bits_alone_do_not_bound_distances() {
        // What the module docs claim: with_params(.., 12) only picks the
        // fast level, whose matches still reach back 32 KiB.
        use miniz_oxide::deflate::core::CompressionStrategy;
        use miniz_oxide::DataFormat;
        let data = corpus(200_000);
        let mut engine =
            CompressorOxide::with_params(DataFormat::Raw, 6, CompressionStrategy::Default, 12);
        let mut packed = Vec::new();
        run(&mut engine, &data, &mut packed, TDEFLFlush::Sync).unwrap();
        strip_tail(&mut packed);
        assert_ne!(inflate_with_window(&packed, 12).as_ref(), Some(&data));
    }

    #[test]
    fn window_limit_holds_across_messages_with_context_takeover() {
        let mut d = Deflater::new(6, 9);
        let mut stream = Vec::new();
        let mut plain = Vec::new();
        for n in [100, 300, 700, 1000, 5] {
            let msg = corpus(n);
            let mut out = Vec::new();
            d.compress(&msg, &mut out, false).unwrap();
            stream.extend_from_slice(&out);
            plain.extend_from_slice(&msg);
        }
        strip_tail(&mut stream);
        assert_eq!(inflate_with_window(&stream, 9), Some(plain));
    }

    #[test]
    fn forget_drops_the_context() {
        let msg = corpus(2000);
        let mut keep = Deflater::new(6, 15);
        let first = deflate(&mut keep, &msg, false);
        let second = deflate(&mut keep, &msg, false);
        assert!(second.len() < first.len() / 10, "takeover should help");
        assert_eq!(inflate_alone(&second), None);
        let mut forget = Deflater::new(6, 15);
        let first = deflate(&mut forget, &msg, true);
        let again = deflate(&mut forget, &msg, true);
        assert!(again.len() > first.len() / 2, "no context to use");
        // The second message needs nothing from the first.
        assert_eq!(inflate_alone(&again), Some(msg));
    }

    #[test]
    fn round_trip_of_empty_small_and_large_inputs() {
        let mut d = Deflater::new(6, 15);
        let mut i = Inflater::default();
        for n in [0, 1, 5, 1000, 100_000, 1_000_000] {
            let msg = corpus(n);
            let packed = deflate(&mut d, &msg, false);
            assert_eq!(inflate(&mut i, &packed, 1 << 21).unwrap(), msg, "{n} bytes");
        }
    }

    /// Data that compresses to about two thirds: runs of `x` between
    /// stretches of 64-symbol noise.
    fn noise(len: usize, mut seed: u64, run: usize) -> Vec<u8> {
        (0..len)
            .map(|i| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                if i % 512 < run {
                    b'x'
                } else {
                    (seed % 64) as u8
                }
            })
            .collect()
    }

    #[test]
    fn messages_that_compress_to_more_than_half_round_trip_whole() {
        // These made a flush into a fixed output buffer end short: miniz
        // kept the lookahead for later, and the message lost its last
        // bytes (or carried garbage) until `run` used the callback.
        for run in [32, 48] {
            let mut d = Deflater::new(1, 15);
            let mut i = Inflater::default();
            for (n, len) in [65_536, 131_072, 65_536, 300_000].into_iter().enumerate() {
                let msg = noise(len, n as u64 + 1, run);
                let packed = deflate(&mut d, &msg, false);
                assert!(packed.len() > len / 2);
                let back = inflate(&mut i, &packed, 1 << 20);
                assert_eq!(back.ok(), Some(msg), "run {run}, message {n}");
            }
        }
    }

    #[test]
    fn empty_input_compresses_to_one_zero_byte() {
        // RFC 7692 §7.2.3.6: an empty stored block without its tail.
        let mut d = Deflater::new(6, 15);
        assert_eq!(deflate(&mut d, b"", false), [0x00]);
    }

    #[test]
    fn output_is_cut_at_the_limit_in_bounded_chunks() {
        // 1 KiB of compressed zeros inflates to about 1 MB.
        let mut d = Deflater::new(9, 15);
        let bomb = deflate(&mut d, &vec![0u8; 1_000_000], false);
        assert!(bomb.len() <= 1024, "{} bytes", bomb.len());
        let mut out = Vec::new();
        let err = Inflater::default()
            .decompress(&bomb, true, &mut out, 100_000)
            .unwrap_err();
        assert!(matches!(
            err,
            Error::Capacity(CapacityError::MessageTooBig { max: 100_000 })
        ));
        assert!(out.len() <= 100_000);
        // Output grows with what was really produced: at most the limit
        // plus one history's worth of capacity slack.
        assert!(out.capacity() <= 2 * 100_000, "{}", out.capacity());
    }

    #[test]
    fn garbage_is_a_protocol_error() {
        // BTYPE 11 is reserved (RFC 1951 §3.2.3).
        let err = inflate(&mut Inflater::default(), &[0xff, 0xff, 0xff], 100).unwrap_err();
        assert!(matches!(err, Error::Protocol(ProtocolError::Extension(_))));
        assert_eq!(err.close_code(), Some(CloseCode::PROTOCOL_ERROR));
    }

    #[test]
    fn a_final_block_ending_a_unit_takes_no_tail() {
        // Without the RFC's padding byte, and with an empty last frame.
        let mut i = Inflater::default();
        let mut out = Vec::new();
        let bfinal = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        i.decompress(&bfinal, false, &mut out, 100).unwrap();
        i.decompress(&[], true, &mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
        assert_eq!(
            inflate(&mut i, &[0xf2, 0x00, 0x11, 0x00, 0x00], 100).unwrap(),
            b"Hello"
        );
    }

    #[test]
    fn a_final_block_then_more_data_continues_with_the_history() {
        // "Hello" in a final fixed block, the RFC's padding byte, then a
        // second unit that refers back to it (distance 5, length 5).
        let mut i = Inflater::default();
        let first = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
        assert_eq!(inflate(&mut i, &first, 100).unwrap(), b"Hello");
        assert_eq!(
            inflate(&mut i, &[0xf2, 0x00, 0x11, 0x00, 0x00], 100).unwrap(),
            b"Hello"
        );
    }
}
