//! `stdws gateway`: WebSocket for an application written in any language,
//! over HTTP web hooks and a control API (see the library's `gateway`
//! module).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use stdws::gateway::{Gateway, HookFailure, Mode};
use stdws::Server;

use crate::auth::AuthOptions;
use crate::cluster::ClusterOptions;
use crate::limits::LimitOptions;
use crate::serve::{secure, stop_on_signals};
use crate::tls::TlsOptions;
use crate::Failure;

/// Time the opening handshake has beyond the connect hook's budget.
const HANDSHAKE_SLACK: Duration = Duration::from_secs(5);

/// A WebSocket gateway for an application that speaks HTTP.
///
/// Accepts WebSocket clients on every path and tells the application at
/// --upstream what they do, one POST per event: {upstream}/connect (before
/// the 101: its status decides), {upstream}/message (one at a time per
/// client; a 200 answer's body goes back), {upstream}/close (once per
/// accepted client). The application answers through the control API on
/// --control: POST /connections/{id}/send, POST /send?id=…, POST /broadcast,
/// POST /topics/{topic}/publish, PUT|DELETE /topics/{topic}/connections/{id},
/// GET /connections[/{id}], DELETE /connections/{id}?code=&reason=, GET /healthz.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub(crate) struct GatewayCommand {
    /// The address WebSocket clients connect to.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8000")]
    addr: String,
    /// The application: hooks go to URL/connect, URL/message and URL/close.
    #[arg(long, value_name = "URL")]
    upstream: String,
    /// The control API's address (an address that is not loopback needs
    /// --control-token-file).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8001")]
    control: String,
    /// Every control request must carry `Authorization: Bearer <the token in FILE>`.
    #[arg(long, value_name = "FILE")]
    control_token_file: Option<PathBuf>,
    /// Sign every hook the Standard Webhooks way with the secret in FILE
    /// (`whsec_<base64>` or raw).
    #[arg(long, value_name = "FILE")]
    hook_secret_file: Option<PathBuf>,
    /// The budget of one hook, retries included.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    hook_timeout: f64,
    /// When a message hook fails: close the client with 1011, or skip the
    /// message.
    #[arg(long, value_name = "ACTION", default_value = "close", value_parser = ["close", "skip"])]
    on_hook_failure: String,
    /// Largest control API request body, in bytes (larger: 413).
    #[arg(long, value_name = "BYTES", default_value_t = stdws::gateway::DEFAULT_MAX_CONTROL_BODY)]
    max_control_body: usize,
    /// Largest hook answer body, in bytes (a longer one fails the hook).
    #[arg(long, value_name = "BYTES", default_value_t = stdws::gateway::DEFAULT_MAX_HOOK_BODY)]
    max_hook_body: usize,
    /// Speak TyphoonAE's Web Socket API (/_ah/websocket/… form hooks,
    /// POST /message and POST /broadcast on the control API).
    #[arg(long, conflicts_with = "websocket_over_http")]
    typhoonae: bool,
    /// Speak Pushpin's WebSocket-over-HTTP protocol to the upstream.
    #[arg(long)]
    websocket_over_http: bool,
    #[command(flatten)]
    limits: LimitOptions,
    #[command(flatten)]
    tls: TlsOptions,
    #[command(flatten)]
    auth: AuthOptions,
    // With --redis, gateways sharing the Redis act as one: control calls
    // reach their connections, broadcasts and publishes their clients.
    #[command(flatten)]
    cluster: ClusterOptions,
}

/// A secret or token file: surrounding whitespace and the trailing newline
/// are not part of it.
fn secret_file(flag: &str, path: &PathBuf) -> Result<String, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("{flag} {}: {e}", path.display())))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(Failure::Usage(format!("{flag} {}: empty", path.display())));
    }
    Ok(text.to_owned())
}

impl GatewayCommand {
    pub(crate) fn run(self) -> Result<(), Failure> {
        if !(self.hook_timeout > 0.0 && self.hook_timeout <= 3600.0) {
            return Err(Failure::Usage(
                "--hook-timeout must be between 0 and 3600 seconds".into(),
            ));
        }
        let hook_timeout = Duration::from_secs_f64(self.hook_timeout);
        let mut gateway = Gateway::builder(&self.upstream)
            .hook_timeout(hook_timeout)
            .max_hook_body(self.max_hook_body)
            .on_hook_failure(if self.on_hook_failure == "skip" {
                HookFailure::Skip
            } else {
                HookFailure::Close
            })
            .mode(if self.typhoonae {
                Mode::TyphoonAe
            } else if self.websocket_over_http {
                Mode::WebSocketOverHttp
            } else {
                Mode::Native
            });
        if let Some(path) = &self.hook_secret_file {
            gateway = gateway.hook_secret(secret_file("--hook-secret-file", path)?);
        }
        let gateway = gateway.build().map_err(|e| Failure::Usage(e.to_string()))?;
        let mut control = gateway.control().max_body(self.max_control_body);
        if let Some(path) = &self.control_token_file {
            control = control.token(secret_file("--control-token-file", path)?);
        }
        let control = control
            .bind(self.control.as_str())
            .map_err(|e| Failure::Run(format!("--control {}: {e}", self.control)))?;

        // The connect hook runs inside the opening handshake.
        let config = self.limits.config();
        let handshake = config.handshake_timeout.max(hook_timeout + HANDSHAKE_SLACK);
        let config = config.handshake_timeout(handshake);
        let builder = Server::builder().config(config).fallback(gateway.clone());
        let (builder, secure) = secure(builder, &self.tls, &self.auth)?;
        // Joined now: a wrong password or an unreachable Redis ends the
        // command with its cause instead of a silent single node.
        let builder = self.cluster.apply(builder)?;
        let server = Arc::new(builder.bind(self.addr.as_str())?);
        gateway.attach(server.clients());
        let addr: SocketAddr = server.local_addr();
        let ws = if secure { "wss" } else { "ws" };
        eprintln!(
            "stdws: gateway {ws}://{addr}/ -> {}  control http://{}/",
            self.upstream.trim_end_matches('/'),
            control.local_addr()
        );
        let control = Arc::new(Mutex::new(control));
        let stopping = Arc::clone(&server);
        let stopping_control = Arc::clone(&control);
        stop_on_signals(move || {
            // Close hooks of a shutdown say the server ended them.
            gateway.going_away();
            stopping.shutdown();
            stopping_control
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .shutdown();
        })?;
        if self.cluster.is_set() {
            crate::cluster::report(Arc::downgrade(&server))?;
        }
        server.wait();
        eprintln!("stdws: stopped");
        Ok(())
    }
}
