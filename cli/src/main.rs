//! The `stdws` command: `stdws serve` (an echo, chat and console server)
//! and `stdws connect URL` (an interactive client). See `stdws --help`.
//!
//! Each subcommand is one file: its flags (a clap `Args` struct) and its
//! `run`. Option groups that more than one subcommand takes live in their
//! own files and are pulled in with `#[command(flatten)]`: [`tls`] (the
//! server's certificate, the client's trust), [`auth`] (users for Basic and
//! Digest), [`limits`] (the server's limits), [`logger`] (`-q`, `-v`). A new
//! subcommand is a file, a variant of [`Command`] and an arm in [`main`].

mod auth;
mod cluster;
mod connect;
mod limits;
mod logger;
mod secrets;
mod serve;
mod tls;

use std::fmt;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// WebSocket (RFC 6455) server and client for the command line.
#[derive(Debug, Parser)]
#[command(name = "stdws", version, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    verbosity: logger::Verbosity,
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    Serve(serve::Serve),
    Connect(connect::Connect),
    // A new subcommand: its file (an `Args` struct that flattens the option
    // groups it shares, e.g. `tls::TlsOptions`, `auth::AuthOptions`,
    // `limits::LimitOptions`), a variant here, its name in `name` and its
    // arm in `main`.
}

impl Command {
    /// The subcommand's name, as typed.
    fn name(&self) -> &'static str {
        match self {
            Command::Serve(_) => "serve",
            Command::Connect(_) => "connect",
        }
    }
}

/// Why a command failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The command line is wrong (exit status 2, with the usage).
    Usage(String),
    /// Running failed (exit status 1).
    Run(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(why) | Failure::Run(why) => f.write_str(why),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        Failure::Run(e.to_string())
    }
}

impl From<stdws::Error> for Failure {
    fn from(e: stdws::Error) -> Failure {
        Failure::Run(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logger::init(&cli.verbosity);
    let name = cli.command.name();
    let result = match cli.command {
        Command::Serve(serve) => serve.run(),
        Command::Connect(connect) => connect.run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(why)) => usage_error(name, why),
        Err(Failure::Run(why)) => {
            eprintln!("stdws: {why}");
            ExitCode::FAILURE
        }
    }
}

/// A command line that clap accepted but whose values do not fit together
/// (or a file named in it cannot be read): reported as clap reports its own
/// errors, with the subcommand's usage, exit status 2.
fn usage_error(subcommand: &str, why: String) -> ExitCode {
    let mut cli = Cli::command();
    cli.build();
    let command = cli
        .find_subcommand_mut(subcommand)
        .expect("the subcommand that ran");
    let error = command.error(clap::error::ErrorKind::ValueValidation, why);
    let _ = error.print();
    ExitCode::from(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// The rendered error for a command line clap refuses.
    fn refused(args: &[&str]) -> String {
        let error = Cli::try_parse_from(args).expect_err("refused");
        assert_eq!(error.exit_code(), 2, "{error}");
        error.render().to_string()
    }

    #[test]
    fn a_mistyped_flag_is_named_with_the_flag_meant() {
        let why = refused(&["stdws", "serve", "--tls-cret", "c.pem"]);
        assert!(why.contains("unexpected argument '--tls-cret'"), "{why}");
        assert!(
            why.contains("tip: a similar argument exists: '--tls-cert'"),
            "{why}"
        );
        let why = refused(&["stdws", "connect", "ws://h/", "--insecur"]);
        assert!(why.contains("'--insecure'"), "{why}");
    }

    #[test]
    fn each_subcommand_has_its_help() {
        for (args, flag) in [
            (["stdws", "serve", "--help"], "--tls-password-file"),
            (["stdws", "connect", "--help"], "--user-file"),
            (["stdws", "help", "serve"], "--digest-auth-file"),
        ] {
            let error = Cli::try_parse_from(args).expect_err("help is shown as an early exit");
            assert_eq!(error.kind(), clap::error::ErrorKind::DisplayHelp);
            let help = error.render().to_string();
            assert!(help.contains(flag), "{help}");
        }
    }

    #[test]
    fn verbosity_is_global_and_quiet_excludes_verbose() {
        let cli = Cli::try_parse_from(["stdws", "serve", "-vv"]).unwrap();
        assert_eq!(cli.verbosity.level(), log::LevelFilter::Trace);
        let cli = Cli::try_parse_from(["stdws", "-q", "serve"]).unwrap();
        assert_eq!(cli.verbosity.level(), log::LevelFilter::Error);
        let cli = Cli::try_parse_from(["stdws", "serve"]).unwrap();
        assert_eq!(cli.verbosity.level(), log::LevelFilter::Info);
        refused(&["stdws", "serve", "-q", "-v"]);
    }
}
