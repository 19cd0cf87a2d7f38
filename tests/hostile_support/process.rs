//! Figures of this process from `/proc/self`: resident memory, and the
//! threads of the server under test.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// A field of `/proc/self/status` in bytes (the kernel reports kB).
fn status_field(name: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib << 10)
        .unwrap_or_else(|| panic!("no {name} in /proc/self/status"))
}

/// Resident memory now.
pub fn rss() -> u64 {
    status_field("VmRSS")
}

/// The server's connection threads (and flushers) now running in this
/// process: threads named `stdws-client-*`.
pub fn connection_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("stdws-client"))
        .count()
}

/// Resets the kernel's high-water mark (VmHWM) to the current RSS
/// (`clear_refs` value 5, Linux 4.0 and later). False where not allowed.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Watches the peak resident memory from now on: the kernel's high-water
/// mark when it can be reset, and a sampler every 2 ms besides (the
/// sampler alone would miss a spike shorter than its period).
pub struct MemoryWatch {
    baseline: u64,
    exact_peak: bool,
    stop: Arc<AtomicBool>,
    sampler: JoinHandle<u64>,
}

impl MemoryWatch {
    /// Starts watching.
    pub fn start() -> MemoryWatch {
        let exact_peak = reset_peak();
        let baseline = rss();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let sampler = thread::spawn(move || {
            let mut peak = 0;
            while !flag.load(Ordering::Relaxed) {
                peak = peak.max(rss());
                thread::sleep(Duration::from_millis(2));
            }
            peak
        });
        MemoryWatch {
            baseline,
            exact_peak,
            stop,
            sampler,
        }
    }

    /// Stops watching; returns the peak growth over the baseline, in bytes.
    pub fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let sampled = self.sampler.join().expect("memory sampler");
        let mut peak = sampled.max(rss());
        if self.exact_peak {
            peak = peak.max(status_field("VmHWM"));
        }
        peak.saturating_sub(self.baseline)
    }
}
