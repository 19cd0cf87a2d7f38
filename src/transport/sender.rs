//! The sending methods of every handle on a [`Link`](super::link::Link):
//! a server's [`Client`](crate::Client) and a split connection's
//! [`SendHalf`](crate::SendHalf) send, ping and close the same way, written
//! once here.
//!
//! A handle type provides `fn link(&self) -> Option<impl Deref<Target = Link>>`
//! (`None` once its connection is gone) and expands
//! `link_sender_methods!()` inside its `impl` block.

/// The seven sending methods of a link handle (see the module docs).
macro_rules! link_sender_methods {
    () => {
        /// Sends a message. From the connection's own thread (a
        /// [`Handler`](crate::Handler) method) this waits, as a blocking
        /// socket write would, when the peer reads slower than we write;
        /// from any other thread it never blocks: what the socket does not
        /// take at once is queued (at most
        /// [`Config::max_write_buffer`](crate::Config::max_write_buffer)
        /// bytes; past that the connection fails with
        /// [`Error::Capacity`](crate::Error::Capacity), close code 1008) and
        /// written by a helper thread. After the closing handshake started:
        /// [`Error::Closed`](crate::Error::Closed).
        pub fn send(
            &self,
            message: impl Into<$crate::message::Message>,
        ) -> Result<(), $crate::error::Error> {
            let message = message.into();
            self.link_or_closed()?
                .send(message.opcode(), message.as_bytes())
        }

        /// Sends text without building a [`Message`](crate::Message).
        pub fn send_text(&self, text: &str) -> Result<(), $crate::error::Error> {
            self.link_or_closed()?
                .send($crate::frame::OpCode::Text, text.as_bytes())
        }

        /// Sends binary data without building a [`Message`](crate::Message).
        pub fn send_binary(&self, data: &[u8]) -> Result<(), $crate::error::Error> {
            self.link_or_closed()?
                .send($crate::frame::OpCode::Binary, data)
        }

        /// Sends a ping (at most 125 bytes); the reading side records the
        /// pong.
        pub fn ping(&self, payload: &[u8]) -> Result<(), $crate::error::Error> {
            self.link_or_closed()?
                .control($crate::frame::OpCode::Ping, payload)
        }

        /// Sends an unsolicited pong (a one-way heartbeat, RFC 6455 §5.5.3).
        pub fn pong(&self, payload: &[u8]) -> Result<(), $crate::error::Error> {
            self.link_or_closed()?
                .control($crate::frame::OpCode::Pong, payload)
        }

        /// Starts the closing handshake: sends a close frame and returns.
        /// The connection's reading side sees the peer's answer (a server
        /// calls [`Handler::on_close`](crate::Handler::on_close);
        /// [`RecvHalf::recv`](crate::RecvHalf::recv) returns `Ok(None)`). A
        /// peer that does not answer within
        /// [`Config::close_timeout`](crate::Config::close_timeout) is cut
        /// off. Closing twice, or after the connection ended, does nothing.
        /// Codes that must not be sent (1005, 1006, 1015, out of range) are
        /// [`Error::Usage`](crate::Error::Usage).
        pub fn close(
            &self,
            code: $crate::close_code::CloseCode,
            reason: &str,
        ) -> Result<(), $crate::error::Error> {
            let frame = $crate::close_frame::CloseFrame::to_send(code, reason)?;
            match self.link() {
                Some(link) => link.close(frame),
                None => Ok(()),
            }
        }

        /// True until the closing handshake starts or the connection fails.
        pub fn is_open(&self) -> bool {
            self.link().is_some_and(|link| !link.is_closing())
        }

        fn link_or_closed(
            &self,
        ) -> Result<
            impl std::ops::Deref<Target = $crate::transport::link::Link> + '_,
            $crate::error::Error,
        > {
            self.link().ok_or($crate::error::Error::Closed)
        }
    };
}

pub(crate) use link_sender_methods;
