//! HTTP authentication in the opening handshake (RFC 6455 §4.1 allows
//! 401 before the upgrade), sans I/O: Basic (RFC 7617) and Digest
//! (RFC 7616, `qop=auth`, SHA-256 and MD5) for both roles.
//!
//! The server side is [`Authenticator`]: give it a realm and a credentials
//! callback (user name → password), call [`Authenticator::check`] on each
//! request, and send the [`Reject`] it returns (401 with
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
//! [`ClientBuilder::credentials`](crate::ClientBuilder::credentials),
//! preferring Digest (SHA-256, then MD5) over Basic.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use md5::Md5;
use sha2::{Digest as _, Sha256};

use super::server::{Reject, Request};

/// Most Digest nonces remembered at once (each 401 issues one).
pub const MAX_NONCES: usize = 4096;

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

    fn from_name(name: &str) -> Option<DigestAlgorithm> {
        [DigestAlgorithm::Sha256, DigestAlgorithm::Md5]
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    /// H(data) as lowercase hex.
    fn hex(self, data: &str) -> String {
        match self {
            DigestAlgorithm::Sha256 => to_hex(&Sha256::digest(data.as_bytes())),
            DigestAlgorithm::Md5 => to_hex(&Md5::digest(data.as_bytes())),
        }
    }

    /// The `response` value for `qop=auth` (RFC 7616 §3.4.1).
    fn response(self, a: &DigestInputs<'_>) -> String {
        let ha1 = self.hex(&format!("{}:{}:{}", a.user, a.realm, a.password));
        let ha2 = self.hex(&format!("{}:{}", a.method, a.uri));
        self.hex(&format!(
            "{ha1}:{}:{}:{}:auth:{ha2}",
            a.nonce, a.nc, a.cnonce
        ))
    }
}

struct DigestInputs<'a> {
    user: &'a str,
    realm: &'a str,
    password: &'a str,
    method: &'a str,
    uri: &'a str,
    nonce: &'a str,
    nc: &'a str,
    cnonce: &'a str,
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_hex(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::fill(&mut bytes[..]);
    to_hex(&bytes)
}

/// Compares secrets in constant time: the SHA-256 digests of both, so that
/// neither where they differ nor how long they are shows in the timing.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | std::hint::black_box(x ^ y));
    std::hint::black_box(diff) == 0
}

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

/// A quoted-string (RFC 9110 §5.6.4).
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A scheme and its `name=value` parameters (values unquoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub(crate) scheme: String,
    pub(crate) params: Vec<(String, String)>,
}

/// A cursor over an auth header value (RFC 9110 §11: challenges,
/// credentials, auth-params).
struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn skip(&mut self, chars: &[u8]) {
        while self.pos < self.s.len() && chars.contains(&self.s[self.pos]) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn token(&mut self) -> Option<&'a str> {
        let start = self.pos;
        while self.peek().is_some_and(super::is_tchar) {
            self.pos += 1;
        }
        (self.pos > start).then(|| std::str::from_utf8(&self.s[start..self.pos]).ok())?
    }

    fn quoted(&mut self) -> Option<String> {
        self.pos += 1; // the opening quote
        let mut out = Vec::new();
        loop {
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    return String::from_utf8(out).ok();
                }
                b'\\' => {
                    out.push(*self.s.get(self.pos + 1)?);
                    self.pos += 2;
                }
                c => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// `name = value` pairs separated by commas, until something that is
    /// not one (the next challenge's scheme) or the end.
    fn params(&mut self) -> Option<Vec<(String, String)>> {
        let mut params = Vec::new();
        loop {
            self.skip(b" \t,");
            let save = self.pos;
            let Some(name) = self.token() else {
                return Some(params);
            };
            self.skip(b" \t");
            if self.peek() != Some(b'=') {
                self.pos = save;
                return Some(params);
            }
            self.pos += 1;
            self.skip(b" \t");
            let value = match self.peek() {
                Some(b'"') => self.quoted()?,
                _ => self.token().unwrap_or("").to_owned(),
            };
            params.push((name.to_ascii_lowercase(), value));
            self.skip(b" \t");
            match self.peek() {
                None | Some(b',') => {}
                // Something else after a value: malformed.
                _ => return None,
            }
        }
    }
}

/// Parses `name=value, name="value"` (Digest credentials).
fn parse_params(s: &str) -> Option<Vec<(String, String)>> {
    let mut c = Cursor {
        s: s.as_bytes(),
        pos: 0,
    };
    let params = c.params()?;
    c.skip(b" \t,");
    (c.pos == c.s.len()).then_some(params)
}

/// Parses every challenge in these `WWW-Authenticate` values. Malformed
/// values are skipped.
pub(crate) fn parse_challenges<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    let mut out = Vec::new();
    for value in values {
        let mut c = Cursor {
            s: value.as_bytes(),
            pos: 0,
        };
        let mut found = Vec::new();
        loop {
            c.skip(b" \t,");
            if c.peek().is_none() {
                out.append(&mut found);
                break;
            }
            let Some(scheme) = c.token() else { break };
            let Some(params) = c.params() else { break };
            found.push(Challenge {
                scheme: scheme.to_owned(),
                params,
            });
        }
    }
    out
}

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
        && !user.contains(':')
        && challenges
            .iter()
            .any(|c| c.scheme.eq_ignore_ascii_case("Basic"))
    {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        return Some((ClientScheme::Basic, format!("Basic {token}")));
    }
    None
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
    use crate::frame::Status;
    use crate::handshake::{HeadLimits, HeadScanner};

    fn request(authorization: Option<&str>) -> Request {
        let mut text = String::from("GET /chat?x=1 HTTP/1.1\r\nHost: h\r\n");
        if let Some(a) = authorization {
            text.push_str(&format!("Authorization: {a}\r\n"));
        }
        text.push_str("\r\n");
        let mut s = HeadScanner::new(HeadLimits {
            max_bytes: 4096,
            max_line: 2048,
            max_headers: 8,
        });
        let Status::Complete(n) = s.scan(text.as_bytes()).unwrap() else {
            panic!()
        };
        Request::parse(&text.as_bytes()[..n], &s).unwrap()
    }

    fn alice(user: &str) -> Option<String> {
        (user == "alice").then(|| "wonder land".to_owned())
    }

    fn challenges_of(reject: &Reject) -> Vec<Challenge> {
        let mut headers = Vec::new();
        for (n, v) in &reject.headers {
            headers.push(format!("{n}: {v}\r\n"));
        }
        let text = format!("HTTP/1.1 401 Unauthorized\r\n{}\r\n", headers.concat());
        let mut s = HeadScanner::new(HeadLimits {
            max_bytes: 4096,
            max_line: 2048,
            max_headers: 8,
        });
        let Status::Complete(n) = s.scan(text.as_bytes()).unwrap() else {
            panic!()
        };
        let resp = crate::handshake::client::Response::parse(&text.as_bytes()[..n], &s).unwrap();
        parse_challenges(resp.headers.get_all("WWW-Authenticate"))
    }

    #[test]
    fn rfc7616_sha256_example_response() {
        // RFC 7616 §3.9.1, SHA-256 (the example's quirky nc/cnonce values).
        let r = DigestAlgorithm::Sha256.response(&DigestInputs {
            user: "Mufasa",
            realm: "http-auth@example.org",
            password: "Circle of Life",
            method: "GET",
            uri: "/dir/index.html",
            nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            nc: "00000001",
            cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        });
        assert_eq!(
            r,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
        let r = DigestAlgorithm::Md5.response(&DigestInputs {
            user: "Mufasa",
            realm: "http-auth@example.org",
            password: "Circle of Life",
            method: "GET",
            uri: "/dir/index.html",
            nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            nc: "00000001",
            cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        });
        assert_eq!(r, "8ca523f5e9506fed4657c9700eebdbec");
    }

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
    fn challenges_parse_several_per_field_and_quoted_escapes() {
        let text = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", Basic realm=\"simple\"\r\n\r\n";
        let mut s = HeadScanner::new(HeadLimits {
            max_bytes: 4096,
            max_line: 2048,
            max_headers: 8,
        });
        let Status::Complete(n) = s.scan(text.as_bytes()).unwrap() else {
            panic!()
        };
        let resp = crate::handshake::client::Response::parse(&text.as_bytes()[..n], &s).unwrap();
        let c = parse_challenges(resp.headers.get_all("WWW-Authenticate"));
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

    #[test]
    fn debug_never_shows_credentials() {
        let auth = Authenticator::basic("r", |_| Some("hunter2".into()));
        assert_eq!(
            format!("{auth:?}"),
            "Authenticator { scheme: \"Basic\", realm: \"r\", .. }"
        );
    }
}
