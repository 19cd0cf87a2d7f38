//! Masking (RFC 6455 §5.3): XOR with a four-byte key, and the keys.

use rand::RngExt;

/// XORs `buf` with `key` repeated, starting at key byte 0.
///
/// Masking and unmasking are the same operation. The work is done on
/// 32-byte blocks against a pre-rotated key, which the compiler turns into
/// vector XORs: the hot loop of every server.
pub fn apply_mask(buf: &mut [u8], key: [u8; 4]) {
    apply_mask_at(buf, key, 0);
}

/// XORs `buf` with `key` as if `buf` began `offset` bytes into the payload,
/// so a payload can be unmasked piece by piece as it arrives.
pub fn apply_mask_at(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let mut key = key;
    key.rotate_left(offset % 4);
    let mut wide = [0u8; 32];
    for (i, b) in wide.iter_mut().enumerate() {
        *b = key[i % 4];
    }
    let mut blocks = buf.chunks_exact_mut(32);
    for block in &mut blocks {
        for (b, k) in block.iter_mut().zip(wide.iter()) {
            *b ^= k;
        }
    }
    for (b, k) in blocks.into_remainder().iter_mut().zip(wide.iter()) {
        *b ^= k;
    }
}

/// Appends `src` masked with `key` to `dst`: one pass that copies and masks.
pub fn extend_masked(dst: &mut Vec<u8>, src: &[u8], key: [u8; 4]) {
    let start = dst.len();
    dst.extend_from_slice(src);
    apply_mask(&mut dst[start..], key);
}

/// A fresh masking key from a CSPRNG (ChaCha, seeded from the operating
/// system and reseeded periodically; one per thread), as §5.3 requires: the
/// key must not be predictable. No system call per frame.
pub fn random_mask_key() -> [u8; 4] {
    rand::rng().random()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(i + offset) % 4];
        }
    }

    #[test]
    fn matches_the_definition_at_every_length_and_offset() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        for len in 0..100 {
            for offset in 0..8 {
                let data: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(31)).collect();
                let mut fast = data.clone();
                let mut slow = data.clone();
                apply_mask_at(&mut fast, key, offset);
                naive(&mut slow, key, offset);
                assert_eq!(fast, slow, "len {len} offset {offset}");
            }
        }
    }

    #[test]
    fn unmasking_in_pieces_equals_unmasking_whole() {
        let key = [1, 2, 3, 4];
        let data: Vec<u8> = (0..=255).collect();
        let mut whole = data.clone();
        apply_mask(&mut whole, key);
        let mut pieces = data.clone();
        let (a, rest) = pieces.split_at_mut(7);
        let (b, c) = rest.split_at_mut(50);
        apply_mask_at(a, key, 0);
        apply_mask_at(b, key, 7);
        apply_mask_at(c, key, 57);
        assert_eq!(whole, pieces);
    }

    #[test]
    fn keys_differ() {
        let keys: std::collections::HashSet<[u8; 4]> = (0..64).map(|_| random_mask_key()).collect();
        assert!(keys.len() > 60);
    }
}
