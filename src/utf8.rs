//! Incremental UTF-8 validation that fails fast.
//!
//! Text arrives in pieces: frames of a fragmented message, and reads of a
//! frame. RFC 6455 §8.1 lets an endpoint fail the connection as soon as the
//! bytes seen so far cannot begin valid UTF-8, and Autobahn's 6.4.x cases
//! ask for exactly that. [`Utf8Validator::feed`] keeps at most three bytes
//! of an unfinished character between pieces and rejects a byte the moment
//! no continuation could make it valid (an overlong form, a surrogate, a
//! code point above U+10FFFF).

use crate::error::ProtocolError;

/// Validates UTF-8 fed in pieces.
#[derive(Debug, Clone, Default)]
pub struct Utf8Validator {
    /// The start of a character split across pieces.
    pending: [u8; 4],
    pending_len: usize,
}

impl Utf8Validator {
    /// A validator at the start of a text.
    pub fn new() -> Utf8Validator {
        Utf8Validator::default()
    }

    /// Forgets any unfinished character: ready for the next text.
    pub fn reset(&mut self) {
        self.pending_len = 0;
    }

    /// True when the text so far ends on a character boundary.
    pub fn is_complete(&self) -> bool {
        self.pending_len == 0
    }

    /// Checks the next piece of text.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), ProtocolError> {
        if self.pending_len > 0 {
            let need = char_width(self.pending[0]) - self.pending_len;
            let take = need.min(bytes.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&bytes[..take]);
            self.pending_len += take;
            bytes = &bytes[take..];
            match std::str::from_utf8(&self.pending[..self.pending_len]) {
                Ok(_) => self.pending_len = 0,
                Err(e) if e.error_len().is_some() => return Err(ProtocolError::InvalidUtf8),
                Err(_) => return Ok(()), // still unfinished, and `bytes` is used up
            }
        }
        match validate(bytes) {
            Ok(()) => Ok(()),
            Err(e) if e.error_len().is_some() => Err(ProtocolError::InvalidUtf8),
            Err(e) => {
                let tail = &bytes[e.valid_up_to()..];
                self.pending[..tail.len()].copy_from_slice(tail);
                self.pending_len = tail.len();
                Ok(())
            }
        }
    }

    /// The text has ended: an unfinished character is an error.
    pub fn finish(&mut self) -> Result<(), ProtocolError> {
        let complete = self.is_complete();
        self.reset();
        if complete {
            Ok(())
        } else {
            Err(ProtocolError::InvalidUtf8)
        }
    }
}

/// Turns a text message into a `String` without validating it again:
/// `validated` is how many of its leading bytes went, in order, through a
/// [`Utf8Validator`] whose [`finish`](Utf8Validator::finish) succeeded.
///
/// `String::from_utf8` would be a second full pass over every received text
/// byte; at 1 MiB messages it was a third of the echo server's CPU time
/// (see `bench/`). Text not entirely seen is checked whole here, with the
/// same SIMD pass the validator uses.
pub(crate) fn into_string(bytes: Vec<u8>, validated: usize) -> Result<String, ProtocolError> {
    if validated != bytes.len() {
        validate(&bytes).map_err(|_| ProtocolError::InvalidUtf8)?;
    }
    debug_assert!(std::str::from_utf8(&bytes).is_ok());
    // SAFETY: `bytes` is valid UTF-8. Either it was just checked whole by
    // `validate` (simdutf8, with std's validator behind it), or every byte
    // was fed, in order and unchanged since, to a validator that accepted
    // each piece and ended on a character boundary (`finish`), which is
    // exactly "valid UTF-8"; the validator is checked against std's on
    // every split of valid and invalid text (tests below and the protocol
    // tests).
    #[allow(unsafe_code)]
    let text = unsafe { String::from_utf8_unchecked(bytes) };
    Ok(text)
}

/// Checks a whole piece: SIMD validation (simdutf8: several times std's
/// speed on text that is not pure ASCII, and this pass runs over every
/// received text byte), with std's validator, which says where and how the
/// text went wrong, only for pieces that fail.
fn validate(bytes: &[u8]) -> Result<(), std::str::Utf8Error> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(_) => Ok(()),
        Err(_) => std::str::from_utf8(bytes).map(|_| ()),
    }
}

/// The length of the character a leading byte starts (1 for bytes that
/// cannot lead; `from_utf8` rejects those).
fn char_width(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_split(bytes: &[u8], cuts: &[usize]) -> Result<(), ProtocolError> {
        let mut v = Utf8Validator::new();
        let mut start = 0;
        for &cut in cuts {
            v.feed(&bytes[start..cut])?;
            start = cut;
        }
        v.feed(&bytes[start..])?;
        v.finish()
    }

    #[test]
    fn every_split_of_valid_text_is_accepted() {
        let text = "κόσμε – ascii – 😀 – \u{10FFFF}".as_bytes();
        for a in 0..=text.len() {
            for b in a..=text.len() {
                assert_eq!(feed_split(text, &[a, b]), Ok(()), "cuts {a} {b}");
            }
        }
    }

    #[test]
    fn every_split_of_invalid_text_is_rejected() {
        for bad in [
            &b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"[..], // surrogate
            b"\xc0\xaf",                                                            // overlong '/'
            b"\xf4\x90\x80\x80", // above U+10FFFF
            b"abc\xff",
            b"\xe1\x80", // truncated at the end
        ] {
            for a in 0..=bad.len() {
                assert_eq!(
                    feed_split(bad, &[a]),
                    Err(ProtocolError::InvalidUtf8),
                    "{bad:x?} cut {a}"
                );
            }
        }
    }

    #[test]
    fn fails_at_the_byte_that_makes_text_invalid() {
        // Autobahn 6.4.x: U+110000 encoded; F4 90 can already not be valid.
        let mut v = Utf8Validator::new();
        v.feed("κόσμε".as_bytes()).unwrap();
        v.feed(b"\xf4").unwrap();
        assert_eq!(v.feed(b"\x90"), Err(ProtocolError::InvalidUtf8));
    }

    #[test]
    fn unfinished_character_is_not_an_error_until_the_end() {
        let mut v = Utf8Validator::new();
        v.feed(b"\xf0\x9f").unwrap();
        assert!(!v.is_complete());
        v.feed(b"\x98").unwrap();
        v.feed(b"\x80").unwrap();
        assert!(v.is_complete());
        assert_eq!(v.finish(), Ok(()));
    }
}
