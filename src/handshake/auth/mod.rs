//! HTTP authentication in the opening handshake (RFC 6455 §4.1 allows
//! 401 before the upgrade), sans I/O: Basic (RFC 7617) and Digest
//! (RFC 7616, `qop=auth`, SHA-256 and MD5) for both roles.
//!
//! The server side is [`Authenticator`]: give it a realm and a credentials
//! callback (user name → password), call [`Authenticator::check`] on each
//! request, and send the [`Reject`](crate::Reject) it returns (401 with
//! `WWW-Authenticate`) when it fails.
//!
//! ```
//! use stdws::handshake::auth::Authenticator;
//! let auth = Authenticator::digest("chat", |user| (user == "alice").then(|| "s3cret".to_owned()));
//! # let _ = auth;
//! ```
//!
//! What it guards against:
//! - **Timing** (CVE-2021-33880 in Python websockets): secrets are compared
//!   in constant time, as SHA-256 digests of both sides so that neither the
//!   position of the first difference nor the length leaks; an unknown user
//!   costs the same work as a wrong password.
//! - **Replay** (RFC 7616 §5.3): a nonce is ours only if we issued it, it
//!   expires after [`nonce_lifetime`](Authenticator::nonce_lifetime), and
//!   each use must carry a higher nonce count (`nc`) than the last. A right
//!   answer on an expired nonce is told `stale=true`, so the client retries
//!   with a fresh nonce without asking the user again.
//! - **Memory**: at most [`MAX_NONCES`] nonces are remembered; the oldest
//!   goes first.
//! - **Leaks**: credentials never appear in errors, logs or `Debug`.
//!
//! The client side answers a 401 from the URL's `user:pass@` or
//! [`Connector::credentials`](crate::Connector::credentials),
//! preferring Digest (SHA-256, then MD5) over Basic.
//!
//! Files: `digest` (the hash primitives of RFC 7616 and the constant-time
//! comparison), `params` (the auth-param grammar both sides parse),
//! `server` ([`Authenticator`]), `client` (the answer to a 401).

mod client;
mod digest;
mod params;
mod server;

pub use digest::DigestAlgorithm;
pub use server::{Authenticator, MAX_NONCES};

pub(crate) use client::{answer, basic, is_stale, ClientScheme};
pub(crate) use params::parse_challenges;
#[cfg(test)]
pub(crate) use params::Challenge;

#[cfg(test)]
pub(crate) mod test_support {
    //! Requests and challenges for the tests of both sides.
    use super::*;
    use crate::frame::Status;
    use crate::handshake::server::{Reject, Request};
    use crate::handshake::{HeadLimits, HeadScanner};

    /// The length of the complete head in `text`, and its scanner.
    fn scan(text: &str) -> (usize, HeadScanner) {
        let mut s = HeadScanner::new(HeadLimits {
            max_bytes: 4096,
            max_line: 2048,
            max_headers: 8,
        });
        let Status::Complete(n) = s.scan(text.as_bytes()).unwrap() else {
            panic!("an incomplete head: {text:?}")
        };
        (n, s)
    }

    /// A `GET /chat?x=1` with this `Authorization`.
    pub(crate) fn request(authorization: Option<&str>) -> Request {
        let mut text = String::from("GET /chat?x=1 HTTP/1.1\r\nHost: h\r\n");
        if let Some(a) = authorization {
            text.push_str(&format!("Authorization: {a}\r\n"));
        }
        text.push_str("\r\n");
        let (n, s) = scan(&text);
        Request::parse(&text.as_bytes()[..n], &s).unwrap()
    }

    /// The password lookup of the tests: alice only.
    pub(crate) fn alice(user: &str) -> Option<String> {
        (user == "alice").then(|| "wonder land".to_owned())
    }

    /// The challenges of a response head, as a client parses them.
    pub(crate) fn challenges_in(text: &str) -> Vec<Challenge> {
        let (n, s) = scan(text);
        let resp = crate::handshake::client::Response::parse(&text.as_bytes()[..n], &s).unwrap();
        parse_challenges(resp.headers.get_all("WWW-Authenticate"))
    }

    /// The challenges of a server's 401.
    pub(crate) fn challenges_of(reject: &Reject) -> Vec<Challenge> {
        let headers: String = reject
            .headers
            .iter()
            .map(|(n, v)| format!("{n}: {v}\r\n"))
            .collect();
        challenges_in(&format!("HTTP/1.1 401 Unauthorized\r\n{headers}\r\n"))
    }
}
