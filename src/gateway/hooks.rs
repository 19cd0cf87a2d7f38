//! The hook client: one POST to the application, retried inside one time
//! budget, over kept-alive connections (ureq's pool).
//!
//! A hook's `--hook-timeout` is its whole budget, retries included: every
//! attempt gets what is left of it, and the pause between attempts (an
//! exponential backoff with jitter, so that many connections retrying at
//! once do not return in step) never runs past it. Connection errors,
//! timeouts and the statuses that mean "try again" (429, 502, 503, 504) are
//! retried; any other answer is final.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::RngExt as _;

use super::signing::Signer;

/// First pause between attempts; doubled each time, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Idle connections kept to the application: one per client thread that
/// may call at once, so a busy gateway does not reconnect per hook.
const MAX_IDLE: usize = 1024;

/// One hook to deliver.
#[derive(Debug)]
pub(crate) struct HookRequest {
    /// The full URL.
    pub(crate) url: String,
    pub(crate) content_type: &'static str,
    pub(crate) body: Vec<u8>,
    /// Header fields besides the signature's.
    pub(crate) headers: Vec<(String, String)>,
}

/// The application's final answer.
#[derive(Debug)]
pub(crate) struct HookReply {
    pub(crate) status: u16,
    /// Header fields, names lower-cased.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl HookReply {
    /// `reject` carrying this reply's body (its first
    /// [`MAX_REJECT_BODY`](super::MAX_REJECT_BODY) bytes) and content type:
    /// what a refused client is shown instead of the 101.
    pub(crate) fn refusal(self, reject: crate::Reject) -> crate::Reject {
        let content_type = self
            .header("content-type")
            .unwrap_or("application/octet-stream")
            .to_owned();
        let mut body = self.body;
        body.truncate(super::MAX_REJECT_BODY);
        reject.body(content_type, body)
    }

    /// A header field's value (`name` lower-case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The media type of the body, lower-cased, without parameters.
    pub(crate) fn media_type(&self) -> Option<String> {
        let ct = self.header("content-type")?;
        Some(
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase(),
        )
    }

    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why a hook got no final answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HookError {
    /// The budget ran out; the last attempt's failure.
    Exhausted(String),
    /// The answer's body is over the limit.
    TooLarge(u64),
    /// A failure retrying cannot mend (a malformed answer, a bad URL).
    Failed(String),
}

impl std::fmt::Display for HookError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HookError::Exhausted(last) => write!(f, "hook timed out after retries ({last})"),
            HookError::TooLarge(max) => write!(f, "hook reply over {max} bytes"),
            HookError::Failed(why) => write!(f, "hook failed: {why}"),
        }
    }
}

/// What one attempt came to.
enum Attempt {
    Final(HookReply),
    /// Worth another try: why, and the answer if there was one.
    Retry(String, Option<HookReply>),
    Fail(HookError),
}

/// Delivers hooks (see the module docs).
pub(crate) struct HookClient {
    agent: ureq::Agent,
    timeout: Duration,
    max_body: u64,
    signer: Option<Signer>,
}

impl HookClient {
    pub(crate) fn new(timeout: Duration, max_body: usize, signer: Option<Signer>) -> HookClient {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // The upstream is named on the command line: an environment
            // proxy setting must not reroute it.
            .proxy(None)
            .max_redirects(0)
            .max_idle_connections(MAX_IDLE)
            .max_idle_connections_per_host(MAX_IDLE)
            .user_agent(concat!("stdws-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        HookClient {
            agent,
            timeout,
            max_body: max_body as u64,
            signer,
        }
    }

    /// The budget of one hook.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Delivers `request`, retrying inside the budget. When the budget
    /// runs out on a "try again" status (429, 502, 503, 504), that last
    /// answer is the result.
    pub(crate) fn call(&self, request: &HookRequest) -> Result<HookReply, HookError> {
        let deadline = Instant::now() + self.timeout;
        let id = event_id();
        let mut backoff = FIRST_BACKOFF;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(HookError::Exhausted("no time left".into()));
            }
            let (last, reply) = match self.attempt(request, &id, left) {
                Attempt::Final(reply) => return Ok(reply),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry(why, reply) => (why, reply),
            };
            // Full jitter between half and all of the backoff.
            let pause = backoff.mul_f64(rand::rng().random_range(0.5..=1.0));
            let left = deadline.saturating_duration_since(Instant::now());
            if pause >= left {
                return reply.ok_or(HookError::Exhausted(last));
            }
            log::debug!("hook {}: {last}; retrying in {pause:?}", request.url);
            std::thread::sleep(pause);
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    fn attempt(&self, request: &HookRequest, id: &str, left: Duration) -> Attempt {
        let mut call = self
            .agent
            .post(&request.url)
            .header("Content-Type", request.content_type);
        for (name, value) in &request.headers {
            call = call.header(name, value);
        }
        if let Some(signer) = &self.signer {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            call = call
                .header("webhook-id", id)
                .header("webhook-timestamp", now.to_string())
                .header("webhook-signature", signer.sign(id, now, &request.body));
        }
        let sent = call
            .config()
            .timeout_global(Some(left))
            .build()
            .send(&request.body[..]);
        let mut response = match sent {
            Ok(response) => response,
            Err(e) => return classify(e),
        };
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(self.max_body)
            .read_to_vec();
        let reply = |body| HookReply {
            status,
            headers,
            body,
        };
        match body {
            Ok(body) if matches!(status, 429 | 502 | 503 | 504) => {
                Attempt::Retry(format!("status {status}"), Some(reply(body)))
            }
            Ok(body) => Attempt::Final(reply(body)),
            Err(ureq::Error::BodyExceedsLimit(max)) => Attempt::Fail(HookError::TooLarge(max)),
            Err(e) => classify(e),
        }
    }
}

/// Connection trouble and timeouts are worth another attempt; the rest is not.
fn classify(e: ureq::Error) -> Attempt {
    match e {
        ureq::Error::Io(_)
        | ureq::Error::Timeout(_)
        | ureq::Error::ConnectionFailed
        | ureq::Error::HostNotFound => Attempt::Retry(e.to_string(), None),
        other => Attempt::Fail(HookError::Failed(other.to_string())),
    }
}

/// A fresh `webhook-id`: `msg_` and 128 random bits, URL-safe.
fn event_id() -> String {
    let bits: u128 = rand::rng().random();
    format!("msg_{bits:032x}")
}

impl std::fmt::Debug for HookClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookClient")
            .field("timeout", &self.timeout)
            .field("signed", &self.signer.is_some())
            .finish_non_exhaustive()
    }
}
