//! Answers a server's keep-alive pings on connections the idle test leaves
//! quiet, as any real client does (RFC 6455 §5.5.2: a ping is answered
//! with a pong of the same payload). stdws pings every 30 s and Python
//! `websockets` every 20 s, and each closes a client that does not answer:
//! without this, opening 10,000 connections on a loaded machine (over a
//! minute) would lose the first ones to their own server's keep-alive.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use mio::{Events, Interest, Poll, Token};

/// What the responder hands back: pings answered, and the connections in
/// the order they were given.
type Answered = io::Result<(u64, Vec<TcpStream>)>;

/// A thread that answers pings on the connections it is given.
pub struct PongResponder {
    add: Option<Sender<TcpStream>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Answered>>,
}

impl PongResponder {
    /// Starts the thread.
    pub fn start() -> PongResponder {
        let (add, added) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || respond(&added, &flag));
        PongResponder {
            add: Some(add),
            stop,
            thread: Some(thread),
        }
    }

    /// Takes `stream` (an opened WebSocket connection with no message in
    /// flight) until [`stop`](PongResponder::stop) gives it back.
    pub fn watch(&self, stream: TcpStream) -> io::Result<()> {
        self.add
            .as_ref()
            .and_then(|add| add.send(stream).ok())
            .ok_or_else(|| io::Error::other("pong responder ended"))
    }

    /// Stops watching: how many pings were answered, and the connections,
    /// blocking again, in the order they were given.
    pub fn stop(mut self) -> Answered {
        self.end()
    }

    fn end(&mut self) -> Answered {
        self.stop.store(true, Ordering::SeqCst);
        self.add = None;
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("pong responder panicked"))),
            None => Ok((0, Vec::new())),
        }
    }
}

impl Drop for PongResponder {
    /// An idle test that failed half way still ends the thread and closes
    /// the connections.
    fn drop(&mut self) {
        let _ = self.end();
    }
}

struct Watched {
    stream: mio::net::TcpStream,
    /// Bytes of an unfinished server frame.
    pending: Vec<u8>,
}

fn respond(added: &Receiver<TcpStream>, stop: &AtomicBool) -> Answered {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut watched: HashMap<usize, Watched> = HashMap::new();
    let mut answered = 0;
    let mut chunk = [0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        while let Ok(s) = added.try_recv() {
            s.set_nonblocking(true)?;
            let token = watched.len();
            let mut stream = mio::net::TcpStream::from_std(s);
            poll.registry()
                .register(&mut stream, Token(token), Interest::READABLE)?;
            watched.insert(
                token,
                Watched {
                    stream,
                    pending: Vec::new(),
                },
            );
        }
        poll.poll(&mut events, Some(Duration::from_millis(20)))?;
        for event in &events {
            let Some(w) = watched.get_mut(&event.token().0) else {
                continue;
            };
            loop {
                match w.stream.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => w.pending.extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            answered += answer(w)?;
        }
    }
    let mut streams = Vec::with_capacity(watched.len());
    for token in 0..watched.len() {
        let w = watched.remove(&token).expect("tokens are 0..len");
        let stream = TcpStream::from(w.stream);
        stream.set_nonblocking(false)?;
        streams.push(stream);
    }
    Ok((answered, streams))
}

/// Answers every whole ping in `w.pending` (control frames: at most 125
/// payload bytes, so a 2-byte header); drops other whole frames.
fn answer(w: &mut Watched) -> io::Result<u64> {
    let mut answered = 0;
    while w.pending.len() >= 2 {
        let len = usize::from(w.pending[1] & 0x7F);
        if len > 125 || w.pending.len() < 2 + len {
            break;
        }
        if w.pending[0] & 0x0F == 0x9 {
            // A pong masked with the zero key: the payload as it is.
            let mut pong = vec![0x8A, 0x80 | len as u8, 0, 0, 0, 0];
            pong.extend_from_slice(&w.pending[2..2 + len]);
            w.stream.write_all(&pong)?;
            answered += 1;
        }
        w.pending.drain(..2 + len);
    }
    Ok(answered)
}
