//! Sends each line of standard input to an echo server and prints the echo.
//!
//! ```text
//! cargo run --example echo_client -- ws://127.0.0.1:9001/
//! ```

use std::io::BufRead;

use stdws::{CloseCode, Connection, Error};

fn main() -> Result<(), Error> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001/".to_owned());
    let mut conn = Connection::connect(&url)?;
    for line in std::io::stdin().lock().lines() {
        conn.send_text(&line?)?;
        match conn.recv()? {
            Some(echo) => println!("{}", echo.as_text().unwrap_or("<binary>")),
            None => return Ok(()),
        }
    }
    conn.close(CloseCode::NORMAL, "bye")
}
