//! `make bench`: stdws's echo server against the servers a user would weigh
//! instead (tungstenite, tokio-tungstenite, fastwebsockets, node `ws`,
//! Python `websockets`) and a raw TCP echo.
//!
//! The harness (`src/bin/bench.rs`) starts each server pinned to
//! core 0, drives it from core 1 with a closed-loop load generator that
//! speaks WebSocket itself ([`wire`], [`load`]), reads the server's own CPU
//! time from `/proc` ([`procfs`]), then writes tables ([`report`]) and a chart ([`chart`]).

pub mod chart;
pub mod deflate;
pub mod idle;
pub mod load;
pub mod micro;
pub mod pong;
pub mod procfs;
pub mod report;
pub mod server;
pub mod wire;

/// The port given as the first argument of a server binary.
pub fn port_arg() -> u16 {
    std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| {
            eprintln!("usage: SERVER PORT");
            std::process::exit(2)
        })
}
