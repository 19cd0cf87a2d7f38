//! `stdws connect URL`: the interactive client.

use std::io::{self, BufRead, Write};
use std::thread;

use clap::Args;
use stdws::{CloseCode, CloseFrame, Url, WebSocket};

use crate::limits::deflate;
use crate::secrets::{user_pass, user_pass_file};
use crate::tls::ClientTlsOptions;
use crate::Failure;

/// An interactive client: stdin lines out, messages to stdout.
///
/// Each stdin line is sent as a message, each message received is written
/// to stdout. End of input closes the connection (1000).
/// A 401 is answered with --user (or the first USER:PASS line of
/// --user-file) or the URL's user:pass@ (Digest preferred, else Basic).
/// Without --proxy, the proxy comes from https_proxy (wss://) or http_proxy
/// (ws://), then all_proxy, and no_proxy lists the hosts reached directly
/// (upper case names too), as curl reads them.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub(crate) struct Connect {
    /// ws:// or wss:// URL (user:pass@ answers a 401).
    url: String,
    /// Send each line as a binary message.
    #[arg(long)]
    binary: bool,
    /// Offer this subprotocol. Repeat for more, in order of preference.
    #[arg(long, value_name = "P")]
    subprotocol: Vec<String>,
    /// Add this header to the request. Repeat for more.
    #[arg(long, value_name = "'Name: value'", allow_hyphen_values = true)]
    header: Vec<String>,
    /// Offer permessage-deflate (RFC 7692).
    #[arg(long)]
    deflate: bool,
    /// Answer a 401 as this user.
    #[arg(
        long,
        value_name = "USER:PASS",
        allow_hyphen_values = true,
        conflicts_with = "user_file"
    )]
    user: Option<String>,
    /// Answer a 401 with the first USER:PASS line of FILE (kept out of the
    /// process list).
    #[arg(long, value_name = "FILE")]
    user_file: Option<String>,
    /// Connect through this proxy: http://, https://, socks5:// or
    /// socks5h:// (the proxy resolves the name), with user:pass@ for it.
    #[arg(long, value_name = "URL", conflicts_with = "no_proxy")]
    proxy: Option<String>,
    /// Connect directly, whatever the proxy environment variables say.
    #[arg(long)]
    no_proxy: bool,
    #[command(flatten)]
    tls: ClientTlsOptions,
}

impl Connect {
    /// The credentials to answer a 401 with.
    fn user(&self) -> Result<Option<(String, String)>, Failure> {
        match (&self.user, &self.user_file) {
            (Some(value), _) => user_pass("--user", value).map(Some),
            (None, Some(path)) => Ok(user_pass_file("--user-file", path)?.into_iter().next()),
            (None, None) => Ok(None),
        }
    }

    /// The `--header` values as name and value.
    fn headers(&self) -> Result<Vec<(String, String)>, Failure> {
        self.header
            .iter()
            .map(|header| match header.split_once(':') {
                Some((name, value)) => Ok((name.trim().to_owned(), value.trim().to_owned())),
                None => Err(Failure::Usage("--header needs 'Name: value'".into())),
            })
            .collect()
    }

    /// The URL as it may be shown: without its password.
    fn shown_url(&self) -> String {
        Url::parse(&self.url).map_or_else(|_| "the URL".to_owned(), |u| u.to_string())
    }

    pub(crate) fn run(self) -> Result<(), Failure> {
        let mut builder = WebSocket::builder(&self.url).config(deflate(self.deflate));
        for p in &self.subprotocol {
            builder = builder.protocol(p.clone());
        }
        for (name, value) in self.headers()? {
            builder = builder.header(name, value);
        }
        if let Some((user, pass)) = self.user()? {
            builder = builder.credentials(user, pass);
        }
        if let Some(proxy) = &self.proxy {
            builder = builder.proxy(proxy.clone());
        } else if self.no_proxy {
            builder = builder.no_proxy();
        }
        builder = self.tls.apply(builder)?;
        let ws = builder.connect()?;
        let url = self.shown_url();
        match ws.protocol() {
            Some(p) => eprintln!("stdws: connected to {url} (subprotocol {p})"),
            None => eprintln!("stdws: connected to {url}"),
        }
        // Split, so stdin lines are sent while the reader is blocked (over
        // TLS too).
        let (sender, mut receiver) = ws.split()?;
        let binary = self.binary;
        thread::Builder::new()
            .name("stdws-stdin".into())
            .spawn(move || {
                for line in io::stdin().lock().lines() {
                    let Ok(line) = line else { break };
                    let sent = if binary {
                        sender.send_binary(line.as_bytes())
                    } else {
                        sender.send_text(&line)
                    };
                    if sent.is_err() {
                        return;
                    }
                }
                let _ = sender.close(CloseCode::NORMAL, "");
            })?;
        let mut stdout = io::stdout().lock();
        while let Some(message) = receiver.recv()? {
            stdout.write_all(message.as_bytes())?;
            stdout.write_all(b"\n")?;
            stdout.flush()?;
        }
        let frame = receiver
            .close_frame()
            .unwrap_or_else(|| CloseFrame::new(CloseCode::NO_STATUS, ""));
        eprintln!("stdws: closed: {frame}");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::secrets::tests::{file, usage};
    use crate::{Cli, Command};

    fn connect(args: &[&str]) -> super::Connect {
        let cli = Cli::try_parse_from(["stdws", "connect"].iter().chain(args)).unwrap();
        match cli.command {
            Command::Connect(connect) => connect,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_flag_of_connect_keeps_its_spelling() {
        let c = connect(&[
            "wss://h/echo",
            "--binary",
            "--subprotocol",
            "a",
            "--subprotocol",
            "b",
            "--header",
            "X-A: 1",
            "--deflate",
            "--user",
            "u:p",
            "--ca",
            "ca.pem",
            "--tls-backend",
            "rustls",
            "--insecure",
            "--proxy",
            "socks5h://p:1080",
        ]);
        assert_eq!(c.url, "wss://h/echo");
        assert!(c.binary && c.deflate);
        assert_eq!(c.subprotocol, ["a", "b"]);
        assert_eq!(c.headers().unwrap(), [("X-A".to_owned(), "1".to_owned())]);
        assert_eq!(c.user().unwrap(), Some(("u".to_owned(), "p".to_owned())));
        assert_eq!(c.proxy.as_deref(), Some("socks5h://p:1080"));
        assert!(connect(&["ws://h/", "--no-proxy"]).no_proxy);
        assert!(
            Cli::try_parse_from(["stdws", "connect", "ws://h/", "--proxy", "p", "--no-proxy"])
                .is_err()
        );
        let why = usage(connect(&["ws://h/", "--header", "no colon"]).headers());
        assert_eq!(why, "--header needs 'Name: value'");
    }

    #[test]
    fn connect_reads_the_first_user_of_a_file() {
        let users = file("connect-users", "alice:a\nbob:b\n");
        let c = connect(&["ws://h/", "--user-file", &users]);
        assert_eq!(
            c.user().unwrap(),
            Some(("alice".to_owned(), "a".to_owned()))
        );
    }

    #[test]
    fn connect_takes_one_url() {
        let error = Cli::try_parse_from(["stdws", "connect", "ws://a/", "ws://b/"]).unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::UnknownArgument);
        let error = Cli::try_parse_from(["stdws", "connect"]).unwrap_err();
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
    }
}
