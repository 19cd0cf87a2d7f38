//! A `wss://` echo server that asks for a password (HTTP Basic), and its
//! client, which trusts the server's CA and logs in with one handshake.
//!
//! Make a CA and a certificate for localhost signed by it (once):
//!
//! ```text
//! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
//!     -subj "/CN=my test CA" -keyout ca.key -out ca.pem
//! openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
//!     -subj "/CN=localhost" -keyout key.pem -out leaf.csr
//! printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > leaf.ext
//! openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
//!     -extfile leaf.ext -out cert.pem
//! ```
//!
//! Then:
//!
//! ```text
//! cargo run --example wss_basic_auth -- server cert.pem key.pem 8443
//! cargo run --example wss_basic_auth -- client ca.pem wss://localhost:8443/echo
//! ```

use stdws::tls::TlsAcceptor;
use stdws::Connector;
use stdws::{Authenticator, Client, CloseCode, Connection, Error, Handler, Message, Server};

struct Echo;

impl Handler for Echo {
    fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
        // The user the server authenticated, for every message.
        let user = client.user().unwrap_or("?");
        match message {
            Message::Text(text) => client.send(Message::Text(format!("{user}: {text}"))),
            binary => client.send(binary),
        }
    }
}

fn serve(cert: &str, key: &str, port: u16) -> Result<(), Error> {
    // Look passwords up wherever they live; never log them.
    let users = Authenticator::basic("stdws example", |user| {
        (user == "alice").then(|| "wonderland".to_owned())
    });
    let server = Server::builder()
        .tls(TlsAcceptor::from_pem(cert, key)?)
        .authenticator(users)
        .route("/echo", Echo)
        .bind(("127.0.0.1", port))?;
    eprintln!(
        "wss_basic_auth listening on wss://localhost:{}/echo",
        server.local_addr().port()
    );
    server.wait();
    Ok(())
}

fn connect(ca: &str, url: &str) -> Result<(), Error> {
    let ws = Connector::new(url)
        .ca_file(ca) // trusted besides the system's roots
        .basic_auth("alice", "wonderland") // sent with the first request
        .connect()?;
    let mut conn = Connection::new(ws);
    conn.send_text("hello over wss")?;
    if let Some(Message::Text(echo)) = conn.recv()? {
        println!("{echo}");
    }
    conn.close(CloseCode::NORMAL, "bye")
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args[..] {
        ["server", cert, key, port] => serve(cert, key, port.parse().unwrap_or(8443)),
        ["server", cert, key] => serve(cert, key, 8443),
        ["client", ca, url] => connect(ca, url),
        ["client", ca] => connect(ca, "wss://localhost:8443/echo"),
        _ => {
            eprintln!("usage: wss_basic_auth server CERT.pem KEY.pem [PORT]");
            eprintln!("       wss_basic_auth client CA.pem [wss://localhost:8443/echo]");
            std::process::exit(2);
        }
    }
}
