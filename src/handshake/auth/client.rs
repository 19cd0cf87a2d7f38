//! The client's answer to a 401: the best challenge it can meet.

use base64::Engine as _;

use super::digest::{random_hex, DigestAlgorithm, DigestInputs};
use super::params::{param, quote, Challenge};

/// Which scheme a client answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientScheme {
    Digest,
    Basic,
}

/// The client's answer to a 401: the best challenge it can meet (Digest
/// with SHA-256, Digest with MD5, then Basic) among the schemes not in
/// `skip`, as the scheme and the `Authorization` value.
pub(crate) fn answer(
    challenges: &[Challenge],
    skip: &[ClientScheme],
    user: &str,
    password: &str,
    uri: &str,
) -> Option<(ClientScheme, String)> {
    if !skip.contains(&ClientScheme::Digest) {
        let best = challenges
            .iter()
            .filter(|c| c.scheme.eq_ignore_ascii_case("Digest"))
            .filter(|c| {
                param(&c.params, "qop")
                    .is_some_and(|q| q.split(',').any(|t| t.trim().eq_ignore_ascii_case("auth")))
            })
            .filter_map(|c| {
                let algorithm =
                    DigestAlgorithm::from_name(param(&c.params, "algorithm").unwrap_or("MD5"))?;
                Some((algorithm, c))
            })
            .min_by_key(|(a, _)| *a != DigestAlgorithm::Sha256);
        if let Some((algorithm, c)) = best {
            if let (Some(realm), Some(nonce)) =
                (param(&c.params, "realm"), param(&c.params, "nonce"))
            {
                let cnonce = random_hex(16);
                let nc = "00000001";
                let response = algorithm.response(&DigestInputs {
                    user,
                    realm,
                    password,
                    method: "GET",
                    uri,
                    nonce,
                    nc,
                    cnonce: &cnonce,
                });
                let mut value = format!(
                    "Digest username={}, realm={}, nonce={}, uri={}, algorithm={}, response=\"{response}\", qop=auth, nc={nc}, cnonce=\"{cnonce}\"",
                    quote(user),
                    quote(realm),
                    quote(nonce),
                    quote(uri),
                    algorithm.name(),
                );
                if let Some(opaque) = param(&c.params, "opaque") {
                    value.push_str(&format!(", opaque={}", quote(opaque)));
                }
                return Some((ClientScheme::Digest, value));
            }
        }
    }
    if !skip.contains(&ClientScheme::Basic)
        && challenges
            .iter()
            .any(|c| c.scheme.eq_ignore_ascii_case("Basic"))
    {
        return basic(user, password).map(|value| (ClientScheme::Basic, value));
    }
    None
}

/// The Basic `Authorization` value (RFC 7617 §2); none for a user name
/// with a colon, which the scheme cannot carry.
pub(crate) fn basic(user: &str, password: &str) -> Option<String> {
    if user.contains(':') {
        return None;
    }
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    Some(format!("Basic {token}"))
}

/// True when a Digest challenge says `stale=true`.
pub(crate) fn is_stale(challenges: &[Challenge]) -> bool {
    challenges.iter().any(|c| {
        c.scheme.eq_ignore_ascii_case("Digest")
            && param(&c.params, "stale").is_some_and(|s| s.eq_ignore_ascii_case("true"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::auth::test_support::challenges_in;

    #[test]
    fn challenges_parse_several_per_field_and_quoted_escapes() {
        let text = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", Basic realm=\"simple\"\r\n\r\n";
        let c = challenges_in(text);
        assert_eq!(c.len(), 2);
        assert_eq!(param(&c[0].params, "title"), Some("Login to \"apps\""));
        assert_eq!(param(&c[0].params, "type"), Some("1"));
        assert_eq!(
            (c[1].scheme.as_str(), param(&c[1].params, "realm")),
            ("Basic", Some("simple"))
        );
        let (scheme, value) = answer(&c, &[], "u", "p", "/").unwrap();
        assert_eq!(
            (scheme, value.as_str()),
            (ClientScheme::Basic, "Basic dTpw")
        );
        assert_eq!(answer(&c, &[ClientScheme::Basic], "u", "p", "/"), None);
    }
}
