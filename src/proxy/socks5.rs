//! SOCKS5 (RFC 1928) with username/password authentication (RFC 1929),
//! sans I/O: a state machine that reads the proxy's bytes and says what to
//! send next.
//!
//! ```text
//!  new()  ──greeting──▶            [5, n, methods...]      §3
//!  Method ◀── [5, method]          0: none, 2: user/pass, FF: none acceptable
//!     │ 2 ──auth──▶                [1, ulen, user, plen, pass]   RFC 1929 §2
//!  Auth   ◀── [1, status]          0: accepted
//!     │   ──request──▶             [5, 1 CONNECT, 0, atyp, addr, port]  §4
//!  Reply  ◀── [5, rep, 0, atyp, bound addr, bound port]  §6: rep 0 = open
//!  Done
//! ```
//!
//! Every answer is decided by the bytes that decide it: [`Socks5::advance`]
//! returns [`Step::Partial`] until a whole message is there, and the same
//! answer whatever the pieces it arrived in. A reply is at most 262 bytes,
//! so a hostile proxy cannot make the client buffer more.

use std::net::IpAddr;

use crate::error::ProxyError;

/// What the proxy is asked to connect to (RFC 1928 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// An address the client resolved (`socks5://`), or an IP literal.
    Ip(IpAddr),
    /// A name for the proxy to resolve (`socks5h://`), 1 to 255 bytes.
    Domain(String),
}

/// What to do after [`Socks5::advance`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The message is not complete: read more and call again with all of it.
    Partial,
    /// `consumed` bytes were one message; send `bytes` before reading on.
    Send {
        /// Bytes of the input used.
        consumed: usize,
        /// What to write to the proxy.
        bytes: Vec<u8>,
    },
    /// The tunnel is open; `consumed` bytes were the last reply.
    Done {
        /// Bytes of the input used.
        consumed: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Method,
    Auth,
    Reply,
    Done,
}

/// One SOCKS5 CONNECT exchange.
///
/// ```
/// use stdws::proxy::socks5::{Address, Socks5, Step};
/// let (mut socks, greeting) = Socks5::new(Address::Domain("localhost".into()), 9001, None).unwrap();
/// assert_eq!(greeting, [5, 1, 0]);
/// let Step::Send { bytes: request, .. } = socks.advance(&[5, 0]).unwrap() else { panic!() };
/// assert_eq!(request, b"\x05\x01\x00\x03\x09localhost\x23\x29");
/// let reply = [5, 0, 0, 1, 127, 0, 0, 1, 0x23, 0x29];
/// assert_eq!(socks.advance(&reply).unwrap(), Step::Done { consumed: 10 });
/// ```
#[derive(Debug, Clone)]
pub struct Socks5 {
    state: State,
    request: Vec<u8>,
    auth: Option<Vec<u8>>,
}

/// RFC 1928 §3: method numbers.
const NO_AUTH: u8 = 0x00;
const USER_PASS: u8 = 0x02;
const NO_ACCEPTABLE: u8 = 0xFF;

impl Socks5 {
    /// Starts an exchange for `address:port`, with a user name and
    /// password when given. Returns the machine and the greeting to send.
    /// With credentials both "no authentication" and "username/password"
    /// are offered (the proxy picks); a user name of 1 to 255 bytes and a
    /// password of at most 255 are required (RFC 1929 §2).
    pub fn new(
        address: Address,
        port: u16,
        credentials: Option<(&str, &str)>,
    ) -> Result<(Socks5, Vec<u8>), ProxyError> {
        let mut request = vec![5, 1, 0];
        match &address {
            Address::Ip(IpAddr::V4(ip)) => {
                request.push(1);
                request.extend_from_slice(&ip.octets());
            }
            Address::Ip(IpAddr::V6(ip)) => {
                request.push(4);
                request.extend_from_slice(&ip.octets());
            }
            Address::Domain(name) => {
                let len = u8::try_from(name.len())
                    .ok()
                    .filter(|&l| l > 0)
                    .ok_or_else(|| {
                        ProxyError::InvalidUrl(
                            "a SOCKS5 host name is 1 to 255 bytes (RFC 1928 §5)".into(),
                        )
                    })?;
                request.push(3);
                request.push(len);
                request.extend_from_slice(name.as_bytes());
            }
        }
        request.extend_from_slice(&port.to_be_bytes());
        let auth = match credentials {
            None => None,
            Some((user, pass)) => {
                let (Ok(ulen), Ok(plen)) = (u8::try_from(user.len()), u8::try_from(pass.len()))
                else {
                    return Err(too_long());
                };
                if ulen == 0 {
                    return Err(too_long());
                }
                let mut auth = vec![1, ulen];
                auth.extend_from_slice(user.as_bytes());
                auth.push(plen);
                auth.extend_from_slice(pass.as_bytes());
                Some(auth)
            }
        };
        let greeting = if auth.is_some() {
            vec![5, 2, NO_AUTH, USER_PASS]
        } else {
            vec![5, 1, NO_AUTH]
        };
        Ok((
            Socks5 {
                state: State::Method,
                request,
                auth,
            },
            greeting,
        ))
    }

    /// Reads the proxy's next message from the start of `input`.
    pub fn advance(&mut self, input: &[u8]) -> Result<Step, ProxyError> {
        match self.state {
            State::Method => {
                let [version, method, ..] = *input else {
                    return Ok(Step::Partial);
                };
                if version != 5 {
                    return Err(invalid(format!(
                        "SOCKS version {version} in the method choice"
                    )));
                }
                let bytes = match (method, &self.auth) {
                    (NO_AUTH, _) => {
                        self.state = State::Reply;
                        self.request.clone()
                    }
                    (USER_PASS, Some(auth)) => {
                        self.state = State::Auth;
                        auth.clone()
                    }
                    (NO_ACCEPTABLE, _) => return Err(ProxyError::NoAcceptableMethod),
                    (other, _) => {
                        return Err(invalid(format!(
                            "the proxy chose method {other}, not offered"
                        )))
                    }
                };
                Ok(Step::Send { consumed: 2, bytes })
            }
            State::Auth => {
                let [version, status, ..] = *input else {
                    return Ok(Step::Partial);
                };
                if version != 1 {
                    return Err(invalid(format!("version {version} in the RFC 1929 reply")));
                }
                if status != 0 {
                    return Err(ProxyError::AuthFailed(status));
                }
                self.state = State::Reply;
                Ok(Step::Send {
                    consumed: 2,
                    bytes: self.request.clone(),
                })
            }
            State::Reply => {
                match input {
                    [] => return Ok(Step::Partial),
                    [v, ..] if *v != 5 => {
                        return Err(invalid(format!("SOCKS version {v} in the reply")))
                    }
                    [_] => return Ok(Step::Partial),
                    [_, rep, ..] if *rep != 0 => return Err(ProxyError::Socks(*rep)),
                    _ => {}
                }
                let Some(&atyp) = input.get(3) else {
                    return Ok(Step::Partial);
                };
                let len = match atyp {
                    1 => 4 + 4 + 2,
                    4 => 4 + 16 + 2,
                    3 => match input.get(4) {
                        Some(&n) => 4 + 1 + usize::from(n) + 2,
                        None => return Ok(Step::Partial),
                    },
                    other => return Err(invalid(format!("address type {other} in the reply"))),
                };
                if input.len() < len {
                    return Ok(Step::Partial);
                }
                self.state = State::Done;
                Ok(Step::Done { consumed: len })
            }
            State::Done => Err(invalid("bytes after the SOCKS5 reply".into())),
        }
    }
}

fn too_long() -> ProxyError {
    ProxyError::InvalidUrl(
        "a SOCKS5 user name is 1 to 255 bytes and a password at most 255 (RFC 1929)".into(),
    )
}

fn invalid(why: String) -> ProxyError {
    ProxyError::InvalidReply(why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// Runs a whole exchange against the proxy's `replies` (all bytes the
    /// proxy sends, in order), delivered `split` bytes at first and then
    /// the rest, as a driver would: returns what the client sent and the
    /// outcome.
    fn run(
        address: Address,
        credentials: Option<(&str, &str)>,
        replies: &[u8],
        split: usize,
    ) -> (Vec<u8>, Result<(), ProxyError>) {
        let (mut socks, greeting) = Socks5::new(address, 9001, credentials).unwrap();
        let mut sent = greeting;
        let mut arrived = replies[..split.min(replies.len())].to_vec();
        let mut rest = replies[split.min(replies.len())..].to_vec();
        let mut pos = 0;
        loop {
            match socks.advance(&arrived[pos..]) {
                Ok(Step::Partial) => {
                    if rest.is_empty() {
                        return (sent, Err(ProxyError::TunnelClosed));
                    }
                    arrived.append(&mut rest);
                }
                Ok(Step::Send { consumed, bytes }) => {
                    pos += consumed;
                    sent.extend_from_slice(&bytes);
                }
                Ok(Step::Done { consumed }) => {
                    assert_eq!(pos + consumed, replies.len(), "reply length");
                    return (sent, Ok(()));
                }
                Err(e) => return (sent, Err(e)),
            }
        }
    }

    fn every_split(
        address: Address,
        credentials: Option<(&str, &str)>,
        replies: &[u8],
    ) -> (Vec<u8>, Result<(), ProxyError>) {
        let whole = run(address.clone(), credentials, replies, replies.len());
        for split in 0..replies.len() {
            assert_eq!(
                run(address.clone(), credentials, replies, split),
                whole,
                "split {split}"
            );
        }
        whole
    }

    const BOUND_V4: [u8; 10] = [5, 0, 0, 1, 10, 0, 0, 1, 0x04, 0x38];

    #[test]
    fn socks5h_sends_the_name_at_every_split_point() {
        let (sent, outcome) = every_split(
            Address::Domain("localhost".into()),
            None,
            &[&[5, 0][..], &BOUND_V4].concat(),
        );
        assert_eq!(outcome, Ok(()));
        assert_eq!(sent, b"\x05\x01\x00\x05\x01\x00\x03\x09localhost\x23\x29");
    }

    #[test]
    fn socks5_sends_the_address_at_every_split_point() {
        let v4 = Address::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let (sent, outcome) = every_split(v4, None, &[&[5, 0][..], &BOUND_V4].concat());
        assert_eq!(outcome, Ok(()));
        assert_eq!(sent, [5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0x23, 0x29]);
        // An IPv6 address, and a reply bound to an IPv6 address.
        let v6 = Address::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST));
        let mut reply = vec![5, 0, 5, 0, 0, 4];
        reply.extend_from_slice(&[0; 15]);
        reply.extend_from_slice(&[1, 0, 80]);
        let (sent, outcome) = every_split(v6, None, &reply);
        assert_eq!(outcome, Ok(()));
        let mut expected = vec![5, 1, 0, 5, 1, 0, 4];
        expected.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        expected.extend_from_slice(&[0x23, 0x29]);
        assert_eq!(sent, expected);
    }

    #[test]
    fn rfc_1929_credentials_at_every_split_point() {
        let reply_bound_to_a_name = [5, 0, 0, 3, 4, b'h', b'o', b's', b't', 0, 80];
        let replies = [&[5, 2, 1, 0][..], &reply_bound_to_a_name].concat();
        let (sent, outcome) =
            every_split(Address::Domain("s".into()), Some(("alice", "pw")), &replies);
        assert_eq!(outcome, Ok(()));
        assert_eq!(
            sent,
            b"\x05\x02\x00\x02\x01\x05alice\x02pw\x05\x01\x00\x03\x01s\x23\x29"
        );
        // The proxy may accept without authentication though offered.
        let (sent, outcome) = every_split(
            Address::Domain("s".into()),
            Some(("alice", "pw")),
            &[&[5, 0][..], &BOUND_V4].concat(),
        );
        assert_eq!(outcome, Ok(()));
        assert_eq!(sent, b"\x05\x02\x00\x02\x05\x01\x00\x03\x01s\x23\x29");
    }

    #[test]
    fn refusals_are_typed_at_every_split_point() {
        let name = || Address::Domain("s".into());
        let creds = Some(("alice", "wrong"));
        for (credentials, replies, expected) in [
            (None, &[5, 0xFF][..], ProxyError::NoAcceptableMethod),
            (creds, &[5, 2, 1, 1][..], ProxyError::AuthFailed(1)),
            (
                None,
                &[5, 0, 5, 5, 0, 1, 0, 0, 0, 0, 0, 0][..],
                ProxyError::Socks(5),
            ),
            (None, &[5, 0, 5, 2][..], ProxyError::Socks(2)),
        ] {
            assert_eq!(every_split(name(), credentials, replies).1, Err(expected));
        }
    }

    #[test]
    fn garbage_replies_are_invalid() {
        let name = || Address::Domain("s".into());
        for (credentials, replies) in [
            (None, &b"HTTP/1.1 400 Bad Request\r\n\r\n"[..]),
            (None, &[5, 2][..]),
            (None, &[5, 7][..]),
            (Some(("a", "b")), &[5, 2, 5, 0][..]),
            (None, &[5, 0, 4, 0, 0, 1][..]),
            (None, &[5, 0, 5, 0, 0, 9, 0, 0][..]),
        ] {
            let outcome = every_split(name(), credentials, replies).1;
            assert!(
                matches!(outcome, Err(ProxyError::InvalidReply(_))),
                "{replies:?}: {outcome:?}"
            );
        }
    }

    #[test]
    fn lengths_are_checked_before_anything_is_sent() {
        let long = "x".repeat(256);
        assert!(Socks5::new(Address::Domain(long.clone()), 1, None).is_err());
        assert!(Socks5::new(Address::Domain(String::new()), 1, None).is_err());
        assert!(Socks5::new(Address::Domain("s".into()), 1, Some((&long, "p"))).is_err());
        assert!(Socks5::new(Address::Domain("s".into()), 1, Some(("", "p"))).is_err());
        assert!(Socks5::new(Address::Domain("s".into()), 1, Some(("u", ""))).is_ok());
    }
}
