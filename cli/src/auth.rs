//! The server's users: `--basic-auth`, `--digest-auth` and their `-file`
//! forms. Every request, WebSocket or file, is answered 401 without valid
//! credentials.

use clap::Args;
use stdws::Authenticator;

use crate::secrets::{user_pass, user_pass_file};
use crate::Failure;

/// The realm of the command's authentication.
pub(crate) const REALM: &str = "stdws";

/// Users and schemes, as typed. Basic and Digest flags together offer both
/// schemes (Digest first) to every user listed.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Authentication")]
pub(crate) struct AuthOptions {
    /// HTTP Basic (RFC 7617) for this user; use it with TLS. Repeat for more users.
    #[arg(long, value_name = "USER:PASS", allow_hyphen_values = true)]
    basic_auth: Vec<String>,
    /// HTTP Digest (RFC 7616, SHA-256 and MD5) for this user. Repeat for more users.
    #[arg(long, value_name = "USER:PASS", allow_hyphen_values = true)]
    digest_auth: Vec<String>,
    /// Basic for the users of FILE: one USER:PASS per line (# comments), so
    /// passwords stay out of the process list.
    #[arg(long, value_name = "FILE")]
    basic_auth_file: Vec<String>,
    /// Digest for the users of FILE (as --basic-auth-file).
    #[arg(long, value_name = "FILE")]
    digest_auth_file: Vec<String>,
}

/// The users and the schemes offered to them.
#[derive(Debug)]
pub(crate) struct Users {
    basic: bool,
    digest: bool,
    users: Vec<(String, String)>,
}

impl AuthOptions {
    /// Reads the users (from the flags, then from the files); `None` when
    /// no flag asks for authentication.
    pub(crate) fn users(&self) -> Result<Option<Users>, Failure> {
        let mut users = Vec::new();
        for value in &self.basic_auth {
            users.push(user_pass("--basic-auth", value)?);
        }
        for value in &self.digest_auth {
            users.push(user_pass("--digest-auth", value)?);
        }
        for path in &self.basic_auth_file {
            users.extend(user_pass_file("--basic-auth-file", path)?);
        }
        for path in &self.digest_auth_file {
            users.extend(user_pass_file("--digest-auth-file", path)?);
        }
        if users.is_empty() {
            return Ok(None);
        }
        Ok(Some(Users {
            basic: !self.basic_auth.is_empty() || !self.basic_auth_file.is_empty(),
            digest: !self.digest_auth.is_empty() || !self.digest_auth_file.is_empty(),
            users,
        }))
    }
}

impl Users {
    /// The schemes offered, as the command reports them.
    pub(crate) fn schemes(&self) -> &'static str {
        match (self.digest, self.basic) {
            (true, true) => "Digest and Basic",
            (true, false) => "Digest",
            _ => "Basic",
        }
    }

    /// Whether Basic (passwords in the clear without TLS) is offered.
    pub(crate) fn basic(&self) -> bool {
        self.basic
    }

    pub(crate) fn len(&self) -> usize {
        self.users.len()
    }

    /// The server's authenticator for these users.
    pub(crate) fn authenticator(self) -> Authenticator {
        let Users {
            basic,
            digest,
            users,
        } = self;
        let lookup = move |user: &str| {
            users
                .iter()
                .find(|(u, _)| u == user)
                .map(|(_, p)| p.clone())
        };
        match (digest, basic) {
            (true, true) => Authenticator::digest(REALM, lookup).and_basic(),
            (true, false) => Authenticator::digest(REALM, lookup),
            _ => Authenticator::basic(REALM, lookup),
        }
    }
}
