//! Support for the stdws fuzz targets: an in-memory stream, a toy
//! extension, a decoder for the frames we wrote, and the seed corpus.
//!
//! Nothing here uses libFuzzer; the targets in `fuzz_targets/` do.

#![forbid(unsafe_code)]

pub mod duplex;
pub mod seeds;
pub mod toy;
pub mod wire;
