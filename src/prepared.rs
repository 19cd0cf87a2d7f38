//! A message encoded once for many recipients (broadcasts): every client
//! that speaks the same wire protocol, without an extension that
//! transforms data, gets the same bytes.
//!
//! Each encoding is made the first time a recipient needs it, so a
//! broadcast costs one encoding per protocol in use, whatever the number
//! of clients: RFC 6455 frames for most, the hixie-76 frame for clients
//! of a server that speaks it ([`crate::hixie76`]).

use std::sync::{Arc, OnceLock};

use crate::extension::SendOptions;
use crate::frame::Role;
use crate::message::Message;
use crate::protocol::Sender;
use crate::session::Framing;
use crate::write::FrameWriter;

/// A message and its encodings, shared by the recipients of one broadcast.
pub(crate) struct Prepared<'a> {
    message: &'a Message,
    fragment_size: Option<usize>,
    rfc6455: OnceLock<Arc<[u8]>>,
    /// `None` inside: hixie-76 cannot carry this message (binary).
    hixie76: OnceLock<Option<Arc<[u8]>>>,
}

impl<'a> Prepared<'a> {
    /// `message`, to be sent as a server sends (unmasked), cut into frames
    /// of `fragment_size` bytes if set.
    pub(crate) fn new(message: &'a Message, fragment_size: Option<usize>) -> Prepared<'a> {
        Prepared {
            message,
            fragment_size,
            rfc6455: OnceLock::new(),
            hixie76: OnceLock::new(),
        }
    }

    /// The message itself (for a recipient that encodes its own copy).
    pub(crate) fn message(&self) -> &Message {
        self.message
    }

    /// The bytes for a recipient with this framing, encoded on first use;
    /// `None` when the framing cannot carry the message.
    pub(crate) fn frames(&self, framing: Framing) -> Option<&Arc<[u8]>> {
        match framing {
            Framing::Rfc6455 => Some(self.rfc6455.get_or_init(|| self.encode_rfc6455())),
            Framing::Hixie76 => self
                .hixie76
                .get_or_init(|| {
                    let text = self.message.as_text()?;
                    Some(crate::hixie76::text_frame(text).concat().into())
                })
                .as_ref(),
        }
    }

    fn encode_rfc6455(&self) -> Arc<[u8]> {
        #[cfg(test)]
        ENCODED.with(|n| n.set(n.get() + 1));
        let mut sender = Sender::new(Role::Server, Vec::new(), self.fragment_size);
        let mut writer = FrameWriter::default();
        let encoded = sender.message(
            self.message.opcode(),
            self.message.as_bytes(),
            &SendOptions::default(),
            |header, payload| {
                writer.feed(header, payload);
                Ok(())
            },
        );
        debug_assert!(encoded.is_ok(), "encoding without extensions cannot fail");
        writer.take_batch().into()
    }
}

/// Which messages of a [`Batch`] a recipient does not get (by index).
pub(crate) type Skip<'s> = Option<&'s dyn Fn(usize) -> bool>;

/// Consecutive messages for the same recipients, each encoded once per
/// protocol, and their frames concatenated: a recipient gets the batch in
/// one write (one send system call where there were N).
pub(crate) struct Batch<'a> {
    items: Vec<Prepared<'a>>,
    rfc6455: OnceLock<(Arc<[u8]>, usize)>,
    hixie76: OnceLock<(Arc<[u8]>, usize)>,
}

impl<'a> Batch<'a> {
    pub(crate) fn new(
        messages: impl IntoIterator<Item = &'a Message>,
        fragment_size: Option<usize>,
    ) -> Batch<'a> {
        Batch {
            items: messages
                .into_iter()
                .map(|m| Prepared::new(m, fragment_size))
                .collect(),
            rfc6455: OnceLock::new(),
            hixie76: OnceLock::new(),
        }
    }

    /// The messages, in order.
    pub(crate) fn items(&self) -> &[Prepared<'a>] {
        &self.items
    }

    /// The frames of every message but those `skip` names that this
    /// framing can carry, concatenated in order, and how many messages
    /// they are. Without `skip`, made once per framing and shared.
    pub(crate) fn frames(&self, framing: Framing, skip: Skip<'_>) -> (Arc<[u8]>, usize) {
        if skip.is_some() {
            return self.concat(framing, skip);
        }
        let all = match framing {
            Framing::Rfc6455 => &self.rfc6455,
            Framing::Hixie76 => &self.hixie76,
        };
        let (frames, n) = all.get_or_init(|| self.concat(framing, None));
        (Arc::clone(frames), *n)
    }

    fn concat(&self, framing: Framing, skip: Skip<'_>) -> (Arc<[u8]>, usize) {
        let mut out = Vec::new();
        let mut n = 0;
        for (i, item) in self.items.iter().enumerate() {
            if skip.is_some_and(|s| s(i)) {
                continue;
            }
            if let Some(frames) = item.frames(framing) {
                out.extend_from_slice(frames);
                n += 1;
            }
        }
        (out.into(), n)
    }
}

#[cfg(test)]
thread_local! {
    /// How many times this thread encoded a message for many clients.
    pub(crate) static ENCODED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_frames_are_what_a_server_sends() {
        let text = Message::Text("hi".into());
        assert_eq!(
            &**Prepared::new(&text, None).frames(Framing::Rfc6455).unwrap(),
            b"\x81\x02hi"
        );
        let binary = Message::Binary(b"abcde".to_vec());
        assert_eq!(
            &**Prepared::new(&binary, Some(2))
                .frames(Framing::Rfc6455)
                .unwrap(),
            b"\x02\x02ab\x00\x02cd\x80\x01e"
        );
    }

    #[test]
    fn hixie76_gets_text_only_and_each_encoding_is_made_once() {
        let text = Message::Text("héllo".into());
        let prepared = Prepared::new(&text, Some(2));
        let first = Arc::clone(prepared.frames(Framing::Hixie76).unwrap());
        assert_eq!(&*first, b"\x00h\xc3\xa9llo\xff");
        // The second recipient gets the very same bytes, not a new copy.
        assert!(Arc::ptr_eq(
            &first,
            prepared.frames(Framing::Hixie76).unwrap()
        ));
        let binary = Message::Binary(vec![1, 2]);
        assert_eq!(Prepared::new(&binary, None).frames(Framing::Hixie76), None);
    }

    #[test]
    fn a_batch_concatenates_in_order_encodes_once_and_leaves_out_what_a_framing_cannot_carry() {
        let messages = [
            Message::Text("a".into()),
            Message::Binary(vec![1]),
            Message::Text("b".into()),
        ];
        let batch = Batch::new(&messages, None);
        let before = ENCODED.with(|n| n.get());
        let (all, n) = batch.frames(Framing::Rfc6455, None);
        assert_eq!((&*all, n), (&b"\x81\x01a\x82\x01\x01\x81\x01b"[..], 3));
        let skip = |i: usize| i == 0;
        let (some, n) = batch.frames(Framing::Rfc6455, Some(&skip));
        assert_eq!((&*some, n), (&b"\x82\x01\x01\x81\x01b"[..], 2));
        // The second recipient shares the first one's bytes.
        assert!(Arc::ptr_eq(&all, &batch.frames(Framing::Rfc6455, None).0));
        assert_eq!(ENCODED.with(|n| n.get()) - before, 3);
        let (hixie, n) = batch.frames(Framing::Hixie76, None);
        assert_eq!((&*hixie, n), (&b"\x00a\xff\x00b\xff"[..], 2));
    }
}
