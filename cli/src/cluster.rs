//! `--redis`, `--cluster-prefix`, `--node-id`: several `stdws serve`
//! processes act as one (`/chat` spans every node) through a `RedisHub`.

use std::io;
use std::sync::Weak;
use std::thread;
use std::time::{Duration, Instant};

use clap::Args;
use stdws::hub::HubStats;
use stdws::{NodeId, Server, ServerBuilder};

use crate::Failure;

/// Joining a cluster through Redis pub/sub.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Cluster")]
pub(crate) struct ClusterOptions {
    /// Join the cluster that meets in this Redis: redis://[:PASSWORD@]HOST[:PORT][/DB]
    /// (or rediss:// for TLS). A Redis that refuses or cannot be reached
    /// stops the command at once.
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
    /// Channel prefix isolating this cluster from others on the same Redis
    /// [default: stdws].
    #[arg(long, value_name = "PREFIX", requires = "redis")]
    cluster_prefix: Option<String>,
    /// This node's name in connection ids (letters, digits, '-', '_', '.')
    /// [default: node].
    #[arg(long, value_name = "ID")]
    node_id: Option<String>,
}

impl ClusterOptions {
    /// True with `--redis`.
    pub(crate) fn is_set(&self) -> bool {
        self.redis.is_some()
    }

    /// The node id and the hub: connects to Redis now, so that a wrong
    /// password or an unreachable Redis ends the command with Redis's
    /// reason. Errors never repeat the URL (it may hold a password).
    pub(crate) fn apply(&self, mut builder: ServerBuilder) -> Result<ServerBuilder, Failure> {
        if let Some(name) = &self.node_id {
            let node = NodeId::new(name)
                .map_err(|e| Failure::Usage(format!("--node-id {name:?}: {e}")))?;
            builder = builder.node(node);
        }
        let Some(url) = &self.redis else {
            return Ok(builder);
        };
        self.hub(builder, url)
    }

    #[cfg(feature = "redis")]
    fn hub(&self, builder: ServerBuilder, url: &str) -> Result<ServerBuilder, Failure> {
        let mut hub = stdws::hub::RedisHub::builder(url);
        if let Some(prefix) = &self.cluster_prefix {
            hub = hub.prefix(prefix.as_str());
        }
        let hub = hub
            .connect()
            .map_err(|e| Failure::Run(format!("cannot join the cluster through Redis: {e}")))?;
        eprintln!("stdws: cluster {:?} through Redis", hub.prefix());
        Ok(builder.hub(hub))
    }

    #[cfg(not(feature = "redis"))]
    fn hub(&self, _: ServerBuilder, _: &str) -> Result<ServerBuilder, Failure> {
        Err(Failure::Run(
            "this stdws was built without Redis support: build it with \
             `cargo build --release -p stdws-cli --features redis` (on by default)"
                .into(),
        ))
    }
}

/// Says on stderr what the hub carried: at once when something went wrong
/// (dropped, lost, a reconnect, a link up or down), else once a minute
/// when anything moved.
pub(crate) fn report(server: Weak<Server>) -> io::Result<()> {
    thread::Builder::new()
        .name("stdws-cluster-stats".into())
        .spawn(move || {
            let mut said = HubStats::default();
            let mut when = Instant::now();
            loop {
                thread::sleep(Duration::from_secs(1));
                let Some(server) = server.upgrade() else {
                    return;
                };
                let now = server.hub_stats();
                let trouble = (now.dropped, now.lost, now.reconnects, now.connected)
                    != (said.dropped, said.lost, said.reconnects, said.connected);
                let moved = (now.published, now.delivered) != (said.published, said.delivered);
                if trouble || (moved && when.elapsed() >= Duration::from_secs(60)) {
                    eprintln!("stdws: cluster: {now}");
                    said = now;
                    when = Instant::now();
                }
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::secrets::tests::usage;
    use crate::{Cli, Command, Failure};

    fn cluster(args: &[&str]) -> Result<super::ClusterOptions, clap::Error> {
        let cli = Cli::try_parse_from(["stdws", "serve"].iter().chain(args))?;
        match cli.command {
            Command::Serve(serve) => Ok(serve.cluster),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cluster_flags_are_checked_before_anything_starts() {
        let options = cluster(&[
            "--redis",
            "redis://h/0",
            "--cluster-prefix",
            "p",
            "--node-id",
            "a",
        ]);
        assert!(options.unwrap().is_set());
        let alone = cluster(&["--cluster-prefix", "p"]).unwrap_err().to_string();
        assert!(alone.contains("--redis"), "{alone}");
        let bad = cluster(&["--node-id", "a b"]).unwrap();
        let why = usage(bad.apply(stdws::Server::builder()));
        assert!(why.starts_with("--node-id \"a b\""), "{why}");
        let unreachable = cluster(&["--redis", "redis://127.0.0.1:1/0"]).unwrap();
        match unreachable.apply(stdws::Server::builder()) {
            Err(Failure::Run(why)) if cfg!(feature = "redis") => {
                assert!(
                    why.starts_with("cannot join the cluster through Redis"),
                    "{why}"
                )
            }
            Err(Failure::Run(why)) => assert!(why.contains("--features redis"), "{why}"),
            _ => panic!("--redis to nowhere accepted"),
        }
    }
}
