//! `-q`, `-v`, `-vv` and `RUST_LOG`: the library's log lines on stderr.
//!
//! At the default level the server writes one line per connection opened
//! and closed, per refused handshake (with its HTTP status), per failed TLS
//! handshake and per error (the library's `stdws::server` target); `-v`
//! adds the details (accepted connections, handshakes the peer left), `-vv`
//! every message. `RUST_LOG` (env_logger's
//! syntax, e.g. `stdws::server=trace`) is applied on top of the flags.

use clap::Args;
use log::LevelFilter;

/// How much the command logs.
#[derive(Debug, Args)]
pub(crate) struct Verbosity {
    /// Errors only (no line per connection).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// More lines: -v for details, -vv for every message. RUST_LOG
    /// (e.g. RUST_LOG=stdws::server=trace) refines it.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

impl Verbosity {
    /// The level the flags ask for.
    pub(crate) fn level(&self) -> LevelFilter {
        match (self.quiet, self.verbose) {
            (true, _) => LevelFilter::Error,
            (false, 0) => LevelFilter::Info,
            (false, 1) => LevelFilter::Debug,
            (false, _) => LevelFilter::Trace,
        }
    }
}

/// Installs the logger (stderr, with a timestamp, level and target).
pub(crate) fn init(verbosity: &Verbosity) {
    env_logger::Builder::new()
        .filter_level(verbosity.level())
        .parse_default_env()
        .init();
}
