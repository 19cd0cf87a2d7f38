//! A well-behaved client that keeps exchanging echoes with the server
//! while an attack runs, and reports its worst round trip.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use stdws::{CloseCode, Config, Connection, Message, WebSocket};

use super::{MAX_STALL, PATIENCE};

/// Pause between two echoes.
const PACE: Duration = Duration::from_millis(5);

/// Echoes the canary still has to get once the attack is over: the server
/// must serve it after the attack as well as during it.
const AFTER: usize = 3;

/// What the canary saw.
#[derive(Debug)]
pub struct CanaryReport {
    /// Echoes received.
    pub echoes: usize,
    /// The longest round trip.
    pub worst: Duration,
    /// The first thing that went wrong, if anything did.
    pub failure: Option<String>,
}

impl CanaryReport {
    /// Panics unless every echo came back, each within [`MAX_STALL`].
    pub fn assert_healthy(&self, case: &str) {
        assert!(
            self.failure.is_none(),
            "{case}: the canary failed: {:?}",
            self.failure
        );
        assert!(self.echoes > AFTER, "{case}: the canary got no echoes");
        assert!(
            self.worst <= MAX_STALL,
            "{case}: the canary waited {:?} for an echo",
            self.worst
        );
    }
}

/// The running canary.
pub struct Canary {
    stop: Arc<AtomicBool>,
    echoes: Arc<AtomicUsize>,
    thread: JoinHandle<CanaryReport>,
}

impl Canary {
    /// Connects to `/echo` on `addr` and starts exchanging echoes; returns
    /// once the first came back (the canary holds its connection slot).
    pub fn start(addr: SocketAddr) -> Canary {
        let ws = WebSocket::builder(&format!("ws://{addr}/echo"))
            .config(Config::default().read_timeout(Some(PATIENCE)))
            .connect()
            .expect("the canary connects");
        let mut conn = Connection::new(ws);
        let stop = Arc::new(AtomicBool::new(false));
        let echoes = Arc::new(AtomicUsize::new(0));
        let (flag, count) = (Arc::clone(&stop), Arc::clone(&echoes));
        let thread = thread::spawn(move || {
            let mut report = CanaryReport {
                echoes: 0,
                worst: Duration::ZERO,
                failure: None,
            };
            while !flag.load(Ordering::Relaxed) {
                let text = format!("canary {}", report.echoes);
                let sent = Instant::now();
                let result = conn
                    .send(Message::Text(text.clone()))
                    .and_then(|()| conn.recv());
                report.worst = report.worst.max(sent.elapsed());
                match result {
                    Ok(Some(Message::Text(back))) if back == text => {
                        report.echoes += 1;
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    other => {
                        report.failure = Some(format!("echo {}: {other:?}", report.echoes));
                        return report;
                    }
                }
                thread::sleep(PACE);
            }
            if let Err(e) = conn.close(CloseCode::NORMAL, "") {
                report.failure = Some(format!("closing: {e}"));
            }
            report
        });
        // Running before the attack starts.
        let deadline = Instant::now() + PATIENCE;
        while echoes.load(Ordering::Relaxed) == 0 && !thread.is_finished() {
            assert!(Instant::now() < deadline, "the canary got no first echo");
            thread::sleep(Duration::from_millis(1));
        }
        Canary {
            stop,
            echoes,
            thread,
        }
    }

    /// Waits for a few more echoes (within [`MAX_STALL`] each), then stops
    /// the canary and returns its report.
    pub fn stop(self) -> CanaryReport {
        let target = self.echoes.load(Ordering::Relaxed) + AFTER;
        let deadline = Instant::now() + MAX_STALL * AFTER as u32;
        while self.echoes.load(Ordering::Relaxed) < target
            && Instant::now() < deadline
            && !self.thread.is_finished()
        {
            thread::sleep(PACE);
        }
        self.stop.store(true, Ordering::Relaxed);
        let mut report = self.thread.join().expect("the canary thread");
        if report.failure.is_none() && report.echoes < target {
            report.failure = Some(format!(
                "only {} echoes after the attack",
                report.echoes + AFTER - target
            ));
        }
        report
    }
}
