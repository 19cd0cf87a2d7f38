//! [`CloseFrame`]: the code and reason a close frame carries (RFC 6455
//! §5.5.1), parsed, checked and encoded.

use std::fmt;

use crate::close_code::CloseCode;
use crate::error::{Error, ProtocolError};

/// The code and reason of a close frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// The reason, at most 123 bytes of UTF-8 on the wire.
    pub reason: String,
}

impl CloseFrame {
    /// A close frame with this code and reason.
    pub fn new(code: CloseCode, reason: impl Into<String>) -> CloseFrame {
        CloseFrame {
            code,
            reason: reason.into(),
        }
    }

    /// A close frame an application asked to send: codes that must not be
    /// sent (1005, 1006, 1015, out of range; RFC 6455 §7.4) are
    /// [`Error::Usage`].
    pub(crate) fn to_send(code: CloseCode, reason: &str) -> Result<CloseFrame, Error> {
        if !code.is_sendable() {
            return Err(Error::Usage(
                "this close code must not be sent (RFC 6455 §7.4)",
            ));
        }
        Ok(CloseFrame::new(code, reason))
    }

    /// Parses a close frame's payload (RFC 6455 §5.5.1): empty means no
    /// status (`Ok(None)`); one byte is a protocol error; otherwise a code
    /// that must be sendable and a UTF-8 reason.
    pub fn parse(payload: &[u8]) -> Result<Option<CloseFrame>, ProtocolError> {
        match payload {
            [] => Ok(None),
            [_] => Err(ProtocolError::InvalidClosePayload),
            [hi, lo, reason @ ..] => {
                let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
                if !code.is_sendable() {
                    return Err(ProtocolError::InvalidCloseCode(code.0));
                }
                let reason = std::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidUtf8)?;
                Ok(Some(CloseFrame {
                    code,
                    reason: reason.to_owned(),
                }))
            }
        }
    }

    /// Writes the close payload: code, then the reason cut to 123 bytes at
    /// a character boundary (a control frame holds at most 125 bytes).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.code.0.to_be_bytes());
        out.extend_from_slice(truncate_reason(&self.reason).as_bytes());
    }
}

/// The longest prefix of `reason` that fits in a close frame (123 bytes)
/// without splitting a character.
pub(crate) fn truncate_reason(reason: &str) -> &str {
    const MAX: usize = 123;
    if reason.len() <= MAX {
        return reason;
    }
    let mut end = MAX;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

impl fmt::Display for CloseFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reason.is_empty() {
            write!(f, "{}", self.code)
        } else {
            write!(f, "{} {:?}", self.code, self.reason)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_payload_parse() {
        assert_eq!(CloseFrame::parse(b""), Ok(None));
        assert_eq!(
            CloseFrame::parse(b"\x03"),
            Err(ProtocolError::InvalidClosePayload)
        );
        assert_eq!(
            CloseFrame::parse(b"\x03\xe8"),
            Ok(Some(CloseFrame::new(CloseCode::NORMAL, "")))
        );
        assert_eq!(
            CloseFrame::parse(b"\x03\xe9bye"),
            Ok(Some(CloseFrame::new(CloseCode::GOING_AWAY, "bye")))
        );
        assert_eq!(
            CloseFrame::parse(b"\x03\xed"),
            Err(ProtocolError::InvalidCloseCode(1005))
        );
        assert_eq!(
            CloseFrame::parse(b"\x03\xe8\xff"),
            Err(ProtocolError::InvalidUtf8)
        );
    }

    #[test]
    fn reason_is_cut_at_a_char_boundary() {
        let reason = "é".repeat(100); // 200 bytes
        let frame = CloseFrame::new(CloseCode::NORMAL, reason);
        let mut out = Vec::new();
        frame.encode_into(&mut out);
        assert_eq!(out.len(), 2 + 122);
        assert!(std::str::from_utf8(&out[2..]).is_ok());
    }
}
