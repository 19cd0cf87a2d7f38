//! A chat room on 127.0.0.1:PORT: every message sent to `/chat` goes to
//! everyone in the room, with join and leave notices. Open
//! `http://127.0.0.1:PORT/` in two browser tabs (the console), connect
//! both to `/chat`, and talk.
//!
//! ```text
//! cargo run --release --example chat -- 8000
//! ```

use stdws::{Client, CloseCode, Error, Handler, Message, Server};

struct Chat;

impl Chat {
    fn tell_everyone(&self, client: &Client, text: String) {
        client
            .clients()
            .broadcast_if(&Message::Text(text), |c| c.path() == "/chat");
    }
}

impl Handler for Chat {
    fn on_open(&self, client: &Client) -> Result<(), Error> {
        self.tell_everyone(client, format!("* {} joined", client.peer_addr()));
        Ok(())
    }

    fn on_message(&self, client: &Client, message: Message) -> Result<(), Error> {
        match message {
            Message::Text(text) => self.tell_everyone(client, format!("{}: {text}", client.id())),
            Message::Binary(_) => client.close(CloseCode::UNSUPPORTED_DATA, "text only")?,
        }
        Ok(())
    }

    fn on_close(&self, client: &Client, _: CloseCode, _: &str) {
        self.tell_everyone(client, format!("* {} left", client.peer_addr()));
    }
}

fn main() -> Result<(), Error> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8000);
    let server = Server::builder()
        .route("/chat", Chat)
        .console(true)
        .bind(("127.0.0.1", port))?;
    eprintln!(
        "chat on ws://{0}/chat, console at http://{0}/",
        server.local_addr()
    );
    server.wait();
    Ok(())
}
