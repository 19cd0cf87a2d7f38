//! Full duplex over TLS: the contract between a TLS backend and the code
//! that drives a socket from two threads.

/// A TLS session as a pure transform, so the server can read the raw socket without holding the
/// lock that writers need (full duplex over TLS without polling).
pub(crate) trait TlsSession: Send {
    /// Ciphertext from the socket in; plaintext appended to `plaintext`.
    fn decrypt(&mut self, ciphertext: &[u8], plaintext: &mut Vec<u8>) -> std::io::Result<()>;
    /// Plaintext in; ciphertext appended to `ciphertext`.
    fn encrypt(&mut self, plaintext: &[u8], ciphertext: &mut Vec<u8>) -> std::io::Result<()>;
    /// Ciphertext the session produced on its own (alerts, key updates, tickets) to be sent.
    fn take_output(&mut self, ciphertext: &mut Vec<u8>);
    /// Appends a close_notify alert.
    fn close_notify(&mut self, ciphertext: &mut Vec<u8>);
}
