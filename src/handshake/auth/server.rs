//! The server's side: [`Authenticator`] checks `Authorization` and answers
//! 401 with its challenges.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::digest::{ct_eq, random_hex, DigestAlgorithm, DigestInputs};
use super::params::{param, parse_params, quote};
use crate::handshake::server::{Reject, Request};

/// Most Digest nonces remembered at once (each 401 issues one).
pub const MAX_NONCES: usize = 4096;

/// A password lookup: the password of a user name, or `None`.
type Credentials = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Checks the `Authorization` of handshake requests: Basic or Digest.
///
/// Cheap to clone; clones share the Digest nonce table.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    realm: String,
    /// Basic is accepted.
    basic: bool,
    /// Digest is accepted, with this state.
    digest: Option<DigestState>,
    credentials: Box<Credentials>,
}

struct DigestState {
    algorithms: Vec<DigestAlgorithm>,
    lifetime: Duration,
    opaque: String,
    nonces: Mutex<HashMap<String, NonceUse>>,
}

#[derive(Debug, Clone, Copy)]
struct NonceUse {
    issued: Instant,
    last_nc: u32,
}

impl Authenticator {
    /// HTTP Basic (RFC 7617). The password travels in the clear (base64):
    /// use it over `wss://` only.
    pub fn basic(
        realm: impl Into<String>,
        credentials: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Authenticator {
        Authenticator::new(realm.into(), true, None, Box::new(credentials))
    }

    /// HTTP Digest (RFC 7616) with `qop=auth`, offering SHA-256 then MD5,
    /// nonces valid for 5 minutes. [`and_basic`](Authenticator::and_basic)
    /// accepts Basic as well.
    pub fn digest(
        realm: impl Into<String>,
        credentials: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Authenticator {
        let state = DigestState {
            algorithms: vec![DigestAlgorithm::Sha256, DigestAlgorithm::Md5],
            lifetime: Duration::from_secs(300),
            opaque: random_hex(16),
            nonces: Mutex::new(HashMap::new()),
        };
        Authenticator::new(realm.into(), false, Some(state), Box::new(credentials))
    }

    fn new(
        realm: String,
        basic: bool,
        digest: Option<DigestState>,
        credentials: Box<Credentials>,
    ) -> Authenticator {
        Authenticator {
            inner: Arc::new(Inner {
                realm,
                basic,
                digest,
                credentials,
            }),
        }
    }

    /// Digest: accept Basic too, for clients that cannot do Digest. The
    /// 401 then carries the Digest challenges first and Basic last (RFC
    /// 9110 §11.6.1 lets a server send several; clients pick the strongest
    /// they know). Basic sends the password in the clear: use it over TLS.
    /// Call before sharing the authenticator.
    pub fn and_basic(mut self) -> Authenticator {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.basic = true;
        }
        self
    }

    /// Digest: how long a nonce may be used (then the client is told
    /// `stale=true`). Call before sharing the authenticator.
    pub fn nonce_lifetime(self, lifetime: Duration) -> Authenticator {
        self.with_digest(|d| d.lifetime = lifetime)
    }

    /// Digest: the algorithms offered, most preferred first (at least one).
    pub fn algorithms(self, algorithms: &[DigestAlgorithm]) -> Authenticator {
        if algorithms.is_empty() {
            return self;
        }
        self.with_digest(|d| d.algorithms = algorithms.to_vec())
    }

    fn with_digest(mut self, f: impl FnOnce(&mut DigestState)) -> Authenticator {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            if let Some(d) = &mut inner.digest {
                f(d);
            }
        }
        self
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }

    /// Checks the request's `Authorization`. `Ok(user)` when it proves
    /// the credentials of `user`; otherwise the 401 to send, with fresh
    /// challenges.
    pub fn check(&self, request: &Request) -> Result<String, Reject> {
        let Some(value) = request.headers.get("Authorization") else {
            return Err(self.challenge(false, "authentication required"));
        };
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        match &self.inner.digest {
            _ if self.inner.basic && scheme.eq_ignore_ascii_case("Basic") => {
                self.check_basic(rest.trim())
            }
            Some(d) if scheme.eq_ignore_ascii_case("Digest") => self.check_digest(d, request, rest),
            _ => Err(self.challenge(false, "unsupported authentication scheme")),
        }
    }

    fn password(&self, user: &str) -> Option<String> {
        (self.inner.credentials)(user)
    }

    fn check_basic(&self, token: &str) -> Result<String, Reject> {
        let refuse = || self.challenge(false, "wrong user name or password");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(refuse)?;
        // RFC 7617 §2: the user-id cannot contain a colon; the password can.
        let (user, given) = decoded.split_once(':').ok_or_else(refuse)?;
        let stored = self.password(user);
        // An unknown user is compared like a known one (no timing oracle).
        let same = ct_eq(given.as_bytes(), stored.as_deref().unwrap_or("").as_bytes());
        if same && stored.is_some() {
            Ok(user.to_owned())
        } else {
            Err(refuse())
        }
    }

    fn check_digest(
        &self,
        state: &DigestState,
        request: &Request,
        params: &str,
    ) -> Result<String, Reject> {
        let refuse = |reason: &str| self.challenge(false, reason);
        let params = parse_params(params).ok_or_else(|| refuse("malformed Digest credentials"))?;
        let get = |name: &str| param(&params, name);
        let (Some(user), Some(nonce), Some(uri), Some(response)) =
            (get("username"), get("nonce"), get("uri"), get("response"))
        else {
            return Err(refuse("incomplete Digest credentials"));
        };
        let algorithm = DigestAlgorithm::from_name(get("algorithm").unwrap_or("MD5"))
            .filter(|a| state.algorithms.contains(a))
            .ok_or_else(|| refuse("unsupported Digest algorithm"))?;
        if get("realm") != Some(self.realm()) || get("opaque") != Some(state.opaque.as_str()) {
            return Err(refuse("Digest realm or opaque does not match"));
        }
        if !get("qop").is_some_and(|q| q.eq_ignore_ascii_case("auth")) {
            return Err(refuse("Digest needs qop=auth"));
        }
        // §3.4.6: the digest covers `uri`, so it must be this request's.
        if uri != request.target {
            return Err(refuse("Digest uri does not match the request"));
        }
        let (Some(nc_text), Some(cnonce)) = (get("nc"), get("cnonce")) else {
            return Err(refuse("Digest needs nc and cnonce"));
        };
        let nc = (nc_text.len() == 8)
            .then(|| u32::from_str_radix(nc_text, 16).ok())
            .flatten()
            .ok_or_else(|| refuse("malformed Digest nonce count"))?;
        let stored = self.password(user);
        let expected = algorithm.response(&DigestInputs {
            user,
            realm: self.realm(),
            password: stored.as_deref().unwrap_or(""),
            method: &request.method,
            uri,
            nonce,
            nc: nc_text,
            cnonce,
        });
        let same = ct_eq(
            expected.as_bytes(),
            response.to_ascii_lowercase().as_bytes(),
        );
        if !(same && stored.is_some()) {
            return Err(refuse("wrong user name or password"));
        }
        // The password is right; now the nonce must be fresh and unused at
        // this count.
        let mut nonces = state
            .nonces
            .lock()
            .map_err(|_| Reject::new(500, "authentication state unavailable"))?;
        match nonces.get_mut(nonce) {
            Some(used) if used.issued.elapsed() <= state.lifetime => {
                if nc <= used.last_nc {
                    drop(nonces);
                    return Err(refuse("Digest nonce count replayed"));
                }
                used.last_nc = nc;
                Ok(user.to_owned())
            }
            _ => {
                nonces.remove(nonce);
                drop(nonces);
                Err(self.challenge(true, "Digest nonce expired"))
            }
        }
    }

    /// A 401 with this authenticator's challenges (`stale=true`: the
    /// credentials were right but the nonce is expired).
    pub fn challenge(&self, stale: bool, reason: &str) -> Reject {
        let realm = quote(self.realm());
        let mut reject = Reject::new(401, reason);
        if let Some(state) = &self.inner.digest {
            let nonce = state.issue_nonce();
            for algorithm in &state.algorithms {
                let mut value = format!(
                    "Digest realm={realm}, qop=\"auth\", algorithm={}, nonce=\"{nonce}\", opaque=\"{}\"",
                    algorithm.name(),
                    state.opaque
                );
                if stale {
                    value.push_str(", stale=true");
                }
                reject = reject.header("WWW-Authenticate", value);
            }
        }
        if self.inner.basic {
            reject = reject.header(
                "WWW-Authenticate",
                format!("Basic realm={realm}, charset=\"UTF-8\""),
            );
        }
        reject
    }
}

impl DigestState {
    /// A new nonce, remembered until it expires or is pushed out.
    fn issue_nonce(&self) -> String {
        let nonce = random_hex(16);
        if let Ok(mut nonces) = self.nonces.lock() {
            if nonces.len() >= MAX_NONCES {
                nonces.retain(|_, u| u.issued.elapsed() <= self.lifetime);
            }
            if nonces.len() >= MAX_NONCES {
                if let Some(oldest) = nonces
                    .iter()
                    .min_by_key(|(_, u)| u.issued)
                    .map(|(n, _)| n.clone())
                {
                    nonces.remove(&oldest);
                }
            }
            nonces.insert(
                nonce.clone(),
                NonceUse {
                    issued: Instant::now(),
                    last_nc: 0,
                },
            );
        }
        nonce
    }
}

impl fmt::Debug for Authenticator {
    /// Shows the scheme and realm, never credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match (self.inner.digest.is_some(), self.inner.basic) {
            (true, true) => "Digest, Basic",
            (true, false) => "Digest",
            _ => "Basic",
        };
        f.debug_struct("Authenticator")
            .field("scheme", &scheme)
            .field("realm", &self.inner.realm)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::auth::test_support::{alice, challenges_of, request};
    use crate::handshake::auth::{answer, is_stale, ClientScheme};

    #[test]
    fn basic_accepts_the_right_password_only() {
        let auth = Authenticator::basic("r", alice);
        let token = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        assert_eq!(
            auth.check(&request(Some(&token("alice:wonder land")))),
            Ok("alice".into())
        );
        for bad in ["alice:wonder", "bob:wonder land", "alicewonder land", ""] {
            let reject = auth.check(&request(Some(&token(bad)))).unwrap_err();
            assert_eq!(reject.status, 401);
            assert_eq!(
                reject.headers,
                vec![(
                    "WWW-Authenticate".into(),
                    "Basic realm=\"r\", charset=\"UTF-8\"".into()
                )]
            );
        }
        assert_eq!(auth.check(&request(None)).unwrap_err().status, 401);
        assert_eq!(
            auth.check(&request(Some("Basic !!!"))).unwrap_err().status,
            401
        );
        assert_eq!(
            auth.check(&request(Some("Digest username=\"alice\"")))
                .unwrap_err()
                .status,
            401
        );
    }

    #[test]
    fn digest_and_basic_offers_both_and_accepts_either() {
        let auth = Authenticator::digest("r", alice).and_basic();
        let challenges = challenges_of(&auth.check(&request(None)).unwrap_err());
        let schemes: Vec<&str> = challenges.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["Digest", "Digest", "Basic"]);
        // Our client prefers Digest; skipping it, it answers Basic.
        let (scheme, digest) =
            answer(&challenges, &[], "alice", "wonder land", "/chat?x=1").unwrap();
        assert_eq!(scheme, ClientScheme::Digest);
        assert_eq!(auth.check(&request(Some(&digest))), Ok("alice".into()));
        let (scheme, basic) = answer(
            &challenges,
            &[ClientScheme::Digest],
            "alice",
            "wonder land",
            "/chat?x=1",
        )
        .unwrap();
        assert_eq!(scheme, ClientScheme::Basic);
        assert_eq!(auth.check(&request(Some(&basic))), Ok("alice".into()));
        let wrong = auth.check(&request(Some(&basic.replace("d2", "d3"))));
        assert_eq!(wrong.unwrap_err().status, 401);
        // Without and_basic, Basic is an unsupported scheme.
        let reject = Authenticator::digest("r", alice)
            .check(&request(Some(&basic)))
            .unwrap_err();
        assert_eq!(reject.reason, "unsupported authentication scheme");
        assert_eq!(
            format!("{auth:?}"),
            "Authenticator { scheme: \"Digest, Basic\", realm: \"r\", .. }"
        );
    }

    #[test]
    fn digest_round_trip_then_replay_is_refused() {
        let auth = Authenticator::digest("r", alice);
        let challenges = challenges_of(&auth.check(&request(None)).unwrap_err());
        assert_eq!(challenges.len(), 2);
        assert_eq!(param(&challenges[0].params, "algorithm"), Some("SHA-256"));
        assert_eq!(param(&challenges[1].params, "algorithm"), Some("MD5"));
        let (scheme, value) =
            answer(&challenges, &[], "alice", "wonder land", "/chat?x=1").unwrap();
        assert_eq!(scheme, ClientScheme::Digest);
        assert!(value.contains("algorithm=SHA-256"), "{value}");
        assert_eq!(auth.check(&request(Some(&value))), Ok("alice".into()));
        let replay = auth.check(&request(Some(&value))).unwrap_err();
        assert_eq!(
            (replay.status, replay.reason.as_str()),
            (401, "Digest nonce count replayed")
        );
        // The next count on the same nonce is fine.
        let next = value.replace("nc=00000001", "nc=00000002");
        let p = parse_params(value.strip_prefix("Digest ").unwrap()).unwrap();
        let response = DigestAlgorithm::Sha256.response(&DigestInputs {
            user: "alice",
            realm: "r",
            password: "wonder land",
            method: "GET",
            uri: "/chat?x=1",
            nonce: param(&p, "nonce").unwrap(),
            nc: "00000002",
            cnonce: param(&p, "cnonce").unwrap(),
        });
        let next = next.replace(param(&p, "response").unwrap(), &response);
        assert_eq!(auth.check(&request(Some(&next))), Ok("alice".into()));
    }

    #[test]
    fn digest_wrong_password_uri_or_opaque_is_401_not_stale() {
        let auth = Authenticator::digest("r", alice);
        let challenges = challenges_of(&auth.check(&request(None)).unwrap_err());
        let (_, wrong) = answer(&challenges, &[], "alice", "wonder", "/chat?x=1").unwrap();
        let reject = auth.check(&request(Some(&wrong))).unwrap_err();
        assert_eq!(reject.reason, "wrong user name or password");
        assert!(!is_stale(&challenges_of(&reject)));
        let (_, other_uri) = answer(&challenges, &[], "alice", "wonder land", "/other").unwrap();
        assert_eq!(
            auth.check(&request(Some(&other_uri))).unwrap_err().reason,
            "Digest uri does not match the request"
        );
        let (_, good) = answer(&challenges, &[], "alice", "wonder land", "/chat?x=1").unwrap();
        let p = parse_params(good.strip_prefix("Digest ").unwrap()).unwrap();
        let forged = good.replace(param(&p, "opaque").unwrap(), "0000");
        assert_eq!(
            auth.check(&request(Some(&forged))).unwrap_err().reason,
            "Digest realm or opaque does not match"
        );
    }

    #[test]
    fn digest_expired_nonce_is_stale() {
        let auth = Authenticator::digest("r", alice).nonce_lifetime(Duration::ZERO);
        let challenges = challenges_of(&auth.check(&request(None)).unwrap_err());
        std::thread::sleep(Duration::from_millis(5));
        let (_, value) = answer(&challenges, &[], "alice", "wonder land", "/chat?x=1").unwrap();
        let reject = auth.check(&request(Some(&value))).unwrap_err();
        assert_eq!(reject.reason, "Digest nonce expired");
        assert!(is_stale(&challenges_of(&reject)));
    }

    #[test]
    fn digest_md5_only_server() {
        let auth = Authenticator::digest("r", alice).algorithms(&[DigestAlgorithm::Md5]);
        let challenges = challenges_of(&auth.check(&request(None)).unwrap_err());
        let (_, value) = answer(&challenges, &[], "alice", "wonder land", "/chat?x=1").unwrap();
        assert!(value.contains("algorithm=MD5"));
        assert_eq!(auth.check(&request(Some(&value))), Ok("alice".into()));
    }

    #[test]
    fn nonce_table_is_bounded() {
        let auth = Authenticator::digest("r", alice);
        for _ in 0..MAX_NONCES + 10 {
            let _ = auth.challenge(false, "x");
        }
        let Some(state) = &auth.inner.digest else {
            panic!()
        };
        assert_eq!(state.nonces.lock().unwrap().len(), MAX_NONCES);
    }

    #[test]
    fn debug_never_shows_credentials() {
        let auth = Authenticator::basic("r", |_| Some("hunter2".into()));
        assert_eq!(
            format!("{auth:?}"),
            "Authenticator { scheme: \"Basic\", realm: \"r\", .. }"
        );
    }
}
