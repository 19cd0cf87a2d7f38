//! The closed-loop load generator: every connection keeps exactly one
//! message in flight (as uWebSockets' `load_test` does), sends the next one
//! the moment the echo of the last has arrived whole and matched byte for
//! byte. One thread drives all connections through `epoll` (mio), so the
//! client side costs little and never blocks on one slow connection.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};

use crate::wire::Exchange;

struct Conn {
    stream: mio::net::TcpStream,
    /// Bytes of the request written so far.
    written: usize,
    /// Bytes of the expected echo received (and matched) so far.
    received: usize,
}

/// Connections under load, and the message they exchange.
pub struct Load {
    poll: Poll,
    events: Events,
    conns: Vec<Conn>,
    exchange: Exchange,
    scratch: Vec<u8>,
}

impl Load {
    /// Takes connected (and handshaken) streams; nothing is sent yet.
    pub fn new(streams: Vec<TcpStream>, exchange: Exchange) -> io::Result<Load> {
        let poll = Poll::new()?;
        let mut conns = Vec::with_capacity(streams.len());
        for (i, s) in streams.into_iter().enumerate() {
            s.set_nonblocking(true)?;
            let mut stream = mio::net::TcpStream::from_std(s);
            poll.registry().register(
                &mut stream,
                Token(i),
                Interest::READABLE | Interest::WRITABLE,
            )?;
            conns.push(Conn {
                stream,
                written: 0,
                received: 0,
            });
        }
        Ok(Load {
            poll,
            events: Events::with_capacity(1024),
            conns,
            exchange,
            scratch: vec![0; 256 << 10],
        })
    }

    /// Runs the loop for `span`; returns how many echoes completed. An
    /// echo that differs from what was sent, or a connection the server
    /// drops, is an error: a wrong server cannot score.
    pub fn run_for(&mut self, span: Duration) -> io::Result<u64> {
        self.run_until(span, u64::MAX)
    }

    /// [`Load::run_for`], stopping early once `limit` echoes completed
    /// (a few more may complete in the last round of connections).
    pub fn run_until(&mut self, span: Duration, limit: u64) -> io::Result<u64> {
        let deadline = Instant::now() + span;
        let mut done = 0;
        // Edge-triggered: drive every connection once first, so each has
        // work pending before we wait for readiness.
        for i in 0..self.conns.len() {
            done += self.drive(i)?;
        }
        loop {
            let now = Instant::now();
            if now >= deadline || done >= limit {
                return Ok(done);
            }
            self.poll.poll(&mut self.events, Some(deadline - now))?;
            let ready: Vec<usize> = self.events.iter().map(|e| e.token().0).collect();
            for i in ready {
                done += self.drive(i)?;
            }
        }
    }

    /// Writes and reads on connection `i` until the socket would block.
    fn drive(&mut self, i: usize) -> io::Result<u64> {
        let Load {
            conns,
            exchange,
            scratch,
            ..
        } = self;
        let c = &mut conns[i];
        let mut done = 0;
        loop {
            let mut progressed = false;
            while c.written < exchange.request.len() {
                match c.stream.write(&exchange.request[c.written..]) {
                    Ok(0) => return Err(io::Error::other("write returned 0")),
                    Ok(n) => {
                        c.written += n;
                        progressed = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            loop {
                let due = exchange.expected.len() - c.received;
                let room = due.min(scratch.len());
                match c.stream.read(&mut scratch[..room]) {
                    Ok(0) => return Err(io::Error::other("server closed the connection")),
                    Ok(n) => {
                        let want = &exchange.expected[c.received..c.received + n];
                        if &scratch[..n] != want {
                            return Err(io::Error::other(format!(
                                "connection {i}: echo differs at byte {}",
                                c.received
                            )));
                        }
                        c.received += n;
                        progressed = true;
                        if c.received == exchange.expected.len() {
                            if c.written != exchange.request.len() {
                                return Err(io::Error::other(
                                    "echo arrived before the request left",
                                ));
                            }
                            done += 1;
                            c.written = 0;
                            c.received = 0;
                            break; // send the next message
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            if !progressed {
                return Ok(done);
            }
        }
    }

    /// Number of connections.
    pub fn len(&self) -> usize {
        self.conns.len()
    }

    /// True when there is no connection.
    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }
}
