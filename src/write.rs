//! Frame output over a blocking writer.
//!
//! An unmasked frame goes out as one vectored write of the header (built on
//! the stack) and the payload (not copied). A masked frame is masked into
//! one reused scratch buffer, in bounded pieces. In buffered mode
//! ([`FrameWriter::feed`]) frames collect in a buffer that
//! [`FrameWriter::flush`] writes at once, so many small messages cost one
//! system call.

use std::io::{self, IoSlice, Write};

use crate::frame::{FrameHeader, MAX_HEADER_LEN};
use crate::mask::extend_masked;

/// Largest piece of a masked payload masked at once; bounds the scratch
/// buffer whatever the frame size.
const MASK_CHUNK: usize = 64 << 10;

/// Writes frames; owns the scratch and batch buffers of one connection.
#[derive(Debug, Default)]
pub(crate) struct FrameWriter {
    scratch: Vec<u8>,
    batch: Vec<u8>,
}

impl FrameWriter {
    /// Bytes fed but not yet flushed.
    pub(crate) fn buffered(&self) -> usize {
        self.batch.len()
    }

    /// Writes one frame (and anything fed before it, first).
    pub(crate) fn write_frame<W: Write + ?Sized>(
        &mut self,
        w: &mut W,
        header: &FrameHeader,
        payload: &[u8],
    ) -> io::Result<()> {
        debug_assert_eq!(header.payload_len, payload.len() as u64);
        let mut head = [0u8; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        let Some(key) = header.mask else {
            let result = write_all_vectored(
                w,
                &mut [
                    IoSlice::new(&self.batch),
                    IoSlice::new(&head[..head_len]),
                    IoSlice::new(payload),
                ],
            );
            self.batch.clear();
            return result;
        };
        // Masked: mask piece by piece into the scratch buffer. The first
        // piece leaves with the header (and the batch) in one write.
        let mut first = true;
        let mut done = 0;
        loop {
            let piece = &payload[done..payload.len().min(done + MASK_CHUNK)];
            self.scratch.clear();
            // Each piece starts at a multiple of MASK_CHUNK, itself a multiple
            // of 4, so the key needs no rotation.
            extend_masked(&mut self.scratch, piece, key);
            let result = if first {
                let r = write_all_vectored(
                    w,
                    &mut [
                        IoSlice::new(&self.batch),
                        IoSlice::new(&head[..head_len]),
                        IoSlice::new(&self.scratch),
                    ],
                );
                self.batch.clear();
                r
            } else {
                w.write_all(&self.scratch)
            };
            result?;
            first = false;
            done += piece.len();
            if done == payload.len() {
                return Ok(());
            }
        }
    }

    /// Appends one frame to the batch buffer without writing.
    pub(crate) fn feed(&mut self, header: &FrameHeader, payload: &[u8]) {
        let mut head = [0u8; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        self.batch.extend_from_slice(&head[..head_len]);
        match header.mask {
            Some(key) => extend_masked(&mut self.batch, payload, key),
            None => self.batch.extend_from_slice(payload),
        }
    }

    /// Takes the fed frames out as bytes, without writing them (a
    /// prepared message, encoded once and sent to many).
    pub(crate) fn take_batch(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.batch)
    }

    /// Writes the batch buffer out.
    pub(crate) fn flush<W: Write + ?Sized>(&mut self, w: &mut W) -> io::Result<()> {
        if !self.batch.is_empty() {
            let result = w.write_all(&self.batch);
            self.batch.clear();
            result?;
        }
        w.flush()
    }
}

/// `write_all` for several buffers: one `writev` per round until all is out.
pub(crate) fn write_all_vectored<W: Write + ?Sized>(
    w: &mut W,
    mut bufs: &mut [IoSlice<'_>],
) -> io::Result<()> {
    IoSlice::advance_slices(&mut bufs, 0);
    while !bufs.is_empty() {
        match w.write_vectored(bufs) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "failed to write whole frame",
                ))
            }
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Frame, OpCode, Rsv};

    /// A writer that accepts at most `limit` bytes per call.
    struct Trickle {
        out: Vec<u8>,
        limit: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(self.limit);
            self.out.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn header(len: usize, mask: Option<[u8; 4]>) -> FrameHeader {
        FrameHeader {
            fin: true,
            rsv: Rsv::NONE,
            opcode: OpCode::Binary,
            mask,
            payload_len: len as u64,
        }
    }

    #[test]
    fn partial_writes_still_produce_the_exact_frame() {
        let payload: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        for mask in [None, Some([1, 2, 3, 4])] {
            let mut w = Trickle {
                out: Vec::new(),
                limit: 777,
            };
            let mut fw = FrameWriter::default();
            fw.write_frame(&mut w, &header(payload.len(), mask), &payload)
                .unwrap();
            let mut expected = Vec::new();
            let mut frame = Frame::binary(payload.clone());
            frame.mask = mask;
            frame.encode_into(&mut expected);
            assert_eq!(w.out, expected);
        }
    }

    #[test]
    fn fed_frames_go_out_in_order_before_the_next_frame() {
        let mut w = Trickle {
            out: Vec::new(),
            limit: usize::MAX,
        };
        let mut fw = FrameWriter::default();
        fw.feed(&header(1, None), b"a");
        fw.feed(&header(1, Some([9, 9, 9, 9])), b"b");
        assert_eq!(fw.buffered(), 3 + 7);
        fw.write_frame(&mut w, &header(1, None), b"c").unwrap();
        assert_eq!(
            w.out,
            [
                0x82,
                1,
                b'a',
                0x82,
                0x81,
                9,
                9,
                9,
                9,
                b'b' ^ 9,
                0x82,
                1,
                b'c'
            ]
        );
        assert_eq!(fw.buffered(), 0);
    }
}
