//! The Autobahn TestSuite agent in client mode: asks the fuzzing server for
//! the number of cases, echoes every case, then asks for the reports.
//!
//! ```text
//! cargo run --release --example autobahn_client -- ws://127.0.0.1:9001
//! ```

use stdws::{Connection, Error};

const AGENT: &str = "stdws";

fn main() -> Result<(), Error> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001".to_owned());
    let base = base.trim_end_matches('/');

    let mut conn = Connection::connect(&format!("{base}/getCaseCount"))?;
    let count: usize = match conn.recv()? {
        Some(message) => message
            .as_text()
            .and_then(|t| t.trim().parse().ok())
            .expect("case count"),
        None => panic!("no case count"),
    };
    while conn.recv()?.is_some() {}
    eprintln!("running {count} cases");

    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={AGENT}");
        let mut conn = match Connection::connect(&url) {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("case {case}: connect failed: {e}");
                continue;
            }
        };
        while let Ok(Some(message)) = conn.recv() {
            if conn.send(message).is_err() {
                break;
            }
        }
    }

    let mut conn = Connection::connect(&format!("{base}/updateReports?agent={AGENT}"))?;
    while conn.recv()?.is_some() {}
    eprintln!("reports updated");
    Ok(())
}
