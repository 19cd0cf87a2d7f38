//! Micro-benchmarks of the two passes a server makes over every received
//! byte, against `memcpy` (`copy_from_slice`) on the same buffer: unmasking
//! (`stdws::frame::apply_mask`, in place) and UTF-8 validation
//! (`stdws::utf8::Utf8Validator::feed`). A pass as fast as a copy is free
//! next to the copies the kernel makes anyway.

use std::hint::black_box;
use std::time::{Duration, Instant};

use stdws::frame::apply_mask;
use stdws::utf8::Utf8Validator;

use crate::wire::{repeat_text, text_payload, DENSE};

/// One micro-benchmark's result.
#[derive(Debug, Clone)]
pub struct MicroResult {
    /// Buffer size in bytes.
    pub size: usize,
    /// memcpy bandwidth, GB/s.
    pub memcpy: f64,
    /// In-place unmasking bandwidth, GB/s.
    pub unmask: f64,
    /// UTF-8 validation of the echo payload (chat-like JSON), GB/s.
    pub utf8_text: f64,
    /// UTF-8 validation of dense Greek and CJK text, GB/s.
    pub utf8_dense: f64,
    /// UTF-8 validation of pure ASCII, GB/s.
    pub utf8_ascii: f64,
}

/// Best bandwidth (GB/s) of `op` on `size` bytes over `batches` timed
/// batches lasting about `span` in all: the best batch is the one least
/// disturbed by other work on the machine.
fn bandwidth(size: usize, span: Duration, batches: u32, mut op: impl FnMut()) -> f64 {
    // Calibrate: how many calls fill one batch.
    let mut reps = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..reps {
            op();
        }
        if t.elapsed() >= span / batches / 4 || reps >= 1 << 30 {
            break;
        }
        reps *= 2;
    }
    let reps = reps * 4;
    let mut best = f64::MAX;
    for _ in 0..batches {
        let t = Instant::now();
        for _ in 0..reps {
            op();
        }
        best = best.min(t.elapsed().as_secs_f64() / reps as f64);
    }
    size as f64 / best / 1e9
}

/// Runs the micro-benchmarks for each size, each op for about `span`.
pub fn run(sizes: &[usize], span: Duration) -> Vec<MicroResult> {
    let mut out = Vec::new();
    for &size in sizes {
        let src = text_payload(size);
        let ascii = vec![b'a'; size];
        let dense = repeat_text(DENSE, size);
        let mut dst = vec![0u8; size];
        let memcpy = bandwidth(size, span, 5, || {
            dst.copy_from_slice(black_box(&src));
            black_box(&mut dst);
        });
        let mut buf = src.clone();
        let unmask = bandwidth(size, span, 5, || {
            apply_mask(black_box(&mut buf), black_box([0x5a, 0x13, 0xc7, 0x2e]));
        });
        let validate = |bytes: &[u8]| {
            let mut v = Utf8Validator::new();
            let ok = v.feed(black_box(bytes)).is_ok() && v.finish().is_ok();
            assert!(ok, "benchmark text must be valid UTF-8");
        };
        let utf8_text = bandwidth(size, span, 5, || validate(&src));
        let utf8_ascii = bandwidth(size, span, 5, || validate(&ascii));
        let utf8_dense = bandwidth(size, span, 5, || validate(&dense));
        out.push(MicroResult {
            size,
            memcpy,
            unmask,
            utf8_text,
            utf8_ascii,
            utf8_dense,
        });
    }
    out
}
