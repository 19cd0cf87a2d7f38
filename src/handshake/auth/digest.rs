//! The primitives of HTTP Digest (RFC 7616): the algorithms, the
//! `response` value, nonces, and the constant-time comparison of secrets.

use md5::Md5;
use sha2::{Digest as _, Sha256};

/// The hash of a Digest exchange (RFC 7616 §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// `SHA-256`, preferred.
    Sha256,
    /// `MD5`, for older clients.
    Md5,
}

impl DigestAlgorithm {
    /// The name in the `algorithm` parameter.
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "SHA-256",
            DigestAlgorithm::Md5 => "MD5",
        }
    }

    pub(super) fn from_name(name: &str) -> Option<DigestAlgorithm> {
        [DigestAlgorithm::Sha256, DigestAlgorithm::Md5]
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    /// H(data) as lowercase hex.
    pub(super) fn hex(self, data: &str) -> String {
        match self {
            DigestAlgorithm::Sha256 => to_hex(&Sha256::digest(data.as_bytes())),
            DigestAlgorithm::Md5 => to_hex(&Md5::digest(data.as_bytes())),
        }
    }

    /// The `response` value for `qop=auth` (RFC 7616 §3.4.1).
    pub(super) fn response(self, a: &DigestInputs<'_>) -> String {
        let ha1 = self.hex(&format!("{}:{}:{}", a.user, a.realm, a.password));
        let ha2 = self.hex(&format!("{}:{}", a.method, a.uri));
        self.hex(&format!(
            "{ha1}:{}:{}:{}:auth:{ha2}",
            a.nonce, a.nc, a.cnonce
        ))
    }
}

pub(super) struct DigestInputs<'a> {
    pub(super) user: &'a str,
    pub(super) realm: &'a str,
    pub(super) password: &'a str,
    pub(super) method: &'a str,
    pub(super) uri: &'a str,
    pub(super) nonce: &'a str,
    pub(super) nc: &'a str,
    pub(super) cnonce: &'a str,
}

pub(super) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn random_hex(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::fill(&mut bytes[..]);
    to_hex(&bytes)
}

/// Compares secrets in constant time: the SHA-256 digests of both, so that
/// neither where they differ nor how long they are shows in the timing.
pub(super) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | std::hint::black_box(x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7616_example_responses() {
        // RFC 7616 §3.9.1 (the example's quirky nc/cnonce values), with each
        // algorithm.
        let inputs = DigestInputs {
            user: "Mufasa",
            realm: "http-auth@example.org",
            password: "Circle of Life",
            method: "GET",
            uri: "/dir/index.html",
            nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            nc: "00000001",
            cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        };
        assert_eq!(
            DigestAlgorithm::Sha256.response(&inputs),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
        assert_eq!(
            DigestAlgorithm::Md5.response(&inputs),
            "8ca523f5e9506fed4657c9700eebdbec"
        );
    }
}
