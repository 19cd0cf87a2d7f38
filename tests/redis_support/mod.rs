//! A real `redis-server` for one test: on a free port of 127.0.0.1, no
//! persistence (`--save '' --appendonly no`), stopped when dropped. Tests
//! that use it are `#[ignore]`d (`make test` needs no Redis) and run by
//! `make cluster`, which installs Debian's `redis-server`.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long Redis may take to start listening.
const START: Duration = Duration::from_secs(10);

/// One redis-server process (restartable on the same port).
pub struct Redis {
    pub port: u16,
    password: Option<String>,
    child: Option<Child>,
}

impl Redis {
    /// Starts a Redis without a password.
    pub fn start() -> Redis {
        Redis::start_with(None)
    }

    /// Starts a Redis that requires `password` (`requirepass`).
    pub fn start_with(password: Option<&str>) -> Redis {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = Redis {
            port,
            password: password.map(str::to_owned),
            child: None,
        };
        redis.restart();
        redis
    }

    /// `redis://127.0.0.1:PORT/0` (with the password, if any).
    pub fn url(&self) -> String {
        match &self.password {
            Some(p) => format!("redis://:{p}@127.0.0.1:{}/0", self.port),
            None => format!("redis://127.0.0.1:{}/0", self.port),
        }
    }

    /// Starts the server again on the same port, and waits until it listens.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "running already");
        let mut command =
            Command::new(std::env::var("REDIS_SERVER").unwrap_or("redis-server".into()));
        command.args([
            "--port",
            &self.port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--loglevel",
            "warning",
        ]);
        if let Some(p) = &self.password {
            command.args(["--requirepass", p]);
        }
        let child = command
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (make cluster installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + START;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server (SIGKILL: as abrupt as a crash) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}
