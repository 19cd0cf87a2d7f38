//! A server under test: started pinned to core 0 (`taskset -c 0`, which
//! execs, so the child's pid is the server's), stopped on drop.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::wire::Protocol;

/// Which server, and how to start it.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Name in the tables (`stdws`, `tungstenite`, `raw`).
    pub name: String,
    /// Program, run as `PROGRAM [ARGS...] PORT`.
    pub program: String,
    /// Arguments before the port (a script for an interpreter).
    pub args: Vec<String>,
    /// WebSocket or raw TCP.
    pub protocol: Protocol,
}

/// A running server.
pub struct Running {
    child: Child,
    /// Its address on loopback.
    pub addr: SocketAddr,
}

impl Spec {
    /// A server from a command line (`PROGRAM [ARGS...]`, split at spaces).
    pub fn new(name: &str, command: &str, protocol: Protocol) -> Spec {
        let mut words = command.split_whitespace().map(str::to_owned);
        Spec {
            name: name.into(),
            program: words.next().unwrap_or_default(),
            args: words.collect(),
            protocol,
        }
    }
}

impl Running {
    /// Starts `spec` on a free port, pinned to `core`, and waits until it
    /// accepts connections (10 s at most).
    pub fn start(spec: &Spec, core: usize) -> io::Result<Running> {
        Running::start_with(spec, core, &[])
    }

    /// [`Running::start`] with more arguments after the port (`deflate`).
    pub fn start_with(spec: &Spec, core: usize, extra: &[&str]) -> io::Result<Running> {
        let port = free_port()?;
        let child = Command::new("taskset")
            .arg("-c")
            .arg(core.to_string())
            .arg(&spec.program)
            .args(&spec.args)
            .arg(port.to_string())
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| io::Error::other(format!("cannot start {}: {e}", spec.program)))?;
        let mut running = Running {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = running.child.try_wait()? {
                return Err(io::Error::other(format!("{} exited: {status}", spec.name)));
            }
            // A bare connect that closes at once: each server drops it
            // quietly (a failed handshake).
            if TcpStream::connect(running.addr).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                return Err(io::Error::other(format!("{} never listened", spec.name)));
            }
            sleep(Duration::from_millis(20));
        }
        sleep(Duration::from_millis(50));
        Ok(running)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on now (the kernel's choice for port 0).
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
