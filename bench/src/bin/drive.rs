//! A fixed number of echoes against a running server, for instruction
//! counts (`bench/callgrind.sh`): connects, exchanges about MESSAGES
//! messages over CONNS connections (one in flight each), prints how many.
//!
//! ```text
//! drive PORT ws|raw SIZE CONNS MESSAGES [binary]
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use stdws_bench::load::Load;
use stdws_bench::wire::{connect, Exchange, Protocol};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| -> u64 {
        args.get(i).and_then(|a| a.parse().ok()).unwrap_or_else(|| {
            eprintln!("usage: drive PORT ws|raw SIZE CONNS MESSAGES [binary]");
            std::process::exit(2)
        })
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], number(0) as u16));
    let protocol = match args.get(1).map(String::as_str) {
        Some("raw") => Protocol::Raw,
        _ => Protocol::WebSocket,
    };
    let (size, conns, messages) = (number(2) as usize, number(3) as usize, number(4));
    let binary = args.get(5).is_some_and(|a| a == "binary");
    let run = || -> std::io::Result<u64> {
        let streams = (0..conns)
            .map(|_| connect(addr, protocol))
            .collect::<std::io::Result<Vec<_>>>()?;
        let mut load = Load::new(streams, Exchange::new(protocol, size, binary))?;
        load.run_until(Duration::from_secs(600), messages)
    };
    match run() {
        Ok(done) => println!("{done}"),
        Err(e) => {
            eprintln!("drive: {e}");
            std::process::exit(1)
        }
    }
}
