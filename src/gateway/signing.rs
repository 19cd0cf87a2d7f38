//! Standard Webhooks signatures: the application can tell that a hook came
//! from its gateway and was not replayed.
//!
//! `webhook-signature: v1,<base64 HMAC-SHA256(key, id "." timestamp "." body)>`,
//! with `webhook-id` the same across retries of one event and
//! `webhook-timestamp` the Unix time of the attempt (so an application can
//! refuse stale deliveries).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::GatewayError;

/// The prefix Standard Webhooks gives a base64 secret.
const PREFIX: &str = "whsec_";

/// Signs hooks with one secret.
#[derive(Clone)]
pub(crate) struct Signer {
    key: Vec<u8>,
}

impl Signer {
    /// The secret as a file holds it: `whsec_<base64>` or raw bytes;
    /// surrounding whitespace (a trailing newline) is not part of it.
    pub(crate) fn from_secret(text: &str) -> Result<Signer, GatewayError> {
        let text = text.trim();
        let key = match text.strip_prefix(PREFIX) {
            Some(b64) => STANDARD
                .decode(b64)
                .map_err(|_| GatewayError::Secret("whsec_ secret is not base64"))?,
            None => text.as_bytes().to_vec(),
        };
        if key.is_empty() {
            return Err(GatewayError::Secret("the hook secret is empty"));
        }
        Ok(Signer { key })
    }

    /// The `webhook-signature` value for one attempt.
    pub(crate) fn sign(&self, id: &str, timestamp: u64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_standard_webhooks_example() {
        // The reference vector of the Standard Webhooks specification.
        let signer = Signer::from_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n").unwrap();
        assert_eq!(
            signer.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_raw_secret_is_its_bytes_and_an_empty_one_is_refused() {
        let raw = Signer::from_secret("  s3cret \n").unwrap();
        assert_eq!(raw.key, b"s3cret");
        assert!(matches!(
            Signer::from_secret(" \n"),
            Err(GatewayError::Secret(_))
        ));
        assert!(matches!(
            Signer::from_secret("whsec_!!"),
            Err(GatewayError::Secret(_))
        ));
    }
}
