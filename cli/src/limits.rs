//! The server's limits and compression: the `Config` a server command
//! starts from.

use clap::Args;
use stdws::{Config, PerMessageDeflate};

/// Compression and the limits a command line may change (the rest keep
/// `Config`'s defaults, safe for a public server).
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Limits")]
pub(crate) struct LimitOptions {
    /// Accept permessage-deflate (RFC 7692) from clients that offer it.
    #[arg(long)]
    deflate: bool,
    /// Connections open at once (handshakes included); more are answered 503.
    #[arg(long, value_name = "N")]
    max_connections: Option<usize>,
}

impl LimitOptions {
    /// The configuration these options describe.
    pub(crate) fn config(&self) -> Config {
        let mut config = deflate(self.deflate);
        if let Some(n) = self.max_connections {
            config = config.max_connections(n);
        }
        config
    }
}

/// The default configuration, with compression if asked for.
pub(crate) fn deflate(on: bool) -> Config {
    if on {
        Config::default().deflate(PerMessageDeflate::new())
    } else {
        Config::default()
    }
}
